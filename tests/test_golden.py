"""Golden metrics.csv for a tiny float64 config: the columns, the steps and every number must not drift."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from gdlab.cli import app

GOLDEN = Path(__file__).parent / "golden"


def test_metrics_match_the_golden_file(tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(GOLDEN / "tiny.yaml"), "--run-dir", str(run), "-q"])
    assert result.exit_code == 0, result.output
    if os.environ.get("GDLAB_UPDATE_GOLDEN"):
        shutil.copy(run / "metrics.csv", GOLDEN / "tiny_metrics.csv")
    got = pd.read_csv(run / "metrics.csv").drop(columns="wall_s")
    want = pd.read_csv(GOLDEN / "tiny_metrics.csv").drop(columns="wall_s")
    assert list(got.columns) == list(want.columns)
    assert got[["step", "epoch", "lr"]].equals(want[["step", "epoch", "lr"]])
    # float64 on CPU; the tolerance only forgives another BLAS's last bits, not a change in the algorithm
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-10, atol=0)
    assert len(got) == 30 and got.val_loss.notna().sum() == 10  # 3 steps per epoch; val every 3rd step
