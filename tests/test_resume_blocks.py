"""Resuming runs trained on the accelerator path, where the host reads the losses in blocks of steps and so
learns of a divergence late; the CPU takes that path here with the trainer's block settings forced."""

from __future__ import annotations

import pytest

import gdlab.runner
from gdlab.engine.loop import GroupTrainer
from tests.test_resume import kill_after_divergence_and_resume


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
    kill_after_divergence_and_resume(tmp_path, "train.checkpoint_every=null")


def test_resumed_from_step_is_where_the_run_went_on_from_not_the_checkpoint_past_its_divergence(blocks, tmp_path):
    """The checkpoint was taken at step 16, where the device had got to when the host learned of the divergence
    at step 2; the summary said resumed_from_step 16 beside steps 2 (the CPU path, which stops at step 2, says 2)."""
    import json

    import torch

    kill_after_divergence_and_resume(tmp_path, "train.checkpoint_every=null")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] > 2  # the blocked path's case
    assert (summary["steps"], summary["resumed_from_step"]) == (2, 2)
