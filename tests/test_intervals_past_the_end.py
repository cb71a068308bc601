"""`train.*_every` longer than the run: where the setting would then do nothing (snapshots after the initial weights,
a val_loss watcher with one evaluation) it is refused before any folder; where the last step acts anyway (rows,
validation, checkpoints, sharpness) the run goes on as the README says."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from tests.helpers import TINY, invoke, one_error_line

STEPS = 6


def config(tmp_path, **train) -> str:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({**TINY, "train": {"steps": STEPS, "device": "cpu", **train}}))
    return str(path)


@pytest.mark.parametrize("train, said", [
    ({"snapshot_every": STEPS + 1},
     f"train.snapshot_every: {STEPS + 1} is past the run's last step ({STEPS}, train.steps: {STEPS}), so the only "
     f"snapshot would be the initial weights; allowed: a whole number from 1 to {STEPS}"),
    ({"eval_every": STEPS, "early_stop_patience": 1},
     f"train.eval_every: {STEPS} leaves one evaluation, at the run's last step ({STEPS}, train.steps: {STEPS}), and "
     f"train.early_stop_patience: early stopping watches val_loss"),
    ({"eval_every": 100, "restore_best_weights": True}, "train.restore_best_weights: restoring the best weights watches"),
    ({"eval_every": 100, "scheduler": "ReduceLROnPlateau"}, f"scheduler.name: ReduceLROnPlateau watches val_loss from "
     f"one evaluation to the next, so it would do nothing; allowed: a whole number from 1 to {STEPS - 1}"),
], ids=["snapshot", "early-stop", "best-weights", "plateau"])
def test_an_interval_that_leaves_its_setting_nothing_to_do_is_refused(tmp_path, train, said):
    scheduler = train.pop("scheduler", None)
    cfg = config(tmp_path, **train)
    extra = [f"scheduler={scheduler}"] if scheduler else []
    one_error_line(invoke("train", cfg, *extra, "--run-dir", tmp_path / "run"), 2, said)
    assert not (tmp_path / "run").exists()
    one_error_line(invoke("sweep", cfg, *extra, "optimizer.lr=0.1,0.2", "--run-dir", tmp_path / "sw", "--dry-run"), 2, said)
    # at the run's length it acts: a snapshot of the last step, an evaluation before it
    fits = {k: (STEPS if k == "snapshot_every" else STEPS - 1) if k.endswith("_every") else v for k, v in train.items()}
    assert invoke("train", config(tmp_path, **fits), *extra, "--run-dir", tmp_path / "ok", "-q").exit_code == 0
    if "snapshot_every" in fits:
        assert sorted(p.name for p in (tmp_path / "ok" / "snapshots").iterdir()) == ["step_0000000.pt", "step_0000006.pt"]


def test_intervals_the_last_step_acts_on_anyway_may_be_longer_than_the_run(tmp_path):
    """Validation, the row, the checkpoint and the sharpness are all taken at the last step (README): the run has
    its one val row there, a best val loss, a checkpoint and the sharpness at steps 1 and 6."""
    run = tmp_path / "run"
    cfg = config(tmp_path, eval_every=100, log_every=100, checkpoint_every=100, sharpness_every=100, sharpness_iters=5)
    assert invoke("train", cfg, "--run-dir", run, "-q").exit_code == 0
    rows = pd.read_csv(run / "metrics.csv")
    assert list(rows.step) == [1, STEPS]
    assert list(rows.dropna(subset=["val_loss"]).step) == [STEPS]
    assert list(rows.dropna(subset=["sharpness"]).step) == [1, STEPS]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best_val_loss"] == summary["final_val_loss"] == rows.val_loss.iloc[-1]
    assert (run / "checkpoint.pt").is_file()


def test_a_smoke_run_keeps_snapshots_within_its_few_steps(tmp_path):
    """--smoke cuts the run to 5 steps: a snapshot interval that suits the full run is cut with it, not refused."""
    cfg = config(tmp_path, steps=100, snapshot_every=50)
    r = invoke("train", cfg, "--smoke", "--run-dir", tmp_path / "smoke", "-q")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "smoke" / "snapshots").iterdir()) == ["step_0000000.pt", "step_0000005.pt"]


@pytest.mark.parametrize("train, count", [({"steps": None, "epochs": 5, "early_stop_patience": 5}, 5),  # each epoch
                                          ({"eval_every": 2, "early_stop_patience": 3}, 3)])  # steps 2, 4 and 6
def test_a_patience_the_runs_evaluations_cannot_run_out_is_refused(tmp_path, train, count):
    """The first evaluation sets the best val_loss, so a patience of N stops at the (N+1)th at the earliest."""
    cfg = config(tmp_path, **train)
    length = "train.epochs: 5" if "epochs" in train else f"train.steps: {STEPS}"
    said = (f"train.early_stop_patience: {count} is not below the {count} evaluations the run makes", length,
            f"so early stopping could never stop it; allowed: a whole number from 1 to {count - 1}")
    one_error_line(invoke("train", cfg, "--run-dir", tmp_path / "run"), 2, *said)
    assert not (tmp_path / "run").exists()
    one_error_line(invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--run-dir", tmp_path / "sw", "--dry-run"), 2, *said)
    one_error_line(invoke("train", cfg, "--smoke"), 2, *said)  # what the full run refuses, its smoke run does
    fits = config(tmp_path, **{**train, "early_stop_patience": count - 1})
    assert invoke("train", fits, "--run-dir", tmp_path / "ok", "-q").exit_code == 0


# 72 rows: its 5 steps evaluate 5 times full batch, twice in epochs of 3 steps (at 3 and 5), once in one of 9
@pytest.mark.parametrize("batch_size, cut", [(None, 4), (24, 1), (8, None)])
def test_a_smoke_run_cuts_a_patience_that_suits_the_full_run(tmp_path, batch_size, cut):
    cfg = config(tmp_path, steps=100, batch_size=batch_size, early_stop_patience=10)
    r = invoke("train", cfg, "--smoke", "--run-dir", tmp_path / "smoke", "-q")
    assert r.exit_code == 0, r.stderr
    kept = yaml.safe_load((tmp_path / "smoke" / "config.yaml").read_text())["train"]["early_stop_patience"]
    assert kept == cut


@pytest.mark.parametrize("axis, said", [
    ("train.snapshot_every=2,100", "variant 1 (train.snapshot_every=100): train.snapshot_every: 100 is past"),
    ("train.early_stop_patience=2,100", "variant 1 (train.early_stop_patience=100): train.early_stop_patience: 100"),
    ("train.eval_every=2,6", "variant 1 (train.eval_every=6): train.eval_every: 6 leaves one evaluation"),
])
def test_a_sweep_refuses_a_variant_whose_interval_train_refuses_not_only_the_first(tmp_path, axis, said):
    """Variants that share their data were checked once, by the first: the second's interval ran unrefused."""
    cfg = config(tmp_path, **({"restore_best_weights": True} if "eval_every" in axis else {}))
    for extra in (["--dry-run"], []):
        one_error_line(invoke("sweep", cfg, axis, "--run-dir", tmp_path / "sw", *extra), 2, said)
        assert not (tmp_path / "sw").exists()


@pytest.mark.parametrize("train, said", [
    ({"snapshot_every": STEPS + 1}, f"train.snapshot_every: {STEPS + 1} is past the run's last step ({STEPS}"),
    ({"eval_every": STEPS, "restore_best_weights": True}, f"train.eval_every: {STEPS} leaves one evaluation"),
    ({"batch_size": 8, "eval_every": 2, "early_stop_patience": 3}, "train.early_stop_patience: 3 is not below the 3"),
    # full batch: one step an epoch whatever the rows, so the epochs give the length and the evaluations
    ({"steps": None, "epochs": 4, "early_stop_patience": 4}, "train.early_stop_patience: 4 is not below the 4"),
    ({"steps": None, "epochs": 4, "snapshot_every": 5}, "train.snapshot_every: 5 is past the run's last step (4, "),
], ids=["snapshot", "eval", "patience", "full-batch-patience", "full-batch-snapshot"])
def test_validate_without_data_refuses_the_intervals_a_known_length_decides(tmp_path, train, said):
    cfg = config(tmp_path, **train)
    one_error_line(invoke("validate", cfg, "--no-data"), 2, said)
    one_error_line(invoke("validate", cfg), 2, said)  # what the data-reading validate says


def test_validate_without_data_passes_what_only_the_data_decides_and_checks_each_variant(tmp_path):
    # mini-batches by epochs: the length is the rows' to say, so only the data-reading validate refuses it
    cfg = config(tmp_path, steps=None, epochs=2, batch_size=24, snapshot_every=7)
    assert invoke("validate", cfg, "--no-data").stdout == f"ok  {cfg}\n"
    one_error_line(invoke("validate", cfg), 2, "train.snapshot_every: 7 is past the run's last step (6, ")
    swept = tmp_path / "swept.yaml"
    swept.write_text(yaml.safe_dump({**TINY, "train": {"steps": STEPS, "device": "cpu"},
                                     "sweep": {"train.snapshot_every": [2, 100]}}))
    one_error_line(invoke("validate", swept, "--no-data"), 2,
                   "variant 1 (train.snapshot_every=100): train.snapshot_every: 100 is past")


def test_validate_help_says_no_data_checks_more_than_the_schema():
    """--no-data checks values, val watchers and intervals too: its help said 'the schema only'."""
    said = " ".join(invoke("validate", "--help").stdout.replace("│", " ").split())
    assert "schema only" not in said and "intervals" in said, said
