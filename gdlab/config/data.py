"""The `data:` section: generated datasets, a CSV file, or one of scikit-learn's bundled sets."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, field_validator

from gdlab.config.base import NonNegativeFloat, Strict, Unit
from gdlab.ints import INTEGRAL, NonNegativeInt


FeatureCount = Annotated[int, Field(ge=1, le=1000), INTEGRAL]  # input columns a generator makes


class DataBase(Strict):
    val_fraction: Unit = 0.2
    standardize: bool = False
    seed: NonNegativeInt | None = Field(None, description="data seed; null = the config's seed")


class GeneratedData(DataBase):
    n_samples: Annotated[int, Field(ge=4, le=10_000_000), INTEGRAL] = 1000
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
    n_classes: Annotated[int, Field(ge=2, le=10), INTEGRAL] = 2


class Blobs(GeneratedData):
    name: Literal["blobs"]
    n_features: FeatureCount = 2
    centers: Annotated[int, Field(ge=2, le=100), INTEGRAL] = 3
    noise: NonNegativeFloat = Field(1.0, allow_inf_nan=False, description="cluster standard deviation")


class Gaussians(GeneratedData):
    name: Literal["gaussians"]
    noise: NonNegativeFloat = Field(0.5, allow_inf_nan=False)


class Sine(GeneratedData):
    name: Literal["sine"]
    n_features: FeatureCount = 1


class LinearData(GeneratedData):
    name: Literal["linear"]
    n_features: FeatureCount = 1


class Friedman(GeneratedData):
    name: Literal["friedman"]
    n_features: Annotated[int, Field(ge=5, le=1000), INTEGRAL] = 5
    noise: NonNegativeFloat = Field(1.0, allow_inf_nan=False)


class CsvData(DataBase):
    name: Literal["csv"]
    path: str = Field(min_length=1, pattern=r"^[^\x00]*$", description="relative to the config file")  # no OS takes a NUL
    target: str = Field(min_length=1)
    features: Annotated[list[str], Field(json_schema_extra={"uniqueItems": True})] | None = None

    @field_validator("features")
    @classmethod
    def _each_feature_once(cls, v):
        # A column listed twice would be fed to the model twice, silently doubling its weight.
        for i, name in enumerate(v or []):
            if name in v[:i]:
                raise ValueError(f"column '{name}' is listed twice; list each column once")
        return v


class BundledData(DataBase):
    name: Literal["iris", "wine", "breast_cancer", "digits", "diabetes"]


DataConfig = Annotated[
    Union[Moons, Circles, Xor, Spiral, Blobs, Gaussians, Sine, LinearData, Friedman, CsvData, BundledData],
    Field(discriminator="name"),
]
CLASSIFICATION_DATA = {"moons", "circles", "xor", "spiral", "blobs", "gaussians", "iris", "wine", "breast_cancer", "digits"}
