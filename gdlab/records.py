"""Consumers of step records: the metrics.csv writer for every model of a group, which also keeps
what each summary.json reports. Rows are built a column at a time: a 1000-model sweep writes 1000
rows per step."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

from gdlab.engine.step_record import StepRecord
from gdlab.csvlog import CsvAppender
from gdlab.io_pool import in_background, in_parallel

EXTRA_COLUMNS = {"sharpness"}  # optional per-step values the engine puts in StepRecord.extra


def metric_columns(task: str, has_val: bool, sharpness: bool = False) -> list[str]:
    """metrics.csv's columns, in order; accuracy only for classification, val_* only with a val split,
    sharpness only when train.sharpness_every is set."""
    cls = task == "classification"
    cols = ["step", "epoch", "lr", "train_loss"] + (["train_accuracy"] if cls else []) + ["grad_norm"]
    if has_val:
        cols += ["val_loss"] + (["val_accuracy"] if cls else [])
    if sharpness:
        cols.append("sharpness")
    return cols + ["wall_s"]


def _shared_cells(rec: StepRecord) -> dict[str, str]:
    """The cells every model's row of a step shares."""
    return {"step": str(rec.step), "epoch": repr(rec.epoch), "wall_s": repr(round(rec.wall_s, 6))}


def _values(rec: StepRecord, column: str) -> list | None:
    """A per-model column's values at this step (None: not logged at this step)."""
    return rec.extra.get(column) if column in EXTRA_COLUMNS else getattr(rec, column)


class _ReprCache(dict):
    """repr of floats that recur (accuracies are count / n >= 0: few distinct values, never -0.0), made once each."""

    def __missing__(self, value: float) -> str:
        if len(self) > 4096:  # values that do not recur: keep the cache small
            self.clear()
        text = self[value] = repr(value)
        return text


class _Column:
    """One per-model column's cells for a step. Formatting K floats costs most of a row; a column whose
    values did not change since the last step (the lr without a scheduler) reuses last step's cells."""

    def __init__(self, recurring: bool):
        self.last: tuple[list | None, list[str]] = (None, [])
        self.cache = _ReprCache() if recurring else None

    def cells(self, values: list | None, K: int):
        if values is None:
            return itertools.repeat("", K)
        if values == self.last[0] and 0.0 not in values:  # 0.0 == -0.0, but their reprs differ
            return self.last[1]
        if None in values:
            cells = ["" if v is None else repr(v) for v in values]
        else:  # repr: the shortest text that reads back exactly
            cells = list(map(self.cache.__getitem__ if self.cache is not None else repr, values))
        self.last = (values, cells)
        return cells


class GroupMetrics:
    """Appends each model's rows to its own metrics.csv and tracks its final and best values."""

    def __init__(self, paths: list[Path], columns: list[str], flush_every: int = 1, durable: bool = True,
                 background: bool = False):
        self.columns, self.durable = columns, durable
        K = len(paths)
        # A group buffers its rows and writes a block of steps per file at a time (see consume)
        self.block_size = flush_every if K > 1 else 0
        self.block: list[list[str | None]] = []
        opener = lambda p: CsvAppender(p, columns, flush_every if K == 1 else 10**9)  # noqa: E731
        # `background` (a group on an accelerator): the files are created while training starts, and rows
        # wait in the block until they exist
        self.opening = in_background(opener, paths) if background and K > 1 else None
        self.files = None if self.opening else in_parallel(opener, paths)
        self.last: list[StepRecord | None] = [None] * K  # the last record each model wrote a row from
        self.last_val: list[StepRecord | None] = [None] * K  # ... and the last with its validation values
        self.best_val: list[float | None] = [None] * K
        self.earlier: list[dict] = [{} for _ in range(K)]  # final values from rows kept by a resume
        self.wall_s = 0.0
        self.formats = {c: _Column(recurring=c.endswith("accuracy")) for c in columns}

    def seed(self, k: int, lines: list[str]) -> None:
        """Take the rows a resumed run keeps into account for final and best values."""
        index = {c: i for i, c in enumerate(self.columns)}
        for line in lines:
            cells = line.split(",")
            for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
                if name in index and index[name] < len(cells) and cells[index[name]]:
                    value = float(cells[index[name]])
                    self.earlier[k][f"final_{name}"] = value
                    if name == "val_loss" and math.isfinite(value) and (self.best_val[k] is None or value < self.best_val[k]):
                        self.best_val[k] = value

    def flush(self) -> None:
        self._write_block(wait=True)
        for f in self.files:
            f.flush()

    def _write_block(self, wait: bool = False) -> None:
        """Each file gets its rows of the buffered steps in one write: zip(*block) turns the steps' rows
        into each model's rows in C, where a write per model and step would cost K Python calls a step."""
        if self.files is None:
            if not (wait or self.opening.done()):
                return  # the files are still being created: the rows stay in the block
            self.files = self.opening.wait()
        block, self.block = self.block, []
        if not block:
            return
        for f, rows in zip(self.files, zip(*block)):
            text = "\n".join(filter(None, rows))  # None: that model wrote no row at that step
            if text:
                f.write_block(text + "\n")

    def _line_of_one(self, rec: StepRecord) -> str:
        """The row of a group of one: `gdlab train`'s per-step path, so one join and no per-column lists."""
        shared = _shared_cells(rec)
        cells = []
        for c in self.columns:
            if c in shared:
                cells.append(shared[c])
            else:
                values = _values(rec, c)
                cells.append("" if values is None or values[0] is None else repr(values[0]))
        return ",".join(cells)

    def consume(self, rec: StepRecord) -> None:
        if len(rec.emit) == 1:
            if rec.emit[0]:
                self.files[0].write_line(self._line_of_one(rec))
                self._keep(rec, [0])
            return
        emit = [k for k, e in enumerate(rec.emit) if e]
        if not emit:
            return
        K = len(rec.emit)
        shared = _shared_cells(rec)
        columns = [itertools.repeat(shared[c], K) if c in shared else self.formats[c].cells(_values(rec, c), K)
                   for c in self.columns]
        lines: list[str | None] = list(map(",".join, zip(*columns)))  # whole rows built by C loops, not cell by cell
        if len(emit) < K:
            quiet = set(range(K)).difference(emit)
            lines = [None if k in quiet else line for k, line in enumerate(lines)]
        self.block.append(lines)
        if len(self.block) >= self.block_size:
            self._write_block()
        self._keep(rec, emit)

    def _keep(self, rec: StepRecord, emit: list[int]) -> None:
        """Remember what the summaries report: the last row's values and the best validation loss."""
        for k in emit:
            self.last[k] = rec
        if rec.val_loss is not None:
            for k in emit:
                v = rec.val_loss[k]
                if v is not None:
                    self.last_val[k] = rec
                    if math.isfinite(v) and (self.best_val[k] is None or v < self.best_val[k]):
                        self.best_val[k] = v
        self.wall_s = rec.wall_s

    def summary_values(self, k: int) -> dict:
        last, val = self.last[k], self.last_val[k]

        def pick(rec, name):
            values = getattr(rec, name) if rec is not None else None
            return values[k] if values is not None else None

        out = dict(self.earlier[k])
        if last is not None:
            out.update(final_train_loss=pick(last, "train_loss"), final_train_accuracy=pick(last, "train_accuracy"))
        if val is not None:
            out.update(final_val_loss=pick(val, "val_loss"), final_val_accuracy=pick(val, "val_accuracy"))
        keys = ("final_train_loss", "final_val_loss", "best_val_loss", "final_train_accuracy", "final_val_accuracy")
        return {key: (self.best_val[k] if key == "best_val_loss" else out.get(key)) for key in keys}

    def close(self) -> None:
        """Write what is buffered, then flush and (if durable) fsync every file, in parallel: fsyncs wait on the disk."""
        try:
            self._write_block(wait=True)
        finally:
            if self.files is None:  # creating one failed: close the others
                self.files = [value for ok, value in self.opening.outcomes() if ok]
            in_parallel(lambda f: f.close(self.durable), self.files)
