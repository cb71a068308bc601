"""Random search: distributions drawn jointly `--samples` times, crossed with list axes, seeded, recorded
in sweep.yaml for --resume, and drawn as slice plots."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest
import yaml

from gdlab.errors import GdlabError
from gdlab.sweep.grid import grid
from gdlab.sweep.distributions import parse_distribution
from gdlab.sweep.sampling import draw_points
from tests.helpers import entry_at, invoke, one_error_line
from tests.test_sweep import write_config

LR, MOM = "optimizer.lr", "optimizer.momentum"


def dist(text):
    return parse_distribution(text, "test")


def test_loguniform_gives_each_decade_its_share_and_the_others_their_ranges():
    draws = draw_points({"a": dist("loguniform(1e-4, 1e-1)"), "b": dist("uniform(-1, 3)"), "c": dist("randint(2, 5)"),
                         "d": dist("choice(SGD, Adam, 0.5)")}, 3000, seed=7, source="t")
    a = pd.Series(draws["a"])
    assert a.between(1e-4, 1e-1).all()
    decades = pd.cut(a.map(math.log10), [-4, -3, -2, -1], include_lowest=True).value_counts()
    assert (decades - 1000).abs().max() < 4 * math.sqrt(3000 * (1 / 3) * (2 / 3))  # binomial, 4 sigma
    b = pd.Series(draws["b"])
    assert b.between(-1, 3).all() and abs(b.mean() - 1.0) < 4 * (4 / math.sqrt(12)) / math.sqrt(3000)
    assert sorted(set(draws["c"])) == [2, 3, 4, 5] and all(isinstance(v, int) for v in draws["c"])
    assert set(draws["d"]) == {"SGD", "Adam", 0.5}
    assert all(float(f"{v:.4g}") == v for v in draws["a"] + draws["b"])  # 4 significant digits
    points = list(zip(*draws.values()))
    assert len(set(points)) == 3000  # no point twice


def test_draws_are_seeded_joint_and_crossed_with_list_axes_draw_slowest():
    d = {LR: dist("loguniform(1e-3,1)"), MOM: dist("uniform(0,0.9)")}
    first, again, other = (draw_points(d, 5, s, "t") for s in (0, 0, 1))
    assert first == again and first != other
    axes = {LR: first[LR], "seed": [0, 1], MOM: first[MOM]}
    points = grid(axes, joint=[LR, MOM])
    assert len(points) == 10
    for i, p in enumerate(points):  # one draw, then its seeds; the drawn keys stay together
        assert (p[LR], p[MOM], p["seed"]) == (first[LR][i // 2], first[MOM][i // 2], i % 2)


@pytest.mark.parametrize("text, part", [
    ("loguniform(0,1)", "loguniform needs low > 0"), ("uniform(1,1)", "finite low < high"),
    ("randint(1.5,3)", "whole numbers"), ("choice(SGD)", "2 or more different values"),
    ("uniform(1)", "2 numbers (low, high)"),
])
def test_a_bad_distribution_is_one_line(text, part):
    with pytest.raises(GdlabError, match=part.replace("(", r"\(").replace(")", r"\)")):
        dist(text)


def test_a_space_smaller_than_the_samples_is_refused():
    with pytest.raises(GdlabError, match="only 6 distinct points"):
        draw_points({"a": dist("randint(1,3)"), "b": dist("choice(x,y)")}, 7, 0, "t")
    assert len(set(zip(*draw_points({"a": dist("randint(1,3)"), "b": dist("choice(x,y)")}, 6, 0, "t").values()))) == 6


def test_a_space_smaller_than_the_sections_samples_names_the_section_not_the_flag(tmp_path):
    cfg = write_config(tmp_path, sweep={"samples": 4, LR: "loguniform(1e-3,1)", MOM: "choice(0,0.9)"})
    # the command line lists the lrs: the section's momentum is still drawn, from 2 values
    line = one_error_line(invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--dry-run"), 2,
                          f"{entry_at(cfg, 'samples:', ' samples:')}: sweep.samples 4, but the drawn axes have only 2 distinct points")
    assert "--samples" not in line  # not typed: the count came from the file


@pytest.mark.parametrize("section, args", [
    (None, ["optimizer.lr=uniform(0.01,1)", "optimizer.momentum=uniform(0,0.9)", "--samples", "10000000"]),
    ({"samples": 10_000_000, LR: "uniform(0.01,1)", MOM: "uniform(0,0.9)"}, []),
], ids=["command-line", "sweep-section"])
def test_too_many_samples_are_refused_before_anything_is_drawn(tmp_path, monkeypatch, section, args):
    """10 million joint draws took 40 s to make before the grid's size limit refused them."""
    import gdlab.sweep.sampling as sampling

    def no_draws(*a, **k):
        raise AssertionError("drew points for a search the size limit refuses")

    monkeypatch.setattr(sampling, "draw_points", no_draws)
    cfg = write_config(tmp_path, **({"sweep": section} if section else {}))
    one_error_line(invoke("sweep", cfg, *args, "seed=0,1", "--run-dir", tmp_path / "sw"), 2,
                   "the grid has 20000000 variants (optimizer.lr & optimizer.momentum: 10000000 x seed: 2)",
                   "the limit is 100000")
    assert not (tmp_path / "sw").exists()


@pytest.mark.parametrize("args, parts", [
    (["optimizer.lr=loguniform(1e-3,1)"], ["optimizer.lr=loguniform(1e-3,1) is drawn at random", "--samples N"]),
    (["optimizer.lr=0.1,0.2", "--samples", "3"], ["--samples 3: no axis is drawn at random"]),
    (["optimizer.lr=loguniform(1e-3,1),0.5", "--samples", "3"], ["must be an axis's whole value"]),
    (["optimizer.lr=loguniform(-1,1)", "--samples", "3"], ["loguniform needs low > 0"]),
    (["optimizer.lr=uniform(-1,1)", "--samples", "4"], ["variant 2 (optimizer.lr=-0.1589)", "greater than 0"]),  # a draw fails validation
])
def test_random_search_input_errors_exit_2_before_any_folder(tmp_path, args, parts):
    cfg = write_config(tmp_path)
    one_error_line(invoke("sweep", cfg, *args, "--run-dir", tmp_path / "sw"), 2, *parts)
    assert not (tmp_path / "sw").exists()


@pytest.mark.parametrize("sampler", ["random", "sobol", "halton", "lhs"])
def test_every_sampler_takes_seeds_up_to_2_64_and_the_section_refuses_more(tmp_path, sampler):
    cfg = write_config(tmp_path, sweep={"samples": 3, "sampler": sampler, "sample_seed": 2**64 - 1, LR: "loguniform(1e-3,1)"})
    assert invoke("sweep", cfg, "--dry-run").exit_code == 0
    cfg = write_config(tmp_path, sweep={"samples": 3, "sampler": sampler, "sample_seed": 2**64, LR: "loguniform(1e-3,1)"})
    one_error_line(invoke("sweep", cfg, "--dry-run"), 2,
                   f"{entry_at(cfg, 'sample_seed:')}: sweep.sample_seed: expected a whole number from 0 to {2**64 - 1}, got {2**64}")
    # past torch's largest seed, Sobol's generator raised an overflow traceback (exit 1)
    flag = invoke("sweep", write_config(tmp_path), "optimizer.lr=loguniform(1e-3,1)", "--samples", "3",
                  "--sampler", sampler, "--sample-seed", str(2**64), "--dry-run")
    one_error_line(flag, 2, f"--sample-seed {2**64}: expected a whole number from 0 to {2**64 - 1}")


def test_yaml_samples_are_settings_not_axes_and_the_command_line_wins(tmp_path):
    cfg = write_config(tmp_path, sweep={"samples": 3, "sample_seed": 5, "optimizer": {"lr": "loguniform(1e-3,1)"}})
    shown = invoke("sweep", cfg, "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert "3 variants" in shown.stdout and "random search: 3 joint draws of optimizer.lr ~ loguniform(1e-3,1) (--sample-seed 5)" in shown.stdout
    more = invoke("sweep", cfg, "--dry-run", "--samples", "4", "--sample-seed", "5")
    assert "4 variants" in more.stdout
    lrs = draw_points({LR: dist("loguniform(1e-3,1)")}, 4, 5, "t")[LR]
    assert all(f"{v:g}" in more.stdout for v in lrs)
    assert invoke("validate", cfg).exit_code == 0
    bad = write_config(tmp_path, sweep={"samples": 0, LR: "loguniform(1e-3,1)"})
    one_error_line(invoke("sweep", bad, "--dry-run"), 2, "sweep.samples: expected a whole number >= 1, got 0")


def test_a_search_runs_batched_resumes_the_same_points_and_plots_slices(tmp_path):
    cfg = write_config(tmp_path, **{"train.epochs": 6, "optimizer.momentum": 0.5, "train.diverge_factor": 3})
    out = tmp_path / "sw"
    ran = invoke("sweep", cfg, "optimizer.lr=loguniform(1e-2,1e4)", "optimizer.momentum=uniform(0,0.9)", "seed=0,1",
                 "--samples", "4", "--sample-seed", "3", "--run-dir", out)
    assert ran.exit_code == 0, ran.output
    doc = yaml.safe_load((out / "sweep.yaml").read_text())
    draws = draw_points({LR: dist("loguniform(1e-2,1e4)"), MOM: dist("uniform(0,0.9)")}, 4, 3, "t")
    assert doc["axes"][LR] == draws[LR] and doc["axes"][MOM] == draws[MOM]
    assert doc["sampling"] == {"samples": 4, "seed": 3, "sampler": "random", "draws": {LR: "loguniform(1e-2,1e4)", MOM: "uniform(0,0.9)"}}
    table = pd.read_csv(out / "sweep.csv")
    assert table[LR].tolist() == [v for v in draws[LR] for _ in (0, 1)] and table.seed.tolist() == [0, 1] * 4
    before = table.copy()

    victim = out / table.run_dir[5]  # lost: --resume reruns exactly that point, not a new draw
    shutil.rmtree(victim)
    again = invoke("sweep", "--resume", out)
    assert again.exit_code == 0, again.output
    after = pd.read_csv(out / "sweep.csv")
    cols = [LR, MOM, "seed", "status", "final_train_loss", "best_val_loss", "run_dir"]
    pd.testing.assert_frame_equal(after[cols], before[cols])

    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import is_search, plot_search

    sweep = load_sweep(out, [])
    assert is_search(sweep)
    fig = plot_search(sweep, [])
    slices = {ax.get_xlabel(): ax for ax in fig.axes if "~" in ax.get_xlabel()}
    lr_ax = slices["optimizer.lr ~ loguniform(1e-2,1e4)"]
    lo, hi = lr_ax.get_xlim()
    assert lr_ax.get_xscale() == "log" and lo < 1e-2 and hi > 1e4  # the range searched, not just the draws
    done = before[before.status == "completed"]
    means = done.groupby([LR, MOM]).best_val_loss.mean()
    points = [ln for ln in lr_ax.get_lines() if ln.get_gid() == f"draw:{LR}"]
    assert sorted(ln.get_xdata()[0] for ln in points) == sorted(means.index.get_level_values(0))
    assert sorted(ln.get_ydata()[0] for ln in points) == pytest.approx(sorted(means))
    full = before.groupby([LR, MOM]).status.apply(lambda s: (s == "completed").all())
    best = means[full[means.index]].idxmin() if full[means.index].any() else means.idxmin()
    star = next(ln for ln in lr_ax.get_lines() if ln.get_gid() == f"best:{LR}")
    assert (star.get_xdata()[0], star.get_ydata()[0]) == pytest.approx((best[0], means[best]))
    # its legend entry names the setting and the score (it read `best: 0.2284`, neither which lr nor what)
    assert star.get_label() == f"best: {LR}={best[0]:.4g} (best_val_loss {means[best]:.4g})"
    crossed = [ln for ln in lr_ax.get_lines() if ln.get_gid() == f"diverged:{LR}"]
    diverged = before.groupby(LR).status.apply(lambda s: (s == "diverged").all())
    assert len(crossed) == int(diverged.sum()) == 1  # lr 56.8 diverges on both seeds
    assert invoke("plot", out, "-o", tmp_path / "s.png").exit_code == 0 and (tmp_path / "s.png").stat().st_size > 0


def test_resume_takes_no_new_draws(tmp_path):
    one_error_line(invoke("sweep", "--resume", tmp_path, "--samples", "3"), 2, "--resume takes the sweep folder only")


def test_drawn_seeds_are_replicas_in_the_plot(tmp_path):
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import is_search, plot_search

    cfg = write_config(tmp_path, **{"train.epochs": 2})
    both, alone = tmp_path / "both", tmp_path / "alone"
    assert invoke("sweep", cfg, "seed=randint(0,10000)", "optimizer.lr=loguniform(1e-2,1)", "--samples", "3",
                  "--run-dir", both, "-q").exit_code == 0
    assert invoke("sweep", cfg, "seed=randint(0,10000)", "--samples", "3", "--run-dir", alone, "-q").exit_code == 0
    sweep = load_sweep(both, [])
    labels = [ax.get_xlabel() for ax in plot_search(sweep, []).axes]
    assert "optimizer.lr ~ loguniform(1e-2,1)" in labels and not any(x.startswith("seed") for x in labels)
    assert not is_search(load_sweep(alone, []))  # seeds alone: the sweep figure's replicas
    assert invoke("plot", alone, "-o", tmp_path / "a.png").exit_code == 0


def test_a_drawn_choice_keeps_its_written_order_and_colours_the_points(tmp_path):
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import plot_search

    cfg = write_config(tmp_path, **{"train.epochs": 2})
    out = tmp_path / "sw"
    assert invoke("sweep", cfg, "optimizer.lr=loguniform(1e-2,1)", "optimizer.name=choice(SGD,Adam,RMSprop)",
                  "--samples", "6", "--run-dir", out, "-q").exit_code == 0
    table = pd.read_csv(out / "sweep.csv")
    fig = plot_search(load_sweep(out, []), [])
    name_ax = next(ax for ax in fig.axes if ax.get_xlabel().startswith("optimizer.name"))
    assert [t.get_text() for t in name_ax.get_xticklabels()] == ["SGD", "Adam", "RMSprop"]
    assert name_ax.get_xlim() == (-0.5, 2.5)
    lr_ax = next(ax for ax in fig.axes if ax.get_xlabel().startswith("optimizer.lr"))
    named = sorted(t.get_text() for t in lr_ax.get_legend().get_texts() if t.get_text().startswith("optimizer.name="))
    assert named == sorted(f"optimizer.name={n}" for n in table["optimizer.name"].unique())


def test_any_sweep_plots_as_slices_a_null_as_a_category(tmp_path):
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import plot_search

    cfg = write_config(tmp_path, **{"train.epochs": 2})
    out = tmp_path / "sw"
    assert invoke("sweep", cfg, "optimizer.lr=0.01,0.1,1", "optimizer.name=SGD,Adam", "train.batch_size=null,24",
                  "--run-dir", out, "-q").exit_code == 0
    fig = plot_search(load_sweep(out, []), [])
    panels = {ax.get_xlabel(): ax for ax in fig.axes if ax.get_xlabel() and ax.get_xlabel() != "step"}
    assert set(panels) == {LR, "optimizer.name", "train.batch_size"}
    assert panels[LR].get_xscale() == "log"
    assert [t.get_text() for t in panels["optimizer.name"].get_xticklabels()] == ["SGD", "Adam"]
    marks = lambda ax, key: [ln for ln in ax.get_lines() if ln.get_gid() in (f"draw:{key}", f"diverged:{key}")]  # noqa: E731
    assert len(marks(panels[LR], LR)) == 12  # every grid point
    batch = panels["train.batch_size"]  # sweep.csv writes a swept null as `null`: the full batch, a category
    assert [t.get_text() for t in batch.get_xticklabels()] == ["null", "24"] and len(marks(batch, "train.batch_size")) == 12
    assert "(slices, 12 variants)" in fig._suptitle.get_text()
    assert invoke("plot", out, "--slices", "-o", tmp_path / "s.png").exit_code == 0
    # by default the slices go to slices.png: the grid's sweep.png (its curves) is not overwritten
    assert invoke("plot", out).exit_code == 0
    curves = (out / "sweep.png").read_bytes()
    drawn = invoke("plot", out, "--slices")
    assert drawn.exit_code == 0 and "slices.png" in drawn.output, drawn.output
    assert (out / "slices.png").stat().st_size > 0 and (out / "sweep.png").read_bytes() == curves
    one_error_line(invoke("plot", out / table_dir(out), "--slices"), 2, "--slices draws a sweep folder, not a run folder")


def table_dir(out):
    return pd.read_csv(out / "sweep.csv").run_dir[0]


def test_only_drawn_floats_are_said_to_be_rounded_and_an_accuracy_slice_is_linear(tmp_path):
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import plot_search

    cfg = write_config(tmp_path, **{"train.epochs": 2})
    discrete = invoke("sweep", cfg, "optimizer.name=choice(SGD,Adam)", "train.batch_size=randint(8,40)", "--samples", "3", "--dry-run")
    drawn = invoke("sweep", cfg, "optimizer.lr=uniform(0.01,0.5)", "--samples", "3", "--dry-run")
    assert "rounded" not in discrete.stdout and "values rounded to 4 significant digits" in drawn.stdout
    out = tmp_path / "sw"
    assert invoke("sweep", cfg, "optimizer.lr=loguniform(1e-2,1)", "--samples", "3", "--rank-by", "final_val_accuracy",
                  "--run-dir", out, "-q").exit_code == 0
    panel = next(ax for ax in plot_search(load_sweep(out, []), []).axes if ax.get_xlabel().startswith(LR))
    assert panel.get_ylabel() == "final_val_accuracy" and panel.get_yscale() == "linear"


def test_sobol_draws_fill_every_stratum_that_independent_draws_may_miss():
    """A scrambled Sobol sequence's first 2^m points put one point in each of 2^m equal slices of each axis,
    and in each cell of a 4 x 4 grid over two axes: the even coverage a few random draws lack."""
    d = {LR: dist("loguniform(1e-4,1)"), MOM: dist("uniform(0,0.8)")}
    drawn = draw_points(d, 16, 5, "t", sampler="sobol")
    lr_bins = sorted(int((math.log10(v) + 4) / 4 * 16) for v in drawn[LR])
    mom_bins = sorted(int(v / 0.8 * 16) for v in drawn[MOM])
    assert lr_bins == list(range(16)) and mom_bins == list(range(16))
    cells = {(int((math.log10(a) + 4) / 4 * 4), int(b / 0.8 * 4)) for a, b in zip(drawn[LR], drawn[MOM])}
    assert len(cells) == 16
    assert draw_points(d, 16, 5, "t", sampler="sobol") == drawn and draw_points(d, 16, 6, "t", sampler="sobol") != drawn
    discrete = draw_points({"o": dist("choice(SGD,Adam,RMSprop)"), "b": dist("randint(1,2)")}, 6, 0, "t", sampler="sobol")
    assert len(set(zip(*discrete.values()))) == 6  # every point of the 3 x 2 space, each once


def _slices(values, low, high, n, log=False):
    """Which of n equal slices of [low, high] (in log10 when `log`) each value falls in, sorted."""
    f = math.log10 if log else float
    return sorted(int((f(v) - f(low)) / (f(high) - f(low)) * n) for v in values)


def test_a_latin_hypercube_puts_one_point_in_every_slice_of_every_axis_for_any_count():
    """Sobol's balance needs a power of 2 points; a Latin hypercube of 10 has one in each tenth of each axis,
    which 10 independent draws give with probability 10!/10^10 per axis."""
    d = {LR: dist("loguniform(1e-4,1)"), MOM: dist("uniform(0,0.8)")}
    for n in (5, 10, 12):
        drawn = draw_points(d, n, 7, "t", sampler="lhs")
        assert _slices(drawn[LR], 1e-4, 1, n, log=True) == list(range(n))
        assert _slices(drawn[MOM], 0, 0.8, n) == list(range(n))
    ten = draw_points(d, 10, 7, "t", sampler="lhs")
    assert draw_points(d, 10, 7, "t", sampler="lhs") == ten and draw_points(d, 10, 8, "t", sampler="lhs") != ten
    random_draws = draw_points(d, 10, 7, "t", sampler="random")
    assert _slices(random_draws[LR], 1e-4, 1, 10, log=True) != list(range(10))  # what the hypercube adds
    discrete = draw_points({"o": dist("choice(SGD,Adam,RMSprop)"), "b": dist("randint(1,2)")}, 6, 0, "t", sampler="lhs")
    assert len(set(zip(*discrete.values()))) == 6  # a repeated point is replaced from a further design


def test_a_halton_sequence_is_balanced_in_its_first_axis_base_2_and_second_base_3():
    """Scrambled Halton points: the first axis (base 2) has one of 16 points in each sixteenth, the second
    (base 3) one of 9 in each ninth; seeded like every sampler."""
    d = {LR: dist("loguniform(1e-4,1)"), MOM: dist("uniform(0,0.8)")}
    sixteen, nine = draw_points(d, 16, 3, "t", sampler="halton"), draw_points(d, 9, 3, "t", sampler="halton")
    assert _slices(sixteen[LR], 1e-4, 1, 16, log=True) == list(range(16))
    assert _slices(nine[MOM], 0, 0.8, 9) == list(range(9))
    assert draw_points(d, 16, 3, "t", sampler="halton") == sixteen and draw_points(d, 16, 4, "t", sampler="halton") != sixteen
    assert sixteen != draw_points(d, 16, 3, "t", sampler="sobol")


def test_every_sampler_is_named_in_the_dry_run_and_recorded(tmp_path):
    plain = write_config(tmp_path, **{"train.epochs": 2})
    for sampler, label in (("lhs", "Latin hypercube search: 5 joint draws"), ("halton", "quasi-random (Halton) search"),
                           ("sobol", "quasi-random (Sobol) search"), ("random", "random search: 5 joint draws")):
        shown = invoke("sweep", plain, "optimizer.lr=loguniform(1e-2,1)", "--samples", "5", "--sampler", sampler,
                       "--dry-run")
        assert shown.exit_code == 0 and label in " ".join(shown.output.split()), shown.output
    out = tmp_path / "lhs"
    assert invoke("sweep", plain, "optimizer.lr=loguniform(1e-2,1)", "--samples", "3", "--sampler", "lhs",
                  "--run-dir", out, "-q").exit_code == 0
    doc = yaml.safe_load((out / "sweep.yaml").read_text())
    assert doc["sampling"]["sampler"] == "lhs"
    assert doc["axes"][LR] == draw_points({LR: dist("loguniform(1e-2,1)")}, 3, 0, "t", sampler="lhs")[LR]


def test_the_sampler_is_recorded_and_refused_where_nothing_is_drawn(tmp_path):
    cfg = write_config(tmp_path, sweep={"sampler": "sobol", "samples": 4, LR: "loguniform(1e-2,1)"}, **{"train.epochs": 2})
    out = tmp_path / "sw"
    ran = invoke("sweep", cfg, "--run-dir", out, "-q")
    assert ran.exit_code == 0, ran.output
    doc = yaml.safe_load((out / "sweep.yaml").read_text())
    assert doc["sampling"]["sampler"] == "sobol"
    assert doc["axes"][LR] == draw_points({LR: dist("loguniform(1e-2,1)")}, 4, 0, "t", sampler="sobol")[LR]
    plain = write_config(tmp_path, **{"train.epochs": 2})
    one_error_line(invoke("sweep", plain, "optimizer.lr=0.1,0.2", "--sampler", "sobol", "--dry-run"), 2,
                   "--sampler sobol: no axis is drawn at random")
    one_error_line(invoke("sweep", plain, "optimizer.lr=uniform(0.1,0.2)", "--samples", "2", "--sampler", "latin",
                          "--dry-run"), 2, "--sampler: 'latin' is not one of random, sobol, halton, lhs")
    one_error_line(invoke("sweep", "--resume", out, "--sampler", "sobol"), 2, "--resume takes the sweep folder only")


def test_slices_of_a_sweep_with_nothing_but_seeds_is_one_line(tmp_path):
    cfg = write_config(tmp_path, **{"train.epochs": 1})
    for name, axes in (("seeds", ["seed=0,1"]), ("one", [])):
        assert invoke("sweep", cfg, *axes, "--run-dir", tmp_path / name, "-q").exit_code == 0
        one_error_line(invoke("plot", tmp_path / name, "--slices", "-o", tmp_path / f"{name}.png"), 2,
                       "no swept axis besides seed to slice along; drop --slices")
        assert not (tmp_path / f"{name}.png").exists()


@pytest.mark.parametrize("draws, labels", [
    (None, ["0.05", "0.1", "0.5"]),  # a grid drawn as slices: its values, as the sensitivity panel ticks them
    ({LR: "loguniform(0.05,0.5)"}, ["0.05", "0.11", "0.23", "0.5"]),  # a search: the range searched, ends included
    ({LR: "loguniform(1e-4,1)"}, None),  # four decades: matplotlib's decade ticks
])
def test_a_narrow_log_slice_axis_is_ticked_plainly(tmp_path, draws, labels):
    """Over a decade or two matplotlib labelled the minor ticks and they ran together: 2×10⁻¹3×10⁻¹4×10⁻¹."""
    import copy

    from matplotlib.ticker import NullFormatter

    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.search_plot import plot_search
    from tests.test_plot import BASE_CONFIG, make_sweep

    out = make_sweep(tmp_path / "sw", lrs=(0.05, 0.1, 0.5), seeds=(0, 1), diverge_above=10)
    if draws:
        sampling = {"samples": 3, "seed": 0, "sampler": "random", "draws": draws}
        doc = {**BASE_CONFIG, "base": copy.deepcopy(BASE_CONFIG), "sampling": sampling,  # no YAML aliases
               "axes": {LR: [0.05, 0.1, 0.5], "seed": [0, 1]}}
        (out / "sweep.yaml").write_text(yaml.safe_dump(doc))
    fig = plot_search(load_sweep(out, []), [])
    ax = next(a for a in fig.axes if a.get_xlabel().startswith(LR))
    fig.canvas.draw()
    low, high = ax.get_xlim()
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text() and low <= t.get_position()[0] <= high]
    assert ax.get_xscale() == "log"
    if labels is None:
        assert len(shown) >= 3 and all("10" in text for text in shown), shown
    else:
        assert shown == labels and isinstance(ax.xaxis.get_minor_formatter(), NullFormatter), shown


@pytest.mark.parametrize("samples, sampler, noted", [(5, "sobol", "(4 or 8)"), (8, "sobol", None), (5, "lhs", None)])
def test_a_sobol_search_of_no_power_of_2_samples_gets_a_note(samples, sampler, noted):
    """Sobol's even coverage holds exactly for 2^m points; any other count is named, with the sampler that balances it."""
    result = invoke("sweep", "configs/moons.yaml", "optimizer.lr=loguniform(1e-3,1)", "--samples", str(samples),
                    "--sampler", sampler, "--dry-run")
    assert result.exit_code == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "power of 2" in line]
    assert notes == ([] if noted is None else [notes[0]]) and (noted is None or noted in notes[0] and "lhs" in notes[0])


@pytest.mark.parametrize("setting", [{"sampler": "sobol"}, {"sample_seed": 3}])
def test_the_sections_sampler_or_seed_with_nothing_drawn_is_refused_as_the_flags_are(tmp_path, setting):
    """`--sampler`/`--sample-seed` with only list axes were refused as doing nothing; the same settings in the
    `sweep:` section were taken silently."""
    cfg = write_config(tmp_path, sweep={LR: [0.1, 0.2], **setting}, **{"train.epochs": 1})
    (key,) = setting
    for command in (["sweep", cfg, "--dry-run"], ["validate", cfg]):
        one_error_line(invoke(*command), 2, f"{entry_at(cfg, key)}: sweep.{key}: no axis is drawn at random")
    drawn = invoke("sweep", cfg, "optimizer.momentum=uniform(0,0.5)", "--samples", "2", "--dry-run")
    assert drawn.exit_code == 0, drawn.output  # a drawn axis from the command line: the setting acts
