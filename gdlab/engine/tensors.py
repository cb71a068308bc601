"""The data of a group on its device: shared by all K models when their datasets are the same
object, stacked per model otherwise, and sliced into micro-batches without copying where possible."""

from __future__ import annotations

import torch

from gdlab.data import Dataset


class GroupData:
    def __init__(self, datasets: list[Dataset], device: torch.device, dtype: torch.dtype):
        self.K = len(datasets)
        shared = all(d is datasets[0] for d in datasets)
        pick = [datasets[0]] if shared else datasets

        def stack(get, float_=True):
            tensors = [get(d) for d in pick]
            if tensors[0] is None:
                return None
            t = torch.stack(tensors).to(device)
            return t.to(dtype) if float_ and t.is_floating_point() else t

        self.x_train = stack(lambda d: d.x_train)  # [G, N, D], G = 1 (shared) or K
        self.y_train = stack(lambda d: d.y_train)  # [G, N] labels or [G, N, T] targets
        self.x_val = stack(lambda d: d.x_val)
        self.y_val = stack(lambda d: d.y_val)
        self.n_train = self.x_train.shape[1]
        self.has_val = self.x_val is not None
        self._rows = torch.arange(self.K, device=device).unsqueeze(1)
        self._fixed: dict[tuple, torch.Tensor] = {}

    def resized(self, K: int) -> None:
        """The group now holds K models (engine/compact.py cut or restored the per-model tensors)."""
        self.K = K
        self._rows = torch.arange(K, device=self._rows.device).unsqueeze(1)
        self._fixed = {}

    def _expand(self, t: torch.Tensor) -> torch.Tensor:
        return t.expand(self.K, *t.shape[1:]) if t.shape[0] == 1 else t

    def _take(self, t: torch.Tensor, order: torch.Tensor | None, a: int, b: int, seed_index: torch.Tensor, one: bool):
        # one: a group of one model gets its rows without the model axis ([B, D], not [1, B, D])
        if order is None:  # rows in order: the same slices every epoch, so make them once
            key = (id(t), a, b, one)
            if key not in self._fixed:
                self._fixed[key] = t[0, a:b] if one else self._expand(t[:, a:b])
            return self._fixed[key]
        rows = order[:, a:b].to(t.device)  # [S, B]: one order per distinct seed
        if t.shape[0] == 1 and rows.shape[0] == 1:
            return t[0, rows[0]] if one else self._expand(t[0, rows[0]].unsqueeze(0))
        rows = rows[seed_index.to(t.device)]  # [K, B]
        if t.shape[0] == 1:
            return t[0][rows]
        return t[self._rows, rows]

    def train_batch(self, order, a: int, b: int, seed_index: torch.Tensor, one: bool = False):
        """Inputs [K, B, D] and targets for rows a:b of this epoch's order ([B, D] with `one`, for K = 1)."""
        if order is None:  # rows in order (full batch every step): the pair itself is made once
            key = ("batch", a, b, one)
            pair = self._fixed.get(key)
            if pair is None:
                pair = self._fixed[key] = (self._take(self.x_train, None, a, b, seed_index, one),
                                           self._take(self.y_train, None, a, b, seed_index, one))
            return pair
        return self._take(self.x_train, order, a, b, seed_index, one), self._take(self.y_train, order, a, b, seed_index, one)

    def train_targets(self, order, a: int, b: int, seed_index: torch.Tensor, one: bool = False):
        """The targets of `train_batch` alone (a weighted loss's shares need them before the inputs)."""
        return self._take(self.y_train, order, a, b, seed_index, one)

    def train_all(self):
        return self._whole("train", self.x_train, self.y_train)

    def val_all(self):
        return self._whole("val", self.x_val, self.y_val)

    def _whole(self, split: str, x: torch.Tensor, y: torch.Tensor):
        # the same tensors every call: the loss's flattened labels are cached by identity (engine/losses.py)
        if split not in self._fixed:
            self._fixed[split] = (self._expand(x), self._expand(y))
        return self._fixed[split]
