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
