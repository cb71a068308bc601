"""A group's training step as one CUDA graph. On a GPU a small model's step is some forty tiny kernels,
and the host spends ~30 us launching each: measured on an H100, the GPU waited on Python, and gdlab's
engine took 1.2-1.65x the time of a hand-written batched loop with fewer kernels. Captured once, the
whole step (forward, loss, backward, clipping, divergence mask, update) is one replay.

Captured: full-batch steps in a fixed row order, where every step runs the same kernels on the same
tensors. Run eagerly as before: mini-batches, train.accumulate > 1, dropout (per-model generators),
BatchNorm, class-weighted losses, a trainer that reads every loss before its update (lr-find), and
GDLAB_CUDA_GRAPHS=0."""

from __future__ import annotations

import gc
import os
import traceback
import weakref
from pathlib import Path

import torch

WARMUP = 3  # eager steps first: optimizer state exists and kernels are chosen; the last runs on the capture stream
RETRY_AFTER, TRIES = 32, 3  # a capture that raised is tried again this many eager steps later, this many times


def can_capture(trainer) -> bool:
    """Whether this trainer's steps can be replayed from one CUDA graph (see the module docstring)."""
    plan, cfg = trainer.plan, trainer.configs[0]
    return (trainer.device.type == "cuda" and trainer.sync_every > 1
            and os.environ.get("GDLAB_CUDA_GRAPHS", "1") != "0"
            and not plan.shuffle and plan.steps_of_epoch() == [[(0, plan.n_rows)]]
            and trainer.loss.weight is None
            and not any(layer.type in ("Dropout", "BatchNorm1d") for layer in cfg.model))


class StepGraph:
    """Runs `trainer`'s step (train step and update): eagerly for the first WARMUP steps, then captured
    once and replayed. Returns what `_train_step` returns, as tensors of their own (a replay overwrites
    the graph's outputs, and the loop keeps a block of steps' values until it reads them)."""

    def __init__(self, trainer):
        # A weak reference: trainer and graph would otherwise form a cycle that only the garbage collector
        # frees, and a collection during a later capture would destroy this graph while that one records.
        self._trainer = weakref.ref(trainer)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.stream = torch.cuda.Stream(device=trainer.device)
        self.eager_steps = 0
        self.errors: list[str] = []  # why captures failed; after TRIES of them every step runs eagerly

    @property
    def tr(self):
        return self._trainer()

    @property
    def status(self) -> str:
        """What ran the steps, for summary.json: `replayed`, or `eager` and why."""
        if self.graph is not None:
            return "replayed"
        return f"eager ({self.errors[-1]})" if self.errors else "eager (the run ended before a capture)"

    def _eager(self, order, ranges, lr):
        out = self.tr._train_step(order, ranges, lr)
        self.tr._update(lr, must_mask=True)  # losses stay on the device: the mask decides (sync_every > 1)
        return out

    def step(self, order, ranges, lr):
        if self.graph is None:
            self.eager_steps += 1
            due = WARMUP + 1 + RETRY_AFTER * len(self.errors)  # the step of the next capture
            if len(self.errors) >= TRIES or self.eager_steps < due - 1:
                return self._eager(order, ranges, lr)
            if self.eager_steps == due - 1:  # lazily made per-stream state (cuBLAS workspaces) exists before capture
                current = torch.cuda.current_stream(self.tr.device)
                self.stream.wait_stream(current)
                # Autograd runs each backward node on the stream its forward ran on, and the leaf's gradient
                # accumulator on the stream it was made on. The kept parameter views (and through them the
                # accumulator) were made on the default stream at step 1: captured, their backward made the
                # legacy stream wait on the capture ("operation would make the legacy stream depend on a
                # capturing blocking stream", H100, torch 2.11). Made again here, they belong to this stream.
                self.tr.model.forget_views()
                with torch.cuda.stream(self.stream):
                    out = self._eager(order, ranges, lr)
                current.wait_stream(self.stream)
                return out
            if not self._capture(order, ranges, lr):
                return self._eager(order, ranges, lr)
        if lr is not self.lr_seen:  # the schedule made a new lr column: into the graph's own
            self.lr.copy_(lr)
            self.lr_seen = lr
        self.graph.replay()
        self.tr.optimizer.step_count += 1  # the host's count (checkpoints); the graph advanced the device's
        packed = self.packed.clone()
        loss, gn = packed[0], packed[-1]
        return loss, packed[1] if self.has_accuracy else None, gn, self.n_rows

    def _capture(self, order, ranges, lr) -> bool:
        """Record one step into a CUDA graph (capturing runs no kernels: the step is still to do)."""
        tr = self.tr
        self.lr, self.lr_seen = lr.clone(), lr
        count = tr.optimizer.step_count  # (on a GPU the optimizer also counts on the device, which replays advance)
        graph = torch.cuda.CUDAGraph()
        # No other graph may be freed while this one records, and only the cycle collector could free one
        # then: it is paused for the capture. (A gc.collect() before it cost 0.19 s in a 1,024-variant sweep.)
        collecting = gc.isenabled()
        gc.disable()
        try:
            # The outer stream context is restored even when ending a failed capture raises first.
            with torch.cuda.stream(self.stream), torch.cuda.graph(graph, stream=self.stream):
                loss, acc, gn, self.n_rows = self._eager(order, ranges, self.lr)
                self.packed = torch.stack([t for t in (loss, acc, gn) if t is not None])
        except Exception as exc:  # noqa: BLE001 - whatever this torch cannot capture, the eager step can run
            self.errors.append(f"capture failed at step {tr.step}: {_reason(exc)}")
            tr.loss.forget_labels()  # made during the capture, they were never filled in
            return False
        finally:
            tr.optimizer.step_count = count
            if collecting:
                gc.enable()
        self.graph, self.has_accuracy = graph, acc is not None
        # The replays read the flattened labels the capture used: keep them alive, whatever the loss caches next.
        self.labels = tr.loss.cached_labels()
        return True


def _reason(exc: BaseException) -> str:
    """An exception's first line, after the one that caused it: ending a failed capture raises its own
    error ("operation failed due to a previous error during capture") over the real one. The real one
    also names gdlab's line it came through: on the H100 that line (`summed.backward()`) found the cause."""
    parts, seen, last = [], exc, exc
    while seen is not None and len(parts) < 3:
        first = (str(seen).strip().splitlines() or [""])[0]
        parts.append(f"{type(seen).__name__}: {first}")
        last, seen = seen, seen.__cause__ or seen.__context__
    return " <- ".join(parts) + _where(last)


_PACKAGE = Path(__file__).resolve().parents[1]  # gdlab/


def _where(exc: BaseException) -> str:
    """` (at engine/loop.py:86: summed.backward())`: the innermost line of gdlab the exception came through."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(_PACKAGE):
            return f" (at {path.relative_to(_PACKAGE).as_posix()}:{frame.lineno}: {frame.line})"
    return ""
