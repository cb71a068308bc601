"""What one optimizer step logs for the K models of a group (`StepRecord`, the engine's output that
writers and progress bars consume)."""

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


def host(values: torch.Tensor | list) -> list:
    """Per-model values as a list: as they are when already on the host, else read from the tensor."""
    return values if isinstance(values, list) else values.tolist()
