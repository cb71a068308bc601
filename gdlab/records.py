"""Consumers of step records: the metrics.csv writer for every model of a group, which also keeps
what each summary.json reports. Formatting is done a column at a time: a 1000-model sweep writes
1000 rows per step."""

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


def _cells(values: list | None, k: int) -> list[str]:
    if values is None:
        return [""] * k
    return ["" if v is None else repr(v) for v in values]  # repr: shortest text that reads back exactly


class GroupMetrics:
    """Appends each model's rows to its own metrics.csv and tracks its final and best values."""

    def __init__(self, paths: list[Path], columns: list[str], flush_every: int = 1):
        self.columns = columns
        self.files = [CsvAppender(p, columns, flush_every) for p in paths]
        K = len(paths)
        self.last_train: list[float | None] = [None] * K
        self.final: list[dict] = [{} for _ in range(K)]
        self.best_val: list[float | None] = [None] * K
        self.wall_s = 0.0

    def consume(self, rec: StepRecord) -> None:
        emit = [k for k, e in enumerate(rec.emit) if e]
        if not emit:
            return
        K = len(rec.emit)
        shared = {"step": str(rec.step), "epoch": repr(rec.epoch), "wall_s": repr(round(rec.wall_s, 6))}
        per_model = {name: getattr(rec, name, None) if name not in rec.extra else rec.extra[name]
                     for name in self.columns if name not in shared}
        cells = {name: _cells(vals, K) for name, vals in per_model.items()}
        for k in emit:
            self.files[k].write_line(",".join(shared[c] if c in shared else cells[c][k] for c in self.columns))
            self.last_train[k] = rec.train_loss[k]
            for name in ("val_loss", "train_accuracy", "val_accuracy"):
                vals = per_model.get(name)
                if vals is not None and vals[k] is not None:
                    self.final[k][name] = vals[k]
            v = rec.val_loss[k] if rec.val_loss is not None else None
            if v is not None and math.isfinite(v) and (self.best_val[k] is None or v < self.best_val[k]):
                self.best_val[k] = v
        self.wall_s = rec.wall_s

    def summary_values(self, k: int) -> dict:
        f = self.final[k]
        return {
            "final_train_loss": self.last_train[k],
            "final_val_loss": f.get("val_loss"),
            "best_val_loss": self.best_val[k],
            "final_train_accuracy": f.get("train_accuracy"),
            "final_val_accuracy": f.get("val_accuracy"),
        }

    def close(self) -> None:
        for f in self.files:
            f.close()
