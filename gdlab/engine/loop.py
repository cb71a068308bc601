"""The training loop for a group of K same-shaped models. It yields one `StepRecord` per optimizer
step and never prints; writers and progress bars consume the records."""

from __future__ import annotations

import time
from typing import Callable, Iterator

import torch

from gdlab.config import Config
from gdlab.data import Dataset
from gdlab.engine.batches import BatchPlan, DataOrder
from gdlab.engine.best_weights import BestWeights
from gdlab.engine.compact import Compaction
from gdlab.engine.divergence import Divergence
from gdlab.engine.early_stop import EarlyStop
from gdlab.engine.epoch_means import EpochMeans
from gdlab.engine.graphs import StepGraph, can_capture
from gdlab.engine.group_step import GroupStep
from gdlab.engine.losses import StackedLoss
from gdlab.engine.optim import StackedOptimizer
from gdlab.engine.schedule import LRSchedule, lr_column
from gdlab.engine.stack import StackedMLP
from gdlab.engine.host_blocks import HostBlocks
from gdlab.engine.step_record import StepRecord
from gdlab.engine.tensors import GroupData
from gdlab.lab.sharpness import group_sharpness


class GroupTrainer(GroupStep):
    """Trains K models that share architecture, data shapes and batch schedule as one computation."""

    def __init__(self, configs: list[Config], datasets: list[Dataset], device: torch.device, sync_every: int | None = None,
                 checkpoints: bool = True):
        cfg = configs[0]
        self.configs, self.K, self.device = configs, len(configs), device
        self.dtype = torch.float64 if cfg.train.dtype == "float64" else torch.float32
        seeds = [c.seed for c in configs]
        self.data = GroupData(datasets, device, self.dtype)
        self.plan = BatchPlan.from_config(cfg.train, self.data.n_train)
        self.order = DataOrder(seeds, self.plan)
        self.seed_index = self.order.index.to(device)  # which order stream each model follows
        self.model = StackedMLP(cfg, seeds, device, self.dtype)
        torch.manual_seed(seeds[0])  # dropout masks follow the seed, after the weights were drawn
        self.loss = StackedLoss(cfg.loss, device, self.dtype)
        self.optimizer = StackedOptimizer([c.optimizer for c in configs], self.model.flat)
        intervals = self.plan.total_steps if (cfg.scheduler and cfg.scheduler.interval == "step") else self.plan.total_epochs
        self.schedule = LRSchedule(cfg.scheduler, [c.optimizer.lr for c in configs], intervals, cfg.optimizer.name)
        self.optimizer.set_momentum(self.schedule.momenta)  # OneCycleLR's cycle_momentum, else nothing
        self.eval_every = cfg.train.eval_every or self.plan.steps_per_epoch
        self.epoch_means = EpochMeans(self.K, self.plan.steps_per_epoch)  # the summary's final training loss
        self.epoch_decimals = max(6, len(str(self.plan.steps_per_epoch)) + 1)  # so each step's epoch differs
        self.log_every = cfg.train.log_every
        self.log_segments = [[1, self.log_every]]  # [first step, log_every]: a resume may change it
        self.sharpness_every, self.sharpness_iters = cfg.train.sharpness_every, cfg.train.sharpness_iters
        self.sharpness_s = 0.0  # seconds spent measuring it, reported apart from training
        self.sharpness_unsettled = [0] * self.K  # logged measurements per model that ran out of sharpness_iters
        # Steps after which the host must see the state at once (checkpoints, snapshots): flush there.
        self.host_every = [n for n in (cfg.train.checkpoint_every if checkpoints else None, cfg.train.snapshot_every) if n]
        self.grad_clip = cfg.train.grad_clip
        self.divergence = Divergence(self.K, cfg.train.diverge_factor, device)
        patience = cfg.train.early_stop_patience
        self.early = EarlyStop(self.K, patience, cfg.train.early_stop_min_delta) if patience else None
        # On an accelerator, host syncs are batched: losses stay on device and are read in blocks,
        # on a CUDA device each one block late, so the host's work on them overlaps the device's.
        self.sync_every = sync_every or (1 if device.type == "cpu" else 32)
        self.overlap_blocks = device.type == "cuda" and self.sync_every > 1
        self.best = BestWeights(self.model, device.type == "cpu") if cfg.train.restore_best_weights else None
        self.recorded_step = self.step = 0  # recorded_step: the step of the last record yielded
        self.interrupted = False
        # Where the loop is inside the current epoch (what a checkpoint must restore), and elapsed time.
        self.epoch_order: torch.Tensor | None = None
        self.epoch_pos = 0
        self.elapsed_before = self.elapsed = 0.0
        self.graph = StepGraph(self) if can_capture(self) else None  # a CUDA graph replays each step
        self.compaction = Compaction(self)  # cuts the stack down to the models still training (compact.py)
        self.rungs: set[int] = set()  # a pruned sweep's rungs (sweep/prune.py): the host reads each one's record at once
        self.pruned_at: list[int | None] = [None] * self.K

    # ------------------------------------------------------------------ the loop
    def run(self, should_stop: Callable[[], bool] = lambda: False) -> Iterator[StepRecord]:
        """Train to the end (or divergence of every model, or `should_stop()`), yielding step records."""
        try:  # however the run ends (or is closed), the stack holds all K models again afterwards
            yield from self._run(should_stop)
        finally:
            self.compaction.restore(self)

    def _run(self, should_stop: Callable[[], bool]) -> Iterator[StepRecord]:
        t0 = time.perf_counter() - self.elapsed_before  # a resumed run's clock goes on where it stopped
        lrs = self.schedule.lrs()
        lr = self._lr_column(lrs)
        blocks = HostBlocks(self, self.overlap_blocks)  # not kept on self: a cycle would outlive the run (graphs.py)
        wide = self.compaction.expand  # a value per stack row as one per original model (NaN: removed)
        while self.step < self.plan.total_steps and self.divergence.any_alive() and not should_stop():
            epoch_steps = self.plan.steps_of_epoch()
            if self.epoch_pos >= len(epoch_steps) or (self.epoch_pos == 0 and self.epoch_order is None):
                self.epoch_order, self.epoch_pos = self.order.next_epoch(), 0
            # Each step slices the epoch's order: on an accelerator a copy per step from host memory would
            # synchronise every step, so the order goes to the device once per epoch (kept on the host for checkpoints).
            order = None if self.epoch_order is None else self.epoch_order.to(self.device)
            for ranges in epoch_steps[self.epoch_pos :]:
                if self.step >= self.plan.total_steps or not self.divergence.any_alive() or should_stop():
                    break
                # between steps; records still pending (read in blocks on an accelerator) were widened to all K already
                if self.compaction.due(self):
                    self.compaction.apply(self)
                    order = None if self.epoch_order is None else self.epoch_order.to(self.device)
                    lr = self._lr_column(lrs)
                self.step += 1
                self.epoch_pos += 1
                evaluated = self.data.has_val and (self.step % self.eval_every == 0 or self.step == self.plan.total_steps)
                # at the weights this step's loss is taken at: steps 1, 1+N, ... and the last, so a run ends with its current
                # value; an early stop ends a run too, decided only after the update, so ahead of an evaluation that may stop one
                due = self.sharpness_every and ((self.step - 1) % self.sharpness_every == 0 or self.step == self.plan.total_steps)
                ahead = bool(self.sharpness_every and not due and evaluated and self.early and self.early.may_stop(self.divergence))
                # over all K, as stopped_only reads it; unsettled: 1.0 where a value ran out of sharpness_iters
                sharp, unsettled = (wide(x) for x in self._sharpness()) if due or ahead else (None, None)
                host_loss = None
                if self.graph is not None:  # train step and update, replayed
                    loss, acc, gn, n_rows = self.graph.step(order, ranges, lr)
                else:
                    loss, acc, gn, n_rows = self._train_step(order, ranges, lr)
                    if self.sync_every == 1:  # CPU: syncing is free, so learn about divergence before the update
                        host_loss = wide(loss.tolist())
                        self.divergence.note(self.step, host_loss)
                    self._update(lr, must_mask=self.sync_every > 1 or not self.compaction.all_live(self.divergence))
                vl = va = None
                if evaluated:
                    vl, va = self.evaluate()
                    if self.best is not None:  # before early stopping ends a model at this evaluation
                        self.best.observe(self.step, vl, self.divergence.alive, self.model)
                    vl, va = wide(vl), wide(va)
                if self.early is not None and vl is not None:  # before the records: a stopped model's last row is this one
                    self.early.observe(self.step, vl, self.divergence)
                    sharp = self.early.stopped_only(self.step, sharp, self.divergence) if ahead else sharp
                self.elapsed = time.perf_counter() - t0
                blocks.add((self.step, lrs, host_loss if host_loss is not None else wide(loss), wide(acc), n_rows, wide(gn),
                            vl, va, sharp, self.elapsed, unsettled))
                boundary = self.schedule.interval == "step" or self.step % self.plan.steps_per_epoch == 0
                if self.schedule.advance(boundary, vl):  # a plateau schedule watches each evaluation
                    lrs = self.schedule.lrs()
                    lr = self._lr_column(lrs)
                    self.optimizer.set_momentum(self.compaction.pick(self.schedule.momenta))
                must_see = (bool(self.host_every) and any(self.step % n == 0 for n in self.host_every)) or self.step in self.rungs
                if len(blocks.pending) >= self.sync_every or must_see:
                    yield from blocks.records(now=must_see)
        yield from blocks.records(now=True)
        self.interrupted = self.step < self.plan.total_steps and self.divergence.any_alive()

    def _lr_column(self, lrs: list[float]) -> torch.Tensor:
        """The lrs of the stack's models (all K, or those left after compaction) as a [K, 1] column."""
        return lr_column(self.compaction.pick(lrs), self.dtype, self.device)

    def _sharpness(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each model's top Hessian eigenvalue at the current weights, and 1.0 where it ran out of
        iterations before settling (see lab/sharpness.py)."""
        t0 = time.perf_counter()
        measured = group_sharpness(self)
        self.sharpness_s += time.perf_counter() - t0
        return measured

    # ------------------------------------------------------------------ results
    @property
    def steps_done(self) -> list[int]:
        """Steps each model has trained and recorded: to its divergence step, else to the last record."""
        return [self.recorded_step if d is None else d for d in self.divergence.ended()]

    @property
    def diverged_at(self) -> list[int | None]:
        """The step each model diverged at (None: it did not)."""
        return self.divergence.at

    def prune(self, models: list[int], step: int) -> None:
        """Stop `models` after `step` (a rung they lost at), as an early stop would: frozen, their rows end there."""
        for k in models:
            self.divergence.stop(k, step)
            self.pruned_at[k] = step

    def ended_or(self, otherwise: str) -> list[str]:
        """Each model's status when the run stops abruptly (Ctrl-C, an error): a result it already had (diverged,
        pruned, stopped early), else `otherwise`."""
        return [self.status(k) if at is not None or early is not None else otherwise
                for k, (at, early) in enumerate(zip(self.diverged_at, self.divergence.stopped))]

    def status(self, k: int) -> str:
        if self.diverged_at[k] is not None:
            return "diverged"
        if self.pruned_at[k] is not None:  # a result, as a diverged run is: the sweep stopped it
            return "pruned"
        if self.divergence.stopped[k] is not None:  # stopped early: done by its own rule, whatever the others did
            return "completed"
        return "interrupted" if self.interrupted else "completed"
