"""Scheduler settings that would change nothing are refused with the key named, since config.yaml writes
every default out only a value other than the default counts; a kind switch's note never suggests one."""

from __future__ import annotations

import pytest

from tests.helpers import invoke, one_error_line


@pytest.mark.parametrize("override, parts", [
    ("scheduler={name: StepLR, step_size: 5, warmup_start_factor: 0.01}",
     ["scheduler: warmup_start_factor 0.01 does nothing without warmup: N"]),
    ("scheduler={name: ReduceLROnPlateau, interval: step}",
     ["scheduler.interval: ReduceLROnPlateau steps at each evaluation (train.eval_every)"]),
    ("scheduler={name: OneCycleLR, base_momentum: 0.8}",
     ["scheduler: base_momentum and max_momentum do nothing without cycle_momentum: true"]),
])
def test_a_setting_that_does_nothing_is_refused(tmp_path, override, parts):
    one_error_line(invoke("train", "configs/quickstart.yaml", override, "--run-dir", tmp_path / "r"), 2, *parts)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("override", [
    "scheduler={name: StepLR, step_size: 5, warmup: 2, warmup_start_factor: 0.01}",
    "scheduler={name: ReduceLROnPlateau, interval: epoch}",
    "scheduler={name: OneCycleLR, cycle_momentum: true, base_momentum: 0.8}",
])
def test_the_same_settings_where_they_act_are_taken(tmp_path, override):
    # evaluated at each step: at quickstart's eval_every 10 a plateau schedule has nothing to watch in 4 steps
    ran = invoke("train", "configs/quickstart.yaml", override, "train.steps=4", "train.eval_every=1", "--run-dir",
                 tmp_path / "r", "-q")
    assert ran.exit_code == 0, ran.output


def test_switching_a_one_cycle_run_to_a_plateau_schedule_does_not_suggest_keeping_interval_step(tmp_path):
    first = invoke("train", "configs/quickstart.yaml", "scheduler=OneCycleLR", "train.steps=4", "--run-dir", tmp_path / "a", "-q")
    assert first.exit_code == 0, first.output
    switched = invoke("train", tmp_path / "a" / "config.yaml", "scheduler.name=ReduceLROnPlateau", "train.steps=2",
                      "train.eval_every=1", "--run-dir", tmp_path / "b", "-q")
    assert switched.exit_code == 0, switched.output
    note = next(line for line in switched.stderr.splitlines() if "scheduler.interval" in line)
    assert note.endswith("ReduceLROnPlateau's (epoch) applies")
