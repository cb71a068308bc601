"""An axis written as a function: `logspace(a,b,n)` (exponents, base 10), `linspace(a,b,n)`, `range(stop)` or
`range(start,stop[,step])` with Python's exclusive stop. Each is counted before it is built, so a typo like
`logspace(-3,0,1e12)` is refused at once instead of filling the memory."""

from __future__ import annotations

import math
import re
from typing import Any

from gdlab.errors import GdlabError

FUNCTION_CALL = re.compile(r"^\s*(logspace|linspace|range)\s*\((.*)\)\s*$")
# The most variants a grid may have; an axis with more values could never fit in one.
MAX_VARIANTS = 100_000
_FORMS = {"range": ((1, 2, 3), "1 to 3 finite numbers (stop | start, stop | start, stop, step)"),
          "logspace": ((3,), "3 finite numbers (start exponent, stop exponent, count)"),
          "linspace": ((3,), "3 finite numbers (start, stop, count)")}


def _clean(x: float) -> float:
    """12 significant digits: linspace(0.1, 0.5, 5) gives 0.3, not 0.30000000000000004, and logspace's
    exponent -3, not -2.9999999999999996 (so 0.001, not 0.0010000000000000002)."""
    return float(f"{x:.12g}")


def _numbers(kind: str, args: str, source: str) -> list[float]:
    counts, form = _FORMS[kind]
    try:
        values = [float(p) for p in args.split(",")] if args.strip() else []
    except ValueError:
        raise GdlabError(f"{source}: arguments must be numbers, got ({args})") from None
    if len(values) not in counts or not all(map(math.isfinite, values)):
        raise GdlabError(f"{source}: {kind} expects {form}, got ({args})")
    return values


def _check_count(count: float, kind: str, source: str) -> int:
    """Refuse more values than a grid may hold; `count` may be a float too large for an int (even inf)."""
    if count > MAX_VARIANTS:
        shown = f"{count:.0f}" if count < 1e18 else "more than 1e18"
        raise GdlabError(f"{source}: {kind} gives {shown} values; the limit is {MAX_VARIANTS}")
    return int(count)


def _range(args: str, source: str) -> list[Any]:
    numbers = _numbers("range", args, source)
    if len(numbers) == 1:  # range(stop) starts at 0
        numbers = [0.0, numbers[0]]
    start, stop, step = (numbers + [1.0])[:3]
    if step == 0:
        raise GdlabError(f"{source}: range step must not be 0")
    if all(v.is_integer() for v in (start, stop, step)):  # whole numbers: exactly Python's range, as ints
        ints = range(int(start), int(stop), int(step))
        _check_count(max(0, -((ints.start - ints.stop) // ints.step)), "range", source)  # len() overflows past 2**63
        return list(ints)
    ratio = (stop - start) / step  # inf when the span overflows a float: refused as too many
    count = _check_count(math.ceil(ratio - 1e-9) if 0 < ratio < math.inf else max(ratio, 0), "range", source)  # exclusive stop
    return [_clean(start + i * step) for i in range(count)]


def _spaced(kind: str, args: str, source: str) -> list[float]:
    a, b, n = _numbers(kind, args, source)
    if not n.is_integer() or n < 1:
        raise GdlabError(f"{source}: the number of points must be a whole number >= 1")
    n = _check_count(n, kind, source)
    values = []
    for i in range(n):
        x = _clean(a + (b - a) * i / (n - 1) if n > 1 else a)
        try:
            # the exponent is cleaned, not the power: 10**-3.5 keeps all its digits, as numpy.logspace's
            x = 10**x if kind == "logspace" else x
        except OverflowError:
            x = math.inf
        if not math.isfinite(x):
            raise GdlabError(f"{source}: {kind}({args}) reaches a value that is not a finite number; floats end near ±1.8e308")
        values.append(x)
    return values


def expand_function(text: str, source: str) -> list[Any] | None:
    """Values of logspace/linspace/range(...), or None when `text` is not such a call."""
    m = FUNCTION_CALL.match(text)
    if not m:
        return None
    kind, args = m.groups()
    values = _range(args, source) if kind == "range" else _spaced(kind, args, source)
    if not values:
        raise GdlabError(f"{source}: gives no values")
    return values
