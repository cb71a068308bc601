"""The allow-list of layers a gdlab model may use, with each layer's arguments as a typed schema.

Nothing here imports torch: a layer name is only ever looked up in `LAYER_ARGS`, never passed to
`getattr` or `eval`, so a config cannot reach any other code."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

FiniteFloat = Field(allow_inf_nan=False)


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


def layer_json_schema() -> dict:
    """JSON Schema of one model entry: a bare layer name, or `{Layer: [args]}` / `{Layer: {kwargs}}`."""
    options = []
    for name, args in LAYER_ARGS.items():
        kw = args.model_json_schema()
        options.append(
            {
                "type": "object",
                "properties": {name: {"anyOf": [{"type": "array"}, kw, {"type": "null"}]}},
                "required": [name],
                "additionalProperties": False,
            }
        )
    return {"anyOf": [{"enum": list(LAYER_ARGS)}, *options]}
