"""gdlab plot / compare / runs on files a person or a live run leaves: lines of empty cells, a byte-order
mark, absurd steps, a run that has only its header, one folder named twice; the run legend off the loss
curve; the ✕ on a sweep's diverged curves; a run just started in `runs`; the lr panel's steps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_plot import HEADER, figure_of, line, make_run, make_sweep, sweep_figure
from tests.test_plot_fixes_b import compare_of
from tests.test_plot_more import cli, make_lrfind, one_line_error


# ---------------------------------------------------------------- files of empty cells
@pytest.mark.parametrize("name", ["metrics.csv", "sweep.csv", "lr_find.csv"])
def test_a_file_of_empty_cells_is_one_line_exit_2_not_a_traceback(tmp_path, name):
    folder = tmp_path / "x"
    if name == "lr_find.csv":
        make_lrfind(folder)
    else:
        (make_sweep(folder) if name == "sweep.csv" else make_run(folder))
    (folder / name).write_text(",,,\n,,,\n")
    one_line_error(cli("plot", folder), str(folder / name), "every line is empty cells")


def test_runs_lists_a_run_of_empty_cells_as_unreadable_and_the_others_still(tmp_path):
    root = tmp_path / "runs"
    make_run(root / "a" / "2026-11-26_10-00-00")
    make_run(root / "b" / "2026-11-26_11-00-00", text=",,,\n", summary=False)
    result = cli("runs", root, "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["status"] for row in rows] == ["completed", "unreadable"]
    assert "every line is empty cells" in result.stderr


def test_a_byte_order_mark_before_the_header_is_not_part_of_step(tmp_path):
    run = make_run(tmp_path / "r")
    text = (run / "metrics.csv").read_text()
    (run / "metrics.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())  # as a spreadsheet saves "UTF-8 CSV"
    result = cli("plot", run)
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    np.testing.assert_allclose(line(figure_of(run)[0], "train_loss").get_xdata(), range(1, 21))


# ---------------------------------------------------------------- steps past what a float counts exactly
@pytest.mark.parametrize("step", ["1e300", "1e17", "-1"])
def test_a_step_no_run_could_reach_is_skipped_with_a_warning_not_wrapped(tmp_path, step):
    """int64 turned 1e300 into -9.2e18: the x axis ran from there to 0 and `runs` showed that step."""
    run = make_run(tmp_path / "r", rows=["1,0,0.1,1.0,0.5,1,,,0.1", "2,0,0.1,0.5,0.5,1,,,0.2", f"{step},0,0.1,0.2,0.5,1,,,0.3"])
    result = cli("plot", run)
    assert result.exit_code == 0, result.stderr
    assert "skipped 1 row(s) whose step is not a whole number from 0 to 2**53 (line 4)" in result.stderr
    assert list(line(figure_of(run)[0], "train_loss").get_xdata()) == [1, 2]


# ---------------------------------------------------------------- compare: a live run, a folder twice
def test_compare_leaves_out_a_run_that_has_only_its_header_and_draws_the_rest(tmp_path):
    calm, live = make_run(tmp_path / "a"), make_run(tmp_path / "b", text=HEADER + "\n")
    result = cli("compare", calm, live, "-o", tmp_path / "c.png")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "c.png").stat().st_size > 0
    assert f"{live / 'metrics.csv'}: no data rows to plot" in result.stderr and "left out of the comparison" in result.stderr
    fig = compare_of([calm, live], "train_loss")
    assert [ln.get_gid() for ln in fig.axes[0].get_lines()] == ["compare:0"]
    # with nothing else to draw, the reason is the error, as before
    one_line_error(cli("compare", live, "-o", tmp_path / "d.png"), "no data rows to plot")
    assert not (tmp_path / "d.png").exists()


def test_compare_draws_a_folder_named_twice_once(tmp_path):
    a, b = make_run(tmp_path / "a"), make_run(tmp_path / "b", lr=0.01)
    result = cli("compare", a, b, tmp_path / "b" / ".." / "a", "-o", tmp_path / "c.png")
    assert result.exit_code == 0 and "given more than once; drawn once" in result.stderr, result.stderr
    fig = compare_of([a, b, a], "train_loss")
    assert [ln.get_gid() for ln in fig.axes[0].get_lines()] == ["compare:0", "compare:1"]


# ---------------------------------------------------------------- the run legend and the loss curve
def test_the_run_legend_avoids_the_loss_curve_as_well_as_the_accuracy(tmp_path):
    """The legend sits on the accuracy axis; "best" looked only at that axis's lines and put it over a rising
    loss in the lower left."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rows = [f"{s},{s},0.1,{10 ** (s / 8):.6g},{0.6 + 0.3 * np.sin(s / 5) ** 2:.4g},1,,,{s * 0.01}" for s in range(1, 41)]
    fig, _ = figure_of(make_run(tmp_path / "r", rows=rows))
    fig.draw_without_rendering()
    renderer = FigureCanvasAgg(fig).get_renderer()
    legend = next(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)
    box = legend.get_window_extent(renderer)
    for gid in ("train_loss", "train_accuracy"):
        curve = line(fig, gid)
        xy = curve.get_transform().transform(np.column_stack([curve.get_xdata(), curve.get_ydata()]))
        assert not any(box.contains(x, y) for x, y in xy), gid
    assert [t.get_text() for t in legend.get_texts()] == ["train loss", "train accuracy"]  # the helpers are unseen


def test_a_run_named_by_a_bare_relative_path_keeps_its_parent_in_the_title(tmp_path, monkeypatch):
    make_run(tmp_path / "big", summary=False)
    (tmp_path / "big" / "config.yaml").unlink()
    monkeypatch.chdir(tmp_path / "big")
    from gdlab.plotting.load import load_run
    from gdlab.plotting.run_plot import plot_run

    title = plot_run(load_run(Path("."), [])).get_suptitle()
    assert title.startswith(f"{tmp_path.name} — ") and "no summary.json" in title, title


# ---------------------------------------------------------------- the sweep plot's ✕
def test_a_sweep_plot_marks_each_diverged_curve_where_it_diverged(tmp_path):
    fig, _ = sweep_figure(make_sweep(tmp_path / "sw", lrs=(0.01, 0.1, 1.0, 2.0)))
    curves = fig.axes[0]
    for index in (2, 3):  # lr 1 and 2 diverge at step 4; their last finite loss is 1e3, at step 3
        mark = line(fig, f"curve_diverged:{index}")
        # above the axis' top, a decade over the calm curves (rise_cap.py): on the top edge at that step
        assert mark.axes is curves and (list(mark.get_xdata()), list(mark.get_ydata())) == ([4], [1.0])
        assert mark.get_transform() is not curves.transData and not mark.get_clip_on()
        assert mark.get_color() == line(fig, f"curve:{index}").get_color()
    assert not [ln for ln in curves.get_lines() if ln.get_gid() in ("curve_diverged:0", "curve_diverged:1")]
    assert "diverged" in [t.get_text() for t in curves.get_legend().get_texts()]


def test_a_one_variant_sweep_that_diverged_says_so(tmp_path):
    """With no axis there is no sensitivity panel: the ✕ was the only place left to say it."""
    sweep = make_sweep(tmp_path / "sw", lrs=(5.0,))
    fig, _ = sweep_figure(sweep)
    assert line(fig, "curve_diverged:0").get_xdata()[0] == 4


# ---------------------------------------------------------------- runs: a run just started, a sweep of one
def test_runs_shows_a_run_with_only_its_header_as_started_not_unreadable(tmp_path):
    root = tmp_path / "runs"
    make_run(root / "a" / "2026-11-26_10-00-00", text=HEADER + "\n", summary=False)
    result = cli("runs", root, "--json")
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    row = json.loads(result.stdout)[0]
    assert (row["status"], row["steps"], row["final_train_loss"]) == ("no summary", 0, None)


def test_runs_says_1_variant(tmp_path):
    make_sweep(tmp_path / "runs" / "s" / "sweep-2026-11-26_10-00-00", lrs=(0.1,))
    result = cli("runs", tmp_path / "runs", "--json")
    assert json.loads(result.stdout)[0]["status"] == "1 variant: 1 completed", result.stdout


# ---------------------------------------------------------------- labels and the lr panel
def test_the_best_star_of_an_optimizer_axis_names_the_optimizer_not_name(tmp_path):
    import pandas as pd

    sweep = make_sweep(tmp_path / "sw", lrs=(0.1,), optimizers=("SGD", "Adam"))
    table = pd.read_csv(sweep / "sweep.csv").drop(columns=["optimizer.lr"])  # optimizer.name is the only axis
    table.to_csv(sweep / "sweep.csv", index=False)
    fig, _ = sweep_figure(sweep)
    texts = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert "best optimizer = SGD" in texts, texts


def test_the_lr_panel_draws_a_schedule_as_steps_not_ramps(tmp_path):
    rows = [f"{s},0,{0.1 if s <= 10 else 0.01},{1 / s},0.5,1,,,{s * 0.01}" for s in range(1, 21)]
    fig, _ = figure_of(make_run(tmp_path / "r", rows=rows))
    assert line(fig, "lr").get_drawstyle() == "steps-post"


def test_runs_json_no_suggestion_is_one_of_the_readmes_words_for_a_broken_lr_find_json(tmp_path):
    """It held the status, 'unreadable lr_find.json', which a script comparing with 'unreadable' misses."""
    folder = make_lrfind(tmp_path / "runs" / "m" / "lr-find-2026-11-26_10-00-00", result="garbage")
    result = cli("runs", tmp_path / "runs", "--json")
    row = json.loads(result.stdout)[0]
    assert (row["status"], row["no_suggestion"]) == ("unreadable lr_find.json", "unreadable")
    assert str(folder / "lr_find.json") in result.stderr


def test_runs_gives_a_sweeps_best_over_its_finished_variants_only(tmp_path):
    """An interrupted variant's partial loss (or a diverged one's) is not a result of the sweep."""
    import pandas as pd

    sweep = make_sweep(tmp_path / "runs" / "s" / "sweep-2026-11-26_10-00-00", lrs=(0.01, 0.1, 1.0))
    table = pd.read_csv(sweep / "sweep.csv")
    table.loc[0, ["status", "final_train_loss", "best_val_loss"]] = ["interrupted", 1e-9, 1e-9]  # stopped early
    table.to_csv(sweep / "sweep.csv", index=False)
    row = json.loads(cli("runs", tmp_path / "runs", "--json").stdout)[0]
    done = table[table.status == "completed"]
    assert row["final_train_loss"] == pytest.approx(done.final_train_loss.min())
    assert row["best_val_loss"] == pytest.approx(done.best_val_loss.min())


@pytest.mark.parametrize("lrs, labels", [
    ((0.03, 0.04, 0.06), ["0.03", "0.04", "0.06"]),
    ((0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5), ["0.02", "0.05", "0.2", "0.5"]),  # every 2nd of seven
    ((0.001, 0.01, 0.1, 1.0), None),  # three decades: matplotlib's decade ticks, as before
    ((0.3, 0.9, 0.95, 1.0, 1.5), ["0.3", "0.9", "1", "1.5"]),  # 0.9, 0.95 and 1 printed as one `0.90.951`
    ((0.1, 0.2, 0.33, 0.35), ["0.1", "0.2", "0.35"]),
    ((0.1, 0.11, 0.12, 0.13, 0.14, 0.15), ["0.11", "0.13", "0.15"]),  # every 2nd from the top: 0.15 was dropped  # the last kept, in place of a neighbour too close
])
def test_the_sensitivity_axis_of_a_narrow_lr_range_is_ticked_at_the_swept_values(tmp_path, lrs, labels):
    """Spanning a decade or two, matplotlib labelled minor ticks and they ran together: 3×10⁻²4×10⁻²6×10⁻²."""
    from matplotlib.ticker import NullFormatter

    from tests.test_plot import make_sweep, sweep_figure

    fig, _ = sweep_figure(make_sweep(tmp_path / "s", lrs=lrs, diverge_above=10))
    low = fig.axes[1]
    fig.canvas.draw()
    shown = [t.get_text() for t in low.get_xticklabels() if t.get_text() and low.get_xlim()[0] <= t.get_position()[0] <= low.get_xlim()[1]]
    if labels is None:
        assert not isinstance(low.xaxis.get_minor_formatter(), NullFormatter) and len(shown) >= 3
        assert all("10" in text for text in shown)  # decades: 10⁻³ … 10⁰
    else:
        assert shown == labels and isinstance(low.xaxis.get_minor_formatter(), NullFormatter)
    boxes = sorted((t.get_window_extent() for t in low.get_xticklabels() if t.get_text() in shown),
                   key=lambda box: box.x0)
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:]))  # no two labels touch


def test_compare_says_which_curves_were_cut_short_by_a_stop_or_an_error(tmp_path):
    """A diverged curve's entry said so; an interrupted or failed one's ended as quietly as a finished one's."""
    from tests.test_plot import make_run
    from tests.test_plot_more import compare_figure, legend_texts

    done = make_run(tmp_path / "a", lr=0.1)
    stopped = make_run(tmp_path / "b", lr=0.2, steps=12, status="interrupted")
    broken = make_run(tmp_path / "c", lr=0.3, steps=7, status="failed")
    texts = legend_texts(compare_figure([done, stopped, broken])[0])
    assert [t.split("; ")[1:] for t in texts] == [[], ["interrupted at step 12"], ["failed at step 7"]], texts


@pytest.mark.parametrize("length", [30, 75, 200])
def test_a_long_name_in_a_figure_title_stays_inside_the_figure(tmp_path, length):
    """A 30-character sweep name ran off both edges of sweep.png ('oons-adam-… (2 variant'); ~75 did on loss.png."""
    import yaml
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from tests.test_plot import BASE_CONFIG, figure_of, make_run, make_sweep, sweep_figure

    name = ("moons-adam-lr-study-tanh-16x16 " * 8)[:length]
    sweep = make_sweep(tmp_path / "sweep-x", lrs=(0.01, 0.1))
    (sweep / "sweep.yaml").write_text(yaml.safe_dump({**BASE_CONFIG, "name": name, "axes": {"optimizer.lr": [0.01, 0.1]}}))
    run = make_run(tmp_path / "run", config={**BASE_CONFIG, "name": name})
    for fig in (sweep_figure(sweep)[0], figure_of(run)[0]):
        FigureCanvasAgg(fig).draw()
        box = fig._suptitle.get_window_extent()
        assert name.split()[0] in fig._suptitle.get_text()
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1, (box, fig.bbox)


def test_a_sweep_of_seeds_alone_plots_them_as_replicas_not_as_a_scale(tmp_path):
    """Seeds got a colour bar (0.00, 0.25 … 2.00), a line joining them and a star: 'best seed = 2'."""
    import pandas as pd
    import yaml

    from tests.test_plot import BASE_CONFIG, make_sweep, sweep_figure

    sweep = make_sweep(tmp_path / "sweep-x", lrs=(0.01,), seeds=(0, 1, 2))
    table = pd.read_csv(sweep / "sweep.csv")
    table.drop(columns="optimizer.lr").to_csv(sweep / "sweep.csv", index=False)  # seed is the only axis
    (sweep / "sweep.yaml").write_text(yaml.safe_dump({**BASE_CONFIG, "axes": {"seed": [0, 1, 2]}}))
    fig, warnings = sweep_figure(sweep)
    assert warnings == [] and len(fig.axes) == 2  # curves and the per-seed panel; no colour bar
    low = fig.axes[1]
    assert [t.get_text() for t in low.get_xticklabels()] == ["0", "1", "2"]
    assert not [ln for ln in low.get_lines() if str(ln.get_gid()).startswith("best:")]
    assert all(ln.get_linestyle() == "None" for ln in low.get_lines() if str(ln.get_gid()).startswith("sensitivity:"))


def test_smooth_draws_the_debiased_moving_average_over_the_faint_raw_curve(tmp_path):
    """Mini-batch losses are one batch's each: a curve too noisy to read without TensorBoard's slider."""
    import numpy as np
    import pandas as pd

    from gdlab.plotting.smooth import ema
    from tests.test_plot import figure_of, make_run
    from tests.test_plot_more import cli

    rng = np.random.default_rng(0)
    losses = np.exp(-np.arange(1, 201) / 60) * rng.uniform(0.2, 1.8, 200)
    rows = [f"{s},{s / 10},0.1,{v:.6g},0.5,1.0,,,{s * 0.01}" for s, v in zip(range(1, 201), losses)]
    run = make_run(tmp_path / "run", rows=rows)
    expected, s = [], 0.0  # TensorBoard's smoothing, written out: debiased by 1 - 0.9^t
    for t, v in enumerate(pd.read_csv(run / "metrics.csv")["train_loss"], 1):
        s = 0.9 * s + 0.1 * v
        expected.append(s / (1 - 0.9 ** t))
    from gdlab.plotting.load import load_run
    from gdlab.plotting.run_plot import plot_run

    fig = plot_run(load_run(run, []), smooth=0.9)
    lines = {ln.get_gid(): ln for ln in fig.axes[0].get_lines()}
    np.testing.assert_allclose(lines["train_loss"].get_ydata(), expected, rtol=1e-12)
    assert lines["train_loss:raw"].get_alpha() == 0.3 and lines["train_loss:raw"].get_label() == "_raw"
    # the legend says the curve is smoothed (it read 'train loss', as the raw curve's would), compare's title too
    assert lines["train_loss"].get_label() == "train loss, smoothed 0.9"
    from gdlab.plotting.compare import plot_compare
    from gdlab.plotting.load import load_runs

    shown = plot_compare(load_runs([run], []), "train_loss", "step", [], smooth=0.9)
    assert shown.axes[0].get_title() == "train_loss of 1 run, smoothed 0.9"
    assert list(ema([3.0, 5.0], 0.0)) == [3.0, 5.0]  # 0: the curve as logged
    assert figure_of(run)[0].axes[0].get_lines()[0].get_gid() == "train_loss"  # no --smooth: no raw copy
    assert cli("plot", run, "--smooth", "0.9", "-o", tmp_path / "a.png").exit_code == 0
    assert cli("compare", run, "--smooth", "0.9", "-o", tmp_path / "c.png").exit_code == 0
    bad = cli("plot", run, "--smooth", "1")
    assert bad.exit_code == 2 and "--smooth" in bad.stderr
    sweep = cli("plot", make_sweep_here(tmp_path), "--smooth", "0.5")
    assert sweep.exit_code == 2 and "--smooth applies to a run's loss curve" in sweep.stderr


def make_sweep_here(tmp_path):
    from tests.test_plot import make_sweep

    return make_sweep(tmp_path / "sweep-s")


@pytest.mark.parametrize("variant_first", [False, True])
def test_compare_draws_a_variant_given_beside_its_sweep_once(tmp_path, variant_first):
    """`gdlab compare SWEEP SWEEP/001_...` (or a glob that picks up both): the variant was drawn twice, two
    curves with one label."""
    sweep = make_sweep(tmp_path / "sw", lrs=(0.001, 0.01, 0.1))
    variant = next(p for p in sorted(sweep.iterdir()) if p.name.startswith("001_"))
    paths = [variant, sweep] if variant_first else [sweep, variant]
    result = cli("compare", *paths, "-o", tmp_path / "c.png")
    assert result.exit_code == 0 and "given more than once (as a run and as a variant of a sweep); drawn once" in result.stderr
    fig = compare_of(paths, "train_loss")
    assert len([ln for ln in fig.axes[0].get_lines() if (ln.get_gid() or "").startswith("compare:")]) == 3
