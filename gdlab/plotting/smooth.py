"""`--smooth W` for plot and compare: an exponential moving average of a noisy curve (mini-batch losses),
debiased as TensorBoard's smoothing slider is, drawn over the raw curve shown faintly."""

from __future__ import annotations

import numpy as np


def ema(values, weight: float) -> np.ndarray:
    """s_t = w·s_{t-1} + (1-w)·x_t divided by 1 - w^t, so the start is not pulled toward 0. weight 0: the values.
    A NaN (a gap in the curve) stays a gap and is skipped: averaged in, it made every later value NaN."""
    values = np.asarray(values, dtype=float)
    out = np.empty_like(values)
    s, scale = 0.0, 1.0
    for i, x in enumerate(values):
        if np.isnan(x):
            out[i] = x
            continue
        s = weight * s + (1 - weight) * x
        scale *= weight
        out[i] = s / (1 - scale) if scale < 1 else x
    return out


def smooth_line(ax, line, weight: float, tell: bool = False):
    """Fade `line` (gid `<gid>:raw`, out of the legend) and draw its smoothed copy in its place: same colour,
    style, label (`tell`: with ", smoothed W") and gid. Returns the smoothed line; `line` itself when weight is 0."""
    if not weight:
        return line
    xs, ys = line.get_xdata(), line.get_ydata()
    label = f"{line.get_label()}, smoothed {weight:g}" if tell else line.get_label()
    (smoothed,) = ax.plot(xs, ema(ys, weight), color=line.get_color(), ls=line.get_linestyle(), lw=line.get_linewidth(),
                          label=label, gid=line.get_gid())
    line.set(alpha=0.3, lw=0.8, label="_raw", gid=f"{line.get_gid()}:raw", marker="None")
    return smoothed
