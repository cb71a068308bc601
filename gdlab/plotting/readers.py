"""Readers for the files a run or sweep leaves behind: metrics.csv, summary.json, config.yaml and
sweep.csv. Each returns its data plus warnings; an unusable file raises one GdlabError naming it."""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdlab.errors import GdlabError
from gdlab.plotting.csvread import describe_lines, read_rows, read_text

METRICS_REQUIRED = ("step", "train_loss")


def finite_number(value: Any) -> float | None:
    """A value read from JSON, YAML or a table cell as a finite float, else None: null, text, a boolean (which
    Python counts as a number) and NaN/inf are not numbers a figure or a table can show."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    return float(value) if math.isfinite(value) else None


SWEEP_REQUIRED = ("status", "final_train_loss", "run_dir")


def _number(cell: str) -> float:
    """An empty cell is 'not computed at this step' (NaN); anything else must be a float."""
    return math.nan if cell == "" else float(cell)


class NoRowsYet(GdlabError):
    """metrics.csv holds its header and nothing else: a run that has just started (or died at once)."""


MAX_STEP = 2**53  # floats count whole numbers exactly up to here; int64 would wrap 1e300 to a negative step
GAPS = "gaps"  # a metrics frame's attrs key: {column: index labels of the rows whose cell was written NaN/inf}


def gap_rows(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean mask of the rows where metrics.csv wrote `column` as NaN or inf before its last row: a break in
    its curve, unlike an empty cell (a value not logged at that step)."""
    return frame.index.isin(frame.attrs.get(GAPS, {}).get(column, []))


def read_metrics(path: Path, x: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read metrics.csv into a float DataFrame (int `step`), one row per trusted line, plus warnings; the cells
    written NaN/inf before the last row are listed in its attrs (gap_rows). `x`: the axis its curves are drawn
    against, which says what such a cell does to them (None: no curve is drawn, as in `gdlab runs`)."""
    header, rows, warnings = read_rows(path, METRICS_REQUIRED, "a gdlab metrics.csv")
    values: list[list[float]] = []
    unparsable: list[int] = []
    bad_step: list[int] = []
    nonfinite: dict[str, list[tuple[int, int, int]]] = {}  # column: (line, row, step) of each NaN/inf cell
    step_at = header.index("step")
    last_line = rows[-1][0] if rows else None
    for line, cells in rows:
        try:
            numbers = [_number(c) for c in cells]
        except ValueError:
            unparsable.append(line)
            continue
        step = numbers[step_at]
        if not (0 <= step <= MAX_STEP and step == int(step)):  # NaN fails the bounds
            bad_step.append(line)
            continue
        # A non-finite value on the last row is how a diverged run ends; elsewhere it is suspicious.
        if line != last_line:
            for name, cell, number in zip(header, cells, numbers):
                if cell and not math.isfinite(number):
                    nonfinite.setdefault(name, []).append((line, len(values), int(step)))
        values.append(numbers)
    if unparsable:
        warnings.append(f"{path}: skipped {len(unparsable)} row(s) with a non-number cell "
                        f"(line {describe_lines(unparsable)})")
    if bad_step:
        warnings.append(f"{path}: skipped {len(bad_step)} row(s) whose step is not a whole number "
                        f"from 0 to 2**53 (line {describe_lines(bad_step)})")
    for name, cells in nonfinite.items():  # the step says where to look on the figure, the line where in the file
        lines, steps = [line for line, _, _ in cells], [step for _, _, step in cells]
        # epoch and wall_s have no curve of their own; they are an x axis (--x) that the curves break at, if drawn
        if x is None:
            drawn = ""
        elif name not in ("epoch", "wall_s"):
            drawn = "; drawn as a gap in its curve"
        else:
            drawn = ("; drawn as a gap in the curves drawn against it" if name == x else
                     f"; the curves, drawn against {x}, do not break there")
        warnings.append(f"{path}: column {name} is NaN/inf before the last row (line {describe_lines(lines)}, "
                        f"step {describe_lines(steps)}){drawn}")
    if not values:  # say why: the skipped rows' warnings are the reason
        why = "; ".join(w.removeprefix(f"{path}: ") for w in warnings if w.startswith(f"{path}: skipped"))
        if not why and not rows:
            raise NoRowsYet(f"{path}: no data rows to plot (the header is there but no row follows)")
        raise GdlabError(f"{path}: no data rows to plot ({why or 'none could be read'})")

    frame = pd.DataFrame(np.array(values, dtype=float), columns=header)
    frame["step"] = frame["step"].astype("int64")
    frame.attrs[GAPS] = {name: [row for _, row, _ in cells] for name, cells in nonfinite.items()}
    backwards = int((frame["step"].diff() <= 0).sum())
    if backwards:
        warnings.append(f"{path}: step goes backwards or repeats {backwards} time(s); was the file written by two runs?")
    return frame, warnings


def read_summary(path: Path, what: str = "a gdlab summary.json") -> tuple[dict[str, Any] | None, list[str]]:
    """Read a JSON object (summary.json, lr_find.json); a missing file is None (the run may still be going),
    a broken one a warning."""
    if not path.exists():
        return None, []
    try:
        data = json.loads(read_text(path, what))
    except GdlabError as exc:
        return None, [f"{exc.message}; ignoring it"]
    except json.JSONDecodeError as exc:
        # json's messages end "... at" and expect their position after (e.g. "Invalid control character at")
        what_is_wrong = exc.msg[:1].lower() + exc.msg[1:].removesuffix(" at")
        return None, [f"{path}: not valid JSON ({what_is_wrong} at line {exc.lineno}, column "
                      f"{exc.colno}); ignoring it"]
    if not isinstance(data, dict):
        return None, [f"{path}: expected a JSON object, got {type(data).__name__}; ignoring it"]
    return data, []


def read_config(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """Read a resolved config.yaml (or sweep.yaml) as plain data; missing is None, broken a warning."""
    from gdlab.yamlio import read_yaml_file  # yaml only; keeps `import gdlab.plotting` light

    if not path.exists():
        return None, []
    try:
        data, _ = read_yaml_file(path)
    except GdlabError as exc:
        return None, [f"{exc.message}; ignoring it"]
    if not isinstance(data, dict):
        return None, [f"{path}: expected a YAML mapping; ignoring it"]
    return data, []


def _column(cells: list[str]) -> pd.Series:
    """Numbers when every non-empty cell is one (so 'nan' stays a float), otherwise text."""
    try:
        return pd.Series([_number(c) for c in cells], dtype=float)
    except ValueError:
        return pd.Series([c if c != "" else None for c in cells], dtype=object)


def read_sweep(path: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Read sweep.csv into (table, axes, warnings); the axes are the swept dotted keys before `status`."""
    header, rows, warnings = read_rows(path, SWEEP_REQUIRED, "a gdlab sweep.csv")
    if not rows:
        raise GdlabError(f"{path}: no variant rows (the header is there but nothing follows)")
    # Text columns stay text: a sweep of one has the single run_dir "000", which reads as the number 0.
    text = ("status", "run_dir", "error", "init_hash")

    def column(i: int, name: str) -> pd.Series:
        values = [cells[i] for _, cells in rows]
        return pd.Series([v or None for v in values], dtype=object) if name in text else _column(values)

    table = pd.DataFrame({name: column(i, name) for i, name in enumerate(header)})
    axes = header[: header.index("status")]
    for name in ("final_train_loss", "best_val_loss"):
        if name in table and table[name].dtype == object:
            warnings.append(f"{path}: column {name} holds non-numbers; treating it as missing")
            table[name] = pd.to_numeric(table[name], errors="coerce")
    table["status"] = table["status"].astype(str)
    return table, axes, warnings
