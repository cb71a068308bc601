"""Every optimizer option and every training feature that touches the update, batched: K >= 3 variants that
differ in per-model scalars (the lr, and the option itself where it may differ per model) trained as one
stacked group in float64, each curve checked step by step against a plain torch.optim / torch.nn loop of
that variant alone; and what torch.optim would refuse, refused by `gdlab validate`."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gdlab.data import load_data
from gdlab.model import build_sequential
from tests.helpers import invoke, make_config, one_error_line, trained_curves

STEPS = 8
BASE = {"data": {"name": "moons", "n_samples": 48, "noise": 0.2, "val_fraction": 0.25},
        "train.dtype": "float64", "train.epochs": None, "train.steps": STEPS, "train.batch_size": 12}


def _scheduler(cfg, opt, total_steps: int, steps_per_epoch: int):
    """torch's scheduler for the config, built from torch's documented arguments (warmup: LinearLR, then SequentialLR)."""
    s = cfg.scheduler
    if s is None:
        return None
    sched = torch.optim.lr_scheduler
    args = s.model_dump(exclude={"name", "interval", "warmup", "warmup_start_factor"})
    if s.name == "ReduceLROnPlateau":
        return sched.ReduceLROnPlateau(opt, **args)
    intervals = total_steps if s.interval == "step" else -(-total_steps // steps_per_epoch)
    if s.name == "CosineAnnealingLR" and args["T_max"] is None:
        args["T_max"] = intervals - s.warmup
    if s.name == "OneCycleLR":
        args.update(max_lr=cfg.optimizer.lr, total_steps=intervals)
    main = getattr(sched, s.name)(opt, **args)
    if not s.warmup:
        return main
    ramp = sched.LinearLR(opt, start_factor=s.warmup_start_factor, end_factor=1.0, total_iters=s.warmup)
    return sched.SequentialLR(opt, [ramp, main], milestones=[s.warmup])


def _loss_fn(cfg):
    options = cfg.loss.model_dump(exclude={"name"})
    for key in ("weight", "pos_weight"):
        if options.get(key) is not None:
            options[key] = torch.tensor(options[key], dtype=torch.float64)
    return getattr(nn, cfg.loss.name)(**{k: v for k, v in options.items() if v is not None})


def torch_curve(cfg) -> list[float]:
    """The train loss at every step of one variant trained by a plain torch loop: torch.optim's optimizer and
    scheduler, nn's loss, clip_grad_norm_, micro-batches accumulated by size, rows reshuffled each epoch."""
    data = load_data(cfg, torch.float64)
    torch.manual_seed(cfg.seed)
    net = build_sequential(cfg).to(torch.float64)
    torch.manual_seed(cfg.seed)  # dropout masks follow the seed once the weights are drawn
    o = cfg.optimizer.model_dump()
    name = o.pop("name")
    if "betas" in o:
        o["betas"] = tuple(o["betas"])
    opt = torch.optim.SGD(net.parameters(), **o) if name == "GD" else getattr(torch.optim, name)(net.parameters(), **o)
    loss_fn = _loss_fn(cfg)
    x, y, n = data.x_train, data.y_train, len(data.x_train)
    t = cfg.train
    micro = min(t.batch_size or -(-n // t.accumulate), n)
    bounds = [(a, min(a + micro, n)) for a in range(0, n, micro)]
    epoch_steps = [bounds[i : i + t.accumulate] for i in range(0, len(bounds), t.accumulate)]
    sched = _scheduler(cfg, opt, STEPS, len(epoch_steps))
    plateau = isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau)
    gen = torch.Generator().manual_seed(cfg.seed)
    curve: list[float] = []
    while len(curve) < STEPS:
        order = torch.randperm(n, generator=gen) if t.shuffle and micro < n else torch.arange(n)
        for ranges in epoch_steps:
            if len(curve) == STEPS:
                break
            opt.zero_grad()
            rows = [order[a:b] for a, b in ranges]
            if getattr(loss_fn, "weight", None) is not None and len(rows) > 1:  # torch's weighted mean over the whole step
                total = sum(loss_fn.weight[y[r]].sum() for r in rows)
                shares = [loss_fn.weight[y[r]].sum() / total for r in rows]
            else:
                shares = [len(r) / sum(map(len, rows)) for r in rows]
            step_loss = 0.0
            for r, share in zip(rows, shares):
                loss = loss_fn(net(x[r]), y[r]) * share
                loss.backward()
                step_loss += loss.item()
            if t.grad_clip:
                nn.utils.clip_grad_norm_(net.parameters(), t.grad_clip)
            opt.step()
            curve.append(step_loss)
            if sched is not None and plateau and len(curve) % (t.eval_every or len(epoch_steps)) == 0:
                net.eval()
                with torch.no_grad():
                    sched.step(loss_fn(net(data.x_val), data.y_val).item())
                net.train()
            elif sched is not None and not plateau and (cfg.scheduler.interval == "step" or ranges is epoch_steps[-1]):
                if cfg.scheduler.name != "OneCycleLR" or len(curve) < STEPS:  # torch refuses a step past its total
                    sched.step()
    return curve


def variants(changes: dict, per_model: list[dict]) -> list:
    return [make_config(**{**BASE, **changes, **each}) for each in per_model]


def assert_each_matches_torch(configs, ended: tuple[int, ...] = ()):
    """Each model's curve is its torch loop's, all STEPS of it, or (the models in `ended`: diverged or stopped
    early) up to the step where it ended."""
    trainer, curves = trained_curves(configs)
    for k, (cfg, curve) in enumerate(zip(configs, curves)):
        expected = torch_curve(cfg)
        assert len(expected) == STEPS and (len(curve) < STEPS if k in ended else len(curve) == STEPS), (k, len(curve))
        for step, (a, b) in enumerate(zip(curve, expected), 1):
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12), f"model {k} step {step}: {cfg.optimizer}"
    return trainer


def opt(name: str, lrs, **per_model):
    """K optimizer configs: lr and each option in `per_model` take one value per model, the rest shared."""
    shared = {k: v for k, v in per_model.items() if not isinstance(v, list) or k == "betas" and not isinstance(v[0], list)}
    varied = {k: v for k, v in per_model.items() if k not in shared}
    return [{"optimizer": {"name": name, "lr": lr, **shared, **{k: v[i] for k, v in varied.items()}}}
            for i, lr in enumerate(lrs)]


OPTIMIZER_CASES = {
    "gd": opt("GD", [0.1, 0.3, 1.0]),
    "sgd": opt("SGD", [0.1, 0.3, 1.0]),
    "sgd-momentum-mixed-zero": opt("SGD", [0.05, 0.1, 0.2], momentum=[0.0, 0.5, 0.9]),
    "sgd-dampening": opt("SGD", [0.05, 0.1, 0.2], momentum=0.9, dampening=[0.0, 0.3, 0.7]),
    "sgd-dampening-no-momentum": opt("SGD", [0.05, 0.1, 0.2], momentum=[0.0, 0.0, 0.9], dampening=[0.5, 0.0, 0.5]),
    "sgd-nesterov": opt("SGD", [0.05, 0.1, 0.2], momentum=[0.5, 0.9, 0.99], nesterov=True),
    "sgd-weight-decay": opt("SGD", [0.05, 0.1, 0.2], momentum=[0.0, 0.9, 0.9], weight_decay=[0.0, 0.01, 0.3]),
    "sgd-nesterov-weight-decay": opt("SGD", [0.05, 0.1, 0.2], momentum=0.9, nesterov=True, weight_decay=[0.0, 0.1, 0.3]),
    "adam-betas": opt("Adam", [0.01, 0.03, 0.05], betas=[[0.9, 0.999], [0.8, 0.99], [0.0, 0.5]]),
    "adam-eps": opt("Adam", [0.01, 0.03, 0.05], eps=[1e-8, 1e-3, 0.5]),
    "adam-weight-decay": opt("Adam", [0.01, 0.03, 0.05], weight_decay=[0.0, 0.01, 0.5]),
    "adam-amsgrad": opt("Adam", [0.01, 0.03, 0.05], amsgrad=True, betas=[[0.9, 0.999], [0.5, 0.9], [0.0, 0.0]],
                        weight_decay=[0.0, 0.1, 0.0]),
    "adamw-weight-decay": opt("AdamW", [0.01, 0.03, 0.05], weight_decay=[0.0, 0.01, 0.5], eps=[1e-8, 1e-6, 1e-2]),
    "adamw-amsgrad": opt("AdamW", [0.01, 0.03, 0.05], amsgrad=True, betas=[[0.9, 0.999], [0.8, 0.9], [0.5, 0.5]]),
    "rmsprop-alpha": opt("RMSprop", [0.005, 0.01, 0.03], alpha=[0.99, 0.9, 0.0]),
    "rmsprop-momentum-mixed-zero": opt("RMSprop", [0.005, 0.01, 0.03], momentum=[0.0, 0.5, 0.9], eps=[1e-8, 1e-4, 0.1]),
    "rmsprop-centered": opt("RMSprop", [0.005, 0.01, 0.03], centered=True, alpha=[0.99, 0.9, 0.5], momentum=[0.0, 0.0, 0.5]),
    "rmsprop-weight-decay": opt("RMSprop", [0.005, 0.01, 0.03], weight_decay=[0.0, 0.01, 0.5], momentum=0.3),
}


@pytest.mark.parametrize("per_model", OPTIMIZER_CASES.values(), ids=OPTIMIZER_CASES.keys())
def test_every_optimizer_option_batched_is_torch_optim_alone(per_model):
    assert_each_matches_torch(variants({}, per_model))


MOMENTUM = opt("SGD", [0.05, 0.1, 0.2], momentum=[0.0, 0.5, 0.9])
ADAM = opt("Adam", [0.01, 0.02, 0.05], betas=[[0.9, 0.999], [0.8, 0.99], [0.5, 0.9]])
FEATURE_CASES = {
    "grad-clip": ({"train.grad_clip": 0.05}, MOMENTUM),
    "grad-clip-adam": ({"train.grad_clip": 0.05}, ADAM),
    "accumulate-shuffled-seeds": ({"train.batch_size": 5, "train.accumulate": 3},
                                  [{**o, "seed": s} for o, s in zip(MOMENTUM, (0, 1, 0))]),
    "full-batch-accumulate": ({"train.batch_size": None, "train.accumulate": 4}, ADAM),
    "no-shuffle": ({"train.shuffle": False, "train.batch_size": 10}, MOMENTUM),
    "dropout": ({"model": [{"Linear": [2, 8]}, "Tanh", {"Dropout": [0.3]}, {"Linear": [8, 2]}]},
                [{**o, "seed": s} for o, s in zip(ADAM, (0, 1, 0))]),
    "batchnorm-layernorm": ({"model": [{"Linear": [2, 8]}, {"BatchNorm1d": [8]}, "ReLU", {"Linear": [8, 8]},
                                       {"LayerNorm": [8]}, "Tanh", {"Linear": [8, 2]}]}, MOMENTUM),
    "step-lr-per-step": ({"scheduler": {"name": "StepLR", "step_size": 3, "gamma": 0.5, "interval": "step"}}, ADAM),
    "step-lr-warmup-epochs": ({"scheduler": {"name": "StepLR", "step_size": 1, "gamma": 0.5, "warmup": 2}}, MOMENTUM),
    "cosine-whole-run": ({"scheduler": {"name": "CosineAnnealingLR", "interval": "step", "eta_min": 0.001}}, MOMENTUM),
    "cosine-warmup": ({"scheduler": {"name": "CosineAnnealingLR", "interval": "step", "warmup": 3,
                                     "warmup_start_factor": 0.2}}, ADAM),
    "exponential": ({"scheduler": {"name": "ExponentialLR", "gamma": 0.7, "interval": "step"}}, MOMENTUM),
    "linear-lr": ({"scheduler": {"name": "LinearLR", "start_factor": 0.25, "total_iters": 6, "interval": "step"}}, ADAM),
    "plateau": ({"scheduler": {"name": "ReduceLROnPlateau", "patience": 0, "factor": 0.5, "threshold": 0.5},
                 "train.eval_every": 2}, MOMENTUM),
    "one-cycle": ({"scheduler": {"name": "OneCycleLR"}}, ADAM),
    "one-cycle-momentum": ({"scheduler": {"name": "OneCycleLR", "cycle_momentum": True, "three_phase": True}},
                           opt("SGD", [0.05, 0.1, 0.2], momentum=0.9, nesterov=True)),
    "one-cycle-betas": ({"scheduler": {"name": "OneCycleLR", "cycle_momentum": True, "anneal_strategy": "linear"}}, ADAM),
    "label-smoothing-weights": ({"loss": {"name": "CrossEntropyLoss", "label_smoothing": 0.2, "weight": [1.0, 3.0]}},
                                MOMENTUM),
    "weights-accumulated": ({"loss": {"name": "CrossEntropyLoss", "weight": [0.5, 2.0]}, "train.accumulate": 2,
                             "train.batch_size": 7}, ADAM),
    "bce-pos-weight": ({"loss": {"name": "BCEWithLogitsLoss", "pos_weight": 2.5},
                        "model": [{"Linear": [2, 8]}, "Tanh", {"Linear": [8, 1]}]}, MOMENTUM),
    "huber-delta": ({"loss": {"name": "HuberLoss", "delta": 0.3}, "data": {"name": "sine", "n_samples": 40},
                     "model": [{"Linear": [1, 8]}, "Tanh", {"Linear": [8, 1]}]}, ADAM),
    "mse-l1": ({"loss": "L1Loss", "data": {"name": "linear", "n_samples": 40, "n_features": 3},
                "model": [{"Linear": [3, 1]}]}, MOMENTUM),
}


@pytest.mark.parametrize("changes, per_model", FEATURE_CASES.values(), ids=FEATURE_CASES.keys())
def test_every_training_feature_batched_is_a_torch_loop_alone(changes, per_model):
    assert_each_matches_torch(variants(changes, per_model))


@pytest.mark.parametrize("per_model", [opt("SGD", [0.05, 50.0, 0.1, 80.0], momentum=[0.9, 0.9, 0.0, 0.5], dampening=[0.1, 0, 0.3, 0]),
                                       opt("Adam", [0.01, 30.0, 0.05, 40.0], betas=[[0.9, 0.999], [0.8, 0.9], [0.5, 0.99], [0.0, 0.0]]),
                                       opt("RMSprop", [0.005, 20.0, 0.01, 30.0], momentum=[0.9, 0.0, 0.5, 0.5], alpha=[0.9, 0.9, 0.5, 0.0])],
                         ids=["sgd", "adam", "rmsprop"])
def test_models_left_training_once_others_diverged_are_still_torch_optim_alone(per_model):
    """Two of four models diverge early: the group then cuts its stack (optimizer state and per-model
    hyperparameters too) down to the other two, whose curves must go on exactly as alone."""
    changes = {"loss": "MSELoss", "data": {"name": "sine", "n_samples": 40},
               "model": [{"Linear": [1, 8]}, "Tanh", {"Linear": [8, 1]}], "train.diverge_factor": 10.0}
    trainer = assert_each_matches_torch(variants(changes, per_model), ended=(1, 3))
    assert trainer.compaction.history, "the stack was never cut: the case tests nothing new"


def test_models_left_training_once_others_stopped_early_are_still_torch_optim_alone():
    configs = variants({"train.early_stop_patience": 1, "train.eval_every": 1, "train.batch_size": None},
                       opt("SGD", [0.05, 0.1, 4.0, 0.2], momentum=[0.5, 0.9, 0.9, 0.0]))
    assert_each_matches_torch(configs, ended=(2,))


REFUSED = {  # what torch.optim refuses (or divides by), refused by gdlab validate naming the key
    "nesterov-dampening": ("{name: SGD, lr: 0.1, momentum: 0.9, nesterov: true, dampening: 0.1}", "nesterov: true needs"),
    "nesterov-no-momentum": ("{name: SGD, lr: 0.1, nesterov: true}", "nesterov: true needs momentum > 0"),
    "negative-momentum": ("{name: RMSprop, lr: 0.1, momentum: -0.5}", "optimizer.momentum"),
    "negative-weight-decay": ("{name: SGD, lr: 0.1, weight_decay: -1}", "optimizer.weight_decay"),
    "negative-eps": ("{name: Adam, lr: 0.1, eps: -1.0e-8}", "optimizer.eps"),
    "nan-eps": ("{name: AdamW, lr: 0.1, eps: .nan}", "optimizer.eps"),
    "beta1-negative": ("{name: Adam, lr: 0.1, betas: [-0.1, 0.9]}", "optimizer.betas[0]"),
    "beta2-one": ("{name: AdamW, lr: 0.1, betas: [0.9, 1.0]}", "optimizer.betas[1]"),
    "three-betas": ("{name: Adam, lr: 0.1, betas: [0.9, 0.99, 0.5]}", "optimizer.betas"),
    "negative-alpha": ("{name: RMSprop, lr: 0.1, alpha: -0.5}", "optimizer.alpha"),
    "negative-lr": ("{name: Adam, lr: -0.1}", "optimizer.lr"),
    "option-of-another-kind": ("{name: Adam, lr: 0.1, momentum: 0.9}", "optimizer.momentum: unknown key"),
}


@pytest.mark.parametrize("optimizer, key", REFUSED.values(), ids=REFUSED.keys())
def test_what_torch_optim_refuses_validate_refuses_in_one_line(tmp_path, optimizer, key):
    path = tmp_path / "c.yaml"
    path.write_text("data: moons\nmodel: [{Linear: [2, 2]}]\nloss: CrossEntropyLoss\n"
                    f"optimizer: {optimizer}\ntrain: {{steps: 1}}\n")
    one_error_line(invoke("validate", path, "--no-data"), 2, "c.yaml:4:", key)
