"""The range test's suggestion: smooth the loss curve (an exponential moving average with bias correction),
then find the steepest fall against log10 lr in the descent into its minimum. Pure Python, no torch."""

from __future__ import annotations

import math
from collections import deque

MIN_STEPS = 5  # fewer points than this make no curve to read
# Each slope spans about a quarter decade of lr: wide enough that one noisy step cannot dominate it,
# narrow enough to resolve a descent that takes a decade or two.
SLOPE_DECADES = 0.25
MIN_FALL = 0.01  # a descent lowering the loss by less than 1% of its value is noise, not a descent
RULE = ("steepest fall of the smoothed loss against log10 lr, each slope taken over about a quarter decade, "
        "searched in the descent into the minimum with the window ending before it")


class Smoother:
    """Bias-corrected exponential moving average, one value at a time; NaN/inf once reached stay NaN."""

    def __init__(self, beta: float):
        self.beta, self.avg, self.n, self.dead = beta, 0.0, 0, False

    def add(self, value: float) -> float:
        self.n += 1
        if self.dead or not math.isfinite(value):
            self.dead = True
            return float("nan")
        self.avg = self.beta * self.avg + (1 - self.beta) * value
        return self.avg / (1 - self.beta**self.n)


def smooth(losses: list[float], beta: float) -> list[float]:
    """The smoothed curve of a whole list of losses (see Smoother)."""
    smoother = Smoother(beta)
    return [smoother.add(v) for v in losses]


def _half_window(lrs: list[float]) -> int:
    """Points either side of a slope's centre so that the window spans about SLOPE_DECADES (at least 1)."""
    per_step = (math.log10(lrs[-1]) - math.log10(lrs[0])) / (len(lrs) - 1) if len(lrs) > 1 else 0.0
    return max(1, round(SLOPE_DECADES / 2 / per_step)) if per_step > 0 else 1


def _finite_min(smoothed: list[float]) -> tuple[int, int]:
    """(number of leading finite values, index of the smallest of them)."""
    n = next((i for i, v in enumerate(smoothed) if not math.isfinite(v)), len(smoothed))
    return n, min(range(n), key=smoothed.__getitem__, default=-1)


def _descent_start(s: list[float], i_min: int, h: int, flat: float) -> int:
    """Walk back from i_min while the highest of the h points before `start` stands more than `flat` above
    it; return where the walk stops. O(n): a narrow lr range over many steps makes h span the whole curve."""
    # The window s[start-h:start] only grows on its left and loses its right end as start moves back, so a
    # deque of indices whose values fall from front (the window's max) to back gives each max in O(1)
    # amortised; re-taking max() of the window each step was O(n * h), minutes for a million steps.
    window: deque[int] = deque()
    start, low = i_min, i_min  # `low`: the lowest index pushed so far
    while start > 0:
        while low > max(start - h, 0):
            low -= 1
            while window and s[window[-1]] <= s[low]:  # never the max again while `low` is in the window
                window.pop()
            window.append(low)
        while window[0] >= start:  # slid out on the right
            window.popleft()
        if not s[window[0]] - s[start] > flat:
            break
        start -= 1
    return start


def suggest(lrs: list[float], smoothed: list[float]) -> tuple[float | None, float | None]:
    """(suggested lr, lr at the smoothed minimum). The suggestion is the centre of the steepest fall of the
    smoothed loss against log10 lr, each slope measured across ~a quarter decade, among windows inside the
    descent into the minimum that end before it: so neither the minimum, the steps next to a blow-up, a
    lone noisy dip, nor an early spike (cut off from the descent by the flat stretch after it) is chosen."""
    n, i_min = _finite_min(smoothed)
    if n < MIN_STEPS:
        return None, None
    s, h = smoothed[:n], _half_window(lrs)
    # Walk back up the descent. A stretch falling by under 0.1% of the loss range is flat, and ends it; a bump
    # shorter than the half window does not, as a point within h steps back still stands higher.
    flat = 1e-3 * (max(s[: i_min + 1]) - s[i_min])
    start = _descent_start(s, i_min, h, flat)
    top = max(s[start:i_min + 1])
    centres = range(start + h, i_min - h)  # the window [i-h, i+h] lies in the descent and ends before the minimum
    if not centres or top - s[i_min] < MIN_FALL * abs(top):
        return None, lrs[i_min]
    slope = lambda i: (s[i + h] - s[i - h]) / (math.log10(lrs[i + h]) - math.log10(lrs[i - h]))  # noqa: E731
    return lrs[min(centres, key=slope)], lrs[i_min]


def still_falling(lrs: list[float], smoothed: list[float]) -> bool:
    """True when every loss is finite and the smoothed minimum lies in the last slope window: the range ended
    before the loss turned up, so the lr that works best may lie beyond it."""
    n, i_min = _finite_min(smoothed)
    return n == len(smoothed) > 0 and i_min >= n - 1 - _half_window(lrs)
