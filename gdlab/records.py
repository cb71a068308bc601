"""Consumers of step records for one model: the metrics.csv row writer and the summary tracker."""

from __future__ import annotations

import math
from pathlib import Path

from gdlab.engine.loop import StepRecord
from gdlab.rundir import CsvAppender


def metric_columns(task: str, has_val: bool) -> list[str]:
    """metrics.csv's columns, in order; accuracy only for classification, val_* only with a val split."""
    cls = task == "classification"
    cols = ["step", "epoch", "lr", "train_loss"] + (["train_accuracy"] if cls else []) + ["grad_norm"]
    if has_val:
        cols += ["val_loss"] + (["val_accuracy"] if cls else [])
    return cols + ["wall_s"]


def row_of(rec: StepRecord, k: int) -> dict:
    """Model k's values at this step as a CSV row."""
    pick = lambda vals: vals[k] if vals is not None else None  # noqa: E731
    return {
        "step": rec.step,
        "epoch": rec.epoch,
        "lr": rec.lr[k],
        "train_loss": rec.train_loss[k],
        "train_accuracy": pick(rec.train_accuracy),
        "grad_norm": rec.grad_norm[k],
        "val_loss": pick(rec.val_loss),
        "val_accuracy": pick(rec.val_accuracy),
        "wall_s": round(rec.wall_s, 6),
        **{name: vals[k] for name, vals in rec.extra.items()},
    }


class MetricsLog:
    """Writes model k's rows to metrics.csv and keeps what summary.json reports."""

    def __init__(self, path: Path, columns: list[str], k: int = 0, flush_every: int = 1):
        self.k = k
        self.csv = CsvAppender(path, columns, flush_every)
        self.last: dict = {}
        self.best_val_loss: float | None = None
        self.final: dict[str, float | None] = {}
        self.wall_s = 0.0

    def consume(self, rec: StepRecord) -> None:
        if not rec.emit[self.k]:
            return
        row = row_of(rec, self.k)
        self.csv.write(row)
        self.last = row
        self.wall_s = rec.wall_s
        for key, value in row.items():
            if value is not None:
                self.final[key] = value
        v = row["val_loss"]
        if v is not None and math.isfinite(v) and (self.best_val_loss is None or v < self.best_val_loss):
            self.best_val_loss = v

    def summary_values(self) -> dict:
        f = self.final
        return {
            "final_train_loss": self.last.get("train_loss"),
            "final_val_loss": f.get("val_loss"),
            "best_val_loss": self.best_val_loss,
            "final_train_accuracy": f.get("train_accuracy"),
            "final_val_accuracy": f.get("val_accuracy"),
        }

    def close(self) -> None:
        self.csv.close()
