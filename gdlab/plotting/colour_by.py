"""`compare --color-by KEY`: each curve coloured by one config value, as W&B colours runs by a
hyperparameter: a colour bar for numbers (log when they span decades), one colour per value otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gdlab.errors import GdlabError
from gdlab.flatkeys import flatten
from gdlab.plotting.readers import finite_number

MISSING = "0.6"  # the grey of a curve whose config lacks the key (or could not be read)


@dataclass
class Colouring:
    colours: list[Any]  # one matplotlib colour per run
    norm: Any = None  # a number axis's norm and colormap, for the colour bar (None for text values)
    cmap: Any = None
    named: list[tuple[str, Any]] = field(default_factory=list)  # text values: (value, colour), for a legend


def colour_runs(configs: list[dict | None], key: str, names: list[str], warnings: list[str]) -> Colouring:
    """The colours of runs whose configs are `configs` (None: unreadable), by the dotted `key`."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, Normalize

    if not key.strip():  # an empty key (an unset shell variable) is a mistake, not "no colouring"
        raise GdlabError(f"--color-by: expected a dotted config key, e.g. optimizer.lr; got {key!r}")
    values = [_lookup(c, key) if c else _Unset for c in configs]
    found = [v for v in values if v is not _Unset]
    if not found:
        import difflib

        keys = sorted({k for c in configs if c for k in flatten(c)})
        near = difflib.get_close_matches(key, keys, n=3, cutoff=0.6) or [k for k in keys if k.startswith("optimizer.")]
        raise GdlabError(f"--color-by {key}: no run's config.yaml has that key; "
                         f"{'did you mean' if difflib.get_close_matches(key, keys, n=1, cutoff=0.6) else 'e.g.'} {', '.join(near)}")
    lacking = [name for name, v in zip(names, values) if v is _Unset]
    if lacking:
        warnings.append(f"--color-by {key}: {len(lacking)} run(s) have no such key and are grey ({', '.join(lacking[:3])})")
    if all(finite_number(v) is not None for v in found):
        low, high = min(found), max(found)
        if low > 0 and high / low >= 10:  # learning rates span decades: a log scale spreads them
            norm = LogNorm(low, high)
        else:
            norm = Normalize(low - 1, high + 1) if low == high else Normalize(low, high)
        cmap = colormaps["viridis"]
        return Colouring([MISSING if v is _Unset else cmap(norm(v)) for v in values], norm, cmap)
    order = {str(v): f"C{i % 10}" for i, v in enumerate(dict.fromkeys(str(v) for v in found))}
    named = [(f"{key}={v}", c) for v, c in order.items()] + ([(f"no {key}", MISSING)] if lacking else [])
    return Colouring([MISSING if v is _Unset else order[str(v)] for v in values], named=named)


def key_to_colour_by(configs: list[dict | None]) -> str | None:
    """The key `compare` colours too many curves for a legend by, when --color-by names none: the learning rate
    where it differs, else the first differing key whose values are numbers (a colour bar), seed last, else the
    first that differs; None where nothing does."""
    from gdlab.plotting.labels import LR, differing_keys

    flats = [flatten(c) for c in configs if c]
    keys = differing_keys(flats) if len(flats) > 1 else []
    numeric = [k for k in keys if all(finite_number(f.get(k)) is not None for f in flats)]
    ranked = [k for k in keys if k == LR] + [k for k in numeric if k != "seed"] + [k for k in keys if k != "seed"]
    return (ranked + keys or [None])[0]


def key_to_dash_by(configs: list[dict | None], colour_key: str, dashes: int) -> str | None:
    """The key that dashes `compare`'s curves when a colour key stands for their legend: a kind (optimizer.name:
    SGD against Adam, whose curves at one lr had one colour and one look) before any other differing key, one with
    at most `dashes` values; seed never. None where none differs so."""
    from gdlab.plotting.labels import differing_keys

    flats = [flatten(c) for c in configs if c]
    keys = [k for k in differing_keys(flats) if k not in (colour_key, "seed")] if len(flats) > 1 else []
    few = [k for k in keys if len({repr(f.get(k)) for f in flats}) <= dashes]
    return ([k for k in few if k.endswith(".name")] + few or [None])[0]


def dash_values(configs: list[dict | None], key: str) -> list[str]:
    """Each run's value of `key` as text (its dash's name), `?` where its config lacks it."""
    return [str(v) if (v := _lookup(c, key) if c else _Unset) is not _Unset else "?" for c in configs]


def _lookup(config: dict, key: str) -> Any:
    """The value at dotted `key`: a leaf, or a list such as optimizer.betas (a sweep axis, a sweep.csv column)."""
    flat = flatten(config)
    if key in flat:
        return flat[key]
    node: Any = config
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _Unset
    return node if isinstance(node, list) else _Unset  # a whole section is not one value


class _Unset:
    """A key a config lacks (distinct from a value of null)."""
