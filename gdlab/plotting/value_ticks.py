"""Ticks at the swept values themselves on a narrow log axis, spaced so their labels never run together."""

from __future__ import annotations

import numpy as np

MAX_VALUE_TICKS = 5  # labels that fit under a 4.8-inch panel: `0.0316` is six characters
CHAR_WIDTH = 0.024  # of the values' log span: a tick label's character on that panel, with its share of a gap


def tick_label(value: float) -> str:
    """A swept value's tick label, whose length spaced_apart measures."""
    return f"{value:.3g}"


def spaced_apart(values: np.ndarray) -> list[float]:
    """The sorted values, less those whose label would touch the one before (0.9, 0.95 and 1 between 0.3 and
    1.5 printed `0.90.951`: 0.95 goes, 0.9 and the narrow 1 stay); the largest is always kept, in place of any
    neighbour too close to it. Two labels' centres need half of each label's width between them."""
    logs, widths = np.log10(values), [len(tick_label(v)) for v in values]
    span = logs[-1] - logs[0]

    def apart(i: int, j: int) -> bool:
        return abs(logs[j] - logs[i]) >= CHAR_WIDTH * span * (widths[i] + widths[j]) / 2

    kept = [0]
    for i in range(1, len(values)):
        if apart(kept[-1], i):
            kept.append(i)
    last = len(values) - 1
    while len(kept) > 1 and kept[-1] != last and not apart(kept[-1], last):
        kept.pop()
    if kept[-1] != last:
        kept.append(last)
    return [float(values[i]) for i in kept]


def label_swept_values(ax, values) -> None:
    """On a log x axis whose values span under two decades, tick the swept values themselves (`0.03`,
    `0.3`; every n-th when there are many, counted from the largest): matplotlib labels minor ticks there, and they collide
    (`3×10⁻²4×10⁻²6×10⁻²`). Wider spans keep its decade ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    data = np.asarray(values, dtype=float)
    shown = np.unique(data[np.isfinite(data) & (data > 0)])
    if shown.size == 0 or np.log10(shown[-1]) - np.log10(shown[0]) >= 2:
        return
    spaced = spaced_apart(shown)
    every = -(-len(spaced) // MAX_VALUE_TICKS)
    ax.xaxis.set_major_locator(FixedLocator(spaced[::-1][::every][::-1]))  # counted from the top: the largest stays
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: tick_label(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())


PLAIN_DECADES = 1.5  # a log axis that spans no more than this gets plain labels (matplotlib labels minor ticks there)


def plain_log_labels(axis) -> None:
    """Plain numbers (`0.6 0.4 0.3 0.2`) for the labels matplotlib gives a log axis that spans about a decade or
    less, where it writes `6×10⁻¹ 4×10⁻¹ 3×10⁻¹` on minor ticks; wider axes keep `10ⁿ`. Which ticks get labels
    stays matplotlib's choice; the span is read when drawing, since shared and cut axes change limits later."""
    from matplotlib.ticker import Formatter

    class Plain(Formatter):
        plain_log = True

        def __init__(self, inner):
            self.inner = inner

        def set_axis(self, axis):
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs):
            self.inner.set_locs(locs)

        def __call__(self, x, pos=None):
            text = self.inner(x, pos)
            low, high = self.axis.get_view_interval()
            narrow = 0 < low < high and np.log10(high) - np.log10(low) <= PLAIN_DECADES
            return f"{x:g}" if text and narrow else text

    for current, setter in ((axis.get_major_formatter(), axis.set_major_formatter),
                            (axis.get_minor_formatter(), axis.set_minor_formatter)):
        if not getattr(current, "plain_log", False):
            setter(Plain(current))


def colour_bar(fig, norm, cmap, label: str, **where):
    """A colour bar for `norm` (`where`: fig.colorbar's ax= or cax=); a log one within about a decade is labelled
    in plain numbers, as the log axes are (`0.06 0.1 0.2 0.3 0.4` for a narrow lr sweep, not `6×10⁻²`...)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), label=label, **where)
    if isinstance(norm, LogNorm):
        plain_log_labels(bar.ax.yaxis)
    return bar
