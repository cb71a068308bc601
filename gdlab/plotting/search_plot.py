"""A random search's figure: every variant's loss curve above one slice panel per drawn axis (Optuna's
slice plot): each draw's score, mean ± std over seeds, against that axis's value. Draws are not joined,
since neighbours on one axis differ in the others."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from gdlab.plotting.labels import figure_title
from gdlab.plotting.output import log_if_positive, new_figure, note_if_empty, top_edge
from gdlab.plotting.rise_cap import cap_rise
from gdlab.plotting.sensitivity import band_low
from gdlab.plotting.value_ticks import colour_bar, label_swept_values
from gdlab.plotting.sweep_looks import SweepLooks, group_legend, sweep_looks
from gdlab.plotting.sweep_plot import SEED, _curves, stored_rank_by
from gdlab.plotting.x_axis import runs_with_x
from gdlab.sweep.rank import aggregate_over_seeds, score_metric
from gdlab.sweep.sampling import SAMPLER_LABELS


def _rows(table: pd.DataFrame) -> list[dict]:
    """sweep.csv's rows as the ranking reads them: an empty cell is None, not NaN."""
    return table.astype(object).where(table.notna(), None).to_dict("records")


def _slice(ax, aggs: list, key: str, text: str, choices: list[str] | None, group: str | None, metric: str,
           label: str, looks: SweepLooks) -> None:
    """One drawn (or swept) axis: a point per setting (hollow where some seeds did not finish), ✕ on the top
    edge for one with no finite score that diverged, the best starred (by the ranking's rule). `choices`: a
    text axis's values in order (None: a number axis); `text`: the distribution searched (""  for a grid)."""
    categorical = choices is not None
    # the values in the order written, then any the table has beyond them (a hand-edited sweep.yaml)
    names = list(dict.fromkeys(list(choices or []) + [str(a.point[key]) for a in aggs])) if categorical else []
    position = (lambda v: float(names.index(str(v)))) if categorical else float
    drawn, named, xs = [], set(), []
    for a in aggs:
        if a.point[key] is None:  # a grid's null (a full batch): no place on this axis; the curves show it
            continue
        colour = looks.colour(a.point[group]) if group else "C0"  # as the loss curves colour it, not by rank
        entry = f"{group}={a.point[group]}" if group and str(a.point[group]) not in named else None
        x = position(a.point[key])
        xs.append(x)
        if a.mean is None:
            if a.statuses.get("diverged"):
                ax.plot([x], [1.0], ls="none", marker="x", ms=8, mew=2, color=colour, clip_on=False,
                        transform=top_edge(ax), gid=f"diverged:{key}")
            continue
        drawn.append(a.mean)
        below, above = (0.0, 0.0) if a.std is None else (_below(a), a.std)
        ax.errorbar([x], [a.mean], yerr=[[below], [above]], ls="none", marker="o", ms=5, color=colour,
                    mfc=colour if a.n_ok == a.n else "white", elinewidth=0.8, gid=f"draw:{key}", label=entry)
        _seen_by_legend(ax, x, a.mean - below, a.mean + above)
        named.add(str(a.point[group]) if group else "")
    best = next((a for a in aggs if a.mean is not None), None)  # aggregate_over_seeds puts the best first
    if best is not None and best.point[key] is not None:
        ax.plot([position(best.point[key])], [best.mean], ls="none", marker="*", ms=15, color="gold", mec="k",
                zorder=5, gid=f"best:{key}", label=_best_label(key, best.point[key], metric, best.mean))
        group_legend(ax, group, looks)
    if categorical:
        ax.set_xticks(range(len(names)), names)
        ax.set_xlim(-0.5, len(names) - 0.5)
    elif text:
        _searched_range(ax, text)
    elif xs and min(xs) > 0 and max(xs) >= 10 * min(xs):
        ax.set_xscale("log")  # a grid's values spanning decades (learning rates)
        label_swept_values(ax, xs)  # as the sensitivity panel: under two decades, minor tick labels collide
    if "accuracy" not in metric:  # an accuracy reads on a linear 0-1 axis, as gdlab plot draws it
        log_if_positive(ax, [drawn])
    note_if_empty(ax, [drawn], "no finished draw yet" if not any(a.statuses.get("diverged") for a in aggs)
                  else "no finite score")
    ax.set_xlabel(label)
    ax.set_ylabel(metric + (" (mean ± std over seeds)" if any(a.n > 1 for a in aggs) else ""))


def _best_label(key: str, value, metric: str, score: float) -> str:
    """The star's legend entry names the setting and its score, not the score alone (`best: 0.2284` said neither
    which value nor what was measured)."""
    shown = f"{value:.4g}" if isinstance(value, float) else str(value)
    return f"best: {key}={shown} ({metric} {score:.4g})"


def _seen_by_legend(ax, x: float, low: float, high: float) -> None:
    """An unseen line along an error bar, for the legend's "best" place to avoid: it weighs lines, not the bars'
    LineCollection, and sat over the tops of two bars. Points all along it, since it counts points, not lengths."""
    from matplotlib.lines import Line2D

    if high > low:
        ax.add_artist(Line2D([x] * 8, np.linspace(low, high, 8), transform=ax.transData, visible=False))


def _below(a) -> float:
    """How far the error bar reaches below the mean: std, but as the sensitivity panel's band, never to zero
    or far below the lowest seed (a mean 1.0 ± 1.4 reached down to 0.001, three empty decades on a log axis)."""
    low = band_low(np.array([a.mean]), np.array([a.std]), np.array([a.lowest if a.lowest is not None else a.mean]))
    return max(0.0, a.mean - float(low[0]))


def _distribution(text: str):
    from gdlab.errors import GdlabError
    from gdlab.sweep.distributions import parse_distribution

    try:
        return parse_distribution(text, "sweep.yaml")
    except GdlabError:  # a hand-edited sweep.yaml: the draws speak for themselves
        return None


def _choices(text: str) -> tuple:
    dist = _distribution(text)
    return dist.args if dist is not None and dist.kind == "choice" else ()


def _searched_range(ax, text: str) -> None:
    """The x axis spans the range searched, so the reader sees where in it the draws fell (and where none did)."""
    dist = _distribution(text)
    if dist is None:
        return
    low, high = dist.args
    if dist.kind == "loguniform":
        ax.set_xscale("log")
        ax.set_xlim(low / 1.2, high * 1.2)
        # under two decades matplotlib labels minor ticks, and they ran together (`2×10⁻¹3×10⁻¹4×10⁻¹`): four
        # ticks evenly spaced across the range searched, its ends included, at 2 significant digits
        label_swept_values(ax, [float(f"{v:.2g}") for v in np.geomspace(low, high, 4)])
    else:
        ax.set_xlim(low - 0.03 * (high - low), high + 0.03 * (high - low))


def _panels(sweep, draws: dict | None) -> dict[str, tuple[str, list[str] | None]]:
    """Each slice panel's (distribution text, text values in order or None): a random search's drawn axes, or
    (draws None) every axis of a grid, a text column's values in grid order (`null` among them)."""
    if draws is not None:
        return {k: (str(t), [str(v) for v in _choices(str(t))] if str(t).startswith("choice") else None)
                for k, t in draws.items()}
    columns = {key: sweep.table[key] for key in sweep.axes}
    return {k: ("", [str(v) for v in pd.unique(c)] if c.dtype == object else None) for k, c in columns.items()}


def plot_search(sweep, warnings: list[str], title: str | None = None, along: str = "step"):
    """Draw a random search (or, with --slices, any sweep): curves against `along` (step or epoch) coloured by
    the first numeric axis, then a slice panel per drawn (or swept) axis."""
    config = sweep.config or {}
    searched = is_search(sweep)
    draws = _panels(sweep, config["sampling"]["draws"] if searched else None)
    drawn = [a for a in sweep.axes if a in draws and a != SEED]  # drawn seeds are replicas, averaged over
    if not drawn:  # only --slices gets here without one: a search always has a drawn axis besides seeds
        from gdlab.errors import GdlabError

        raise GdlabError(f"--slices {sweep.path}: no swept axis besides seed to slice along; drop --slices")
    others = [a for a in sweep.axes if a not in drawn and a != SEED]
    rank_by = stored_rank_by(config)
    rows = _rows(sweep.table)
    metric = score_metric(rows, rank_by)
    aggs = aggregate_over_seeds(rows, sweep.axes, rank_by)
    numeric = [a for a in drawn if draws[a][1] is None]
    # points are coloured by a list axis crossed with the draws (optimizer.name=SGD,Adam), else a drawn choice
    categories = others + [a for a in drawn if a not in numeric]
    group = categories[0] if categories else None
    if len(others) > 1:
        warnings.append(f"{sweep.path}: colours follow {group} only; {', '.join(others[1:])} also vary")
    colour_by = numeric[0] if numeric else None
    looks = sweep_looks(sweep.table, colour_by, group)
    fig = new_figure(max(8.0, 4.2 * len(drawn) + 1.4), 8.0)
    grid = fig.add_gridspec(2, len(drawn))
    top = fig.add_subplot(grid[0, :])
    curves = replace(sweep, runs=runs_with_x(sweep.runs, along, warnings))
    _, calm, marks = _curves(top, curves, sweep.table, colour_by, group, looks, None, along,
                             frozenset(sweep.runs) - frozenset(curves.runs))
    cap_rise(top, calm, marks)
    top.set_title("loss curves", fontsize="medium")
    if looks.norm is not None:
        colour_bar(fig, looks.norm, looks.bar_cmap(), colour_by, ax=top)
    for i, key in enumerate(drawn):
        text, choices = draws[key]
        _slice(fig.add_subplot(grid[1, i]), aggs, key, text, choices, group, metric, f"{key} ~ {text}" if searched else key,
               looks)
    name = config.get("name") or sweep.path.parent.name
    sampler = SAMPLER_LABELS.get(config["sampling"].get("sampler") or "random", "random") if searched else ""
    kind = f"{sampler} search, {config['sampling'].get('samples')} draws" if searched else "slices"
    figure_title(fig, title or f"{name} — {sweep.path.name} ({kind}, {len(sweep.table)} variants)")
    return fig


def is_search(sweep) -> bool:
    """Whether sweep.yaml records drawn axes (a random search) that sweep.csv still has; seeds drawn alone
    are replicas, which the sweep figure draws as such."""
    sampling = (sweep.config or {}).get("sampling")
    draws = sampling.get("draws") if isinstance(sampling, dict) else None
    return isinstance(draws, dict) and any(a in draws and a != SEED for a in sweep.axes)

