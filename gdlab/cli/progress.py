"""The live progress bar and the end-of-run table: the only code that draws training on a terminal."""

from __future__ import annotations

import math

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


def fmt_number(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    return str(v)


class TrainProgress:
    """A rich bar fed with step records: live train/val loss; refreshes at rich's own pace."""

    def __init__(self, console: Console, label: str):
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[losses]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=False,
        )
        self.label = label
        self.task = None
        self.val = None

    def start(self, total: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task(self.label, total=total, losses="")

    def __call__(self, rec) -> None:
        if rec.val_loss is not None and rec.val_loss[0] is not None:
            self.val = rec.val_loss[0]
        text = f"loss {fmt_number(rec.train_loss[0])}" + (f"  val {fmt_number(self.val)}" if self.val is not None else "")
        self.progress.update(self.task, completed=rec.step, losses=text)

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()


def summary_table(summary: dict, extra: list[tuple[str, str]] = ()) -> Table:
    """The end-of-run table: summary.json's headline numbers, then `extra` (name, text) rows."""
    table = Table(title=f"{summary['name']}: {summary['status']}", show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    for key in ("steps", "final_train_loss", "final_val_loss", "best_val_loss", "final_val_accuracy",
                "diverged_at_step", "stopped_early_at_step", "restored_best_from_step", "wall_s", "steps_per_s", "device"):
        if summary.get(key) is not None:
            table.add_row(key, fmt_number(summary[key]))
    for key, text in extra:
        table.add_row(key, text)
    return table
