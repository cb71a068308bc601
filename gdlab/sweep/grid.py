"""Sweep axes: `key=a,b,c`, `key=logspace(a,b,n)`, `linspace(a,b,n)`, `range(start,stop,step)`, or a
`sweep:` section in the YAML; the grid is their cartesian product."""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

from gdlab.errors import GdlabError
from gdlab.loading import parse_override
from gdlab.yamlio import parse_scalar

_FUNC = re.compile(r"^\s*(logspace|linspace|range)\s*\((.*)\)\s*$")
MAX_VARIANTS = 100_000


def _clean(x: float) -> float:
    """12 significant digits: logspace(-4, 0, 5) gives 0.001, not 0.0010000000000000002."""
    return float(f"{x:.12g}")


def _numbers(args: str, source: str, n: int) -> list[float]:
    parts = [p.strip() for p in args.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise GdlabError(f"{source}: arguments must be numbers, got ({args})") from None
    if len(values) != n or not all(map(math.isfinite, values)):
        raise GdlabError(f"{source}: expects {n} finite numbers, got ({args})")
    return values


def expand_function(text: str, source: str) -> list[Any] | None:
    """Values of logspace/linspace/range(...), or None when `text` is not such a call."""
    m = _FUNC.match(text)
    if not m:
        return None
    kind, args = m.groups()
    if kind == "range":
        start, stop, step = _numbers(args, source, 3)
        if step == 0:
            raise GdlabError(f"{source}: range step must not be 0")
        count = max(0, math.ceil((stop - start) / step - 1e-9))  # Python's exclusive stop
        values = [_clean(start + i * step) for i in range(count)]
        if all(float(v).is_integer() for v in (start, stop, step)):
            values = [int(v) for v in values]
    else:
        a, b, n = _numbers(args, source, 3)
        if not float(n).is_integer() or n < 1:
            raise GdlabError(f"{source}: the number of points must be a whole number >= 1")
        n = int(n)
        grid = [a + (b - a) * i / (n - 1) for i in range(n)] if n > 1 else [a]
        values = [_clean(10**x if kind == "logspace" else x) for x in grid]
    if not values:
        raise GdlabError(f"{source}: gives no values")
    return values


def split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets or parentheses: `betas=[0.9,0.99],[0.8,0.9]`."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def parse_axis_arg(text: str) -> tuple[str, list[Any]]:
    """`optimizer.lr=1e-3,1e-2` -> ("optimizer.lr", [0.001, 0.01]); one value is a fixed override."""
    path, _ = parse_override(text.split("=", 1)[0] + "=0") if "=" in text else parse_override(text)
    key = ".".join(map(str, path))
    raw = text.split("=", 1)[1]
    source = f"sweep axis '{text}'"
    values = expand_function(raw, source)
    if values is None:
        values = [parse_scalar(part, source) for part in split_top_level(raw)]
    return key, values


def axes_from_yaml(section: Any, source: str) -> dict[str, list[Any]]:
    """A config's `sweep:` mapping: {dotted.key: [values] | "logspace(...)" | value}."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise GdlabError(f"{source}: sweep: must map dotted keys to lists of values, e.g. {{optimizer.lr: [0.01, 0.1]}}")
    axes = {}
    for key, values in section.items():
        where = f"{source}: sweep.{key}"
        if isinstance(values, str) and (expanded := expand_function(values, where)) is not None:
            values = expanded
        elif not isinstance(values, list):
            values = [values]
        if not values:
            raise GdlabError(f"{where}: needs at least one value")
        axes[str(key)] = values
    return axes


def grid(axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of the axes, first axis slowest, as {key: value} per variant."""
    total = math.prod(len(v) for v in axes.values()) if axes else 1
    if total > MAX_VARIANTS:
        raise GdlabError(f"sweep: the grid has {total} variants; the limit is {MAX_VARIANTS}")
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "-".join(format_value(v) for v in value)
    return str(value)


def variant_dir_name(index: int, width: int, point: dict[str, Any], axes: list[str]) -> str:
    """`003_lr=0.01_seed=1`: the short key unless two axes share it; safe for any filesystem."""
    shorts = [k.rsplit(".", 1)[-1] for k in axes]
    parts = []
    for key, short in zip(axes, shorts):
        label = short if shorts.count(short) == 1 else key
        parts.append(f"{label}={format_value(point[key])}")
    name = f"{index:0{width}d}" + "".join(f"_{p}" for p in parts)
    name = re.sub(r"[^A-Za-z0-9._=+-]", "-", name)
    return name[:120]
