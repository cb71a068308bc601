"""sweep.png's lr colour bar sits just right of the loss panel it colours: it went right of the whole column's
margin, which the sensitivity panel's legend beside it (more than five entries) widens, an inch or more away."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from tests.test_plot import make_sweep, sweep_figure


def laid_out(sweep):
    fig, _ = sweep_figure(sweep)
    FigureCanvasAgg(fig).draw()  # constrained layout places the axes at the draw, as savefig does
    bars = [a for ax in fig.axes for a in [ax, *ax.child_axes] if a.get_label() == "<colorbar>"]
    return fig, bars


@pytest.mark.parametrize("optimizers, facets", [(None, 1), (["SGD", "Adam"], 1), (None, 2)])
def test_the_colour_bar_sits_next_to_the_last_loss_panel(tmp_path, optimizers, facets):
    sweep = make_sweep(tmp_path / "sweep-x", optimizers=optimizers)  # SGD and Adam: 8 legend entries, beside the panel
    if facets == 2:
        table = pd.read_csv(sweep / "sweep.csv")
        table.insert(0, "data.noise", [0.1, 0.1, 0.3, 0.3])
        table.to_csv(sweep / "sweep.csv", index=False)
    fig, (bar,) = laid_out(sweep)
    width = fig.get_size_inches()[0]
    panels = [ax for ax in fig.axes if ax is not bar]  # curves row, then the sensitivity row
    assert len(panels) == 2 * facets and panels[facets - 1].get_ylabel() == "train loss"
    panel, below = panels[facets - 1].get_position(), panels[-1].get_position()
    edge = bar.get_position()
    assert 0 < (edge.x0 - panel.x1) * width < 0.25  # a gap of at most a quarter inch (0.14 here)
    assert edge.y0 == pytest.approx(panel.y0) and edge.y1 == pytest.approx(panel.y1)  # as tall as the panel
    assert edge.x1 < 1 and below.x1 <= panel.x1 + 1e-9  # inside the figure; the lower panel no wider
    assert bar.get_yscale() == "log" and bar.get_ylim() == pytest.approx((0.001, 1.0))
    assert bar.get_ylabel() == "optimizer.lr"
