"""A sweep figure over lr and optimizer.name encodes them the same way in every panel: an optimizer is one colour
and one dash in the loss curves, the sensitivity panel and a search's slices (sweep.csv's order), and the lr is a
shade of that colour, darker for larger; the legends show each optimizer's colour and dash."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib import colormaps
from matplotlib.colors import to_rgba

from tests.test_plot import line, make_sweep, sweep_figure

LRS = (0.001, 0.01, 0.1)
DASHES = {"SGD": "-", "Adam": "--"}  # sweep.csv lists SGD first
COLOURS = {"SGD": "C0", "Adam": "C1"}
FAMILIES = {"SGD": "Blues", "Adam": "Oranges"}  # C0's and C1's hues


def sweep_of_two_axes(folder):
    return make_sweep(folder, lrs=LRS, optimizers=("SGD", "Adam"), diverge_above=1.0)


def legend_looks(ax) -> dict[str, tuple]:
    """Legend text -> (rgba, linestyle) of its handle."""
    legend = ax.get_legend()
    return {t.get_text(): (to_rgba(h.get_color()), h.get_linestyle()) for t, h in zip(legend.get_texts(), legend.legend_handles)}


def test_each_optimizer_has_one_colour_and_dash_in_the_curves_and_the_sensitivity_panel(tmp_path):
    sweep = sweep_of_two_axes(tmp_path / "s")
    table = pd.read_csv(sweep / "sweep.csv")
    fig, _ = sweep_figure(sweep)
    curves_ax, sensitivity_ax = fig.axes[0], fig.axes[1]
    shown = legend_looks(curves_ax)
    for name in ("SGD", "Adam"):
        assert shown[f"optimizer.name={name}"] == (to_rgba(COLOURS[name]), DASHES[name])
    low, high = math.log(LRS[0]), math.log(LRS[-1])
    for index, row in table.iterrows():
        curve = line(fig, f"curve:{index}")
        name = row["optimizer.name"]
        assert curve.get_linestyle() == DASHES[name]
        # the lr as a shade of the optimizer's colour family: its light end (0.35) for the smallest lr, dark for the largest
        where = 0.35 + 0.65 * (math.log(row["optimizer.lr"]) - low) / (high - low)
        assert to_rgba(curve.get_color()) == pytest.approx(colormaps[FAMILIES[name]](where))
    for name in ("SGD", "Adam"):
        lines = [ln for ln in sensitivity_ax.get_lines() if str(ln.get_gid()).startswith(f"sensitivity:{name}:")]
        assert len(lines) == 2  # final train loss and best val loss
        assert {ln.get_linestyle() for ln in lines} == {DASHES[name]}  # the dash says the optimizer, not val
        assert {to_rgba(ln.get_color()) for ln in lines} == {to_rgba(COLOURS[name])}
        train, val = sorted(lines, key=lambda ln: ln.get_gid().endswith("best_val_loss"))
        assert (train.get_marker(), val.get_marker()) == ("o", "s") and train.get_linewidth() < val.get_linewidth()
    # the colour bar is the shade alone, in grey: no hue of its own to mistake for an optimizer's
    (bar,) = [a for a in curves_ax.child_axes if a.get_label() == "<colorbar>"]
    shades = bar._colorbar.cmap(np.linspace(0, 1, 5))
    np.testing.assert_allclose(shades[:, 0], shades[:, 1])
    np.testing.assert_allclose(shades[:, 1], shades[:, 2])
    assert shades[0, 0] > shades[-1, 0]  # darker is larger, as the curves' shades


def _with_noise_facets(folder):
    """The sweep with a data.noise axis whose 0.3 facet holds only Adam's rows."""
    sweep = sweep_of_two_axes(folder)
    table = pd.read_csv(sweep / "sweep.csv")
    table.insert(2, "data.noise", [0.1 if name == "SGD" or lr < 0.1 else 0.3
                                   for name, lr in zip(table["optimizer.name"], table["optimizer.lr"])])
    table.to_csv(sweep / "sweep.csv", index=False)
    return sweep


def test_a_facet_without_the_first_optimizer_keeps_each_optimizers_colour(tmp_path):
    fig, _ = sweep_figure(_with_noise_facets(tmp_path / "s"))
    lower = fig.axes[2:4]  # the sensitivity row: noise 0.1, noise 0.3
    drawn = [(str(ln.get_gid()).split(":")[1], ln) for ax in lower for ln in ax.get_lines()
             if str(ln.get_gid()).startswith("sensitivity:")]
    assert [name for name, ln in drawn if ln.axes is lower[1]] == ["Adam", "Adam"]
    # Adam alone in the 0.3 facet was drawn in C0, SGD's colour in the facet beside it
    assert [to_rgba(ln.get_color()) for _, ln in drawn] == [to_rgba(COLOURS[name]) for name, _ in drawn]
    assert [ln.get_linestyle() for _, ln in drawn] == [DASHES[name] for name, _ in drawn]


def test_slices_colour_each_optimizer_as_the_curves_do_not_by_its_rank(tmp_path):
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import plot_search

    sweep = sweep_of_two_axes(tmp_path / "s")
    table = pd.read_csv(sweep / "sweep.csv")
    adam = table["optimizer.name"] == "Adam"
    for column in ("final_train_loss", "best_val_loss"):  # Adam ranks first now; sweep.csv still lists SGD first
        table.loc[adam, column] = table.loc[adam, column] / 10
    table.to_csv(sweep / "sweep.csv", index=False)
    fig = plot_search(load_sweep(sweep, []), [])
    slices = [ax for ax in fig.axes[1:] if ax.get_legend() is not None and ax.get_xlabel()]
    assert [ax.get_xlabel() for ax in slices] == ["optimizer.name", "optimizer.lr"]
    for ax in slices:
        shown = legend_looks(ax)  # Adam was C0 here, the colour of the best-ranked first
        assert shown["optimizer.name=SGD"][0] == to_rgba("C0") and shown["optimizer.name=Adam"][0] == to_rgba("C1")
    assert legend_looks(fig.axes[0])["optimizer.name=Adam"] == (to_rgba("C1"), "--")


def test_slices_list_the_optimizers_in_sweep_csv_order_as_the_curves_do_not_by_rank(tmp_path):
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import plot_search

    sweep = sweep_of_two_axes(tmp_path / "s")
    table = pd.read_csv(sweep / "sweep.csv")
    adam = table["optimizer.name"] == "Adam"
    for column in ("final_train_loss", "best_val_loss"):  # Adam ranks first; sweep.csv lists SGD first
        table.loc[adam, column] = table.loc[adam, column] / 10
    table.to_csv(sweep / "sweep.csv", index=False)
    fig = plot_search(load_sweep(sweep, []), [])
    curves = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert curves == ["optimizer.name=SGD", "optimizer.name=Adam"]
    slices = [ax for ax in fig.axes[1:] if ax.get_legend() is not None and ax.get_xlabel()]
    assert len(slices) == 2
    for ax in slices:
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert texts[0].startswith("best: ") and texts[1:] == curves  # the star first, then sweep.csv's order
