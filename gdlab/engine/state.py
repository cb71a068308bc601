"""A trainer's complete state as plain tensors and numbers (loadable with weights_only=True), so a
resumed run continues bit for bit: weights, optimizer moments, schedule, data order, RNG streams."""

from __future__ import annotations

import random

import numpy as np
import torch

from gdlab.engine.loop import GroupTrainer

FORMAT = 1


def trainer_state(tr: GroupTrainer) -> dict:
    """Everything needed to continue `tr` from its current step."""
    return {
        "format": FORMAT,
        "config": tr.configs[0].resolved(),  # what the run was; a resume refuses an edited config.yaml
        "step": tr.step,
        "log_segments": [list(seg) for seg in tr.log_segments],  # which log_every wrote which rows
        "epoch_pos": tr.epoch_pos,
        "epoch_order": tr.epoch_order,
        "elapsed": tr.elapsed,
        "flat": tr.model.flat.detach().clone(),
        "slots": [[s.name, s.offset, list(s.shape)] for s in tr.model.slots],
        "buffers": {k: v.clone() for k, v in tr.model.buffers.items()},
        "optimizer": {"step_count": tr.optimizer.step_count, "state": {k: v.clone() for k, v in tr.optimizer.state.items()}},
        "schedule": tr.schedule.state_dict(),
        "order": tr.order.state(),
        "loss_limit": tr.divergence.limit,
        "diverged_at": list(tr.divergence.at),  # a run killed after its divergence, before summary.json, ended there
        "sharpness_s": tr.sharpness_s,
        "sharpness_unsettled": list(tr.sharpness_unsettled),
        "epoch_means": tr.epoch_means.state(),
        "early_stop": tr.early.state() if tr.early is not None else None,
        "best_weights": tr.best.state() if tr.best is not None else None,  # model.pt's weights at the end
        "dropout_rng": [g.get_state() for g in tr.model.dropout_generators],
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": _numpy_state(),
            "python": _python_state(),
        },
    }


def restore_trainer(tr: GroupTrainer, state: dict) -> None:
    """Load `state` (from `trainer_state`) into a freshly built trainer of the same config."""
    slots = [[s.name, s.offset, list(s.shape)] for s in tr.model.slots]
    if state.get("slots") != slots or tuple(state["flat"].shape) != tuple(tr.model.flat.shape):
        raise ValueError("the checkpoint's model does not match the config's model")
    with torch.no_grad():
        tr.model.flat.copy_(state["flat"].to(tr.model.flat))
    for k, v in state["buffers"].items():
        tr.model.buffers[k].copy_(v)
    tr.optimizer.step_count = state["optimizer"]["step_count"]
    if tr.optimizer.step_tensor is not None:  # the device's copy of the count (on a GPU) follows
        tr.optimizer.count_on_device(tr.model.flat)
    tr.optimizer.state = {k: v.to(tr.model.flat.device) for k, v in state["optimizer"]["state"].items()}
    tr.schedule.load_state_dict(state["schedule"])
    tr.optimizer.set_momentum(tr.schedule.momenta)  # a cycled momentum at the restored step
    tr.order.load_state(state["order"])
    tr.step, tr.epoch_pos, tr.epoch_order = state["step"], state["epoch_pos"], state["epoch_order"]
    tr.elapsed_before = tr.elapsed = state["elapsed"]
    # checkpoints load onto the CPU; the limit is compared with the losses on the trainer's device
    limit = state["loss_limit"]
    tr.divergence.limit = None if limit is None else limit.to(tr.model.flat.device)
    for k, at in enumerate(state.get("diverged_at") or []):  # absent before it was kept
        if at is not None:
            tr.divergence.diverge(k, at)
    tr.sharpness_s = state["sharpness_s"]
    # absent before it was kept: the measurements before the checkpoint then count as settled
    tr.sharpness_unsettled = list(state.get("sharpness_unsettled") or [0] * tr.K)
    if "epoch_means" in state:  # absent before it existed: the resumed epoch's mean then covers its remaining steps
        tr.epoch_means.load_state(state["epoch_means"])
    if tr.early is not None and state.get("early_stop"):  # patience counted since the last improvement goes on
        tr.early.load_state(state["early_stop"])
        # A model stops at the evaluation where its wait reaches the patience, and a run of one ends there, so a
        # checkpoint out of patience was taken at that step (killed before summary.json): it stays stopped there.
        # A larger patience at the resume (check_config_unchanged allows it) trains on, as a fresh run of it would.
        for k, waited in enumerate(tr.early.waited):
            if waited >= tr.early.patience:
                tr.divergence.stop(k, state["step"])
    if tr.best is not None and state.get("best_weights"):  # the best so far may lie before the checkpoint
        tr.best.load_state(state["best_weights"])
    tr.recorded_step = tr.step
    every = (state.get("config") or {}).get("train", {}).get("log_every") or tr.log_every
    tr.log_segments = [list(seg) for seg in state.get("log_segments") or [[1, every]]]
    for g, saved in zip(tr.model.dropout_generators, state.get("dropout_rng", [])):  # absent before they existed
        g.set_state(saved)
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    np.random.set_state(("MT19937", rng["numpy"][0], rng["numpy"][1], rng["numpy"][2], rng["numpy"][3]))
    random.setstate((rng["python"][0], tuple(rng["python"][1]), rng["python"][2]))


def _numpy_state() -> list:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return [torch.from_numpy(keys.copy()), int(pos), int(has_gauss), float(cached)]


def _python_state() -> list:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]
