"""`gdlab sweep --prune halving`: the settings kept at each rung are those computed by hand from the same sweep
run without pruning; survivors' curves are that sweep's, pruned variants' a prefix of theirs."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch
import yaml

from tests.helpers import TINY, invoke, one_error_line

LRS = "optimizer.lr=0.01,0.03,0.1,0.3,1"
STEPS = 27  # rungs at 3 and 9 with the default factor 3 (27/3² = 3)


def config(tmp_path, **train) -> str:
    raw = {**TINY, "optimizer": {"name": "SGD", "lr": 0.1, "momentum": 0.9},
           "train": {"steps": STEPS, "device": "cpu", "snapshot_every": 3, **train}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def sweep(tmp_path, name: str, *extra, code: int = 0, **train):
    r = invoke("sweep", config(tmp_path, **train), LRS, "seed=0,1", "--run-dir", tmp_path / name, "-q", *extra)
    assert r.exit_code == code, (r.stdout, r.stderr, r.exception)
    return tmp_path / name


def table(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "sweep.csv")


def metrics(folder, run_dir: str) -> pd.DataFrame:
    return pd.read_csv(folder / run_dir / "metrics.csv").drop(columns="wall_s")


def kept_by_hand(full, rungs: list[int], factor: int = 3) -> dict[str, int | None]:
    """Each variant's pruned step (None: kept to the end), from the unpruned sweep's metrics.csv: at each rung, the
    settings still in, ranked by the mean over seeds of the best val loss up to the rung; the best ⌈n/η⌉ go on."""
    t = table(full)
    settings = {lr: list(t[t["optimizer.lr"] == lr].run_dir) for lr in t["optimizer.lr"]}
    alive, pruned = list(settings), {d: None for d in t.run_dir}
    for rung in rungs:
        def mean(lr):
            return sum(metrics(full, d).query(f"step <= {rung}").val_loss.min() for d in settings[lr]) / len(settings[lr])
        ranked = sorted(alive, key=mean)
        alive = ranked[: math.ceil(len(ranked) / factor)]
        for lr in ranked[len(alive):]:
            pruned.update({d: rung for d in settings[lr]})
    return pruned


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pruning_keeps_what_the_unpruned_sweep_says_and_its_curves(tmp_path, dtype):
    full = sweep(tmp_path, "full", **{"dtype": dtype})
    cut = sweep(tmp_path, "cut", "--prune", "halving", **{"dtype": dtype})
    expected = kept_by_hand(full, [3, 9])
    assert sorted(set(expected.values()), key=str) == [3, 9, None]  # both rungs pruned something
    t = table(cut).set_index("run_dir")
    for run_dir, at in expected.items():
        summary = json.loads((cut / run_dir / "summary.json").read_text())
        assert t.loc[run_dir, "status"] == summary["status"] == ("completed" if at is None else "pruned")
        assert summary["pruned_at_step"] == (at if at is None else int(t.loc[run_dir, "pruned_at_step"])) == at
        assert summary["steps"] == (at or STEPS) and summary["stopped_early_at_step"] is None
        ours, theirs = metrics(cut, run_dir), metrics(full, run_dir).query(f"step <= {at or STEPS}")
        assert list(ours.step) == list(theirs.step)
        tol = dict(rtol=0, atol=0) if dtype == "float64" else dict(rtol=1e-6, atol=1e-9)
        pd.testing.assert_frame_equal(ours.reset_index(drop=True), theirs.reset_index(drop=True), check_exact=False, **tol)
        # model.pt holds the weights at the rung: the unpruned run's snapshot there
        weights = torch.load(cut / run_dir / "model.pt", weights_only=True)
        there = torch.load(full / run_dir / "snapshots" / f"step_{at or STEPS:07d}.pt", weights_only=True)
        for name, value in weights.items():
            torch.testing.assert_close(value, there[name], **tol)
        if at is not None:  # the rung's score, as summary.json's best_val_loss has it
            assert summary["rung_scores"][-1] == [at, summary["best_val_loss"]]


def test_refused_before_anything_runs(tmp_path):
    cfg = config(tmp_path)
    runs = tmp_path / "runs"
    cases = [
        (["--prune", "halving", "--prune-factor", "1"], "--prune-factor 1"),
        (["--prune", "halving", "--prune-first", str(STEPS)], "end before the first rung"),
        (["--prune", "halving", "--jobs", "2"], "--jobs 2"),
        (["--prune-factor", "2"], "only used with --prune halving"),
        (["--prune", "asha"], "not one of off, halving"),
    ]
    for extra, said in cases:
        one_error_line(invoke("sweep", cfg, LRS, "--runs", runs, *extra), 2, said)
    one_error_line(invoke("sweep", config(tmp_path, eval_every=5), LRS, "--runs", runs, "--prune", "halving",
                          "--prune-first", "2"), 2, "first evaluation is at step 5")
    one_error_line(invoke("sweep", cfg, "seed=0,1,2", "--runs", runs, "--prune", "halving"), 2, "has one setting")
    one_error_line(invoke("sweep", cfg, LRS, "--runs", runs, "--prune", "halving", "--backend", "ray"), 2, "drop --backend ray")
    # usage errors (the console script says them in one line; Typer's runner shows its box)
    for args in (["sweep", cfg, LRS, "--prune", "halving", "--prune-factor", "1.5"], ["lr-find", cfg, "--prune", "halving"]):
        r = invoke(*args, "--runs", runs)
        assert r.exit_code == 2 and "--prune" in r.stderr, r.stderr
    assert not runs.exists()


def test_a_pruned_sweep_is_one_group_whatever_the_cpu_cap(tmp_path):
    """The CPU's cache-sized cap (10 models of 1600 rows x 16 here) would cut 20 variants in two groups: one trains
    faster, with no waits at the rungs; groups asked for (--max-group) give the same sweep."""
    raw = {**TINY, "data": {**TINY["data"], "n_samples": 2000}, "model": [{"Linear": [2, 16]}, "Tanh", {"Linear": [16, 2]}],
           "train": {"steps": STEPS, "device": "cpu"}}
    (tmp_path / "big.yaml").write_text(yaml.safe_dump(raw))
    cfg, runs = tmp_path / "big.yaml", tmp_path / "runs"
    lrs = "optimizer.lr=" + ",".join(str(i / 100) for i in range(1, 11))
    r = invoke("sweep", cfg, lrs, "seed=0,1", "--dry-run")
    assert r.exit_code == 0 and "20 variants in 2 batched group(s)" in r.stdout, (r.stdout, r.stderr)
    r = invoke("sweep", cfg, lrs, "seed=0,1", "--dry-run", "--prune", "halving")
    assert r.exit_code == 0 and "20 variants in 1 batched group(s)" in r.stdout, (r.stdout, r.stderr)
    # groups the user asks for meet at the rungs: the same variants pruned at the same steps, the same numbers
    tables = []
    for extra in ([], ["--max-group", "8"]):
        r = invoke("sweep", cfg, lrs, "seed=0,1", "--runs", runs, "--prune", "halving", "train.dtype=float64", "-q", *extra)
        assert r.exit_code == 0, (r.stdout, r.stderr)
        tables.append(pd.read_csv(r.stdout.strip().splitlines()[-1] + "/sweep.csv").drop(columns="wall_s"))
    assert set(tables[0].status) == {"pruned", "completed"}
    pd.testing.assert_frame_equal(tables[1], tables[0], rtol=1e-9)


def test_dry_run_shows_the_rungs(tmp_path):
    r = invoke("sweep", config(tmp_path, eval_every=2), LRS, "--dry-run", "--prune", "halving", "--prune-factor", "2")
    assert r.exit_code == 0, r.stderr
    # 27/2² = 6.75: 7, rounded up to an evaluation: 8
    assert "rungs at step 8, 16 (first 8, factor 2)" in r.stdout


def test_resume_keeps_pruned_variants_and_counts_them_at_the_rungs(tmp_path):
    """A resume reruns what did not finish; the finished pruned variants stay, and still count at each rung, so
    the reruns are pruned where the whole sweep was (without them rung 3 would keep one setting of two)."""
    cut = sweep(tmp_path, "cut", "--prune", "halving", dtype="float64")
    before = table(cut)
    kept = {d: (cut / d / "summary.json").stat().st_mtime_ns for d in before[before.pruned_at_step == 3].run_dir}
    assert invoke("sweep", "--resume", cut, "-q").exit_code == 0  # finished: nothing rerun
    assert {d: (cut / d / "summary.json").stat().st_mtime_ns for d in kept} == kept
    reran = list(before[before.pruned_at_step != 3].run_dir)  # as if a power cut lost their files
    for d in reran:
        (cut / d / "summary.json").unlink()
    r = invoke("sweep", "--resume", cut, "-q")
    assert r.exit_code == 0, r.stderr
    after = table(cut)
    pd.testing.assert_frame_equal(after.drop(columns="wall_s"), before.drop(columns="wall_s"))
    assert {d: (cut / d / "summary.json").stat().st_mtime_ns for d in kept} == kept
    assert yaml.safe_load((cut / "sweep.yaml").read_text())["options"]["prune"]["rungs"] == [3, 9]
    one_error_line(invoke("sweep", "--resume", cut, "--prune", "halving"), 2, "holds the config, axes, draws and pruning")


def test_pruned_variants_are_results_not_failures(tmp_path):
    """exit 0; --expect judges the best setting, --expect-each does not judge a pruned variant; `gdlab runs` counts them."""
    cut = sweep(tmp_path, "cut", "--prune", "halving", "--expect", "best_val_loss<1", "--expect-each", f"steps=={STEPS}")
    assert (table(cut).steps < STEPS).sum() == 8  # the pruned variants, which that bar would fail if judged
    r = invoke("runs", tmp_path)
    assert r.exit_code == 0 and "8 pruned, 2 completed" in r.stdout, r.stdout


def test_the_sweep_plot_marks_pruned_settings_on_the_bottom_edge(tmp_path):
    """Not left out with a warning as a broken variant: a ▽ per pruned lr, pinned to the bottom edge."""
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.sweep_plot import plot_sweep

    cut = sweep(tmp_path, "cut", "--prune", "halving")
    warnings: list[str] = []
    fig = plot_sweep(load_sweep(cut, warnings), warnings)
    assert warnings == []
    (marks,) = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "pruned:None"]
    t = table(cut)
    assert sorted(marks.get_xdata()) == sorted(set(t[t.status == "pruned"]["optimizer.lr"]))
    assert set(marks.get_ydata()) == {0.0} and marks.get_label() == "pruned"
    assert invoke("plot", cut).exit_code == 0


def test_a_resume_refuses_a_hand_edited_prune_option(tmp_path):
    cut = sweep(tmp_path, "cut", "--prune", "halving")
    doc = yaml.safe_load((cut / "sweep.yaml").read_text())
    doc["options"]["prune"]["factor"] = 1
    (cut / "sweep.yaml").write_text(yaml.safe_dump(doc))
    one_error_line(invoke("sweep", "--resume", cut), 2, "options.prune: must be null or what --prune halving recorded")


def test_a_resume_refuses_a_hand_edited_mode_or_first_rung(tmp_path):
    """`mode` and `first` steer nothing on a resume (the rungs do), so an edit to them, a YAML boolean included
    (`mode: off`, `prune: off`), is refused by name, by --dry-run too, before the unfinished variant is cleared."""
    cut = sweep(tmp_path, "cut", "--prune", "halving")
    unfinished = cut / table(cut).run_dir[0]
    (unfinished / "summary.json").unlink()
    original = (cut / "sweep.yaml").read_text()
    prune_block = original[original.index("  prune:"):original.index("axes:")]
    edits = {"    mode: halving": ["    mode: bogus", "    mode: off"],
             "    first: 3": ["    first: -3", "    first: x", "    first: 9", "    first: null"],
             prune_block: ["  prune: off\n"]}
    said = {"    mode: bogus": "options.prune.mode: 'bogus'; allowed: halving",
            "    mode: off": "options.prune.mode: got boolean false: YAML reads on/off/yes/no as booleans; allowed: halving",
            "    first: -3": "options.prune.first: -3: the first rung's step, as --prune halving recorded it; allowed: 3",
            "    first: x": "options.prune.first: 'x'",
            "    first: 9": "options.prune.first: 9",
            "    first: null": "options.prune.first: null",
            "  prune: off\n": "options.prune: got boolean false: YAML reads on/off/yes/no as booleans; must be null"}
    for recorded, bad in [(k, b) for k, values in edits.items() for b in values]:
        assert recorded in original
        (cut / "sweep.yaml").write_text(original.replace(recorded, bad, 1))
        for extra in (["--dry-run"], []):
            one_error_line(invoke("sweep", "--resume", cut, "-q", *extra), 2, f"{cut / 'sweep.yaml'}: {said[bad]}")
        assert (unfinished / "metrics.csv").exists()  # not cleared for a rerun
    (cut / "sweep.yaml").write_text(original)
    assert invoke("sweep", "--resume", cut, "-q").exit_code == 0 and (unfinished / "summary.json").exists()


def test_a_resume_refuses_a_factor_or_rungs_edited_apart(tmp_path):
    """--prune halving writes rungs first, first·factor, ...: a factor edited to 2 (which kept 1/2 at the reruns'
    rungs, not the 1/3 the finished variants were judged by) or a rung moved is refused, --dry-run too."""
    cut = sweep(tmp_path, "cut", "--prune", "halving")
    unfinished = cut / table(cut).run_dir[0]
    (unfinished / "summary.json").unlink()
    original = (cut / "sweep.yaml").read_text()
    for recorded, bad in [("    factor: 3", "    factor: 2"), ("    rungs: [3, 9]", "    rungs: [3, 10]")]:
        assert recorded in original
        (cut / "sweep.yaml").write_text(original.replace(recorded, bad, 1))
        for extra in (["--dry-run"], []):
            one_error_line(invoke("sweep", "--resume", cut, "-q", *extra), 2, f"{cut / 'sweep.yaml'}: options.prune: ",
                           "allowed: rungs at the first rung times the factor's powers")
        assert (unfinished / "metrics.csv").exists()  # not cleared for a rerun


def test_a_refused_resume_of_a_pruned_sweep_keeps_its_sweep_yaml(tmp_path):
    """--jobs 2 is refused for a pruned sweep's reruns; the --rank-by given with it was stored in sweep.yaml before
    that refusal, so the refused resume changed how the sweep ranks from then on."""
    cut = sweep(tmp_path, "cut", "--prune", "halving")
    (cut / table(cut).run_dir[0] / "summary.json").unlink()
    before = (cut / "sweep.yaml").read_bytes()
    r = invoke("sweep", "--resume", cut, "--rank-by", "final_train_loss", "--jobs", "2", "-q")
    one_error_line(r, 2, "a pruned sweep's reruns train in this process")
    assert (cut / "sweep.yaml").read_bytes() == before


def test_ctrl_c_keeps_the_pruned_and_a_resume_ends_as_the_whole_sweep(tmp_path, monkeypatch):
    """Ctrl-C between the rungs: the variants pruned at the first stay pruned, the rest are interrupted; the resume
    reruns those, prunes them where the uninterrupted sweep did, and ends with its table."""
    import signal
    from contextlib import contextmanager

    import gdlab.signals
    from gdlab.signals import StopFlag

    class CtrlCLater(StopFlag):  # asked before every step: a Ctrl-C a few steps into the run
        def __init__(self):
            super().__init__()
            self.asked = 0

        def __call__(self) -> bool:
            self.asked += 1
            self.signum = self.signum or (signal.SIGINT if self.asked > 12 else None)
            return self.signum is not None

    whole = sweep(tmp_path, "whole", "--prune", "halving", dtype="float64")
    with monkeypatch.context() as m:
        m.setattr(gdlab.signals, "graceful_stop", contextmanager(lambda: (yield CtrlCLater())))
        cut = sweep(tmp_path, "cut", "--prune", "halving", code=130, dtype="float64")
    t = table(cut)
    assert set(t[t.status == "pruned"].pruned_at_step) == {3}
    stopped = t[t.status == "interrupted"]
    assert len(stopped) == 4 and stopped.steps.between(4, 8).all(), t[["run_dir", "status", "steps"]]
    assert invoke("sweep", "--resume", cut, "-q").exit_code == 0
    pd.testing.assert_frame_equal(table(cut).drop(columns="wall_s"), table(whole).drop(columns="wall_s"))


def test_a_rung_judges_settings_by_their_seeds_mean_a_diverged_seed_last():
    from gdlab.sweep.prune import Finished, Halving

    inf = math.inf
    # settings 0, 2, 4, 6 (two seeds each); setting 2's better seed cannot save it from its diverged one
    settings = [0, 0, 2, 2, 4, 4, 6, 6]
    scores = [0.5, 0.7, 0.1, inf, 0.6, 0.6, 0.9, 0.1]
    training = [True, True, True, False, True, True, True, True]
    models = list(zip(settings, scores, training))
    assert Halving(2).kept(5, models) == {6, 0}  # means 0.6, inf, 0.6, 0.5: keep 6 and (tie) 0 over 4
    # a resume's finished variant of setting 8, pruned at this rung, still counts: of 5 settings 3 go on (4 too)
    assert Halving(2, [Finished(8, "pruned", 5, None, {5: 1.0}, 1.0)]).kept(5, models) == {6, 0, 4}
    # a finished seed that diverged before the rung sinks its setting; one that stopped early counts its final score
    h = Halving(2, [Finished(0, "diverged", 2, 2, {}, 0.0), Finished(2, "completed", 4, None, {}, 9.0)])
    assert h.kept(5, [(0, 0.1, True), (2, 0.2, True)]) == {2}


def test_compare_says_where_a_pruned_curve_ends(tmp_path):
    from gdlab.plotting.compare import plot_compare
    from gdlab.plotting.load import load_run

    cut = sweep(tmp_path, "cut", "--prune", "halving")
    t = table(cut)
    pruned, kept = t[t.status == "pruned"].iloc[0], t[t.status == "completed"].iloc[0]
    warnings: list[str] = []
    fig = plot_compare([load_run(cut / pruned.run_dir, warnings), load_run(cut / kept.run_dir, warnings)], "train_loss",
                       "step", warnings)
    labels = [ln.get_label() for ln in fig.axes[0].get_lines() if str(ln.get_gid()).startswith("compare:")]
    assert labels[0].endswith(f"; pruned at step {int(pruned.pruned_at_step)}") and "pruned" not in labels[1], labels


def test_the_over_seeds_table_lists_pruned_settings_by_the_rung_they_reached(tmp_path):
    r = invoke("sweep", config(tmp_path), LRS, "seed=0,1", "--run-dir", tmp_path / "cut", "--prune", "halving")
    assert r.exit_code == 0, r.stderr
    table_text = r.stdout.split("over seeds")[1]
    rows = [line.split("│")[1].strip() for line in table_text.splitlines() if line.startswith("│")]
    t = table(tmp_path / "cut")
    at = {lr: t[t["optimizer.lr"] == lr].pruned_at_step.max() for lr in t["optimizer.lr"]}
    mean = {lr: t[t["optimizer.lr"] == lr].best_val_loss.mean() for lr in at}  # a pruned seed's: its rung's score
    assert [float(x) for x in rows] == sorted(at, key=lambda lr: (-(at[lr] if at[lr] == at[lr] else STEPS), mean[lr]))
    assert sorted(at, key=mean.get) != list(at)  # (the grid's order would not pass)
    assert rows[:2] == ["1", "0.3"]  # kept to the end, then the setting pruned at the second rung
    # each pruned setting's statuses say where (it read 'pruned 2' alone, its mean '-')
    statuses = {float(line.split("│")[1]): line.split("│")[4].strip() for line in table_text.splitlines()
                if line.startswith("│")}
    for lr, text in statuses.items():
        assert text == (f"pruned 2 at step {int(at[lr])}" if at[lr] == at[lr] else "completed 2"), (lr, text)
    # and their mean at the rung, in parentheses (it read '-': the table did not say why a setting lost)
    means = {float(line.split("│")[1]): line.split("│")[2].strip() for line in table_text.splitlines()
             if line.startswith("│")}
    for lr, text in means.items():
        if at[lr] == at[lr]:
            assert text == f"({mean[lr]:.4g})", (lr, text)
    assert "(…): the seeds' mean best_val_loss where --prune stopped them" in table_text
    ranking = r.stdout.split("ranking by")[1].split("over seeds")[0]  # the runs too: the latest rung first
    runs = [line.split("│")[2].strip() for line in ranking.splitlines() if line.startswith("│")]
    assert [at[float(x)] for x in runs] == sorted((at[float(x)] for x in runs), key=lambda a: -(a if a == a else STEPS))


def test_plot_of_a_pruned_variant_marks_its_rung(tmp_path):
    from gdlab.plotting.load import load_run
    from gdlab.plotting.run_plot import plot_run

    cut = sweep(tmp_path, "cut", "--prune", "halving")
    t = table(cut)
    row = t[t.status == "pruned"].iloc[-1]
    fig = plot_run(load_run(cut / row.run_dir, []))
    (mark,) = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "pruned"]
    assert list(mark.get_xdata()) == [row.pruned_at_step] * 2 and mark.get_label() == f"pruned at step {int(row.pruned_at_step)}"


def kept_by_score(full, rungs: list[int], score) -> dict[str, int | None]:
    """As kept_by_hand, for any `score(metrics up to the rung)` (lower is better), ties to the earlier setting."""
    t = table(full)
    settings = {lr: list(t[t["optimizer.lr"] == lr].run_dir) for lr in t["optimizer.lr"]}
    alive, pruned = list(settings), {d: None for d in t.run_dir}
    for rung in rungs:
        def mean(lr):
            return sum(score(metrics(full, d).query(f"step <= {rung}"), rung) for d in settings[lr]) / len(settings[lr])
        ranked = sorted(alive, key=mean)  # stable: a tie keeps the grid's order
        alive = ranked[: math.ceil(len(ranked) / 3)]
        for lr in ranked[len(alive):]:
            pruned.update({d: rung for d in settings[lr]})
    return pruned


EPOCH = 3  # 72 training rows in mini-batches of 24


def last_epoch_mean(m, rung):
    """The train loss over the last complete epoch at or before the rung, as summary.json's final_train_loss."""
    last = rung // EPOCH * EPOCH
    return m[(m.step > last - EPOCH) & (m.step <= last)].train_loss.mean()


@pytest.mark.parametrize("rank_by, score, extra", [
    # higher is better: the rungs keep the highest accuracies, not the lowest
    ("final_val_accuracy", lambda m, rung: -m.val_accuracy.dropna().iloc[-1], []),
    # mid-epoch rungs (7, 21): the mean over the last complete epoch, not the rung's own mini-batch
    ("final_train_loss", last_epoch_mean, ["--prune-first", "7"]),
])
def test_the_rungs_rank_by_the_ranking_metric_in_its_own_direction(tmp_path, rank_by, score, extra):
    train = {"steps": None, "epochs": 9, "batch_size": 24, "dtype": "float64"}
    full = sweep(tmp_path, "full", "--rank-by", rank_by, **train)
    cut = sweep(tmp_path, "cut", "--rank-by", rank_by, "--prune", "halving", *extra, **train)
    rungs = yaml.safe_load((cut / "sweep.yaml").read_text())["options"]["prune"]["rungs"]
    expected = kept_by_score(full, rungs, score)
    assert set(expected.values()) == {*rungs, None}  # every rung stopped something
    t = table(cut).set_index("run_dir")
    assert {d: (None if math.isnan(at) else int(at)) for d, at in t.pruned_at_step.items()} == expected
    for run_dir, at in expected.items():  # rung_scores in the metric's own terms (a resume reads them back)
        step = at or rungs[-1]
        value = score(metrics(full, run_dir).query(f"step <= {step}"), step)
        value = -value if rank_by.endswith("accuracy") else value
        assert json.loads((cut / run_dir / "summary.json").read_text())["rung_scores"][-1] == [step, pytest.approx(value)]


def test_an_evaluation_interval_at_or_past_the_run_is_refused_by_its_key(tmp_path):
    """Val-ranked rungs fall on evaluations; with none before the last step no rung can be, and the error named a
    --prune-first never given ('--prune-first 50: ... allowed: a first rung from 1 to 26', then 'from 50 to 26')."""
    runs = tmp_path / "runs"
    for every in (50, STEPS):
        cfg = config(tmp_path, eval_every=every)
        for extra in ([], ["--prune-first", "5"]):
            line = one_error_line(invoke("sweep", cfg, LRS, "--runs", runs, "--prune", "halving", *extra), 2,
                                  "cfg.yaml", f"train.eval_every {every}", f"allowed: train.eval_every from 1 to {STEPS - 1}",
                                  "--rank-by final_train_loss")
            assert "--prune-first" not in line, line
        r = invoke("sweep", cfg, LRS, "--dry-run", "--prune", "halving", "--rank-by", "final_train_loss")
        assert r.exit_code == 0 and "rungs at step 3, 9" in r.stdout, (r.stdout, r.stderr)
    assert not runs.exists()


def test_a_one_step_run_is_refused_without_naming_a_flag_not_given(tmp_path):
    """A rung must fall before the last step, and a run of one step has none ('allowed: a first rung from 1 to 0')."""
    for rank_by in ("final_train_loss", "best_val_loss"):
        line = one_error_line(invoke("sweep", config(tmp_path, steps=1, snapshot_every=1), LRS, "--runs", tmp_path / "runs", "--prune",
                                     "halving", "--rank-by", rank_by), 2, "cfg.yaml: train.steps makes 1 step", "allowed: 2")
        assert "--prune-first" not in line and "to 0" not in line, line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("metric, sign", [("best_val_loss", 1), ("final_val_accuracy", -1)])
def test_the_over_seeds_table_orders_a_rungs_pruned_settings_by_the_score_they_were_pruned_with(metric, sign):
    """Within a rung, as rank_rows orders the runs and as the rung ranked them (a diverged seed last); they were
    in grid order, a setting pruned with a worse mean above a better one."""
    from gdlab.sweep.rank import aggregate_over_seeds

    def run(lr, seed, status, at, value):
        return {"optimizer.lr": lr, "seed": seed, "status": status, "pruned_at_step": at,
                metric: None if value is None else 0.5 + sign * value}

    rows = [run(0.1, 0, "pruned", 3, 0.3), run(0.1, 1, "pruned", 3, 0.1),   # mean 0.2 at rung 3
            run(0.2, 0, "pruned", 3, 0.0), run(0.2, 1, "pruned", 3, 0.2),   # 0.1: better, though later in the grid
            run(0.3, 0, "pruned", 9, 0.25), run(0.3, 1, "pruned", 9, 0.25),  # the later rung first
            run(0.4, 0, "completed", None, 0.4), run(0.4, 1, "completed", None, 0.4),
            run(0.05, 0, "diverged", None, None), run(0.05, 1, "pruned", 3, -0.4)]  # last at its rung
    order = [a.point["optimizer.lr"] for a in aggregate_over_seeds(rows, ["optimizer.lr", "seed"], metric)]
    assert order == [0.4, 0.3, 0.2, 0.1, 0.05]


def test_a_bar_on_pruned_at_step_is_refused_by_its_reason(tmp_path):
    """summary.json holds pruned_at_step, so --expect knows the name; no bar judges a pruned variant, so none can
    be met (it was 'unknown name', though every run's summary.json has it)."""
    for option in ("--expect", "--expect-each"):
        one_error_line(invoke("sweep", config(tmp_path), LRS, "--runs", tmp_path / "runs", "--prune", "halving",
                              option, "pruned_at_step<9"), 2, f"{option} 'pruned_at_step<9': only a variant", "no bar judges")
    one_error_line(invoke("train", config(tmp_path), "--runs", tmp_path / "runs", "--expect", "pruned_at_step==3"), 2,
                   "--expect 'pruned_at_step==3': only a variant `gdlab sweep --prune` stopped")
    assert not (tmp_path / "runs").exists()


def test_a_pruned_variant_with_restore_best_weights_keeps_its_best_up_to_the_rung(tmp_path):
    """model.pt: the unpruned sweep's weights at the variant's best evaluation before its rung, not at the rung."""
    train = {"dtype": "float64", "eval_every": 1, "snapshot_every": 1, "restore_best_weights": True}
    full, cut = sweep(tmp_path, "full", **train), sweep(tmp_path, "cut", "--prune", "halving", **train)
    t = table(cut)
    pruned = t[t.status == "pruned"]
    assert (pruned.restored_best_from_step < pruned.pruned_at_step).any()  # a best before the rung: not its weights there
    for row in pruned.itertuples():
        assert row.restored_best_from_step <= row.pruned_at_step
        weights = torch.load(cut / row.run_dir / "model.pt", weights_only=True)
        best = torch.load(full / row.run_dir / "snapshots" / f"step_{int(row.restored_best_from_step):07d}.pt", weights_only=True)
        for name, value in weights.items():
            torch.testing.assert_close(value, best[name], rtol=0, atol=0)


def test_the_over_seeds_table_shows_a_pruned_accuracys_mean_as_the_accuracy(tmp_path):
    """Ranked by an accuracy, the rung's mean in parentheses is the accuracy (0.8), not the score the rung sorted
    by (-0.8); sweep.csv's final_val_accuracy of a pruned variant is its value at the rung."""
    r = invoke("sweep", config(tmp_path), LRS, "seed=0,1", "--run-dir", tmp_path / "cut", "--prune", "halving",
               "--rank-by", "final_val_accuracy")
    assert r.exit_code == 0, r.stderr
    t = table(tmp_path / "cut")
    pruned = t[t.status == "pruned"].groupby("optimizer.lr").final_val_accuracy.mean()
    assert len(pruned) >= 2 and (pruned > 0).all()
    rows = {float(line.split("│")[1]): line.split("│")[2].strip() for line in r.stdout.split("over seeds")[1].splitlines()
            if line.startswith("│")}
    assert {lr: rows[lr] for lr in pruned.index} == {lr: f"({m:.4g})" for lr, m in pruned.items()}
