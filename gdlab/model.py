"""Config layers -> `torch.nn.Sequential` through an allow-list, and the checks that name a layer before
anything trains: shapes (the layer index and both sizes), memory, and BatchNorm1d against one-row batches."""

from __future__ import annotations

import math
import os

from torch import nn

from gdlab.config import Config, Layer
from gdlab.errors import GdlabError

# The only classes a config can reach. Keys match gdlab.layers.LAYER_ARGS.
TORCH_LAYERS: dict[str, type[nn.Module]] = {
    "Linear": nn.Linear,
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "Tanh": nn.Tanh,
    "Sigmoid": nn.Sigmoid,
    "GELU": nn.GELU,
    "SiLU": nn.SiLU,
    "ELU": nn.ELU,
    "Softplus": nn.Softplus,
    "Dropout": nn.Dropout,
    "BatchNorm1d": nn.BatchNorm1d,
    "LayerNorm": nn.LayerNorm,
    "Identity": nn.Identity,
    "Flatten": nn.Flatten,
}


def build_layer(layer: Layer) -> nn.Module:
    return TORCH_LAYERS[layer.type](**layer.args)


def build_sequential(cfg: Config) -> nn.Sequential:
    """The config's model as a plain `nn.Sequential` (initialised from the current torch RNG)."""
    return nn.Sequential(*(build_layer(layer) for layer in cfg.model))


def _width_in(layer: Layer) -> tuple[str, int] | None:
    """The input width a layer insists on, with the argument that sets it."""
    for arg in ("in_features", "num_features", "normalized_shape"):
        if arg in layer.args:
            return arg, layer.args[arg]
    return None


def check_shapes(cfg: Config, n_features: int, n_outputs: int, n_classes: int | None) -> None:
    """Walk the layers with the data's width; raise a GdlabError naming the first mismatch."""
    if n_parameters(cfg) == 0:  # nothing for gradient descent to move: backward() itself would fail
        raise GdlabError(f"model: no layer has weights to train ({', '.join(layer.type for layer in cfg.model)}); "
                         "add a Linear layer")
    width, source, last = n_features, f"the data has {n_features} feature{'' if n_features == 1 else 's'}", None
    for i, layer in enumerate(cfg.model):
        need = _width_in(layer)
        if need and need[1] != width:
            arg, size = need
            raise GdlabError(
                f"model[{i}]: {layer.type} expects {arg}={size}, but {source}; set {arg}: {width}"
            )
        if layer.type == "Linear":
            width, source, last = layer.args["out_features"], f"model[{i}] (Linear) outputs {layer.args['out_features']}", i
    if width != n_outputs:
        loss = cfg.loss.name
        if loss == "CrossEntropyLoss":
            # labels 1, 2, 3 are 4 classes to torch (class 0 has no rows): say where the count comes from
            why = (f"CrossEntropyLoss needs one output unit per class, and the data's labels 0 to {n_classes - 1} "
                   f"make {n_classes} classes")
        elif loss == "BCEWithLogitsLoss":
            why = "BCEWithLogitsLoss needs 1 output unit (the logit of class 1)"
        elif n_classes:
            why = f"{loss} on {n_classes}-class data trains on one-hot targets, so it needs {n_outputs} outputs"
        else:
            why = f"{loss} needs one output per target column ({n_outputs})"
        key = "model" if last is None else f"model[{last}]"  # the Linear that sets the width, when there is one
        units = f"{width} unit{'' if width == 1 else 's'}"
        raise GdlabError(f"{key}: the last layer outputs {units}, but {why}; make the last Linear output {n_outputs}")


def n_parameters(cfg: Config) -> int:
    """The model's parameter count, from the config alone (nothing is allocated)."""
    total = 0
    for layer in cfg.model:
        a = layer.args
        if layer.type == "Linear":
            total += a["in_features"] * a["out_features"] + (a["out_features"] if a.get("bias", True) else 0)
        elif layer.type in ("LayerNorm", "BatchNorm1d"):
            size = a.get("normalized_shape", a.get("num_features", 0))  # a single int in gdlab's layer schema
            if a.get("elementwise_affine", a.get("affine", True)):  # a weight, and a bias unless LayerNorm's bias: false
                total += size * (2 if a.get("bias", True) else 1)
    return total


def machine_memory() -> int | None:
    """This machine's physical memory in bytes, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_model_fits(cfg: Config, n_rows: int) -> None:
    """Refuse, before any folder, a model whose weights, gradients and optimizer state (about 4 copies)
    and one batch's activations cannot fit in this machine's memory: torch would fail mid-set-up."""
    itemsize = 8 if cfg.train.dtype == "float64" else 4
    widths = sum(layer.args.get("out_features", 0) for layer in cfg.model)
    rows = min(cfg.train.batch_size or n_rows, n_rows)  # a batch_size above the row count is the full batch
    need = itemsize * (4 * n_parameters(cfg) + 3 * rows * widths)
    memory = machine_memory()
    if memory is not None and need > memory:  # unknown on some platforms: then torch reports it
        raise GdlabError(f"model: {n_parameters(cfg):,} parameters need about {need / 2**30:,.0f} GiB (weights, "
                         f"gradients, optimizer state, activations); this machine has {memory / 2**30:,.0f} GiB")


def check_batch_rows(cfg: Config, n_rows: int) -> None:
    """Refuse a batch plan with a one-row batch when the model has BatchNorm1d, which cannot normalize one
    row in training (torch raises mid-run); the message names the key to change and sizes that work."""
    norm = first_batchnorm(cfg)
    if norm is None:
        return
    from gdlab.engine.batches import BatchPlan

    micro = BatchPlan.from_config(cfg.train, n_rows).micro_batch
    smallest = n_rows - (math.ceil(n_rows / micro) - 1) * micro  # the epoch's last batch is its smallest
    if smallest >= 2:
        return
    layer = f"BatchNorm1d (model[{norm}]) needs at least 2 rows in every training batch"
    if n_rows < 2:
        raise GdlabError(f"data: the training split has {n_rows} row, and {layer}; use more rows or a lower data.val_fraction")
    if cfg.train.batch_size is None:
        raise GdlabError(
            f"train.accumulate: {cfg.train.accumulate} splits the {n_rows} training rows into micro-batches of {micro}, "
            f"the last with 1 row, and {layer}; use a train.accumulate that leaves every micro-batch 2 rows or more"
        )
    works = [b for b in range(2, n_rows + 1) if n_rows % b != 1]
    near = sorted(sorted(works, key=lambda b: abs(b - micro))[:2])
    got = "makes batches of 1 row" if micro == 1 else f"leaves a last batch of 1 row of the {n_rows} training rows"
    raise GdlabError(
        f"train.batch_size: {cfg.train.batch_size} {got}, and {layer}; use a batch size whose batches all have "
        f"2 rows or more (e.g. {' or '.join(map(str, near))}), or null for the full batch"
    )


def first_batchnorm(cfg: Config) -> int | None:
    """The index of the model's first BatchNorm1d layer, or None."""
    return next((i for i, layer in enumerate(cfg.model) if layer.type == "BatchNorm1d"), None)
