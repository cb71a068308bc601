"""The decision-region figures of a 2-D classifier, TensorFlow Playground style: the plane coloured by the
model's prediction (P(class 1) for two classes, the predicted class for more), the 0.5 / class-change
line, and the training points (filled) and validation points (hollow) coloured by their true class.

Draws what `gdlab.boundary.compute_boundary` returns (numpy arrays only): no torch here, and
matplotlib is imported inside the functions.
"""

from __future__ import annotations

import math

import numpy as np

from gdlab.plotting.labels import figure_title
from gdlab.plotting.output import new_figure

PLAYGROUND = ("#f59322", "#0877bd")  # class 0 orange, class 1 blue, as in TensorFlow Playground
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
LIGHTEN = 0.55  # how far region colours are mixed towards white, so the points stand out on them


def class_colors(n_classes: int) -> list[tuple[float, float, float]]:
    """One RGB colour per class: Playground orange and blue for classes 0 and 1, then tab10's others (cycled),
    so a class keeps its colour whether the data has two classes or three."""
    from matplotlib.colors import to_rgb

    names = PLAYGROUND + TAB10[2:]  # tab10 also starts blue, orange: skipped, or class 2 would repeat one
    return [to_rgb(names[k % len(names)]) for k in range(n_classes)]


def _light(rgb, amount: float = LIGHTEN):
    return tuple(c + (1.0 - c) * amount for c in rgb)


def _binary_cmap():
    from matplotlib.colors import LinearSegmentedColormap

    zero, one = class_colors(2)
    return LinearSegmentedColormap.from_list("gdlab_boundary", [_light(zero, 0.4), (1, 1, 1), _light(one, 0.4)])


def _regions(ax, boundary, prediction):
    """Fill the plane with the prediction; returns the mappable for a colour bar."""
    xs, ys = boundary.xs, boundary.ys
    if prediction.p1 is not None:
        filled = ax.contourf(xs, ys, prediction.p1, levels=np.linspace(0.0, 1.0, 21), cmap=_binary_cmap(),
                             vmin=0.0, vmax=1.0, alpha=0.9)
        filled.set_gid("regions")
        p1 = prediction.p1[np.isfinite(prediction.p1)]  # a diverged model's NaN outputs are left blank
        if p1.size and p1.min() < 0.5 < p1.max():
            ax.contour(xs, ys, prediction.p1, levels=[0.5], colors="k", linewidths=1.2).set_gid("decision_boundary")
        return filled
    from matplotlib.colors import ListedColormap

    n = boundary.n_classes
    colors = [_light(c) for c in class_colors(n)]
    levels = np.arange(n + 1) - 0.5
    filled = ax.contourf(xs, ys, prediction.classes, levels=levels, cmap=ListedColormap(colors))
    filled.set_gid("regions")
    present = np.unique(prediction.classes)
    if present.size > 1:
        ax.contour(xs, ys, prediction.classes, levels=levels[1:-1], colors="k", linewidths=0.9).set_gid("decision_boundary")
    return filled


def _points(ax, boundary, size: float, edge: float = 0.5) -> None:
    """Train points filled, validation points hollow, both coloured by their true class (gids train / val)."""
    colors = np.array(class_colors(boundary.n_classes))
    x, y = boundary.x_train, boundary.y_train
    ax.scatter(x[:, 0], x[:, 1], s=size, c=colors[y % len(colors)], edgecolors="white", linewidths=edge,
               gid="train", zorder=3)
    if boundary.x_val is not None and len(boundary.x_val):
        xv, yv = boundary.x_val, boundary.y_val
        ax.scatter(xv[:, 0], xv[:, 1], s=size * 1.3, facecolors="none", edgecolors=colors[yv % len(colors)],
                   linewidths=2.5 * edge + 0.1, gid="val", zorder=4)


def _panel_width(boundary, height: float) -> float:
    """The width (inches) of a panel of the given height that shows the data at equal scale, within reason."""
    xs, ys = boundary.xs, boundary.ys
    ratio = (xs[-1] - xs[0]) / (ys[-1] - ys[0])
    return height * min(max(ratio, 0.75), 1.6)


def _frame(ax, boundary, labels: bool = True) -> None:
    xs, ys = boundary.xs, boundary.ys
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ratio = (xs[-1] - xs[0]) / (ys[-1] - ys[0])
    if 1 / 3 <= ratio <= 3:
        ax.set_aspect("equal", adjustable="box")  # a round moon should look round
    if labels:
        suffix = " (standardized)" if boundary.standardized else ""
        ax.set_xlabel(boundary.feature_names[0] + suffix)
        ax.set_ylabel(boundary.feature_names[1] + suffix)


def _colorbar(fig, mappable, boundary, axes, binary: bool, shrink: float = 0.9) -> None:
    if not binary:
        bar = fig.colorbar(mappable, ax=axes, ticks=range(boundary.n_classes), shrink=shrink)
        bar.ax.set_yticklabels([f"class {k}" for k in range(boundary.n_classes)])
        bar.set_label("predicted class")
    else:
        bar = fig.colorbar(mappable, ax=axes, ticks=np.linspace(0, 1, 6), shrink=shrink)
        bar.set_label("model's P(class 1)")


def _legend(fig, boundary) -> None:
    """Below the axes: one entry per class, then what filled / hollow markers and the black line (where drawn) mean."""
    from matplotlib.lines import Line2D

    colors = class_colors(boundary.n_classes)
    handles = [Line2D([], [], ls="none", marker="o", ms=7, color=c, label=f"class {k}") for k, c in enumerate(colors)]
    handles.append(Line2D([], [], ls="none", marker="o", ms=7, color="0.35", mec="white", label="train (filled)"))
    if boundary.x_val is not None and len(boundary.x_val):
        handles.append(Line2D([], [], ls="none", marker="o", ms=7, mfc="none", mec="0.35", mew=1.3,
                              label="validation (hollow)"))
    # only where a line is drawn: a model predicting one class over the whole view has none to show
    if any(c.get_gid() == "decision_boundary" for ax in fig.axes for c in ax.collections):
        handles.append(Line2D([], [], color="k", lw=1.2, label="decision boundary"))
    # As many entries per row as the figure is wide enough for (about 1.5 inches each at this font size).
    ncols = max(1, min(len(handles), int(fig.get_figwidth() / 1.5)))
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols, fontsize="small", frameon=False)


def _percent(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{100 * value:.1f}%"


def _scores(prediction) -> str:
    text = f"train acc {_percent(prediction.train_accuracy)}"
    return text + (f" · val acc {_percent(prediction.val_accuracy)}" if prediction.val_accuracy is not None else "")


def _title(boundary) -> str:
    status = f" ({boundary.status})" if boundary.status else ""
    return f"{boundary.name} — {boundary.run.name}{status}"


def plot_boundary(boundary, title: str | None = None):
    """The final model's decision regions with the data on top; one Axes, gids regions / train / val."""
    fig = new_figure(_panel_width(boundary, 4.6) + 2.2, 4.6 + 1.6)
    ax = fig.subplots()
    mappable = _regions(ax, boundary, boundary.final)
    _points(ax, boundary, size=18)
    _frame(ax, boundary)
    ax.set_title(f"decision regions · {_scores(boundary.final)}", fontsize="medium")
    _colorbar(fig, mappable, boundary, ax, boundary.final.p1 is not None)
    _legend(fig, boundary)
    figure_title(fig, title or _title(boundary))
    return fig


def plot_snapshots(boundary, title: str | None = None):
    """Small multiples of the snapshots' decision regions, one panel per snapshot (Axes gid `snapshot:<step>`),
    in training order, each titled with its step, so the boundary can be watched forming."""
    shots = boundary.snapshots
    if not shots:
        raise ValueError("no snapshots to draw")
    ncols = min(len(shots), 3)
    nrows = math.ceil(len(shots) / ncols)
    fig = new_figure(_panel_width(boundary, 2.6) * ncols + 2.4, 3.2 * nrows + 0.9)
    grid = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    mappable = None
    for i, ax in enumerate(grid.flat):
        if i >= len(shots):
            ax.set_axis_off()
            continue
        shot = shots[i]
        mappable = _regions(ax, boundary, shot)
        _points(ax, boundary, size=7, edge=0.3)
        _frame(ax, boundary, labels=False)
        suffix = " (standardized)" if boundary.standardized else ""
        if i // ncols == nrows - 1 or i + ncols >= len(shots):  # the lowest panel of its column
            ax.set_xlabel(boundary.feature_names[0] + suffix, fontsize="small")
        if i % ncols == 0:
            ax.set_ylabel(boundary.feature_names[1] + suffix, fontsize="small")
        ax.set_gid(f"snapshot:{shot.step}")
        ax.set_title(f"{shot.label}\n{_scores(shot)}", fontsize="small")
        ax.tick_params(labelsize="x-small")
    _colorbar(fig, mappable, boundary, list(grid.flat), shots[-1].p1 is not None, shrink=0.7)
    _legend(fig, boundary)
    figure_title(fig, title or f"{_title(boundary)}: decision regions during training")
    return fig
