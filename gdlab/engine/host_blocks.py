"""How a group's per-step values reach the host and become `StepRecord`s. On a CPU each step is read as
it comes. On an accelerator the values stay on the device and travel in blocks of steps, one copy per
block; on a CUDA device each block's copy is sent off while the device computes the next block, and read
one block later, so the host's work on the rows (formatting K rows a step, writing K files) overlaps the
device's instead of leaving it idle between blocks."""

from __future__ import annotations

from typing import Iterator

import torch

from gdlab.engine.step_record import StepRecord, host

_DEVICE_FIELDS = (2, 3, 5, 6, 7, 8, 10)  # loss, correct, grad_norm, val_loss, val_correct, sharpness, unsettled in a pending step


class _Sent:
    """A block of steps whose device values are on their way to the host: one stacked copy (None: the
    block held no device tensors) and the event that marks its arrival (None: already there)."""

    def __init__(self, pending: list[tuple], overlap: bool):
        self.pending, self.copy, self.event = pending, None, None
        tensors = [p[i] for p in pending for i in _DEVICE_FIELDS if isinstance(p[i], torch.Tensor)]
        if not tensors:
            return
        stacked = torch.stack(tensors)  # every value is a [K] tensor of the group's dtype
        if overlap and stacked.device.type == "cuda":
            # page-locked memory: the copy runs asynchronously, and the event says when it has landed
            self.copy = torch.empty(stacked.shape, dtype=stacked.dtype, pin_memory=True)
            self.copy.copy_(stacked, non_blocking=True)
            self.event = torch.cuda.Event()
            self.event.record(torch.cuda.current_stream(stacked.device))  # the copy's stream, on cuda:N too
        else:
            self.copy = stacked.cpu()

    def received(self) -> list[tuple]:
        """The block's steps with every device value replaced by its list of host values."""
        if self.copy is None:
            return self.pending
        if self.event is not None:
            self.event.synchronize()  # waits for this copy only, not for the steps queued after it
        values = iter(self.copy.tolist())
        return [tuple(next(values) if i in _DEVICE_FIELDS and isinstance(v, torch.Tensor) else v for i, v in enumerate(p))
                for p in self.pending]


def to_host(pending: list[tuple]) -> list[tuple]:
    """A block's per-model tensors stacked and copied to the host at once: one synchronisation per block."""
    return _Sent(pending, overlap=False).received()


class HostBlocks:
    """Collects the loop's per-step values and turns them into records when they can be read."""

    def __init__(self, trainer, overlap: bool):
        self.tr = trainer
        self.overlap = overlap  # read each block one block late (see the module docstring)
        self.pending: list[tuple] = []
        self.sent: _Sent | None = None

    def add(self, values: tuple) -> None:
        self.pending.append(values)

    def records(self, now: bool = False) -> Iterator[StepRecord]:
        """Records of the steps the host may read now: the block sent at the previous call, while the
        pending one travels (overlap); everything held, in step order, when `now` or without overlap."""
        pending, self.pending = self.pending, []
        if self.overlap and not now:
            earlier, self.sent = self.sent, _Sent(pending, overlap=True) if pending else None
            if earlier is not None:
                yield from self._records(earlier.received())
            return
        if self.sent is not None:
            earlier, self.sent = self.sent, None
            yield from self._records(earlier.received())
        yield from self._records(pending if len(pending) <= 1 else to_host(pending))

    def _records(self, steps: list[tuple]) -> Iterator[StepRecord]:
        tr = self.tr
        # read once per block, not per step: a tiny model's step is ~200 us, and each lookup costs
        divergence, means, per_epoch, last = tr.divergence, tr.epoch_means, tr.plan.steps_per_epoch, tr.plan.total_steps
        n_val = tr.data.x_val.shape[1] if tr.data.has_val else 1
        for step, lrs, loss, acc, n_rows, gn, vl, va, sharp, wall, unsettled in steps:
            losses, counts = host(loss), host(acc) if acc is not None else None
            divergence.note(step, losses)
            means.add(step, losses, counts, n_rows, divergence.stopped if divergence.n_stopped else None)
            # a measured sharpness or validation value is always written, whatever train.log_every says, and so
            # is step 1's row: the loss at the initial weights, which the rising-loss note compares the final one with
            logged = step % tr.log_every == 0 or vl is not None or sharp is not None or step == last or step == 1
            emit, only_live = divergence.rows(step, logged)
            tr.recorded_step = step
            sharpness = only_live(host(sharp)) if sharp is not None else None
            if sharpness is not None:  # count only the measurements the rows log
                for k, (x, short) in enumerate(zip(sharpness, host(unsettled))):
                    if x is not None and emit[k] and short == 1.0:
                        tr.sharpness_unsettled[k] += 1
            yield StepRecord(
                step=step,
                # full batch: the step itself (what rounding step / 1 gives)
                epoch=float(step) if per_epoch == 1 else round(step / per_epoch, tr.epoch_decimals),
                wall_s=wall,
                emit=emit,
                lr=list(lrs),
                train_loss=losses,
                grad_norm=host(gn),
                # accuracies divide exact counts on the host, so they print as 0.86, not 0.8600000143
                train_accuracy=[c / n_rows for c in counts] if counts is not None else None,
                val_loss=only_live(host(vl)) if vl is not None else None,
                val_accuracy=[None if x is None else x / n_val for x in only_live(host(va))] if va is not None else None,
                extra={"sharpness": sharpness} if sharpness is not None else {},
            )
