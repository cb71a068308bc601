"""One run's figure: loss against step, accuracy on a second axis, the divergence point, and panels for
sharpness (with its optimizer's edge of stability, 2/lr for GD) and for the learning rate when they apply."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gdlab.plotting.load import RunData, diverged_step
from gdlab.plotting.labels import figure_title
from gdlab.plotting.output import finite, log_if_positive, new_figure, note_if_empty, top_edge
from gdlab.plotting.smooth import smooth_line
from gdlab.plotting.stability import sharpness_edge
from gdlab.plotting.x_axis import check_x_column, curve_points, label_x, x_at_step


def _curve(ax, frame: pd.DataFrame, column: str, x: str = "step", **style):
    """Plot the finite points of one column, with a gap where it was NaN/inf mid-run; val_* and sharpness are
    logged only every few steps."""
    if column not in frame:
        return None
    xs, ys = curve_points(frame, column, x)
    if not finite(ys).any():
        return None
    if finite(ys).sum() <= len(frame) // 2:
        style.setdefault("marker", ".")  # sparse points: show where the evaluations actually are
    (line,) = ax.plot(xs, ys, gid=column, **style)
    return line


def _varies(series: pd.Series) -> bool:
    values = series[finite(series)]
    return len(values) > 1 and not np.allclose(values, values.iloc[0], rtol=1e-12, atol=0)


def _edge(ax, frame: pd.DataFrame, config: dict, x: str):
    """The sharpness past which this run's optimizer diverges on a quadratic, at each step's lr: 2/lr for GD,
    2(1+β)/lr for momentum and so on (stability.py); none for Adam or an unknown optimizer."""
    found = sharpness_edge(config.get("optimizer"), frame["lr"], config.get("scheduler")) if "lr" in frame else None
    if found is None:
        return None
    edge, text = found
    values = np.asarray(edge, dtype=float)
    values = values[np.isfinite(values)]
    if values.size and np.all(values == values[0]):  # one lr all run long: say where the edge is
        text = f"{text} = {values[0]:.3g}"
    line = _curve(ax, pd.DataFrame({x: frame[x], "edge": edge}), "edge", x, color="k", ls="--", lw=1, label=text)
    if line is not None:
        line.set_gid("edge")
    return line


def _restored_best(ax, frame: pd.DataFrame, summary: dict | None, x: str):
    """A star on the val loss where model.pt's weights come from (train.restore_best_weights): the curve runs
    on past it, to where early stopping or the last step ended the run, and the figure should not hide that."""
    step = (summary or {}).get("restored_best_from_step")
    if not isinstance(step, int) or isinstance(step, bool) or "val_loss" not in frame:
        return None
    at = frame["val_loss"][(frame["step"] == step) & finite(frame["val_loss"])]
    where = x_at_step(frame, x, step)
    if at.empty or where is None:
        return None
    (mark,) = ax.plot([where], [float(at.iloc[-1])], ls="none", marker="*", ms=13, color="C1", mec="k", zorder=5,
                      gid="restored_best", label=f"model.pt: best val loss, step {step}")
    return mark


def plot_run(run: RunData, title: str | None = None, smooth: float = 0.0, x: str = "step"):
    """Draw one run against `x` (step or epoch, as compare draws it); lines carry gids (train_loss, val_loss,
    diverged, restored_best, lr, sharpness, edge) for tests. `smooth` > 0 draws the moving average of the train
    loss and accuracy over their raw curves (gids train_loss:raw, train_accuracy:raw)."""
    frame = run.metrics
    check_x_column(frame, x, run.path)  # one error, not an empty figure
    has_sharpness = "sharpness" in frame and bool(finite(frame["sharpness"]).any())
    has_lr_panel = "lr" in frame and bool(_varies(frame["lr"]))
    heights = [3.0] + [1.6] * has_sharpness + [1.0] * has_lr_panel
    fig = new_figure(8.0, 2.0 + 1.1 * sum(heights))
    axes = fig.subplots(len(heights), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    ax = axes[0]

    train = _curve(ax, frame, "train_loss", x, color="C0", label="train loss")
    losses = [line for line in (
        smooth_line(ax, train, smooth, tell=True) if train is not None else None,  # a mini-batch loss is noisy; val is not
        _curve(ax, frame, "val_loss", x, color="C1", label="val loss"),
    ) if line is not None]
    log_if_positive(ax, [line.get_ydata() for line in losses])
    note_if_empty(ax, [line.get_ydata() for line in losses], "no finite loss")
    ax.set_ylabel("loss")
    handles = list(losses)

    legend_ax = ax
    if any(c in frame for c in ("train_accuracy", "val_accuracy")):
        twin = legend_ax = ax.twinx()
        for column, color in (("train_accuracy", "C2"), ("val_accuracy", "C3")):
            line = _curve(twin, frame, column, x, color=color, ls="--", lw=1, label=column.replace("_", " "))
            if line is not None and column == "train_accuracy":  # per batch too, as noisy as its loss
                line = smooth_line(twin, line, smooth, tell=True)
            handles += [line] if line is not None else []
        twin.set_ylabel("accuracy")
        twin.set_ylim(0, 1.02)

    # where train.early_stop_patience ran out, or a sweep's --prune stopped the run at a rung
    for gid, ls, words in (("stopped_early", "--", "stopped early"), ("pruned", "-.", "pruned")):
        at = (run.summary or {}).get(f"{gid}_at_step")
        where = x_at_step(frame, x, at) if isinstance(at, int) and not isinstance(at, bool) else None
        if where is not None:
            handles.append(ax.axvline(where, color="0.4", ls=ls, lw=1, gid=gid, label=f"{words} at step {at}"))
    best = _restored_best(ax, frame, run.summary, x)
    handles += [best] if best is not None else []
    step = diverged_step(frame, run.summary)
    where = x_at_step(frame, x, step) if step is not None else None
    if where is not None:  # (an epoch column of NaN up to that step, hand-edited, leaves nowhere to put it)
        ax.axvline(where, color="red", ls=":", lw=1, gid="diverged_line")
        (mark,) = ax.plot([where], [1.0], ls="none", marker="X", ms=11, color="red", clip_on=False,
                          transform=top_edge(ax), gid="diverged", label=f"diverged at step {step}")
        handles.append(mark)
    # On the twin axis when there is one: it is drawn last, so its lines would cover a legend on `ax`.
    if legend_ax is not ax:  # "best" avoids only its own axis's lines: show it the loss axis's, unseen
        from matplotlib.lines import Line2D

        # every one, the early-stop and divergence lines too: the legend sat over a stop at the right edge
        for line in ax.get_lines():
            legend_ax.add_artist(Line2D(line.get_xdata(), line.get_ydata(), transform=line.get_transform(),
                                        visible=False))
    legend_ax.legend(handles=handles, loc="best", fontsize="small")

    row = 1
    if has_sharpness:
        sharp = axes[row]
        points = _curve(sharp, frame, "sharpness", x, color="C4", marker="o", ms=3, label="sharpness")
        line = _edge(sharp, frame, run.config if isinstance(run.config, dict) else {}, x)
        shown = [drawn.get_ydata() for drawn in (points, line) if drawn is not None]
        log_if_positive(sharp, shown, min_decades=1)  # the EoS config's 14 -> 35 reads better linearly
        sharp.set_ylabel("sharpness")
        sharp.legend(loc="best", fontsize="small")
        row += 1
    if has_lr_panel:
        lr_ax = axes[row]
        # a schedule drops at a step, not over one
        line = _curve(lr_ax, frame, "lr", x, color="C5", lw=1, drawstyle="steps-post")
        log_if_positive(lr_ax, [line.get_ydata()])
        lr_ax.set_ylabel("lr")

    label_x(axes[-1], x)  # the panels share it
    figure_title(fig, title or _default_title(run, step))
    return fig


def _default_title(run: RunData, step: int | None) -> str:
    summary = run.summary or {}
    name = summary.get("name") or (run.config or {}).get("name") or run.path.absolute().parent.name
    status = summary.get("status") or ("diverged" if step is not None else "no summary.json")
    return f"{name} — {run.path.name} ({status})"
