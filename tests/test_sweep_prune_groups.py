"""`gdlab sweep --prune halving` over several batched groups (SGD and Adam): the groups meet at each rung, so it
compares the whole sweep's settings; checked against rankings computed by hand from the unpruned sweep."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml

from tests.helpers import TINY, invoke, one_error_line

AXES = ("optimizer.name=SGD,Adam", "optimizer.lr=0.003,0.03,0.3", "seed=0,1")
STEPS = 27  # rungs at 3 and 9


def config(tmp_path) -> str:
    raw = {**TINY, "optimizer": {"name": "SGD", "lr": 0.1},
           "train": {"steps": STEPS, "device": "cpu", "dtype": "float64"}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def sweep(tmp_path, name: str, *extra, code: int = 0, axes=AXES):
    r = invoke("sweep", config(tmp_path), *axes, "--run-dir", tmp_path / name, "-q", *extra)
    assert r.exit_code == code, (r.stdout, r.stderr, r.exception)
    return tmp_path / name


def table(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "sweep.csv").drop(columns="wall_s")


def pruned_by_hand(full, rungs: list[int], columns=("optimizer.name", "optimizer.lr"), within=None,
                   factor: int = 3) -> dict[str, int | None]:
    """Each variant's pruned step from the unpruned sweep: at each rung the settings (their values in `columns`)
    still in, ranked by their seeds' mean best val loss up to the rung, whichever group trained them; with
    `within`, the settings of each of that column's values apart."""
    t = table(full)
    pruned = {d: None for d in t.run_dir}
    for _, part in t.groupby(within) if within else [(None, t)]:
        settings: dict[tuple, list[str]] = {}
        for _, row in part.iterrows():
            settings.setdefault(tuple(row[c] for c in columns), []).append(row.run_dir)

        def mean(s, rung):
            rows = [pd.read_csv(full / d / "metrics.csv").query(f"step <= {rung}").val_loss.min() for d in settings[s]]
            return sum(rows) / len(rows)

        alive = list(settings)
        for rung in rungs:
            ranked = sorted(alive, key=lambda s: mean(s, rung))
            alive = ranked[: math.ceil(len(ranked) / factor)]
            for s in ranked[len(alive):]:
                pruned.update({d: rung for d in settings[s]})
    return pruned


def test_sgd_and_adam_are_pruned_together_as_the_unpruned_sweep_ranks_them(tmp_path):
    full, cut = sweep(tmp_path, "full"), sweep(tmp_path, "cut", "--prune", "halving")
    expected = pruned_by_hand(full, [3, 9])
    kept = {d.split("_")[1] for d, at in expected.items() if at != 3}
    assert kept == {"name=Adam"}, expected  # a rung per group would have kept an SGD setting too
    t = table(cut).set_index("run_dir")
    for run_dir, at in expected.items():
        assert t.loc[run_dir, "status"] == ("completed" if at is None else "pruned"), run_dir
        assert (at or STEPS) == t.loc[run_dir, "steps"]
        ours = pd.read_csv(cut / run_dir / "metrics.csv").drop(columns="wall_s")
        theirs = pd.read_csv(full / run_dir / "metrics.csv").drop(columns="wall_s").query(f"step <= {at or STEPS}")
        pd.testing.assert_frame_equal(ours, theirs.reset_index(drop=True))  # float64, bit for bit
    # one group per variant, or groups of 3 (each optimizer's cut in two), meet at the same rungs, with the same outcome
    for name, flags in (("single", ("--vectorize", "off")), ("threes", ("--max-group", "3"))):
        other = sweep(tmp_path, name, "--prune", "halving", *flags)
        pd.testing.assert_frame_equal(table(other), table(cut), rtol=1e-9)


@pytest.mark.parametrize("asked, pruned", [(12, False), (22, True)])
def test_ctrl_c_then_resume_ends_as_the_whole_sweep(tmp_path, monkeypatch, asked, pruned):
    """A Ctrl-C while SGD waits at rung 3 for Adam: no rung decides without every group, so nothing is pruned;
    a Ctrl-C after rung 3: its decision stands. Either way the resume ends with the uninterrupted sweep's table."""
    import signal
    from contextlib import contextmanager

    import gdlab.signals
    from gdlab.signals import StopFlag

    class CtrlCLater(StopFlag):  # asked as each group's turn comes, before each of its steps and at each rung's decision
        def __init__(self):
            super().__init__()
            self.asked = 0

        def __call__(self) -> bool:
            self.asked += 1
            self.signum = self.signum or (signal.SIGINT if self.asked > asked else None)
            return self.signum is not None

    whole = sweep(tmp_path, "whole", "--prune", "halving")
    with monkeypatch.context() as m:
        m.setattr(gdlab.signals, "graceful_stop", contextmanager(lambda: (yield CtrlCLater())))
        cut = sweep(tmp_path, "cut", "--prune", "halving", code=130)
    t = table(cut)
    sgd, adam = t[t["optimizer.name"] == "SGD"], t[t["optimizer.name"] == "Adam"]
    if pruned:
        assert set(sgd.status) == {"pruned"} and set(t[t.status == "pruned"].pruned_at_step) == {3}, t
        assert adam[adam.status == "interrupted"].steps.between(4, 8).all(), t
    else:
        assert set(t.status) == {"interrupted"} and set(sgd.steps) == {3} and set(adam.steps) < {1, 2}, t
    assert invoke("sweep", "--resume", cut, "-q").exit_code == 0
    pd.testing.assert_frame_equal(table(cut), table(whole))


def test_variants_of_different_lengths_are_refused_by_name(tmp_path):
    runs = tmp_path / "runs"
    one_error_line(invoke("sweep", config(tmp_path), "optimizer.lr=0.1,0.3", "train.steps=27,30", "--runs", runs,
                          "--prune", "halving"), 2,
                   "variant 0 (optimizer.lr=0.1, train.steps=27) trains 27 steps and variant 1 "
                   "(optimizer.lr=0.1, train.steps=30) 30")
    assert not runs.exists()


def test_a_group_that_fails_short_of_a_rung_lets_the_others_go_on():
    """The gate's rule alone: group 0 waits at rung 3 (and gives up its turn, so group 1 can train); group 1 fails
    before it, and counts as an ended variant: it neither competes nor blocks the decision."""
    import threading

    from gdlab.sweep.prune import Finished
    from gdlab.sweep.rung_gate import RungGate

    gate = RungGate({"metric": "best_val_loss", "rungs": [3, 9], "factor": 3}, groups=2)
    kept = []

    def group0():
        gate.enter()
        kept.append(gate.at_rung(0, 3, [(0, 1.0, True), (1, 2.0, True), (2, 0.5, True)]))
        gate.leave(0, [])

    first = threading.Thread(target=group0)
    first.start()
    gate.enter()  # group 1's turn: only once group 0 waits at the rung
    assert not kept
    gate.leave(1, [Finished(3, "failed", 0, None, {}, math.inf)])
    first.join(5)
    assert kept == [{2}]  # the best third of settings 0-2; setting 3 failed at step 0


def test_the_sweep_plot_shows_each_optimizers_pruned_lrs_side_by_side(tmp_path):
    """SGD's ▽ sat exactly under Adam's at every lr both had pruned."""
    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.sweep_plot import plot_sweep

    cut = sweep(tmp_path, "cut", "--prune", "halving")
    fig = plot_sweep(load_sweep(cut, []), [])
    marks = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines() if str(ln.get_gid()).startswith("pruned:")}
    sgd, adam = marks["pruned:SGD"], marks["pruned:Adam"]
    t = table(cut)
    for mark, name in ((sgd, "SGD"), (adam, "Adam")):
        assert sorted(mark.get_xdata()) == sorted(set(t[(t.status == "pruned") & (t["optimizer.name"] == name)]["optimizer.lr"]))
    x = 0.003  # pruned for both
    at = [m.get_transform().transform((x, 0.0)) for m in (sgd, adam)]
    assert at[1][0] - at[0][0] == pytest.approx(6 / 72 * fig.dpi) and at[0][1] == at[1][1]


def test_a_data_axis_is_pruned_within_each_of_its_values(tmp_path):
    """Scores on noisier moons are not comparable with cleaner ones': each noise level keeps its own best lrs
    (ranked together, every rung kept only the cleaner data's)."""
    axes = ("data.noise=0.05,0.5", "optimizer.lr=0.003,0.03,0.3", "seed=0,1")
    full, cut = sweep(tmp_path, "full", axes=axes), sweep(tmp_path, "cut", "--prune", "halving", axes=axes)
    expected = pruned_by_hand(full, [3, 9], columns=("data.noise", "optimizer.lr"), within="data.noise")
    t = table(cut).set_index("run_dir")
    assert {d: (None if s == "completed" else int(t.loc[d, "pruned_at_step"])) for d, s in t.status.items()} == expected
    assert set(t[t.status == "completed"]["data.noise"]) == {0.05, 0.5}
    together = pruned_by_hand(full, [3, 9], columns=("data.noise", "optimizer.lr"))
    assert {d for d, at in together.items() if at is None} != {d for d, at in expected.items() if at is None}


def test_the_dry_run_says_a_data_axis_is_ranked_apart(tmp_path):
    r = invoke("sweep", config(tmp_path), "data.noise=0.05,0.5", "optimizer.lr=0.003,0.03,0.3", "--prune", "halving",
               "--dry-run")
    assert r.exit_code == 0, r.stderr
    said = " ".join(r.stdout.split())  # as wrapped to the terminal's width
    assert "settings still training go on within each value of data.noise (its scores are not comparable" in said
    plain = invoke("sweep", config(tmp_path), "optimizer.lr=0.003,0.03,0.3", "--prune", "halving", "--dry-run")
    assert "within each value" not in " ".join(plain.stdout.split())  # no such axis: nothing ranked apart


def test_a_data_axis_alone_is_refused_as_nothing_to_stop(tmp_path):
    one_error_line(invoke("sweep", config(tmp_path), "data.noise=0.05,0.5", "seed=0,1", "--runs", tmp_path / "runs",
                          "--prune", "halving"), 2, "each value of data.noise apart", "each has one setting")
    assert not (tmp_path / "runs").exists()


def test_a_group_that_fails_after_its_rungs_keeps_its_pruned_models_results(tmp_path, monkeypatch):
    """An error at step 20 in Adam's group made every model of it `failed`, those its rungs had pruned too (with
    the error and an error.log), so --resume trained them again; they keep `pruned`, the rest fail, and the
    resume ends as the whole sweep."""
    import gdlab.runner

    real = gdlab.runner.GroupMetrics

    class AdamFailsAtStep20(real):
        def __init__(self, paths, *args, **kwargs):
            self.adam = "name=Adam" in str(paths[0])
            super().__init__(paths, *args, **kwargs)

        def consume(self, rec):
            if self.adam and rec.step == 20:
                raise RuntimeError("boom")
            return super().consume(rec)

    whole = sweep(tmp_path, "whole", "--prune", "halving")
    with monkeypatch.context() as m:
        m.setattr(gdlab.runner, "GroupMetrics", AdamFailsAtStep20)
        cut = sweep(tmp_path, "cut", "--prune", "halving", code=1)
    t, w = table(cut).set_index("run_dir"), table(whole).set_index("run_dir")
    for run_dir, row in w.iterrows():
        failing = "name=Adam" in run_dir and row.status == "completed"
        summary = json.loads((cut / run_dir / "summary.json").read_text())
        assert t.loc[run_dir, "status"] == summary["status"] == ("failed" if failing else row.status), run_dir
        assert (summary["error"] == "RuntimeError: boom") == failing == (cut / run_dir / "error.log").exists()
        if not failing:
            assert summary["pruned_at_step"] == (None if row.status == "completed" else int(row.pruned_at_step))
    assert {"pruned", "failed"} <= set(t[t["optimizer.name"] == "Adam"].status)
    assert invoke("sweep", "--resume", cut, "-q").exit_code == 0
    pd.testing.assert_frame_equal(table(cut), table(whole))


def test_a_ranking_that_raises_at_a_rung_hangs_no_group(monkeypatch):
    """The error fails the group that made the decision; the group waiting at the rung goes on unpruned, and the
    next group's turn comes (a raise inside the gate left every other group waiting forever)."""
    import threading

    from gdlab.sweep.prune import Halving
    from gdlab.sweep.rung_gate import RungGate

    def broken(self, step, models):
        raise ZeroDivisionError("a bug in the ranking")

    monkeypatch.setattr(Halving, "kept", broken)
    gate = RungGate({"metric": "best_val_loss", "rungs": [3], "factor": 3}, groups=2)
    kept = []

    def group0():
        gate.enter()
        kept.append(gate.at_rung(0, 3, [(0, 1.0, True)]))
        gate.leave(0, [])

    first = threading.Thread(target=group0)
    first.start()
    gate.enter()
    with pytest.raises(ZeroDivisionError):
        gate.at_rung(1, 3, [(1, 2.0, True)])  # the last to arrive decides, and raises
    gate.leave(1, [])
    first.join(5)
    assert not first.is_alive() and kept == [None]
