"""train.restore_best_weights (Keras's restore_best_weights), per model: model.pt holds the weights of the
evaluation with the lowest val_loss, equal to those of a run told to stop there; batched variants keep
their own, and a resumed run ends with the model.pt of an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pandas as pd
import pytest
import torch
import yaml

from tests.helpers import TINY, invoke, one_error_line
from tests.test_early_stop import train

HIDDEN = [{"Linear": [2, 32]}, "Tanh", {"Linear": [32, 2]}]
BATCHNORM = [{"Linear": [2, 32]}, {"BatchNorm1d": [32]}, "Tanh", {"Linear": [32, 2]}]


def config(tmp_path, name="c.yaml", model=HIDDEN, **train) -> str:
    """A run whose val_loss bottoms out well before its end (noisy moons, a wide layer, a large lr)."""
    raw = json.loads(json.dumps(TINY))
    raw["data"]["noise"] = 0.35
    raw["model"] = model
    raw["optimizer"]["lr"] = 3.0
    raw["train"] = {**raw["train"], "epochs": 60, "batch_size": 24, **train}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def weights(run):
    return torch.load(run / "model.pt", weights_only=True)


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("model, overrides", [(HIDDEN, ()), (BATCHNORM, ()),  # BatchNorm: its statistics too
                                              (HIDDEN, ("train.early_stop_patience=4",))])
def test_model_pt_holds_the_weights_of_a_run_stopped_at_its_best_evaluation(tmp_path, model, overrides):
    cfg = config(tmp_path, model=model)
    rows, summary, run = train(tmp_path, cfg, "best", "train.restore_best_weights=true", *overrides)
    val = rows.set_index("step")["val_loss"].dropna()
    best = int(val.idxmin())
    assert best < rows.step.iloc[-1]  # the last weights are not the best: the check is not vacuous
    assert summary["restored_best_from_step"] == best and summary["best_val_loss"] == val[best]
    _, cut, cut_run = train(tmp_path, cfg, "cut", "train.epochs=null", f"train.steps={best}")
    assert cut["final_val_loss"] == val[best] and cut["restored_best_from_step"] is None
    assert same_weights(weights(run), weights(cut_run))
    _, _, last = train(tmp_path, cfg, "last", *overrides)
    assert not same_weights(weights(run), weights(last))  # off (the default): the last weights, as before


def test_batched_variants_each_keep_their_own_best_weights(tmp_path):
    cfg = config(tmp_path, restore_best_weights=True)
    swept = invoke("sweep", cfg, "optimizer.lr=0.3,1.0,3.0", "--vectorize", "on", "--run-dir", tmp_path / "sw")
    assert swept.exit_code == 0, swept.output
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    steps = []
    for lr, folder in zip(table["optimizer.lr"], table["run_dir"]):
        _, alone, alone_run = train(tmp_path, cfg, f"alone{lr}", f"optimizer.lr={lr}")
        grouped_run = tmp_path / "sw" / folder
        grouped = json.loads((grouped_run / "summary.json").read_text())
        assert grouped["restored_best_from_step"] == alone["restored_best_from_step"], lr
        a, b = weights(grouped_run), weights(alone_run)
        assert all(torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6) for k in a), lr
        steps.append(grouped["restored_best_from_step"])
    assert len(set(steps)) == 3  # each model's best came at its own step, so the copy was per model
    assert table["restored_best_from_step"].tolist() == steps  # sweep.csv has it too, as it has stopped_early_at_step


def test_a_resumed_run_ends_with_the_best_weights_from_before_its_checkpoint(tmp_path):
    cfg = config(tmp_path, restore_best_weights=True, checkpoint_every=30)
    _, whole, whole_run = train(tmp_path, cfg, "whole")
    assert whole["restored_best_from_step"] < 150  # the best lies before the checkpoint resumed from
    run = tmp_path / "run"
    # killed while writing the checkpoint at the end (step 180): the resume goes on from the one at step 150
    done = subprocess.run([sys.executable, "-m", "gdlab", "train", cfg, "--run-dir", str(run), "-q"],
                          env={**os.environ, "GDLAB_TEST_KILL_DURING_CHECKPOINT": "180"},
                          capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL and not (run / "model.pt").exists()
    result = invoke("train", "--resume", run, "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["resumed_from_step"] == 150
    assert summary["restored_best_from_step"] == whole["restored_best_from_step"]
    assert same_weights(weights(run), weights(whole_run))


def test_restoring_the_best_weights_without_validation_rows_is_refused_before_any_folder(tmp_path):
    cfg = config(tmp_path, restore_best_weights=True)
    result = invoke("train", cfg, "data.val_fraction=0", "--runs", tmp_path / "runs")
    one_error_line(result, 2, "train.restore_best_weights", "watches val_loss", "set data.val_fraction")
    assert not (tmp_path / "runs").exists()


def test_a_resume_refuses_a_config_that_turned_restoring_on_or_off():
    """Turned on at a resume it would miss the evaluations before the checkpoint; a checkpoint from before
    the key existed reads as its default, off."""
    from gdlab.checkpoint import check_config_unchanged
    from gdlab.errors import GdlabError
    from tests.helpers import make_config

    off, on = make_config().resolved(), make_config(**{"train.restore_best_weights": True}).resolved()
    older = json.loads(json.dumps(off))
    del older["train"]["restore_best_weights"]
    check_config_unchanged("run", older, off, 5)
    with pytest.raises(GdlabError, match="train.restore_best_weights"):
        check_config_unchanged("run", off, on, 5)


def test_the_accelerator_path_keeps_the_same_best_weights_as_the_cpu_path():
    """On an accelerator the copy is masked on the device with no host sync (and records come in blocks);
    run here on the CPU, it keeps what the CPU's copy of only the improved rows keeps."""
    from gdlab.data import load_data
    from gdlab.engine.loop import GroupTrainer
    from tests.helpers import make_config

    configs = [make_config(**{"optimizer.lr": lr, "train.epochs": 60, "train.batch_size": 24, "data.noise": 0.35,
                              "model": BATCHNORM, "train.restore_best_weights": True}) for lr in (0.3, 1.0, 3.0)]
    data, cpu = load_data(configs[0]), torch.device("cpu")
    host = GroupTrainer(configs, [data] * 3, cpu)
    device = GroupTrainer(configs, [data] * 3, cpu, sync_every=8)
    device.best.host_sync = False
    list(host.run()), list(device.run())
    assert host.best.steps() == device.best.steps() and len(set(host.best.steps())) == 3
    for a, b in zip(host.best.state_dicts(host.model), device.best.state_dicts(device.model)):
        assert same_weights(a, b)


def test_expect_restored_best_from_step_needs_the_option(tmp_path):
    cfg = config(tmp_path)
    one_error_line(invoke("train", cfg, "--runs", tmp_path / "runs", "--expect", "restored_best_from_step>0"), 2,
                   "only a run with train.restore_best_weights: true reports restored_best_from_step")
    assert not (tmp_path / "runs").exists()
    ran = invoke("train", cfg, "train.restore_best_weights=true", "--run-dir", tmp_path / "r", "-q",
                 "--expect", "restored_best_from_step<180")
    assert ran.exit_code == 0, ran.output


def test_a_diverged_run_saves_its_best_weights_from_before_it_blew_up(tmp_path):
    cfg = config(tmp_path, restore_best_weights=True, eval_every=1, diverge_factor=5)
    result = invoke("train", cfg, "optimizer.lr=8", "--run-dir", tmp_path / "blew", "-q")
    assert result.exit_code == 3, result.output
    summary = json.loads((tmp_path / "blew" / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["diverged_at_step"] == 3
    assert summary["restored_best_from_step"] == 1  # step 2's val_loss was already worse
    _, _, cut = train(tmp_path, cfg, "cut", "optimizer.lr=8", "train.epochs=null", "train.steps=1")
    assert same_weights(weights(tmp_path / "blew"), weights(cut))


@pytest.mark.parametrize("host_sync", [True, False])  # the CPU's copy of the improved rows, the device's masked copy
def test_a_tie_keeps_the_weights_of_the_earlier_evaluation(host_sync):
    """README: ties go to the earlier evaluation, as best_val_loss (a strict minimum) is taken. No run ever tied,
    so a '<=' in place of the '<' went unnoticed."""
    from gdlab.engine.best_weights import BestWeights
    from gdlab.engine.stack import StackedMLP
    from tests.helpers import make_config

    model = StackedMLP(make_config(), [0, 1], torch.device("cpu"), torch.float64)
    best, alive = BestWeights(model, host_sync), torch.tensor([True, True])
    first = model.flat.detach().clone()
    best.observe(4, torch.tensor([0.5, 0.5], dtype=torch.float64), alive, model)
    with torch.no_grad():
        model.flat.add_(1.0)
    best.observe(8, torch.tensor([0.5, 0.4], dtype=torch.float64), alive, model)  # model 0 ties, model 1 improves
    assert best.steps() == [4, 8]
    assert torch.equal(best.flat[0], first[0]) and torch.equal(best.flat[1], model.flat.detach()[1])
