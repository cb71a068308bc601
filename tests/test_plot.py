"""Tests for gdlab plot / compare / runs on synthetic run and sweep folders written by hand."""

from __future__ import annotations

import copy
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner


def _import_cli():
    """The Typer app with the plot commands registered (gdlab.cli may not import plot_cmd itself yet)."""
    import gdlab.cli.plot_cmd  # noqa: F401
    from gdlab.cli.app import app

    return app


APP = _import_cli()
RUNNER = CliRunner()

from gdlab.plotting.load import load_run, load_sweep  # noqa: E402
from gdlab.plotting.readers import read_metrics  # noqa: E402

HEADER = "step,epoch,lr,train_loss,train_accuracy,grad_norm,val_loss,val_accuracy,wall_s"
BASE_CONFIG = {
    "name": "moons-sgd", "seed": 0, "data": {"name": "moons", "n_samples": 200},
    "model": [{"Linear": [2, 8]}, "ReLU", {"Linear": [8, 2]}], "loss": {"name": "CrossEntropyLoss"},
    "optimizer": {"name": "SGD", "lr": 0.1, "momentum": 0.0}, "scheduler": None,
    "train": {"epochs": 5, "batch_size": None},
}


def cli(*args: str):
    result = RUNNER.invoke(APP, [str(a) for a in args])
    # A GdlabError must surface as SystemExit(code), never as an uncaught traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def make_run(folder: Path, *, rows=None, steps=20, lr=0.1, status="completed", config=None, summary=True,
             header=HEADER, text=None) -> Path:
    """Write a run folder: metrics.csv (decaying loss, val every 5 steps), summary.json and config.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    if text is None:
        if rows is None:
            rows = []
            for s in range(1, steps + 1):
                val = f"{1.2 / s:.6g}" if s % 5 == 0 else ""
                acc = f"{min(1.0, 0.5 + s / 40):.4g}"
                rows.append(f"{s},{(s - 1) // 10},{lr},{1.0 / (s * (1 + 10 * lr)):.6g},{acc},{0.5 / s:.6g},{val},{acc if val else ''},{s * 0.01:.3f}")
        text = header + "\n" + "".join(r + "\n" for r in rows)
    (folder / "metrics.csv").write_text(text)
    if summary:
        (folder / "summary.json").write_text(json.dumps({
            "status": status, "name": (config or BASE_CONFIG)["name"], "final_train_loss": 1.0 / (steps * (1 + 10 * lr)),
            "final_val_loss": None, "best_val_loss": 0.06, "final_val_accuracy": None,
            "diverged_at_step": None, "steps": steps, "wall_s": 1.0, "steps_per_s": 20.0, "seed": 0,
            "device": "cpu", "task": "classification", "started_at": "2026-11-26T10:00:00",
        }))
    (folder / "config.yaml").write_text(yaml.safe_dump(config or BASE_CONFIG, sort_keys=False))
    return folder


def make_sweep(folder: Path, lrs=(0.001, 0.01, 0.1, 1.0), seeds=(0,), optimizers=None, diverge_above=0.5,
               extra_columns=None) -> Path:
    """Write a sweep: one variant run per (optimizer, lr, seed), sweep.csv with their final losses."""
    folder.mkdir(parents=True)
    axes = (["optimizer.name"] if optimizers else []) + ["optimizer.lr", "seed"]
    lines = [",".join(axes + ["status", "final_train_loss", "best_val_loss", "diverged_at_step", "steps", "wall_s",
                              "run_dir"] + list(extra_columns or {}))]
    i = 0
    for opt in optimizers or [None]:
        for lr in lrs:
            for seed in seeds:
                name = f"{i:03d}_" + (f"optimizer.name={opt}_" if opt else "") + f"lr={lr}_seed={seed}"
                config = {**BASE_CONFIG, "seed": seed, "optimizer": {**BASE_CONFIG["optimizer"], "lr": lr}}
                if opt:
                    config["optimizer"]["name"] = opt
                diverged = lr > diverge_above
                final = 0.1 / (lr * 100) ** 0.5 + 0.01 * seed + (0.05 if opt == "Adam" else 0)
                if diverged:
                    rows = [f"{s},0,{lr},{10.0 ** s:.6g},0.5,1.0,,,{s * 0.01}" for s in range(1, 4)] + ["4,0,%s,inf,0.5,inf,,,0.04" % lr]
                    make_run(folder / name, rows=rows, status="diverged", config=config)
                    cells = ["diverged", "inf", "", "4", "4", "0.04"]
                else:
                    make_run(folder / name, lr=lr, config=config)
                    cells = ["completed", repr(final), repr(final * 1.1), "", "20", "0.2"]
                values = ([opt] if opt else []) + [repr(lr), str(seed)]
                lines.append(",".join(values + cells + [name] + [str(v[i]) for v in (extra_columns or {}).values()]))
                i += 1
    (folder / "sweep.csv").write_text("\n".join(lines) + "\n")
    (folder / "sweep.yaml").write_text(yaml.safe_dump({**BASE_CONFIG, "axes": {"optimizer.lr": list(lrs)},
                                                         "base": copy.deepcopy(BASE_CONFIG)}))  # no YAML aliases
    return folder


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def line(fig, gid: str):
    found = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(found) == 1, f"{gid}: {len(found)} lines"
    return found[0]


def figure_of(folder: Path):
    from gdlab.plotting.run_plot import plot_run

    warnings: list[str] = []
    return plot_run(load_run(folder, warnings)), warnings


def sweep_figure(folder: Path):
    from gdlab.plotting.sweep_plot import plot_sweep

    warnings: list[str] = []
    return plot_sweep(load_sweep(folder, warnings), warnings), warnings


# ---------------------------------------------------------------- one run
def test_plot_run_writes_loss_png_with_the_csv_values(tmp_path):
    run = make_run(tmp_path / "run")
    result = cli("plot", run)
    assert result.exit_code == 0, result.stderr
    assert png_size(run / "loss.png")
    assert result.stderr == ""

    fig, warnings = figure_of(run)
    assert warnings == []
    metrics, _ = read_metrics(run / "metrics.csv")
    train = line(fig, "train_loss")
    assert list(train.get_xdata()) == list(range(1, 21))
    np.testing.assert_allclose(train.get_ydata(), metrics["train_loss"])
    val = line(fig, "val_loss")  # only the steps where validation ran
    assert list(val.get_xdata()) == [5, 10, 15, 20]
    np.testing.assert_allclose(val.get_ydata(), [1.2 / s for s in (5, 10, 15, 20)], rtol=1e-5)
    assert fig.axes[0].get_yscale() == "log"
    assert line(fig, "train_accuracy").axes is not fig.axes[0]  # accuracy on its own (twin) axis
    assert not [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() in ("diverged", "lr", "sharpness")]


def test_linear_scale_when_a_loss_is_not_positive(tmp_path):
    rows = [f"{s},0,0.1,{v},0.5,1.0,,,{s}" for s, v in enumerate([0.5, 0.1, 0.0, -0.2], start=1)]
    fig, _ = figure_of(make_run(tmp_path / "run", rows=rows))
    assert fig.axes[0].get_yscale() == "linear"
    np.testing.assert_allclose(line(fig, "train_loss").get_ydata(), [0.5, 0.1, 0.0, -0.2])


def test_diverged_run_is_marked_at_its_step_on_the_top_edge(tmp_path):
    rows = [f"{s},0,0.1,{10.0 ** s},0.5,1.0,,,{s}" for s in range(1, 6)] + ["6,0,0.1,nan,0.5,inf,,,6"]
    run = make_run(tmp_path / "run", rows=rows, status="diverged", steps=6)
    fig, warnings = figure_of(run)
    assert warnings == []  # NaN/inf on the last row is how a divergence ends, not damage
    mark = line(fig, "diverged")
    assert list(mark.get_xdata()) == [6] and list(mark.get_ydata()) == [1.0]
    ax = mark.axes
    assert mark.get_transform().contains_branch_seperately(ax.transData) == (True, False)
    assert list(line(fig, "train_loss").get_xdata()) == [1, 2, 3, 4, 5]
    assert cli("plot", run).exit_code == 0


def test_lr_panel_and_sharpness_with_its_edge(tmp_path):
    header = "step,epoch,lr,train_loss,grad_norm,sharpness,wall_s"
    rows = [f"{s},0,{0.1 * s},{1 / s},1.0,{'%g' % (2.0 * s) if s % 2 == 0 else ''},{s}" for s in range(1, 9)]
    fig, _ = figure_of(make_run(tmp_path / "run", rows=rows, header=header))
    sharp = line(fig, "sharpness")
    assert list(sharp.get_xdata()) == [2, 4, 6, 8]
    np.testing.assert_allclose(sharp.get_ydata(), [4, 8, 12, 16])
    np.testing.assert_allclose(line(fig, "edge").get_ydata(), [2 / (0.1 * s) for s in range(1, 9)])
    np.testing.assert_allclose(line(fig, "lr").get_ydata(), [0.1 * s for s in range(1, 9)])
    assert len(fig.axes) == 3  # loss, sharpness, lr (no accuracy: regression)


# ---------------------------------------------------------------- output options
@pytest.mark.parametrize("dpi", [40, 90])
def test_dpi_sets_the_pixel_size(tmp_path, dpi):
    run = make_run(tmp_path / "run")
    result = cli("plot", run, "-o", tmp_path / "out.png", "--dpi", dpi, "--title", "hello")
    assert result.exit_code == 0, result.stderr
    fig, _ = figure_of(run)
    width, height = fig.get_size_inches() * dpi
    assert png_size(tmp_path / "out.png") == (round(width), round(height))


def test_svg_and_pdf_outputs(tmp_path):
    run = make_run(tmp_path / "run")
    assert cli("plot", run, "-o", tmp_path / "a.svg").exit_code == 0
    assert "<svg" in (tmp_path / "a.svg").read_text()[:1000]
    assert cli("plot", run, "-o", tmp_path / "sub" / "a.PDF").exit_code == 0
    assert (tmp_path / "sub" / "a.PDF").read_bytes()[:5] == b"%PDF-"


def test_unsupported_suffix_is_exit_2_naming_the_allowed_ones(tmp_path):
    run = make_run(tmp_path / "run")
    result = cli("plot", run, "-o", tmp_path / "a.jpg")
    assert result.exit_code == 2
    assert ".png, .svg, .pdf" in result.stderr and "a.jpg" in result.stderr
    assert not (tmp_path / "a.jpg").exists()
    assert cli("compare", run, "-o", tmp_path / "noext").exit_code == 2
    assert cli("plot", run, "--dpi", "5").exit_code == 2
    assert not (run / "loss.png").exists()


def test_a_failed_save_leaves_neither_half_image_nor_temp_file(tmp_path):
    from gdlab.errors import GdlabError
    from gdlab.plotting.output import save_figure

    class Broken:
        def savefig(self, stream, **_):
            stream.write(b"\x89PNG half")
            raise OSError(28, "No space left on device")

    target = tmp_path / "loss.png"
    target.write_bytes(b"old image")
    with pytest.raises(GdlabError, match="No space left"):
        save_figure(Broken(), target, 100)
    assert target.read_bytes() == b"old image"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png"]


# ---------------------------------------------------------------- sweeps
def test_sweep_plot_sensitivity_matches_sweep_csv(tmp_path):
    import pandas as pd

    sweep = make_sweep(tmp_path / "sweep-2026-11-27_10-00-00")
    result = cli("plot", sweep)
    assert result.exit_code == 0, result.stderr
    assert png_size(sweep / "sweep.png")

    fig, warnings = sweep_figure(sweep)
    assert warnings == []
    table = pd.read_csv(sweep / "sweep.csv")
    done = table[table.status == "completed"]
    final = line(fig, "sensitivity:None:final_train_loss")
    np.testing.assert_allclose(final.get_xdata(), done["optimizer.lr"])
    np.testing.assert_allclose(final.get_ydata(), done["final_train_loss"])
    np.testing.assert_allclose(line(fig, "sensitivity:None:best_val_loss").get_ydata(), done["best_val_loss"])
    assert final.axes.get_xscale() == "log"

    crosses = line(fig, "diverged:None")  # lr=1.0 diverged: a ✕ pinned to the top edge
    assert list(crosses.get_xdata()) == [1.0] and list(crosses.get_ydata()) == [1.0]
    assert crosses.get_transform().contains_branch_seperately(crosses.axes.transData) == (True, False)

    best = line(fig, "best:None")  # val loss decides; it is lowest at the largest stable lr
    assert list(best.get_xdata()) == [0.1]

    curves = [ln for ln in fig.axes[0].get_lines() if str(ln.get_gid()).startswith("curve:")]
    assert len(curves) == len(table)
    (colorbar,) = [a for a in fig.axes[0].child_axes if a.get_label() == "<colorbar>"]  # beside the curves' panel
    assert colorbar.get_yscale() == "log"
    # The colour of each curve follows its lr: the smallest and largest lr are the colormap's ends.
    from matplotlib import colormaps

    assert np.allclose(curves[0].get_color(), colormaps["viridis"](0.0))
    assert np.allclose(curves[-1].get_color(), colormaps["viridis"](1.0))


def test_sweep_with_seeds_draws_mean_and_band(tmp_path):
    fig, _ = sweep_figure(make_sweep(tmp_path / "sweep-x", lrs=(0.01, 0.1), seeds=(0, 1, 2)))
    final = line(fig, "sensitivity:None:final_train_loss")
    expected = [np.mean([0.1 / (lr * 100) ** 0.5 + 0.01 * s for s in (0, 1, 2)]) for lr in (0.01, 0.1)]
    np.testing.assert_allclose(final.get_ydata(), expected)
    bands = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "band:None:final_train_loss"]
    assert len(bands) == 1
    per_seed = [[0.1 / (lr * 100) ** 0.5 + 0.01 * s for s in (0, 1, 2)] for lr in (0.01, 0.1)]
    low, high = band_edges(bands[0], (0.01, 0.1))
    np.testing.assert_allclose(low, [np.mean(v) - np.std(v, ddof=1) for v in per_seed])
    np.testing.assert_allclose(high, [np.mean(v) + np.std(v, ddof=1) for v in per_seed])


def band_edges(band, xs) -> tuple[list[float], list[float]]:
    """The (lower, upper) y of a fill_between band at each x."""
    v = band.get_paths()[0].vertices
    return ([v[np.isclose(v[:, 0], x), 1].min() for x in xs], [v[np.isclose(v[:, 0], x), 1].max() for x in xs])


def test_a_band_reaching_zero_stops_at_the_lowest_seed_on_a_log_axis(tmp_path):
    """Two seeds far apart (0.05 and 3.0): mean - std is negative, which a log axis cannot draw."""
    import pandas as pd

    sweep = make_sweep(tmp_path / "sweep-x", lrs=(0.01, 0.1), seeds=(0, 1))
    table = pd.read_csv(sweep / "sweep.csv")
    table.loc[(table["optimizer.lr"] == 0.1), "final_train_loss"] = [0.05, 3.0]
    table.to_csv(sweep / "sweep.csv", index=False)
    fig, _ = sweep_figure(sweep)
    band = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "band:None:final_train_loss"][0]
    low, high = band_edges(band, (0.01, 0.1))
    first = table[table["optimizer.lr"] == 0.01]["final_train_loss"]
    assert low[0] == pytest.approx(first.mean() - first.std()) and low[0] > 0  # an ordinary band is mean - std
    assert low[1] == pytest.approx(0.05)  # clipped to the lowest seed, not to the axis bottom
    assert high[1] == pytest.approx(1.525 + np.std([0.05, 3.0], ddof=1))
    assert line(fig, "sensitivity:None:final_train_loss").axes.get_yscale() == "log"


def test_sweep_with_optimizers_has_one_line_each_and_stability_edge(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x", optimizers=["SGD", "Adam"], extra_columns={"init_sharpness": [10.0, 30.0] * 4})
    fig, _ = sweep_figure(sweep)
    sgd, adam = line(fig, "sensitivity:SGD:final_train_loss"), line(fig, "sensitivity:Adam:final_train_loss")
    np.testing.assert_allclose(adam.get_ydata() - sgd.get_ydata(), 0.05)
    # plain SGD's edge is 2 / sharpness, averaged over its variants; Adam rescales its steps and has none
    edge = line(fig, "stability_edge:SGD")
    assert edge.get_xdata() == pytest.approx([(2 / 10 + 2 / 30) / 2] * 2) and edge.get_label().startswith("SGD: 2 / init sharpness")
    assert not [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "stability_edge:Adam"]


def test_sweep_other_axes_become_facets(tmp_path):
    import pandas as pd

    sweep = make_sweep(tmp_path / "sweep-x")
    table = pd.read_csv(sweep / "sweep.csv")
    table.insert(0, "data.noise", [0.1, 0.1, 0.3, 0.3])
    table.to_csv(sweep / "sweep.csv", index=False)
    fig, _ = sweep_figure(sweep)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["data.noise=0.1", "data.noise=0.3"]
    finals = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "sensitivity:None:final_train_loss"]
    assert [list(ln.get_xdata()) for ln in finals] == [[0.001, 0.01], [0.1]]


def test_sweep_with_a_missing_variant_warns_and_still_plots(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x")
    (sweep / "001_lr=0.01_seed=0" / "metrics.csv").unlink()
    result = cli("plot", sweep)
    assert result.exit_code == 0
    assert "warning" in result.stderr and "001_lr=0.01_seed=0/metrics.csv" in result.stderr


# ---------------------------------------------------------------- compare
def test_compare_labels_show_only_the_keys_that_differ(tmp_path):
    from gdlab.plotting.compare import plot_compare
    from gdlab.plotting.load import load_runs

    configs = [
        {**BASE_CONFIG, "name": "a", "optimizer": {**BASE_CONFIG["optimizer"], "lr": 0.1}},
        {**BASE_CONFIG, "name": "b", "optimizer": {**BASE_CONFIG["optimizer"], "lr": 0.01}},
    ]
    runs = [make_run(tmp_path / f"r{i}" / "2026-11-26_10-00-0{i}", config=c, lr=c["optimizer"]["lr"]) for i, c in enumerate(configs)]
    result = cli("compare", *runs, "-o", tmp_path / "c.svg")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "c.svg").exists()

    warnings: list[str] = []
    fig = plot_compare(load_runs(runs, warnings), "train_loss", "step", warnings)
    assert [line(fig, f"compare:{i}").get_label() for i in (0, 1)] == ["optimizer.lr=0.1", "optimizer.lr=0.01"]
    metrics, _ = read_metrics(runs[1] / "metrics.csv")
    np.testing.assert_allclose(line(fig, "compare:1").get_ydata(), metrics["train_loss"])


def test_compare_a_sweep_contributes_each_variant(tmp_path):
    from gdlab.plotting.compare import plot_compare
    from gdlab.plotting.load import load_runs

    sweep = make_sweep(tmp_path / "sweep-x", lrs=(0.01, 0.1), seeds=(0, 1))
    warnings: list[str] = []
    fig = plot_compare(load_runs([sweep], warnings), "val_loss", "epoch", warnings)
    labels = [line(fig, f"compare:{i}").get_label() for i in range(4)]
    assert labels == ["seed=0, optimizer.lr=0.01", "seed=1, optimizer.lr=0.01", "seed=0, optimizer.lr=0.1", "seed=1, optimizer.lr=0.1"]
    assert list(line(fig, "compare:0").get_xdata()) == [0, 0, 1, 1]  # epochs of the val rows


def test_compare_bad_metric_or_axis_is_exit_2(tmp_path):
    run = make_run(tmp_path / "run")
    result = cli("compare", run, "--metric", "sharpness", "-o", tmp_path / "c.png")
    assert result.exit_code == 2 and "sharpness" in result.stderr
    # one line that lists the columns there are, not a warning per run before it
    assert result.stderr.strip().splitlines() == [
        "gdlab: error: --metric sharpness: no metrics.csv here has that column; they have lr, train_loss, "
        "train_accuracy, grad_norm, val_loss, val_accuracy"]
    assert cli("compare", run, "--x", "time").exit_code == 2
    assert not (tmp_path / "c.png").exists()


# ---------------------------------------------------------------- damaged input
GOOD = [f"{s},0,0.1,{1 / s},0.5,1.0,,,{s}" for s in range(1, 6)]


@pytest.mark.parametrize("text, kept, warning", [
    (HEADER + "\n" + "\n".join(GOOD) + "\n6,0,0.1,0.1", [1, 2, 3, 4, 5], "torn last line 7"),
    (HEADER + "\n" + "\n".join(GOOD[:2] + [HEADER] + GOOD[2:]) + "\n", [1, 2, 3, 4, 5], "repeated header row at line 4"),
    (HEADER + "\n" + "\n".join(GOOD[:2] + ["3,0,0.1"] + GOOD[3:]) + "\n", [1, 2, 4, 5], "field count"),
    (HEADER + "\n" + "\n".join(GOOD[:2] + ["3,0,0.1,abc,0.5,1.0,,,3"] + GOOD[3:]) + "\n", [1, 2, 4, 5], "non-number"),
])
def test_damaged_metrics_are_plotted_from_what_is_valid_with_a_warning(tmp_path, text, kept, warning):
    run = make_run(tmp_path / "run", text=text)
    result = cli("plot", run)
    assert result.exit_code == 0, result.stderr
    assert "gdlab: warning:" in result.stderr and "metrics.csv" in result.stderr and warning in result.stderr
    fig, _ = figure_of(run)
    assert list(line(fig, "train_loss").get_xdata()) == kept
    np.testing.assert_allclose(line(fig, "train_loss").get_ydata(), [1 / s for s in kept])


@pytest.mark.parametrize("name, content, message", [
    ("empty", "", "empty file"),
    ("blank", "\n\n", "empty file"),
    ("header only", HEADER + "\n", "no data rows"),
    ("foreign", "a,b,c\n1,2,3\n", "not a gdlab metrics.csv: no 'step', 'train_loss' column"),
    ("binary", b"\xff\xfe\x00junk", "not UTF-8"),
    ("missing", None, "no such file"),
])
def test_unusable_metrics_are_exit_2_naming_the_file(tmp_path, name, content, message):
    run = make_run(tmp_path / "run")
    if content is None:
        (run / "metrics.csv").unlink()
    elif isinstance(content, bytes):
        (run / "metrics.csv").write_bytes(content)
    else:
        (run / "metrics.csv").write_text(content)
    result = cli("plot", run)
    assert result.exit_code == 2
    assert result.stderr.startswith("gdlab: error:") and str(run / "metrics.csv") in result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (run / "loss.png").exists()


def test_not_a_run_folder_and_broken_sweep_csv(tmp_path):
    (tmp_path / "nothing").mkdir()
    for target in (tmp_path / "nothing", tmp_path / "absent"):
        result = cli("plot", target)
        assert result.exit_code == 2 and str(target) in result.stderr
    sweep = make_sweep(tmp_path / "sweep-x")
    (sweep / "sweep.csv").write_text("")
    result = cli("plot", sweep)
    assert result.exit_code == 2 and "sweep.csv: empty file" in result.stderr


def test_broken_summary_is_a_warning(tmp_path):
    run = make_run(tmp_path / "run")
    (run / "summary.json").write_text('{"status": "compl')
    result = cli("plot", run)
    assert result.exit_code == 0 and "summary.json: not valid JSON" in result.stderr


# ---------------------------------------------------------------- runs
def test_runs_lists_runs_and_sweeps_sorted_by_time(tmp_path):
    root = tmp_path / "runs"
    make_sweep(root / "moons-sgd" / "sweep-2026-11-27_10-00-00")
    make_run(root / "moons-sgd" / "2026-11-26_10-00-00")
    bare = make_run(root / "other" / "2026-11-25_09-00-00", summary=False)
    result = cli("runs", root, "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["kind"], r["when"]) for r in rows] == [
        ("run", "2026-11-25T09:00:00"), ("run", "2026-11-26T10:00:00"), ("sweep", "2026-11-27T10:00:00")]
    assert rows[0] == {"name": "moons-sgd", "when": "2026-11-25T09:00:00", "kind": "run", "status": "no summary",
                       "final_train_loss": pytest.approx(1 / 40), "best_val_loss": pytest.approx(0.06),
                       "steps": 20, "path": str(bare),
                       "running": False if Path("/proc/locks").exists() else None}  # no process holds its lock
    assert rows[2]["status"] == "4 variants: 3 completed, 1 diverged" and rows[2]["steps"] == 64

    table = cli("runs", root)
    assert table.exit_code == 0 and "moons-sgd" in table.stdout and "sweep" in table.stdout


def test_runs_on_a_missing_dir_is_exit_2_and_a_broken_run_is_a_row(tmp_path):
    assert cli("runs", tmp_path / "nope").exit_code == 2
    (tmp_path / "file").write_text("x")
    assert cli("runs", tmp_path / "file").exit_code == 2
    make_run(tmp_path / "runs" / "x" / "2026-11-26_10-00-00", summary=False, text="")
    result = cli("runs", tmp_path / "runs", "--json")
    assert result.exit_code == 0 and "empty file" in result.stderr
    assert json.loads(result.stdout)[0]["status"] == "unreadable"


def test_runs_survives_hand_edited_names_times_and_markup(tmp_path):
    """A summary.json edited by hand (a number for a name, a time with no local equivalent, rich markup)
    is still a row: the folder names it, the folder's stamp dates it, the text prints as it is."""
    root = tmp_path / "runs"
    odd = make_run(root / "x" / "2026-11-26_10-00-00")
    summary = json.loads((odd / "summary.json").read_text())
    (odd / "summary.json").write_text(json.dumps(summary | {"name": 5, "started_at": "9999-12-31T23:59:59-05:00"}))
    marked = make_run(root / "y" / "2026-11-26_11-00-00")
    (marked / "summary.json").write_text(json.dumps(summary | {"name": "[/bold]", "status": "[red]done", "started_at": None}))
    rows = json.loads(cli("runs", root, "--json").stdout)
    assert [(r["name"], r["when"]) for r in rows] == [("x", "2026-11-26T10:00:00"), ("[/bold]", "2026-11-26T11:00:00")]
    table = cli("runs", root)
    assert table.exit_code == 0 and "[/bold]" in table.stdout and "[red]done" in table.stdout


# ---------------------------------------------------------------- import hygiene
def test_plot_modules_import_neither_torch_nor_heavy_libraries_at_load():
    code = """
import sys
import gdlab.cli.plot_cmd
heavy = [m for m in ("torch", "pandas", "matplotlib") if m in sys.modules]
assert not heavy, f"importing gdlab.cli.plot_cmd loaded {heavy}"
import pkgutil, importlib, gdlab.plotting
for info in pkgutil.iter_modules(gdlab.plotting.__path__):
    importlib.import_module(f"gdlab.plotting.{info.name}")
assert "torch" not in sys.modules, "gdlab.plotting imported torch"
assert "matplotlib" not in sys.modules, "gdlab.plotting imported matplotlib at load"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_two_optimizers_diverging_at_one_lr_show_two_marks(tmp_path):
    """Every ✕ sat on the same top-edge spot: SGD's was drawn exactly under Adam's."""
    sweep = make_sweep(tmp_path / "sweep-x", optimizers=["SGD", "Adam"])  # both diverge at lr 1.0
    fig, _ = sweep_figure(sweep)
    sgd, adam = line(fig, "diverged:SGD"), line(fig, "diverged:Adam")
    assert list(sgd.get_xdata()) == list(adam.get_xdata()) == [1.0]
    at = [mark.get_transform().transform((1.0, 1.0)) for mark in (sgd, adam)]
    top = sgd.axes.transAxes.transform((0, 1))[1]
    assert at[1][0] - at[0][0] == pytest.approx(6 / 72 * fig.dpi)  # side by side, 6 points apart
    assert at[0][1] == at[1][1] == pytest.approx(top)  # both on the top edge: neither reads as a loss value
    fig.canvas.draw()
    low, high = sgd.axes.get_xlim()
    assert low < 1.0 < high  # inside the axis: the diverged lr was drawn past its end, among the legend entries
