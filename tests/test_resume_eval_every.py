"""train.eval_every edited between a checkpoint and its --resume: refused where a count of evaluations is kept in
the checkpoint (a ReduceLROnPlateau schedule, early stopping), taken where nothing the weights follow counts them."""

from __future__ import annotations

import pytest
import torch
import yaml

from gdlab.checkpoint import check_config_unchanged
from gdlab.errors import GdlabError
from tests.helpers import invoke, make_config, one_error_line
from tests.test_resume import config, gdlab


def killed_at_a_checkpoint(tmp_path, *overrides: str):
    """A run SIGKILLed while writing its checkpoint at step 10 (the one at step 5 stays loadable)."""
    run = tmp_path / "run"
    gdlab("train", str(config(tmp_path)), *overrides, "--run-dir", str(run), "-q",
          env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "10"}).communicate(timeout=120)
    assert (run / "checkpoint.prev.pt").exists()
    return run


def set_eval_every(run, value) -> None:
    conf = yaml.safe_load((run / "config.yaml").read_text())
    conf["train"]["eval_every"] = value
    (run / "config.yaml").write_text(yaml.safe_dump(conf))


def test_resume_refuses_a_new_eval_every_under_a_plateau_schedule(tmp_path):
    run = killed_at_a_checkpoint(tmp_path, "scheduler={name: ReduceLROnPlateau, patience: 1, factor: 0.5}",
                                 "train.eval_every=2")
    before = (run / "metrics.csv").read_bytes()
    set_eval_every(run, 3)
    one_error_line(invoke("train", "--resume", run, "-q"), 2, f"--resume {run}: config.yaml changed since the checkpoint",
                   "train.eval_every: 2 -> 3, whose evaluations scheduler.name: ReduceLROnPlateau counts")
    assert (run / "metrics.csv").read_bytes() == before  # nothing touched
    set_eval_every(run, 2)
    assert invoke("train", "--resume", run, "-q").exit_code == 0


def test_a_new_eval_every_without_anything_counting_evaluations_resumes_to_the_same_weights(tmp_path):
    """Evaluations only log there: the weights are those of the run that never stopped."""
    ref = tmp_path / "ref"
    assert invoke("train", config(tmp_path), "--run-dir", ref, "-q").exit_code == 0
    run = killed_at_a_checkpoint(tmp_path)
    set_eval_every(run, 4)
    result = invoke("train", "--resume", run, "-q")
    assert result.exit_code == 0, result.stderr
    a, b = (torch.load(r / "model.pt", weights_only=True) for r in (ref, run))
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("saved, now, refused", [
    ({"train.early_stop_patience": 3}, {"train.early_stop_patience": 3, "train.eval_every": 6}, True),
    ({"train.eval_every": 6}, {"train.early_stop_patience": 3}, True),  # turned on at the resume: counts from now on
    ({"scheduler": {"name": "StepLR", "step_size": 3}}, {"scheduler": {"name": "StepLR", "step_size": 3},
                                                          "train.eval_every": 6}, False),
    # early stopping turned off at the resume: its evaluations count for nothing from here on
    ({"train.early_stop_patience": 3}, {"train.early_stop_patience": None, "train.eval_every": 6}, False),
    # best weights are picked among the evaluations: a new cadence would pick among both runs' evaluations
    ({"train.restore_best_weights": True}, {"train.restore_best_weights": True, "train.eval_every": 6}, True),
])
def test_eval_every_is_refused_only_where_evaluations_are_counted(saved, now, refused):
    before, after = make_config(**saved).resolved(), make_config(**now).resolved()
    if not refused:
        check_config_unchanged(".", before, after, 5)
        return
    counted = "train.restore_best_weights" if "train.restore_best_weights" in saved else "train.early_stop_patience"
    with pytest.raises(GdlabError, match=rf"train\.eval_every: .* whose evaluations {counted.replace('.', '[.]')} counts"):
        check_config_unchanged(".", before, after, 5)
