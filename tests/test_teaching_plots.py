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
