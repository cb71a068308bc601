"""What the terminal says of sharpness, the top eigenvalue of the loss's Hessian: a run's last measured
value beside the edge its lr sets (2/lr for GD), and each sweep variant's initial value beside the lr past
which its optimizer's steps diverge on a quadratic of that curvature (plotting/stability.py's rule)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from gdlab.cli.progress import fmt_number


def last_sharpness(metrics_csv: Path) -> tuple[int, float, float, list[float]] | None:
    """(step, lr, sharpness) of metrics.csv's last row with a finite sharpness, and the lr of every row up to it
    (a cycled momentum is read back from them); None where there is none."""
    found, lrs = None, []
    try:
        with open(metrics_csv, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                try:
                    step, lr = int(row["step"]), float(row["lr"])
                except (KeyError, TypeError, ValueError):
                    continue
                lrs.append(lr)
                try:
                    value = float(row["sharpness"])
                except (KeyError, TypeError, ValueError):  # no sharpness column, or no measurement at this row
                    continue
                if math.isfinite(value):
                    found = (step, lr, value, list(lrs))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return found


def run_rows(run_dir: Path, optimizer: dict, scheduler: dict | None = None) -> list[tuple[str, str]]:
    """The train summary's sharpness rows: the last value measured, and the sharpness at which the run's
    last lr stops being stable on a quadratic (none for Adam and RMSprop, which rescale each weight's step)."""
    found = last_sharpness(run_dir / "metrics.csv")
    if found is None:
        return []
    step, lr, value, lrs = found
    rows = [("sharpness", f"{fmt_number(value)} (step {step})")]
    import pandas as pd

    from gdlab.plotting.stability import sharpness_edge

    edge = sharpness_edge(optimizer, pd.Series(lrs), scheduler)  # the whole column: a cycle's phase is in it
    if edge is not None and math.isfinite(limit := float(edge[0].iloc[-1])):
        where = "above it" if value > limit else "below it"
        rows.append(("sharpness edge", f"{fmt_number(limit)} = {edge[1]} (the sharpness is {where})"))
    return rows


def add_edges(rows: list[dict], optimizers: list[dict], schedulers: list[dict | None]) -> None:
    """Set each sweep row's `stability_edge` (display only, not in sweep.csv): the lr past which its
    optimizer diverges on a quadratic whose curvature is the variant's init_sharpness; None where unknown."""
    from gdlab.plotting.stability import stability_edge

    for row, optimizer, scheduler in zip(rows, optimizers, schedulers):
        found = stability_edge(optimizer, row.get("init_sharpness"), scheduler)
        row["stability_edge"] = found[0] if found else None
