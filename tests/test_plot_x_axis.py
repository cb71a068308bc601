"""`gdlab plot --x epoch`: a run's and a sweep's curves against epochs, at the x compare gives them, and a
one-line refusal where the x axis is no step (an lr-find's lr, a boundary's features)."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import yaml

from tests.helpers import TINY, invoke, one_error_line
from tests.test_plot import line, make_run
from tests.test_plot_fixes_b import compare_of, diverged_run
from tests.test_plot_more import make_lrfind

# 72 training rows (96 x 0.75): batches of 24 are 3 steps per epoch, of 36 two
CONFIG = {**TINY, "train": {"steps": 12, "batch_size": 24, "eval_every": 4, "device": "cpu"}}


def steps_per_epoch(run) -> float:
    """From summary.json, not metrics.csv: its steps over its epochs."""
    summary = json.loads((run / "summary.json").read_text())
    return summary["steps"] / summary["epochs"]


def test_a_trained_runs_curves_are_drawn_at_step_over_steps_per_epoch(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(CONFIG))
    assert invoke("train", tmp_path / "c.yaml", "--run-dir", tmp_path / "run", "-q").exit_code == 0
    run = tmp_path / "run"
    per_epoch = steps_per_epoch(run)
    assert per_epoch == math.ceil(72 / 24)  # the config's batches agree
    result = invoke("plot", run, "--x", "epoch", "-o", tmp_path / "e.png")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "e.png").stat().st_size > 0
    from gdlab.plotting.load import load_run
    from gdlab.plotting.run_plot import plot_run

    fig = plot_run(load_run(run, []), x="epoch")
    np.testing.assert_allclose(line(fig, "train_loss").get_xdata(), np.arange(1, 13) / per_epoch, rtol=1e-6)
    np.testing.assert_allclose(line(fig, "val_loss").get_xdata(), np.array([4, 8, 12]) / per_epoch, rtol=1e-6)
    assert [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()] == ["epoch"]  # the panels share it
    # what compare draws for the same run and --x
    np.testing.assert_allclose(line(compare_of([run], "train_loss", "epoch"), "compare:0").get_xdata(),
                               line(fig, "train_loss").get_xdata())


def test_a_sweeps_curves_are_each_at_their_own_variants_epochs(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(CONFIG))
    done = invoke("sweep", tmp_path / "c.yaml", "train.batch_size=24,36", "--run-dir", tmp_path / "sw", "-q")
    assert done.exit_code == 0, done.stderr
    sweep = tmp_path / "sw"
    result = invoke("plot", sweep, "--x", "epoch", "-o", tmp_path / "s.png")
    assert result.exit_code == 0, result.stderr
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.sweep_plot import plot_sweep

    from gdlab.plotting.search_plot import plot_search

    with open(sweep / "sweep.csv", newline="") as table:
        per_epoch = {i: steps_per_epoch(sweep / row["run_dir"]) for i, row in enumerate(csv.DictReader(table))}
    assert sorted(per_epoch.values()) == [2, 3]
    for draw in (plot_sweep, plot_search):  # the default figure, and --slices' (a search's) curves
        fig = draw(load_sweep(sweep, []), [], along="epoch")
        for i, spe in per_epoch.items():
            np.testing.assert_allclose(line(fig, f"curve:{i}").get_xdata(), np.arange(1, 13) / spe, rtol=1e-6)
        assert fig.axes[0].get_xlabel() == "epoch"


def test_the_divergence_line_sits_at_its_steps_epoch(tmp_path):
    run = diverged_run(tmp_path / "d", at=7)  # epoch = step / 10 in its metrics.csv
    from gdlab.plotting.load import load_run
    from gdlab.plotting.run_plot import plot_run

    fig = plot_run(load_run(run, []), x="epoch")
    assert list(line(fig, "diverged_line").get_xdata()) == [0.7, 0.7]
    assert list(line(fig, "diverged").get_xdata()) == [0.7]


@pytest.mark.parametrize("x", ["epoch", "step"])
def test_x_on_an_lrfind_folder_is_one_line_exit_2_and_writes_nothing(tmp_path, x):
    folder = make_lrfind(tmp_path / "lrf")
    one_error_line(invoke("plot", folder, "--x", x), 2, f"--x {x}", "an lr-find folder")
    assert not (folder / "lr_find.png").exists()


def test_x_with_boundary_is_one_line_exit_2(tmp_path):
    run = make_run(tmp_path / "r")
    one_error_line(invoke("plot", run, "--boundary", "--x", "epoch"), 2, "--x epoch", "--boundary")
    assert not (run / "boundary.png").exists()


def test_a_run_without_an_epoch_column_is_one_line_exit_2(tmp_path):
    rows = [f"{s},0.1,{1 / s}" for s in range(1, 5)]
    run = make_run(tmp_path / "r", text="step,lr,train_loss\n" + "\n".join(rows) + "\n")
    one_error_line(invoke("plot", run, "--x", "epoch"), 2, str(run / "metrics.csv"), "no epoch column")
    assert not (run / "loss.png").exists()
    assert invoke("plot", run).exit_code == 0  # against steps it draws as before


def test_a_sweep_without_epoch_columns_says_what_is_missing_not_unreadable(tmp_path):
    import pandas as pd

    (tmp_path / "c.yaml").write_text(yaml.safe_dump({**CONFIG, "train": {**CONFIG["train"], "steps": 4}}))
    done = invoke("sweep", tmp_path / "c.yaml", "optimizer.lr=0.01,0.1", "--run-dir", tmp_path / "sw", "-q")
    assert done.exit_code == 0, done.stderr
    sweep = tmp_path / "sw"
    for metrics in sweep.glob("*/metrics.csv"):  # read back fine, but without the column
        pd.read_csv(metrics).drop(columns="epoch").to_csv(metrics, index=False)
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.sweep_plot import plot_sweep

    warnings: list[str] = []
    fig = plot_sweep(load_sweep(sweep, []), warnings, along="epoch")
    assert len(warnings) == 2 and all("no epoch column" in w for w in warnings)
    (note,) = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "no_finite"]
    assert "no epoch column" in note and "--x step" in note and "could be read" not in note
    result = invoke("plot", sweep, "--x", "epoch", "-o", tmp_path / "s.png")
    assert result.exit_code == 0, result.stderr


def test_a_search_without_epoch_columns_says_what_is_missing_too(tmp_path):
    import pandas as pd

    (tmp_path / "c.yaml").write_text(yaml.safe_dump({**CONFIG, "train": {**CONFIG["train"], "steps": 4}}))
    done = invoke("sweep", tmp_path / "c.yaml", "optimizer.lr=loguniform(0.01,0.1)", "--samples", "2",
                  "--run-dir", tmp_path / "sw", "-q")
    assert done.exit_code == 0, done.stderr
    for metrics in (tmp_path / "sw").glob("*/metrics.csv"):
        pd.read_csv(metrics).drop(columns="epoch").to_csv(metrics, index=False)
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import plot_search

    fig = plot_search(load_sweep(tmp_path / "sw", []), [], along="epoch")
    (note,) = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "no_finite"]
    assert "no epoch column" in note and "--x step" in note


@pytest.mark.parametrize("stop", ["stopped_early", "pruned"])
def test_the_stop_and_best_weights_marks_sit_at_their_steps_epoch(tmp_path, stop):
    """Early stopping's (or a rung's) line and restore_best_weights' star, at 4 steps per epoch: step 10 is epoch
    2.5, step 5 epoch 1.25 (drawn at the step itself, they sat 4x too far right)."""
    rows = [f"{s},{s / 4},0.1,{1 / s:.6g},0.5,1.0,{f'{1.2 / s:.6g}' if s % 5 == 0 else ''},,{s * 0.01}"
            for s in range(1, 11)]
    run = make_run(tmp_path / "r", rows=rows)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps(summary | {f"{stop}_at_step": 10, "restored_best_from_step": 5}))
    from gdlab.plotting.load import load_run
    from gdlab.plotting.run_plot import plot_run

    fig = plot_run(load_run(run, []), x="epoch")
    assert list(line(fig, stop).get_xdata()) == [2.5, 2.5]
    assert list(line(fig, "restored_best").get_xdata()) == [1.25]
    assert list(line(fig, "restored_best").get_ydata()) == [pytest.approx(1.2 / 5)]
    assert line(fig, stop).get_label() == f"{stop.replace('_', ' ')} at step 10"  # the legend still says the step


def test_a_sweep_variant_without_an_epoch_column_is_left_out_with_a_warning(tmp_path):
    """Its curve is left out and named in a warning, as compare --x epoch leaves it out; the others are drawn."""
    from tests.test_plot import make_sweep

    sweep = make_sweep(tmp_path / "s", lrs=(0.01, 0.1))
    variant = next(p for p in sorted(sweep.iterdir()) if p.is_dir())
    rows = [f"{s},0.1,{1 / s}" for s in range(1, 5)]
    (variant / "metrics.csv").write_text("step,lr,train_loss\n" + "\n".join(rows) + "\n")
    result = invoke("plot", sweep, "--x", "epoch", "-o", tmp_path / "s.png")
    assert result.exit_code == 0, result.stderr
    assert f"{variant / 'metrics.csv'}: no epoch column; its curve is left out" in result.stderr
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.sweep_plot import plot_sweep

    fig = plot_sweep(load_sweep(sweep, []), [], along="epoch")
    drawn = sorted(ln.get_gid() for ax in fig.axes for ln in ax.get_lines() if str(ln.get_gid()).startswith("curve:"))
    assert drawn == ["curve:1"]
    np.testing.assert_allclose(line(fig, "curve:1").get_xdata(), [(s - 1) // 10 for s in range(1, 21)])
