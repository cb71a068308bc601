"""The typed config schema (pydantic v2). Unknown keys are errors with a "did you mean"; imports no torch."""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gdlab.layers import LAYER_ARGS, layer_json_schema

LR = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0, lt=1)]  # a fraction or a beta: [0, 1)


def did_you_mean(word: str, choices) -> str:
    """A " (did you mean 'x'?)" hint for a misspelt name, matched case-insensitively; "" when none is close."""
    by_lower = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


class Strict(BaseModel):
    """Base of every config section: strict types, and unknown keys rejected with a suggestion."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            for key in data:
                if key not in cls.model_fields:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key '{key}'{hint}; allowed: {allowed}",
                        {"key": str(key), "hint": did_you_mean(key, allowed), "allowed": ", ".join(allowed)},
                    )
        return data


# ---------------------------------------------------------------- data
class DataBase(Strict):
    val_fraction: float = Field(0.2, ge=0, lt=1)
    standardize: bool = False
    seed: NonNegativeInt | None = Field(None, description="data seed; null = the config's seed")


class GeneratedData(DataBase):
    n_samples: Annotated[int, Field(ge=4, le=10_000_000)] = 1000
    noise: NonNegativeFloat = Field(0.1, allow_inf_nan=False)


class Moons(GeneratedData):
    name: Literal["moons"]


class Circles(GeneratedData):
    name: Literal["circles"]
    factor: float = Field(0.5, gt=0, lt=1)


class Xor(GeneratedData):
    name: Literal["xor"]


class Spiral(GeneratedData):
    name: Literal["spiral"]
    n_classes: Annotated[int, Field(ge=2, le=10)] = 2


class Blobs(GeneratedData):
    name: Literal["blobs"]
    n_features: Annotated[int, Field(ge=1, le=1000)] = 2
    centers: Annotated[int, Field(ge=2, le=100)] = 3
    noise: NonNegativeFloat = Field(1.0, allow_inf_nan=False, description="cluster standard deviation")


class Gaussians(GeneratedData):
    name: Literal["gaussians"]
    noise: NonNegativeFloat = Field(0.5, allow_inf_nan=False)


class Sine(GeneratedData):
    name: Literal["sine"]
    n_features: Annotated[int, Field(ge=1, le=1000)] = 1


class LinearData(GeneratedData):
    name: Literal["linear"]
    n_features: Annotated[int, Field(ge=1, le=1000)] = 1


class Friedman(GeneratedData):
    name: Literal["friedman"]
    n_features: Annotated[int, Field(ge=5, le=1000)] = 5
    noise: NonNegativeFloat = Field(1.0, allow_inf_nan=False)


class CsvData(DataBase):
    name: Literal["csv"]
    path: str = Field(min_length=1, description="relative to the config file")
    target: str = Field(min_length=1)
    features: list[str] | None = None


class BundledData(DataBase):
    name: Literal["iris", "wine", "breast_cancer", "digits", "diabetes"]


DataConfig = Annotated[
    Union[Moons, Circles, Xor, Spiral, Blobs, Gaussians, Sine, LinearData, Friedman, CsvData, BundledData],
    Field(discriminator="name"),
]
CLASSIFICATION_DATA = {"moons", "circles", "xor", "spiral", "blobs", "gaussians", "iris", "wine", "breast_cancer", "digits"}

# ---------------------------------------------------------------- model
class Layer(BaseModel):
    """One `nn.Sequential` entry: `ReLU`, `{Linear: [2, 32]}` or `{Linear: {in_features: 2, ...}}`."""

    model_config = ConfigDict(json_schema_extra=lambda s, _: (s.clear(), s.update(layer_json_schema())))
    type: str
    args: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, raw: Any) -> Any:
        if isinstance(raw, Layer):
            return raw
        if isinstance(raw, str):
            kind, given = raw, None
        elif isinstance(raw, dict) and len(raw) == 1:
            kind, given = next(iter(raw.items()))
        elif isinstance(raw, dict) and set(raw) == {"type", "args"}:
            kind, given = raw["type"], raw["args"]
        else:
            raise PydanticCustomError("layer", "a layer is a name (ReLU) or one key with its arguments ({Linear: [2, 32]})")
        if not isinstance(kind, str) or kind not in LAYER_ARGS:
            raise PydanticCustomError(
                "layer",
                "unknown layer '{kind}'{hint}; allowed: {allowed}",
                {"kind": str(kind), "hint": did_you_mean(kind, LAYER_ARGS), "allowed": ", ".join(LAYER_ARGS)},
            )
        spec = LAYER_ARGS[kind]
        names = list(spec.model_fields)
        if given is None:
            given = {}
        elif isinstance(given, list):
            if len(given) > len(names):
                raise PydanticCustomError(
                    "layer", "{kind} takes at most {n} arguments ({names}), got {m}",
                    {"kind": kind, "n": len(names), "names": ", ".join(names) or "none", "m": len(given)},
                )
            given = dict(zip(names, given))
        elif not isinstance(given, dict):
            given = {names[0]: given} if names else {"": given}
        for key in given:
            if key not in names:
                raise PydanticCustomError(
                    "layer", "{kind} has no argument '{key}'{hint}; allowed: {allowed}",
                    {"kind": kind, "key": str(key), "hint": did_you_mean(key, names), "allowed": ", ".join(names) or "none"},
                )
        try:
            args = spec.model_validate(given)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            missing = err["type"] == "missing"
            raise PydanticCustomError(
                "layer", "{kind}.{field}: {msg}{got}",
                {"kind": kind, "field": field, "msg": "required argument is missing" if missing else err["msg"],
                 "got": "" if missing else f" (got {err.get('input')!r})"},
            ) from None
        return {"type": kind, "args": args.model_dump()}

    @model_serializer
    def _dump(self) -> Any:
        return {self.type: self.args} if self.args else self.type


# ---------------------------------------------------------------- loss
class MSELoss(Strict):
    name: Literal["MSELoss"]


class L1Loss(Strict):
    name: Literal["L1Loss"]


class HuberLoss(Strict):
    name: Literal["HuberLoss"]
    delta: float = Field(1.0, gt=0, allow_inf_nan=False)


class CrossEntropyLoss(Strict):
    name: Literal["CrossEntropyLoss"]
    label_smoothing: Unit = 0.0
    weight: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = Field(None, description="per-class weights")


class BCEWithLogitsLoss(Strict):
    name: Literal["BCEWithLogitsLoss"]
    pos_weight: float | None = Field(None, gt=0, allow_inf_nan=False)


LossConfig = Annotated[
    Union[MSELoss, L1Loss, HuberLoss, CrossEntropyLoss, BCEWithLogitsLoss], Field(discriminator="name")
]
LOSS_NAMES = ["MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "BCEWithLogitsLoss"]


def _loss_schema(schema: dict) -> None:
    """In the JSON Schema, the shorthand `loss: MSELoss` is valid too (editors would flag it otherwise)."""
    options = schema.pop("oneOf", None) or schema.pop("anyOf", [])
    schema.pop("discriminator", None)
    schema["anyOf"] = [{"enum": LOSS_NAMES}, *options]
CLASSIFICATION_LOSSES = {"CrossEntropyLoss", "BCEWithLogitsLoss"}

# ---------------------------------------------------------------- optimizer
class GD(Strict):
    """Textbook gradient descent, w <- w - lr * grad, written by hand."""

    name: Literal["GD"]
    lr: LR


class SGD(Strict):
    name: Literal["SGD"]
    lr: LR
    momentum: Unit = 0.0
    dampening: Unit = 0.0
    nesterov: bool = False
    weight_decay: NonNegativeFloat = Field(0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self):
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov: true needs momentum > 0 and dampening 0 (as in torch.optim.SGD)")
        return self


class Adam(Strict):
    name: Literal["Adam"]
    lr: LR
    betas: tuple[Unit, Unit] = (0.9, 0.999)
    eps: float = Field(1e-8, gt=0, allow_inf_nan=False)
    weight_decay: NonNegativeFloat = Field(0.0, allow_inf_nan=False)
    amsgrad: bool = False

    @field_validator("betas", mode="before")
    @classmethod
    def _list_to_tuple(cls, v):
        return tuple(v) if isinstance(v, list) else v


class AdamW(Adam):
    name: Literal["AdamW"]
    weight_decay: NonNegativeFloat = Field(0.01, allow_inf_nan=False)


class RMSprop(Strict):
    name: Literal["RMSprop"]
    lr: LR
    alpha: Unit = 0.99
    eps: float = Field(1e-8, gt=0, allow_inf_nan=False)
    weight_decay: NonNegativeFloat = Field(0.0, allow_inf_nan=False)
    momentum: Unit = 0.0
    centered: bool = False


OptimizerConfig = Annotated[Union[GD, SGD, Adam, AdamW, RMSprop], Field(discriminator="name")]

# ---------------------------------------------------------------- scheduler
class SchedulerBase(Strict):
    interval: Literal["step", "epoch"] = Field("epoch", description="advance the schedule every optimizer step or every epoch")


class StepLR(SchedulerBase):
    name: Literal["StepLR"]
    step_size: PositiveInt
    gamma: float = Field(0.1, gt=0, allow_inf_nan=False)


class CosineAnnealingLR(SchedulerBase):
    name: Literal["CosineAnnealingLR"]
    T_max: PositiveInt | None = Field(None, description="null = the whole run")
    eta_min: NonNegativeFloat = Field(0.0, allow_inf_nan=False)


class ExponentialLR(SchedulerBase):
    name: Literal["ExponentialLR"]
    gamma: float = Field(gt=0, allow_inf_nan=False)


class OneCycleLR(SchedulerBase):
    """The peak lr is the optimizer's lr, so an lr sweep sweeps the peak."""

    name: Literal["OneCycleLR"]
    interval: Literal["step", "epoch"] = "step"
    pct_start: float = Field(0.3, gt=0, lt=1)
    anneal_strategy: Literal["cos", "linear"] = "cos"
    div_factor: float = Field(25.0, gt=0, allow_inf_nan=False)
    final_div_factor: float = Field(1e4, gt=0, allow_inf_nan=False)
    three_phase: bool = False


SchedulerConfig = Annotated[Union[StepLR, CosineAnnealingLR, ExponentialLR, OneCycleLR], Field(discriminator="name")]

# ---------------------------------------------------------------- train
class TrainConfig(Strict):
    epochs: PositiveInt | None = None
    steps: PositiveInt | None = Field(None, description="optimizer steps; instead of epochs")
    batch_size: PositiveInt | None = Field(None, description="null = full batch")
    accumulate: PositiveInt = Field(1, description="micro-batches per optimizer step")
    shuffle: bool = True
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda|cuda:\d+|mps)$")
    dtype: Literal["float32", "float64"] = "float32"
    eval_every: PositiveInt | None = Field(None, description="steps between validation passes; null = every epoch")
    log_every: PositiveInt = 1
    grad_clip: float | None = Field(None, gt=0, allow_inf_nan=False, description="max global grad norm per model")
    checkpoint_every: PositiveInt | None = Field(None, description="steps between checkpoint.pt writes (also at the end and on interrupt)")
    sharpness_every: PositiveInt | None = Field(
        None, description="steps between sharpness measurements (top Hessian eigenvalue of the full training loss)"
    )
    sharpness_iters: Annotated[int, Field(ge=1, le=1000)] = Field(50, description="power-iteration budget per measurement")
    snapshot_every: PositiveInt | None = Field(None, description="steps between weight snapshots (for boundary movies)")
    diverge_factor: float | None = Field(
        1e4, gt=1, allow_inf_nan=False,
        description="a loss above diverge_factor * max(first loss, 1) counts as diverged; null = only non-finite",
    )

    @model_validator(mode="after")
    def _one_length(self):
        if (self.epochs is None) == (self.steps is None):
            raise ValueError(
                "set exactly one of train.epochs and train.steps"
                + (" (override with e.g. train.epochs=null train.steps=100)" if self.epochs else "")
            )
        return self


# ---------------------------------------------------------------- the whole config
class Config(Strict):
    name: str = Field("run", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", description="run folder name under runs/")
    seed: NonNegativeInt = Field(0, le=2**63 - 1)
    data: DataConfig
    model: list[Layer] = Field(min_length=1)
    loss: LossConfig = Field(json_schema_extra=_loss_schema)
    optimizer: OptimizerConfig
    scheduler: SchedulerConfig | None = None
    train: TrainConfig
    sweep: dict[str, Any] | None = Field(
        None, description="gdlab sweep axes: {dotted.key: [values] | 'logspace(a,b,n)'}; gdlab train ignores it"
    )

    @field_validator("loss", mode="before")
    @classmethod
    def _loss_shorthand(cls, v):
        if isinstance(v, bool):
            raise PydanticCustomError(
                "loss", "got boolean {v}: YAML reads on/off/yes/no as booleans; write a loss name: {names}",
                {"v": str(v).lower(), "names": ", ".join(LOSS_NAMES)},
            )
        if isinstance(v, str):
            if v not in LOSS_NAMES:
                raise PydanticCustomError(
                    "loss", "unknown loss '{v}'{hint}; allowed: {names}",
                    {"v": v, "hint": did_you_mean(v, LOSS_NAMES), "names": ", ".join(LOSS_NAMES)},
                )
            return {"name": v}
        if v is not None and not isinstance(v, dict):
            raise PydanticCustomError(
                "loss", "write a loss name ({names}) or a mapping with its name and options, got {got}",
                {"names": ", ".join(LOSS_NAMES), "got": repr(v)},
            )
        return v

    @property
    def task(self) -> str:
        """`classification` when the loss compares logits with labels, else `regression`."""
        return "classification" if self.loss.name in CLASSIFICATION_LOSSES else "regression"

    def resolved(self) -> dict:
        """Plain data of the fully resolved config, ready to dump as YAML and load back."""
        return self.model_dump(mode="json")


UNION_SECTIONS = {"data": DataConfig, "loss": LossConfig, "optimizer": OptimizerConfig, "scheduler": SchedulerConfig}


def kind_fields(section: str, name: Any) -> set[str] | None:
    """The keys the `name` kind of a union section accepts (e.g. optimizer Adam), or None if unknown."""
    from typing import get_args

    union = get_args(get_args(UNION_SECTIONS[section])[0])
    for cls in union:
        if name in get_args(cls.model_fields["name"].annotation):
            return set(cls.model_fields)
    return None
