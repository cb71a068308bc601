"""Random search: an axis written as a distribution (`loguniform(a,b)`, `uniform(a,b)`, `randint(a,b)`,
`choice(a,b,...)`) is drawn `samples` times, every such axis jointly (one draw is one point with a value for
each), as Bergstra and Bengio's random search does; list axes stay a grid crossed with the draws. The
`sobol` sampler takes the points of a scrambled Sobol sequence instead (torch's SobolEngine), `halton` a
scrambled Halton sequence's, and `lhs` a Latin hypercube's (both scipy.stats.qmc): each covers the space more
evenly than independent draws when there are few of them, as Optuna's QMCSampler does."""

from __future__ import annotations

import math
import random
from typing import Any

from gdlab.errors import GdlabError
from gdlab.sweep.distributions import DIGITS, Distribution
from gdlab.sweep.section import axis_place, place

# How each sampler is named in tables and plot titles; its keys are what --sampler takes.
SAMPLER_LABELS = {"random": "random", "sobol": "quasi-random (Sobol)", "halton": "quasi-random (Halton)",
                  "lhs": "Latin hypercube"}
SAMPLERS = tuple(SAMPLER_LABELS)
MAX_SEED = 2**64 - 1  # the largest seed torch's generators take: SobolEngine raised an overflow traceback above it
_TRIES = 100  # redraws of a point that repeats an earlier one before the space counts as exhausted


def _unit_points(d: int, samples: int, seed: int, sampler: str):
    """An endless stream of points in the unit cube [0, 1)^d, in blocks, from a quasi-random sampler."""
    if sampler == "sobol":
        import torch
        from torch.quasirandom import SobolEngine

        engine = SobolEngine(d, scramble=True, seed=seed)
        while True:
            yield from engine.draw(64, dtype=torch.float64).tolist()
    from scipy.stats import qmc  # scikit-learn's own dependency; imported only by the samplers that need it

    if sampler == "halton":
        halton = qmc.Halton(d, scramble=True, rng=seed)
        while True:
            yield from halton.random(64).tolist()
    # A Latin hypercube is one design of `samples` points: each axis cut into `samples` equal slices gets one
    # point in each. A point redrawn because it repeated an earlier one comes from a further design.
    lhs = qmc.LatinHypercube(d, scramble=True, rng=seed)
    while True:
        yield from lhs.random(samples).tolist()


def _points(dists: dict[str, Distribution], samples: int, seed: int, sampler: str):
    """An endless stream of joint draws: independent ones, or a quasi-random sampler's points mapped
    through each axis's quantile."""
    if sampler != "random":
        for unit in _unit_points(len(dists), samples, seed, sampler):
            yield tuple(d.from_unit(u) for d, u in zip(dists.values(), unit))
    rng = random.Random(seed)
    while True:
        yield tuple(d.draw(rng) for d in dists.values())


def draw_points(dists: dict[str, Distribution], samples: int, seed: int, source: str,
                sampler: str = "random", asked: str = "--samples") -> dict[str, list]:
    """`samples` distinct joint draws, one list of values per key (zipped by position); `asked`: whence the count."""
    space = math.prod(d.size() or 10**12 for d in dists.values())
    if samples > space:
        raise GdlabError(f"{source}: {asked} {samples}, but the drawn axes have only {space} distinct points; "
                         "list them as a grid instead (key=a,b,c)")
    stream = _points(dists, samples, seed, sampler)
    seen: set[str] = set()
    points: list[tuple] = []
    while len(points) < samples:
        for _ in range(_TRIES):
            point = next(stream)
            if repr(point) not in seen:  # the same config twice would train twice: draw again
                break
        else:
            raise GdlabError(f"{source}: could not draw {samples} distinct points (the ranges are too narrow for "
                             f"{DIGITS} significant digits); ask for fewer --samples or widen the ranges")
        seen.add(repr(point))
        points.append(point)
    return {key: [p[i] for p in points] for i, key in enumerate(dists)}


def _whole(value: Any, lowest: int, where: str, highest: int | None = None) -> int:
    if isinstance(value, float) and value.is_integer():  # 1e3 or 4.0, as every integer key of a config takes it
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= (highest or value):
        allowed = f"from {lowest} to {highest}" if highest else f">= {lowest}"
        raise GdlabError(f"{where}: expected a whole number {allowed}, got {value!r}")
    return value


def search_settings(section: Any, source: str, samples: int | None, seed: int | None,
                    sampler: str | None = None, marks: dict | None = None) -> tuple[int | None, int, str, str]:
    """(samples, seed, where samples came from, sampler): the command line's, else the `sweep:` section's
    `samples`, `sample_seed` and `sampler` (taken out of it: they are settings, not axes); the draws' seed
    defaults to 0, the sampler to random. `marks`: the file's key positions, for errors at the entry's line."""
    where = "--samples"
    if sampler is not None and sampler not in SAMPLERS:
        raise GdlabError(f"--sampler: '{sampler}' is not one of {', '.join(SAMPLERS)}")
    if isinstance(section, dict):
        given_sampler = section.pop("sampler", None)
        if sampler is None and given_sampler is not None:
            if given_sampler not in SAMPLERS:
                from gdlab.config.base import not_one_of

                raise GdlabError(f"{place(marks, ('sampler',), source)}: sweep.sampler: {not_one_of(given_sampler, SAMPLERS)}")
            sampler = given_sampler
        given, given_seed = section.pop("samples", None), section.pop("sample_seed", None)
        if samples is None and given is not None:
            where = f"{place(marks, ('samples',), source)}: sweep.samples"
            samples = _whole(given, 1, where)
        if seed is None and given_seed is not None:
            seed = _whole(given_seed, 0, f"{place(marks, ('sample_seed',), source)}: sweep.sample_seed", MAX_SEED)
    return samples, 0 if seed is None else seed, where, sampler or "random"


def nothing_drawn(given: str, drop: str) -> GdlabError:
    """The refusal of a random search's setting (`--samples 3`, the section's `sampler`) where no axis is drawn:
    it would do nothing. One wording for all six, flag or section entry."""
    return GdlabError(f"{given}: no axis is drawn at random; give one as a distribution (loguniform, uniform, "
                      f"randint, choice), e.g. optimizer.lr=loguniform(1e-4,1), or drop {drop}")


def draw_axes(axes: dict[str, Any], settings: tuple[int | None, int, str, str], source: str,
              places: dict | None = None) -> dict | None:
    """Replace each distribution in `axes` by its drawn values (in place); what sweep.yaml records of the
    draws, or None when nothing is drawn. `places`: where the `sweep:` section gives each axis."""
    samples, seed, where, sampler = settings
    dists = {key: value for key, value in axes.items() if isinstance(value, Distribution)}
    if not dists:
        if samples is not None:
            raise nothing_drawn(f"{where} {samples}", where.rsplit(": ", 1)[-1])
        return None
    if samples is None:
        key, dist = next(iter(dists.items()))
        raise GdlabError(f"{axis_place(places, key, source)}: {key}={dist.text} is drawn at random: say how many draws with --samples N "
                         "(or samples: N in the sweep: section)")
    at, _, asked = where.rpartition(": ")  # the section's samples: the error points at that entry
    axes.update(draw_points(dists, samples, seed, at or source, sampler, asked))
    return {"samples": samples, "seed": seed, "sampler": sampler, "draws": {key: dist.text for key, dist in dists.items()}}
