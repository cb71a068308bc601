"""Load a run folder or a sweep folder into plain data (DataFrames and dicts) for the plotting functions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gdlab.errors import GdlabError
from gdlab.plotting.folders import resolve
from gdlab.plotting.readers import read_config, read_metrics, read_summary, read_sweep


@dataclass
class RunData:
    """One run: its metrics table, summary.json and config.yaml (either may be None)."""

    path: Path
    metrics: pd.DataFrame
    summary: dict[str, Any] | None
    config: dict[str, Any] | None


@dataclass
class SweepData:
    """One sweep: sweep.csv, its swept axes, and the runs that could be read, keyed by table row."""

    path: Path
    table: pd.DataFrame
    axes: list[str]
    runs: dict[int, RunData] = field(default_factory=dict)
    config: dict[str, Any] | None = None


def diverged_step(metrics: pd.DataFrame, summary: dict | None) -> int | None:
    """The step where the run diverged: summary.json's word for it, else a non-finite last train_loss."""
    summary = summary or {}
    step = summary.get("diverged_at_step")
    if isinstance(step, (int, float)) and not isinstance(step, bool) and math.isfinite(step):
        return int(step)
    last = metrics["train_loss"].iloc[-1]
    if not math.isfinite(last) or summary.get("status") == "diverged":
        return int(metrics["step"].iloc[-1])
    return None


def load_run(folder: Path, warnings: list[str], x: str = "step") -> RunData:
    """Read one run folder, for curves drawn against `x`; metrics.csv must be usable, the other files are optional."""
    metrics, notes = read_metrics(folder / "metrics.csv", x)
    summary, more = read_summary(folder / "summary.json")
    config, extra = read_config(folder / "config.yaml")
    warnings.extend(notes + more + extra)
    step, last = (summary or {}).get("diverged_at_step"), int(metrics["step"].iloc[-1])
    if step is not None and not _is_step(step, last):  # a hand edit: -5 or 1e300 would wreck the x axis
        warnings.append(f"{folder / 'summary.json'}: diverged_at_step {step!r} is not a step of metrics.csv "
                        f"(a whole number from 1 to {last}); ignored")
        summary = {k: v for k, v in summary.items() if k != "diverged_at_step"}
    return RunData(folder, metrics, summary, config)


def _is_step(value: Any, last: int) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return number and value == int(value) and 1 <= value <= last


def _never_started(row: pd.Series) -> bool:
    """A sweep.csv row of a variant the sweep never reached: pending or skipped, or interrupted with 0 steps."""
    status, steps = row.get("status"), pd.to_numeric(row.get("steps"), errors="coerce")
    return status in ("pending", "skipped") or (status == "interrupted" and steps == 0)


def load_sweep(folder: Path, warnings: list[str], *, curves: bool = True, x: str = "step") -> SweepData:
    """Read sweep.csv and, with `curves`, every variant run; an unreadable variant is a warning, not an error."""
    table, axes, notes = read_sweep(folder / "sweep.csv")
    warnings.extend(notes)
    config, notes = read_config(folder / "sweep.yaml")
    warnings.extend(notes)
    sweep = SweepData(folder, table, axes, config=config)
    if not curves:
        return sweep
    unstarted = 0
    for index, run_dir in table["run_dir"].items():
        if not isinstance(run_dir, str) or not run_dir:
            warnings.append(f"{folder / 'sweep.csv'}: row {index + 1} has no run_dir; its curve is left out")
            continue
        variant = folder / run_dir
        if _never_started(table.loc[index]) and not (variant.is_dir() and any(variant.iterdir())):
            # no files by design: a sweep removes the empty folder of a variant it never reached (a kill -9
            # leaves it), so there is nothing missing to warn about
            unstarted += 1
            continue
        try:
            sweep.runs[index] = load_run(variant, warnings, x)
        except GdlabError as exc:
            warnings.append(f"{exc.message}; that variant's curve is left out")
    if unstarted:
        warnings.append(f"{folder}: {unstarted} variant{'s' * (unstarted > 1)} never started (pending, skipped or "
                        "interrupted at step 0): no curve to draw")
    return sweep


def load_runs(paths: list[Path], warnings: list[str], x: str = "step") -> list[RunData]:
    """Runs for `compare`: a run folder gives itself, a sweep folder each of its readable variants. An lr-find
    folder is skipped with a warning (a shell glob such as `runs/x/*` picks them up too), unless nothing
    else is left to compare."""
    found, seen = [], set()
    for kind, folder in (resolve(path) for path in paths):  # every path checked before any is read
        key = folder.resolve()
        if key in seen:  # `compare runs/x/* runs/x/one`: one curve per folder, not two with the same label
            warnings.append(f"{folder}: given more than once; drawn once")
            continue
        seen.add(key)
        found.append((kind, folder))
    lrfind = [folder for kind, folder in found if kind == "lr-find"]
    if lrfind and len(lrfind) == len(found):  # its loss is against a growing lr, not steps: no curve to overlay
        raise GdlabError(f"{lrfind[0]}: an lr-find folder has no training curve to compare; compare takes run and "
                         "sweep folders (draw this one with gdlab plot)")
    warnings.extend(f"{folder}: an lr-find folder has no training curve to compare; skipped (draw it with gdlab plot)"
                    for folder in lrfind)
    runs: list[RunData] = []
    drawn: set[Path] = set()

    def add(run: RunData) -> None:  # a sweep and one of its variants both given: one curve, not two with one label
        if run.path.resolve() in drawn:
            warnings.append(f"{run.path}: given more than once (as a run and as a variant of a sweep); drawn once")
        else:
            drawn.add(run.path.resolve())
            runs.append(run)

    unreadable: list[GdlabError] = []
    for kind, folder in found:
        try:
            if kind == "run":
                add(load_run(folder, warnings, x))
            elif kind == "sweep":
                sweep = load_sweep(folder, warnings, x=x)
                if not sweep.runs:
                    raise GdlabError(f"{folder}: none of the sweep's variant runs could be read")
                for run in sweep.runs.values():
                    add(run)
        except GdlabError as exc:  # a run that has just started (a header, no row) must not sink the others
            unreadable.append(exc)
    if unreadable and not runs:
        raise unreadable[0]
    warnings.extend(f"{exc.message}; left out of the comparison" for exc in unreadable)
    return runs
