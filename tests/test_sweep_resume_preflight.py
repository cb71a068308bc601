"""gdlab sweep --resume checks what its reruns need (data, shapes, device) as a new sweep does, before it
clears their folders: a rerun bound to fail must not cost an interrupted variant its rows."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.helpers import TINY, invoke, one_error_line
from tests.test_sweep_resume_file import snapshot


@pytest.fixture
def interrupted(tmp_path):
    """A two-variant sweep on a CSV file whose second variant reads as interrupted part-way."""
    rows = "\n".join(f"{i % 7 / 7:.3f},{i % 5 / 5:.3f},{i % 2}" for i in range(40))
    (tmp_path / "points.csv").write_text("a,b,y\n" + rows + "\n")
    raw = {**TINY, "data": {"name": "csv", "path": "points.csv", "target": "y", "val_fraction": 0.25},
           "train": {"steps": 6, "device": "cpu"}}
    cfg = tmp_path / "base.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    out = tmp_path / "sw"
    assert invoke("sweep", cfg, "optimizer.lr=0.01,0.1", "--run-dir", out, "-q").exit_code == 0
    summary = out / "001_lr=0.1" / "summary.json"
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "status": "interrupted"}))
    return tmp_path, out


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_a_resume_whose_data_is_gone_is_refused_before_clearing_anything(interrupted, dry_run):
    tmp_path, out = interrupted
    (tmp_path / "points.csv").unlink()
    before = snapshot(out)
    one_error_line(invoke("sweep", "--resume", out, *dry_run), 2, "variant 1 (optimizer.lr=0.1)",
                   f"data.path: {tmp_path / 'points.csv'}: no such file")
    assert snapshot(out) == before  # the interrupted variant keeps its rows; sweep.csv still says what ran
    assert (out / "001_lr=0.1" / "metrics.csv").is_file()


def test_a_resume_whose_data_is_there_reruns_the_interrupted_variant(interrupted):
    _, out = interrupted
    result = invoke("sweep", "--resume", out, "-q")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "001_lr=0.1" / "summary.json").read_text())["status"] == "completed"
