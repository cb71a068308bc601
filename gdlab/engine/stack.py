"""K same-shaped MLPs as one computation: all parameters live in one flat [K, P] tensor whose
slices are viewed as each layer's weights, so a step is a handful of batched kernels for any K."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gdlab.config import Config
from gdlab.engine import layer_ops
from gdlab.model import build_sequential


@dataclass(frozen=True)
class Slot:
    """Where one named parameter (e.g. `0.weight`) sits in the flat vector."""

    name: str
    offset: int
    shape: tuple[int, ...]  # as stored: a Linear weight is kept as [in, out], the layout bmm wants
    transposed: bool = False

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


class StackedMLP:
    """The forward pass of K models sharing one architecture, with per-model weights and buffers."""

    def __init__(self, cfg: Config, seeds: list[int], device: torch.device, dtype: torch.dtype):
        self.layers = cfg.model
        self.K = len(seeds)
        rows, buffers = [], []
        cache: dict[int, tuple[torch.Tensor, dict]] = {}
        for seed in seeds:
            if seed not in cache:  # same seed -> same initial weights: fair comparisons in a sweep
                torch.manual_seed(seed)
                net = build_sequential(cfg)
                named = list(net.named_parameters())
                flat = torch.cat([_stored(n, p, cfg).reshape(-1) for n, p in named]) if named else torch.zeros(0)
                cache[seed] = (flat.to(dtype), {n: b.detach().clone() for n, b in net.named_buffers()})
            rows.append(cache[seed][0])
            buffers.append(cache[seed][1])
        self.slots: list[Slot] = []
        offset = 0
        for name, p in named:
            t = _is_linear(name, cfg.model, "weight")
            self.slots.append(Slot(name, offset, tuple(p.shape[::-1]) if t else tuple(p.shape), t))
            offset += p.numel()
        self.flat = torch.stack(rows).to(device).requires_grad_(True)  # [K, P], the one leaf
        self.buffers = {
            n: torch.stack([b[n] for b in buffers]).to(device=device, dtype=dtype if buffers[0][n].is_floating_point() else None)
            for n in buffers[0]
        }
        # Each model's dropout masks come from its own generator, seeded by its seed: the same masks batched
        # or alone (a group of one draws exactly what F.dropout draws after torch.manual_seed(seed)), and
        # the same masks for variants of one seed, so a sweep compares learning rates, not luck.
        self.dropout_generators = [torch.Generator(device=device).manual_seed(seed) for seed in seeds] \
            if cfg.has_dropout else []
        self._views: dict[str, torch.Tensor] | None = None
        self._names = [(f"{i}.weight", f"{i}.bias") for i in range(len(self.layers))]  # not rebuilt every step

    def views(self, flat: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-layer parameter views of the flat tensor (one split, so backward is one cat):
        [K, *shape] for K > 1, plain [*shape] for a single model."""
        if flat is None:
            # The views of the leaf are made once: they save no tensors, so every forward can reuse them and
            # backward still flows into flat.grad; the optimizer's in-place updates show through them. Views
            # made under no_grad carry no grad_fn, so they are not the ones kept.
            if self._views is None:
                if not torch.is_grad_enabled():
                    return self.views(self.flat)
                self._views = self.views(self.flat)
            return self._views
        if not self.slots:
            return {}
        if flat.shape[0] == 1:  # one model: plain 2-D kernels (addmm) are faster than batched ones
            # reshape, not flat[0]: its backward is a free view, where a select's allocates and copies
            parts = flat.reshape(-1).split([s.numel for s in self.slots])
            return {s.name: part.view(s.shape) for s, part in zip(self.slots, parts)}
        parts = flat.split([s.numel for s in self.slots], dim=1)
        K = flat.shape[0]
        # a Linear bias is viewed [K, 1, out], the shape baddbmm adds, so no forward re-shapes it
        return {s.name: part.view(K, 1, *s.shape) if _is_linear(s.name, self.layers, "bias") else part.view(K, *s.shape)
                for s, part in zip(self.slots, parts)}

    def forget_views(self) -> None:
        """Drop the kept views: the next forward makes them again. On a GPU, their backward nodes and the
        leaf's gradient accumulator run on the stream they were made on, and a CUDA graph must capture a
        backward whose nodes were all made on its own stream (see engine/graphs.py)."""
        self._views = None

    def forward(self, x: torch.Tensor, training: bool, flat: torch.Tensor | None = None,
                batch_stats: bool = False) -> torch.Tensor:
        """x: [K, N, D] -> outputs [K, N, out]. A group of one also takes x [N, D] and gives [N, out]:
        the training loop's path, with no model axis added and removed on the autograd graph.
        `batch_stats` (not training): BatchNorm as training computes it, no dropout, no buffer updated."""
        params = self.views(flat)
        single = x.dim() == 3 and x.shape[0] == 1  # one model in stacked form: plain 2-D kernels inside
        h = x[0] if single else x
        for i, layer in enumerate(self.layers):
            h = self._apply(i, layer.type, layer.args, h, params, training, batch_stats)
        return h.unsqueeze(0) if single else h

    def _apply(self, i, kind, args, x, params, training, batch_stats=False):
        weight, bias = self._names[i]
        w, b = params.get(weight), params.get(bias)
        if kind == "Linear":  # w is stored [in, out]: x @ w needs no transpose
            if x.dim() == 2:
                return torch.addmm(b, x, w) if b is not None else x @ w
            return torch.baddbmm(b, x, w) if b is not None else torch.bmm(x, w)
        if kind in layer_ops.ELEMENTWISE:
            return layer_ops.ELEMENTWISE[kind](x, args)
        if kind == "Dropout":
            return layer_ops.dropout(x, args["p"], training, self.dropout_generators)
        if kind == "Flatten":
            return x.flatten(x.dim() - 1)
        if kind == "LayerNorm":
            if x.dim() == 2:
                return F.layer_norm(x, (x.shape[-1],), w, b, args["eps"])
            y = F.layer_norm(x, (x.shape[-1],), eps=args["eps"])
            if w is not None:
                y = y * w.unsqueeze(1)
            return y + b.unsqueeze(1) if b is not None else y
        if kind == "BatchNorm1d":
            return layer_ops.batch_norm(self.buffers, i, args, x, w, b, training, batch_stats)
        raise AssertionError(f"layer {kind} has no stacked implementation")

    def save_buffers(self) -> dict[str, torch.Tensor] | None:
        """A copy of the stacked buffers (BatchNorm statistics) a training forward pass will update; None
        when there are none."""
        return {n: b.clone() for n, b in self.buffers.items()} if self.buffers else None

    def restore_buffers(self, saved: dict[str, torch.Tensor] | None, alive: torch.Tensor) -> None:
        """Put back the saved buffers of the models not `alive`: a diverged model is frozen, statistics too."""
        for name, before in (saved or {}).items():
            now = self.buffers[name]
            now.copy_(torch.where(alive.view(-1, *[1] * (now.dim() - 1)), now, before))

    def state_dicts(self, models: list[int] | None = None, flat: torch.Tensor | None = None,
                    buffers: dict[str, torch.Tensor] | None = None) -> list[dict[str, torch.Tensor]]:
        """The weights of `models` (default: all; from `flat` and `buffers` when given, else the stack's own)
        under nn.Sequential's names, each loadable into `build_sequential(cfg)`; the stack reaches the host
        in one copy, not one per model and layer."""
        flat = (self.flat if flat is None else flat).detach().cpu()
        buffers = {n: b.cpu() for n, b in (self.buffers if buffers is None else buffers).items()}
        states = []
        for k in range(self.K) if models is None else models:
            state = {}
            for s in self.slots:
                value = flat[k, s.offset : s.offset + s.numel].view(s.shape)
                # a copy of its own: a view (a contiguous bias) would save the whole [K, P] stack with each model
                state[s.name] = (value.t() if s.transposed else value).clone(memory_format=torch.contiguous_format)
            states.append(state | {n: b[k].clone() for n, b in buffers.items()})
        return states

    @property
    def n_params(self) -> int:
        return sum(s.numel for s in self.slots)


def _is_linear(name: str, layers, part: str) -> bool:
    """Whether parameter `name` (e.g. `2.bias`) is the `part` ("weight" or "bias") of a Linear layer."""
    index, kind = name.split(".")
    return kind == part and layers[int(index)].type == "Linear"


def _stored(name: str, p: torch.Tensor, cfg: Config) -> torch.Tensor:
    return p.detach().t() if _is_linear(name, cfg.model, "weight") else p.detach()
