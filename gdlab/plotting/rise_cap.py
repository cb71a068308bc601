"""A diverged curve's rise, cut at the top of an axis of loss curves: a blow-up to 1e8 took eight decades of
ten, and the curves that did not diverge, the ones a reader compares, were flat lines along the bottom."""

from __future__ import annotations

import numpy as np

from gdlab.plotting.output import top_edge

HEADROOM = 10.0  # the axis reaches this factor (a decade on a log axis) above the highest calm value


def cap_rise(ax, calm: list, marks: list) -> bool:
    """On a log axis, cut the top at HEADROOM x the highest finite value of the `calm` curves (those that did not
    diverge) when the diverged ones rise past it; each ✕ in `marks` above the cut moves onto the top edge at its
    step, where the sensitivity panel puts one. Nothing changes on a linear axis, with no calm value, or when
    the rise stays under the cut. Returns whether it cut."""
    if ax.get_yscale() != "log" or not marks:
        return False
    values = np.concatenate([np.asarray(v, dtype=float).ravel() for v in calm]) if calm else np.array([])
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:  # every variant diverged: its rise is all there is to see
        return False
    low, high = ax.get_ylim()
    top = float(values.max()) * HEADROOM
    if high <= top:
        return False
    ax.set_ylim(low, top)
    for mark in marks:
        if mark.get_transform() is not mark.axes.transData:  # already on the top edge (no finite value)
            continue
        x, y = float(mark.get_xdata()[0]), float(mark.get_ydata()[0])
        if y > top:
            mark.set_data([x], [1.0])
            mark.set_transform(top_edge(mark.axes))
            mark.set_clip_on(False)
    return True
