"""The final training loss and accuracy of a run are its last epoch's, weighted by batch rows: one step's
loss is one batch's, and the last batch of an epoch may hold a few rows (a final loss of exactly 0.0 from
two rows ranked a sweep's variants)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.data import load_data
from gdlab.engine.loop import GroupTrainer
from gdlab.engine.state import restore_trainer, trainer_state
from tests.helpers import TINY, make_config

runner = CliRunner()


def last_epoch_mean(metrics: pd.DataFrame, first: int, last: int, rows: list[int], column: str) -> float:
    chosen = metrics[(metrics.step >= first) & (metrics.step <= last)]
    return sum(v * n for v, n in zip(chosen[column], rows)) / sum(rows)


@pytest.mark.parametrize("train, first, last", [({"epochs": 3}, 11, 15), ({"steps": 17}, 11, 15), ({"steps": 3}, 1, 3)])
def test_final_train_loss_and_accuracy_are_the_last_complete_epochs_row_weighted_means(tmp_path, train, first, last):
    raw = json.loads(json.dumps(TINY))  # 72 training rows in batches of 16: 16, 16, 16, 16 and 8 per epoch
    raw["train"] = {**raw["train"], "epochs": None, "batch_size": 16, "log_every": 1, **train}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(tmp_path / "c.yaml"), "--run-dir", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    rows = [16, 16, 16, 16, 8][: last - first + 1]
    assert summary["final_train_loss"] == pytest.approx(last_epoch_mean(metrics, first, last, rows, "train_loss"), rel=1e-6)
    assert summary["final_train_accuracy"] == pytest.approx(last_epoch_mean(metrics, first, last, rows, "train_accuracy"), rel=1e-6)
    assert summary["final_train_loss"] != pytest.approx(metrics.train_loss.iloc[-1], rel=1e-3)  # not one batch's


def test_full_batch_final_train_loss_is_the_last_steps():
    cfg = make_config(**{"train.epochs": 4})
    trainer = GroupTrainer([cfg], [load_data(cfg)], torch.device("cpu"))
    records = list(trainer.run())
    assert trainer.epoch_means.final(0) == (records[-1].train_loss[0], records[-1].train_accuracy[0])


def test_a_run_resumed_inside_its_last_epoch_ends_with_the_final_loss_of_one_never_stopped():
    cfg = make_config(**{"train.epochs": 3, "train.batch_size": 16})
    data, cpu = load_data(cfg), torch.device("cpu")
    whole = GroupTrainer([cfg], [data], cpu)
    list(whole.run())
    first = GroupTrainer([cfg], [data], cpu)
    for _ in first.run(should_stop=lambda: first.step >= 12):  # stops after 2 of the last epoch's 5 steps
        pass
    buf = io.BytesIO()
    torch.save(trainer_state(first), buf)  # as a checkpoint holds it
    state = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
    resumed = GroupTrainer([cfg], [data], cpu)
    restore_trainer(resumed, state)
    list(resumed.run())
    assert resumed.epoch_means.final(0) == whole.epoch_means.final(0)
    forgetful = GroupTrainer([cfg], [data], cpu)  # without the sums, the mean would cover 3 of the 5 steps
    restore_trainer(forgetful, {k: v for k, v in state.items() if k != "epoch_means"})
    list(forgetful.run())
    assert forgetful.epoch_means.final(0)[0] != pytest.approx(whole.epoch_means.final(0)[0], rel=1e-6)
