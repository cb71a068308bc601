"""A config's dataset as tensors: checked against the loss, shaped for it, split and optionally standardized."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from gdlab.config import CLASSIFICATION_DATA
from gdlab.datasets import RawData, read_raw
from gdlab.errors import GdlabError
from gdlab.model import machine_memory

if TYPE_CHECKING:
    from gdlab.config import Config

REGRESSION_LOSSES = "MSELoss, L1Loss or HuberLoss"
SPLIT_STREAM = 1  # keeps the split permutation independent of the generators' draws from the same seed


@dataclass(frozen=True)
class Dataset:
    """Train (and optional validation) tensors plus what a model and loss need to know about them."""

    x_train: torch.Tensor  # [N, D] float
    y_train: torch.Tensor  # CrossEntropyLoss: int64 [N]; BCEWithLogitsLoss: float [N, 1]; regression: float [N, T]
    x_val: torch.Tensor | None  # None when val_fraction == 0
    y_val: torch.Tensor | None
    task: str  # "classification" | "regression", from the loss
    n_features: int
    n_outputs: int  # model output width the loss needs
    n_classes: int | None  # classes in the labels of a classification dataset, else None
    feature_names: list[str]


def data_seed(cfg: Config) -> int:
    """The seed for generating and splitting data: `data.seed`, or the config's `seed` when that is null."""
    return cfg.data.seed if cfg.data.seed is not None else cfg.seed


def load_data(cfg: Config, dtype: torch.dtype = torch.float32) -> Dataset:
    """Build, check, shape, split and standardize the config's data; the same config gives bit-identical tensors."""
    seed = data_seed(cfg)
    loss = cfg.loss.name
    check_loss_fits_data(cfg)
    check_data_fits(cfg)
    try:
        raw = read_raw(cfg.data, seed, labels=cfg.task == "classification", loss_name=loss)
    except MemoryError:  # what the estimate below let through (numpy's own error is a traceback)
        raise GdlabError(f"data: '{cfg.data.name}' does not fit in this machine's memory; use fewer rows or features") from None
    check_classes(cfg, raw)
    check_loss_weights(cfg, dtype)
    y = shape_targets(raw, loss)
    train, val = split_indices(len(raw.x), cfg.data.val_fraction, seed)
    x_train, x_val = raw.x[train], raw.x[val] if val is not None else None
    if cfg.data.standardize:
        x_train, x_val = standardize(x_train, x_val, raw.feature_names)
    n_outputs = {"BCEWithLogitsLoss": 1, "CrossEntropyLoss": raw.n_classes}.get(loss) or y.shape[1]
    names = list(raw.feature_names)
    noise = getattr(cfg.data, "noise", None)  # a generated set: nothing but its noise reaches beyond a float's range
    return Dataset(
        x_train=_finite(_tensor(x_train, dtype), names, noise),
        y_train=_finite(_tensor(y[train], dtype), None, noise),
        x_val=None if val is None else _finite(_tensor(x_val, dtype), names, noise),
        y_val=None if val is None else _finite(_tensor(y[val], dtype), None, noise),
        task=cfg.task,
        n_features=raw.x.shape[1],
        n_outputs=int(n_outputs),
        n_classes=raw.n_classes,
        feature_names=list(raw.feature_names),
    )


def check_loss_fits_data(cfg: Config) -> None:
    """A classification loss needs a dataset with class labels; checked before any data is built."""
    name = cfg.data.name
    if cfg.task == "classification" and name != "csv" and name not in CLASSIFICATION_DATA:
        raise GdlabError(
            f"data.name: '{name}' is a regression dataset; {cfg.loss.name} needs class labels"
            f" — use {REGRESSION_LOSSES}"
        )


def _labels_of(raw: RawData) -> str:
    labels = np.unique(np.asarray(raw.y)).astype(int).tolist()
    return ", ".join(map(str, labels[:6])) + (", …" if len(labels) > 6 else "")


def check_data_fits(cfg: Config) -> None:
    """Refuse generated data that cannot fit in memory before numpy tries: n_samples x n_features float64
    values, about 4 copies while it is generated, split, converted and standardized."""
    n, d = getattr(cfg.data, "n_samples", None), getattr(cfg.data, "n_features", None) or 2
    if not n:
        return
    need, memory = 8 * 4 * n * (d + 1), machine_memory()
    if memory is not None and need > memory:  # unknown on some platforms: then the MemoryError catch speaks
        raise GdlabError(f"data.n_samples: {n:,} rows x {d} features need about {need / 2**30:,.0f} GiB while loading; "
                         f"this machine has {memory / 2**30:,.0f} GiB: use fewer rows or features")


def check_classes(cfg: Config, raw: RawData) -> None:
    """BCEWithLogitsLoss needs exactly two classes; CrossEntropyLoss.weight needs one entry per class."""
    loss = cfg.loss
    if raw.n_classes is None or cfg.task != "classification":
        return
    if loss.name == "BCEWithLogitsLoss" and raw.n_classes != 2:
        raise GdlabError(
            f"loss: BCEWithLogitsLoss needs two classes labelled 0 and 1, but data '{cfg.data.name}' has labels "
            f"{_labels_of(raw)}; use CrossEntropyLoss, or relabel them 0 and 1"
        )
    weight = getattr(loss, "weight", None)
    if weight is not None and len(weight) != raw.n_classes:
        raise GdlabError(
            f"loss.weight: {len(weight)} entries, but data '{cfg.data.name}' has {raw.n_classes} classes; "
            "give one weight per class"
        )


def check_loss_weights(cfg: Config, dtype: torch.dtype) -> None:
    """A loss weight the training dtype cannot hold is inf (every run 'diverges' at step 1) or 0 (a class the
    schema says must weigh > 0 silently counts for nothing)."""
    kind, name = torch.finfo(dtype), str(dtype).removeprefix("torch.")
    for key in ("weight", "pos_weight"):
        value = getattr(cfg.loss, key, None)
        for v in value if isinstance(value, list) else [value] if value is not None else []:
            if v > kind.max or v < kind.smallest_normal:
                how = f"beyond {name}'s range (±{kind.max:.3g}); lower it" if v > kind.max else \
                    f"below {name}'s smallest normal number ({kind.smallest_normal:.3g}); raise it"
                raise GdlabError(f"loss.{key}: {v:g} is {how}, or set train.dtype: float64")


def shape_targets(raw: RawData, loss: str) -> np.ndarray:
    """Targets in the shape `loss` compares with: labels [N], a [N, 1] column for BCE, one-hot for regression losses."""
    if raw.n_classes is None:
        return raw.y
    if loss == "CrossEntropyLoss":
        return raw.y
    if loss == "BCEWithLogitsLoss":
        return raw.y.astype(np.float64).reshape(-1, 1)
    return np.eye(raw.n_classes, dtype=np.float64)[raw.y]


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A seeded permutation of `n` rows; its last round(n * val_fraction) (at least 1) are the validation rows."""
    order = np.random.default_rng([seed, SPLIT_STREAM]).permutation(n)
    if val_fraction == 0:
        return order, None
    n_val = max(1, round(n * val_fraction))
    if n_val >= n:
        raise GdlabError(
            f"data.val_fraction: {val_fraction} of {n} rows leaves no training rows; lower it or use more rows"
        )
    return order[: n - n_val], order[n - n_val :]


def standardize(x_train: np.ndarray, x_val: np.ndarray | None, names=()) -> tuple[np.ndarray, np.ndarray | None]:
    """Scale features to mean 0, std 1 using training statistics only (constant features keep std 1)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # an overflow is reported below, in one line
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            # again on each column divided by its largest magnitude: squaring 1e160 overflows, its std does not
            scale = np.abs(x_train).max(axis=0)
            scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
            mean, std = (x_train / scale).mean(axis=0) * scale, (x_train / scale).std(axis=0) * scale
    bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
    if bad.size:
        name = names[bad[0]] if len(names) > bad[0] else f"column {bad[0]}"
        raise GdlabError(f"data.standardize: feature '{name}' is too large to standardize (its mean or std overflows "
                         "a float64); rescale its values")
    # A constant column's std is rounding noise (0.1 repeated: 1.4e-17), not a scale: dividing by it made
    # the column 1 instead of 0 and a validation value of 0.2 into 6e14. Only an exactly constant column
    # is one: a timestamp with millisecond jitter (std 5e-5 around 1e8) is a real feature.
    constant = x_train.max(axis=0) == x_train.min(axis=0) if len(x_train) else np.zeros(x_train.shape[1], bool)
    std = np.where((std == 0) | constant, 1.0, std)
    return (x_train - mean) / std, None if x_val is None else (x_val - mean) / std


def _finite(t: torch.Tensor, names: list[str] | None = None, noise: float | None = None) -> torch.Tensor:
    """Refuse values that became infinite in the training dtype (finite in the file, beyond float32's ±3.4e38).
    `names`: the feature columns of `t`, None for the target; `noise`: a generated set's data.noise."""
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        column = int((~torch.isfinite(t.reshape(len(t), -1))).any(0).nonzero()[0]) if t.dim() > 1 else 0
        what = f"feature '{names[column]}'" if names is not None and column < len(names) else "the target"
        limit = f"{str(t.dtype).removeprefix('torch.')}'s range (±{torch.finfo(t.dtype).max:.3g})"
        if noise is not None:  # no file to rescale: the noise put them there
            raise GdlabError(f"data.noise: {noise:g} puts values of {what} beyond {limit}; lower data.noise")
        raise GdlabError(f"data: {what} has values beyond {limit}; rescale it, or set train.dtype: float64")
    return t


def _tensor(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    if np.issubdtype(array.dtype, np.integer):
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.int64))
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64)).to(dtype)
