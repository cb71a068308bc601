"""Step counts have an upper bound: `train.steps: 1e40` (a typo for 1e4) trained until killed. Past 2**53 a
float64, which torch's schedules and gdlab plot count steps in, no longer tells step n from n + 1, so train.steps,
train.epochs (and the steps its epochs make) and the schedules' interval counts are refused past it, in one line
naming the file, key and range, before any folder exists. `gdlab train` runs here with --smoke, which refuses
what the full run would: without the bound the full run trains until killed, and a test must fail, not hang."""

from __future__ import annotations

import json

import pytest
import yaml

from gdlab.errors import GdlabError
from tests.helpers import TINY, invoke, make_config, one_error_line

MOST = 2**53


def test_the_bound_is_where_a_float_stops_counting_steps():
    assert float(MOST - 1) + 1 == MOST and float(MOST) + 1 == float(MOST)  # the next step rounds back


def write(tmp_path, **train):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**TINY, "train": {"device": "cpu", **train}}, sort_keys=False))
    return path


def test_a_step_count_past_the_bound_in_the_file_is_refused_by_line_before_any_folder(tmp_path):
    cfg = write(tmp_path, steps=1e40)
    result = invoke("train", cfg, "--smoke", "--run-dir", tmp_path / "run")
    line = one_error_line(result, 2, "train.steps: more than a run can count exactly; allowed: a whole number from 1 "
                                     f"to 2**53 ({MOST}) (got 1e+40)")
    assert line.startswith(f"gdlab: error: {cfg}:") and not (tmp_path / "run").exists()


@pytest.mark.parametrize("overrides, key, least", [
    (["train.steps=" + "1" + "0" * 30], "train.steps", 1),
    ([f"train.steps={MOST + 1}"], "train.steps", 1),
    (["train.epochs=1e20"], "train.epochs", 1),
    (["scheduler.name=StepLR", "scheduler.step_size=1e17"], "scheduler.step_size", 1),
    (["scheduler.name=CosineAnnealingLR", "scheduler.T_max=1e17"], "scheduler.T_max", 1),
    (["scheduler.name=LinearLR", "scheduler.total_iters=1e17"], "scheduler.total_iters", 1),
    (["scheduler.name=StepLR", "scheduler.step_size=2", "scheduler.warmup=1e17"], "scheduler.warmup", 0),
])
def test_an_override_past_the_bound_is_refused_naming_it(tmp_path, overrides, key, least):
    cfg = write(tmp_path, epochs=3)
    for command in (["train", cfg, *overrides, "--smoke", "--run-dir", tmp_path / "run"],
                    ["sweep", cfg, *overrides, "--run-dir", tmp_path / "run", "--dry-run"]):
        result = invoke(*command)
        one_error_line(result, 2, f"override '{overrides[-1]}'", f"{key}: more than a run can count exactly; allowed: "
                                  f"a whole number from {least} to 2**53 ({MOST})")
        assert not (tmp_path / "run").exists()


def test_the_bound_itself_is_allowed():
    assert make_config(**{"train.epochs": None, "train.steps": MOST}).train.steps == MOST


def test_epochs_that_make_too_many_steps_are_refused_with_the_epochs_this_data_allows(tmp_path):
    from gdlab.engine.batches import BatchPlan, check_run_length

    per_epoch = -(-72 // 16)  # 96 moons rows, a quarter held out, in batches of 16
    train = make_config(**{"train.epochs": MOST // per_epoch, "train.batch_size": 16}).train
    assert BatchPlan.from_config(train, 72).steps_per_epoch == per_epoch
    check_run_length(train, 72)  # the most epochs that stay within the bound
    with pytest.raises(GdlabError):
        check_run_length(train.model_copy(update={"epochs": MOST // per_epoch + 1}), 72)
    result = invoke("train", write(tmp_path, epochs=MOST, batch_size=16), "--smoke", "--run-dir", tmp_path / "run")
    one_error_line(result, 2, f"train.epochs: {MOST} epochs of {per_epoch} steps make {MOST * per_epoch} steps",
                   f"allowed: a whole number from 1 to {MOST // per_epoch} with this data and batch size")
    assert not (tmp_path / "run").exists()


def test_the_schema_states_the_bound():
    schema = json.loads(invoke("schema").stdout)
    steps = schema["$defs"]["TrainConfig"]["properties"]["steps"]["anyOf"][0]
    assert steps["maximum"] == MOST and schema["$defs"]["StepLR"]["properties"]["warmup"]["maximum"] == MOST
