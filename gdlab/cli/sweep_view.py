"""How a sweep looks on a terminal while it runs: the grid (--dry-run), the plan's notes, the overall bar
and a line per finished variant; the ranking at its end is sweep_ranking.py's."""

from __future__ import annotations

import sys

from rich.console import Group
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from gdlab.cli.progress import fmt_number
from gdlab.sweep.sampling import SAMPLER_LABELS
from gdlab.yamldump import format_value

STATUS_STYLE = {"completed": "green", "diverged": "yellow", "failed": "red", "interrupted": "magenta", "skipped": "dim",
                "pruned": "cyan"}


def grid_table(setup, groups, title: str | None = None, prune: dict | None = None) -> Group:
    """The variants of `groups` (all of the sweep, or what a resume would rerun) and their batched groups; `prune`:
    the rungs of `--prune halving`, said under the title."""
    group_of = {p.index: g for g, members in enumerate(groups) for p in members}
    n = sum(map(len, groups))
    # the title above the table, not its Table title: rich wraps that to the table's width, even piped
    heading = Text(title or f"{n} variants in {len(groups)} batched group(s) — nothing run (--dry-run)")
    if setup.sampling:  # where the values came from, and how to draw the same ones again
        draws = ", ".join(f"{k} ~ {text}" for k, text in setup.sampling["draws"].items())
        rounded = any(str(t).startswith(("loguniform", "uniform")) for t in setup.sampling["draws"].values())
        kind = SAMPLER_LABELS.get(setup.sampling.get("sampler") or "random", "random")
        heading.append(f"\n{kind} search: {setup.sampling['samples']} joint draws of {draws} (--sample-seed "
                       f"{setup.sampling['seed']})" + (", values rounded to 4 significant digits" if rounded else ""))
    if prune:
        from gdlab.sweep.prune_plan import rungs_line

        heading.append("\n" + rungs_line(prune, setup.axes))
    table = Table()
    table.add_column("#", justify="right")
    for axis in setup.axes:
        table.add_column(axis)
    table.add_column("group", justify="right")
    table.add_column("folder", style="dim")
    for p in setup.plans:
        if p.index not in group_of:
            continue
        table.add_row(str(p.index), *[escape(format_value(p.point[a])) for a in setup.axes], str(group_of[p.index]), p.dir_name)
    return Group(heading, table)


class SweepProgress:
    """The overall bar, in variants: finished ones, plus the running groups' share of their steps, so
    the bar moves while one batched group trains all the variants (and never moves back)."""

    def __init__(self, console, total: int, already: int):
        self.progress = Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console)
        self.task = self.progress.add_task("sweep", total=total, completed=already)
        self.finished = already
        self.running: dict[frozenset, float] = {}  # a running group's variants -> the fraction of its steps done
        self.done_in: dict[frozenset, int] = {}  # ... and how many of them have finished

    def start(self):
        self.progress.start()

    def group_progress(self, indices, step: int, total_steps: int) -> None:
        self.running[frozenset(indices)] = step / max(total_steps, 1)
        self._show()

    def variant_done(self, index: int) -> None:
        self.finished += 1
        for key in [k for k in self.running if index in k]:
            self.done_in[key] = self.done_in.get(key, 0) + 1
            if self.done_in[key] >= len(key):
                del self.running[key], self.done_in[key]
        self._show()

    def _show(self) -> None:
        # a finished variant counts 1; the rest of a running group counts its fraction of steps each
        share = sum(f * (len(k) - self.done_in.get(k, 0)) for k, f in self.running.items())
        self.progress.update(self.task, completed=self.finished + share)

    def stop(self):
        self.progress.stop()


def result_line(plan, s: dict) -> Text:
    """A finished variant's line; an error's text is shown as it is (`[enforce fail at ...]` is no markup)."""
    status = s.get("status", "?")
    detail = f"loss {fmt_number(s.get('final_train_loss'))}"
    if s.get("best_val_loss") is not None:
        detail += f"  best val {fmt_number(s.get('best_val_loss'))}"
    if s.get("stopped_early_at_step") is not None:
        detail += f"  stopped early at step {s['stopped_early_at_step']}"
    if status == "diverged":
        detail = f"at step {s.get('diverged_at_step')}"
    if status == "pruned":  # its scores are a run's cut short at a rung
        detail += f"  pruned at step {s.get('pruned_at_step')}"
    if status == "failed":
        detail = str(s.get("error") or "")[:160]
    return Text.assemble((f"{status:>11}", STATUS_STYLE.get(status, "white")), f"  {plan.dir_name}  {detail}")


def note_plan(setup, forced_groups: list | None = None, datasets: dict | None = None) -> None:
    """The sweep plan's notes on stderr: values a kind switch reset, keys dropped where a swept kind lacks them,
    (`forced_groups`: the groups of a `--vectorize on` sweep) a batching asked for that nothing does, and
    (`datasets`: each variant's, from preflight) a ReduceLROnPlateau patience its run cannot use, once each."""
    if forced_groups and len(setup.plans) > 1 and all(len(g) == 1 for g in forced_groups):
        sys.stderr.write("gdlab: note: --vectorize on, but every group holds one model (--max-group, or --jobs "
                         "splitting the groups): nothing is batched\n")
    for note in setup.notes:
        sys.stderr.write(f"gdlab: note: {note}\n")
    for note in dict.fromkeys(n for p in setup.plans for n in p.reset):  # once per kind the axis switches to
        sys.stderr.write(f"gdlab: note: {note}\n")
    dropped = sorted({d for p in setup.plans for d in p.dropped})
    if dropped:
        it = "them" if len(dropped) > 1 else "it"
        sys.stderr.write(f"gdlab: note: {', '.join(dropped)} dropped where the swept kind does not take {it}\n")
    if datasets:
        from gdlab.engine.batches import plateau_note

        notes = {p.index: plateau_note(p.cfg, datasets[p.index].x_train.shape[0]) for p in setup.plans}
        for note in dict.fromkeys(n for n in notes.values() if n):
            whose = [p for p in setup.plans if notes[p.index] == note]
            named = "" if len(whose) == len(setup.plans) else whose[0].named + \
                (f" and {len(whose) - 1} more" if len(whose) > 1 else "") + ": "
            sys.stderr.write(f"gdlab: note: {named}{note}\n")
