"""Plots a student reads in docs/concepts.md: sharpness compared across runs, and the stability edge a
sweep's sensitivity panel predicts when its seeds start at different sharpness."""

from __future__ import annotations

import pytest

from tests.test_plot import make_run
from tests.test_plot_fixes_b import compare_of


def sharpness_run(folder, values, lr=0.06):
    header = "step,epoch,lr,train_loss,grad_norm,sharpness,wall_s"
    rows = [f"{s},0,{lr},{1 / s},1.0,{v},{s}" for s, v in enumerate(values, 1)]
    return make_run(folder, rows=rows, header=header)


@pytest.mark.parametrize("values, scale", [((11.8, 21.8, 31.4, 34.8), "linear"), ((0.5, 3, 30, 35), "log")])
def test_compare_draws_a_sharpness_within_a_decade_on_a_linear_axis(tmp_path, values, scale):
    """The edge-of-stability climb 11.8 -> 34.8 on a log axis had ticks at 20 and 30 only: the start could
    not be read. As in `gdlab plot`'s sharpness panel, within a decade the axis is linear."""
    runs = [sharpness_run(tmp_path / "a", values), sharpness_run(tmp_path / "b", [v * 0.9 for v in values], lr=0.04)]
    ax = compare_of(runs, "sharpness").axes[0]
    assert ax.get_yscale() == scale
    ys = sorted(y for line in ax.get_lines() for y in line.get_ydata())
    assert ys[0] == pytest.approx(values[0] * 0.9) and ys[-1] == pytest.approx(values[-1])


def test_a_sweeps_edge_over_seeds_of_different_sharpness_is_labelled_a_mean_with_its_range(tmp_path):
    """The linear-regression sweep of docs/concepts.md on seeds 0,1,2: init_sharpness 2.125, 2.077 and 2.186,
    edges 0.941, 0.963 and 0.915. The line at their mean was labelled `2 / init sharpness = 0.94`, which no
    row's 2/init_sharpness gives, and an lr of 0.93 between them read as safely below the edge."""
    from tests.test_plot import line, make_sweep, sweep_figure

    sharpness = [2.0, 2.5]  # seed 0, seed 1: edges 1.0 and 0.8
    sweep = make_sweep(tmp_path / "sweep-x", seeds=(0, 1), extra_columns={"init_sharpness": sharpness * 4})
    fig, _ = sweep_figure(sweep)
    edge = line(fig, "stability_edge")
    assert edge.get_xdata() == pytest.approx([0.9, 0.9])
    assert edge.get_label() == "2 / init sharpness = 0.9 (mean over seeds: 0.8 to 1)"
    (band,) = [p for ax in fig.axes for p in ax.patches if p.get_gid() == "stability_edge:range"]
    assert (band.get_x(), band.get_x() + band.get_width()) == pytest.approx((2 / 2.5, 2 / 2.0))
    # one sharpness for every seed: one number, no band
    same = make_sweep(tmp_path / "sweep-y", seeds=(0, 1), extra_columns={"init_sharpness": [2.0] * 8})
    fig, _ = sweep_figure(same)
    assert line(fig, "stability_edge").get_label() == "2 / init sharpness = 1"
    assert not [p for ax in fig.axes for p in ax.patches if p.get_gid() == "stability_edge:range"]


@pytest.mark.parametrize("lrs, edge, ticks", [
    ((0.02, 0.04, 0.06), 0.17, [0.02, 0.04, 0.06, 0.17]),  # configs/edge_of_stability.yaml swept below its edge
    ((0.3, 0.9, 1.0, 1.5), 0.941, [0.3, 0.9, 1.0, 1.5]),  # docs/concepts.md: among the swept lrs, unticked
])
def test_an_edge_beyond_the_swept_lrs_gets_a_tick(tmp_path, lrs, edge, ticks):
    """Ticked at 0.02, 0.04 and 0.06 only, the axis ran on to the edge line at 0.17 with nothing to read it by."""
    from tests.test_plot import line, make_sweep, sweep_figure

    sweep = make_sweep(tmp_path / "sweep-x", lrs=lrs, diverge_above=2.0,
                       extra_columns={"init_sharpness": [2 / edge] * len(lrs)})
    fig, _ = sweep_figure(sweep)
    panel = line(fig, "stability_edge").axes
    assert list(panel.get_xticks()) == pytest.approx(ticks)
    fig.canvas.draw()
    assert [t.get_text() for t in panel.get_xticklabels()] == [f"{t:.3g}" for t in ticks]
