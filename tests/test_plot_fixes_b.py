"""gdlab compare / plot / runs: the divergence ✕ at its step, accuracy axes, output-path errors and a full
disk, scheduler labels, lr-find folders in a compare glob, unreadable lr_find.json values, `runs` statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_plot import BASE_CONFIG, line, make_run, make_sweep
from tests.test_plot_more import cli, compare_figure, legend_texts, lrfind_figure, make_lrfind, one_line_error


def diverged_run(folder: Path, at: int = 7) -> Path:
    """A run whose val_loss is logged every 5 steps and whose train_loss blows up at step `at`."""
    rows = [f"{s},{s / 10},0.1,{10.0 ** s:.6g},0.5,1.0,{f'{10.0 ** s:.6g}' if s % 5 == 0 else ''},,{s * 0.01}"
            for s in range(1, at)] + [f"{at},{at / 10},0.1,inf,0.5,inf,,,{at * 0.01}"]
    run = make_run(folder, rows=rows, status="diverged", config={**BASE_CONFIG, "optimizer": {"name": "GD", "lr": 9}})
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps(summary | {"diverged_at_step": at}))
    return run


def compare_of(paths, metric: str, x: str = "step"):
    from gdlab.plotting.compare import plot_compare
    from gdlab.plotting.load import load_runs

    notes: list[str] = []
    return plot_compare(load_runs(paths, notes), metric, x, notes, details=[])


# ---------------------------------------------------------------- 1. the ✕ at the divergence step
@pytest.mark.parametrize("x, where", [("step", 7), ("epoch", 0.7)])
def test_compare_marks_a_divergence_at_its_step_not_at_the_last_val_point(tmp_path, x, where):
    run, calm = diverged_run(tmp_path / "a"), make_run(tmp_path / "b")
    # the calm run's val_loss reaches 1e5 too, so the axis is not cut below the ✕ (rise_cap.py)
    (calm / "metrics.csv").write_text((calm / "metrics.csv").read_text().replace(",0.24,", ",1e+05,"))
    fig = compare_of([run, calm], "val_loss", x)
    mark = line(fig, "diverged:0")
    assert list(mark.get_xdata()) == [pytest.approx(where)]  # the last val_loss point is step 5
    assert list(mark.get_ydata()) == [pytest.approx(1e5)]  # at the height of that last finite value
    assert mark.get_transform() is mark.axes.transData
    texts = legend_texts(fig)
    assert len(texts) == 2 and texts[0].endswith("diverged at step 7") and "diverged" not in texts[1]


# ---------------------------------------------------------------- 2. accuracies on a linear 0-1 axis
@pytest.mark.parametrize("metric", ["train_accuracy", "val_accuracy"])
def test_compare_draws_accuracies_on_a_linear_axis_from_0_to_1(tmp_path, metric):
    fig = compare_of([make_run(tmp_path / "a"), make_run(tmp_path / "b", lr=0.01)], metric)
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear" and ax.get_ylim() == pytest.approx((0.0, 1.02))
    assert compare_of([make_run(tmp_path / "c")], "train_loss").axes[0].get_yscale() == "log"  # losses unchanged


# ---------------------------------------------------------------- 3. output paths and a full disk
def test_a_full_disk_while_saving_is_exit_1_in_one_line(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def full(self, stream, **_):
        stream.write(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    run = make_run(tmp_path / "run")
    for args in (("plot", run), ("compare", run)):
        result = cli(*args, "-o", tmp_path / "out" / "x.png")
        assert result.exit_code == 1, (result.exit_code, result.stderr)
        target = tmp_path / "out" / "x.png"
        assert result.stderr == f"gdlab: error: {target}: cannot write it (No space left on device)\n"
        assert list((tmp_path / "out").iterdir()) == []  # no temp file left behind


def test_an_output_that_is_a_folder_asks_for_a_file_name(tmp_path):
    run = make_run(tmp_path / "run")
    for args in (("plot", run), ("compare", run)):
        result = cli(*args, "-o", tmp_path)
        one_line_error(result, str(tmp_path), "is a folder", "file name")
        assert "suffix" not in result.stderr


def test_an_output_under_a_file_says_a_file_is_in_the_way(tmp_path):
    (tmp_path / "file").write_text("x")
    run = make_run(tmp_path / "run")
    for args in (("plot", run), ("compare", run)):
        result = cli(*args, "-o", tmp_path / "file" / "x.png")
        one_line_error(result, "a file is in the way", f"{tmp_path / 'file'} is a file, not a folder")
        assert "File exists" not in result.stderr


# ---------------------------------------------------------------- 4. labels for runs that differ by scheduler
SCHEDULERS = {
    "onecycle": {"interval": "step", "name": "OneCycleLR", "pct_start": 0.3, "anneal_strategy": "cos",
                 "div_factor": 25.0, "final_div_factor": 10000.0, "three_phase": False},
    "steplr": {"interval": "epoch", "name": "StepLR", "step_size": 5, "gamma": 0.1},
}


def test_compare_labels_runs_by_scheduler_name_and_null_is_as_absent(tmp_path):
    plain = make_run(tmp_path / "plain", config=BASE_CONFIG)  # scheduler: null, as gdlab writes it
    bare = make_run(tmp_path / "bare", config={k: v for k, v in BASE_CONFIG.items() if k != "scheduler"})
    runs = [plain, bare] + [make_run(tmp_path / name, config={**BASE_CONFIG, "scheduler": sched})
                            for name, sched in SCHEDULERS.items()]
    fig, details = compare_figure(runs)
    labels = [line(fig, f"compare:{i}").get_label() for i in range(4)]
    # each kind's own keys follow from its name; interval differs between the two that have one
    assert labels[2:] == ["scheduler.name=OneCycleLR, scheduler.interval=step", "scheduler.name=StepLR, scheduler.interval=epoch"]
    # null and absent: one fact, the same label (told apart by folder)
    assert [label.split(" (")[0] for label in labels[:2]] == ["scheduler.name=unset"] * 2 and details == []


# ---------------------------------------------------------------- 5. lr-find folders in a compare glob
def test_compare_of_a_glob_that_takes_in_an_lr_find_folder_skips_it(tmp_path):
    make_run(tmp_path / "runs" / "a")
    make_run(tmp_path / "runs" / "b", lr=0.01)
    lrf = make_lrfind(tmp_path / "runs" / "lrf")
    result = cli("compare", *sorted((tmp_path / "runs").iterdir()), "-o", tmp_path / "c.png")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"gdlab: warning: {lrf}: an lr-find folder has no training curve to compare; skipped " \
                            "(draw it with gdlab plot)\n"
    assert (tmp_path / "c.png").exists()
    one_line_error(cli("compare", lrf, make_lrfind(tmp_path / "lrf2"), "-o", tmp_path / "d.png"), str(lrf))


# ---------------------------------------------------------------- 6. an unreadable suggested_lr
def test_an_unreadable_suggested_lr_is_a_warning_not_a_false_reason(tmp_path):
    folder = make_lrfind(tmp_path / "lrf", {"suggested_lr": "abc", "min_loss_lr": 0.0316, "loss_still_falling": False})
    result = cli("plot", folder)
    assert result.exit_code == 0
    assert result.stderr == f"gdlab: warning: {folder / 'lr_find.json'}: suggested_lr 'abc' is not a positive " \
                            "number; ignoring it\n"
    fig, _ = lrfind_figure(folder)
    title = fig.axes[0].get_title()
    assert "unreadable" in title and "never fell" not in title
    rows = json.loads(cli("runs", tmp_path, "--json").stdout)
    assert rows[0]["status"] == "no suggested lr (unreadable)"


# ---------------------------------------------------------------- 7. `gdlab runs`: statuses and --json fields
@pytest.mark.parametrize("status, warning", [(None, "status None is not a word"), (5, "status 5 is not a word"),
                                             ("absent", "no status")])
def test_runs_shows_an_unreadable_run_status_as_unknown_with_a_warning(tmp_path, status, warning):
    run = make_run(tmp_path / "r")
    summary = json.loads((run / "summary.json").read_text())
    summary = {k: v for k, v in summary.items() if k != "status"} | ({} if status == "absent" else {"status": status})
    (run / "summary.json").write_text(json.dumps(summary))
    result = cli("runs", tmp_path, "--json")
    assert json.loads(result.stdout)[0]["status"] == "unknown"
    assert result.stderr == f"gdlab: warning: {run / 'summary.json'}: {warning}; shown as unknown\n"


def test_runs_counts_an_empty_sweep_status_cell_as_unknown_and_gives_counts_as_data(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x")
    lines = (sweep / "sweep.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",completed,", ",,", 1)
    (sweep / "sweep.csv").write_text("\n".join(lines) + "\n")
    result = cli("runs", tmp_path, "--json")
    row = json.loads(result.stdout)[0]
    assert row["status"] == "4 variants: 2 completed, 1 unknown, 1 diverged" and "nan" not in row["status"]
    assert row["statuses"] == {"completed": 2, "unknown": 1, "diverged": 1}
    assert result.stderr == (f"gdlab: warning: {sweep / 'sweep.csv'}: 1 row(s) have no readable status; "
                             "counted as unknown\n")


def test_runs_json_has_the_statuses_key_even_for_an_unreadable_sweep(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x")
    (sweep / "sweep.csv").write_text("not,a,sweep\n")
    row = json.loads(cli("runs", tmp_path, "--json").stdout)[0]
    assert row["status"] == "unreadable" and row["statuses"] is None  # scripts can read the key without a guard


@pytest.mark.parametrize("fields, why", [
    ({"interrupted": True, "loss_still_falling": True}, "interrupted"),
    ({"interrupted": False, "loss_still_falling": True}, "loss still falling"),
    ({"interrupted": False, "loss_still_falling": False}, "no steady fall"),
])
def test_runs_says_why_an_lr_find_has_no_suggestion(tmp_path, fields, why):
    make_lrfind(tmp_path / "lrf", {"suggested_lr": None, "min_loss_lr": 0.0316, "steps": 21, **fields})
    result = cli("runs", tmp_path, "--json")
    assert result.exit_code == 0 and result.stderr == ""
    row = json.loads(result.stdout)[0]
    assert row["status"] == f"no suggested lr ({why})" and row["no_suggestion"] == why
    assert row["suggested_lr"] is None and row["min_loss_lr"] == 0.0316
    assert f"no suggested lr ({why})" in cli("runs", tmp_path).stdout


def test_runs_json_gives_an_lr_find_suggestion_as_a_number(tmp_path):
    make_lrfind(tmp_path / "lrf", {"suggested_lr": 0.5, "min_loss_lr": 1.0, "loss_still_falling": True, "steps": 21})
    row = json.loads(cli("runs", tmp_path, "--json").stdout)[0]
    assert row["status"] == "suggested lr 0.5 (lower bound)"
    assert (row["suggested_lr"], row["min_loss_lr"], row["lower_bound"], row["no_suggestion"]) == (0.5, 1.0, True, None)



# ---------------------------------------------------------------- labels from the curves drawn
def test_compare_labels_only_by_what_differs_between_the_curves_it_draws(tmp_path):
    """A run left out (no val_loss column) must not put its own differences into the others' labels: two
    curves that differ only in lr are labelled by the lr; a lone curve by its folder."""
    from tests.test_plot import HEADER

    def config(lr, seed, noise):
        return {**BASE_CONFIG, "seed": seed, "data": {**BASE_CONFIG["data"], "noise": noise},
                "optimizer": {**BASE_CONFIG["optimizer"], "lr": lr}}

    a = make_run(tmp_path / "x" / "a", lr=0.1, config=config(0.1, 0, 0.1))
    b = make_run(tmp_path / "x" / "b", lr=0.01, config=config(0.01, 0, 0.1))
    no_val = HEADER.replace(",val_loss", ",other")
    odd = make_run(tmp_path / "x" / "odd", config=config(0.1, 7, 0.3), header=no_val)
    assert legend_texts(compare_of([a, b, odd], "val_loss")) == ["optimizer.lr=0.1", "optimizer.lr=0.01"]
    assert legend_texts(compare_of([a, odd], "val_loss")) == ["x/a"]
    assert len(legend_texts(compare_of([a, b, odd], "train_loss"))) == 3  # drawn, it is labelled as before


# ---------------------------------------------------------------- stars on one point, a long legend
def test_stars_of_groups_on_one_point_both_show_and_a_long_legend_sits_beside_the_panel(tmp_path):
    """SGD and RMSprop share their best lr and loss here: the later star is smaller and drawn above, so
    both show; their 11 legend entries go beside the sensitivity panel instead of over its points."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from tests.test_plot import sweep_figure

    fig, _ = sweep_figure(make_sweep(tmp_path / "sw", optimizers=("SGD", "RMSprop", "Adam"), seeds=(0, 1)))
    sgd, rms, adam = (line(fig, f"best:{name}") for name in ("SGD", "RMSprop", "Adam"))
    assert (sgd.get_xdata()[0], sgd.get_ydata()[0]) == (rms.get_xdata()[0], rms.get_ydata()[0])  # one point
    assert sgd.get_markersize() > rms.get_markersize() > adam.get_markersize()
    assert sgd.get_zorder() < rms.get_zorder() < adam.get_zorder()
    low = fig.axes[1]
    legend = low.get_legend()
    renderer = FigureCanvasAgg(fig).get_renderer()
    assert len(legend.get_texts()) > 5
    assert legend.get_window_extent(renderer).x0 >= low.get_window_extent(renderer).x1  # beside, not over
    few, _ = sweep_figure(make_sweep(tmp_path / "one", seeds=(0,)))  # one optimizer: 4 entries, inside
    small, panel = few.axes[1].get_legend(), few.axes[1]
    renderer = FigureCanvasAgg(few).get_renderer()
    assert len(small.get_texts()) <= 5
    assert small.get_window_extent(renderer).x1 <= panel.get_window_extent(renderer).x1


# ---------------------------------------------------------------- whole-number step ticks
def test_a_short_run_gets_whole_number_step_ticks(tmp_path):
    """A run that diverged at step 4 showed ticks at 1.5, 2.5 ...: a step is a whole number."""
    from gdlab.plotting.load import load_run
    from gdlab.plotting.run_plot import plot_run

    run = diverged_run(tmp_path / "short", at=4)
    figures = [plot_run(load_run(run, [])), compare_of([run, make_run(tmp_path / "calm", steps=3)], "train_loss")]
    for fig in figures:
        fig.canvas.draw()
        ticks = [t for t in fig.axes[-1 if fig is figures[0] else 0].get_xticks()]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


# ---------------------------------------------------------------- the sharpness panel's scale
@pytest.mark.parametrize("values, scale", [((14, 22, 30, 35), "linear"), ((0.5, 3, 30, 35), "log")])
def test_a_sharpness_panel_within_a_decade_is_linear_and_names_its_edge(tmp_path, values, scale):
    """configs/edge_of_stability.yaml's sharpness climbs 14 -> 35 towards 2/lr = 33.3: on a log axis that
    showed two ticks and no number for the edge. Within a decade the axis is linear; spanning more, log."""
    from tests.test_plot import figure_of

    header = "step,epoch,lr,train_loss,grad_norm,sharpness,wall_s"
    rows = [f"{s},0,0.06,{1 / s},1.0,{values[s - 1]},{s}" for s in range(1, 5)]
    fig, _ = figure_of(make_run(tmp_path / "run", rows=rows, header=header))
    panel = next(ax for ax in fig.axes if ax.get_ylabel() == "sharpness")
    assert panel.get_yscale() == scale
    assert line(fig, "edge").get_label() == "2 / lr = 33.3"  # one lr all run long: its value


@pytest.mark.parametrize("values, min_decades, scale", [
    ([14, 35], 1, "linear"), ([3, 35], 1, "log"), ([14, 35], 0, "log"),
    ([1e-300, 1e300], 1, "log"),  # 600 decades: their ratio overflows float64, their logs do not
    ([-1, 35], 0, "linear"),
])
def test_log_if_positive_takes_a_least_span_in_decades(values, min_decades, scale):
    import warnings

    import matplotlib.pyplot as plt

    from gdlab.plotting.output import log_if_positive

    fig, ax = plt.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        assert log_if_positive(ax, [values], min_decades=min_decades) is (scale == "log")
    assert ax.get_yscale() == scale
    plt.close(fig)
