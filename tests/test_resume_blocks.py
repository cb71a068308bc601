"""Resuming runs trained on the accelerator path, where the host reads the losses in blocks of steps and so
learns of a divergence late; the CPU takes that path here with the trainer's block settings forced."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import gdlab.runner
from gdlab.cli import app
from gdlab.engine.loop import GroupTrainer
from tests.test_resume import assert_same_run, config

runner = CliRunner()


class BlockTrainer(GroupTrainer):
    """A trainer that reads its values as a CUDA device would: in blocks of 8 steps, each one block late."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "sync_every": 8})
        self.overlap_blocks = True


@pytest.fixture
def blocks(monkeypatch):
    monkeypatch.setattr(gdlab.runner, "GroupTrainer", BlockTrainer)


def test_a_run_killed_after_it_diverged_on_an_accelerator_resumes_as_diverged_at_that_step(blocks, tmp_path):
    """The host learns of the divergence at step 2 only steps later, so the final checkpoint is taken after it;
    the resume must still end the run at step 2 with the rows the run had."""
    ref, run = tmp_path / "ref", tmp_path / "run"
    diverging = ("optimizer.name=SGD", "optimizer.lr=1e4", "scheduler=null", "train.diverge_factor=2",
                 "train.checkpoint_every=null")
    for folder in (ref, run):
        result = runner.invoke(app, ["train", str(config(tmp_path)), *diverging, "--run-dir", str(folder), "-q"])
        assert result.exit_code == 3, result.output
    (run / "summary.json").unlink()  # killed after its checkpoint, before its last files
    (run / "model.pt").unlink()
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 3, result.output
    assert_same_run(ref, run)
    summaries = [json.loads((r / "summary.json").read_text()) for r in (ref, run)]
    assert [(s["status"], s["steps"], s["diverged_at_step"]) for s in summaries] == [("diverged", 2, 2)] * 2
