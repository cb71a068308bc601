"""The sensitivity panel of a sweep: final (and best) loss against the swept value, mean ± std over seeds
(the band's lower edge stops at the lowest seed where mean - std would reach zero),
one line per optimizer, diverged variants as ✕ on the top edge, the best value starred, and on an lr
axis the predicted stability edge (2 / init sharpness for GD; see stability.py) when the table has it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gdlab.plotting.output import finite, log_if_positive, top_edge

LR = "optimizer.lr"
LOSSES = (("final_train_loss", "-", "final train loss"), ("best_val_loss", "--", "best val loss"))


def _name(value: float, categories: list[str] | None) -> str:
    return categories[int(value)] if categories else f"{value:.3g}"


def _split(table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(diverged, usable) row masks; failed or interrupted variants are neither and get a warning."""
    status = table["status"].str.lower()
    diverged = status.eq("diverged")
    usable = status.eq("completed") & finite(table["final_train_loss"])
    return diverged, usable


def draw_sensitivity(ax, table: pd.DataFrame, x: str, group: str | None, warnings: list[str],
                     categories: list[str] | None = None) -> None:
    """Draw one facet's sensitivity curves; `x` holds numbers, or codes into `categories` for a text axis.

    Lines have gids `sensitivity:<group>:<column>`, `diverged:<group>`, `best:<group>` and `stability_edge` (`stability_edge:<group>` with groups).
    """
    diverged, usable = _split(table)
    left_out = table.index[~diverged & ~usable]
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
    plotted: list[np.ndarray] = []
    marked_diverged = False
    for k, (name, sub) in enumerate(groups):
        color = f"C{k % 10}"
        prefix = f"{name}: " if group else ""
        best = None
        for column, style, text in LOSSES:
            if column not in sub:
                continue
            rows = sub[usable.loc[sub.index] & finite(sub[column])]
            if rows.empty:
                continue
            stats = rows.groupby(x)[column].agg(["mean", "std", "count", "min"]).sort_index()
            xs, mean = stats.index.to_numpy(dtype=float), stats["mean"].to_numpy()
            # Categories have no order between them, so their points are not joined.
            ax.plot(xs, mean, ls="none" if categories else style, marker="o" if style == "-" else "s", ms=4,
                    color=color, label=prefix + text, gid=f"sensitivity:{name}:{column}")
            plotted.append(mean)
            if (stats["count"] > 1).any():
                spread = stats["std"].fillna(0.0).to_numpy()
                # A loss is never negative, and a log axis cannot draw zero: where mean - std reaches
                # zero, the band stops at the lowest seed's loss instead of running off the axis.
                lower = np.where(mean - spread > 0, mean - spread, stats["min"].to_numpy())
                ax.fill_between(xs, lower, mean + spread, color=color, alpha=0.18, lw=0,
                                gid=f"band:{name}:{column}")
            best = (xs[int(np.argmin(mean))], float(mean.min()), column)  # val loss, when present, wins
        if best is not None:
            ax.plot([best[0]], [best[1]], ls="none", marker="*", ms=15, color=color, mec="k", zorder=5,
                    label=f"{prefix}best {x.rsplit('.', 1)[-1]} = {_name(best[0], categories)}", gid=f"best:{name}")
        bad = np.unique(sub.loc[diverged.loc[sub.index], x].to_numpy(dtype=float))
        bad = bad[np.isfinite(bad)]
        if bad.size:
            # Pinned to the top edge in axes units (a diverged loss has no value to place it at), each group a
            # little lower than the one before, so two optimizers diverging at one lr show two marks.
            ax.plot(bad, np.full_like(bad, 1.0 - 0.04 * k), ls="none", marker="x", ms=9, mew=2, color=color, clip_on=False,
                    transform=top_edge(ax), gid=f"diverged:{name}", label=None if marked_diverged else "diverged")
            marked_diverged = True
        edges = sub["stability_edge"].dropna() if x == LR and "stability_edge" in sub else ()
        if len(edges):  # one line per optimizer group: each has its own formula
            formula = sub.loc[edges.index, "stability_formula"].iloc[0]
            ax.axvline(float(edges.mean()), color=color if group else "k", ls="-.", lw=1,
                       gid="stability_edge" + (f":{name}" if group else ""),
                       label=f"{prefix}{formula} = {float(edges.mean()):.3g}")

    log_if_positive(ax, plotted)
    ax.set_ylabel("loss")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="x-small")
