"""train.restore_best_weights (Keras's restore_best_weights), per model: each model's weights and buffers
from its evaluation with the lowest val_loss, the one summary.json's best_val_loss reports, kept beside
the stack and copied only where a model improved."""

from __future__ import annotations

import math

import torch

from gdlab.engine.stack import StackedMLP


class BestWeights:
    """A [K, P] copy of each model's best weights (and BatchNorm statistics), its val_loss and its step
    (0: no evaluation yet); the steps stay on the device, so watching costs no host sync."""

    def __init__(self, model: StackedMLP, host_sync: bool):
        flat = model.flat.detach()
        self.flat = flat.clone()
        self.buffers = {n: b.clone() for n, b in model.buffers.items()}
        self.val = torch.full((model.K,), math.inf, dtype=flat.dtype, device=flat.device)
        self.step = torch.zeros(model.K, dtype=torch.long, device=flat.device)
        self.host_sync = host_sync  # on a CPU a sync is free: skip evaluations where no model improved

    def observe(self, step: int, val_loss: torch.Tensor, alive: torch.Tensor, model: StackedMLP) -> None:
        """Keep the weights of the models whose val_loss at `step` is below their best (strictly, as
        best_val_loss is taken: NaN never is); ended models (alive False) write no value, so they keep theirs."""
        better = (val_loss < self.val) & alive
        if self.host_sync:
            improved = better.nonzero().squeeze(1)
            if improved.numel() == 0:
                return
            self.flat.index_copy_(0, improved, model.flat.detach().index_select(0, improved))
            for name, best in self.buffers.items():
                best.index_copy_(0, improved, model.buffers[name].index_select(0, improved))
        else:  # on an accelerator a masked copy on the device is cheaper than asking the host which improved
            self.flat.copy_(torch.where(better.unsqueeze(1), model.flat.detach(), self.flat))
            for name, best in self.buffers.items():
                best.copy_(torch.where(better.view(-1, *[1] * (best.dim() - 1)), model.buffers[name], best))
        self.val = torch.where(better, val_loss, self.val)
        self.step.masked_fill_(better, step)

    def steps(self) -> list[int | None]:
        """The step each model's best weights come from (None: it was never evaluated with a finite loss)."""
        return [s or None for s in self.step.tolist()]

    def state_dicts(self, model: StackedMLP) -> list[dict[str, torch.Tensor]]:
        """What model.pt gets: each model's best weights, or its last ones where it has none."""
        chosen = self.step > 0
        flat = torch.where(chosen.unsqueeze(1), self.flat, model.flat.detach())
        buffers = {n: torch.where(chosen.view(-1, *[1] * (b.dim() - 1)), b, model.buffers[n]) for n, b in self.buffers.items()}
        return model.state_dicts(flat=flat, buffers=buffers)

    def state(self) -> dict:
        return {"flat": self.flat.clone(), "buffers": {n: b.clone() for n, b in self.buffers.items()},
                "val": self.val.clone(), "step": self.step.clone()}

    def load_state(self, state: dict) -> None:
        device = self.flat.device
        self.flat.copy_(state["flat"].to(device))
        for name, best in self.buffers.items():
            best.copy_(state["buffers"][name].to(device))
        self.val, self.step = state["val"].to(device), state["step"].to(device)
