"""A ReduceLROnPlateau whose patience the run's evaluations cannot run out is taken (patience defaults to 10,
which short runs never set), with one note saying the plateau can never act and what would let it."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from tests.helpers import TINY, invoke

STEPS = 8  # evaluated at each step: 8 evaluations


def plateau_run(tmp_path, patience: int, *extra: str):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "train": {"steps": STEPS, "eval_every": 1, "device": "cpu"}}))
    # threshold 0.99: no evaluation improves on the first by 99%, so every one after it counts as a stall
    schedule = f"scheduler={{name: ReduceLROnPlateau, patience: {patience}, factor: 0.5, threshold: 0.99}}"
    return invoke("train", cfg, schedule, "--run-dir", tmp_path / "run", "-q", *extra)


def notes(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("gdlab: note: scheduler.patience")]


@pytest.mark.parametrize("patience", [STEPS - 2, STEPS + 40])
def test_a_patience_the_run_cannot_run_out_is_noted_and_the_lr_indeed_stays(tmp_path, patience):
    ran = plateau_run(tmp_path, patience)
    assert ran.exit_code == 0, ran.output
    assert pd.read_csv(tmp_path / "run" / "metrics.csv")["lr"].tolist() == [0.1] * STEPS
    [note] = notes(ran)
    assert note.startswith(f"gdlab: note: scheduler.patience: {patience} can never let ReduceLROnPlateau lower the lr")
    assert f"the run evaluates {STEPS} times (train.eval_every: 1" in note
    assert note.endswith(f"to let it act: scheduler.patience from 0 to {STEPS - 3} or more evaluations, from a run of "
                         f"more than {patience + 2} steps")


def test_one_evaluation_less_of_patience_cuts_the_lr_at_the_last_step_without_a_note(tmp_path):
    ran = plateau_run(tmp_path, STEPS - 3)
    assert ran.exit_code == 0, ran.output
    assert pd.read_csv(tmp_path / "run" / "metrics.csv")["lr"].tolist() == [0.1] * (STEPS - 1) + [0.05]
    assert notes(ran) == []


def test_a_longer_interval_is_named_where_more_evaluations_would_let_it_act(tmp_path):
    ran = plateau_run(tmp_path, 1, "train.eval_every=4")  # 2 evaluations: a cut needs 1 + 3
    assert ran.exit_code == 0, ran.output
    [note] = notes(ran)
    assert note.endswith("to let it act: more evaluations, train.eval_every at most 2")  # 8 / 2: 4 evaluations


def test_smoke_runs_take_no_note_from_their_few_steps(tmp_path):
    ran = plateau_run(tmp_path, 10, "--smoke")
    assert ran.exit_code == 0, ran.output
    assert notes(ran) == []


def test_a_sweep_notes_it_once_naming_the_variants_it_concerns(tmp_path):
    """gdlab sweep said nothing of a patience its variants could not use; each lr's variant keeps its lr too."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "train": {"steps": STEPS, "eval_every": 1, "device": "cpu"},
                                   "scheduler": {"name": "ReduceLROnPlateau", "factor": 0.5, "threshold": 0.99}}))
    swept = invoke("sweep", cfg, "scheduler.patience=1,50", "optimizer.lr=0.1,0.2", "--run-dir", tmp_path / "sw", "-q")
    assert swept.exit_code == 0, swept.output
    [note] = [line for line in swept.stderr.splitlines() if "can never let ReduceLROnPlateau" in line]
    assert note.startswith("gdlab: note: variant 2 (scheduler.patience=50, optimizer.lr=0.1) and 1 more: "
                           "scheduler.patience: 50 can never")
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    for _, row in table.iterrows():
        lrs = pd.read_csv(tmp_path / "sw" / row.run_dir / "metrics.csv")["lr"]
        assert (lrs.nunique() == 1) == (row["scheduler.patience"] == 50), row.run_dir  # patience 1 did cut it
