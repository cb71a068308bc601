"""The momentum a OneCycleLR with `cycle_momentum: true` gives SGD at each step, read back from the lr column
(metrics.csv logs the lr, not the momentum), for the stability edge 2(1+momentum)/lr. torch moves the lr and
the momentum by the same fraction of each phase (cos or linear), in opposite directions, so within a phase
the momentum is an affine function of the step's lr. Pure pandas: plotting never imports torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gdlab.plotting.readers import finite_number


def cycle_of(scheduler: Any) -> dict | None:
    """The scheduler section when it is a OneCycleLR that cycles the momentum, else None."""
    if not isinstance(scheduler, dict) or scheduler.get("name") != "OneCycleLR":
        return None
    return scheduler if _yes(scheduler.get("cycle_momentum")) else None


def _yes(value: Any) -> bool:
    """A config.yaml flag read without the schema: true as YAML or as the text a hand edit may leave."""
    return value in (True, "true", "True")


def momentum_at_peak(cycle: dict) -> float:
    """The momentum while the lr is at its peak (optimizer.lr): base_momentum."""
    return float(cycle.get("base_momentum", 0.85))


def momentum_per_step(cycle: dict, peak_lr: Any, lr: pd.Series) -> pd.Series:
    """Each row's momentum under the cycle whose peak lr is `peak_lr`; NaN where it cannot be told (no peak, or a
    first phase with no lr change to read it from, at div_factor 1)."""
    base, top = momentum_at_peak(cycle), float(cycle.get("max_momentum", 0.95))
    peak = finite_number(peak_lr)
    start = peak / float(cycle.get("div_factor", 25.0)) if peak else None
    if not peak or peak <= 0 or not len(lr) or start >= peak:
        return pd.Series(np.nan, index=lr.index)
    end = start / float(cycle.get("final_div_factor", 1e4))
    rise = top + (base - top) * (lr - start) / (peak - start)  # start -> peak while the momentum goes top -> base
    if _yes(cycle.get("three_phase")):
        fall = rise  # peak -> start retraces the rise; below start (the third phase) the momentum stays at top
    else:
        fall = base + (top - base) * (peak - lr) / (peak - end)  # peak -> end while it goes base -> top
    # the rise runs to the row of the largest lr; near the peak both maps give base, so a peak between two
    # logged rows (log_every > 1) puts no row on the wrong map by more than a hair
    after_peak = pd.Series(np.arange(len(lr)) > int(np.nanargmax(lr.to_numpy(dtype=float))), index=lr.index)
    return rise.where(~after_peak, fall).clip(min(base, top), max(base, top))
