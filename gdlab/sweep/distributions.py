"""What an axis written as a distribution means: `loguniform(a,b)`, `uniform(a,b)`, `randint(a,b)` (both ends
included) or `choice(a,b,...)`, parsed and checked, and how one value is drawn from it, independently or at a
quantile of a quasi-random point (sampling.py draws a sweep's points)."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Any

from gdlab.errors import GdlabError

DISTRIBUTION = re.compile(r"^\s*(loguniform|uniform|randint|choice)\s*\((.*)\)\s*$")
DIGITS = 4  # drawn floats keep 4 significant digits: tables and folder names stay readable, the spread is kept


@dataclass(frozen=True)
class Distribution:
    """One axis's distribution, as written (`text`), with its parsed arguments."""

    kind: str
    args: tuple
    text: str

    def draw(self, rng: random.Random) -> Any:
        if self.kind == "choice":
            return self.args[rng.randrange(len(self.args))]
        low, high = self.args
        if self.kind == "randint":  # both ends included, as Python's random.randint and Optuna's suggest_int
            return rng.randint(low, high)
        if self.kind == "loguniform":  # uniform in the exponent: each decade gets as many draws
            value = 10 ** rng.uniform(math.log10(low), math.log10(high))
        else:
            value = rng.uniform(low, high)
        return min(max(float(f"{value:.{DIGITS}g}"), low), high)  # rounding never leaves [low, high]

    def from_unit(self, u: float) -> Any:
        """The value at quantile `u` in [0, 1): how a quasi-random point in the unit cube becomes a draw."""
        if self.kind in ("choice", "randint"):
            n = self.size()
            index = min(int(u * n), n - 1)
            return self.args[index] if self.kind == "choice" else self.args[0] + index
        low, high = self.args
        if self.kind == "loguniform":
            value = 10 ** (math.log10(low) + u * (math.log10(high) - math.log10(low)))
        else:
            value = low + u * (high - low)
        return min(max(float(f"{value:.{DIGITS}g}"), low), high)

    def size(self) -> int | None:
        """How many distinct values it can give (None: as good as unbounded)."""
        if self.kind == "choice":
            return len(self.args)
        if self.kind == "randint":
            return self.args[1] - self.args[0] + 1
        return None


def parse_distribution(text: str, source: str) -> Distribution | None:
    """The distribution `text` writes, or None when it is not one."""
    m = DISTRIBUTION.match(text) if isinstance(text, str) else None
    if not m:
        return None
    kind, raw = m.groups()
    if kind == "choice":
        from gdlab.sweep.grid import split_top_level
        from gdlab.yamlio import parse_scalar

        items = [parse_scalar(item, source) for item in split_top_level(raw)] if raw.strip() else []
        if len(items) < 2 or len(set(map(_same_value, items))) < len(items):
            raise GdlabError(f"{source}: choice expects 2 or more different values, e.g. choice(SGD,Adam); got ({raw})")
        return Distribution(kind, tuple(items), text.strip())
    try:
        low, high = (float(p) for p in raw.split(","))
    except ValueError:
        raise GdlabError(f"{source}: {kind} expects 2 numbers (low, high), e.g. {kind}(1e-4,1); got ({raw})") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise GdlabError(f"{source}: {kind} needs finite low < high; got ({raw})")
    if kind == "loguniform" and low <= 0:
        raise GdlabError(f"{source}: loguniform needs low > 0 (it draws the exponent); got ({raw})")
    if kind == "randint":
        if not (low.is_integer() and high.is_integer()):
            raise GdlabError(f"{source}: randint expects whole numbers (both included); got ({raw})")
        low, high = int(low), int(high)
    return Distribution(kind, (low, high), text.strip())


def _same_value(item: Any) -> str:
    """What a choice's value is as a config value: 16 and 16.0 are one (an integer key takes both alike)."""
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        return repr(float(item))
    return repr(item)
