"""Optimizer updates on the stacked [K, P] parameters, written out exactly as torch.optim's
single-tensor code does them, with every hyperparameter a per-model column [K, 1]."""

from __future__ import annotations

import torch

from gdlab.config import OptimizerConfig
from gdlab.config.optim import SCALAR_FIELDS, STRUCTURAL_FIELDS


def _column(values: list[float], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, 1)


class StackedOptimizer:
    """One optimizer for K models. `step(p, g, lr)` updates p in place; lr is a [K, 1] column."""

    def __init__(self, configs: list[OptimizerConfig], flat: torch.Tensor):
        self.name = configs[0].name
        first = configs[0].model_dump()
        self.flags = {k: first.get(k, False) for k in STRUCTURAL_FIELDS[1:]}
        values: dict[str, list[float]] = {}
        for cfg in configs:
            d = cfg.model_dump()
            if "betas" in d:
                d["beta1"], d["beta2"] = d.pop("betas")
            for k in SCALAR_FIELDS:
                if k in d:
                    values.setdefault(k, []).append(float(d[k]))
        self.h = {k: _column(v, flat) for k, v in values.items()}
        # Python-side "any model uses it" flags let the common cases skip whole kernels, as torch.optim does.
        self.uses = {k: any(x != 0 for x in v) for k, v in values.items()}
        self.state: dict[str, torch.Tensor] = {}
        # Set once a schedule cycles the momentum: a model's momentum may then be 0 at one step and not at a
        # later one, and torch leaves its buffer alone at such a step (momentum_buffers below)
        self.cycled = False
        self._rule = getattr(self, f"_{self.name.lower()}")  # _sgd, _adam, ...: looked up once, not every step
        self.step_count = 0
        self.step_tensor: torch.Tensor | None = None  # the count on the device, for a CUDA graph (graphs.py)
        if flat.is_cuda:  # from the start: eager, replayed and resumed steps then compute Adam's corrections alike
            self.count_on_device(flat)

    def count_on_device(self, like: torch.Tensor) -> None:
        """Keep the step count in a device tensor that each step advances: a captured step replays with
        the count it had at capture, so a count that changes (Adam's bias corrections) must be device data."""
        self.step_tensor = torch.tensor(float(self.step_count), dtype=like.dtype, device=like.device)

    def set_momentum(self, values: list[float] | None) -> None:
        """Take each model's momentum (Adam's beta1) from a schedule that cycles it; in place, so a CUDA
        graph's captured column sees it."""
        if values is None:
            return
        from gdlab.engine.schedule import lr_column

        key = "beta1" if "beta1" in self.h else "momentum"  # Adam's and AdamW's betas; SGD's, RMSprop's momentum
        column = self.h[key]  # a pinned, non-blocking copy on a GPU, as the lr's: no sync per step
        column.copy_(lr_column(values, column.dtype, column.device))
        self.uses[key] = True  # a cycle starting at momentum 0.95 uses it, whatever the config said
        self.cycled = True

    def step(self, p: torch.Tensor, g: torch.Tensor, lr: torch.Tensor) -> None:
        """Update p in place. p and g must not require grad (the trainer passes flat.data and flat.grad), so
        autograd records nothing here without a no_grad context (entering one cost ~2 us of a ~200 us step)."""
        self.step_count += 1
        if self.step_tensor is not None:
            self.step_tensor += 1
        self._rule(p, g, lr)

    def _gd(self, p, g, lr):
        # The textbook rule, nothing else: w <- w - lr * dL/dw.
        p.sub_(lr * g)

    def _sgd(self, p, g, lr):
        h, d = self.h, g
        if self.uses["weight_decay"]:
            d = d + h["weight_decay"] * p
        if self.uses["momentum"] and self.cycled:
            d = self._sgd_cycled(d)
        elif self.uses["momentum"]:
            buf = self.state.get("momentum_buffer")
            if buf is None:
                buf = self.state["momentum_buffer"] = d.clone()
            else:
                buf.mul_(h["momentum"]).add_((1 - h["dampening"]) * d)
            if self.flags["nesterov"]:
                d = d + h["momentum"] * buf
            else:  # models with momentum 0 use the raw gradient, as torch does (no dampening applied)
                d = torch.where(h["momentum"] != 0, buf, d)
        p.sub_(lr * d)

    def _sgd_cycled(self, d):
        """SGD's momentum step where a model's momentum may be 0 at this step and not at a later one: as torch,
        such a step uses the raw gradient and leaves the buffer alone, and a buffer starts as a copy of the
        gradient at the model's first step with momentum (`momentum_started` says whose has)."""
        h, on = self.h, self.h["momentum"] != 0
        buf, started = self.state.get("momentum_buffer"), self.state.get("momentum_started")
        if buf is None:
            buf = self.state["momentum_buffer"] = d.clone()
            started = self.state["momentum_started"] = on.clone()
        else:
            if started is None:  # a checkpoint from before it was kept: every buffer was started at step 1
                started = self.state["momentum_started"] = torch.ones_like(on)
            moved = torch.where(started, buf * h["momentum"] + (1 - h["dampening"]) * d, d)
            buf.copy_(torch.where(on, moved, buf))
            started.logical_or_(on)
        return torch.where(on, d + h["momentum"] * buf if self.flags["nesterov"] else buf, d)

    def _adam(self, p, g, lr, decoupled: bool = False):
        h = self.h
        t = self.step_count if self.step_tensor is None else self.step_tensor
        if self.uses["weight_decay"]:
            if decoupled:
                p.mul_(1 - lr * h["weight_decay"])
            else:
                g = g + h["weight_decay"] * p
        if "exp_avg" not in self.state:  # the first step (a test of the state, not of t: no sync in a graph)
            self.state["exp_avg"] = torch.zeros_like(p)
            self.state["exp_avg_sq"] = torch.zeros_like(p)
            if self.flags["amsgrad"]:
                self.state["max_exp_avg_sq"] = torch.zeros_like(p)
        m, v = self.state["exp_avg"], self.state["exp_avg_sq"]
        m.lerp_(g, 1 - h["beta1"])
        v.mul_(h["beta2"]).addcmul_((1 - h["beta2"]) * g, g)
        bias_correction1 = 1 - h["beta1"] ** t
        bias_correction2_sqrt = (1 - h["beta2"] ** t).sqrt()
        if self.flags["amsgrad"]:
            vmax = self.state["max_exp_avg_sq"]
            torch.maximum(vmax, v, out=vmax)
            v = vmax
        denom = (v.sqrt() / bias_correction2_sqrt).add_(h["eps"])
        p.addcdiv_(m * (-lr / bias_correction1), denom)

    def _adamw(self, p, g, lr):
        self._adam(p, g, lr, decoupled=True)

    def _rmsprop(self, p, g, lr):
        h = self.h
        if self.uses["weight_decay"]:
            g = g + h["weight_decay"] * p
        if "square_avg" not in self.state:
            self.state["square_avg"] = torch.zeros_like(p)
            if self.flags["centered"]:
                self.state["grad_avg"] = torch.zeros_like(p)
        sq = self.state["square_avg"]
        sq.mul_(h["alpha"]).addcmul_((1 - h["alpha"]) * g, g)
        if self.flags["centered"]:
            ga = self.state["grad_avg"]
            ga.lerp_(g, 1 - h["alpha"])
            avg = sq.addcmul(ga, ga, value=-1).sqrt_()
        else:
            avg = sq.sqrt()
        avg = avg.add_(h["eps"])
        if self.uses["momentum"]:
            if "momentum_buffer" not in self.state:  # not setdefault: its default was a new tensor every step
                self.state["momentum_buffer"] = torch.zeros_like(p)
            buf = self.state["momentum_buffer"]
            if self.cycled:  # as torch: at a step with momentum 0 the plain step, and the buffer left alone
                on = h["momentum"] != 0
                buf.copy_(torch.where(on, buf * h["momentum"] + g / avg, buf))
                p.sub_(lr * torch.where(on, buf, g / avg))
            else:
                buf.mul_(h["momentum"]).addcdiv_(g, avg)
                p.sub_(lr * buf)
        else:
            p.addcdiv_(g * -lr, avg)
