"""gdlab on an accelerator: the engine, `gdlab train`, `gdlab sweep`, `lr-find` and `--resume` on a GPU
give what they give on the CPU. Skipped where there is none; GDLAB_TEST_DEVICE=cpu runs them on the CPU
(which checks the tests themselves), GDLAB_TEST_DEVICE=cuda:1 picks a card."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from pathlib import Path

import pandas as pd
import pytest
import torch

from gdlab.data import load_data
from gdlab.engine.loop import GroupTrainer
from tests.helpers import invoke, make_config, reference_losses, trained_curves
from tests.test_engine import OPTIMIZERS, _first_apart
from tests.test_resume import assert_same_run, config as resume_config, train_until_first_checkpoint

ROOT = Path(__file__).resolve().parents[1]
DEVICE = os.environ.get("GDLAB_TEST_DEVICE") or ("cuda" if torch.cuda.is_available() else "")
pytestmark = pytest.mark.skipif(not DEVICE, reason="no accelerator (GDLAB_TEST_DEVICE=cpu runs these on the CPU)")
SINE = {"loss": "MSELoss", "data": {"name": "sine", "n_samples": 64}, "model": [{"Linear": [1, 8]}, "Tanh", {"Linear": [8, 1]}]}


@pytest.mark.parametrize("opt", ["gd", "sgd-momentum", "adam-amsgrad", "adamw", "rmsprop-centered"])
def test_the_engine_on_the_device_matches_a_plain_cpu_loop_in_float64(opt):
    cfg = make_config(**{"optimizer": OPTIMIZERS[opt], "train.dtype": "float64", "train.batch_size": 24, "train.epochs": 8})
    assert trained_curves([cfg], DEVICE)[1][0] == pytest.approx(reference_losses(cfg), rel=1e-9)


@pytest.mark.parametrize("layers", [
    [{"Linear": [2, 8]}, {"BatchNorm1d": [8]}, "ReLU", {"Linear": [8, 2]}],
    [{"Linear": [2, 8]}, {"LayerNorm": [8]}, "GELU", {"Linear": [8, 8]}, "SiLU", {"Linear": [8, 2]}],
    [{"Linear": [2, 8]}, {"LeakyReLU": [0.1]}, {"ELU": {}}, "Softplus", "Sigmoid", {"Linear": [8, 2]}],
])
def test_every_layer_batched_on_the_device_matches_a_plain_cpu_loop(layers):
    configs = [make_config(**{"model": layers, "train.dtype": "float64", "train.batch_size": 24, "optimizer.lr": lr})
               for lr in (0.05, 0.2)]
    _, got = trained_curves(configs, DEVICE)
    for cfg, curve in zip(configs, got):
        assert curve == pytest.approx(reference_losses(cfg), rel=1e-9)


@pytest.mark.parametrize("opt,lrs", [("GD", [0.3, 3.0]), ("Adam", [0.003, 0.03])])
def test_batched_on_the_device_matches_each_model_alone_where_rounding_does_not_matter(opt, lrs):
    """The issue's float32 criterion on the device: over the steps where re-running a model with its
    rows permuted gives its curve to 1e-6, the batched curve matches the one trained alone to 1e-5."""
    configs = [make_config(**{"optimizer": {"name": opt, "lr": lr}, "train.epochs": None, "train.steps": 200,
                              "data.val_fraction": 0, "train.diverge_factor": None}) for lr in lrs]
    data = load_data(configs[0])
    perm = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(1))
    permuted = dataclasses.replace(data, x_train=data.x_train[perm], y_train=data.y_train[perm])
    _, together = trained_curves(configs, DEVICE, [data] * len(configs))
    checked = []
    for k, cfg in enumerate(configs):
        alone, reordered = trained_curves([cfg], DEVICE, [data])[1][0], trained_curves([cfg], DEVICE, [permuted])[1][0]
        checked.append(_first_apart(alone, reordered, 1e-6))
        assert _first_apart(alone, together[k], 1e-5) >= checked[-1], f"lr {lrs[k]}"
    assert max(checked) >= 100, checked  # not vacuous: the stable lr is compared over most of the run


def test_divergence_on_the_device_stops_the_same_models_at_the_same_steps_as_on_the_cpu():
    """Losses stay on the device and reach the host in blocks; a model that diverges mid-block must still
    stop at its step, frozen at the weights it diverged with, while the others go on."""
    cfg = make_config(**SINE, **{"train.dtype": "float64", "train.epochs": 40, "train.eval_every": 3})
    configs = [cfg.model_copy(update={"optimizer": cfg.optimizer.model_copy(update={"lr": lr})}) for lr in (0.05, 3.0, 1e3)]
    cpu, cpu_curves = trained_curves(configs, "cpu")
    dev, dev_curves = trained_curves(configs, DEVICE)
    assert dev.diverged_at == cpu.diverged_at and cpu.diverged_at[0] is None and None not in cpu.diverged_at[1:]
    for a, b in zip(dev_curves, cpu_curves):
        assert a == pytest.approx(b, rel=1e-9)
    assert torch.allclose(dev.model.flat.detach().cpu(), cpu.model.flat.detach(), rtol=1e-9, atol=1e-12)


def test_dropout_masks_on_the_device_are_the_same_batched_or_alone():
    model = [{"Linear": [2, 16]}, "Tanh", {"Dropout": [0.3]}, {"Linear": [16, 2]}]
    configs = [make_config(**{"model": model, "seed": seed, "optimizer.lr": lr, "train.dtype": "float64",
                              "train.batch_size": 24, "train.epochs": 4}) for seed in (0, 1) for lr in (0.1, 0.2)]
    _, batched = trained_curves(configs, DEVICE)
    for cfg, curve in zip(configs, batched):
        assert curve == pytest.approx(trained_curves([cfg], DEVICE)[1][0], rel=1e-9)
    assert batched[0] != batched[2]  # another seed, other masks


def test_sharpness_on_the_device_is_the_cpus_to_the_power_iterations_tolerance():
    configs = [make_config(**{"optimizer.lr": lr, "train.dtype": "float64", "train.sharpness_every": 5,
                              "train.batch_size": 24, "train.epochs": 4}) for lr in (0.01, 0.3)]

    def sharpness(device):
        trainer = GroupTrainer(configs, [load_data(c, torch.float64) for c in configs], torch.device(device))
        return [v for rec in trainer.run() if "sharpness" in rec.extra for v in rec.extra["sharpness"]]

    cpu, dev = sharpness("cpu"), sharpness(DEVICE)
    assert len(cpu) == len(dev) > 4 and all(v > 0 for v in cpu)
    assert dev == pytest.approx(cpu, rel=3e-3)  # the start vector comes from the device's own RNG


# lr multipliers per optimizer (found on the CPU, float64): one model that lives, one that the doubling lr
# makes diverge mid-run, after the capture and off a 32-step block boundary (steps 23-54), one at once
GRAPH_CASES = {"sgd-nesterov": (0.05, 2), "adam-amsgrad": (1, 16), "adamw": (1, 8), "rmsprop-centered": (0.25, 2)}


@pytest.mark.parametrize("opt", GRAPH_CASES)
@pytest.mark.parametrize("data", ["sine-mse", "moons-ce"])
def test_steps_replayed_from_a_cuda_graph_train_as_the_eager_steps_do(opt, data, monkeypatch):
    """Full-batch steps on a GPU are captured once and replayed (engine/graphs.py): with a schedule that
    changes the lr, clipping, validation and sharpness between steps (validation every 3 steps churns the
    loss's label cache), a model diverging at once and one mid-run, every record and the final weights
    are those of the eager steps (GDLAB_CUDA_GRAPHS=0)."""
    if not DEVICE.startswith("cuda"):
        pytest.skip("CUDA graphs are CUDA's")
    common = {"optimizer": OPTIMIZERS[opt], "train.dtype": "float64", "train.epochs": 70, "train.eval_every": 3,
              "train.grad_clip": 5.0, "train.sharpness_every": 20, "train.diverge_factor": 10,
              "scheduler": {"name": "StepLR", "step_size": 10, "gamma": 2.0, "interval": "step"}}
    cfg = make_config(**(SINE if data == "sine-mse" else {}), **common)
    lr, (live, mid) = cfg.optimizer.lr, GRAPH_CASES[opt]
    configs = [cfg.model_copy(update={"optimizer": cfg.optimizer.model_copy(update={"lr": x})}) for x in (live * lr, mid * lr, 1e4)]
    monkeypatch.setenv("GDLAB_CUDA_GRAPHS", "0")
    eager = GroupTrainer(configs, [load_data(c, torch.float64) for c in configs], torch.device(DEVICE))
    want = _flat_records(eager)
    monkeypatch.delenv("GDLAB_CUDA_GRAPHS")
    graphed = GroupTrainer(configs, [load_data(c, torch.float64) for c in configs], torch.device(DEVICE))
    got = _flat_records(graphed)
    assert eager.graph is None and graphed.graph is not None
    assert graphed.graph.status == "replayed", graphed.graph.status  # says why a capture failed
    assert got == pytest.approx(want, rel=1e-12, abs=1e-300, nan_ok=True)
    assert graphed.diverged_at == eager.diverged_at and eager.diverged_at[0] is None and eager.diverged_at[2] is not None
    if data == "sine-mse":  # where the multipliers were found
        assert 4 < eager.diverged_at[1] < 70, eager.diverged_at
    assert graphed.optimizer.step_count == eager.optimizer.step_count == 70
    assert torch.allclose(graphed.model.flat, eager.model.flat, rtol=1e-12, atol=0)


def _flat_records(trainer: GroupTrainer) -> list[float]:
    """Every logged value of a run as one list of floats (nan for a blank), the step first."""
    out: list[float] = []
    for rec in trainer.run():
        for values in (rec.emit, rec.lr, rec.train_loss, rec.grad_norm, rec.val_loss or [], rec.extra.get("sharpness", [])):
            out += [float("nan") if v is None else float(v) for v in values]
        out.append(rec.step)
    return out


# ---------------------------------------------------------------- the commands, on the device
FOLDERS = [("cpu", "cpu"), ("dev", DEVICE)]


def _moons(*extra: str) -> list[str]:
    return [str(ROOT / "configs" / "moons.yaml"), "train.dtype=float64", "train.epochs=null", "train.steps=60",
            "train.eval_every=10", *extra]


def test_gdlab_train_on_the_device_writes_the_cpu_runs_files(tmp_path):
    for folder, device in FOLDERS:
        result = invoke("train", *_moons(f"train.device={device}"), "--run-dir", tmp_path / folder, "-q")
        assert result.exit_code == 0, result.output
    cpu, dev = (pd.read_csv(tmp_path / d / "metrics.csv") for d in ("cpu", "dev"))
    assert list(dev.step) == list(cpu.step) == list(range(1, 61))
    for column in ("train_loss", "grad_norm", "val_loss", "train_accuracy", "val_accuracy"):
        assert list(dev[column].fillna(-1)) == pytest.approx(list(cpu[column].fillna(-1)), rel=1e-9), column
    weights = torch.load(tmp_path / "dev" / "model.pt", weights_only=True)  # no map_location needed
    assert all(t.device.type == "cpu" for t in weights.values())
    summary = json.loads((tmp_path / "dev" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["device"].startswith(DEVICE.split(":")[0])
    # full batch on a GPU: every step after the warm-up replayed from one CUDA graph (engine/graphs.py)
    assert summary.get("cuda_graph") == ("replayed" if DEVICE.startswith("cuda") else None)


def test_gdlab_sweep_on_the_device_ranks_and_records_what_the_cpu_sweep_does(tmp_path):
    for folder, device in FOLDERS:
        result = invoke("sweep", *_moons(f"train.device={device}", "train.diverge_factor=10"),
                        "optimizer.lr=0.01,0.3,1e4", "seed=0,1", "--run-dir", tmp_path / folder)
        assert result.exit_code == 0, result.output  # diverged is a result, not a failure
        if folder == "dev" and DEVICE.startswith("cuda"):  # full batch on a GPU: one graph, replayed
            assert "without a CUDA graph" not in result.stderr, result.stderr
    cpu, dev = (pd.read_csv(tmp_path / d / "sweep.csv") for d in ("cpu", "dev"))
    assert list(dev.status) == list(cpu.status) and list(cpu.status).count("diverged") == 2
    assert list(dev.diverged_at_step.fillna(0)) == list(cpu.diverged_at_step.fillna(0))
    assert list(dev.init_hash) == list(cpu.init_hash)
    for column in ("final_train_loss", "best_val_loss"):
        assert list(dev[column].fillna(-1)) == pytest.approx(list(cpu[column].fillna(-1)), rel=1e-9), column


@pytest.mark.parametrize("groups", [["optimizer.name=SGD"], ["optimizer.name=SGD,Adam"]])
def test_a_pruned_sweep_on_the_device_stops_what_the_cpu_sweep_stops(tmp_path, groups):
    """--prune halving on an accelerator (one group; SGD and Adam, two groups meeting at the rungs from their
    threads, each capturing its own CUDA graph): the CPU's statuses, rungs and numbers."""
    for folder, device in FOLDERS:
        result = invoke("sweep", *_moons(f"train.device={device}"), "optimizer.lr=0.01,0.03,0.1,0.3,1", *groups,
                        "seed=0,1", "--prune", "halving", "--run-dir", tmp_path / folder, "-q")
        assert result.exit_code == 0, result.output
    cpu, dev = (pd.read_csv(tmp_path / d / "sweep.csv") for d in ("cpu", "dev"))
    assert list(dev.status) == list(cpu.status) and "pruned" in set(cpu.status)
    assert list(dev.pruned_at_step.fillna(0)) == list(cpu.pruned_at_step.fillna(0))
    for column in ("final_train_loss", "best_val_loss", "steps"):
        assert list(dev[column].fillna(-1)) == pytest.approx(list(cpu[column].fillna(-1)), rel=1e-9), column


def test_best_weights_kept_on_the_device_are_the_cpus(tmp_path):
    """train.restore_best_weights on an accelerator copies masked rows on the device, with no host sync."""
    for folder, device in FOLDERS:
        result = invoke("sweep", *_moons(f"train.device={device}", "train.restore_best_weights=true"),
                        "optimizer.lr=0.01,0.3,1", "--run-dir", tmp_path / folder)
        assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "cpu" / "sweep.csv")
    steps = []
    for run in table.run_dir:
        cpu, dev = (json.loads((tmp_path / d / run / "summary.json").read_text()) for d in ("cpu", "dev"))
        assert dev["restored_best_from_step"] == cpu["restored_best_from_step"], run
        a, b = (torch.load(tmp_path / d / run / "model.pt", weights_only=True) for d in ("cpu", "dev"))
        assert all(torch.allclose(a[k], b[k], rtol=1e-9, atol=1e-12) for k in a), run
        steps.append(cpu["restored_best_from_step"])
    assert len(set(steps)) > 1  # the models' best came at different steps


def test_lr_find_on_the_device_walks_the_cpus_curve(tmp_path):
    for folder, device in FOLDERS:
        result = invoke("lr-find", *_moons(f"train.device={device}"), "--run-dir", tmp_path / folder)
        assert result.exit_code == 0, result.output
    cpu, dev = (pd.read_csv(tmp_path / d / "lr_find.csv") for d in ("cpu", "dev"))
    assert len(dev) == len(cpu) > 10
    assert list(dev.lr) == list(cpu.lr)
    assert list(dev.loss) == pytest.approx(list(cpu.loss), rel=1e-6)


@pytest.mark.parametrize("full_batch", [False, True], ids=["mini-batches-dropout", "full-batch"])
def test_a_run_interrupted_on_the_device_resumes_to_the_uninterrupted_run(tmp_path, full_batch):
    """Checkpoints hold device tensors and load onto the CPU first: everything must come back to the device
    (the divergence limit once did not), dropout's generators go on where they stopped, and a resumed
    full-batch run (replayed from a CUDA graph) captures again and goes on with Adam's step count."""
    import yaml

    cfg = resume_config(tmp_path, epochs=40)
    raw = yaml.safe_load(cfg.read_text())
    raw["train"]["device"] = DEVICE
    if full_batch:
        raw["model"] = [{"Linear": [2, 16]}, "Tanh", {"Linear": [16, 2]}]
        raw["train"].update(epochs=3000, batch_size=None)
    cfg.write_text(yaml.safe_dump(raw))
    assert invoke("train", cfg, "--run-dir", tmp_path / "whole", "-q").exit_code == 0
    proc = train_until_first_checkpoint(cfg, tmp_path / "cut")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 130, proc.returncode
    assert json.loads((tmp_path / "cut" / "summary.json").read_text())["status"] == "interrupted"
    result = invoke("train", "--resume", tmp_path / "cut", "-q")
    assert result.exit_code == 0, result.output
    if not full_batch:
        assert_same_run(tmp_path / "whole", tmp_path / "cut")
        return
    # eager and replayed steps run the same kernels, but cuBLAS may pick another algorithm on the capture stream
    a, b = (pd.read_csv(tmp_path / d / "metrics.csv").drop(columns="wall_s") for d in ("whole", "cut"))
    assert list(b.step) == list(range(1, 3001))
    pd.testing.assert_frame_equal(a, b, rtol=1e-6)
    wa, wb = (torch.load(tmp_path / d / "model.pt", weights_only=True) for d in ("whole", "cut"))
    assert all(torch.allclose(wa[k], wb[k], rtol=1e-6, atol=1e-7) for k in wa)


@pytest.mark.parametrize("extra", [
    ("scheduler={name: OneCycleLR, cycle_momentum: true}", "optimizer.momentum=0.9"),
    ("scheduler={name: ReduceLROnPlateau, patience: 1, factor: 0.5}",),
    ("train.early_stop_patience=2",),
])
def test_schedules_that_move_momentum_or_watch_val_loss_on_the_device_are_the_cpus(tmp_path, extra):
    """A cycled momentum is copied into the captured graph's column in place; a plateau schedule and early
    stopping read each model's val_loss: on the device, lrs, losses and stop steps are the CPU's."""
    for folder, device in FOLDERS:
        result = invoke("sweep", *_moons(f"train.device={device}", *extra), "optimizer.lr=0.05,0.5,3",
                        "--run-dir", tmp_path / folder)
        assert result.exit_code == 0, result.output
    cpu, dev = (pd.read_csv(tmp_path / d / "sweep.csv") for d in ("cpu", "dev"))
    assert list(dev.status) == list(cpu.status)
    assert list(dev.stopped_early_at_step.fillna(0)) == list(cpu.stopped_early_at_step.fillna(0))
    for run in cpu.run_dir:
        a, b = (pd.read_csv(tmp_path / d / run / "metrics.csv") for d in ("cpu", "dev"))
        assert list(b.step) == list(a.step), run
        for column in ("lr", "train_loss", "val_loss"):
            assert list(b[column].fillna(-1)) == pytest.approx(list(a[column].fillna(-1)), rel=1e-9), (run, column)


def test_a_compacted_group_on_the_device_matches_the_full_group(monkeypatch):
    """Compaction (engine/compact.py) on the device: mini-batch steps run eagerly there and compact, a full
    batch is captured as a CUDA graph and does not; either way every model's rows and weights equal the
    uncompacted group's. On a CPU (GDLAB_TEST_DEVICE=cpu) the losses are still read in blocks."""
    import gdlab.engine.compact as compact
    from tests.test_compact import group, results, rows

    configs = group({"name": "SGD", "lr": 0.1, "momentum": 0.9})
    data = [load_data(configs[0], torch.float64)] * len(configs)
    out = []
    for enabled in (False, True):
        monkeypatch.setattr(compact, "ENABLED", enabled)
        trainer = GroupTrainer(configs, data, torch.device(DEVICE), sync_every=None if DEVICE != "cpu" else 8)
        out.append((rows(trainer), results(trainer), trainer))
    (rows_a, res_a, _), (rows_b, res_b, b) = out
    assert b.graph is not None or b.compaction.history, "mini-batches on the device should have compacted"
    assert rows_a == rows_b and res_a == res_b
