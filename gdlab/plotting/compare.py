"""`compare`: overlay one metric of many runs on one axis, each curve labelled by how its config differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdlab.errors import GdlabError
from gdlab.plotting.colour_by import colour_runs, dash_values, key_to_colour_by, key_to_dash_by
from gdlab.plotting.labels import curve_labels, left_out_lines
from gdlab.plotting.load import RunData, diverged_step
from gdlab.plotting.output import DASHES, diverged_mark, finite, legend_beside, log_if_positive, new_figure
from gdlab.plotting.rise_cap import cap_rise
from gdlab.plotting.smooth import smooth_line
from gdlab.plotting.value_ticks import colour_bar
from gdlab.plotting.x_axis import X_AXES, check_x, curve_points, label_x

AXES_SIZE = (7.0, 4.3)  # inches of plotting area, whatever the legend needs
INSIDE = (6, 32)  # up to this many curves with labels up to this long, the legend fits inside the axes
# More curves than this get no legend entry each (128 filled five columns, their looks repeating from the 41st):
# they are coloured by a config key, with a colour bar for numbers or an entry per text value.
MANY = 20


def _fallback(run: RunData) -> str:
    """A short folder name for a curve: a sweep variant's own folder, or a run's `name/timestamp`."""
    return run.path.name if run.path.parent.name.startswith("sweep-") else f"{run.path.parent.name}/{run.path.name}"


def _comparable(config: dict | None) -> dict | None:
    """The config as its label should read it. A section set to null (`scheduler: null`) states what leaving
    it out does, so it is left out: the terminal then lists one fact, not `scheduler=null` beside
    `scheduler.name=unset`. And a section's `name` (its kind: StepLR, Adam, MSELoss, moons) moves first:
    between keys that tell the curves apart equally well, labels name the one seen first."""
    if not config:
        return config
    kinds_first = {k: {"name": v["name"], **v} if isinstance(v, dict) and "name" in v else v for k, v in config.items()}
    return {k: v for k, v in kinds_first.items() if v is not None}


def _drawable(run: RunData, metric: str, x: str, warnings: list[str]) -> np.ndarray | None:
    """The rows where a run has finite `metric` and `x` values; None (and a warning saying why it is left
    out) when it has none."""
    frame = run.metrics
    missing = [c for c in (metric, x) if c not in frame]
    if missing:
        warnings.append(f"{Path(run.path) / 'metrics.csv'}: no {' or '.join(missing)} column; left out of the comparison")
        return None
    mask = finite(frame[metric]) & finite(frame[x])
    if not mask.any():
        warnings.append(f"{Path(run.path) / 'metrics.csv'}: no finite {metric} values; left out of the comparison")
        return None
    return mask


def _colour_entries(colouring, dashed: dict[str, str], dash_by: str | None, diverged: bool) -> tuple[list, list[str]]:
    """The legend of curves too many to name: an entry per colour (text values; numbers have the colour bar), per
    dash (`dashed`: each value of `dash_by`, its style) and for the ✕ that marks a divergence."""
    from matplotlib.lines import Line2D

    entries = [(Line2D([], [], color=colour), text) for text, colour in colouring.named]
    entries += [(Line2D([], [], color="0.3", ls=style), f"{dash_by}={value}") for value, style in dashed.items()]
    if diverged:
        entries.append((Line2D([], [], ls="none", marker="X", color="k"), "diverged"))
    return [h for h, _ in entries], [t for _, t in entries]


def _y_scale(ax, metric: str, values) -> None:
    """Accuracies on a linear 0–1 axis, as `gdlab plot` draws them: a log axis would stretch the near-zero
    start and squash the approach to 1 that matters. Sharpness as `gdlab plot`'s panel draws it: log only when
    it spans a decade (the edge-of-stability climb 12 -> 35 got two labelled ticks). Anything else: log when
    every value is positive."""
    if not metric.endswith("accuracy"):
        log_if_positive(ax, values, min_decades=1 if metric == "sharpness" else 0)
        return
    data = np.concatenate([np.asarray(v, dtype=float) for v in values])
    data = data[np.isfinite(data)]  # a curve's gaps are NaN
    ax.set_yscale("linear")
    ax.set_ylim(min(0.0, float(data.min())), max(1.02, float(data.max())))  # a hand-edited 1.5 stays in sight


def plot_compare(runs: list[RunData], metric: str, x: str, warnings: list[str], title: str | None = None,
                 details: list[str] | None = None, smooth: float = 0.0, color_by: str | None = None):
    """Draw `metric` against `x` for every run; line gids are `compare:<i>` in input order, labels as in the legend.
    When labels leave differing config keys out, `details` receives lines that list them, for the terminal.
    `color_by` (a dotted config key) colours each curve by its run's value of it."""
    check_x(x)
    if runs and not any(metric in run.metrics for run in runs):  # a typo: one line, not a warning per run
        columns = dict.fromkeys(c for run in runs for c in run.metrics.columns if c not in X_AXES)
        raise GdlabError(f"--metric {metric}: no metrics.csv here has that column; they have {', '.join(columns)}")
    masks = [_drawable(run, metric, x, warnings) for run in runs]
    kept = [(i, run, mask) for i, (run, mask) in enumerate(zip(runs, masks)) if mask is not None]
    # labelled by what differs between the curves drawn: not by keys only a run left out differs in
    labels, hidden = curve_labels([_comparable(run.config) for _, run, _ in kept], [_fallback(run) for _, run, _ in kept])
    many, configs, picked = len(kept) > MANY, [run.config for _, run, _ in kept], color_by is None
    if many and color_by is None:
        color_by = key_to_colour_by(configs)
    colouring = colour_runs(configs, color_by, [_fallback(r) for _, r, _ in kept], warnings) \
        if color_by is not None and kept else None
    # too many to name, curves coloured by one key are dashed by another (SGD against Adam), the legend saying which
    dash_by = key_to_dash_by(configs, color_by, len(DASHES)) if many and colouring else None
    values = dash_values(configs, dash_by) if dash_by else []
    dashed = {v: DASHES[i] for i, v in enumerate(dict.fromkeys(values))}
    if many and picked and colouring:
        warnings.append(f"{len(kept)} curves are too many for a legend: coloured by {color_by}"
                        f"{f' and dashed by {dash_by}' if dash_by else ''} instead (--color-by KEY picks the key)")
    fig = new_figure(AXES_SIZE[0] + 2.0, AXES_SIZE[1] + 1.2)
    ax = fig.subplots()
    drawn, shades = [], {}  # shades: how many curves drew each colour so far
    for n, ((i, run, mask), label, rest) in enumerate(zip(kept, labels, hidden)):
        frame = run.metrics
        xs, ys = curve_points(frame, metric, x)  # NaN where the metric was NaN/inf mid-run: a gap, not a bridge
        step = diverged_step(frame, run.summary)
        shown_as = label if step is None else f"{label}; diverged at step {step}"
        status = (run.summary or {}).get("status")
        if step is None and status in ("interrupted", "failed", "pruned") and len(frame):  # a curve that ends early says so
            shown_as = f"{label}; {status} at step {frame['step'].iloc[-1]}"
        stopped = (run.summary or {}).get("stopped_early_at_step")
        if step is None and isinstance(stopped, int) and not isinstance(stopped, bool):
            shown_as = f"{label}; stopped early at step {stopped}"
        # coloured by a value, curves share colours by meaning, and those that share one take turns at the dashes
        # while the legend names each curve (SGD at four lrs were four identical blue entries); else the cycle's
        # ten colours, then dashes
        if colouring:
            shade = repr(colouring.colours[n])
            style = {"color": colouring.colours[n],
                     "ls": dashed[values[n]] if dashed else DASHES[0 if many else shades.get(shade, 0) % len(DASHES)]}
            shades[shade] = shades.get(shade, 0) + 1
        else:
            style = {"ls": DASHES[len(drawn) // 10 % len(DASHES)]}  # ten colours, then the next dash
        (line,) = ax.plot(xs, ys, lw=1.3, label=shown_as, gid=f"compare:{i}", **style,
                          marker="." if mask.sum() <= len(frame) // 2 else None)
        line = handle = smooth_line(ax, line, smooth)
        if step is not None:  # the legend entry shows the line with the ✕ over it
            handle = (line, diverged_mark(ax, frame, x, step, xs, ys, line.get_color(), f"diverged:{i}"))
        drawn.append((ys, label, rest, handle))
    if not drawn:
        raise GdlabError(f"none of the {len(runs)} run(s) has finite '{metric}' values against '{x}' to compare")
    _y_scale(ax, metric, [ys for ys, *_ in drawn])
    diverged = [isinstance(handle, tuple) for *_, handle in drawn]  # (line, ✕)
    cap_rise(ax, [ys for (ys, *_), bad in zip(drawn, diverged) if not bad],
             [handle[1] for (*_, handle), bad in zip(drawn, diverged) if bad])
    grouped = many and colouring is not None  # the legend names colours, not curves: no label is shown
    if details is not None and not grouped:
        details.extend(left_out_lines([label for _, label, _, _ in drawn], [rest for _, _, rest, _ in drawn]))
    label_x(ax, x)
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    if colouring is not None and colouring.norm is not None:
        colour_bar(fig, colouring.norm, colouring.cmap, color_by, ax=ax)
    # A diverged curve's entry shows its line with the ✕ over it: one entry per curve, however many diverged.
    handles = [handle for *_, handle in drawn]
    shown = [(h[0] if isinstance(h, tuple) else h).get_label() for h in handles]
    if grouped:
        handles, shown = _colour_entries(colouring, dashed, dash_by, any(diverged))
    if not handles:
        pass  # a colour bar says it all
    elif len(shown) <= INSIDE[0] and max(map(len, shown)) <= INSIDE[1]:
        ax.legend(handles, shown, loc="best", fontsize="small")
    else:  # beside the axes, where it covers no curve and, with the figure grown, cannot squeeze them
        legend_beside(fig, ax, AXES_SIZE, handles=(handles, shown))
    # Over the axes, not the figure: a legend beside them would pull a figure title off their centre.
    ax.set_title(title or f"{metric} of {len(drawn)} run{'s' if len(drawn) != 1 else ''}" + (f", smoothed {smooth:g}" if smooth else ""), fontsize="large")
    return fig
