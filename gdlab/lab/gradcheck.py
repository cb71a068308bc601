"""Autograd's gradient of the loss against central finite differences in float64, tensor by tensor, and the
closed-form gradient of a lone Linear layer under MSELoss; plus a planted backward bug to see a check fail."""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Row:
    """The check of one parameter tensor."""

    name: str
    shape: tuple[int, ...]
    checked: int  # elements compared (all of them, or a sample of large tensors)
    numel: int
    max_abs: float
    max_rel: float | None  # None: no numeric gradient resolved (loss moved <= one float step): only atol applies
    passed: bool  # |autograd - numeric| <= atol + rtol * |numeric| for every checked element
    # How far float64's rounding of the loss alone can move a numeric gradient: the spacing of floats at L
    # over eps. Above atol, a FAIL may be the finite difference's and not autograd's (too small an eps).
    rounding: float = 0.0
    # A failing tensor's estimate of the central difference's own error at eps (about eps^2 times the loss's third
    # derivative over 6), from its numeric gradients at eps and eps/2; 0 where it passed. Too large an eps errs so.
    truncation: float = 0.0


def gradcheck_model(
    model: nn.Module, loss_fn, x: torch.Tensor, y: torch.Tensor, atol: float = 1e-6, rtol: float = 1e-4,
    max_elements: int = 64, eps: float = 1e-6, generator: torch.Generator | None = None,
) -> list[Row]:
    """Compare d loss / d parameter from autograd with (L(w+eps) - L(w-eps)) / 2eps, for every parameter tensor.
    Works on float64 copies in eval mode (Dropout would draw a new mask per loss and make the check meaningless),
    but with BatchNorm normalizing by the batch, as in training: the backward through the batch's mean and
    variance is the one training runs (its running statistics, updated in the copy, never reach the loss)."""
    model = copy.deepcopy(model).double().eval()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.train()
    loss_fn = copy.deepcopy(loss_fn).double() if isinstance(loss_fn, nn.Module) else loss_fn
    x, y = (t.double() if t.is_floating_point() else t for t in (x, y))
    loss_fn(model(x), y).backward()
    generator = generator or torch.Generator().manual_seed(0)

    def loss() -> float:
        return loss_fn(model(x), y).item()

    spacing = math.ulp(loss())
    rounding = spacing / eps

    rows = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            analytic = (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
            flat = p.data.view(-1)
            picked = torch.arange(flat.numel())
            if flat.numel() > max_elements:
                picked = torch.randperm(flat.numel(), generator=generator)[:max_elements].sort().values
            moved = _central(loss, flat, picked.tolist(), eps)  # L(w+eps) - L(w-eps), in the loss's own units
            numeric = moved / (2 * eps)
            auto = analytic[picked]
            err = (auto - numeric).abs()
            # relative to the numeric gradient, as the pass rule (and --rtol) measures it. Where the loss moved by
            # at most one float step between w-eps and w+eps, that gradient is unresolved (0, or one spacing over
            # 2 eps for a true gradient of 0, as a bias just before BatchNorm has): a relative error to it is
            # undefined (it read 1.00 beside "pass"), only --atol applies, and the absolute error says how far
            # off it is; a NaN error is NaN relative too
            defined = (moved.abs() > spacing) | err.isnan()
            rel = err[defined] / numeric[defined].abs()
            passed = bool((err <= atol + rtol * numeric.abs()).all())
            truncation = 0.0
            if not passed:  # D(eps) = g + c eps^2 + ...: D(eps) - D(eps/2) = 3/4 c eps^2, the difference's own error
                half = _central(loss, flat, picked.tolist(), eps / 2) / eps
                truncation = 4 / 3 * _max((numeric - half).abs())
            rows.append(Row(name, tuple(p.shape), len(picked), flat.numel(), _max(err),
                            _max(rel) if rel.numel() else None, passed, rounding, truncation))
    return rows


def _central(loss, flat: torch.Tensor, picked: list[int], eps: float) -> torch.Tensor:
    """L(w + eps) - L(w - eps) for each picked element of a parameter's flat view, each put back after."""
    moved = torch.empty(len(picked), dtype=torch.float64)
    for j, i in enumerate(picked):
        old = flat[i].item()
        flat[i] = old + eps
        up = loss()
        flat[i] = old - eps
        moved[j] = up - loss()
        flat[i] = old
    return moved


def _max(t: torch.Tensor) -> float:
    return t.max().item() if t.numel() else 0.0


def preview(t: torch.Tensor) -> str:
    """A tensor's first four numbers, for a table cell."""
    values = t.reshape(-1).tolist()
    return "[" + ", ".join(f"{v:.5g}" for v in values[:4]) + (", ...]" if len(values) > 4 else "]")


def lone_linear(model: nn.Module) -> nn.Linear | None:
    """The model's Linear layer when it is nothing else (a bare Linear or a Sequential of one), else None."""
    if isinstance(model, nn.Linear):
        return model
    children = list(model.children())
    lone = isinstance(model, nn.Sequential) and len(children) == 1 and isinstance(children[0], nn.Linear)
    return children[0] if lone else None


def closed_form_linear_mse(layer: nn.Linear, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """For y_hat = x W^T + b and L = mean((y_hat - y)^2) over all n*out entries:
    dL/dW = 2/(n*out) (y_hat - y)^T x and dL/db = 2/(n*out) times the column sums of (y_hat - y)."""
    with torch.no_grad():
        r = layer(x) - y.expand(x.shape[0], layer.out_features)
        scale = 2.0 / r.numel()
        grads = {"weight": scale * r.T @ x}
        if layer.bias is not None:
            grads["bias"] = scale * r.sum(0)
    return grads


def closed_form_check(
    model: nn.Module, loss_fn, x: torch.Tensor, y: torch.Tensor
) -> list[tuple[str, torch.Tensor, torch.Tensor]] | None:
    """(name, closed form, autograd) per parameter in float64 for a lone Linear under mean MSELoss; None otherwise."""
    if lone_linear(model) is None or not isinstance(loss_fn, nn.MSELoss) or loss_fn.reduction != "mean":
        return None
    model = copy.deepcopy(model).double()
    layer = lone_linear(model)
    x, y = x.double(), y.double()
    model.zero_grad(set_to_none=True)
    loss_fn(model(x), y.expand(x.shape[0], layer.out_features)).backward()
    prefix = "" if model is layer else "0."
    closed = closed_form_linear_mse(layer, x, y)
    return [(prefix + k, v, getattr(layer, k).grad) for k, v in closed.items()]


class _ScaledBackward(torch.autograd.Function):
    """Identity forward; backward multiplies the incoming gradient by a factor (wrong unless it is 1)."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


class WrongGradient(nn.Module):
    """A planted bug: passes values through unchanged but scales the gradient flowing back by `factor`."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return _ScaledBackward.apply(x, self.factor)

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


def plant_wrong_gradient(model: nn.Sequential, after: int | None = None, factor: float = 1.5) -> nn.Sequential:
    """A copy of `model` with a WrongGradient after layer `after` (default: the first layer with
    parameters, so some gradient is wrong): parameter names are kept, and the gradients of every
    parameter at or before that layer come out `factor` times too large."""
    named = list(model.named_children())
    if after is None:
        after = next((i for i, (_, m) in enumerate(named) if any(True for _ in m.parameters())), 0)
    named.insert(after + 1, ("bug", WrongGradient(factor)))
    return nn.Sequential(OrderedDict((n, copy.deepcopy(m)) for n, m in named))
