"""`compare`: overlay one metric of many runs on one axis, each curve labelled by how its config differs."""

from __future__ import annotations

from pathlib import Path

from gdlab.errors import GdlabError
from gdlab.plotting.labels import curve_labels
from gdlab.plotting.load import RunData, diverged_step
from gdlab.plotting.output import finite, log_if_positive, new_figure

X_AXES = ("step", "epoch", "wall_s")


def _fallback(run: RunData) -> str:
    """A short folder name for a curve: a sweep variant's own folder, or a run's `name/timestamp`."""
    return run.path.name if run.path.parent.name.startswith("sweep-") else f"{run.path.parent.name}/{run.path.name}"


def plot_compare(runs: list[RunData], metric: str, x: str, warnings: list[str], title: str | None = None):
    """Draw `metric` against `x` for every run; line gids are `compare:<i>` in input order, labels as in the legend."""
    if x not in X_AXES:
        raise GdlabError(f"--x {x}: choose one of {', '.join(X_AXES)}")
    labels = curve_labels([run.config for run in runs], [_fallback(run) for run in runs])
    fig = new_figure(9.0, 5.5)
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
        (line,) = ax.plot(xs, ys, lw=1.3, label=label, gid=f"compare:{i}",
                          marker="." if mask.sum() <= len(frame) // 2 else None)
        drawn.append(ys)
        if diverged_step(frame, run.summary) is not None:
            # A diverged run has no loss to draw at the end: mark its last finite point instead.
            ax.plot(xs[-1:], ys[-1:], ls="none", marker="X", ms=9, color=line.get_color(), gid=f"diverged:{i}")
    if not drawn:
        raise GdlabError(f"none of the {len(runs)} run(s) has finite '{metric}' values against '{x}' to compare")
    log_if_positive(ax, drawn)
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    if len(drawn) <= 8:
        ax.legend(loc="best", fontsize="small")
    else:  # many curves: beside the axes, where it covers none of them
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small", ncols=1 + len(drawn) // 25)
    ax.grid(True, alpha=0.3)
    fig.suptitle(title or f"{metric} of {len(drawn)} run(s)")
    return fig
