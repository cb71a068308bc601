"""train.sharpness_every with train.early_stop_patience: a run that stops early ends with a sharpness value at its
stop step, the one a run told to stop there (train.steps) measures, alone and in a batched group."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.helpers import invoke
from tests.test_early_stop import config, expected_stop, train

SHARP = {"sharpness_every": 7, "sharpness_iters": 10, "dtype": "float64"}


def test_a_run_stopped_early_has_the_sharpness_of_a_run_told_to_stop_there(tmp_path):
    full, _, _ = train(tmp_path, config(tmp_path, **SHARP), "full")
    at = expected_stop(full.set_index("step")["val_loss"], patience=3, min_delta=1e-3)
    assert at is not None and (at - 1) % 7 != 0  # not a step the regular cadence measures anyway
    rows, summary, _ = train(tmp_path, config(tmp_path, "es.yaml", early_stop_patience=3, early_stop_min_delta=1e-3,
                                              **SHARP), "early")
    assert summary["stopped_early_at_step"] == at
    cut, _, _ = train(tmp_path, config(tmp_path, **SHARP), "cut", "train.epochs=null", f"train.steps={at}")
    assert pd.notna(cut.set_index("step").loc[at, "sharpness"])  # the engine measures at a run's last step
    # the same rows, the stop step's sharpness included, and no measurement beyond the regular ones
    pd.testing.assert_frame_equal(rows.drop(columns="wall_s"), cut.drop(columns="wall_s"))
    assert rows["sharpness"].notna().sum() == len(range(1, at + 1, 7)) + 1


def test_batched_variants_stopped_early_each_have_their_sharpness_at_their_stop(tmp_path):
    cfg = config(tmp_path, early_stop_patience=2, early_stop_min_delta=1e-3, **SHARP)
    swept = invoke("sweep", cfg, "optimizer.lr=0.3,1.0,3.0", "--run-dir", tmp_path / "sw", "-q")
    assert swept.exit_code == 0, swept.output
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    stopped = 0
    for lr, folder, at in zip(table["optimizer.lr"], table["run_dir"], table["stopped_early_at_step"]):
        rows = pd.read_csv(tmp_path / "sw" / folder / "metrics.csv").set_index("step")
        cut, _, _ = train(tmp_path, config(tmp_path, **SHARP), f"cut{lr}", f"optimizer.lr={lr}", "train.epochs=null",
                          f"train.steps={int(rows.index[-1])}")
        cut = cut.set_index("step")
        # each variant's sharpness column is the one of its run alone, told to stop where it ended
        assert list(rows.index[rows.sharpness.notna()]) == list(cut.index[cut.sharpness.notna()]), lr
        assert rows.sharpness.dropna().tolist() == pytest.approx(cut.sharpness.dropna().tolist(), rel=1e-9), lr
        stopped += pd.notna(at)
    assert stopped >= 2
