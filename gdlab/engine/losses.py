"""Per-model losses and accuracies for stacked outputs [K, N, C]: each model's loss is the mean
its own `nn.*Loss(reduction='mean')` would give, so summing them gives each model its own gradient."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gdlab.config import LossConfig


class StackedLoss:
    """`__call__(out [K,N,C], y) -> [K]` losses; `correct(out, y) -> [K]` counts of right answers."""

    def __init__(self, cfg: LossConfig, device: torch.device, dtype: torch.dtype):
        self.cfg = cfg
        self.name = cfg.name
        as_tensor = lambda v: torch.as_tensor(v, dtype=dtype, device=device)  # noqa: E731
        self.weight = as_tensor(cfg.weight) if getattr(cfg, "weight", None) else None
        self.pos_weight = as_tensor([cfg.pos_weight]) if getattr(cfg, "pos_weight", None) else None
        self._labels: list[tuple[torch.Tensor, torch.Tensor]] = []  # (labels, flattened), most recent last
        self._ones: torch.Tensor | None = None  # the gradient `backward` starts from, made once per model count

    def __call__(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        K, N = out.shape[0], out.shape[1]
        if K == 1:  # one model: torch's own fused mean reduction, fewer graph nodes than the stacked form
            return self._single(out[0], y[0] if y.dim() == out.dim() - (self.name == "CrossEntropyLoss") else y).view(1)
        if self.name == "CrossEntropyLoss":
            flat_y = self._flat_labels(y, K, N)
            per_row = F.cross_entropy(
                out.reshape(K * N, -1), flat_y, weight=self.weight,
                label_smoothing=self.cfg.label_smoothing, reduction="none",
            ).view(K, N)
            if self.weight is None:
                return per_row.mean(1)
            return per_row.sum(1) / self.weight[y.expand(K, N)].sum(1)  # torch's weighted mean divides by the weights
        y = y.expand_as(out)
        if self.name == "MSELoss":
            per = F.mse_loss(out, y, reduction="none")
        elif self.name == "L1Loss":
            per = F.l1_loss(out, y, reduction="none")
        elif self.name == "HuberLoss":
            per = F.huber_loss(out, y, reduction="none", delta=self.cfg.delta)
        else:
            per = F.binary_cross_entropy_with_logits(out, y, pos_weight=self.pos_weight, reduction="none")
        return per.flatten(1).mean(1)

    def cached_labels(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The labels `_flat_labels` used last (a CUDA graph keeps the ones it captured alive)."""
        return self._labels[-1] if self._labels else None

    def forget_labels(self) -> None:
        self._labels = []

    def _flat_labels(self, y: torch.Tensor, K: int, N: int) -> torch.Tensor:
        # Flattening labels shared by K models copies them. The training loop passes the same batch tensor
        # every step when rows stay in order, validation its own, sharpness the whole train split: a slot
        # each, so each is copied once.
        for entry in self._labels:
            if entry[0] is y:
                self._labels = [e for e in self._labels if e is not entry] + [entry]
                return entry[1]
        self._labels = self._labels[-2:] + [(y, y.expand(K, N).reshape(-1))]
        return self._labels[-1][1]

    def for_backward(self, out: torch.Tensor, y: torch.Tensor, share: torch.Tensor | None = None):
        """(the per-model losses [K] to pass to `backward`, the same detached). `share` [K] scales each
        model's loss first (weight_shares)."""
        losses = self(out, y) if share is None else self(out, y) * share
        return losses, losses.detach()

    def backward(self, losses: torch.Tensor) -> None:
        """Backpropagate the sum of the K losses [K] (a group of one's scalar: itself), which gives each model
        exactly its own gradient. The sum's gradient, ones, goes to autograd directly: no sum node, and no
        ones_like made every step."""
        if losses.dim() == 0:
            return losses.backward()
        if self._ones is None or self._ones.shape != losses.shape:
            self._ones = torch.ones_like(losses)
        losses.backward(self._ones)

    def for_backward_one(self, out: torch.Tensor, y: torch.Tensor, share: torch.Tensor | None = None):
        """`for_backward` for a group of one without the model axis (out [N, C], y [N] or [N, T]): the
        model backpropagates its own scalar loss, torch's fused mean, with the fewest graph nodes."""
        loss = self._single(out, y) if share is None else self._single(out, y) * share.reshape(())
        return loss, loss.detach().view(1)

    def weight_shares(self, ys: list[torch.Tensor]) -> list[torch.Tensor] | None:
        """Each micro-batch's share of a step's loss for a class-weighted CrossEntropyLoss: its targets'
        weight over the step's (torch's weighted mean divides by that sum, so a row count share is off).
        [K] (or one value) per micro-batch; None where the row count share is exact."""
        if self.weight is None or self.name != "CrossEntropyLoss" or len(ys) < 2:
            return None
        sums = [self.weight[y].sum(-1) for y in ys]
        total = sum(sums)
        return [s / total for s in sums]

    def _single(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.name == "CrossEntropyLoss":
            return F.cross_entropy(out, y, weight=self.weight, label_smoothing=self.cfg.label_smoothing)
        if self.name == "MSELoss":
            return F.mse_loss(out, y.expand_as(out))
        if self.name == "L1Loss":
            return F.l1_loss(out, y.expand_as(out))
        if self.name == "HuberLoss":
            return F.huber_loss(out, y.expand_as(out), delta=self.cfg.delta)
        return F.binary_cross_entropy_with_logits(out, y.expand_as(out), pos_weight=self.pos_weight)

    def correct(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """Correct predictions per model (classification only), as a float [K]; out [N, C] counts as K = 1."""
        if self.name == "CrossEntropyLoss":  # eq_ in place on the fresh predictions: one kernel less
            if out.shape[-1] == 2 and out.numel() >= 8192:
                return _correct_of_two(out, y).view(-1)
            return out.argmax(-1).eq_(y).sum(-1, dtype=out.dtype).view(-1)
        if out.dim() == 2:
            out, y = out.unsqueeze(0), y.unsqueeze(0)
        if self.name == "BCEWithLogitsLoss":
            return ((out > 0) == (y > 0.5)).flatten(1).sum(1, dtype=out.dtype)
        return None


def _correct_of_two(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """What `out.argmax(-1).eq(y).sum(-1)` counts, for two classes: argmax picks class 0 where o0 >= o1 or
    o0 is NaN (it takes NaN as the largest, the first one if both are). On a CPU argmax over a last
    dimension of 2 is slow: 52 us for 128 models x 64 rows, this about half; for small outputs argmax wins."""
    o0, o1 = out[..., 0], out[..., 1]
    picks_zero = torch.ge(o0, o1).logical_or_(torch.isnan(o0))
    return picks_zero.ne_(y).sum(-1, dtype=out.dtype)  # right where (picks 0) != (label is 1)
