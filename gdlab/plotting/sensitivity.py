"""The sensitivity panel of a sweep: final (and best) loss against the swept value, mean ± std over seeds
(the band's lower edge stops at the lowest seed where mean - std would reach zero or far below it),
one line per optimizer, a mean over only some of a setting's seeds hollow, diverged variants as ✕ on the
top edge, settings `--prune` stopped as ▽ on the bottom edge, the best value starred (by the CLI's rule: every seed finished first), and on an lr
axis the predicted stability edge (2 / init sharpness for GD; see stability.py) when the table has it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gdlab.plotting.output import finite, log_if_positive, note_if_empty, top_edge
from gdlab.plotting.seed_counts import Partial, draw_seed_counts
from gdlab.plotting.stability import draw_edge
from gdlab.plotting.sweep_looks import SweepLooks
from gdlab.sweep.rank import best_over_seeds, higher_is_better

LR = "optimizer.lr"
INSIDE = 5  # legend entries that fit inside the panel; more go beside it
FAR = 2.0  # how far below the lowest seed a band's lower edge may reach before it is clamped there
LOSSES = (("final_train_loss", "-", "final train loss"), ("best_val_loss", "--", "best val loss"))


def _name(value: float, categories: list[str] | None) -> str:
    return categories[int(value)] if categories else f"{value:.3g}"


def _split(table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(diverged, usable) row masks; failed or interrupted variants are neither and get a warning (pruned ones
    are marked apart: `_pruned`)."""
    status = table["status"].astype(str)  # exactly as written, as the ranking and `gdlab runs` read it
    diverged = status.eq("diverged")
    usable = status.eq("completed") & finite(table["final_train_loss"])
    return diverged, usable


def _pruned(table: pd.DataFrame) -> pd.Series:
    """The rows `gdlab sweep --prune` stopped at a rung: tried, with no final loss to compare."""
    return table["status"].astype(str).eq("pruned")


def _short(key: str) -> str:
    """`optimizer.lr` -> lr, but `optimizer.name` -> optimizer: "best name = Adam" says nothing."""
    parts = key.split(".")
    return parts[-2] if parts[-1] == "name" and len(parts) > 1 else parts[-1]


def draw_sensitivity(ax, table: pd.DataFrame, x: str, group: str | None, warnings: list[str],
                     categories: list[str] | None = None, rank_by: str | None = None,
                     looks: SweepLooks | None = None) -> list[np.ndarray]:
    """Draw one facet's sensitivity curves (returned: the means drawn); `x` holds numbers, or codes into `categories`.
    The star marks the best setting by `rank_by` (the sweep's --rank-by) when given, else by the loss drawn.
    A group's colour and dash are those `looks` gives it in the loss curves too; its final train loss is then
    told from its best val loss by a thinner line and its marker, not by a dash.

    Lines have gids `sensitivity:<group>:<column>`, `partial:<group>:<column>`, `diverged:<group>`, `best:<group>`
    and `stability_edge` (`stability_edge:<group>` with groups); k/n texts `seeds:<group>:<columns>` (seed_counts.py).
    """
    (diverged, usable), pruned = _split(table), _pruned(table)
    left_out = table.index[~diverged & ~usable & ~pruned]
    if len(left_out):
        warnings.append(
            f"sensitivity: left out {len(left_out)} variant(s) that neither completed with a final loss nor "
            f"diverged (run_dir {', '.join(str(table.at[i, 'run_dir']) for i in left_out[:5])})"
        )
    no_x = table.index[table[x].isna()]  # `null` (e.g. a full batch) has no place on a numeric axis
    if len(no_x):
        warnings.append(f"sensitivity: left out {len(no_x)} variant(s) whose {x} is null, which the x axis cannot "
                        f"place (run_dir {', '.join(str(table.at[i, 'run_dir']) for i in no_x[:5])}); their curves "
                        "are in the upper panel")
    groups = table.groupby(table[group].astype(str), sort=False) if group else [(None, table)]
    several = group is not None and table[group].astype(str).nunique() > 1  # a mark's colour then names a group
    plotted: list[np.ndarray] = []
    marked = {"diverged": False, "pruned": False, "partial": False, "band": False, "crossed": 0, "sunk": 0}  # legend entries drawn once, not per group
    partials: list[Partial] = []  # hollow points, labelled once all groups are drawn (their texts share space)
    for k, (name, sub) in enumerate(groups):
        # in sweep.csv's order, not this facet's: a facet without a group's first rows kept its colour
        color = looks.colour(name) if looks is not None and group else f"C{k % 10}"
        prefix = f"{name}: " if group else ""
        ran = sub.groupby(x).size()  # how many variants (seeds) each setting ran, whatever became of them
        best, drawn = None, {}
        for column, style, text in LOSSES:
            if column not in sub:
                continue
            rows = sub[usable.loc[sub.index] & finite(sub[column])]
            if rows.empty:
                continue
            stats = rows.groupby(x)[column].agg(["mean", "std", "count", "min"]).sort_index()
            stats["ran"] = ran.reindex(stats.index).to_numpy()
            # Categories have no order between them, so their points are not joined.
            grouped = looks is not None and group is not None
            dashed = looks.dash(name) if grouped else style  # the dash is the group's, as in the loss curves
            width = 0.8 if grouped and column == "final_train_loss" else 1.5
            partials += [Partial(name, color, column, *point) for point in _mean_line(
                ax, stats, color, "none" if categories else dashed, "o" if style == "-" else "s",
                prefix + text, f"{name}:{column}", marked, width)]
            plotted.append(stats["mean"].to_numpy())
            best = drawn[column] = stats  # val loss, when present, wins
        if best is not None and x != "seed":  # a best seed is luck, not a setting to pick
            pick = _stats(sub[usable.loc[sub.index]], x, rank_by, ran) if rank_by else best
            _star(ax, drawn.get(rank_by, best), pick, higher_is_better(rank_by or ""), color,
                  f"{prefix}best {_short(x)}", name, categories, k)
        _crosses(ax, sub.loc[diverged.loc[sub.index], x], color, name, marked, neutral=several)
        # a setting pruned at a rung has no final loss to compare: a mark on the bottom edge says it was tried
        _crosses(ax, sub.loc[pruned.loc[sub.index], x], color, name, marked, "pruned", several)
        if x == LR and "stability_edge" in sub:
            draw_edge(ax, sub, color if group else "k", "stability_edge" + (f":{name}" if group else ""), prefix)

    draw_seed_counts(ax, partials)
    log_if_positive(ax, plotted)
    # what an empty panel means: every variant diverged, or none has finished yet (a sweep still running)
    note_if_empty(ax, plotted, "no finite loss" if diverged.any() else "no finished variant yet")
    ax.set_ylabel("loss")
    entries = len(ax.get_legend_handles_labels()[0])
    if entries > INSIDE:  # beside the panel, where it covers none of the points it explains
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="x-small")
    elif entries:
        ax.legend(loc="best", fontsize="x-small")
    return plotted


def _mean_line(ax, stats: pd.DataFrame, color: str, style: str, marker: str, label: str, gid: str,
               marked: dict, width: float = 1.5) -> list[tuple[float, float, int, int]]:
    """The mean over seeds with its ± std band; a mean over fewer seeds than its setting ran (the others
    diverged or failed) is hollow, so a survivors-only mean does not pass for a full one. Returns the hollow
    points (x, y, k, n), whose k/n texts seed_counts.py draws."""
    xs, mean = stats.index.to_numpy(dtype=float), stats["mean"].to_numpy()
    ax.plot(xs, mean, ls=style, lw=width, marker=marker, ms=4, color=color, label=label, gid=f"sensitivity:{gid}")
    if (stats["count"] > 1).any():
        spread = stats["std"].fillna(0.0).to_numpy()
        # named once: a shaded band the legend does not explain reads as anything (a min-max? a CI?)
        ax.fill_between(xs, band_low(mean, spread, stats["min"].to_numpy()), mean + spread, color=color,
                        alpha=0.18, lw=0, gid=f"band:{gid}", label=None if marked["band"] else "± std over seeds")
        marked["band"] = True
    partial = (stats["count"] < stats["ran"]).to_numpy()
    if not partial.any():
        return []
    ax.plot(xs[partial], mean[partial], ls="none", marker=marker, ms=7, mfc="white", mec=color, zorder=4,
            gid=f"partial:{gid}", label=None if marked["partial"] else "mean of the seeds that finished (k/n)")
    marked["partial"] = True
    return [(float(x), float(y), int(k), int(n))
            for x, y, k, n in zip(xs[partial], mean[partial], stats["count"][partial], stats["ran"][partial])]


def band_low(mean: np.ndarray, spread: np.ndarray, lowest: np.ndarray) -> np.ndarray:
    """The band's lower edge: mean - std, unless that reaches zero (a log axis cannot draw it; a loss is
    never negative) or falls more than a factor FAR below the lowest seed, where it would stretch the axis
    over decades no seed reached; then the lowest seed's loss."""
    low = mean - spread
    return np.where((low <= 0) | (low < lowest / FAR), lowest, low)


def _stats(rows: pd.DataFrame, x: str, column: str, ran: pd.Series) -> pd.DataFrame | None:
    """Mean, count and seeds run of `column` per x, over the rows where it is finite (None: no such column)."""
    if column not in rows:
        return None
    rows = rows[finite(pd.to_numeric(rows[column], errors="coerce"))]
    stats = rows.groupby(x)[column].agg(["mean", "count"]).sort_index()
    stats["ran"] = ran.reindex(stats.index).to_numpy()
    return stats


def _star(ax, stats: pd.DataFrame, pick: pd.DataFrame | None, higher: bool, color: str, label: str, name, categories,
          k: int = 0) -> None:
    """The best setting by `gdlab sweep`'s rule over seeds (sweep/rank.py: every seed finished first), chosen
    from `pick` and drawn on the `stats` line. Each group's star is smaller and drawn above the one before,
    so two groups' stars on one point both show."""
    if pick is None or pick.empty:
        return
    key = best_over_seeds(zip(pick.index, pick["mean"], pick["count"], pick["ran"]), higher)
    if key is None or key not in stats.index:  # ranked by a value the drawn line lacks there: no point to mark
        return
    x, y = float(key), float(stats.loc[key, "mean"])
    ax.plot([x], [y], ls="none", marker="*", ms=max(7, 16 - 3 * k), color=color, mec="k", zorder=5 + k / 100,
            label=f"{label} = {_name(x, categories)}", gid=f"best:{name}")


def _crosses(ax, values: pd.Series, color: str, name, marked: dict, kind: str = "diverged", neutral=False) -> None:
    """A ✕ per diverged x, pinned to the top edge in axes units (a diverged loss has no value to place it at);
    `kind` "pruned": a ▽ per pruned x on the bottom edge. Each group's sit 6 points right of the one before's, on
    the edge (lower, a ✕ read as a loss; on top, SGD's ▽ hid Adam's). `neutral`: a dark grey legend entry."""
    from matplotlib.transforms import ScaledTranslation

    bad = np.unique(values.to_numpy(dtype=float))
    if not (bad := bad[np.isfinite(bad)]).size:
        return
    # the x range must reach them: a mark in axes units along y does not widen the data limits, so the
    # diverged lrs past the last finished one were drawn beyond the axis, among the legend entries
    ax.update_datalim(np.column_stack([bad, np.ones_like(bad)]), updatey=False)
    where, count = top_edge(ax), "crossed" if kind == "diverged" else "sunk"  # groups marked before this one
    if marked[count]:  # (the first keeps the plain blend: data x, axes y)
        where = where + ScaledTranslation(6 / 72 * marked[count], 0, ax.figure.dpi_scale_trans)
    y, marker = (np.ones_like(bad), "x") if kind == "diverged" else (np.zeros_like(bad), "v")
    look = dict(ls="none", marker=marker, ms=9, mew=2, mfc="none" if kind == "pruned" else None)
    ax.plot(bad, y, color=color, clip_on=False, transform=where, gid=f"{kind}:{name}",
            label=None if marked[kind] or neutral else kind, **look)
    if neutral and not marked[kind]:  # an entry for the legend alone, naming the shape, not the first group's colour
        ax.plot([], [], color="0.25", gid=f"{kind}:legend", label=kind, **look)
    marked[kind] = True
    marked[count] += 1
