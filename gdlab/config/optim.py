"""The `optimizer:` and `scheduler:` sections: GD written by hand, torch.optim's optimizers and lr
schedulers, with torch's defaults."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import ConfigDict, Field, field_validator, model_validator

from gdlab.config.base import LR, NonNegativeFloat, Strict, Unit, kinds_of
from gdlab.ints import NonNegativeInt, StepCount, WarmupCount

# Which optimizer fields may differ between the K models of one batched group (per-model tensors in the
# engine; betas is beta1/beta2 there); the rest (name, flags) may not. Here, torch-free, for sweep planning.
SCALAR_FIELDS = ("lr", "momentum", "dampening", "weight_decay", "eps", "alpha", "beta1", "beta2")
STRUCTURAL_FIELDS = ("name", "nesterov", "amsgrad", "centered")


class GD(Strict):
    """Textbook gradient descent, w <- w - lr * grad, written by hand."""

    name: Literal["GD"]
    lr: LR


class SGD(Strict):
    # The nesterov rule below, for the JSON Schema too.
    model_config = ConfigDict(json_schema_extra={
        "if": {"required": ["nesterov"], "properties": {"nesterov": {"const": True}}},
        "then": {"required": ["momentum"], "properties": {"momentum": {"exclusiveMinimum": 0}, "dampening": {"const": 0}}},
    })

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


kinds_of(GD, SGD, Adam, AdamW, RMSprop)
OptimizerConfig = Annotated[Union[GD, SGD, Adam, AdamW, RMSprop], Field(discriminator="name")]


class SchedulerBase(Strict):
    interval: Literal["step", "epoch"] = Field("epoch", description="advance the schedule every optimizer step or every epoch")
    warmup: WarmupCount = Field(0, description="intervals of linear warmup from warmup_start_factor x lr to lr "
                                                  "before the schedule starts (torch's LinearLR, then SequentialLR)")
    warmup_start_factor: float = Field(0.1, gt=0, le=1, description="the first warmup interval's share of the lr")

    @model_validator(mode="after")
    def _no_unused_settings(self):
        """A setting that would change nothing is refused (config.yaml writes every default out, so only a
        value other than the default counts as set): it is a typo or a misunderstanding, not a choice."""
        if not self.warmup and self.warmup_start_factor != 0.1:
            if self.name in ("OneCycleLR", "ReduceLROnPlateau"):  # these refuse a warmup: only dropping it helps
                raise ValueError(f"warmup_start_factor {self.warmup_start_factor} does nothing: {self.name} takes "
                                 "no warmup; drop warmup_start_factor")
            raise ValueError(f"warmup_start_factor {self.warmup_start_factor} does nothing without warmup: N; "
                             "set warmup or drop warmup_start_factor")
        return self


class StepLR(SchedulerBase):
    name: Literal["StepLR"]
    step_size: StepCount
    gamma: float = Field(0.1, gt=0, allow_inf_nan=False)


class CosineAnnealingLR(SchedulerBase):
    name: Literal["CosineAnnealingLR"]
    T_max: StepCount | None = Field(None, description="null = the whole run")
    eta_min: NonNegativeFloat = Field(0.0, allow_inf_nan=False)


class ExponentialLR(SchedulerBase):
    name: Literal["ExponentialLR"]
    gamma: float = Field(gt=0, allow_inf_nan=False)


class LinearLR(SchedulerBase):
    """lr × a factor moving linearly from start_factor to end_factor over total_iters intervals (torch's defaults)."""

    name: Literal["LinearLR"]
    start_factor: float = Field(1 / 3, gt=0, le=1)
    end_factor: float = Field(1.0, ge=0, le=1)
    total_iters: StepCount = 5


class ReduceLROnPlateau(SchedulerBase):
    """Each model's lr times `factor` once its val_loss has not improved for more than `patience` evaluations
    (torch's rule and defaults; Keras's callback of that name cuts one evaluation sooner). It watches every
    evaluation, so `interval` does not apply."""

    name: Literal["ReduceLROnPlateau"]
    factor: float = Field(0.1, gt=0, lt=1)
    patience: NonNegativeInt = 10
    threshold: NonNegativeFloat = Field(1e-4, allow_inf_nan=False)
    threshold_mode: Literal["rel", "abs"] = "rel"
    cooldown: NonNegativeInt = 0
    min_lr: NonNegativeFloat = Field(0.0, allow_inf_nan=False)
    eps: NonNegativeFloat = Field(1e-8, allow_inf_nan=False)

    @field_validator("interval")
    @classmethod
    def _evaluations(cls, value: str) -> str:
        if value == "step":
            raise ValueError("ReduceLROnPlateau steps at each evaluation (train.eval_every), not per step or "
                             "epoch; leave interval out")
        return value

    @field_validator("warmup")
    @classmethod
    def _no_warmup(cls, value: int) -> int:
        if value:  # torch's SequentialLR cannot chain a plateau schedule
            raise ValueError("ReduceLROnPlateau takes no warmup (torch cannot chain it after one); leave warmup at 0")
        return value


class OneCycleLR(SchedulerBase):
    """The peak lr is the optimizer's lr, so an lr sweep sweeps the peak."""

    name: Literal["OneCycleLR"]
    interval: Literal["step", "epoch"] = "step"
    pct_start: float = Field(0.3, gt=0, lt=1)
    anneal_strategy: Literal["cos", "linear"] = "cos"
    div_factor: float = Field(25.0, gt=0, allow_inf_nan=False)
    final_div_factor: float = Field(1e4, gt=0, allow_inf_nan=False)
    three_phase: bool = False
    # torch's default is true; gdlab's is false, so a config's momentum is what it says unless asked
    cycle_momentum: bool = False
    base_momentum: float = Field(0.85, ge=0, lt=1)
    max_momentum: float = Field(0.95, ge=0, lt=1)

    @model_validator(mode="after")
    def _momenta_need_the_cycle(self):
        if not self.cycle_momentum and (self.base_momentum, self.max_momentum) != (0.85, 0.95):
            raise ValueError("base_momentum and max_momentum do nothing without cycle_momentum: true")
        return self

    @field_validator("warmup")
    @classmethod
    def _no_warmup(cls, value: int) -> int:
        if value:
            raise ValueError("OneCycleLR warms up by itself (pct_start of the run); leave warmup at 0")
        return value


kinds_of(StepLR, CosineAnnealingLR, ExponentialLR, LinearLR, ReduceLROnPlateau, OneCycleLR)
SchedulerConfig = Annotated[Union[StepLR, CosineAnnealingLR, ExponentialLR, LinearLR, ReduceLROnPlateau, OneCycleLR],
                            Field(discriminator="name")]
