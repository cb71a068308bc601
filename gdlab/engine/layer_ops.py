"""The stacked forward pass's layers other than Linear and LayerNorm: K models' activations, dropout
with a generator per model, and BatchNorm over the stacked statistics, each as torch computes it for one."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gdlab.engine import fast_tanh

ELEMENTWISE = {
    "ReLU": lambda x, a: F.relu(x),
    "Tanh": lambda x, a: fast_tanh.tanh(x),  # numpy's kernel on a CPU: see fast_tanh.py
    "Sigmoid": lambda x, a: torch.sigmoid(x),
    "SiLU": lambda x, a: F.silu(x),
    "GELU": lambda x, a: F.gelu(x, approximate=a["approximate"]),
    "ELU": lambda x, a: F.elu(x, a["alpha"]),
    "LeakyReLU": lambda x, a: F.leaky_relu(x, a["negative_slope"]),
    "Softplus": lambda x, a: F.softplus(x, a["beta"], a["threshold"]),
    "Identity": lambda x, a: x,
}


def dropout(x: torch.Tensor, p: float, training: bool, generators: list[torch.Generator]) -> torch.Tensor:
    """F.dropout as torch computes it on a CPU (a Bernoulli(1-p) mask divided by 1-p, times x), each
    model's mask drawn from its own generator."""
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    if x.dim() == 2:  # one model, plain 2-D
        noise = torch.empty_like(x).bernoulli_(1 - p, generator=generators[0])
    else:
        noise = torch.stack([torch.empty_like(x[0]).bernoulli_(1 - p, generator=g) for g in generators])
    return x * noise.div_(1 - p)


def batch_norm(buffers: dict[str, torch.Tensor], i: int, args: dict, x, w, b, training: bool,
               batch_stats: bool = False) -> torch.Tensor:
    """Layer i's BatchNorm1d for K models, updating their stacked running statistics in `buffers` when
    `training`. `batch_stats` (not training): normalize by the batch's statistics, as training does, and
    leave the running ones alone: the loss whose Hessian the sharpness is, measured without side effects."""
    # [K, N, D] -> [N, K*D]: torch's own batch_norm then treats each model's features as channels,
    # updating the stacked running statistics in place exactly as nn.BatchNorm1d does.
    mean_flat, var_flat = buffers[f"{i}.running_mean"].view(-1), buffers[f"{i}.running_var"].view(-1)
    if training:
        buffers[f"{i}.num_batches_tracked"] += 1
    elif batch_stats:  # no running statistics given: F.batch_norm uses the batch's and updates nothing
        mean_flat = var_flat = None
        training = True
    if x.dim() == 2:
        return F.batch_norm(x, mean_flat, var_flat, w, b, training, args["momentum"], args["eps"])
    K, N, D = x.shape
    y = F.batch_norm(
        x.transpose(0, 1).reshape(N, K * D), mean_flat, var_flat,
        w.reshape(-1) if w is not None else None, b.reshape(-1) if b is not None else None,
        training, args["momentum"], args["eps"],
    )
    return y.view(N, K, D).transpose(0, 1)
