"""OneCycleLR's `cycle_momentum`: SGD's and RMSprop's momentum, or Adam's beta1, cycled as torch does it,
per model in a batched group, and restored at the step a checkpoint was taken."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gdlab.data import load_data
from gdlab.engine.loop import GroupTrainer
from gdlab.engine.state import restore_trainer, trainer_state
from gdlab.model import build_sequential
from tests.helpers import invoke, make_config, one_error_line, trained_curves

STEPS = 40


def cycled(name: str, lr: float, **optimizer):
    return make_config(**{"optimizer": {"name": name, "lr": lr, **optimizer}, "train.dtype": "float64",
                          "train.epochs": None, "train.steps": STEPS, "data.val_fraction": 0,
                          "scheduler": {"name": "OneCycleLR", "cycle_momentum": True, "base_momentum": 0.8,
                                        "max_momentum": 0.95}})


def torch_losses(cfg) -> tuple[list[float], list[float]]:
    """Full-batch losses of a plain torch loop with torch's OneCycleLR, and the momentum it set at each step."""
    data = load_data(cfg, torch.float64)
    torch.manual_seed(cfg.seed)
    net = build_sequential(cfg).to(torch.float64)
    o = cfg.optimizer.model_dump()
    name = o.pop("name")
    if "betas" in o:
        o["betas"] = tuple(o["betas"])
    opt = getattr(torch.optim, name)(net.parameters(), **o)
    s = cfg.scheduler
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.optimizer.lr, total_steps=STEPS, cycle_momentum=True,
                                                base_momentum=s.base_momentum, max_momentum=s.max_momentum)
    losses, momenta = [], []
    for _ in range(STEPS):
        group = opt.param_groups[0]
        momenta.append(group["betas"][0] if "betas" in group else group["momentum"])
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(data.x_train), data.y_train)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses, momenta


@pytest.mark.parametrize("name, extra", [("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.0, "nesterov": False}),
                                         ("RMSprop", {}), ("Adam", {}), ("AdamW", {"weight_decay": 0.01})])
def test_a_cycled_momentum_follows_torch_in_a_batched_group(name, extra):
    lrs = [0.05, 0.3] if name.startswith("SGD") else [0.005, 0.03]
    configs = [cycled(name, lr, **extra) for lr in lrs]
    _, curves = trained_curves(configs)
    for cfg, curve in zip(configs, curves):
        expected, momenta = torch_losses(cfg)
        assert max(momenta) == pytest.approx(0.95) and min(momenta) == pytest.approx(0.8, abs=2e-3)  # it cycled
        assert curve == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_without_cycling_the_momentum_is_the_configs():
    cfg = cycled("SGD", 0.1, momentum=0.9).model_copy(deep=True)
    cfg.scheduler.cycle_momentum = False
    trainer = GroupTrainer([cfg], [load_data(cfg, torch.float64)], torch.device("cpu"))
    list(trainer.run())
    assert trainer.optimizer.h["momentum"].item() == 0.9 and trainer.schedule.momenta is None


def test_a_resumed_cycle_continues_with_the_momentum_of_its_step():
    cfg = cycled("Adam", 0.02)
    data = [load_data(cfg, torch.float64)]
    whole = [r.train_loss[0] for r in GroupTrainer([cfg], data, torch.device("cpu")).run()]
    first = GroupTrainer([cfg], data, torch.device("cpu"))
    head = [r.train_loss[0] for r in first.run(should_stop=lambda: first.step >= 13)]
    state = trainer_state(first)
    second = GroupTrainer([cfg], data, torch.device("cpu"))
    restore_trainer(second, state)
    assert second.optimizer.h["beta1"].item() == first.optimizer.h["beta1"].item() != 0.95
    tail = [r.train_loss[0] for r in second.run()]
    assert head + tail == whole


def test_gd_cannot_cycle_a_momentum(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: c\ndata: {name: moons, n_samples: 64}\nmodel: [{Linear: [2, 4]}, Tanh, {Linear: [4, 2]}]\n"
                    "loss: CrossEntropyLoss\noptimizer: {name: GD, lr: 0.1}\n"
                    "scheduler: {name: OneCycleLR, cycle_momentum: true}\ntrain: {steps: 5, device: cpu}\n")
    one_error_line(invoke("train", path, "--run-dir", tmp_path / "r"), 2, "c.yaml:6:", "scheduler.cycle_momentum: GD has no "
                   "momentum to cycle")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("axis", ["optimizer.momentum=0.5,0.9",
                                  "optimizer={name: SGD, lr: 0.1, momentum: 0.5},{name: SGD, lr: 0.1, momentum: 0.9}"])
def test_a_momentum_axis_that_the_cycle_replaces_is_refused(tmp_path, axis):
    """Both variants would train alike (the cycle sets the momentum), so the sweep would compare nothing; a
    whole-section axis setting it escaped the check, which looked for optimizer.momentum by name."""
    one_error_line(invoke("sweep", "configs/moons.yaml", "scheduler={name: OneCycleLR, cycle_momentum: true}",
                          axis, "--run-dir", tmp_path / "s"), 2,
                   f"the axis {axis.split('=')[0]} sets the momentum, which scheduler.cycle_momentum replaces in every "
                   "variant; sweep scheduler.max_momentum instead")
    assert not (tmp_path / "s").exists()
    ran = invoke("sweep", "configs/moons.yaml", "scheduler={name: OneCycleLR, cycle_momentum: true}",
                 "scheduler.max_momentum=0.9,0.95", "--dry-run")
    assert ran.exit_code == 0, ran.output


@pytest.mark.parametrize("axis", ["optimizer.betas=[0.9,0.999],[0.5,0.999]", "optimizer.betas.0=0.5,0.9",
                                  "optimizer.betas=[0.9,0.999],[0.5,0.99]"])
def test_a_beta1_axis_that_the_cycle_replaces_is_refused(tmp_path, axis):
    """The cycle sets Adam's beta1 as it sets SGD's momentum: variants that differ there train alike, or differ
    only in beta2 while their labels say beta1 differs too."""
    one_error_line(invoke("sweep", "configs/moons.yaml", "optimizer={name: Adam, lr: 0.01}",
                          "scheduler={name: OneCycleLR, cycle_momentum: true}", axis, "--run-dir", tmp_path / "s"), 2,
                   f"the axis {axis.split('=')[0]} sets beta1, which scheduler.cycle_momentum replaces in every variant")
    assert not (tmp_path / "s").exists()
    kinds = invoke("sweep", "configs/moons.yaml", "scheduler={name: OneCycleLR, cycle_momentum: true}",
                   "optimizer.name=SGD,RMSprop", "--dry-run")  # momentum 0.9 and RMSprop's 0: kinds differ anyway
    assert kinds.exit_code == 0, kinds.output
    beta2 = invoke("sweep", "configs/moons.yaml", "optimizer={name: Adam, lr: 0.01}",
                   "scheduler={name: OneCycleLR, cycle_momentum: true}", "optimizer.betas.1=0.99,0.999", "--dry-run")
    assert beta2.exit_code == 0, beta2.output


@pytest.mark.parametrize("name, extra, low, high", [
    ("SGD", {"momentum": 0.9}, 0.0, 0.95), ("SGD", {"momentum": 0.9, "dampening": 0.3}, 0.0, 0.95),
    ("SGD", {"momentum": 0.9, "nesterov": True}, 0.0, 0.95), ("SGD", {"momentum": 0.9}, 0.9, 0.0),
    ("RMSprop", {}, 0.0, 0.95)])
def test_a_cycled_momentum_of_zero_leaves_the_buffer_alone_as_torch_does(name, extra, low, high):
    """At a step whose momentum is 0 (base_momentum 0 at the peak, or max_momentum 0 at the start) torch's SGD
    and RMSprop neither use nor update the momentum buffer, and SGD starts it at the first step with momentum;
    the batched update must too, or every step after the peak drifts (by 1e-4 to 3e-2 here)."""
    lrs = [0.05, 0.3] if name == "SGD" else [0.005, 0.03]
    configs = [cycled(name, lr, **extra).model_copy(deep=True) for lr in lrs]
    for cfg in configs:
        cfg.scheduler.base_momentum, cfg.scheduler.max_momentum = low, high
    _, curves = trained_curves(configs)
    for cfg, curve in zip(configs, curves):
        expected, momenta = torch_losses(cfg)
        assert 0.0 in momenta and momenta.index(0.0) < STEPS - 1  # momentum 0 at a step, and more after it
        assert curve == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_a_checkpoint_from_before_momentum_started_resumes_as_the_run_that_kept_it():
    """Checkpoints written before `momentum_started` was kept hold a buffer every model started at step 1 (the
    old update always blended it). Resumed just before a step whose momentum is 0 for one model, that buffer
    must still count as started, as in the uninterrupted run: taken as unstarted, it restarts from the raw
    gradient at the next step with momentum."""
    from gdlab.engine.optim import StackedOptimizer

    cfg = cycled("SGD", 0.1, momentum=0.9).optimizer
    momenta = [[0.9, 0.9], [0.5, 0.9], [0.0, 0.5], [0.5, 0.9], [0.9, 0.9]]  # model 0 at 0 on the third step
    grads = torch.randn(len(momenta), 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    lr = torch.full((2, 1), 0.1, dtype=torch.float64)

    def run(forget_at: int | None) -> torch.Tensor:
        p = torch.zeros(2, 3, dtype=torch.float64)
        opt = StackedOptimizer([cfg, cfg], p)
        for i, (m, g) in enumerate(zip(momenta, grads)):
            if i == forget_at:
                del opt.state["momentum_started"]  # as a checkpoint from before it was kept loads
            opt.set_momentum(m)
            opt.step(p, g.clone(), lr)
        return p

    assert torch.equal(run(forget_at=2), run(forget_at=None))
