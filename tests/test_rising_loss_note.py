"""The note that a completed run ended with a training loss above its first (a learning rate too large to
converge that never produced NaN nor passed train.diverge_factor)."""

from __future__ import annotations

import csv
import json

import yaml

from tests.helpers import TINY, invoke


def write(tmp_path, lr: float, **train):
    raw = json.loads(json.dumps(TINY))
    raw["optimizer"]["lr"] = lr
    raw["train"].update(train)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def first_and_final(run_dir):
    """metrics.csv's step-1 train loss (at the initial weights) and summary.json's final one."""
    with open(run_dir / "metrics.csv", newline="") as f:
        first = next(csv.DictReader(f))
    assert first["step"] == "1"
    return float(first["train_loss"]), json.loads((run_dir / "summary.json").read_text())["final_train_loss"]


def test_a_run_whose_loss_rose_is_named_with_its_first_and_final_loss(tmp_path):
    result = invoke("train", write(tmp_path, 30.0), "--run-dir", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.stderr
    first, final = first_and_final(tmp_path / "r")
    assert final > first  # the premise: lr 30 on this data ends worse than it started, yet completes
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["status"] == "completed"
    note = [line for line in result.stderr.splitlines() if "above its first (" in line]
    assert len(note) == 1 and note[0].startswith("gdlab: note: this run completed")
    assert f"{first:.4g} -> {final:.4g}" in note[0] and "train.diverge_factor" in note[0]


def test_a_converging_run_gets_no_note(tmp_path):
    result = invoke("train", write(tmp_path, 0.1), "--run-dir", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.stderr
    first, final = first_and_final(tmp_path / "r")
    assert final < first
    assert "above its first" not in result.stderr


def test_a_sweep_names_only_the_variants_whose_loss_rose(tmp_path):
    result = invoke("sweep", write(tmp_path, 0.1), "optimizer.lr=0.1,30", "--run-dir", tmp_path / "s", "--quiet")
    assert result.exit_code == 0, result.stderr
    (calm, wild) = sorted((tmp_path / "s").glob("00*"))
    assert first_and_final(calm)[1] < first_and_final(calm)[0]
    first, final = first_and_final(wild)
    assert final > first
    note = [line for line in result.stderr.splitlines() if "above its first" in line]
    assert note == [f"gdlab: note: 1 of 2 variants completed with a training loss above its first ({wild.name}: "
                    f"{first:.4g} -> {final:.4g}): the learning rate may be too large to converge; a lower "
                    "train.diverge_factor counts such runs as diverged"]


def test_with_minibatches_the_first_row_is_the_measure_not_the_first_epoch(tmp_path):
    """Too large an lr blows up within the first epoch of 9 batches, so that epoch's mean is no starting point:
    the first batch's loss at the initial weights is."""
    result = invoke("train", write(tmp_path, 30.0, batch_size=8), "--run-dir", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.stderr
    first, final = first_and_final(tmp_path / "r")
    with open(tmp_path / "r" / "metrics.csv", newline="") as f:
        first_epoch = [float(r["train_loss"]) for r in csv.DictReader(f) if float(r["epoch"]) <= 1]
    assert len(first_epoch) == 9 and sum(first_epoch) / 9 > final > first  # the epoch's mean had blown up
    assert f"(tiny: {first:.4g} -> {final:.4g})" in result.stderr


def test_a_tiny_lr_with_minibatches_gets_no_note_for_its_first_batchs_luck(tmp_path):
    """At lr 1e-5 the weights hardly move, so the last epoch's mean is the initial loss and the first row, one
    batch of 8, lands below it by chance (seed 2 here): batch noise, not a learning rate too large."""
    raw = yaml.safe_load(write(tmp_path, 1e-5, batch_size=8, epochs=2).read_text())
    raw["seed"] = 2
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    result = invoke("train", tmp_path / "c.yaml", "--run-dir", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.stderr
    first, final = first_and_final(tmp_path / "r")
    with open(tmp_path / "r" / "metrics.csv", newline="") as f:
        last_epoch = [float(r["train_loss"]) for r in csv.DictReader(f) if float(r["epoch"]) > 1]
    spread = (sum((x - final) ** 2 for x in last_epoch) / len(last_epoch)) ** 0.5
    assert len(last_epoch) == 9 and first < final < first + 2 * spread  # the premise: a rise within batch noise
    assert "above its first" not in result.stderr


def test_a_tiny_lr_with_dropout_gets_no_note_for_its_first_steps_luck(tmp_path):
    """Full batch with Dropout, each row's loss is one draw of masks: at lr 1e-5 the last step's loss lands above
    the first by chance (seed 3 here), which is no learning rate too large."""
    raw = yaml.safe_load(write(tmp_path, 1e-5).read_text())
    raw.update(seed=3, model=[{"Linear": [2, 8]}, "Tanh", {"Dropout": [0.5]}, {"Linear": [8, 2]}])
    raw["train"] = {"steps": 10, "device": "cpu"}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    result = invoke("train", tmp_path / "c.yaml", "--run-dir", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.stderr
    first, final = first_and_final(tmp_path / "r")
    with open(tmp_path / "r" / "metrics.csv", newline="") as f:
        losses = [float(r["train_loss"]) for r in csv.DictReader(f)]
    assert len(losses) == 10 and final == losses[-1] and first < final < max(losses)  # the premise: within the noise
    assert "above its first" not in result.stderr


def test_the_note_says_their_for_several_variants_and_its_for_one(tmp_path):
    result = invoke("sweep", write(tmp_path, 0.1), "optimizer.lr=0.1,30,40", "--run-dir", tmp_path / "s", "--quiet")
    assert result.exit_code == 0, result.stderr
    note = [line for line in result.stderr.splitlines() if "completed with a training loss" in line]
    assert len(note) == 1 and note[0].startswith("gdlab: note: 2 of 3 variants completed with a training loss "
                                                 "above their first (001_"), note


def test_with_sparse_rows_the_note_still_compares_with_step_1(tmp_path):
    """With train.log_every 5 and no validation rows, metrics.csv began at step 5, and the note took that row
    for the initial loss: lr 50 was said to rise from 10.7 (step 5's loss), lr 10-30 rose from 0.65 unnoted."""
    raw = yaml.safe_load(write(tmp_path, 50.0).read_text())
    raw["data"]["val_fraction"], raw["train"] = 0, {"steps": 30, "log_every": 5, "device": "cpu"}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    dense = invoke("train", tmp_path / "c.yaml", "train.log_every=1", "--run-dir", tmp_path / "d", "--quiet")
    sparse = invoke("train", tmp_path / "c.yaml", "--run-dir", tmp_path / "r", "--quiet")
    assert dense.exit_code == sparse.exit_code == 0, sparse.stderr
    first, final = first_and_final(tmp_path / "r")  # step 1's row is written whatever log_every says
    assert (first, final) == first_and_final(tmp_path / "d") and final > first
    with open(tmp_path / "r" / "metrics.csv", newline="") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 5, 10, 15, 20, 25, 30]
    assert f"(tiny: {first:.4g} -> {final:.4g})" in sparse.stderr


def test_a_file_without_step_1_gives_no_starting_point(tmp_path):
    from gdlab.cli.run_notes import risen_from

    path = tmp_path / "metrics.csv"
    path.write_text("step,epoch,lr,train_loss,grad_norm,wall_s\n5,5.0,0.1,10.7,1.0,0.1\n10,10.0,0.1,50.0,1.0,0.2\n")
    assert risen_from(path, 101.3) is None  # step 5's loss is not the initial one
    path.write_text("step,epoch,lr,train_loss,grad_norm,wall_s\n1,1.0,0.1,0.65,1.0,0.1\n5,5.0,0.1,10.7,1.0,0.2\n")
    assert risen_from(path, 101.3) == 0.65
