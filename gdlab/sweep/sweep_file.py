"""What a sweep.yaml must hold for `gdlab sweep --resume` to rebuild the sweep from it. gdlab writes it, but
a hand edit, or a file from another gdlab version, can hold anything YAML can: each part is checked before it
is used, so a wrong one is one line naming the file and the key, not a TypeError deep in the planning."""

from __future__ import annotations

from typing import Any

from gdlab.config.base import not_one_of
from gdlab.errors import GdlabError
from gdlab.sweep.rank import RANKABLE

VECTORIZE = ("auto", "on", "off")  # what --vectorize and options.vectorize take


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_axes(axes: Any, where: str) -> None:
    if not isinstance(axes, dict):
        raise GdlabError(f"{where}: axes: must map each dotted key to its list of values, as gdlab writes it "
                         "(e.g. {optimizer.lr: [0.01, 0.1]})")
    for key, values in axes.items():
        # a resumed sweep's values were expanded when it began: a text such as "logspace(-3,0,4)" would
        # otherwise be taken apart letter by letter, one variant per character
        if not isinstance(key, str) or not isinstance(values, list) or not values:
            raise GdlabError(f"{where}: axes.{key}: must be a non-empty list of values, as gdlab writes it "
                             f"(got {values!r})")


def _check_sampling(sampling: Any, where: str) -> None:
    if sampling is None:
        return
    draws = sampling.get("draws") if isinstance(sampling, dict) else None
    ok = (isinstance(draws, dict) and all(isinstance(t, str) for t in draws.values())
          and _is_int(sampling.get("samples")) and _is_int(sampling.get("seed")))
    if not ok:
        raise GdlabError(f"{where}: sampling: must be null (a grid) or what a random search recorded: samples, "
                         "seed and draws ({key: distribution text})")


def _check_options(options: Any, where: str) -> None:
    """The options a resume carries over; others (jobs, backend) are each run's own, and an unknown one is a
    newer gdlab's, left alone."""
    if options is None:
        return
    if not isinstance(options, dict):
        raise GdlabError(f"{where}: options: must be a mapping of the sweep's options (vectorize, max_group, ...)")
    vectorize, max_group = options.get("vectorize"), options.get("max_group")
    if vectorize is not None and vectorize not in VECTORIZE:
        raise GdlabError(f"{where}: options.vectorize: {not_one_of(vectorize, VECTORIZE)}")
    if max_group is not None and not (_is_int(max_group) and max_group >= 0):
        raise GdlabError(f"{where}: options.max_group: must be null or a whole number >= 0 (got {max_group!r})")
    rank_by = options.get("rank_by")
    if rank_by is not None and rank_by not in RANKABLE:  # it ranked by the default, silently
        raise GdlabError(f"{where}: options.rank_by: {not_one_of(rank_by, RANKABLE)} (or null: the configs' default)")
    if options.get("sharpness") not in (None, True, False):
        raise GdlabError(f"{where}: options.sharpness: must be true or false (got {options['sharpness']!r})")


def check_sweep_file(data: Any, where: str) -> None:
    """Refuse a sweep.yaml whose parts a resume could not use (GdlabError naming the key)."""
    if not isinstance(data, dict) or not {"base", "axes"} <= set(data):
        raise GdlabError(f"{where}: not a gdlab sweep file (needs base and axes)")
    if not isinstance(data["base"], dict):
        raise GdlabError(f"{where}: base: must be the sweep's base config, a mapping (got {type(data['base']).__name__})")
    _check_axes(data["axes"], where)
    fixed = data.get("fixed_overrides")
    if fixed is not None and not (isinstance(fixed, list) and all(isinstance(t, str) for t in fixed)):
        raise GdlabError(f"{where}: fixed_overrides: must be a list of KEY=VALUE texts (got {fixed!r})")
    _check_sampling(data.get("sampling"), where)
    _check_options(data.get("options"), where)
