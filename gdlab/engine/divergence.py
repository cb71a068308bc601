"""Which models of a group have diverged, and at which step. A model diverges when its training loss
is not finite, or exceeds train.diverge_factor times its first loss (at least 1); it then stops where
it is while the others train on."""

from __future__ import annotations

import math
import operator
from typing import Callable

import torch


class Divergence:
    """The live/diverged bookkeeping of K models: a mask on the device (updates read it without a
    sync) and, on the host, the step each model diverged at."""

    def __init__(self, K: int, factor: float | None, device: torch.device):
        self.K, self.factor = K, factor
        self.limit: torch.Tensor | None = None  # per model, set from the first step's loss
        self._limit_host: list[float] | None = None
        self.alive = torch.ones(K, dtype=torch.bool, device=device)
        self.at: list[int | None] = [None] * K  # the host's view: None while a model trains
        self.stopped: list[int | None] = [None] * K  # the step a model stopped early at (train.early_stop_patience)
        self.n_stopped = self.n_diverged = 0
        self._noted = 0  # the last step whose losses were checked
        # Once the stack is compacted (compact.py): the original index of each of its rows. `alive` and
        # `limit` then hold those rows only; the host's lists and the losses `note` reads keep all K.
        self.stack_rows: list[int] | None = None

    def first_loss(self, losses: torch.Tensor) -> None:
        """Fix each model's loss limit from its first loss (once)."""
        if self.factor is not None and self.limit is None:
            self.limit = self.factor * torch.clamp(losses.detach(), min=1.0)

    def mask_on_device(self, losses: torch.Tensor) -> None:
        """Drop models whose loss is bad from the device mask, before the host has seen the loss."""
        self.alive &= torch.isfinite(losses)
        if self.limit is not None:
            self.alive &= losses <= self.limit

    def note(self, step: int, losses: list[float]) -> None:
        """Record, from host values, which models diverged at `step` (once per step: on a CPU the loop
        checks a step's losses before its update and its records come by again)."""
        if step <= self._noted:
            return
        self._noted = step
        limit = self.limits()
        watched = self.stack_rows  # compacted: only the stack's models can diverge; the others read NaN
        values = losses if watched is None else [losses[k] for k in watched]
        bounds = limit if limit is None or watched is None else [limit[k] for k in watched]
        # The common case in C loops (a 1000-model sweep would spend ~150 us a step in the loop below):
        # every loss finite and within its limit (NaN fails both tests), so no model can have diverged.
        if all(map(math.isfinite, values)) and (bounds is None or all(map(operator.le, values, bounds))):
            return
        for k in range(self.K) if watched is None else watched:
            v = losses[k]
            if self.at[k] is None and self.stopped[k] is None and (not math.isfinite(v) or (limit is not None and v > limit[k])):
                self.diverge(k, step)

    def diverge(self, k: int, step: int) -> None:
        """Model k diverged at `step` (seen in its loss, or restored from a checkpoint): it stops where it is."""
        self.at[k] = step
        self.n_diverged += 1
        self.alive[self.row(k)] = False

    def limits(self) -> list[float] | None:
        """Each model's loss limit, as the host reads it once (None: no diverge_factor, or no step yet)."""
        if self.limit is not None and self._limit_host is None:
            self._limit_host = self.limit.tolist()
        return self._limit_host

    def row(self, k: int) -> int:
        """Model k's row in the stack and in `alive` (k itself unless the stack was compacted; k must be in it)."""
        return k if self.stack_rows is None else self.stack_rows.index(k)

    def alive_list(self) -> list[bool]:
        """The device's mask over all K models, on the host (a model no longer in the stack: False)."""
        return spread(self.alive.tolist(), self.stack_rows, self.K, False)

    def stop(self, k: int, step: int) -> None:
        """Model k stopped early after `step`: its weights stay as they are, as a diverged model's do."""
        if self.at[k] is None and self.stopped[k] is None:
            self.stopped[k] = step
            self.alive[self.row(k)] = False
            self.n_stopped += 1

    def alive_host(self, k: int) -> bool:
        """Whether model k trains on, as the host knows it (no device sync)."""
        return self.at[k] is None and self.stopped[k] is None

    def ended(self) -> list[int | None]:
        """The step each model ended at, by divergence or an early stop; None while it trains."""
        return self.at if not self.n_stopped else [d if d is not None else s for d, s in zip(self.at, self.stopped)]

    def any_alive(self) -> bool:
        return None in self.at if not self.n_stopped else None in self.ended()

    def all_alive(self) -> bool:
        return self.at.count(None) == self.K and not self.n_stopped

    def rows(self, step: int, logged: bool) -> tuple[list[bool], Callable[[list], list]]:
        """Which models write a row at `step` (a diverged or stopped model writes rows up to and including
        the step it ended at), and a filter that blanks ended models' values."""
        if self.all_alive():  # the common case, kept cheap
            return [logged] * self.K, _as_they_are
        # A stopped model writes its rows as before up to its stop step, whose row (the evaluation that stopped
        # it) always comes and keeps its values. On an accelerator the loop stops it ahead of the records
        # the host reads: rows of the steps before still come. A diverged model's last row has no values.
        live = [d is None and (s is None or s >= step) for d, s in zip(self.at, self.stopped)]
        emit = [d == step or (live[k] and (logged or s == step)) for k, (d, s) in enumerate(zip(self.at, self.stopped))]
        return emit, lambda values: [x if live[k] else None for k, x in enumerate(values)]


def _as_they_are(values: list) -> list:
    return values


def spread(values: list, rows: list[int] | None, K: int, fill) -> list:
    """Values of a compacted stack's rows (`rows`: each one's original model) as a list over all K models,
    `fill` for the models no longer in it; `values` as they are while the stack is whole (rows None)."""
    if rows is None:
        return values
    whole = [fill] * K
    for k, v in zip(rows, values):
        whole[k] = v
    return whole
