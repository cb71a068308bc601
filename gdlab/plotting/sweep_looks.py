"""How one sweep figure tells its settings apart, the same way in every panel: each value of the group axis
(optimizer.name) has one colour and one dash, in sweep.csv's order; the axis drawn as colour in the loss
curves (the lr) is a shade of its group's colour, darker for larger values, or viridis when nothing is grouped."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gdlab.plotting.output import DASHES

# tab10's hues in its order (C0 blue, C1 orange, ...), as sequential colormaps: a group's shades stay its colour
FAMILIES = ("Blues", "Oranges", "Greens", "Reds", "Purples", "YlOrBr", "RdPu", "Greys", "YlGn", "GnBu")
LIGHTEST = 0.35  # where a family's shades start: its lighter end vanishes against the white axes


def value_norm(values: pd.Series):
    """A norm over the coloured axis's finite values: log when all positive (learning rates span decades)."""
    from matplotlib.colors import LogNorm, Normalize

    data = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return None
    low, high = float(data.min()), float(data.max())
    if (data > 0).all():
        return LogNorm(low / 2, high * 2) if low == high else LogNorm(low, high)
    return Normalize(low - 1, high + 1) if low == high else Normalize(low, high)


@dataclass
class SweepLooks:
    """The colours and dashes of one sweep figure. `groups`: each group value (as text) in sweep.csv order;
    `norm`: the coloured axis's scale (None: no such axis)."""

    groups: list[str]
    norm: object = None

    def colour(self, group) -> str:
        """The group's colour, as its legend entry, its sensitivity lines and its slice points show it."""
        return f"C{self._index(group) % 10}"

    def dash(self, group) -> str:
        """The group's line style, in the curves and in the sensitivity panel alike."""
        return DASHES[self._index(group) % len(DASHES)] if self.groups else "-"

    def shade(self, value: float, group=None):
        """The colour of a curve at `value` of the coloured axis: its group's shade, or viridis ungrouped."""
        from matplotlib import colormaps

        where = float(np.clip(self.norm(value), 0.0, 1.0))
        if not self.groups:
            return colormaps["viridis"](where)
        return colormaps[FAMILIES[self._index(group) % 10]](LIGHTEST + (1 - LIGHTEST) * where)

    def bar_cmap(self):
        """The colour bar's colormap: viridis, or (grouped) the grey shades every group's colour darkens by."""
        from matplotlib import colormaps
        from matplotlib.colors import ListedColormap

        if not self.groups:
            return colormaps["viridis"]
        return ListedColormap(colormaps["Greys"](np.linspace(LIGHTEST, 1.0, 256)), name="shade")

    def _index(self, group) -> int:
        return self.groups.index(str(group)) if str(group) in self.groups else 0


def sweep_looks(table: pd.DataFrame, coloured: str | None, group: str | None) -> SweepLooks:
    """The looks of a figure of `table` (sweep.csv) whose curves are coloured by `coloured` (a numeric axis, or
    None) and grouped by `group`."""
    groups = list(pd.unique(table[group].astype(str))) if group else []
    return SweepLooks(groups, value_norm(table[coloured]) if coloured else None)


def group_legend(ax, group: str | None, looks: SweepLooks) -> None:
    """The axis's legend with its `group=value` entries in sweep.csv's order, as the loss curves list them, after
    any other entry (a slice's star): a slice draws its points best first, so its entries came in ranking order."""
    handles, labels = ax.get_legend_handles_labels()
    place = {f"{group}={value}": i for i, value in enumerate(looks.groups)} if group else {}
    order = sorted(range(len(labels)), key=lambda i: (labels[i] in place, place.get(labels[i], i)))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize="x-small", loc="best")
