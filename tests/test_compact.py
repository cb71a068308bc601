"""Compaction (engine/compact.py): a group whose models diverge or stop early goes on computing only the
models still training, with every record, summary value and model.pt of every model exactly as the same
group gives computed in full."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
import yaml

import gdlab.engine.compact as compact
from gdlab.data import load_data
from gdlab.engine.loop import GroupTrainer
from tests.helpers import TINY, invoke, make_config

# ReLU, not Tanh: activations without a ceiling, so large lrs diverge within a few steps
RELU = [{"Linear": [2, 16]}, "ReLU", {"Linear": [16, 16]}, "ReLU", {"Linear": [16, 2]}]
NORMED = [{"Linear": [2, 16]}, {"BatchNorm1d": [16]}, "ReLU", {"Dropout": [0.2]}, {"Linear": [16, 16]}, "ReLU",
          {"Linear": [16, 2]}]
SGD = {"name": "SGD", "lr": 0.1, "momentum": 0.9}
ADAM = {"name": "Adam", "lr": 0.01}
# 9 models: the 5 large lrs diverge within the first steps, some of the others stop early later. They
# alternate, so a survivor's row in the cut stack is not its index; seed 0 (one of 3 data orders) is the
# diverging models' alone, so its stream is dropped and the others' renumbered.
LRS = {"SGD": [1000, 0.02, 300, 0.05, 100, 0.1, 30, 0.3, 10], "Adam": [300, 0.003, 100, 0.01, 30, 0.03, 10, 0.1, 3]}
SEEDS = (0, 1, 0, 2, 0, 1, 0, 2, 0)
BASE = {"model": RELU, "train.batch_size": 24, "train.epochs": 30, "train.dtype": "float64",
        "train.early_stop_patience": 3, "train.early_stop_min_delta": 1e-3}


def group(opt: dict, **changes) -> list:
    return [make_config(**{**BASE, "optimizer": opt, **changes}, **{"optimizer.lr": lr, "seed": seed})
            for lr, seed in zip(LRS[opt["name"]], SEEDS)]


def rows(trainer, shared_data: bool = True) -> list[list[tuple]]:
    """Each model's rows as metrics.csv gets them (repr: exact, NaN included), trained to the end."""
    out: list[list[tuple]] = [[] for _ in range(trainer.K)]
    for rec in trainer.run():
        for k in range(trainer.K):
            if rec.emit[k]:
                values = [rec.lr, rec.train_loss, rec.grad_norm, rec.train_accuracy, rec.val_loss, rec.val_accuracy,
                          *rec.extra.values()]
                out[k].append((rec.step, rec.epoch, *(repr(v[k]) if v is not None else "" for v in values)))
    return out


def results(trainer) -> list[tuple]:
    """What the summaries and model.pt read of each model once the run is over."""
    best = trainer.best.state_dicts(trainer.model) if trainer.best is not None else None
    return [(trainer.status(k), trainer.diverged_at[k], trainer.divergence.stopped[k], trainer.steps_done[k],
             # the summary's final training loss (a diverged model's is its last row's instead)
             repr(trainer.epoch_means.final(k)) if trainer.status(k) != "diverged" else None,
             trainer.best.steps()[k] if best else None,
             {n: t.numpy().tobytes() for n, t in trainer.model.state_dicts([k])[0].items()},
             {n: t.numpy().tobytes() for n, t in best[k].items()} if best else None)
            for k in range(trainer.K)]


def train_twice(monkeypatch, configs, per_model_data: bool = False, sync_every: int | None = None):
    """The group trained in full and compacted: (rows, results, trainer) of each."""
    dtype = torch.float64 if configs[0].train.dtype == "float64" else torch.float32
    out = []
    for enabled in (False, True):
        monkeypatch.setattr(compact, "ENABLED", enabled)
        data = [load_data(c, dtype) for c in configs] if per_model_data else [load_data(configs[0], dtype)] * len(configs)
        trainer = GroupTrainer(configs, data, torch.device("cpu"), sync_every=sync_every)
        out.append((rows(trainer), results(trainer), trainer))
    return out


def assert_same(full, compacted, stopped_early: bool = True, diverged: int = 4):
    """Equal rows and results, and the comparison meant something: the group did compact, models diverged
    and (`stopped_early`) one stopped early while the others trained on."""
    (rows_a, res_a, a), (rows_b, res_b, b) = full, compacted
    assert a.compaction.history == [] and b.compaction.history, b.compaction.history
    assert sum(d is not None for d in a.diverged_at) >= diverged, a.diverged_at
    if stopped_early:
        assert any(s is not None and s < a.plan.total_steps for s in a.divergence.stopped), a.divergence.stopped
    for k in range(a.K):
        assert rows_a[k] == rows_b[k], f"model {k}"
        assert res_a[k] == res_b[k], f"model {k}"
    assert b.model.flat.shape == a.model.flat.shape  # whole again for whatever reads it after the run


@pytest.mark.parametrize("opt", [SGD, ADAM], ids=["sgd-momentum", "adam"])
def test_a_compacted_group_gives_every_model_the_rows_and_weights_of_the_full_group(monkeypatch, opt):
    full, compacted = train_twice(monkeypatch, group(opt, **{"train.restore_best_weights": True, "train.sharpness_every": 7}))
    assert_same(full, compacted)
    assert len(compacted[2].compaction.history) >= 2  # a second cut, after models stopped early in a cut stack


def test_float32_is_bit_for_bit_too(monkeypatch):
    """The batched kernels compute each model's rows on their own: fewer models change no model's bits."""
    assert_same(*train_twice(monkeypatch, group(ADAM, **{"train.dtype": "float32"})))


def test_each_model_its_own_data_and_the_accelerator_path_of_reading_losses_in_blocks(monkeypatch):
    """Per-model datasets (seed-made data) are cut with the rest; with losses read in blocks the host learns
    of a divergence late, and a model it has not heard of yet stays in the stack, masked."""
    assert_same(*train_twice(monkeypatch, group(SGD), per_model_data=True, sync_every=8))


def test_per_model_plateau_schedules_and_a_cycled_momentum_follow_each_model(monkeypatch):
    plateau = {"name": "ReduceLROnPlateau", "factor": 0.5, "patience": 1, "threshold": 0.01}
    full, compacted = train_twice(monkeypatch, group(SGD, **{"scheduler": plateau, "train.eval_every": 2}))
    assert_same(full, compacted)
    assert any(len({r[2] for r in model}) > 1 for model in full[0])  # some live model's lr did fall
    cycle = {"name": "OneCycleLR", "cycle_momentum": True}  # it starts at max_lr / 25: fewer diverge, later
    assert_same(*train_twice(monkeypatch, group(SGD, **{"scheduler": cycle})), diverged=2)


def test_dropout_and_batchnorm_keep_each_models_masks_and_statistics(monkeypatch):
    assert_same(*train_twice(monkeypatch, group(SGD, model=NORMED, **{"train.restore_best_weights": True})))


def test_the_last_survivor_keeps_an_ended_model_beside_it(monkeypatch):
    """A stack of one runs other kernels: the cut keeps two rows, the second an ended model's, frozen."""
    configs = group(SGD, **{"train.early_stop_patience": None})
    configs = configs[::2] + [configs[1]]  # five that diverge, one stable lr
    full, compacted = train_twice(monkeypatch, configs)
    assert_same(full, compacted, stopped_early=False)
    assert compacted[2].compaction.history[-1][1] == compact.MIN_ROWS


def test_the_comparison_catches_a_cut_that_leaves_optimizer_moments_with_the_wrong_models(monkeypatch):
    """The tests above can fail: a compaction that hands the survivors each other's momentum buffers
    (rolled by one row) no longer matches the full group."""
    places = compact._places

    def broken(tr):
        found = places(tr)
        if "moment momentum_buffer" in found and tr.compaction.index is None:
            buf = tr.optimizer.state["momentum_buffer"]
            tr.optimizer.state["momentum_buffer"] = buf.roll(1, dims=0)
        return found

    monkeypatch.setattr(compact, "_places", broken)
    full, compacted = train_twice(monkeypatch, group(SGD))
    with pytest.raises(AssertionError):
        assert_same(full, compacted)


def test_a_ctrl_c_in_the_middle_of_a_cut_leaves_the_stack_as_it_was(monkeypatch):
    """A second Ctrl-C (or an error: out of memory) while the state is being cut: the runner still writes
    every model's summary and model.pt, so the group must hold its K models as the full group stopped there."""
    configs = group(SGD)
    data = [load_data(configs[0], torch.float64)] * len(configs)
    cut, calls = compact._set, []

    def interrupted(*args):  # the third tensor's turn: flat and alive are cut, the others not yet
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        cut(*args)

    monkeypatch.setattr(compact, "_set", interrupted)
    trainer = GroupTrainer(configs, data, torch.device("cpu"))
    with pytest.raises(KeyboardInterrupt):
        for _ in trainer.run():
            pass
    monkeypatch.setattr(compact, "ENABLED", False)
    full = GroupTrainer(configs, data, torch.device("cpu"))
    for _ in full.run(lambda: full.step >= trainer.step):
        pass
    assert trainer.compaction.history == [] and len(calls) >= 3  # it did start a cut
    assert [r[1:] for r in results(trainer)] == [r[1:] for r in results(full)]  # (status: the runner's, on a Ctrl-C)


def sweep_config(tmp_path) -> str:
    raw = json.loads(json.dumps(TINY))
    raw["model"] = RELU
    raw["optimizer"] = {**SGD}
    raw["train"] = {**raw["train"], "epochs": 30, "batch_size": 24, "dtype": "float64", "early_stop_patience": 3,
                    "early_stop_min_delta": 1e-3, "restore_best_weights": True, "snapshot_every": 20}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def run_files(folder) -> dict:
    """Every file of a run folder, as what must not differ: metrics.csv without its clock, summary.json
    without its times, model.pt and snapshots as tensors' bytes."""
    out = {"metrics": pd.read_csv(folder / "metrics.csv").drop(columns="wall_s").to_csv()}
    summary = json.loads((folder / "summary.json").read_text())
    out["summary"] = {k: v for k, v in summary.items() if k not in ("wall_s", "steps_per_s", "started_at", "finished_at")}
    for pt in [folder / "model.pt", *sorted(folder.glob("snapshots/*.pt"))]:  # (a lone run's checkpoint aside)
        out[str(pt.relative_to(folder))] = {n: t.numpy().tobytes() for n, t in torch.load(pt, weights_only=True).items()}
    return out


def test_a_compacted_sweep_writes_the_files_of_a_full_one_and_survivors_match_gdlab_train(tmp_path, monkeypatch):
    cfg = sweep_config(tmp_path)
    cuts = []
    apply = compact.Compaction.apply
    monkeypatch.setattr(compact.Compaction, "apply", lambda self, tr: (cuts.append(tr.step), apply(self, tr)))
    lrs = ",".join(map(str, LRS["SGD"]))
    tables = {}
    for enabled in (False, True):
        monkeypatch.setattr(compact, "ENABLED", enabled)
        swept = invoke("sweep", cfg, f"optimizer.lr={lrs}", "--vectorize", "on", "--run-dir", tmp_path / str(enabled))
        assert swept.exit_code == 0, swept.output
        tables[enabled] = pd.read_csv(tmp_path / str(enabled) / "sweep.csv")
    assert cuts  # it did compact, with compaction on only
    full, cut = tables[False], tables[True]
    assert (full.status == "diverged").sum() >= 4 and (full.stopped_early_at_step > cuts[0]).any()  # in a cut stack
    pd.testing.assert_frame_equal(full.drop(columns=["run_dir", "wall_s", "steps_per_s"], errors="ignore"),
                                  cut.drop(columns=["run_dir", "wall_s", "steps_per_s"], errors="ignore"))
    for a, b in zip(full.run_dir, cut.run_dir):
        assert run_files(tmp_path / "False" / a) == run_files(tmp_path / "True" / b), a
    assert len(list((tmp_path / "True").rglob("snapshots/step_0000060.pt"))) >= 2  # after the cut, too
    # each survivor (one stopped early in the cut stack, one trained to the end) as a run of its own
    ends = set()
    for lr in (0.3, 0.05):
        row = cut[cut["optimizer.lr"] == lr].iloc[0]
        ends.add(pd.isna(row.stopped_early_at_step))
        alone = invoke("train", cfg, f"optimizer.lr={lr}", "--run-dir", tmp_path / f"alone{lr}", "-q")
        assert alone.exit_code == 0, alone.output
        grouped, single = run_files(tmp_path / "True" / row.run_dir), run_files(tmp_path / f"alone{lr}")
        for key in ("status", "stopped_early_at_step", "steps", "restored_best_from_step"):
            assert grouped["summary"][key] == single["summary"][key], (lr, key)
        # alone, a model runs torch's 2-D kernels and fused loss mean: equal to rounding, not bit for bit
        for key in ("final_train_loss", "final_val_loss", "best_val_loss"):
            assert grouped["summary"][key] == pytest.approx(single["summary"][key], rel=1e-9), (lr, key)
    assert ends == {True, False}
