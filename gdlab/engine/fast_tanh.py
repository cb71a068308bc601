"""Tanh for the stacked engine on a CPU through numpy's SIMD kernel: torch's CPU tanh (2.13, x86) is
6-7x slower (140 vs 21 us for 131k float32 values), a third of a small tanh MLP's step. Results agree
with torch.tanh to 1 ulp (float32 and float64) and the gradient is torch's own `tanh_backward`, so
backward, double backward (sharpness) and the autograd graph behave as torch.tanh's do."""

from __future__ import annotations

import numpy as np
import torch

# Below this many values the autograd.Function's Python overhead (~15 us a call, forward and backward)
# costs more than it saves. Measured inside whole training steps: 8 and 16 models of 64 x 16 (8192,
# 16384 values) 4-10% slower through numpy; one of 1000 x 32 6%, one of 2048 x 64 20%, 128 of 64 x 16 12% faster.
MIN_VALUES = 20000
_NUMPY_DTYPES = (torch.float32, torch.float64)


class _NumpyTanh(torch.autograd.Function):
    """y = tanh(x) computed by numpy; backward as torch's TanhBackward (from the saved output)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = _numpy_tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)  # differentiable again: double backward works


def _numpy_tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.tanh(x.detach().numpy()))


def tanh(x: torch.Tensor) -> torch.Tensor:
    """torch.tanh(x), faster for large float CPU tensors; any other tensor goes to torch.tanh."""
    # the size first: it rules out the small tensors of small models, whose steps feel each check's ~0.3 us
    if x.numel() < MIN_VALUES or x.device.type != "cpu" or x.dtype not in _NUMPY_DTYPES or x.is_conj() or x.is_neg():
        return torch.tanh(x)
    if x.requires_grad and torch.is_grad_enabled():
        return _NumpyTanh.apply(x)
    return _numpy_tanh(x)
