"""A config's `sweep:` section read into axes, each error at the line:column of the entry it is about (as errors
elsewhere in the file are), and where each axis's values sit, so a variant they make invalid is placed too."""

from __future__ import annotations

from typing import Any

from gdlab.errors import GdlabError
from gdlab.sweep.axis_values import expand_function
from gdlab.sweep.distributions import parse_distribution
from gdlab.sweep.grid import canonical_key

Where = dict[tuple, str]  # key path in the file -> "file:line:col" (loading.load_raw)
Places = dict[str, tuple[str, list[str] | None]]  # axis -> (where its key is, where each listed value is)


def place(where: Where | None, path: tuple, source: str) -> str:
    """`file:line:col` of the `sweep:` entry at `path` (its keys as the file spells them), else the file."""
    return (where or {}).get(("sweep", *path), source)


def _flatten(section: dict, prefix: str, path: tuple, source: str, where: Where | None,
             out: dict[str, tuple[Any, tuple]]) -> dict[str, tuple[Any, tuple]]:
    """`{optimizer: {lr: [..]}}` -> `{optimizer.lr: ([..], its path)}`; lists (of mappings too) are values,
    never nested keys."""
    for key, value in section.items():
        dotted, here = f"{prefix}{key}", (*path, str(key))
        if isinstance(value, dict):
            if not value:
                raise GdlabError(f"{place(where, here, source)}: sweep.{dotted}: an empty mapping; give keys with "
                                 "lists of values, e.g. {lr: [0.01, 0.1]}")
            _flatten(value, f"{dotted}.", here, source, where, out)
        elif dotted in out:
            raise GdlabError(f"{place(where, here, source)}: sweep.{dotted}: given twice (nested and dotted); keep one")
        else:
            out[dotted] = (value, here)
    return out


def read_section(section: Any, source: str, where: Where | None = None) -> tuple[dict[str, Any], Places]:
    """A config's `sweep:` mapping: {dotted.key: [values] | "logspace(...)" | "loguniform(...)" | value}, keys
    nested or dotted (`samples` and `sample_seed`, random search's settings, are taken out before), as axes,
    with where each axis and each of its listed values is in the file (`where`: the file's key positions)."""
    if section is None:
        return {}, {}
    if not isinstance(section, dict):
        # word for word what validate and train say of it (config/run.py, loading.format_validation_error)
        got = "" if isinstance(section, list) else f" (got {str(section).lower() if isinstance(section, bool) else repr(section)})"
        raise GdlabError(f"{(where or {}).get(('sweep',), source)}: sweep: must map dotted keys to lists of values, "
                         f"e.g. {{optimizer.lr: [0.01, 0.1]}}{got}")
    axes, places, spelled = {}, {}, {}
    for given, (values, path) in _flatten(section, "", (), source, where, {}).items():
        at, key = place(where, path, source), canonical_key(given)
        said = f"{at}: sweep.{given}"
        if key in axes:  # model.1 and model.01
            raise GdlabError(f"{said}: the same key as sweep.{spelled[key]}; give it once")
        spelled[key] = given
        items = None
        if isinstance(values, str) and (drawn := parse_distribution(values, said)) is not None:
            values = drawn
        elif isinstance(values, str) and (expanded := expand_function(values, said)) is not None:
            values = expanded
        elif not isinstance(values, list):
            values = [values]
        else:
            items = [place(where, (*path, i), at) for i in range(len(values))]
        if not values:
            raise GdlabError(f"{said}: needs at least one value")
        axes[key], places[key] = values, (at, items)
    return axes, places


def axis_place(places: Places | None, key: str, source: str) -> str:
    """Where the `sweep:` section gives axis `key` (`file:line:col`); `source` for an axis the command line gave."""
    return (places or {}).get(key, (source,))[0]


def value_place(places: Places, axes: dict[str, list[Any]], key: str, value: Any, source: str) -> str:
    """Where the file gives axis `key`'s `value` (the very object a grid point holds): its list item, else the
    axis's key (values drawn or expanded by gdlab); `source` for an axis the command line gave."""
    at, items = places.get(key, (source, None))
    if items is not None and len(items) == len(axes[key]):
        index = next((i for i, v in enumerate(axes[key]) if v is value), None)
        if index is not None:
            return items[index]
    return at


def same_config_error(first: tuple[int, str], second: tuple[int, str], axes: dict[str, list[Any]], joint: list[str],
                      places: Places, source: str) -> GdlabError:
    """Two variants (index, label) that are the same config, at the list item the second gets where it differs
    from the first (an axis the file gives before one the command line gives, which names `source`)."""
    from gdlab.sweep.grid import grid

    index = grid({key: list(range(len(values))) for key, values in axes.items()}, None, joint)  # the same order
    a, b = index[first[0]], index[second[0]]
    differ = [key for key in axes if a[key] != b[key]]
    key = next((k for k in differ if k in places), differ[0])
    at, items = places.get(key, (source, None))
    at = items[b[key]] if items is not None and len(items) == len(axes[key]) else at
    return GdlabError(f"{at}: variants {first[0]} ({first[1]}) and {second[0]} ({second[1]}) are the same config; "
                      "the sweep would train it twice: give each value once")
