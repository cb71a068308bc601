"""The x axis of a run's curves, as `compare --x` and `plot --x` draw it: a metrics.csv column (step, epoch or
wall_s), where a step (a divergence, an early stop) sits on it, and the points a column's curve is drawn through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gdlab.errors import GdlabError
from gdlab.plotting.readers import gap_rows

X_AXES = ("step", "epoch", "wall_s")
X_LABELS = {"epoch": "epoch", "wall_s": "wall-clock time (s)"}  # what the axis is, in its units


def step_axis(ax) -> None:
    """Label an x axis of optimizer steps, with whole-number ticks: a run of 4 steps gets no tick at 2.5."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("step")
    # min_n_ticks=1: around one step (a run that ended at step 1) the default minimum of 2 ticks made the
    # locator give up on whole numbers and tick 0.945, 0.96 ... 1.05
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def label_x(ax, x: str) -> None:
    """Name the x axis in its units; steps get whole-number ticks, epochs (a third of one per step) do not."""
    if x == "step":
        step_axis(ax)
    else:
        ax.set_xlabel(X_LABELS[x])


def check_x(x: str) -> None:
    """Refuse an x axis that is no metrics.csv column a run's curves are drawn against."""
    if x not in X_AXES:
        raise GdlabError(f"--x {x}: choose one of {', '.join(X_AXES)}")


def check_x_column(frame: pd.DataFrame, x: str, path: Path) -> None:
    """Refuse to draw one run (folder `path`) against a column its metrics.csv lacks. The epoch column is
    step / steps per epoch as the run wrote it, so every figure converts steps the same way."""
    check_x(x)
    if x not in frame:
        raise GdlabError(f"{Path(path) / 'metrics.csv'}: no {x} column to draw against; use --x step")


def x_at_step(frame: pd.DataFrame, x: str, step: int) -> float | None:
    """Where `step` sits on the `x` axis: the step itself, or the `x` of the last row at or before it with one
    (a val_loss logged steps earlier must not move it); None when no row has one."""
    if x == "step":
        return step
    at = frame[x][(frame["step"] <= step) & np.isfinite(frame[x].to_numpy(dtype=float))]
    return float(at.iloc[-1]) if len(at) else None


def runs_with_x(runs: dict, x: str, warnings: list[str]) -> dict:
    """The runs (a sweep's, by table row) whose metrics.csv has the `x` column; each one without it is a
    warning and its curve is left out, as compare leaves it out."""
    check_x(x)
    lacking = {i for i, run in runs.items() if x not in run.metrics}
    warnings.extend(f"{Path(runs[i].path) / 'metrics.csv'}: no {x} column; its curve is left out" for i in sorted(lacking))
    return {i: run for i, run in runs.items() if i not in lacking}


def curve_points(frame: pd.DataFrame, column: str, x: str) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) points of one column's curve: its finite values, and NaN where metrics.csv wrote NaN or inf
    mid-run, where matplotlib then leaves a gap (a straight line bridging it drew values never logged). An x
    written NaN/inf mid-run is a gap too (dropping its row joined its neighbours). Rows not logged (empty
    cells, as a sparse val_loss has) and rows without an x are left out."""
    ys, xs = frame[column].to_numpy(dtype=float), frame[x].to_numpy(dtype=float)
    x_gaps = gap_rows(frame, x) & ~np.isfinite(xs)
    keep = (np.isfinite(ys) | gap_rows(frame, column)) & (np.isfinite(xs) | x_gaps)
    ys = np.where(np.isfinite(ys) & ~x_gaps, ys, np.nan)  # NaN y as well: the gap whichever one matplotlib reads
    xs = np.where(x_gaps, np.nan, xs) if x_gaps.any() else frame[x].to_numpy()  # steps stay whole numbers
    return xs[keep], ys[keep]
