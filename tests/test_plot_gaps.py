"""A NaN or inf mid-curve in metrics.csv is a gap in the drawn line (its y is NaN there, which matplotlib leaves
undrawn), not a straight line bridging it, in `plot` of a run or a sweep and in `compare`; an empty cell (a value
not logged at that step) is no gap; the warning names the line and the step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.test_plot import HEADER, cli, figure_of, line, make_run, make_sweep, sweep_figure
from tests.test_plot_fixes_b import compare_of

# train_loss 1/s, written nan at step 3 and inf at step 4; val_loss logged at steps 2, 4 and 6, nan at 4
LOSS = {1: "1.0", 2: "0.5", 3: "nan", 4: "inf", 5: "0.2", 6: "0.16666"}
VAL = {2: "0.6", 4: "nan", 6: "0.3"}
ROWS = [f"{s},{s / 2},0.1,{LOSS[s]},0.5,1.0,{VAL.get(s, '')},{'0.7' if s in VAL else ''},{s * 0.01}" for s in range(1, 7)]
NAN = math.nan


def gapped_run(folder):
    return make_run(folder, rows=ROWS)


def same(actual, expected) -> None:
    """Equal, NaN where NaN is expected."""
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=1e-9, equal_nan=True)


def test_a_run_plot_leaves_a_gap_at_the_nan_and_inf_and_the_warning_names_their_steps(tmp_path):
    run = gapped_run(tmp_path / "r")
    result = cli("plot", run)
    assert result.exit_code == 0, result.stderr
    assert ("column train_loss is NaN/inf before the last row (line 4, 5, step 3, 4); drawn as a gap in its curve"
            in result.stderr), result.stderr
    assert "column val_loss is NaN/inf before the last row (line 5, step 4)" in result.stderr
    fig, _ = figure_of(run)
    train, val = line(fig, "train_loss"), line(fig, "val_loss")
    same(train.get_xdata(), [1, 2, 3, 4, 5, 6])
    same(train.get_ydata(), [1.0, 0.5, NAN, NAN, 0.2, 0.16666])
    # the empty cells of steps 1, 3, 5 are steps val_loss was not logged at: left out, not gaps
    same(val.get_xdata(), [2, 4, 6])
    same(val.get_ydata(), [0.6, NAN, 0.3])
    # drawn as two pieces: the path matplotlib renders has a move-to after the gap, not a line through it
    codes = [code for _, code in train.get_path().cleaned(remove_nans=True).iter_segments()]
    assert codes.count(1) == 2, codes  # Path.MOVETO at step 1 and again at step 5


@pytest.mark.parametrize("x, xs", [("step", [1, 2, 3, 4, 5, 6]), ("epoch", [0.5, 1, 1.5, 2, 2.5, 3])])
def test_compare_leaves_the_same_gap(tmp_path, x, xs):
    fig = compare_of([gapped_run(tmp_path / "r")], "train_loss", x)
    drawn = line(fig, "compare:0")
    same(drawn.get_xdata(), xs)
    same(drawn.get_ydata(), [1.0, 0.5, NAN, NAN, 0.2, 0.16666])
    val = line(compare_of([gapped_run(tmp_path / "v")], "val_loss", x), "compare:0")
    same(val.get_ydata(), [0.6, NAN, 0.3])


def test_compare_of_accuracies_with_a_gap_keeps_its_axis_over_every_value(tmp_path):
    rows = [r.replace(",0.5,1.0,", ",nan,1.0,") if r.startswith("3,") else r for r in ROWS]
    fig = compare_of([make_run(tmp_path / "r", rows=rows)], "train_accuracy")
    same(line(fig, "compare:0").get_ydata(), [0.5, 0.5, NAN, 0.5, 0.5, 0.5])
    assert fig.axes[0].get_ylim() == (0.0, 1.02)
    rows[4] = rows[4].replace(",0.5,1.0,", ",1.5,1.0,")  # a hand-edited 1.5 after the gap stays in sight
    fig = compare_of([make_run(tmp_path / "h", rows=rows)], "train_accuracy")
    assert fig.axes[0].get_ylim() == (0.0, 1.5)


def test_smoothing_skips_the_gap_instead_of_turning_the_rest_nan(tmp_path):
    from gdlab.plotting.load import load_run
    from gdlab.plotting.run_plot import plot_run

    fig = plot_run(load_run(gapped_run(tmp_path / "r"), []), smooth=0.5)
    smoothed = np.asarray(line(fig, "train_loss").get_ydata(), dtype=float)
    finite = [1.0, 0.5, 0.2, 0.16666]  # the moving average over the values there are, written out
    expected, s = [], 0.0
    for t, value in enumerate(finite, start=1):
        s = 0.5 * s + 0.5 * value
        expected.append(s / (1 - 0.5**t))
    same(smoothed, expected[:2] + [NAN, NAN] + expected[2:])


def test_a_sweep_curve_leaves_the_gap_too(tmp_path):
    sweep = make_sweep(tmp_path / "s", lrs=(0.01, 0.1))
    variant = next(p for p in sweep.iterdir() if p.is_dir() and "lr=0.1_" in p.name)
    (variant / "metrics.csv").write_text(HEADER + "\n" + "\n".join(ROWS) + "\n")
    fig, warnings = sweep_figure(sweep)
    assert any("step 3, 4" in w and "gap" in w for w in warnings), warnings
    same(line(fig, "curve:1").get_ydata(), [1.0, 0.5, NAN, NAN, 0.2, 0.16666])


@pytest.mark.parametrize("command", ["plot", "compare"])
def test_a_nan_epoch_mid_file_is_a_gap_against_epochs_and_the_warning_names_its_step(tmp_path, command):
    rows = [r.replace("3,1.5,", "3,nan,", 1) if r.startswith("3,") else r for r in ROWS]
    rows = [r.replace(",nan,0.5,", ",0.3,0.5,").replace(",inf,0.5,", ",0.25,0.5,") for r in rows]  # loss finite
    run = make_run(tmp_path / "r", rows=rows)
    result = cli(command, run, "--x", "epoch", "-o", tmp_path / "e.png")
    assert result.exit_code == 0, result.stderr
    assert "column epoch is NaN/inf before the last row (line 4, step 3); drawn as a gap" in result.stderr
    if command == "plot":
        from gdlab.plotting.load import load_run
        from gdlab.plotting.run_plot import plot_run

        drawn = line(plot_run(load_run(run, []), x="epoch"), "train_loss")
    else:
        drawn = line(compare_of([run], "train_loss", "epoch"), "compare:0")
    same(drawn.get_xdata(), [0.5, 1, NAN, 2, 2.5, 3])  # step 3 is no point, and 1 is not joined to 2
    same(drawn.get_ydata(), [1.0, 0.5, NAN, 0.25, 0.2, 0.16666])
    codes = [code for _, code in drawn.get_path().cleaned(remove_nans=True).iter_segments()]
    assert codes.count(1) == 2, codes  # Path.MOVETO at step 1 and again at step 4


def test_a_divergence_right_after_a_gap_marks_the_last_finite_value_not_the_gap(tmp_path):
    """train_loss NaN at step 5 (a gap), inf at step 6 where the run diverged: the ✕ sits at step 4's height, 0.25;
    at the gap's NaN it would not be drawn at all."""
    import json

    rows = [f"{s},{s / 2},0.1,{1 / s},0.5,1.0,,,{s * 0.01}" for s in range(1, 5)]
    rows += ["5,2.5,0.1,nan,0.5,1.0,,,0.05", "6,3,0.1,inf,0.5,inf,,,0.06"]
    run = make_run(tmp_path / "r", rows=rows, status="diverged")
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps(summary | {"diverged_at_step": 6}))
    mark = line(compare_of([run], "train_loss"), "diverged:0")
    assert list(mark.get_xdata()) == [6] and list(mark.get_ydata()) == [0.25]
    assert mark.get_transform() is mark.axes.transData  # at a loss, not pinned to the top edge


@pytest.mark.parametrize("command", ["plot", "compare"])
@pytest.mark.parametrize("x", ["step", "epoch"])
def test_a_nan_x_column_not_drawn_against_is_said_to_break_no_curve(tmp_path, command, x):
    """wall_s written NaN at step 3 (and epoch too, when the step axis is drawn): the warning says no curve breaks
    there, and none does: the curve drawn is one unbroken line (a single MOVETO)."""
    rows = [r.replace(",nan,0.5,", ",0.3,0.5,").replace(",inf,0.5,", ",0.25,0.5,") for r in ROWS]  # loss finite
    rows = [r.rsplit(",", 1)[0] + ",nan" if r.startswith("3,") else r for r in rows]
    if x == "step":
        rows = [r.replace("3,1.5,", "3,nan,", 1) if r.startswith("3,") else r for r in rows]
    run = make_run(tmp_path / "r", rows=rows)
    result = cli(command, run, "--x", x, "-o", tmp_path / "e.png")
    assert result.exit_code == 0, result.stderr
    said = [w for w in result.stderr.splitlines() if "column epoch" in w or "column wall_s" in w]
    assert said == [f"gdlab: warning: {run / 'metrics.csv'}: column {name} is NaN/inf before the last row (line 4, "
                    f"step 3); the curves, drawn against {x}, do not break there"
                    for name in (["epoch"] if x == "step" else []) + ["wall_s"]], result.stderr
    if command == "plot":
        from gdlab.plotting.load import load_run
        from gdlab.plotting.run_plot import plot_run

        drawn = line(plot_run(load_run(run, [], x), x=x), "train_loss")
    else:
        drawn = line(compare_of([run], "train_loss", x), "compare:0")
    codes = [code for _, code in drawn.get_path().cleaned(remove_nans=True).iter_segments()]
    assert codes.count(1) == 1, codes


def test_runs_draws_no_curve_so_its_warning_claims_no_gap(tmp_path):
    rows = [r.replace("3,1.5,", "3,nan,", 1) if r.startswith("3,") else r for r in ROWS]
    make_run(tmp_path / "runs" / "r", rows=rows, summary=False)  # no summary.json: gdlab runs reads metrics.csv
    result = cli("runs", tmp_path / "runs")
    assert result.exit_code == 0, result.stderr
    said = [w for w in result.stderr.splitlines() if "before the last row" in w]
    assert said and all(w.endswith(")") for w in said), said  # "(line 4, step 3)", then nothing about a curve
    assert any("column epoch is NaN/inf before the last row (line 4, step 3)" in w for w in said), said
