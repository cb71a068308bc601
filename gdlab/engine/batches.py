"""The batch schedule shared by every model of a group: which rows each micro-batch takes, how
micro-batches group into optimizer steps, and how many steps make an epoch and a run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from gdlab.config import Config, TrainConfig
from gdlab.errors import GdlabError
from gdlab.ints import MAX_STEPS

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class BatchPlan:
    n_rows: int
    micro_batch: int  # rows per forward/backward pass
    accumulate: int  # micro-batches per optimizer step
    shuffle: bool
    total_steps: int

    @classmethod
    def from_config(cls, train: TrainConfig, n_rows: int) -> "BatchPlan":
        # Full batch with accumulate k splits the data into k micro-batches: same gradient, less memory.
        micro = min(train.batch_size or math.ceil(n_rows / train.accumulate), n_rows)
        per_epoch = math.ceil(math.ceil(n_rows / micro) / train.accumulate)
        total = train.steps if train.steps is not None else train.epochs * per_epoch
        return cls(n_rows, micro, train.accumulate, train.shuffle and micro < n_rows, total)

    @property
    def full_batch(self) -> bool:
        return self.micro_batch >= self.n_rows

    @cached_property  # read several times per step: computed once (the plan is frozen)
    def steps_per_epoch(self) -> int:
        return math.ceil(math.ceil(self.n_rows / self.micro_batch) / self.accumulate)

    @property
    def total_epochs(self) -> int:
        return math.ceil(self.total_steps / self.steps_per_epoch)

    def steps_of_epoch(self) -> list[list[tuple[int, int]]]:
        """(start, stop) row ranges into the epoch's order, grouped per optimizer step (read-only)."""
        return self._epoch_steps

    @cached_property
    def _epoch_steps(self) -> list[list[tuple[int, int]]]:
        bounds = [(s, min(s + self.micro_batch, self.n_rows)) for s in range(0, self.n_rows, self.micro_batch)]
        return [bounds[i : i + self.accumulate] for i in range(0, len(bounds), self.accumulate)]


def length_key(train: TrainConfig) -> str:
    """Which of train.steps and train.epochs the config gives its run's length by (exactly one is set)."""
    return "steps" if train.steps is not None else "epochs"


def _eval_words(train: TrainConfig) -> str:
    return f"train.eval_every: {train.eval_every}" if train.eval_every else "train.eval_every: null, each epoch"


def check_run_length(train: TrainConfig, n_rows: int) -> None:
    """Refuse epochs that make more steps than a run can count (each epoch is within it, its steps maybe not)."""
    plan = BatchPlan.from_config(train, n_rows)
    if plan.total_steps > MAX_STEPS:
        raise GdlabError(f"train.epochs: {train.epochs} epochs of {plan.steps_per_epoch} steps make {plan.total_steps} "
                         f"steps, more than a run can count exactly (2**53, {MAX_STEPS}); allowed: a whole number from "
                         f"1 to {MAX_STEPS // plan.steps_per_epoch} with this data and batch size")


def check_intervals(cfg: Config, n_rows: int | None) -> None:
    """Refuse an interval that, past the run's end, leaves its setting nothing to do: no snapshot after the initial
    weights, or no evaluation before the last step for what watches val_loss. Rows, checkpoints and sharpness are
    also taken at the last step, and validation too, so their intervals may be as long as they like. `n_rows`
    None (`validate --no-data`): what the config decides alone, where train.steps or full batches give the length."""
    train = cfg.train
    if n_rows is not None or train.batch_size is None:  # full batch: one step an epoch, however many rows
        plan = BatchPlan.from_config(train, 1 if n_rows is None else n_rows)
        total, per_epoch = plan.total_steps, plan.steps_per_epoch
    elif train.steps is not None:
        total, per_epoch = train.steps, None  # an epoch's steps depend on the rows
    else:
        return
    given = length_key(train)
    length = f"the run's last step ({total}, train.{given}: {getattr(train, given)})"
    if train.snapshot_every and train.snapshot_every > total:
        raise GdlabError(f"train.snapshot_every: {train.snapshot_every} is past {length}, so the only snapshot would be "
                         f"the initial weights; allowed: a whole number from 1 to {total}", also=(("train", given),))
    # an explicit interval only: a null one is each epoch, which a run shorter than an epoch (--smoke's) ends before
    key, watcher = cfg.val_watcher or (None, None)
    if watcher and train.eval_every and total > 1 and train.eval_every >= total:
        raise GdlabError(f"train.eval_every: {train.eval_every} leaves one evaluation, at {length}, and {watcher} "
                         f"watches val_loss from one evaluation to the next, so it would do nothing; allowed: a whole "
                         f"number from 1 to {total - 1}", also=(("train", given), key))
    _check_patience(cfg, total, evaluations(train, total, per_epoch), length)


def evaluations(train: TrainConfig, total: int, per_epoch: int | None) -> int | None:
    """How many times a run of `total` steps evaluates: every eval_every steps (each epoch of `per_epoch` steps
    when null), and at its last step; None when that is each epoch and the epoch's steps are unknown."""
    every = train.eval_every or per_epoch
    return math.ceil(total / every) if every else None


def patience_within(train: TrainConfig, n_rows: int) -> int | None:
    """train.early_stop_patience cut to what the run's evaluations can run out (--smoke's few steps), as
    _check_patience would have it; None where the run evaluates once, at its end."""
    patience, plan = train.early_stop_patience, BatchPlan.from_config(train, n_rows)
    return patience and (min(patience, evaluations(train, plan.total_steps, plan.steps_per_epoch) - 1) or None)


def _check_patience(cfg: Config, total: int, count: int | None, length: str) -> None:
    """Refuse an early_stop_patience the run's `count` evaluations cannot run out: the first sets the best
    val_loss, so stopping takes patience more. (--smoke cuts the patience with the run, as it cuts snapshot_every.)"""
    train, patience = cfg.train, cfg.train.early_stop_patience
    if not patience or count is None or total <= 1 or patience < count:
        return
    every = _eval_words(train)
    allowed = (f"a whole number from 1 to {count - 1}" if count > 1 else
               f"a train.eval_every from 1 to {total - 1}, to evaluate before the end")
    raise GdlabError(f"train.early_stop_patience: {patience} is not below the {count} evaluation{'s' * (count > 1)} the "
                     f"run makes ({every}, to {length}), so early stopping could never stop it; allowed: {allowed}",
                     also=(("train", "eval_every"), ("train", length_key(train))))


def plateau_note(cfg: Config, n_rows: int) -> str | None:
    """Where scheduler.patience leaves ReduceLROnPlateau no evaluation to lower the lr at, a note saying so (not
    refused: patience defaults to 10, which short runs never set). torch cuts once more than patience evaluations
    after the best have not improved, so at evaluation patience + 2 at the earliest, and the last evaluation is at
    the last step, after which no step trains: only patience + 3 evaluations or more let it act."""
    s, train = cfg.scheduler, cfg.train
    if s is None or s.name != "ReduceLROnPlateau":
        return None
    plan = BatchPlan.from_config(train, n_rows)
    total, count = plan.total_steps, evaluations(train, plan.total_steps, plan.steps_per_epoch)
    if s.patience + 3 <= count:
        return None
    every, given = _eval_words(train), length_key(train)
    options = [f"scheduler.patience from 0 to {count - 3}"] if count >= 3 else []
    most_every = math.ceil(total / (s.patience + 2)) - 1  # the largest eval_every giving patience + 3 evaluations
    options.append(f"more evaluations, train.eval_every at most {most_every}" if most_every >= 1 else
                   f"more evaluations, from a run of more than {s.patience + 2} steps")
    return (f"scheduler.patience: {s.patience} can never let ReduceLROnPlateau lower the lr: the first evaluation "
            f"sets the best val_loss and it cuts once {s.patience + 1} more have not improved on it, at evaluation "
            f"{s.patience + 2} at the earliest, but the run evaluates {count} time{'s' * (count > 1)} ({every}, to "
            f"its last step, {total}, train.{given}: {getattr(train, given)}), the last after its last step's update; "
            f"to let it act: {' or '.join(options)}")


class DataOrder:
    """Per-epoch row orders, one stream per distinct seed: models with the same seed see the same order."""

    def __init__(self, seeds: list[int], plan: BatchPlan):
        import torch  # here, not at the top: `validate --no-data` checks intervals with this module, without torch

        self.plan = plan
        unique = sorted(set(seeds))
        self.index = torch.tensor([unique.index(s) for s in seeds])
        self.generators = [torch.Generator().manual_seed(s) for s in unique]

    def next_epoch(self) -> torch.Tensor | None:
        """[S, N] row orders for the next epoch (S distinct seeds), or None when rows stay in order."""
        if not self.plan.shuffle:
            return None
        import torch

        return torch.stack([torch.randperm(self.plan.n_rows, generator=g) for g in self.generators])

    def state(self) -> list[torch.Tensor]:
        return [g.get_state() for g in self.generators]

    def load_state(self, states: list[torch.Tensor]) -> None:
        for g, s in zip(self.generators, states):
            g.set_state(s)
