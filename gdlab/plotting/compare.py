"""`compare`: overlay one metric of many runs on one axis, each curve labelled by how its config differs."""

from __future__ import annotations

from pathlib import Path

from gdlab.errors import GdlabError
from gdlab.plotting.labels import curve_labels, left_out_lines
from gdlab.plotting.load import RunData, diverged_step
from gdlab.plotting.output import finite, legend_beside, log_if_positive, new_figure

X_AXES = ("step", "epoch", "wall_s")
AXES_SIZE = (7.0, 4.3)  # inches of plotting area, whatever the legend needs
INSIDE = (6, 32)  # up to this many curves with labels up to this long, the legend fits inside the axes
STYLES = ("-", "--", ":", "-.")  # the colour cycle has ten colours: the next ten curves get dashes, and so on


def _fallback(run: RunData) -> str:
    """A short folder name for a curve: a sweep variant's own folder, or a run's `name/timestamp`."""
    return run.path.name if run.path.parent.name.startswith("sweep-") else f"{run.path.parent.name}/{run.path.name}"


def plot_compare(runs: list[RunData], metric: str, x: str, warnings: list[str], title: str | None = None,
                 details: list[str] | None = None):
    """Draw `metric` against `x` for every run; line gids are `compare:<i>` in input order, labels as in the legend.
    When labels leave differing config keys out, `details` receives lines that list them, for the terminal."""
    if x not in X_AXES:
        raise GdlabError(f"--x {x}: choose one of {', '.join(X_AXES)}")
    if runs and not any(metric in run.metrics for run in runs):  # a typo: one line, not a warning per run
        columns = dict.fromkeys(c for run in runs for c in run.metrics.columns if c not in X_AXES)
        raise GdlabError(f"--metric {metric}: no metrics.csv here has that column; they have {', '.join(columns)}")
    labels, hidden = curve_labels([run.config for run in runs], [_fallback(run) for run in runs])
    fig = new_figure(AXES_SIZE[0] + 2.0, AXES_SIZE[1] + 1.2)
    ax = fig.subplots()
    drawn = []
    for i, (run, label) in enumerate(zip(runs, labels)):
        frame = run.metrics
        missing = [c for c in (metric, x) if c not in frame]
        if missing:
            warnings.append(f"{Path(run.path) / 'metrics.csv'}: no {' or '.join(missing)} column; left out of the comparison")
            continue
        mask = finite(frame[metric]) & finite(frame[x])
        if not mask.any():
            warnings.append(f"{Path(run.path) / 'metrics.csv'}: no finite {metric} values; left out of the comparison")
            continue
        xs, ys = frame[x][mask].to_numpy(), frame[metric][mask].to_numpy()
        (line,) = ax.plot(xs, ys, lw=1.3, label=label, gid=f"compare:{i}", ls=STYLES[len(drawn) // 10 % len(STYLES)],
                          marker="." if mask.sum() <= len(frame) // 2 else None)
        drawn.append((ys, label, hidden[i]))
        if diverged_step(frame, run.summary) is not None:
            # A diverged run has no loss to draw at the end: mark its last finite point instead.
            ax.plot(xs[-1:], ys[-1:], ls="none", marker="X", ms=9, color=line.get_color(), gid=f"diverged:{i}")
    if not drawn:
        raise GdlabError(f"none of the {len(runs)} run(s) has finite '{metric}' values against '{x}' to compare")
    log_if_positive(ax, [ys for ys, _, _ in drawn])
    if details is not None:
        details.extend(left_out_lines([label for _, label, _ in drawn], [rest for _, _, rest in drawn]))
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    shown = ax.get_legend_handles_labels()[1]
    if len(shown) <= INSIDE[0] and max(map(len, shown)) <= INSIDE[1]:
        ax.legend(loc="best", fontsize="small")
    else:  # beside the axes, where it covers no curve and, with the figure grown, cannot squeeze them
        legend_beside(fig, ax, AXES_SIZE)
    # Over the axes, not the figure: a legend beside them would pull a figure title off their centre.
    ax.set_title(title or f"{metric} of {len(drawn)} run(s)", fontsize="large")
    return fig
