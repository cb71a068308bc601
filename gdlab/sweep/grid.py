"""Sweep axes: `key=a,b,c`, `key=logspace(a,b,n)`, `linspace(a,b,n)`, `range([start,]stop[,step])`, a
distribution to draw from (distributions.py; sampling.py draws it), or a `sweep:` section in the YAML (read by
section.py); the grid is their cartesian product, the drawn axes counting as one axis of joint draws. The
functions live in axis_values."""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

from gdlab.errors import GdlabError
from gdlab.flatkeys import bracket_indices
from gdlab.sweep.axis_values import FUNCTION_CALL, MAX_VARIANTS, expand_function
from gdlab.sweep.distributions import DISTRIBUTION, Distribution, parse_distribution
from gdlab.yamldump import format_value
from gdlab.yamlio import parse_scalar


def split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets, parentheses or quotes: `betas=[0.9,0.99],[0.8,0.9]`,
    `data.path="a,b.csv",c.csv` (a quoted value is one value, as in YAML, with YAML's escapes: a
    backslash inside double quotes, '' inside single ones)."""
    parts, depth, cur, quote, skip = [], 0, "", None, False
    for i, ch in enumerate(text):
        if skip:  # the character after an escape: part of the quoted value, whatever it is
            skip = False
        elif quote == '"' and ch == "\\":
            skip = True
        elif quote == "'" and ch == "'" and text[i + 1 : i + 2] == "'":
            skip = True
        elif quote:
            quote = None if ch == quote else quote
        elif ch in "\"'" and depth == 0 and not cur.strip():  # YAML quotes only at a value's start
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0 and quote is None:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def canonical_key(key: str) -> str:
    """model.00 is model.0: one spelling per path, so an axis and an override of one key meet. Only ASCII
    digits are an index (int() reads "１" as 1), as in config.overrides.key_part."""
    return ".".join(str(int(p)) if p.isascii() and p.isdigit() else p for p in bracket_indices(key).split("."))


def parse_axis_arg(text: str) -> tuple[str, list[Any] | Distribution]:
    """`optimizer.lr=1e-3,1e-2` -> ("optimizer.lr", [0.001, 0.01]); one value is a fixed override; a
    distribution (`loguniform(1e-4,1)`) is returned as such, to be drawn."""
    source = f"sweep axis '{text}'"
    if "=" not in text:
        raise GdlabError(f"{source}: expected KEY=VALUES, e.g. optimizer.lr=0.01,0.1")
    key, raw = text.split("=", 1)
    parts = bracket_indices(key.strip()).split(".")
    if not all(parts):
        raise GdlabError(f"{source}: the key must be dotted names, e.g. optimizer.lr=0.01,0.1")
    key = canonical_key(key.strip())
    if not raw.strip():  # would read as null: say so rather than fail later on a null lr
        raise GdlabError(f"{source}: no value after '='; give one value (a fixed override) or several separated by commas")
    values = parse_distribution(raw, source) or expand_function(raw, source)
    if values is None:
        items = split_top_level(raw)
        for i, item in enumerate(items):
            if not item.strip():
                raise GdlabError(f"{source}: empty value between commas (item {i + 1}); write null for a null value")
            if (FUNCTION_CALL.match(item) or DISTRIBUTION.match(item)) and len(items) > 1:  # else it reads as the text 'logspace(-3,0,3)', an odd lr
                raise GdlabError(f"{source}: {item.strip()} must be an axis's whole value, not one of its "
                                 "comma-separated items; give the function alone, or list every value")
        values = [parse_scalar(item, source) for item in items]
    return key, values


def joint_axes(axes: dict[str, Any], sampling: dict | None) -> list[str]:
    """The drawn axes, which vary together (one joint draw per point), in axis order (none for a grid);
    `sampling` is what sweep.yaml records of the draws."""
    return [k for k in axes if k in (sampling or {}).get("draws", {})]


def _slots(axes: dict[str, list[Any]], joint: list[str]) -> list[list[str]]:
    """The grid's independent axes in order: each key alone, the joint ones together at the first one's place."""
    order = list(axes)
    slots = [[k] for k in order if k not in joint] + ([[k for k in order if k in joint]] if joint else [])
    return sorted(slots, key=lambda keys: order.index(keys[0]))


def grid_size(axes: dict[str, list[Any]], joint: list[str] = ()) -> int:
    """How many variants `grid` makes, counted without building them."""
    return math.prod(len(axes[keys[0]]) for keys in _slots(axes, joint))


def refuse_oversized(sizes: dict[str, int], source: str | None) -> None:
    """Refuse a grid of more than MAX_VARIANTS variants, naming each slot's size (`sizes`: slot name -> size)."""
    total = math.prod(sizes.values())
    if total > MAX_VARIANTS:
        shape = " x ".join(f"{key}: {n}" for key, n in sizes.items())
        where = f"{source}: sweep" if source else "sweep"
        raise GdlabError(f"{where}: the grid has {total} variants ({shape}); the limit is {MAX_VARIANTS}")


def refuse_oversized_grid(axes: dict[str, list[Any]], source: str | None, joint: list[str] = ()) -> None:
    """Refuse a grid of more than MAX_VARIANTS variants, counted from the axes' sizes: nothing is built."""
    refuse_oversized({" & ".join(keys): len(axes[keys[0]]) for keys in _slots(axes, joint)}, source)


def refuse_oversized_search(axes: dict[str, Any], samples: int | None, source: str) -> None:
    """A random search counted before anything is drawn, its draws as one axis of `samples` values: drawing
    ten million points only to refuse them took 40 s, and a billion would fill the memory first."""
    drawn = [k for k, v in axes.items() if isinstance(v, Distribution)]
    if drawn and samples is not None:
        refuse_oversized({" & ".join(keys): samples if keys[0] in drawn else len(axes[keys[0]])
                          for keys in _slots(axes, drawn)}, source)


def grid(axes: dict[str, list[Any]], source: str | None = None, joint: list[str] = ()) -> list[dict[str, Any]]:
    """The cartesian product of the axes, first axis slowest, as {key: value} per variant; the `joint` axes
    (random search's draws) vary together, as one axis at the first one's place. `source` (the config
    file) names where a grid over the size limit comes from."""
    order = list(axes)
    slots = _slots(axes, joint)
    refuse_oversized_grid(axes, source, joint)
    columns = [list(zip(*(axes[k] for k in keys))) for keys in slots]
    points = []
    for combo in itertools.product(*columns):
        values = {k: v for keys, vs in zip(slots, combo) for k, v in zip(keys, vs)}
        points.append({k: values[k] for k in order})
    return points


def _folder_value(value: Any) -> str:
    """The compact form a folder name takes: `0.9-0.99`, `LeakyReLU-0.1`, `true`."""
    if isinstance(value, (list, tuple)):
        return "-".join(_folder_value(v) for v in value)
    if isinstance(value, dict):
        return "-".join(f"{k}-{_folder_value(v)}" for k, v in value.items())
    return format_value(value)


def variant_dir_name(index: int, width: int, point: dict[str, Any], axes: list[str]) -> str:
    """`003_lr=0.01_seed=1`: the short key unless two axes share it (a list index with its key: `betas.1`); safe
    for any filesystem."""
    # a list index alone says nothing (`000_1=0.99`): it keeps the key it indexes (`betas.1=0.99`)
    shorts = [".".join(k.split(".")[-2:]) if k.split(".")[-1].isdigit() else k.rsplit(".", 1)[-1] for k in axes]
    parts = []
    for key, short in zip(axes, shorts):
        label, value = (short if shorts.count(short) == 1 else key), point[key]
        if short == "path" and isinstance(value, str):  # data.path: the file's name, not /home/.../data/a.csv
            value = value.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        parts.append(f"{label}={_folder_value(value)}")
    name = f"{index:0{width}d}" + "".join(f"_{p}" for p in parts)
    name = re.sub(r"[^A-Za-z0-9._=+-]", "-", name)
    return name[:120]
