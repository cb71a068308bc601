"""An lr-find folder (lr_find.csv, lr_find.json, config.yaml) read into plain data, for its figure and for
its `gdlab runs` row. lr_find.json is optional and read tolerantly: unknown keys are ignored, missing ones
are simply not shown."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdlab.errors import GdlabError, shorten
from gdlab.plotting.csvread import describe_lines, read_rows
from gdlab.plotting.folders import folder_time
from gdlab.plotting.readers import finite_number, read_config, read_summary

REQUIRED = ("lr", "loss")
LR_KEYS = ("suggested_lr", "min_loss_lr")  # the learning rates lr_find.json reports


@dataclass
class LRFindData:
    """The range test's rows (float columns lr, loss and, when written, step and smoothed_loss) and lr_find.json."""

    path: Path
    table: pd.DataFrame
    result: dict[str, Any]
    config: dict[str, Any] | None

    def lr(self, key: str) -> float | None:
        """lr_find.json's learning rate under `key` when it is a positive finite number, else None."""
        return positive(self.result.get(key))


def no_suggestion(result: dict[str, Any]) -> str | None:
    """Why lr_find.json holds no suggested lr, in a few words, from its own fields: 'unreadable' (a value that
    is not a positive number), 'interrupted', 'loss still falling' or 'no steady fall'. None when it holds
    one, or when the key is missing and so nothing is known."""
    if "suggested_lr" not in result or positive(result["suggested_lr"]) is not None:
        return None
    if result["suggested_lr"] is not None:
        return "unreadable"
    if result.get("interrupted") is True:  # checked first: an interrupted test also stops with the loss falling
        return "interrupted"
    return "loss still falling" if result.get("loss_still_falling") is True else "no steady fall"


def unreadable_lrs(path: Path, result: dict[str, Any]) -> list[str]:
    """A warning per learning rate in lr_find.json that is there but no positive number: without one, the
    figure and `runs` would report a missing suggestion as if the test had found none."""
    return [f"{path}: {key} {shorten(repr(result[key]))} is not a positive number; ignoring it"
            for key in LR_KEYS if result.get(key) is not None and positive(result[key]) is None]


def positive(value: Any) -> float | None:
    """A positive finite number as a float, else None (JSON null, text, or a value a log axis cannot show)."""
    number = finite_number(value)
    return number if number is not None and number > 0 else None


def read_lr_find_csv(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """lr_find.csv as floats; rows with a non-number cell or an lr that is not positive are dropped with a warning."""
    header, rows, warnings = read_rows(path, REQUIRED, "a gdlab lr_find.csv")
    values, bad = [], []
    at_lr = header.index("lr")
    for line, cells in rows:
        try:
            numbers = [math.nan if c == "" else float(c) for c in cells]
        except ValueError:
            bad.append(line)
            continue
        if positive(numbers[at_lr]) is None:  # an lr the log axis cannot place is damage, not data
            bad.append(line)
            continue
        values.append(numbers)
    if bad:
        warnings.append(f"{path}: skipped {len(bad)} row(s) with a non-number cell or an lr that is not positive "
                        f"(line {describe_lines(bad)})")
    if not values:
        raise GdlabError(f"{path}: no data rows to plot (the header is there but no usable row follows)")
    return pd.DataFrame(np.array(values, dtype=float), columns=header), warnings


def load_lr_find(folder: Path, warnings: list[str]) -> LRFindData:
    """Read an lr-find folder; lr_find.csv must be usable, lr_find.json and config.yaml are optional."""
    table, notes = read_lr_find_csv(folder / "lr_find.csv")
    result, more = read_summary(folder / "lr_find.json", "a gdlab lr_find.json")
    config, extra = read_config(folder / "config.yaml")
    warnings.extend(notes + more + extra + unreadable_lrs(folder / "lr_find.json", result or {}))
    if result is None and not more:
        warnings.append(f"{folder / 'lr_find.json'}: missing (the range test is still going or was stopped); "
                        "no suggested lr to mark")
    return LRFindData(folder, table, result or {}, config)


def lrfind_row(folder: Path, warnings: list[str]) -> dict[str, Any]:
    """The `gdlab runs` row of an lr-find folder: its suggestion (or why there is none) as the status, steps
    from lr_find.json, and lr_find.json's learning rates as numbers for `runs --json`."""
    result, notes = read_summary(folder / "lr_find.json", "a gdlab lr_find.json")
    config, more = read_config(folder / "config.yaml")
    warnings.extend(notes + more + unreadable_lrs(folder / "lr_find.json", result or {}))
    row = {"name": (config or {}).get("name") or folder.parent.name, "when": folder_time(folder), "kind": "lr-find",
           "final_train_loss": None, "best_val_loss": None, "steps": None}
    if result is None:  # --json: the keys are always there, null where nothing could be read
        status = "unreadable lr_find.json" if notes else "no lr_find.json"
        return row | {"status": status, "suggested_lr": None, "min_loss_lr": None, "lower_bound": False,
                      "no_suggestion": "unreadable" if notes else "missing"}  # the README's words, not the status
    steps = result.get("steps")
    suggested, why = positive(result.get("suggested_lr")), no_suggestion(result)
    if suggested is None:
        status = "no suggested lr" + (f" ({why})" if why else "")
    else:  # `is True`: a malformed value should not claim the suggestion is only a lower bound
        status = f"suggested lr {suggested:.3g}" + (" (lower bound)" if result.get("loss_still_falling") is True else "")
    return row | {"status": status, "steps": steps if isinstance(steps, int) and not isinstance(steps, bool) else None,
                  "suggested_lr": suggested, "min_loss_lr": positive(result.get("min_loss_lr")),
                  "lower_bound": suggested is not None and result.get("loss_still_falling") is True,
                  "no_suggestion": why}
