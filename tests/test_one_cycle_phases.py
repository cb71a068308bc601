"""OneCycleLR's phases at the run's length: torch divides by each phase's length in intervals, so a rising
phase of no length (pct_start x intervals = 1) is refused before any folder, and a three-phase cycle whose
last phase has no length (it is only reached after the last step) trains to its end as torch's schedule."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from tests.helpers import invoke, one_error_line

CONFIG = ("name: oc\ndata: {name: moons, n_samples: 48, val_fraction: 0.25}\n"
          "model: [{Linear: [2, 4]}, Tanh, {Linear: [4, 2]}]\nloss: CrossEntropyLoss\noptimizer: {name: SGD, lr: 0.1}\n"
          "scheduler: {name: OneCycleLR, pct_start: 0.1}\ntrain: {steps: 10, device: cpu}\n")


@pytest.mark.parametrize("overrides, intervals", [
    ([], "10 steps"),
    (["train.steps=null", "train.epochs=2", "scheduler.pct_start=0.5", "scheduler.interval=epoch"], "2 epochs"),
    (["train.steps=null", "train.epochs=1", "train.batch_size=9", "scheduler.pct_start=0.25"], "4 steps"),  # 36 rows
])
def test_a_rising_phase_of_no_length_is_refused_before_any_folder(tmp_path, overrides, intervals):
    path = tmp_path / "oc.yaml"
    path.write_text(CONFIG)
    line = one_error_line(invoke("train", path, *overrides, "--run-dir", tmp_path / "r"), 2, "oc.yaml",
                          "scheduler.pct_start", intervals)
    assert "Traceback" not in line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("overrides, parts", [
    (["train.steps=3", "scheduler.pct_start=0.3"],
     ["scheduler.pct_start: 0.3 of 3 steps (train.steps) ends the rising phase before it starts", "no warm-up",
      "e.g. 0.667, or a longer run"]),
    (["train.steps=null", "train.epochs=3", "train.batch_size=9", "scheduler.interval=epoch", "scheduler.pct_start=0.3"],
     ["of 3 epochs (train.epochs) ends the rising phase before it starts", "or interval: step"]),
    (["train.steps=null", "train.epochs=1", "scheduler.interval=epoch"],
     ["scheduler.interval: OneCycleLR over 1 epoch (train.epochs) has no cycle", "train longer"]),  # full batch: no per-step way out
])
def test_a_rising_phase_shorter_than_one_interval_is_refused(tmp_path, overrides, parts):
    """torch accepts it, but its schedule then starts past its peak: over 3 steps at pct_start 0.3 the lrs fall
    from the first step, and over 1 interval the whole run trains at the final lr (h5's 1.2e-06 at lr 0.03)."""
    path = tmp_path / "oc.yaml"
    path.write_text(CONFIG)
    one_error_line(invoke("train", path, *overrides, "--run-dir", tmp_path / "r"), 2, "oc.yaml", *parts)
    assert not (tmp_path / "r").exists()
    for total, expected_falling in ((3, True), (4, False)):  # what the refusal is for, from torch itself
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.1)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=total, pct_start=0.3)
        lrs = []
        for _ in range(total - 1):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        assert (lrs[1] < lrs[0]) == expected_falling, lrs


PLAIN = CONFIG.replace("scheduler: {name: OneCycleLR, pct_start: 0.1}\n", "").replace("steps: 10", "steps: 3")


@pytest.mark.parametrize("text, overrides, cited, length", [
    # the reported command: the run length is as much to blame as pct_start, and both came from overrides
    (PLAIN, ["scheduler.name=OneCycleLR", "train.steps=3", "scheduler.pct_start=0.3"],
     ["scheduler.name=OneCycleLR", "train.steps=3", "scheduler.pct_start=0.3"], "0.3 of 3 steps (train.steps)"),
    (PLAIN, ["scheduler.name=OneCycleLR", "train.steps=3"], ["scheduler.name=OneCycleLR", "train.steps=3"],
     "0.3 of 3 steps (train.steps)"),  # pct_start is the default: only the length was given
    (CONFIG.replace("steps: 10", "steps: 3"), ["scheduler.pct_start=0.3"], ["scheduler.pct_start=0.3"],
     "0.3 of 3 steps (train.steps)"),  # the length is the file's: named, with no override
    (PLAIN, ["scheduler.name=OneCycleLR", "train.steps=null", "train.epochs=2", "train.batch_size=18", "scheduler.pct_start=0.2"],
     ["scheduler.name=OneCycleLR", "train.epochs=2", "train.batch_size=18", "scheduler.pct_start=0.2"],
     "0.2 of 4 steps (train.epochs: 2 at 2 steps an epoch)"),  # 36 rows: the batch size sets the length too
])
def test_a_short_rise_names_the_run_length_and_every_override_to_blame(tmp_path, text, overrides, cited, length):
    path = tmp_path / "oc.yaml"
    path.write_text(text)
    named = ", ".join(repr(c) for c in cited)
    one_error_line(invoke("train", path, *overrides, "--run-dir", tmp_path / "r"), 2,
                   f"oc.yaml (with override{'s' * (len(cited) > 1)} {named}): scheduler.pct_start: {length} ends")
    assert not (tmp_path / "r").exists()


def test_validate_and_sweep_refuse_it_too_naming_the_variant(tmp_path):
    path = tmp_path / "oc.yaml"
    path.write_text(CONFIG.replace("steps: 10", "steps: 12"))
    assert invoke("validate", path).exit_code == 0
    path.write_text(CONFIG)
    one_error_line(invoke("validate", path), 2, "oc.yaml", "scheduler.pct_start: 0.1 of 10 steps")
    one_error_line(invoke("sweep", path, "train.steps=12,10", "--run-dir", tmp_path / "s"), 2,
                   "variant 1 (train.steps=10)", "scheduler.pct_start")
    assert not (tmp_path / "s").exists()


def test_a_three_phase_cycle_whose_last_phase_has_no_length_trains_to_its_end(tmp_path):
    """5 steps at pct_start 0.6: the last phase starts and ends at step 4; torch divides by its length only
    when stepped past the last step, which gdlab does after the run's last update."""
    path = tmp_path / "oc.yaml"
    path.write_text(CONFIG.replace("pct_start: 0.1", "pct_start: 0.6, three_phase: true").replace("steps: 10", "steps: 5"))
    result = invoke("train", path, "--run-dir", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["status"] == "completed"
    metrics = pd.read_csv(tmp_path / "r" / "metrics.csv")
    opt = torch.optim.SGD([torch.zeros(1)], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5, pct_start=0.6, three_phase=True,
                                                cycle_momentum=False)
    expected = []
    for _ in range(5):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        if len(expected) < 5:
            sched.step()
    assert metrics["step"].tolist() == [1, 2, 3, 4, 5]
    assert metrics["lr"].tolist() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("overrides", [
    ["train.steps=null", "train.epochs=20", "train.batch_size=9", "scheduler.interval=epoch", "scheduler.pct_start=0.3"],
    ["train.steps=200"],  # pct_start 0.1: a rise of 20 steps, which 5 steps would cut to half of one
])
def test_a_smoke_run_cycles_over_its_own_steps(tmp_path, overrides):
    """A smoke run's 5 steps are one epoch and a rise under one step: judged on those, a config whose full run
    cycles properly was refused ('OneCycleLR over 1 epoch has no cycle'). Its cycle runs over the 5 steps."""
    path = tmp_path / "oc.yaml"
    path.write_text(CONFIG)
    result = invoke("train", path, *overrides, "--smoke", "--run-dir", tmp_path / "r", "-q")
    assert result.exit_code == 0, result.stderr
    opt = torch.optim.SGD([torch.zeros(1)], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5, pct_start=0.3, cycle_momentum=False)
    expected = []
    for _ in range(5):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert pd.read_csv(tmp_path / "r" / "metrics.csv")["lr"].tolist() == pytest.approx(expected, rel=1e-12)


def test_a_smoke_run_refuses_a_cycle_its_full_run_refuses(tmp_path):
    path = tmp_path / "oc.yaml"
    path.write_text(CONFIG)  # pct_start 0.1 of 10 steps: the full run is refused
    one_error_line(invoke("train", path, "--smoke", "--run-dir", tmp_path / "r"), 2, "oc.yaml",
                   "scheduler.pct_start: 0.1 of 10 steps")
    assert not (tmp_path / "r").exists()


def test_a_run_that_trained_under_a_short_rise_can_still_be_resumed(tmp_path, monkeypatch):
    """A run started before the refusal (here: with it turned off) trained under torch's schedule; its resume
    was refused, saying to change pct_start, an edit the resume then refuses: no way to finish the run."""
    import gdlab.runner

    path = tmp_path / "oc.yaml"
    path.write_text(CONFIG.replace("steps: 10", "steps: 6, checkpoint_every: 2"))  # pct_start 0.1 of 6 steps
    with monkeypatch.context() as patched:
        patched.setattr(gdlab.runner, "check_one_cycle", lambda cfg, n_train: None)
        assert invoke("train", path, "--run-dir", tmp_path / "r", "-q").exit_code == 0
    (tmp_path / "r" / "summary.json").unlink()  # as a killed run leaves it
    result = invoke("train", "--resume", tmp_path / "r", "-q")
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["status"] == "completed"
    one_error_line(invoke("train", path, "--run-dir", tmp_path / "new"), 2, "scheduler.pct_start: 0.1 of 6 steps")
