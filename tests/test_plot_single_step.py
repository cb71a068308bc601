"""A run of one logged step (steps: 1, or diverged or stopped at step 1) gets one whole-number step tick,
not ten at 0.945, 0.96 ... 1.05 around it."""

from __future__ import annotations

from tests.test_plot import make_run
from tests.test_plot_fixes_b import compare_of, diverged_run


def _step_ticks(fig, ax) -> list[float]:
    fig.canvas.draw()
    lo, hi = ax.get_xlim()
    return [float(t) for t in ax.get_xticks() if lo <= t <= hi]


def test_a_one_step_run_has_one_whole_step_tick(tmp_path):
    from gdlab.plotting.load import load_run
    from gdlab.plotting.run_plot import plot_run

    for run in (diverged_run(tmp_path / "diverged", at=1), make_run(tmp_path / "one", steps=1)):
        fig = plot_run(load_run(run, []))
        assert _step_ticks(fig, fig.axes[-1]) == [1.0], run


def test_compare_of_one_step_runs_has_whole_step_ticks(tmp_path):
    runs = [make_run(tmp_path / "a", steps=1), make_run(tmp_path / "b", steps=1, lr=0.5)]
    fig = compare_of(runs, "train_loss")
    assert _step_ticks(fig, fig.axes[0]) == [1.0]
