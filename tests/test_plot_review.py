"""A visual review's fixes, checked through the figures' matplotlib objects: legends off the lines they would
cover, error bars and diverged rises that no longer stretch an axis, plain labels on narrow log axes, and what
the lr-find mark, the seed band, compare's many curves and restored weights say."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.test_plot import figure_of, line, make_run, make_sweep


def _window_box(fig, artist):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.draw_without_rendering()
    return artist.get_window_extent(FigureCanvasAgg(fig).get_renderer())


# ---------------------------------------------------------------- the run legend and the early-stop line
def test_the_run_legend_keeps_off_the_early_stop_line(tmp_path):
    """The legend lives on the accuracy axis and "best" saw only the loss curves of the other axis: it sat
    over the dashed stop line at the right edge (a run stopped at its last step, accuracy flat on top)."""
    rows = []
    for s in range(1, 71):
        acc = 0.85 + 0.03 * np.tanh(s / 10)
        val = f"{0.35 + 0.1 * np.exp(-s / 20):.4g}" if s % 10 == 0 else ""
        rows.append(f"{s},{s},0.5,{0.3 + 0.4 * np.exp(-s / 6):.6g},{acc:.4g},1,{val},{acc if val else ''},{s * 0.01}")
    run = make_run(tmp_path / "r", rows=rows)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "stopped_early_at_step": 70}))
    fig, _ = figure_of(run)
    legend = next(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)
    box = _window_box(fig, legend)
    stop = line(fig, "stopped_early")
    x = stop.get_transform().transform([[70, 0.5]])[0][0]
    assert not box.x0 <= x <= box.x1, (box, x)
    assert "stopped early at step 70" in [t.get_text() for t in legend.get_texts()]


# ---------------------------------------------------------------- a slice's error bar
def test_a_slice_error_bar_stops_at_the_lowest_seed_not_near_zero(tmp_path):
    """Seeds 0.2, 0.2 and 2.6: mean 1.0, std 1.39. The bar reached down to mean / 1000, and the log axis
    with it, three decades below any seed; the sensitivity band stops at the lowest seed, and so does it."""
    import pandas as pd

    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import plot_search

    folder = make_sweep(tmp_path / "sw", lrs=(0.01, 0.1), seeds=(0, 1, 2))
    table = pd.read_csv(folder / "sweep.csv")
    spread = table["optimizer.lr"] == 0.1
    table.loc[spread, "best_val_loss"] = [0.2, 0.2, 2.6]
    table.to_csv(folder / "sweep.csv", index=False)
    warnings: list[str] = []
    fig = plot_search(load_sweep(folder, warnings), warnings)
    panel = next(ax for ax in fig.axes if ax.get_xlabel() == "optimizer.lr")
    bars = [c for c in panel.collections if c.get_segments()]
    lows = {round(float(seg[0][0]), 6): min(seg[0][1], seg[1][1]) for c in bars for seg in c.get_segments()}
    mean, std = np.mean([0.2, 0.2, 2.6]), np.std([0.2, 0.2, 2.6], ddof=1)
    assert mean - std < 0 and np.isclose(lows[0.1], 0.2), lows
    assert panel.get_yscale() == "log" and panel.get_ylim()[0] > 0.05, panel.get_ylim()


# ---------------------------------------------------------------- the lr-find suggestion's legend entry
def test_the_lr_find_suggestion_is_labelled_a_heuristic_or_a_lower_bound(tmp_path):
    """The legend said `suggested lr = 0.0464` alone, where the terminal calls it a heuristic, and the same
    `=` for a lower bound, where the terminal says `at least`."""
    from tests.test_plot_more import lrfind_figure, make_lrfind

    def label(result):
        fig, _ = lrfind_figure(make_lrfind(tmp_path / str(len(list(tmp_path.iterdir()))), result))
        return line(fig, "suggested_lr").get_label()

    assert label({"suggested_lr": 0.01, "min_loss_lr": 0.0316}) == "suggested lr = 0.01 (steepest fall: a heuristic)"
    assert label({"suggested_lr": 0.01, "loss_still_falling": True}) == "suggested lr ≥ 0.01 (a lower bound)"


# ---------------------------------------------------------------- compare of more curves than a legend can name
def test_compare_of_many_runs_colours_them_by_lr_with_a_colour_bar_not_a_legend_entry_each(tmp_path):
    """A 128-variant sweep filled a five-column legend whose looks (ten colours, four dashes) repeated from the
    41st curve; past MANY curves they are coloured by lr (a colour bar), and a text --color-by gets an entry per value."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, to_rgba

    from gdlab.plotting import compare
    from gdlab.plotting.compare import plot_compare
    from gdlab.plotting.load import load_runs
    from tests.test_plot import BASE_CONFIG

    lrs = np.geomspace(1e-3, 1.0, getattr(compare, "MANY", 20) + 5)
    runs = [make_run(tmp_path / f"r{i}", lr=float(lr), config={
        **BASE_CONFIG, "optimizer": {**BASE_CONFIG["optimizer"], "lr": float(lr), "name": "SGD" if i % 2 else "Adam"}})
        for i, lr in enumerate(lrs)]
    warnings: list[str] = []
    fig = plot_compare(load_runs(runs, warnings), "train_loss", "step", warnings, details=[])
    ax = fig.axes[0]
    assert [a.get_ylabel() for a in fig.axes[1:]] == ["optimizer.lr"]  # the colour bar
    cmap, norm = colormaps["viridis"], LogNorm(lrs[0], lrs[-1])
    colours = {ln.get_gid(): to_rgba(ln.get_color()) for ln in ax.get_lines()}
    assert [colours[f"compare:{i}"] for i in range(len(lrs))] == [pytest.approx(cmap(norm(v))) for v in lrs]
    assert any("coloured by optimizer.lr and dashed by optimizer.name" in w for w in warnings), warnings
    # and dashed by the optimizer (Adam's and SGD's curves at one lr looked the same), the legend naming the dashes
    legend = fig.legends[0] if fig.legends else ax.get_legend()
    entries = dict(zip([t.get_text() for t in legend.get_texts()], [h.get_linestyle() for h in legend.legend_handles]))
    assert list(entries) == ["optimizer.name=Adam", "optimizer.name=SGD"] and len(set(entries.values())) == 2
    dashes = {ln.get_gid(): ln.get_linestyle() for ln in ax.get_lines()}
    assert [dashes[f"compare:{i}"] for i in range(len(lrs))] == \
        [entries["optimizer.name=SGD" if i % 2 else "optimizer.name=Adam"] for i in range(len(lrs))]

    fig = plot_compare(load_runs(runs, []), "train_loss", "step", [], color_by="optimizer.name")
    legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["optimizer.name=Adam", "optimizer.name=SGD"]


# ---------------------------------------------------------------- a diverged rise does not take the axis
def _decades(low: float, high: float) -> float:
    return float(np.log10(high) - np.log10(low))


def test_a_diverged_curve_rise_is_cut_a_decade_above_the_calm_curves_in_a_sweep_and_in_compare(tmp_path):
    """A sweep whose large lrs blew up to 1e8 drew the calm curves, the ones to compare, in two decades of ten
    along the bottom; the axis now stops a decade above them and the ✕ of a rise past it sits on the top edge."""
    from tests.test_plot import sweep_figure
    from tests.test_plot_fixes_b import compare_of, diverged_run

    sweep = make_sweep(tmp_path / "sw", lrs=(0.01, 0.1, 1.0, 2.0))  # lr 1 and 2 rise to 1e3, then inf
    fig, _ = sweep_figure(sweep)
    curves = fig.axes[0]
    calm = np.concatenate([line(fig, f"curve:{i}").get_ydata() for i in (0, 1)])
    low, high = curves.get_ylim()
    assert high == pytest.approx(calm.max() * 10) and low <= calm.min()
    assert _decades(calm.min(), calm.max()) / _decades(low, high) > 0.5  # they fill most of the height
    for index in (2, 3):
        mark = line(fig, f"curve_diverged:{index}")
        assert list(mark.get_xdata()) == [4] and list(mark.get_ydata()) == [1.0] and not mark.get_clip_on()
        # y in axes units: on the top edge whatever the limits
        assert mark.get_transform().transform([[4, 1.0]])[0][1] == pytest.approx(curves.bbox.y1)

    run, steady = diverged_run(tmp_path / "a"), make_run(tmp_path / "b")  # 10 ** step up to 1e6 at step 6
    fig = compare_of([run, steady], "train_loss")
    ax = fig.axes[0]
    calm = line(fig, "compare:1").get_ydata()
    assert ax.get_ylim()[1] == pytest.approx(calm.max() * 10)
    mark = line(fig, "diverged:0")
    assert list(mark.get_xdata()) == [7] and list(mark.get_ydata()) == [1.0] and not mark.get_clip_on()


# ---------------------------------------------------------------- what the sensitivity band is
def test_the_sensitivity_band_over_seeds_has_one_legend_entry(tmp_path):
    """The shaded band around the mean over seeds was in no legend: a reader could not tell a std from a
    min-max range. One entry names it, however many lines (train, val, optimizers) have a band."""
    from tests.test_plot import sweep_figure

    fig, _ = sweep_figure(make_sweep(tmp_path / "sw", lrs=(0.01, 0.1), seeds=(0, 1, 2), optimizers=("SGD", "Adam")))
    panel = fig.axes[1]
    texts = [t.get_text() for t in panel.get_legend().get_texts()]
    assert texts.count("± std over seeds") == 1, texts
    bands = [c for c in panel.collections if str(c.get_gid()).startswith("band:")]
    assert len(bands) == 4 and [b.get_label() for b in bands].count("± std over seeds") == 1

    fig, _ = sweep_figure(make_sweep(tmp_path / "one", lrs=(0.01, 0.1)))  # one seed: no band, no entry
    assert "± std over seeds" not in [t.get_text() for t in fig.axes[1].get_legend().get_texts()]


# ---------------------------------------------------------------- plain tick labels on a log axis within a decade
def test_a_log_axis_within_a_decade_is_labelled_in_plain_numbers(tmp_path):
    """A loss from 0.65 to 0.2 got minor tick labels `6×10⁻¹ 4×10⁻¹ 3×10⁻¹ 2×10⁻¹`; they read `0.6 0.4 0.3 0.2`
    now. An axis over several decades keeps its `10ⁿ` labels."""
    def labels(ax):
        ax.figure.draw_without_rendering()
        return [t.get_text() for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True) if t.get_text()]

    rows = [f"{s},{s},0.1,{0.2 + 0.45 * np.exp(-s / 8):.6g},0.8,1,,,{s * 0.01}" for s in range(1, 41)]
    fig, _ = figure_of(make_run(tmp_path / "narrow", rows=rows))
    loss = line(fig, "train_loss").axes
    shown = labels(loss)
    assert loss.get_yscale() == "log" and len(shown) >= 3, shown
    assert all(float(text) > 0 for text in shown), shown  # `6×10⁻¹` does not parse
    assert {"0.3", "0.4", "0.6"} <= set(shown), shown

    rows = [f"{s},{s},0.1,{10.0 ** (-s / 8):.6g},0.8,1,,,{s * 0.01}" for s in range(1, 41)]
    fig, _ = figure_of(make_run(tmp_path / "wide", rows=rows))
    assert all("10^" in text for text in labels(line(fig, "train_loss").axes))


# ---------------------------------------------------------------- compare --x wall_s says its unit
def test_compare_against_wall_time_labels_its_axis_in_seconds(tmp_path):
    """The axis read `wall_s`, the column's name; it says what it is and its unit now."""
    from tests.test_plot_fixes_b import compare_of

    runs = [make_run(tmp_path / "a"), make_run(tmp_path / "b", lr=0.01)]
    assert compare_of(runs, "train_loss", "wall_s").axes[0].get_xlabel() == "wall-clock time (s)"
    assert compare_of(runs, "train_loss", "epoch").axes[0].get_xlabel() == "epoch"


# ---------------------------------------------------------------- where model.pt's weights come from
def test_a_run_with_restored_best_weights_stars_the_val_loss_they_come_from(tmp_path):
    """With train.restore_best_weights the curve runs on past the weights model.pt holds; nothing said where
    they came from. A star on the val loss at restored_best_from_step does, in the legend too."""
    run = make_run(tmp_path / "r")  # val_loss every 5 steps: 1.2 / step
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "restored_best_from_step": 10}))
    fig, _ = figure_of(run)
    star = line(fig, "restored_best")
    assert list(star.get_xdata()) == [10] and list(star.get_ydata()) == [pytest.approx(0.12)]
    assert star.axes is line(fig, "val_loss").axes
    legend = next(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)
    assert "model.pt: best val loss, step 10" in [t.get_text() for t in legend.get_texts()]

    (run / "summary.json").write_text(json.dumps({**summary, "restored_best_from_step": 7}))  # no val row there
    fig, _ = figure_of(run)
    assert not [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "restored_best"]


def test_a_narrow_lr_colour_bar_is_labelled_in_plain_numbers(tmp_path):
    """The colour bar of a sweep over 0.05 to 0.4 read `6×10⁻² 10⁻¹ 2×10⁻¹ 3×10⁻¹ 4×10⁻¹` beside curves whose
    axes read `0.6 0.4 0.3`; it reads plain numbers too. A bar over decades keeps `10ⁿ`."""
    from tests.test_plot import sweep_figure

    def bar_labels(fig):
        fig.draw_without_rendering()
        bar = next(a for ax in fig.axes for a in [ax, *ax.child_axes] if a.get_label() == "<colorbar>")
        return [t.get_text() for t in bar.get_yticklabels() + bar.get_yticklabels(minor=True) if t.get_text()]

    shown = bar_labels(sweep_figure(make_sweep(tmp_path / "narrow", lrs=(0.05, 0.1, 0.2, 0.4)))[0])
    assert len(shown) >= 3 and all(float(text) > 0 for text in shown), shown
    assert all("10^" in text for text in bar_labels(sweep_figure(make_sweep(tmp_path / "wide", lrs=(1e-4, 1e-2, 0.1)))[0]))


# ---------------------------------------------------------------- curves that share a --color-by colour
def test_curves_sharing_a_color_by_colour_take_turns_at_the_dashes(tmp_path):
    """`compare --color-by optimizer.name` of SGD and Adam at four lrs drew four identical blue and four identical
    orange lines, and the legend named each with a look it shared with three others."""
    from gdlab.plotting.compare import plot_compare
    from gdlab.plotting.load import load_runs
    from tests.test_plot import BASE_CONFIG

    runs = [make_run(tmp_path / f"{name}{lr}", lr=lr, config={**BASE_CONFIG, "optimizer": {"name": name, "lr": lr}})
            for name in ("SGD", "Adam") for lr in (0.001, 0.01, 0.1)]
    fig = plot_compare(load_runs(runs, []), "train_loss", "step", [], color_by="optimizer.name")
    lines = {ln.get_gid(): ln for ln in fig.axes[0].get_lines()}
    looks = [(lines[f"compare:{i}"].get_color(), lines[f"compare:{i}"].get_linestyle()) for i in range(6)]
    assert len(set(looks)) == 6, looks  # every curve its own colour and dash
    assert len({colour for colour, _ in looks[:3]}) == len({colour for colour, _ in looks[3:]}) == 1  # by name


# ---------------------------------------------------------------- the slice legend and the error bars
def test_the_slice_legend_keeps_off_the_error_bars(tmp_path):
    """"best" placement weighs lines and ignored the bars' LineCollection: the legend sat over the top of a bar
    in the upper right, where no marker was."""
    import pandas as pd

    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import plot_search

    folder = make_sweep(tmp_path / "sw", lrs=(0.01, 0.1, 1.0), seeds=(0, 1, 2), diverge_above=5)
    table = pd.read_csv(folder / "sweep.csv")
    table["best_val_loss"] = [0.3, 0.31, 0.29, 0.2, 0.21, 0.19, 0.1, 0.1, 0.9]  # lr 1: a bar from 0.1 to 0.83
    table.to_csv(folder / "sweep.csv", index=False)
    warnings: list[str] = []
    fig = plot_search(load_sweep(folder, warnings), warnings)
    panel = next(ax for ax in fig.axes if ax.get_xlabel() == "optimizer.lr")
    box = _window_box(fig, panel.get_legend())
    for bars in (c for c in panel.collections if c.get_segments()):
        for segment in bars.get_segments():
            (x, y0), (_, y1) = panel.transData.transform(segment)
            assert not (box.x0 <= x <= box.x1 and min(y0, y1) <= box.y1 and max(y0, y1) >= box.y0), (box, x, y0, y1)
