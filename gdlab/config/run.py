"""The whole config: the `train:` section and the top level that holds every section."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gdlab.config.base import Strict, did_you_mean, yaml_boolean
from gdlab.config.data import DataConfig
from gdlab.config.layer import Layer
from gdlab.config.loss import CLASSIFICATION_LOSSES, LossConfig
from gdlab.config.optim import OptimizerConfig, SchedulerConfig
from gdlab.ints import INTEGRAL, NonNegativeInt, PositiveInt, StepCount


class TrainConfig(Strict):
    epochs: StepCount | None = None
    steps: StepCount | None = Field(None, description="optimizer steps; instead of epochs")
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
    sharpness_iters: Annotated[int, Field(ge=1, le=1000), INTEGRAL] = Field(50, description="power-iteration budget per pass (a negative or unsettled first pass gets a second, shifted one)")
    snapshot_every: PositiveInt | None = Field(None, description="steps between weight snapshots (for boundary movies)")
    diverge_factor: float | None = Field(
        1e4, gt=1, allow_inf_nan=False,
        description="a loss above diverge_factor * max(first loss, 1) counts as diverged; null = only non-finite",
    )
    early_stop_patience: PositiveInt | None = Field(
        None, description="stop a model once its val_loss has not improved by more than early_stop_min_delta for "
                          "this many evaluations (Keras's EarlyStopping); null = train to the end")
    early_stop_min_delta: float = Field(0.0, ge=0, allow_inf_nan=False, description="the improvement that counts")
    restore_best_weights: bool = Field(
        False, description="model.pt holds each model's weights from its evaluation with the lowest val_loss "
                           "(Keras's restore_best_weights), not the last ones")

    # In the JSON Schema too: exactly one of epochs and steps is given and not null.
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"required": [key], "properties": {key: {"not": {"type": "null"}}}} for key in ("epochs", "steps")
    ]})

    @model_validator(mode="after")
    def _one_length(self):
        if (self.epochs is None) == (self.steps is None):
            # An override of one replaces the other from the file, so "both" means both in one place.
            raise ValueError(
                "set exactly one of train.epochs and train.steps ("
                + ("got both; give only one" if self.epochs else "got neither") + ")"
            )
        return self


def _shorthand_schema(section: str):
    """A `json_schema_extra` for a union section: in the JSON Schema, the bare-name shorthand (`loss: MSELoss`,
    `data: moons`) is valid too, for the kinds that need no setting but their name (`optimizer: Adam` needs lr,
    so it is not), so editors flag exactly what `gdlab validate` refuses."""

    def extra(schema: dict) -> None:
        names = [n for n in kind_names(section)
                 if all(not f.is_required() for key, f in kind_class(section, n).model_fields.items() if key != "name")]
        nullable = "oneOf" not in schema and {"type": "null"} in schema.get("anyOf", [])  # `X | None`
        union = next(s for s in schema.pop("anyOf") if s != {"type": "null"}) if nullable else schema
        options = union.pop("oneOf", None) or union.pop("anyOf", [])
        union.pop("discriminator", None)  # the shorthand has no name key to discriminate on
        schema["anyOf"] = [*([{"enum": names}] if names else []), *options, *([{"type": "null"}] if nullable else [])]

    return extra

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"  # a run's name is its folder's name under runs/


class Config(Strict):
    # "run" only where no file gives a name (a Config built in code); a config file's default is its file name,
    # which the schema cannot know, so it states none
    name: str = Field("run", pattern=NAME_PATTERN,
                      description="run folder name under runs/; default: the config file's name",
                      json_schema_extra=lambda schema: schema.pop("default", None))
    seed: NonNegativeInt = Field(0, le=2**63 - 1)
    data: DataConfig = Field(json_schema_extra=_shorthand_schema("data"))
    model: list[Layer] = Field(min_length=1)
    loss: LossConfig = Field(json_schema_extra=_shorthand_schema("loss"))
    optimizer: OptimizerConfig = Field(json_schema_extra=_shorthand_schema("optimizer"))
    scheduler: SchedulerConfig | None = Field(None, json_schema_extra=_shorthand_schema("scheduler"))
    train: TrainConfig
    sweep: dict[str, Any] | None = Field(
        None, description="gdlab sweep axes: {dotted.key: [values] | 'logspace(a,b,n)' | 'loguniform(a,b)' ...}, and samples: N for random search; gdlab train ignores it"
    )

    @field_validator("data", "loss", "optimizer", "scheduler", mode="before")
    @classmethod
    def _kind_shorthand(cls, v, info):
        """A section given as a bare name (`loss: MSELoss`, `optimizer: Adam`) means {name: ...}, so a missing
        required setting is then named; an unknown name, a boolean (YAML's on/off/yes/no) or any other
        non-mapping is refused with the names there are, instead of pydantic's 'should be a valid dictionary'."""
        section = info.field_name
        names = kind_names(section)
        if isinstance(v, bool):
            raise PydanticCustomError(
                "kind", "got {v}; write a {section} name: {names}",
                {"v": yaml_boolean(v), "section": section, "names": ", ".join(names)},
            )
        if isinstance(v, str):
            if v not in names:
                raise PydanticCustomError(
                    "kind", "unknown {section} '{v}'{hint}; allowed: {names}",
                    {"section": section, "v": v, "hint": did_you_mean(v, names), "names": ", ".join(names)},
                )
            return {"name": v}
        if v is not None and not isinstance(v, dict):
            raise PydanticCustomError(
                "kind", "write a {section} name ({names}) or a mapping with its name and options, got {got}",
                {"section": section, "names": ", ".join(names), "got": repr(v)},
            )
        return v

    @field_validator("sweep", mode="before")
    @classmethod
    def _sweep_mapping(cls, v):
        """gdlab sweep's own wording for a sweep section that is no mapping, so validate says what sweep says."""
        if v is not None and not isinstance(v, dict):
            raise PydanticCustomError("sweep", "must map dotted keys to lists of values, e.g. {example}",
                                      {"example": "{optimizer.lr: [0.01, 0.1]}"})
        return v

    @model_validator(mode="after")
    def _momentum_to_cycle(self):
        """OneCycleLR's cycle_momentum drives SGD's and RMSprop's momentum or Adam's beta1; GD has neither."""
        if getattr(self.scheduler, "cycle_momentum", False) and self.optimizer.name == "GD":
            raise PydanticCustomError("cycle", "GD has no momentum to cycle; use SGD or "
                                      "RMSprop (momentum), Adam or AdamW (beta1), or set cycle_momentum: false")
        return self

    @property
    def val_watcher(self) -> tuple[tuple[str, str], str] | None:
        """The first setting that watches val_loss: its key, and it in words (`scheduler.name: ReduceLROnPlateau`)."""
        watchers = [(("scheduler", "name"), "ReduceLROnPlateau", getattr(self.scheduler, "name", None) == "ReduceLROnPlateau"),
                    (("train", "early_stop_patience"), "early stopping", self.train.early_stop_patience),
                    (("train", "restore_best_weights"), "restoring the best weights", self.train.restore_best_weights)]
        return next(((key, f"{'.'.join(key)}: {what}") for key, what, on in watchers if on), None)

    def check_val_watchers(self, has_val: bool) -> None:
        """What watches val_loss needs validation rows (`validate --no-data` asks with has_val = val_fraction > 0)."""
        from gdlab.errors import GdlabError

        if not has_val and (watcher := self.val_watcher):
            raise GdlabError(f"{watcher[1]} watches val_loss, and this data has no validation rows; set "
                             "data.val_fraction (e.g. 0.2)")

    @property
    def task(self) -> str:
        """`classification` when the loss compares logits with labels, else `regression`."""
        return "classification" if self.loss.name in CLASSIFICATION_LOSSES else "regression"

    @property
    def has_dropout(self) -> bool:
        """Whether the model draws Dropout masks in training (each model from its own generator; each row's loss noisy)."""
        return any(layer.type == "Dropout" for layer in self.model)

    def resolved(self) -> dict:
        """Plain data of the fully resolved config, ready to dump as YAML and load back."""
        return self.model_dump(mode="json")


UNION_SECTIONS = {"data": DataConfig, "loss": LossConfig, "optimizer": OptimizerConfig, "scheduler": SchedulerConfig}


def kind_class(section: str, name: Any) -> type[Strict] | None:
    """The schema class of the `name` kind of a union section (e.g. optimizer Adam), or None if unknown."""
    union = get_args(get_args(UNION_SECTIONS[section])[0])
    return next((cls for cls in union if name in get_args(cls.model_fields["name"].annotation)), None)


def kind_names(section: str) -> list[str]:
    """Every kind name a union section takes (e.g. the optimizers), in schema order."""
    union = get_args(get_args(UNION_SECTIONS[section])[0])
    return [n for kind in union for n in get_args(kind.model_fields["name"].annotation)]


def kind_fields(section: str, name: Any) -> set[str] | None:
    """The keys the `name` kind of a union section accepts (e.g. optimizer Adam), or None if unknown."""
    cls = kind_class(section, name)
    return None if cls is None else set(cls.model_fields)


def switched_sections(raw: dict, set_keys: set[str]):
    """(section, its dict in `raw`) for each union section whose kind `set_keys` sets: a kind switch
    (`optimizer.name=Adam` among the dotted keys an override or sweep axis set)."""
    for section in UNION_SECTIONS:
        if f"{section}.name" in set_keys and isinstance(raw.get(section), dict):
            yield section, raw[section]
