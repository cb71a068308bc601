"""Config layers -> `torch.nn.Sequential` through an allow-list, and a shape check that names the
layer index and both sizes before anything trains."""

from __future__ import annotations

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
    width, source = n_features, f"the data has {n_features} features"
    for i, layer in enumerate(cfg.model):
        need = _width_in(layer)
        if need and need[1] != width:
            arg, size = need
            raise GdlabError(
                f"model[{i}]: {layer.type} expects {arg}={size}, but {source}; set {arg}: {width}"
            )
        if layer.type == "Linear":
            width, source = layer.args["out_features"], f"model[{i}] (Linear) outputs {layer.args['out_features']}"
    if width != n_outputs:
        loss = cfg.loss.name
        if loss == "CrossEntropyLoss":
            why = f"CrossEntropyLoss needs one output unit per class and the data has {n_classes} classes"
        elif loss == "BCEWithLogitsLoss":
            why = "BCEWithLogitsLoss needs 1 output unit (the logit of class 1)"
        elif n_classes:
            why = f"{loss} on {n_classes}-class data trains on one-hot targets, so it needs {n_outputs} outputs"
        else:
            why = f"{loss} needs one output per target column ({n_outputs})"
        raise GdlabError(f"model: the last layer outputs {width} units, but {why}; make the last Linear output {n_outputs}")
