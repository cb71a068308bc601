"""How a sweep looks on a terminal: the grid (--dry-run), the overall bar, a line per finished
variant, and the ranking (aggregated over seeds when seed is an axis)."""

from __future__ import annotations

import sys

from rich.console import Group
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from gdlab.cli.progress import fmt_number
from gdlab.sweep.rank import Aggregate, aggregate_over_seeds, best_over_seeds, higher_is_better, rank_rows, score_metric
from gdlab.sweep.sampling import SAMPLER_LABELS
from gdlab.yamldump import format_value

STATUS_STYLE = {"completed": "green", "diverged": "yellow", "failed": "red", "interrupted": "magenta", "skipped": "dim"}


def grid_table(setup, groups, title: str | None = None) -> Group:
    """The variants of `groups` (all of the sweep, or what a resume would rerun) and their batched groups."""
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
    if status == "failed":
        detail = str(s.get("error") or "")[:160]
    return Text.assemble((f"{status:>11}", STATUS_STYLE.get(status, "white")), f"  {plan.dir_name}  {detail}")


SHOW_ALL_UP_TO, SHOW_TOP = 30, 20  # a 1,024-variant sweep's ranking is read from its top; sweep.csv has all


def _shown(n: int) -> int:
    return n if n <= SHOW_ALL_UP_TO else SHOW_TOP


def _cap(table: Table, n: int) -> None:
    """Say under a table cut to its top rows how many there are, and where the rest are."""
    if n > SHOW_ALL_UP_TO:
        cut = f"the best {SHOW_TOP} of {n}; every variant is in sweep.csv"
        table.caption = f"{table.caption}\n{cut}" if table.caption else cut


def ranking_tables(rows: list[dict], axes: list[str], rank_by: str | None = None, default: str | None = None) -> list:
    """The ranking, the mean ± std over seeds when seed is an axis (Tables), and the best lines (Text; see
    sweep/rank.py); `default`: the score the variants' configs call for when no --rank-by was given."""
    metric = score_metric(rows, rank_by, default)
    tables = []
    table = Table(title=f"ranking by {metric} ({'higher' if higher_is_better(metric) else 'lower'} is better)")
    table.add_column("rank", justify="right")
    for a in axes:
        table.add_column(a)
    # with --sharpness, each variant's init sharpness and the lr past which a quadratic that curved would diverge ('-': Adam)
    sharp = ["init_sharpness", "stability_edge"] if any(r.get("init_sharpness") is not None for r in rows) else []
    for c in ("status", metric, "diverged_at_step", "steps", *sharp):
        table.add_column(c, justify="right")
    # an axis under `loss` changes what the score measures (MSE vs cross-entropy, label smoothing), one under
    # `data` the problem itself (less noise is always easier)
    varied = [a for a in axes if a.split(".")[0] in ("loss", "data") and len({repr(r[a]) for r in rows}) > 1]
    if varied:
        table.caption = (f"{', '.join(varied)} changes the loss or the data itself: {metric} values across its "
                         "values are not comparable, so compare ranks within each")
    ranked = rank_rows(rows, rank_by, default)
    _cap(table, len(ranked))
    for i, r in enumerate(ranked[:_shown(len(ranked))], 1):
        style = "bold green" if i == 1 and r["status"] == "completed" else STATUS_STYLE.get(r["status"], "")
        table.add_row(str(i), *[escape(format_value(r[a])) for a in axes], r["status"], fmt_number(r.get(metric)),
                      fmt_number(r.get("diverged_at_step")), fmt_number(r.get("steps")),
                      *[fmt_number(r.get(c)) for c in sharp], style=style if i == 1 else None)
    tables.append(table)
    if "seed" in axes and len({repr(r["seed"]) for r in rows}) > 1:
        agg = Table(title=f"over seeds: {metric} mean ± std")
        others = [a for a in axes if a != "seed"]
        for a in others:
            agg.add_column(a)
        agg.add_column("mean ± std", justify="right")
        agg.add_column("ok/seeds", justify="right")
        agg.add_column("statuses")
        points = aggregate_over_seeds(rows, axes, rank_by, default)
        _cap(agg, len(points))
        for a in points[: _shown(len(points))]:
            value = "-" if a.mean is None else _mean_std(a) + ("" if a.metric == metric else f" ({a.metric})")
            agg.add_row(*[escape(format_value(a.point[o])) for o in others], value, f"{a.n_ok}/{a.n}",
                        ", ".join(f"{k} {v}" for k, v in a.statuses.items()))
        tables.append(agg)
    tables += _best_lines(rows, ranked, axes, metric, rank_by, default)
    return tables


def _mean_std(a: Aggregate) -> str:
    return f"{a.mean:.4g}" + (f" ± {a.std:.2g}" if a.std is not None else "")  # one seed: no "± 0"


def _best_lines(rows: list[dict], ranked: list[dict], axes: list[str], metric: str, rank_by: str | None,
                default: str | None) -> list[Text]:
    """The best variant; with several seeds, the best setting by its mean over seeds comes first, since
    one lucky seed is not a better learning rate. Text, not markup: to print unwrapped (soft_wrap) for grep."""
    lines: list[Text] = []
    label = lambda point, keys: ", ".join(f"{a}={format_value(point[a])}" for a in keys) or "(the base config)"  # noqa: E731
    if "seed" in axes and len({repr(r["seed"]) for r in rows}) > 1:
        aggs = [a for a in aggregate_over_seeds(rows, axes, rank_by, default) if a.mean is not None]
        aggs = [a for a in aggs if a.metric == metric] or aggs  # a validation score where there is one
        # every seed finished beats a partial mean
        a = best_over_seeds(((a, a.mean, a.n_ok, a.n) for a in aggs), higher_is_better(metric))
        if a is not None:
            others = [x for x in axes if x != "seed"]
            lines.append(Text(f"best over seeds: {label(a.point, others)}  ({a.metric} {_mean_std(a)}, "
                              f"{a.n_ok}/{a.n} seeds)"))
    # never a diverged variant; with none completed, the best interrupted one, named as the partial result it is
    best = next((r for r in ranked if r["status"] == "completed"), None)
    partial = None if best else next((r for r in ranked if r["status"] == "interrupted" and r.get("steps")), None)
    if best or partial:
        r = best or partial
        what = "best single run" if lines else "best"
        what += "" if best else f" so far (interrupted at step {r['steps']}, a partial run)"
        lines.append(Text(f"{what}: {label(r, axes)}  ({metric} {fmt_number(r.get(metric))})  {r['run_dir']}"))
    return lines


def note_plan(setup, forced_groups: list | None = None) -> None:
    """The sweep plan's notes on stderr: values a kind switch reset, keys dropped where a swept kind lacks them,
    and (`forced_groups`: the groups of a `--vectorize on` sweep) a batching asked for that nothing does."""
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
