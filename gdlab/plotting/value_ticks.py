"""Ticks at the swept values themselves on a narrow log axis, spaced so their labels never run together."""

from __future__ import annotations

import numpy as np

MAX_VALUE_TICKS = 5  # labels that fit under a 4.8-inch panel: `0.0316` is six characters
LABEL_GAP = 0.12  # of the values' log span: one such label's width on that panel, with the axis margins


def spaced_apart(values: np.ndarray) -> list[float]:
    """The sorted values, less those whose label would overlap the one before (0.9, 0.95, 1 between 0.3 and
    1.5 printed `0.90.951`); the largest is always kept, in place of any neighbour too close to it."""
    logs = np.log10(values)
    gap = LABEL_GAP * (logs[-1] - logs[0])
    kept = [0]
    for i in range(1, len(values)):
        if logs[i] - logs[kept[-1]] >= gap:
            kept.append(i)
    while len(kept) > 1 and kept[-1] != len(values) - 1 and logs[-1] - logs[kept[-1]] < gap:
        kept.pop()
    if kept[-1] != len(values) - 1:
        kept.append(len(values) - 1)
    return [float(values[i]) for i in kept]


def label_swept_values(ax, values) -> None:
    """On a log x axis whose values span under two decades, tick the swept values themselves (`0.03`,
    `0.3`; every n-th when there are many): matplotlib labels minor ticks there, and they collide
    (`3×10⁻²4×10⁻²6×10⁻²`). Wider spans keep its decade ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    data = np.asarray(values, dtype=float)
    shown = np.unique(data[np.isfinite(data) & (data > 0)])
    if shown.size == 0 or np.log10(shown[-1]) - np.log10(shown[0]) >= 2:
        return
    spaced = spaced_apart(shown)
    every = -(-len(spaced) // MAX_VALUE_TICKS)
    ax.xaxis.set_major_locator(FixedLocator(spaced[::every]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
