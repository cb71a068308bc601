"""Keras's EarlyStopping for each model of a group: a model whose val_loss has not improved by more than
train.early_stop_min_delta for train.early_stop_patience evaluations stops there, its weights as they
are, while the others train on (as a diverged model stops, but it has completed)."""

from __future__ import annotations

import math

import torch

from gdlab.engine.divergence import Divergence


class EarlyStop:
    """Each model's best val_loss and evaluations since it improved; `observe` stops those out of patience."""

    def __init__(self, K: int, patience: int, min_delta: float):
        self.patience, self.min_delta = patience, min_delta
        self.best = [math.inf] * K
        self.waited = [0] * K

    def observe(self, step: int, val_loss: torch.Tensor, models: Divergence) -> None:
        # The device's mask, not the host's view: on an accelerator the host learns of a divergence up to two
        # blocks late, and a diverged model's frozen val_loss, never improving, would run its patience out first.
        alive = models.alive_list()
        for k, v in enumerate(val_loss.tolist()):
            if not alive[k] or not models.alive_host(k):
                continue
            if v < self.best[k] - self.min_delta:  # NaN is no improvement
                self.best[k], self.waited[k] = v, 0
            else:
                self.waited[k] += 1
                if self.waited[k] >= self.patience:
                    models.stop(k, step)

    def may_stop(self, models: Divergence) -> bool:
        """Whether the next evaluation stops a model if it does not improve: one still training that has waited all but one."""
        return any(w + 1 >= self.patience and models.alive_host(k) for k, w in enumerate(self.waited))

    @staticmethod
    def stopped_only(step: int, values: torch.Tensor, models: Divergence) -> list | None:
        """Per-model values measured ahead of an evaluation (see may_stop), kept for the models it stopped at `step`
        (None for the others, as a run that goes on has no value there); None when it stopped none."""
        if step not in models.stopped:
            return None
        return [v if s == step else None for v, s in zip(values.tolist(), models.stopped)]

    def state(self) -> dict:
        return {"best": list(self.best), "waited": list(self.waited)}

    def load_state(self, state: dict) -> None:
        self.best, self.waited = list(state["best"]), list(state["waited"])
