"""gdlab plot / compare / runs: OS errors on user paths, readable compare legends whatever differs, and
lr-find folders (plotted against lr, listed by `runs`)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.plotting.load import load_run
from tests.test_plot import BASE_CONFIG, figure_of, line, make_run, make_sweep, png_size

RUNNER = CliRunner()
LONG = "a" * 300  # one path component over the 255-byte NAME_MAX of every common file system


def cli(*args):
    """Run gdlab; fail on a traceback or on a warning that reached Python's warning machinery (raw on stderr)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = RUNNER.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert not caught, [str(w.message) for w in caught]
    return result


def one_line_error(result, *words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stderr.startswith("gdlab: error:") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:  # GdlabError shortens long paths to their start and end: check the start
        assert (word if len(word) <= 60 else word[:30]) in result.stderr, (word, result.stderr)


# ---------------------------------------------------------------- OS errors on user-given paths
@pytest.mark.parametrize("command", ["plot", "compare", "runs"])
def test_a_too_long_folder_name_is_one_line_exit_2(tmp_path, command):
    target = tmp_path / LONG
    one_line_error(cli(command, target), str(target), "name too long", "255")


def test_a_path_over_the_path_limit_names_that_limit(tmp_path):
    target = tmp_path.joinpath(*["b" * 200] * 30)  # each name allowed, the whole path not
    one_line_error(cli("runs", target), str(target), "name too long", "per path")


def test_a_too_long_output_name_is_one_line_exit_2_before_any_reading(tmp_path):
    run = make_run(tmp_path / "run")
    target = tmp_path / f"{LONG}.png"
    for args in (("plot", run), ("compare", run)):
        one_line_error(cli(*args, "-o", target), str(target), "name too long")
    assert not (run / "loss.png").exists()


def test_an_output_name_that_nearly_fills_255_bytes_is_written(tmp_path):
    """The temp file next to it must not be longer than the name the user chose."""
    run = make_run(tmp_path / "run")
    target = tmp_path / ("b" * 251 + ".png")
    result = cli("plot", run, "-o", target)
    assert result.exit_code == 0, result.stderr
    assert png_size(target) and sorted(p.name for p in tmp_path.iterdir()) == sorted(["run", target.name])


def test_a_path_through_a_file_is_one_line_exit_2(tmp_path):
    (tmp_path / "file").write_text("x")
    one_line_error(cli("runs", tmp_path / "file" / "runs"), "file/runs")
    one_line_error(cli("plot", make_run(tmp_path / "run"), "-o", tmp_path / "file" / "x.png"), "file/x.png")


def test_save_figure_turns_matplotlib_warnings_into_gdlab_warnings(tmp_path):
    from matplotlib.figure import Figure

    from gdlab.plotting.output import save_figure

    fig = Figure(figsize=(2, 2), layout="constrained")  # a legend far wider than the figure collapses the layout
    fig.subplots().plot([1, 2], label="x" * 400)
    fig.legend(loc="outside right upper")
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        save_figure(fig, tmp_path / "f.png", 50, notes)
    assert not caught
    assert any("constrained_layout not applied" in n and "f.png" in n for n in notes), notes


# ---------------------------------------------------------------- compare: labels and layout
def config(name: str, lr: float, widths: list[int], n_samples: int, **train) -> dict:
    layers: list = []
    for a, b in zip(widths, widths[1:]):
        layers += [{"Linear": {"in_features": a, "out_features": b, "bias": True}}, "Tanh"]
    return {**BASE_CONFIG, "name": name, "model": layers[:-1],
            "data": {**BASE_CONFIG["data"], "n_samples": n_samples}, "optimizer": {**BASE_CONFIG["optimizer"], "lr": lr},
            "train": {**BASE_CONFIG["train"], **train}}


def compare_figure(paths):
    from gdlab.plotting.compare import plot_compare
    from gdlab.plotting.load import load_runs

    notes: list[str] = []
    details: list[str] = []
    fig = plot_compare(load_runs(paths, notes), "train_loss", "step", notes, details=details)
    fig.draw_without_rendering()  # runs the layout, so positions are what the saved image shows
    return fig, details


def geometry(fig):
    """(axes width, axes height) in inches, and whether every legend lies inside the figure."""
    ax = fig.axes[0]
    box = ax.get_position()
    legends = fig.legends + [ax.get_legend()] * (ax.get_legend() is not None)
    inside = all(fig.bbox.x0 - 1 <= lg.get_window_extent().x0 and lg.get_window_extent().x1 <= fig.bbox.x1 + 1
                 and lg.get_window_extent().y0 >= fig.bbox.y0 - 1 for lg in legends)
    return box.width * fig.get_figwidth(), box.height * fig.get_figheight(), inside


def legend_texts(fig) -> list[str]:
    legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
    return [t.get_text() for t in legend.get_texts()]


def test_compare_of_two_very_different_configs_keeps_labels_short_and_the_axes_usable(tmp_path):
    a = make_run(tmp_path / "a", config=config("sine-gd", 0.1, [1, 32, 1], 400))
    b = make_run(tmp_path / "b", config=config("edge", 0.06, [1, 32, 32, 1], 250, sharpness_every=50))
    result = cli("compare", a, b, "-o", tmp_path / "c.png")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # no raw matplotlib warning, no gdlab warning either

    fig, details = compare_figure([a, b])
    labels = legend_texts(fig)
    assert [line(fig, f"compare:{i}").get_label() for i in (0, 1)] == labels
    for label, name, lr in zip(labels, ("sine-gd", "edge"), ("0.1", "0.06")):
        assert label.startswith(f"{name}: optimizer.lr={lr},")  # the name, then the optimizer first
        assert label.count("=") == 3 and label.endswith("more") and len(label) < 90, label
    width, height, inside = geometry(fig)
    assert width >= 6.0 and height >= 3.5 and inside
    # Every differing key is still available, on the terminal.
    assert "model.4.Linear.bias=unset" in result.stdout and "model.4.Linear.bias=true" in result.stdout
    assert "train.sharpness_every=50" in " ".join(details)


def test_compare_of_a_big_sweep_and_a_run_fits_its_legend_and_names_curves_by_lr_and_seed(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x", lrs=tuple(10.0 ** k for k in range(-4, 5)), seeds=(0, 1), diverge_above=50)
    run = make_run(tmp_path / "run", config=config("sine-gd", 0.1, [1, 32, 1], 400))
    result = cli("compare", sweep, run, "-o", tmp_path / "c.png")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""

    fig, details = compare_figure([sweep, run])
    labels = legend_texts(fig)
    assert len(labels) == 19 and len(set(labels)) == 19
    assert labels[0].startswith("moons-sgd: optimizer.lr=0.0001, seed=0, ")
    assert labels[-1].startswith("sine-gd: optimizer.lr=0.1, seed=0, ")
    width, height, inside = geometry(fig)
    assert width >= 6.0 and height >= 3.5 and inside
    # Ten colours: the eleventh curve on is told apart by its dashes.
    assert line(fig, "compare:0").get_linestyle() != line(fig, "compare:10").get_linestyle()
    assert len(details) == 2 and "17 more with the same values left out" in details[0]  # the sweep's variants share one line


def test_compare_of_many_curves_colours_them_and_keeps_the_axes(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x", lrs=tuple(round(10 ** (-4 + k / 10), 8) for k in range(30)), seeds=(0, 1, 2))
    fig, _ = compare_figure([sweep])
    assert not fig.legends and fig.axes[0].get_legend() is None  # 90 curves: a colour bar, not 90 entries
    assert fig.axes[-1].get_ylabel() == "optimizer.lr"
    width, height, inside = geometry(fig)
    assert width >= 6.0 and height >= 3.5 and inside


def test_a_legend_beside_the_axes_too_tall_for_one_column_takes_several_and_keeps_the_axes():
    from matplotlib.lines import Line2D

    from gdlab.plotting.output import legend_beside, new_figure

    fig = new_figure(9.0, 5.5)
    ax = fig.subplots()
    handles = [Line2D([], [], color=f"C{i % 10}") for i in range(90)]
    legend = legend_beside(fig, ax, (7.0, 4.3), handles=(handles, [f"seed={i % 3}, optimizer.lr={i}" for i in range(90)]))
    fig.draw_without_rendering()
    assert legend._ncols > 1 and legend.get_window_extent().height <= fig.bbox.height
    width, height, inside = geometry(fig)
    assert width >= 6.0 and height >= 3.5 and inside


def test_pick_keys_prefers_what_tells_curves_apart_then_fills_its_slots():
    from gdlab.plotting.labels import pick_keys

    flats = [{"optimizer.lr": lr, "seed": s, "loss.name": "CE", "data.name": "moons"} for lr in (1, 2, 3) for s in (0, 1)]
    flats.append({"optimizer.lr": 0.5, "seed": 0, "loss.name": "MSE", "data.name": "sine"})
    keys = ["data.name", "seed", "loss.name", "optimizer.lr"]
    # a value most curves share still differs: a free slot names it rather than hide it
    assert pick_keys(keys, flats) == ["optimizer.lr", "seed", "loss.name"]
    assert pick_keys(keys, flats[:2] + flats[-1:], limit=1) == ["optimizer.lr"]


def test_sgd_against_adam_is_labelled_by_the_optimizer_not_by_keys_one_of_them_lacks():
    from gdlab.plotting.labels import curve_labels

    sgd = {"name": "m", "optimizer": {"name": "SGD", "lr": 0.1, "momentum": 0.0, "nesterov": False}}
    adam = {"name": "m", "optimizer": {"name": "Adam", "lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "amsgrad": False}}
    labels, hidden = curve_labels([sgd, adam], ["a", "b"])
    # SGD's momentum and Adam's betas follow from the kind: no `+6 more` of them, no `unset`
    assert (labels, hidden) == (["optimizer.name=SGD", "optimizer.name=Adam"], ["", ""])
    slow = {**adam, "optimizer": {**adam["optimizer"], "lr": 0.01}}
    labels, _ = curve_labels([sgd, adam, slow], ["a", "b", "c"])
    assert labels == ["optimizer.name=SGD, optimizer.lr=0.1", "optimizer.name=Adam, optimizer.lr=0.1",
                      "optimizer.name=Adam, optimizer.lr=0.01"]


# ---------------------------------------------------------------- lr-find folders
LRS = [1e-5 * 10 ** (k / 4) for k in range(21)]  # 1e-5 .. 1, a quarter decade a step


def make_lrfind(folder: Path, result: dict | None | str = None, rows: list[str] | None = None) -> Path:
    """An lr-find folder as gdlab lr-find writes it: a U-shaped loss, NaN once it blew up, and lr_find.json."""
    folder.mkdir(parents=True)
    if rows is None:
        losses = [1.0 - 0.8 * math.exp(-((math.log10(lr) + 1.5) ** 2)) for lr in LRS[:-1]] + [math.nan]
        rows = [f"{i + 1},{lr!r},{loss!r},{loss * 1.01!r}" for i, (lr, loss) in enumerate(zip(LRS, losses))]
    (folder / "lr_find.csv").write_text("step,lr,loss,smoothed_loss\n" + "".join(r + "\n" for r in rows))
    if result is None:
        result = {"suggested_lr": 0.01, "min_loss_lr": 0.0316, "conservative_lr": 0.00316, "steps": len(rows),
                  "stopped_early": True, "loss_still_falling": False, "note": "heuristic", "a_future_key": [1, 2]}
    if result != "absent":
        (folder / "lr_find.json").write_text(result if isinstance(result, str) else json.dumps(result))
    (folder / "config.yaml").write_text(yaml.safe_dump({**BASE_CONFIG, "name": "moons-lrf"}))
    return folder


def lrfind_figure(folder: Path):
    from gdlab.plotting.lrfind_data import load_lr_find
    from gdlab.plotting.lrfind_plot import plot_lr_find

    notes: list[str] = []
    return plot_lr_find(load_lr_find(folder, notes)), notes


def test_plot_an_lr_find_folder_draws_loss_against_lr_with_both_lrs_marked(tmp_path):
    folder = make_lrfind(tmp_path / "lr-find-2026-11-26_10-00-00")
    result = cli("plot", folder)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "" and png_size(folder / "lr_find.png")

    fig, notes = lrfind_figure(folder)
    assert notes == []
    loss, smoothed = line(fig, "loss"), line(fig, "smoothed_loss")
    np.testing.assert_allclose(loss.get_xdata(), LRS[:-1])  # the NaN of the blow-up is not drawn
    np.testing.assert_allclose(smoothed.get_ydata(), loss.get_ydata() * 1.01)
    assert loss.axes.get_xscale() == "log"
    assert list(line(fig, "suggested_lr").get_xdata()) == [0.01, 0.01]
    assert list(line(fig, "min_loss_lr").get_xdata()) == [0.0316, 0.0316]
    texts = [t.get_text() for t in loss.axes.get_legend().get_texts()]
    assert "suggested lr = 0.01 (steepest fall: a heuristic)" in texts and "min-loss lr = 0.0316" in texts
    assert cli("plot", folder / "lr_find.csv", "-o", tmp_path / "x.svg").exit_code == 0  # naming its file works


@pytest.mark.parametrize("result, marks, title, warning", [
    ({"min_loss_lr": 0.0316}, ["min_loss_lr"], "", None),  # a key missing: nothing to mark for it
    ({"suggested_lr": None, "min_loss_lr": 0.0316}, ["min_loss_lr"], "no suggestion", None),
    ({"suggested_lr": 0.1, "min_loss_lr": 1.0, "loss_still_falling": True}, ["suggested_lr", "min_loss_lr"],
     "lower bound", None),
    ({"suggested_lr": "fast", "min_loss_lr": -1, "loss_still_falling": "yes"}, [], "no suggestion", "is not a positive number"),
    ('{"suggested_lr": 0.0', [], "", "lr_find.json: not valid JSON"),
    ("[0.01]", [], "", "expected a JSON object"),
    ("absent", [], "", "lr_find.json: missing"),
])
def test_lr_find_json_is_read_tolerantly(tmp_path, result, marks, title, warning):
    folder = make_lrfind(tmp_path / "lrf", result)
    done = cli("plot", folder)
    assert done.exit_code == 0, done.stderr
    assert (warning or "gdlab: warning") in done.stderr if warning else done.stderr == ""
    fig, _ = lrfind_figure(folder)
    drawn = [ln.get_gid() for ln in fig.axes[0].get_lines() if ln.get_gid() in ("suggested_lr", "min_loss_lr")]
    assert drawn == marks
    assert title in fig.axes[0].get_title()


def test_unusable_lr_find_csv_is_exit_2_and_damaged_rows_a_warning(tmp_path):
    empty = make_lrfind(tmp_path / "empty", rows=[])
    one_line_error(cli("plot", empty), str(empty / "lr_find.csv"), "no data rows")
    damaged = make_lrfind(tmp_path / "damaged", rows=["1,1e-5,1.0,1.0", "2,0,0.9,0.9", "3,abc,0.8,0.8", "4,1e-4,0.7,0.7"])
    result = cli("plot", damaged)
    assert result.exit_code == 0 and "skipped 2 row(s)" in result.stderr and "line 3, 4" in result.stderr
    blown = make_lrfind(tmp_path / "blown", rows=["1,1e-5,nan,nan", "2,1e-4,inf,nan"])
    one_line_error(cli("plot", blown), "no finite loss")


def test_lr_find_folders_are_listed_by_runs_and_refused_by_compare(tmp_path):
    root = tmp_path / "runs"
    make_run(root / "moons-sgd" / "2026-11-26_10-00-00")
    make_lrfind(root / "moons-lrf" / "lr-find-2026-11-27_10-00-00")
    make_lrfind(root / "moons-lrf" / "lr-find-2026-11-28_10-00-00", {"suggested_lr": 0.5, "loss_still_falling": True})
    killed = make_lrfind(root / "moons-lrf" / "lr-find-2026-11-25_10-00-00", "absent")
    result = cli("runs", root, "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["kind"], r["status"]) for r in rows] == [
        ("lr-find", "no lr_find.json"), ("run", "completed"), ("lr-find", "suggested lr 0.01"),
        ("lr-find", "suggested lr 0.5 (lower bound)")]
    assert rows[0] == {"name": "moons-lrf", "when": "2026-11-25T10:00:00", "kind": "lr-find", "status": "no lr_find.json",
                       "final_train_loss": None, "best_val_loss": None, "steps": None, "suggested_lr": None,
                       "min_loss_lr": None, "lower_bound": False, "no_suggestion": "missing", "path": str(killed),
                       "running": None}
    assert rows[2]["steps"] == 21
    table = cli("runs", root)
    assert table.exit_code == 0 and "lr-find" in table.stdout and "suggested lr 0.01" in table.stdout

    lrf = root / "moons-lrf" / "lr-find-2026-11-27_10-00-00"
    one_line_error(cli("compare", lrf, "-o", tmp_path / "c.png"), str(lrf), "gdlab plot")
    one_line_error(cli("plot", lrf, "--boundary"), "needs a run folder")


def test_plot_what_gdlab_lr_find_wrote(tmp_path):
    """The real writer's lr_find.csv / lr_find.json, not a hand-made copy (trains a tiny model)."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**BASE_CONFIG, "data": {"name": "moons", "n_samples": 64},
                                      "model": [{"Linear": [2, 4]}, "Tanh", {"Linear": [4, 2]}],
                                      "train": {"epochs": None, "steps": 10, "device": "cpu"}}))
    made = RUNNER.invoke(app, ["lr-find", str(config), "--run-dir", str(tmp_path / "lrf"), "--steps", "20"])
    assert made.exit_code == 0, made.output
    result = cli("plot", tmp_path / "lrf")
    assert result.exit_code == 0, result.stderr
    fig, _ = lrfind_figure(tmp_path / "lrf")
    saved = json.loads((tmp_path / "lrf" / "lr_find.json").read_text())
    if saved.get("min_loss_lr"):
        assert line(fig, "min_loss_lr").get_xdata()[0] == pytest.approx(saved["min_loss_lr"])
    assert len(line(fig, "loss").get_xdata()) >= 5


def test_a_sweep_of_one_plots_and_compares(tmp_path):
    """Its single run_dir "000" once read as the number 0: compare found no runs, plot drew nothing."""
    from gdlab.cli import app as gdlab_app

    cfg = tmp_path / "base.yaml"
    cfg.write_text(yaml.safe_dump({**BASE_CONFIG, "train": {"steps": 3, "device": "cpu"}}))
    runner = CliRunner()
    assert runner.invoke(gdlab_app, ["sweep", str(cfg), "optimizer.lr=0.05", "--run-dir", str(tmp_path / "one"), "-q"]).exit_code == 0
    result = runner.invoke(gdlab_app, ["compare", str(tmp_path / "one"), "-o", str(tmp_path / "c.png")])
    assert result.exit_code == 0 and "no run_dir" not in result.output, result.output
    result = runner.invoke(gdlab_app, ["plot", str(tmp_path / "one"), "-o", str(tmp_path / "s.png")])
    assert result.exit_code == 0, result.output
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.sweep_plot import plot_sweep

    fig = plot_sweep(load_sweep(tmp_path / "one", []), [])
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 1  # one curve, no empty lower panel


def test_runs_orders_unstamped_sweep_folders_by_when_they_were_made_not_by_mtime(tmp_path):
    import os

    root = tmp_path / "ord"
    for name, created in (("first", "2026-11-27T10:00:00"), ("second", "2026-11-27T11:00:00")):
        make_sweep(root / name)
        doc = yaml.safe_load((root / name / "sweep.yaml").read_text())  # gdlab's: base and axes kept
        (root / name / "sweep.yaml").write_text(yaml.safe_dump({**doc, "name": name, "created_at": created}))
    os.utime(root / "first", (2_000_000_000, 2_000_000_000))  # as if gdlab plot had just written into it
    result = cli("runs", root, "--json")
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in json.loads(result.stdout)] == ["first", "second"]


def test_the_sensitivity_panel_says_when_it_leaves_out_a_null_axis_value():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from gdlab.plotting.sensitivity import draw_sensitivity

    table = pd.DataFrame({"train.batch_size": [float("nan"), 32.0], "status": ["completed"] * 2,
                          "final_train_loss": [0.3, 0.4], "diverged_at_step": [None, None], "run_dir": ["000_a", "001_b"]})
    warnings: list[str] = []
    draw_sensitivity(plt.figure().subplots(), table, "train.batch_size", None, warnings)
    assert any("left out 1 variant(s) whose train.batch_size is null" in w and "000_a" in w for w in warnings)


def test_a_loss_near_float64s_end_still_gets_an_axis_that_shows_it(tmp_path):
    """A float64 run's loss reached 2e305 before inf: matplotlib's log margin overflowed and left a 1-10 axis."""
    rows = [f"{s},0,10,{10.0 ** (s * 50):.6g},0.5,1.0,,,0.1" for s in range(1, 7)] + ["7,0,10,inf,0.5,1.0,,,0.1"]
    run = make_run(tmp_path / "r", rows=rows, status="diverged")
    fig, _ = figure_of(run)
    low, high = line(fig, "train_loss").axes.get_ylim()
    assert low <= 1e50 and 1e300 <= high < float("inf")


@pytest.mark.parametrize("bad", [-5, 1e300, 2.5, True])
def test_an_impossible_diverged_at_step_is_ignored_with_a_warning(tmp_path, bad):
    run = make_run(tmp_path / "r")
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps(summary | {"diverged_at_step": bad}))
    warnings: list[str] = []
    data = load_run(run, warnings)
    assert "diverged_at_step" not in data.summary and any("diverged_at_step" in w and "ignored" in w for w in warnings)
    result = cli("plot", run)
    assert result.exit_code == 0 and "ignored" in result.stderr


def test_no_usable_row_says_why(tmp_path):
    run = make_run(tmp_path / "r", rows=["1,0,0.1,abc,0.5,1.0,,,0.1"])
    result = cli("plot", run)
    assert result.exit_code == 2 and "non-number cell (line 2)" in result.stderr


@pytest.mark.parametrize("command", [["runs"], ["plot"], ["compare"]])
def test_a_file_in_the_middle_of_a_path_is_named(tmp_path, command):
    (tmp_path / "afile").write_text("x")
    one_line_error(cli(*command, tmp_path / "afile" / "y"), f"{tmp_path / 'afile'} is a file, not a folder")


@pytest.mark.parametrize("losses", [
    [1.5e308] * 5,                          # above 1e308: the axis must reach the data
    [1.7e308],
    [2e-308, 2.2e-308, 2.5e-308, 2.95e-308],  # all tiny: matplotlib's own limits, not a hand-set 1e-308..0.05
    [1e-300, 1e300],
])
def test_extreme_losses_lie_inside_the_axis(tmp_path, losses):
    rows = [f"{s},0,0.1,{v!r},0.5,1.0,,,0.1" for s, v in enumerate(losses, 1)]
    fig, _ = figure_of(make_run(tmp_path / "r", rows=rows))
    low, high = line(fig, "train_loss").axes.get_ylim()
    assert low <= min(losses) and max(losses) <= high < float("inf")
    span = math.log10(max(losses)) - math.log10(min(losses))
    assert math.log10(high) - math.log10(low) < 1.1 * span + 2  # and the data is not squashed into a corner


def test_the_sweep_plot_reads_statuses_exactly_as_the_ranking_does():
    """A hand-edited `Completed` counted as finished in the plot (it lowercased statuses) and not in the
    ranking or `gdlab runs`: one rule now, gdlab's own lowercase words."""
    import pandas as pd

    from gdlab.plotting.sensitivity import _split
    from gdlab.sweep.rank import _score

    table = pd.DataFrame({"status": ["completed", "Completed", "diverged", "DIVERGED"], "final_train_loss": [0.1, 0.2, None, None],
                          "best_val_loss": [0.1, 0.2, None, None]})
    diverged, usable = _split(table)
    assert list(usable) == [True, False, False, False] and list(diverged) == [False, False, True, False]
    ranked = [_score(row, "final_train_loss") is not None for row in table.to_dict("records")]
    assert ranked == list(usable)


def test_a_min_loss_lr_where_the_loss_still_fell_says_it_is_where_the_test_ended(tmp_path):
    """With the loss still falling at the largest lr, the 'min-loss lr' is the range's end, not a valley: its
    legend entry read 'min-loss lr = 1' as if the loss had turned there."""
    falling = make_lrfind(tmp_path / "f", {"suggested_lr": 0.1, "min_loss_lr": 1.0, "loss_still_falling": True})
    fig, _ = lrfind_figure(falling)
    assert "min-loss lr = 1 (where the test ended)" in legend_texts(fig)
    turned = make_lrfind(tmp_path / "t", {"suggested_lr": 0.01, "min_loss_lr": 0.0316})
    assert "min-loss lr = 0.0316" in legend_texts(lrfind_figure(turned)[0])
