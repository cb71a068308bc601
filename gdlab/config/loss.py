"""The `loss:` section: torch's losses by name, with their options."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from gdlab.config.base import Strict, Unit


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
CLASSIFICATION_LOSSES = {"CrossEntropyLoss", "BCEWithLogitsLoss"}
