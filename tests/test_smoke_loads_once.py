"""`gdlab train --smoke` loads its data once: the check of what the full run would refuse and the 5 steps
share it (it was loaded twice, a cost that grows with the data set), and the steps train as they did."""

from __future__ import annotations

import csv

import yaml

import gdlab.runner
from tests.helpers import TINY, invoke

CONFIG = {**TINY, "optimizer": {"name": "SGD", "lr": 0.1, "momentum": 0.5},
          "train": {"epochs": 3, "batch_size": 16, "device": "cpu"}}


def rows(folder):
    """metrics.csv's rows without the wall clock, the one column that differs between identical runs."""
    with open(folder / "metrics.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in csv.DictReader(f)]


def test_a_smoke_run_loads_its_data_once_and_trains_as_a_five_step_run(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    calls = []
    real = gdlab.runner.load_data
    monkeypatch.setattr(gdlab.runner, "load_data", lambda *a, **k: calls.append(a) or real(*a, **k))
    smoke = invoke("train", cfg, "--smoke", "--run-dir", tmp_path / "smoke", "-q")
    assert smoke.exit_code == 0, smoke.stderr
    assert len(calls) == 1
    # the same 5 steps trained as a full run of them, which loads its own data
    plain = invoke("train", cfg, "train.epochs=null", "train.steps=5", "--run-dir", tmp_path / "plain", "-q")
    assert plain.exit_code == 0, plain.stderr
    assert len(calls) == 2
    assert len(rows(tmp_path / "smoke")) == 5 and rows(tmp_path / "smoke") == rows(tmp_path / "plain")
