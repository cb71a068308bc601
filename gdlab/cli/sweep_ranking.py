"""A finished sweep's ranking on the terminal: the variants by their score, the mean ± std over seeds when
seed is an axis, and the best lines. Notes under a table are lines of their own, not its caption: rich wraps
a caption at the table's width, even in a log."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from gdlab.cli.progress import fmt_number
from gdlab.cli.sweep_view import STATUS_STYLE
from gdlab.sweep.rank import (Aggregate, aggregate_over_seeds, best_setting, higher_is_better, problem_axes,
                              problem_parts, rank_rows, score_metric, several_seeds)
from gdlab.yamldump import format_value

SHOW_ALL_UP_TO, SHOW_TOP = 30, 20  # a 1,024-variant sweep's ranking is read from its top; sweep.csv has all


def _shown(n: int) -> int:
    return n if n <= SHOW_ALL_UP_TO else SHOW_TOP


def _with_notes(table: Table, notes: list[str], n: int) -> list:
    """The table, then its notes as a line each (Text, printed unwrapped), and for a table cut to its top
    rows how many there are and where the rest are."""
    if n > SHOW_ALL_UP_TO:
        notes = [*notes, f"the best {SHOW_TOP} of {n}; every variant is in sweep.csv"]
    return [table, *[Text(note, style="table.caption") for note in notes]]


def ranking_tables(rows: list[dict], axes: list[str], rank_by: str | None = None, default: str | None = None) -> list:
    """The ranking and the mean ± std over seeds when seed is an axis (Tables, each followed by its notes), and
    the best lines (Text; sweep/rank.py); `default`: the score the configs call for when no --rank-by was given."""
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
    varied = problem_axes(rows, axes)
    notes = [f"{', '.join(varied)} changes the loss or the data itself: {metric} values across its values are "
             "not comparable, so compare ranks within each"] if varied else []
    ranked = rank_rows(rows, rank_by, default)
    for i, r in enumerate(ranked[:_shown(len(ranked))], 1):
        style = "bold green" if i == 1 and r["status"] == "completed" else STATUS_STYLE.get(r["status"], "")
        table.add_row(str(i), *[escape(format_value(r[a])) for a in axes], r["status"], fmt_number(r.get(metric)),
                      fmt_number(r.get("diverged_at_step")), fmt_number(r.get("steps")),
                      *[fmt_number(r.get(c)) for c in sharp], style=style if i == 1 else None)
    tables += _with_notes(table, notes, len(ranked))
    if several_seeds(rows, axes):
        agg = Table(title=f"over seeds: {metric} mean ± std")
        others = [a for a in axes if a != "seed"]
        for a in others:
            agg.add_column(a)
        agg.add_column("mean ± std", justify="right")
        agg.add_column("ok/seeds", justify="right")
        agg.add_column("statuses")
        points = aggregate_over_seeds(rows, axes, rank_by, default)
        pruned_notes = []
        for a in points[: _shown(len(points))]:
            value = "-" if a.mean is None else _mean_std(a) + ("" if a.metric == metric else f" ({a.metric})")
            if a.mean is None and a.pruned_at and a.pruned_mean is not None:  # why the rung stopped it
                value = f"({a.pruned_mean:.4g})"
                pruned_notes = [f"(…): the seeds' mean {metric} where --prune stopped them, not at the run's end"]
            agg.add_row(*[escape(format_value(a.point[o])) for o in others], value, f"{a.n_ok}/{a.n}",
                        ", ".join(f"{k} {v}" + (f" at step {a.pruned_at}" if k == "pruned" and a.pruned_at else "")
                                  for k, v in a.statuses.items()))  # a setting's seeds are pruned at one rung
        tables += _with_notes(agg, pruned_notes, len(points))
    tables += _best_lines(rows, ranked, axes, metric, rank_by, default)
    return tables


def _mean_std(a: Aggregate) -> str:
    return f"{a.mean:.4g}" + (f" ± {a.std:.2g}" if a.std is not None else "")  # one seed: no "± 0"


def _best_lines(rows: list[dict], ranked: list[dict], axes: list[str], metric: str, rank_by: str | None,
                default: str | None) -> list[Text]:
    """The best variant; with several seeds, the best setting by its mean over seeds comes first, since
    one lucky seed is not a better learning rate. Axes that change the problem (data, loss) get a best of
    each of their values: a best across them is the easiest problem's. Text, to print unwrapped for grep."""
    parts = problem_parts(rows, axes)
    if parts is None:
        return _best_of(rows, ranked, axes, metric, rank_by, default)
    lines: list[Text] = []
    for apart, where, part in parts:
        mine = {id(r) for r in part}
        lines += _best_of(part, [r for r in ranked if id(r) in mine], axes, metric, rank_by, default, f" ({where})", apart)
    return lines


def _best_of(rows: list[dict], ranked: list[dict], axes: list[str], metric: str, rank_by: str | None,
             default: str | None, where: str = "", said: list[str] = ()) -> list[Text]:
    """_best_lines' lines for `rows` (ranked as `ranked`), `where` naming the problem they share (the axes `said`)."""
    lines: list[Text] = []
    label = lambda point, keys: ", ".join(f"{a}={format_value(point[a])}" for a in keys if a not in said) or "(the base config)"  # noqa: E731
    if several_seeds(rows, axes):
        # a validation score where there is one, then every seed finished before a partial mean
        a = best_setting(rows, axes, rank_by, default)
        if a is not None:
            others = [x for x in axes if x != "seed"]
            lines.append(Text(f"best over seeds{where}: {label(a.point, others)}  ({a.metric} {_mean_std(a)}, "
                              f"{a.n_ok}/{a.n} seeds)"))
    # never a diverged variant; with none completed, the best interrupted one, named as the partial result it is
    best = next((r for r in ranked if r["status"] == "completed"), None)
    partial = None if best else next((r for r in ranked if r["status"] == "interrupted" and r.get("steps")), None)
    if best or partial:
        r = best or partial
        what = "best single run" if lines else "best"
        what += "" if best else f" so far (interrupted at step {r['steps']}, a partial run)"
        lines.append(Text(f"{what}{where}: {label(r, axes)}  ({metric} {fmt_number(r.get(metric))})  {r['run_dir']}"))
    return lines
