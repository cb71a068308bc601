"""Decision regions of a trained 2-D classifier: rebuild a run's data and model from its folder, evaluate
the model (model.pt, and any snapshots/step_*.pt) on a grid over the data, and return numpy arrays.

torch is imported inside the functions, so importing this module stays light; drawing lives in
`gdlab.plotting.boundary_plot`, which never sees torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gdlab.errors import GdlabError
from gdlab.weights import check_fits, choose_snapshots, load_weights, snapshot_files

DEFAULT_GRID = 200
GRID_RANGE = (20, 1000)
MARGIN = 0.1  # of the data's extent, on every side
CHUNK = 65_536  # grid rows per forward pass, to bound memory at large --grid


@dataclass
class Prediction:
    """One set of weights evaluated on the grid (arrays are [len(ys), len(xs)], row = y)."""

    label: str  # "final" or "step N"
    step: int | None
    classes: np.ndarray  # int64: the predicted class at each grid point
    confidence: np.ndarray  # float: the probability of the predicted class
    p1: np.ndarray | None  # float: P(class 1), for two classes only (what a binary colour scale shows)
    train_accuracy: float | None = None
    val_accuracy: float | None = None


@dataclass
class Boundary:
    """What the boundary figures need: the grid, the data as the model sees it, and the predictions."""

    xs: np.ndarray  # [G] grid x coordinates
    ys: np.ndarray  # [G] grid y coordinates
    x_train: np.ndarray  # [N, 2]
    y_train: np.ndarray  # [N] int labels
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    n_classes: int
    feature_names: list[str]
    standardized: bool
    name: str
    run: Path
    status: str | None
    final: Prediction | None = None
    snapshots: list[Prediction] = field(default_factory=list)


def _load_config(folder: Path):
    from gdlab.loading import load_config

    path = folder / "config.yaml"
    if not path.is_file():
        raise GdlabError(f"{path}: no such file; --boundary rebuilds the data and model from a run's config.yaml")
    return load_config(path)


def _status(folder: Path) -> str | None:
    import json

    try:
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    status = data.get("status") if isinstance(data, dict) else None
    return status if isinstance(status, str) else None


def _axis(values: np.ndarray, size: int) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    span = high - low
    pad = MARGIN * span if span > 0 else max(abs(low) * MARGIN, 1.0)
    return np.linspace(low - pad, high + pad, size)


def _labels(y) -> np.ndarray:
    """Integer class labels from CrossEntropyLoss labels [N] or a BCEWithLogitsLoss column [N, 1]."""
    array = y.detach().cpu().numpy()
    return array.reshape(-1).round().astype(np.int64) if array.ndim > 1 else array.astype(np.int64)


def compute_boundary(folder: Path, grid: int = DEFAULT_GRID, snapshots: bool = True,
                     warnings: list[str] | None = None) -> Boundary:
    """Evaluate the run's model.pt (and up to MAX_SNAPSHOTS snapshots) on a grid x grid mesh over its data.

    A missing, corrupt or refused model.pt raises GdlabError; a bad snapshot is skipped with a warning.
    """
    import torch

    from gdlab.data import load_data
    from gdlab.model import build_sequential, check_shapes

    warnings = warnings if warnings is not None else []
    if not GRID_RANGE[0] <= grid <= GRID_RANGE[1]:
        raise GdlabError(f"--grid {grid}: use {GRID_RANGE[0]} to {GRID_RANGE[1]} points per side")
    cfg = _load_config(folder)
    if cfg.task != "classification":
        raise GdlabError(
            f"{folder}: --boundary needs a classification run (CrossEntropyLoss or BCEWithLogitsLoss); "
            f"this run trains {cfg.loss.name}, a regression loss, on '{cfg.data.name}'"
        )
    dtype = torch.float64 if cfg.train.dtype == "float64" else torch.float32
    data = load_data(cfg, dtype)
    if data.n_features != 2:
        raise GdlabError(
            f"{folder}: --boundary draws 2-D inputs only; this run's data '{cfg.data.name}' has "
            f"{data.n_features} features"
        )
    check_shapes(cfg, data.n_features, data.n_outputs, data.n_classes)
    n_classes = int(data.n_classes or 2)
    binary_logit = cfg.loss.name == "BCEWithLogitsLoss"

    x_train, y_train = data.x_train.cpu().numpy().astype(float), _labels(data.y_train)
    has_val = data.x_val is not None
    x_val = data.x_val.cpu().numpy().astype(float) if has_val else None
    y_val = _labels(data.y_val) if has_val else None
    points = np.concatenate([x_train, x_val]) if has_val else x_train
    xs, ys = _axis(points[:, 0], grid), _axis(points[:, 1], grid)
    mesh = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)  # row-major: y outer, x inner

    model = build_sequential(cfg).to(dtype)
    model.eval()  # dropout off, batch norm on its running statistics

    def evaluate(state: dict, path: Path, label: str, step: int | None) -> Prediction:
        check_fits(state, model, path)
        model.load_state_dict(state)
        with torch.no_grad():
            def forward(x) -> "torch.Tensor":
                x = torch.as_tensor(x, dtype=dtype)
                return torch.cat([model(x[i : i + CHUNK]) for i in range(0, len(x), CHUNK)])

            def accuracy(x, y) -> float | None:
                if x is None or len(y) == 0:
                    return None
                predicted, _, _ = _decide(forward(x), binary_logit)
                return float((predicted == y).mean())

            classes, confidence, p1 = _decide(forward(mesh), binary_logit)
            train_acc = accuracy(data.x_train, y_train)
            val_acc = accuracy(data.x_val, y_val) if has_val else None
        shape = (len(ys), len(xs))
        blank = float((classes < 0).mean())
        if blank:
            warnings.append(f"{path}: the model outputs NaN or inf on {100 * blank:.3g}% of the grid (diverged "
                            "weights?); those areas are left blank")
        return Prediction(label=label, step=step, classes=classes.reshape(shape), confidence=confidence.reshape(shape),
                          p1=None if p1 is None else p1.reshape(shape), train_accuracy=train_acc, val_accuracy=val_acc)

    result = Boundary(xs=xs, ys=ys, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, n_classes=n_classes,
                      feature_names=list(data.feature_names[:2]) or ["x0", "x1"], standardized=cfg.data.standardize,
                      name=cfg.name, run=folder, status=_status(folder))
    model_path = folder / "model.pt"
    result.final = evaluate(load_weights(model_path), model_path, "final", None)
    if snapshots:
        files = snapshot_files(folder)
        for step in choose_snapshots(list(files)):
            try:
                result.snapshots.append(evaluate(load_weights(files[step]), files[step], f"step {step}", step))
            except GdlabError as exc:
                warnings.append(f"{exc.message}; skipping that snapshot")
    return result


def _decide(logits, binary_logit: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(classes, confidence, P(class 1) or None) from model outputs; classes are the outputs' argmax
    (CrossEntropyLoss) or logit > 0 (BCEWithLogitsLoss), exactly what training's accuracy counts.
    Where an output is NaN or inf (diverged weights) there is no prediction: class -1, NaN probabilities."""
    import torch

    logits = logits.detach().to(torch.float64).cpu().reshape(len(logits), -1)
    bad = ~torch.isfinite(logits).all(dim=1)
    if binary_logit:
        logit = logits[:, 0]
        p1 = torch.sigmoid(logit)
        classes = (logit > 0).to(torch.int64)
        confidence = torch.where(classes == 1, p1, 1 - p1)
    else:
        probs = torch.softmax(logits, dim=1)
        classes = logits.argmax(dim=1)
        confidence = probs.gather(1, classes[:, None]).reshape(-1)
        p1 = probs[:, 1] if probs.shape[1] == 2 else None
    if bad.any():
        classes = classes.masked_fill(bad, -1)
        confidence = confidence.masked_fill(bad, math.nan)
        p1 = None if p1 is None else p1.masked_fill(bad, math.nan)
    return classes.numpy(), confidence.numpy(), None if p1 is None else p1.numpy()
