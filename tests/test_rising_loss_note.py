"""The note that a completed run ended with a training loss above its first (a learning rate too large to
converge that never produced NaN nor passed train.diverge_factor)."""

from __future__ import annotations

import csv
import json

import yaml

from tests.helpers import TINY, invoke


def write(tmp_path, lr: float):
    raw = json.loads(json.dumps(TINY))
    raw["optimizer"]["lr"] = lr
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def first_and_final(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        first = float(next(csv.DictReader(f))["train_loss"])
    return first, json.loads((run_dir / "summary.json").read_text())["final_train_loss"]


def test_a_run_whose_loss_rose_is_named_with_its_first_and_final_loss(tmp_path):
    result = invoke("train", write(tmp_path, 30.0), "--run-dir", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.stderr
    first, final = first_and_final(tmp_path / "r")
    assert final > first  # the premise: lr 30 on this data ends worse than it started, yet completes
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["status"] == "completed"
    note = [line for line in result.stderr.splitlines() if "above the first" in line]
    assert len(note) == 1 and note[0].startswith("gdlab: note: this run completed")
    assert f"{first:.4g} -> {final:.4g}" in note[0] and "train.diverge_factor" in note[0]


def test_a_converging_run_gets_no_note(tmp_path):
    result = invoke("train", write(tmp_path, 0.1), "--run-dir", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.stderr
    first, final = first_and_final(tmp_path / "r")
    assert final < first
    assert "above the first" not in result.stderr


def test_a_sweep_names_only_the_variants_whose_loss_rose(tmp_path):
    result = invoke("sweep", write(tmp_path, 0.1), "optimizer.lr=0.1,30", "--run-dir", tmp_path / "s", "--quiet")
    assert result.exit_code == 0, result.stderr
    (calm, wild) = sorted((tmp_path / "s").glob("00*"))
    assert first_and_final(calm)[1] < first_and_final(calm)[0]
    first, final = first_and_final(wild)
    assert final > first
    note = [line for line in result.stderr.splitlines() if "above the first" in line]
    assert note == [f"gdlab: note: 1 of 2 variants completed with a training loss above the first ({wild.name}: "
                    f"{first:.4g} -> {final:.4g}): the learning rate may be too large to converge; a lower "
                    "train.diverge_factor counts such runs as diverged"]
