"""Compaction: once most of a group's models have ended (diverged, or stopped early), every per-model piece
of the trainer's state is cut down to the models still training, so later steps compute only those.

The host's bookkeeping stays per original model (Divergence's steps, EarlyStop, EpochMeans, the schedule's
lrs, the metrics): each step's per-row values are spread back over all K, NaN for models no longer in the
stack, which by then write no rows. When the run ends the removed models' state is put back, so whatever
reads the trainer afterwards (model.pt, best weights, summaries) sees the K models it would have seen."""

from __future__ import annotations

import torch

from gdlab.engine.divergence import spread
from gdlab.engine.stack import StackedMLP

ENABLED = True  # tests turn it off to compare a compacted group with the same group computed in full
# A stack of one runs torch's plain 2-D kernels and fused loss mean (stack.py, losses.py), which need not
# round as the batched ones do: the last survivor keeps an ended model beside it, so results stay bit for bit.
MIN_ROWS = 2
# A rebuild copies the whole state once, about a step's work; from at least half the rows fewer, the
# steps after it pay that back within a few steps.
MIN_STEPS_LEFT = 4


class Compaction:
    """Which original models the stack's rows hold (`rows`), and the state of those removed from it."""

    def __init__(self, trainer):
        self.K = trainer.K
        self.rows = list(range(self.K))  # the original index of each row of the stack
        self.index: torch.Tensor | None = None  # `rows` on the device; None while the stack is whole
        self.removed: list[tuple[torch.Tensor, dict[str, torch.Tensor]]] = []  # (original indices, their rows)
        self.whole: tuple | None = None  # the uncut host lists (dropout generators, order streams)
        self.history: list[tuple[int, int]] = []  # (step after which it cut, rows left): for tests and benchmarks
        # A captured CUDA graph replays the tensors it recorded: a cut stack would need a new capture. No GPU
        # was at hand to test one, so a group whose steps are captured is never compacted (the safe choice).
        self.enabled = ENABLED and self.K > MIN_ROWS and trainer.graph is None

    def due(self, tr) -> bool:
        """At most half the stack's rows still train, and enough steps are left to pay for the rebuild:
        each rebuild halves the stack at least, so a run copies its state at most twice over in all."""
        if not self.enabled:
            return False
        d = tr.divergence
        live = max(self.K - d.n_diverged - d.n_stopped, MIN_ROWS)
        return 2 * live <= len(self.rows) and tr.plan.total_steps - tr.step >= MIN_STEPS_LEFT

    def all_live(self, d) -> bool:
        """Whether every row of the stack still trains, as the host knows: then the update needs no mask,
        also after a cut that left only live models (Divergence.all_alive counts all K)."""
        return self.K - d.n_diverged - d.n_stopped == len(self.rows)

    def apply(self, tr) -> None:
        """Keep only the rows of models the host knows still train (on an accelerator, one it has not yet
        heard has diverged stays, masked, as it would without compaction)."""
        d = tr.divergence
        keep = [r for r, k in enumerate(self.rows) if d.alive_host(k)]
        keep = sorted(keep + [r for r in range(len(self.rows)) if r not in keep][: max(0, MIN_ROWS - len(keep))])
        drop = [r for r in range(len(self.rows)) if r not in keep]
        d.limits()  # the host's copy of every model's limit is read before the device's is cut
        if self.whole is None:
            self.whole = (tr.model.dropout_generators, tr.order.generators, tr.order.index)
        places = _places(tr)
        at = lambda rows: torch.tensor(rows, device=tr.device)  # noqa: E731
        # Every copy is made before anything changes: one that fails (out of memory) leaves the stack whole
        before = {name: _get(*place) for name, place in places.items()}
        cut = {name: t[at(keep)] for name, t in before.items()}
        self.removed.append((at([self.rows[r] for r in drop]), {name: t[at(drop)] for name, t in before.items()}))
        # the data order streams of seeds no kept model follows are dropped; the others draw on as before
        streams = tr.order.index[keep]
        used = sorted(set(streams.tolist()))
        order = ([tr.order.generators[s] for s in used], torch.tensor([used.index(s) for s in streams.tolist()]),
                 None if tr.epoch_order is None else tr.epoch_order[used])
        generators = [tr.model.dropout_generators[r] for r in keep] if tr.model.dropout_generators else []
        was = (self.rows, tr.model.dropout_generators, (tr.order.generators, tr.order.index, tr.epoch_order))
        try:
            self._install(tr, places, cut, [self.rows[r] for r in keep], generators, order)
        except BaseException:  # a second Ctrl-C mid-way: the stack as it was, whole or cut, for restore() to read
            self._install(tr, places, before, *was)
            self.removed.pop()
            raise
        self.history.append((tr.step, len(keep)))

    def restore(self, tr) -> None:
        """Put the removed models back: the stack holds all K again, each row its original model. The data
        order stays cut: only a checkpoint reads it, and a group of several models never writes one."""
        if self.index is None:
            return
        places = _places(tr)
        wholes = {}
        for name, place in places.items():
            now = _get(*place)
            whole = wholes[name] = now.new_zeros((self.K, *now.shape[1:]))
            whole[self.index] = now
            for index, saved in self.removed:
                if name in saved:  # (absent only if made after that cut: zeros, as nothing reads it)
                    whole[index] = saved[name]
        generators, streams, index = self.whole
        self._install(tr, places, wholes, list(range(self.K)), generators, (streams, index, tr.epoch_order))
        self.removed = []

    def _install(self, tr, places: dict, values: dict, rows: list[int], generators: list, order: tuple) -> None:
        """Make `values` the per-model tensors, holding the original models `rows`, and what follows from them."""
        for name, place in places.items():
            _set(*place, values[name])
        tr.model.dropout_generators = generators
        tr.order.generators, tr.order.index, tr.epoch_order = order
        tr.seed_index = tr.order.index.to(tr.device)
        whole = len(rows) == self.K
        self.rows, self.index = rows, None if whole else torch.tensor(rows, device=tr.device)
        self._resized(tr, None if whole else rows)

    def _resized(self, tr, rows: list[int] | None) -> None:
        """What is derived from the stack's model count, made again."""
        tr.model.K = len(rows) if rows is not None else self.K
        tr.model.forget_views()
        tr.data.resized(tr.model.K)
        tr.loss.forget_labels()  # labels flattened for the old count of models
        tr.divergence.stack_rows = rows

    def pick(self, values: list | None) -> list | None:
        """The stack's rows of a list over all K models (an lr or momentum per model)."""
        return values if self.index is None or values is None else [values[k] for k in self.rows]

    def expand(self, values):
        """A per-row tensor or list of the stack as one over all K models, NaN where a model was removed."""
        if self.index is None or values is None:
            return values
        if isinstance(values, list):
            return spread(values, self.rows, self.K, float("nan"))
        return values.new_full((self.K,), float("nan")).index_copy_(0, self.index, values)


def _places(tr) -> dict[str, tuple[object, str]]:
    """Where each per-model tensor of the trainer lives (a dict or an object, and its key), model axis first."""
    m, opt, d, best = tr.model, tr.optimizer, tr.divergence, tr.best
    places = {"flat": (m, "flat"), "alive": (d, "alive")}
    places |= {f"buffer {n}": (m.buffers, n) for n in m.buffers}
    places |= {f"hyper {n}": (opt.h, n) for n in opt.h}  # momentum, betas, ... (the lr column: the loop's)
    places |= {f"moment {n}": (opt.state, n) for n in opt.state}
    if d.limit is not None:
        places["limit"] = (d, "limit")
    if best is not None:
        places |= {"best flat": (best, "flat"), "best val": (best, "val"), "best step": (best, "step")}
        places |= {f"best buffer {n}": (best.buffers, n) for n in best.buffers}
    for n in ("x_train", "y_train", "x_val", "y_val"):  # each model's own dataset; one shared by all has one row
        t = getattr(tr.data, n)
        if t is not None and t.shape[0] > 1:
            places[f"data {n}"] = (tr.data, n)
    return places


def _get(owner, key: str) -> torch.Tensor:
    value = owner[key] if isinstance(owner, dict) else getattr(owner, key)
    return value.detach()


def _set(owner, key: str, value: torch.Tensor) -> None:
    if isinstance(owner, dict):
        owner[key] = value
    elif isinstance(owner, StackedMLP):  # the weights: the one leaf autograd fills
        owner.flat = value.requires_grad_(True)
    else:
        setattr(owner, key, value)
