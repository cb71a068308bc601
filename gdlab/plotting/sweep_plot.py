"""A sweep's figure: per facet (one per combination of the axes that are not lr, seed or optimizer),
the loss curves coloured by learning rate over the sensitivity panel; each optimizer one colour and dash in both
(sweep_looks.py)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from gdlab.plotting.load import SweepData, diverged_step
from gdlab.plotting.labels import figure_title
from gdlab.plotting.output import diverged_mark, finite, log_if_positive, new_figure, note_if_empty
from gdlab.plotting.rise_cap import cap_rise
from gdlab.plotting.sensitivity import draw_sensitivity
from gdlab.plotting.value_ticks import colour_bar, label_swept_values
from gdlab.plotting.stability import edges_of, tick_edges_beyond
from gdlab.plotting.sweep_looks import SweepLooks, sweep_looks
from gdlab.plotting.x_axis import curve_points, label_x, runs_with_x
from gdlab.sweep.rank import RANKABLE

LR, SEED, OPTIMIZER = "optimizer.lr", "seed", "optimizer.name"
MAX_FACETS = 6


def stored_rank_by(sweep_yaml: dict) -> str | None:
    """The --rank-by a sweep.yaml recorded (None: the default score, or a hand edit that is no score)."""
    options = sweep_yaml.get("options") if isinstance(sweep_yaml.get("options"), dict) else {}
    return options.get("rank_by") if options.get("rank_by") in RANKABLE else None


def roles(table: pd.DataFrame, axes: list[str]) -> tuple[str | None, str | None, list[str]]:
    """(x, group, facets): x is lr when swept, else the first numeric then any non-seed axis, else seed;
    group is optimizer.name; seeds are averaged over; every other axis gets its own facet."""
    numeric = [a for a in axes if a != SEED and table[a].dtype != object]
    others = [a for a in axes if a != SEED]
    x = LR if LR in numeric else (numeric or others or [a for a in axes if a == SEED] or [None])[0]
    group = OPTIMIZER if OPTIMIZER in axes and OPTIMIZER != x else None
    facets = [a for a in axes if a not in (x, group, SEED)]
    return x, group, facets


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def _curves(ax, sweep: SweepData, facet: pd.DataFrame, coloured: str | None, group: str | None, looks: SweepLooks,
            ticks: list[str] | None, along: str = "step", lacking: frozenset = frozenset()) -> tuple[list, list, list]:
    """Draw each variant's train loss against `along` (the metrics.csv column step or epoch), coloured by the
    swept `coloured` axis and dashed by its `group` as `looks` says; gid `curve:<row>` ties a line to its sweep.csv row.
    Returns the values drawn, those of the variants that did not diverge, and the ✕ of those that did, for
    cap_rise once every facet of the row is drawn. `lacking`: the rows whose metrics.csv has no `along` column."""
    from matplotlib.lines import Line2D

    drawn, calm, marks = [], [], []
    for position, (index, row) in enumerate(facet.iterrows()):
        run = sweep.runs.get(index)
        if run is None:
            continue
        frame = run.metrics
        xs, ys = curve_points(frame, "train_loss", along)  # NaN where it was NaN/inf mid-run: a gap in the line
        value, name = row[coloured] if coloured else math.nan, row[group] if group else None
        # a text axis's categories are named in the legend
        label = f"{coloured}={ticks[int(value)]}" if ticks is not None and np.isfinite(value) else None
        if looks.norm is not None and np.isfinite(value):
            color = looks.shade(value, name)
        elif label is not None:  # ungrouped, a category's own colour
            color = f"C{int(value) % 10}"
        else:
            color = looks.colour(name) if group else f"C{position % 10}"
        (line,) = ax.plot(xs, ys, lw=1.1, alpha=0.85, color=color, ls=looks.dash(name), gid=f"curve:{index}",
                          label=label)
        drawn.append(line.get_ydata())
        step = diverged_step(frame, run.summary)
        if step is not None:  # the ✕ that `plot RUN` and `compare` draw: a rising curve alone does not say it
            marks.append(diverged_mark(ax, frame, along, step, xs, ys, color, f"curve_diverged:{index}"))
        else:
            calm.append(line.get_ydata())
    log_if_positive(ax, drawn)
    label_x(ax, along)
    # nothing finite (every variant diverged at step 1), or no curve at all: their metrics.csv lacks the x
    # column (read, so "could not be read" misled), or is missing
    if drawn:
        empty = "no finite loss"
    elif lacking & set(facet.index):
        empty = f"no {along} column in any variant's metrics.csv;\nuse --x step"
    else:
        empty = "no variant's metrics.csv could be read"
    if note_if_empty(ax, drawn, empty):
        ax.set_xticks([])
    ax.set_ylabel("train loss")
    handles, labels = ax.get_legend_handles_labels()
    named = dict(zip(labels, handles))  # one entry per category, not per seed
    if looks.groups and named:  # grouped, a category is a shade of every group's colour: its entry, in grey
        named = {text: Line2D([], [], color=looks.bar_cmap()(looks.norm(ticks.index(text.split("=", 1)[1]))))
                 for text in named}
    # each group's entry shows its colour and dash, as the sensitivity panel (and a search's slices) draw it
    handles = list(named.values()) + [Line2D([], [], color=looks.colour(g), ls=looks.dash(g)) for g in looks.groups]
    labels = list(named) + [f"{group}={g}" for g in looks.groups]
    if marks:
        handles.append(Line2D([], [], ls="none", marker="X", color="k"))
        labels.append("diverged")
    if handles and len(handles) <= 12:
        ax.legend(handles, labels, fontsize="x-small", loc="best")
    return drawn, calm, marks


# The colour bar's gap and width, in fractions of the panel's width (a facet is always 4.8 inches wide)
BAR_PAD, BAR_WIDTH = 0.03, 0.04


def _colour_bar(fig, ax, norm, cmap, label: str):
    """The lr colour bar just right of the top row's last panel. An inset of that panel, not a constrained-layout
    colour bar: that one goes right of the whole column's margin, which the sensitivity panel's legend beside it
    widens, so it sat an inch or more away from the curves it colours."""
    cax = ax.inset_axes([1 + BAR_PAD, 0.0, BAR_WIDTH, 1.0], label="<colorbar>")
    return colour_bar(fig, norm, cmap, label, cax=cax)


def plot_sweep(sweep: SweepData, warnings: list[str], title: str | None = None, along: str = "step"):
    """Draw the sweep, its loss curves against `along` (step or epoch); the curves row is `fig.axes` top row,
    the sensitivity row below it."""
    table = sweep.table
    x, group, facet_keys = roles(table, sweep.axes)
    table = table.copy()
    base = sweep.config or {}
    table["stability_edge"], table["stability_formula"] = edges_of(
        table, base.get("base") if isinstance(base.get("base"), dict) else base,
        {i: run.config for i, run in sweep.runs.items()})
    rank_by = stored_rank_by(base)  # the star follows --rank-by
    ticks = None
    if x is not None and (table[x].dtype == object or x == SEED):
        # A text axis (e.g. optimizer.name alone) becomes positions 0..n-1 with the names as tick labels; so
        # do seeds swept alone: replicas, not a setting on a scale (no colour bar, no line joining them)
        ticks = list(pd.unique(table[x].map(_fmt)))
        table[x] = table[x].map(_fmt).map({v: float(i) for i, v in enumerate(ticks)})
    facets = list(table.groupby([table[k].map(_fmt) for k in facet_keys], sort=False)) if facet_keys else [((), table)]
    if len(facets) > MAX_FACETS:
        warnings.append(f"{sweep.path}: {len(facets)} facets ({', '.join(facet_keys)}); drawing the first {MAX_FACETS}")
        facets = facets[:MAX_FACETS]

    # grouped, a text axis is shaded too: in the group's own colour, which the sensitivity panel gives it
    looks = sweep_looks(table, x if x and (ticks is None or group) else None, group)
    curves = replace(sweep, runs=runs_with_x(sweep.runs, along, warnings))  # the variants drawn against `along`
    rows = 1 if x is None else 2  # with no axis (a sweep of one) there is nothing to plot the loss against
    fig = new_figure(4.8 * len(facets) + 1.4, 4.4 * rows - 0.8 * (rows - 1))
    # Each row plots one quantity in every facet (train loss above, final losses below): one y axis, so that
    # facets compare by eye, with the scale and limits taken from all of them (each panel chose its own).
    grid = fig.subplots(rows, len(facets), squeeze=False, sharey="row")
    drawn: list[list] = [[] for _ in range(rows)]
    calm, marks = [], []  # the curves row's, over every facet
    for column, (key, facet) in enumerate(facets):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{k}={v}" for k, v in zip(facet_keys, key))
        values, facet_calm, facet_marks = _curves(grid[0, column], curves, facet, x, group, looks, ticks, along,
                                                  frozenset(sweep.runs) - frozenset(curves.runs))
        drawn[0], calm, marks = drawn[0] + values, calm + facet_calm, marks + facet_marks
        grid[0, column].set_title(label or "loss curves", fontsize="medium")
        if x is None:
            continue
        low = grid[1, column]
        drawn[1] += draw_sensitivity(low, facet, x, group, warnings, ticks, rank_by, looks)
        low.set_xlabel(x)
        if ticks is not None:
            low.set_xticks(range(len(ticks)), ticks)
        else:
            if log_if_positive(low, [table[x].to_numpy(dtype=float)], axis="x"):
                label_swept_values(low, table[x].to_numpy(dtype=float))
                tick_edges_beyond(low, table[x].to_numpy(dtype=float))
    for row, values in zip(grid, drawn):  # a panel with nothing finite (all diverged) cleared the row's ticks
        if len(row) > 1 and any(finite(v).any() for v in values):
            log_if_positive(row[0], values)  # the scale's own ticks again, and limits over every panel
    # after the row's limits: a facet's own cut would have set them all from its calm curves alone
    cap_rise(grid[0, 0], calm, marks)
    if looks.norm is not None and ticks is None:
        _colour_bar(fig, grid[0, -1], looks.norm, looks.bar_cmap(), x)
    name = (sweep.config or {}).get("name") or sweep.path.parent.name
    count = len(sweep.table)
    figure_title(fig, title or f"{name} — {sweep.path.name} ({count} variant{'' if count == 1 else 's'})")
    return fig
