"""The allow-list of layers a gdlab model may use, with each layer's arguments as a typed schema.

Nothing here imports torch: a layer name is only ever looked up in `LAYER_ARGS`, never passed to
`getattr` or `eval`, so a config cannot reach any other code."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gdlab.ints import PositiveInt


class LayerArgs(BaseModel):
    """Arguments of one layer; the field order is the positional order (`Linear: [2, 32]`)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class LinearArgs(LayerArgs):
    in_features: PositiveInt
    out_features: PositiveInt
    bias: bool = True


class NoArgs(LayerArgs):
    pass


class LeakyReLUArgs(LayerArgs):
    negative_slope: float = Field(0.01, allow_inf_nan=False)


class ELUArgs(LayerArgs):
    alpha: float = Field(1.0, allow_inf_nan=False)


class GELUArgs(LayerArgs):
    approximate: Literal["none", "tanh"] = "none"


class SoftplusArgs(LayerArgs):
    beta: float = Field(1.0, gt=0, allow_inf_nan=False)
    threshold: float = Field(20.0, gt=0, allow_inf_nan=False)


class DropoutArgs(LayerArgs):
    p: float = Field(0.5, ge=0, lt=1)


class BatchNorm1dArgs(LayerArgs):
    num_features: PositiveInt
    eps: float = Field(1e-5, gt=0, allow_inf_nan=False)
    momentum: float = Field(0.1, gt=0, le=1)
    affine: bool = True


class LayerNormArgs(LayerArgs):
    normalized_shape: PositiveInt
    eps: float = Field(1e-5, gt=0, allow_inf_nan=False)
    elementwise_affine: bool = True
    bias: bool = True


LAYER_ARGS: dict[str, type[LayerArgs]] = {
    "Linear": LinearArgs,
    "ReLU": NoArgs,
    "LeakyReLU": LeakyReLUArgs,
    "Tanh": NoArgs,
    "Sigmoid": NoArgs,
    "GELU": GELUArgs,
    "SiLU": NoArgs,
    "ELU": ELUArgs,
    "Softplus": SoftplusArgs,
    "Dropout": DropoutArgs,
    "BatchNorm1d": BatchNorm1dArgs,
    "LayerNorm": LayerNormArgs,
    "Identity": NoArgs,
    "Flatten": NoArgs,
}


def required_args(name: str) -> list[str]:
    """The arguments a layer cannot go without (`Linear`: in_features, out_features), in positional order."""
    fields = LAYER_ARGS[name].model_fields
    return [arg for arg, info in fields.items() if info.is_required()]


def layer_args_json_schema(name: str) -> dict:
    """JSON Schema of what a layer's name may map to, exactly as `gdlab.config.layer.Layer` reads it: null
    (no arguments), a list of positional arguments, a mapping of keyword arguments, or a single value for the
    first argument when no other one is required (`Dropout: 0.1`, `BatchNorm1d: 4`)."""
    spec = LAYER_ARGS[name]
    keyword = spec.model_json_schema()
    keyword.pop("title", None)
    props = keyword.get("properties", {})
    names = list(spec.model_fields)
    required = required_args(name)
    # A list fills the arguments in order: every required one must be within it, and no more than there are.
    positional: dict = {"type": "array", "minItems": max((names.index(r) + 1 for r in required), default=0),
                        "maxItems": len(names)}
    if names:  # prefixItems must not be empty
        positional["prefixItems"] = [{k: v for k, v in props[n].items() if k not in ("title", "default")} for n in names]
    forms = [positional, keyword]
    if names and set(required) <= {names[0]}:  # a single value is the first argument (all are scalar types)
        forms.append({k: v for k, v in props[names[0]].items() if k not in ("title", "default")})
    if not required:
        forms.append({"type": "null"})
    return {"anyOf": forms}


def layer_json_schema() -> dict:
    """JSON Schema of one model entry: a bare layer name, `{Layer: [args]}` / `{Layer: {kwargs}}` / `{Layer: value}`,
    or `{type: Layer, args: ...}`; a layer with required arguments cannot go without them."""
    options = []
    for name in LAYER_ARGS:
        args = layer_args_json_schema(name)
        options.append(
            {"type": "object", "properties": {name: args}, "required": [name], "additionalProperties": False}
        )
    for name in LAYER_ARGS:
        options.append(
            {
                "type": "object",
                "properties": {"type": {"const": name}, "args": layer_args_json_schema(name)},
                "required": ["type", "args"],
                "additionalProperties": False,
            }
        )
    bare = [name for name in LAYER_ARGS if not required_args(name)]
    return {"anyOf": [{"enum": bare}, *options]}
