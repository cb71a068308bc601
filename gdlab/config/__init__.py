"""The typed config schema (pydantic v2), one module per section. Unknown keys are errors with a
"did you mean"; imports no torch."""

from gdlab.config.base import LR, Strict, Unit, did_you_mean, not_one_of, yaml_boolean
from gdlab.config.data import CLASSIFICATION_DATA, DataConfig
from gdlab.config.layer import Layer
from gdlab.config.loss import CLASSIFICATION_LOSSES, LOSS_NAMES, LossConfig
from gdlab.config.optim import GD, SGD, Adam, AdamW, ExponentialLR, OptimizerConfig, RMSprop, SchedulerConfig
from gdlab.config.run import UNION_SECTIONS, Config, TrainConfig, kind_class, kind_fields

__all__ = [
    "LR", "Strict", "Unit", "did_you_mean", "not_one_of", "yaml_boolean", "CLASSIFICATION_DATA", "DataConfig", "Layer",
    "CLASSIFICATION_LOSSES", "LOSS_NAMES", "LossConfig", "GD", "SGD", "Adam", "AdamW", "ExponentialLR",
    "OptimizerConfig", "RMSprop", "SchedulerConfig", "UNION_SECTIONS", "Config", "TrainConfig", "kind_class", "kind_fields",
]
