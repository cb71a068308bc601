"""What one optimizer step logs for the K models of a group (`StepRecord`, the engine's output that
writers and progress bars consume), and how buffered steps' device values reach the host."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

Values = list  # one entry per model; None where that model logged nothing


@dataclass
class StepRecord:
    """Everything logged at one optimizer step, for all K models of the group."""

    step: int
    epoch: float
    wall_s: float
    emit: list[bool]  # model k writes a row at this step
    lr: Values
    train_loss: Values
    grad_norm: Values
    train_accuracy: Values | None = None
    val_loss: Values | None = None
    val_accuracy: Values | None = None
    extra: dict[str, Values] = field(default_factory=dict)


_DEVICE_FIELDS = (2, 3, 5, 6, 7, 8)  # loss, correct, grad_norm, val_loss, val_correct, sharpness in a pending step


def to_host(pending: list[tuple]) -> list[tuple]:
    """A block's per-model tensors ([K] each, one dtype) stacked and copied to the host at once: one
    synchronisation per block instead of one per value."""
    tensors = [p[i] for p in pending for i in _DEVICE_FIELDS if isinstance(p[i], torch.Tensor)]
    if not tensors:
        return pending
    copied = iter(torch.stack(tensors).tolist())
    return [tuple(next(copied) if i in _DEVICE_FIELDS and isinstance(v, torch.Tensor) else v for i, v in enumerate(p))
            for p in pending]


def host(values: torch.Tensor | list) -> list:
    """Per-model values as a list: as they are when already on the host, else read from the tensor."""
    return values if isinstance(values, list) else values.tolist()
