"""One `model:` entry: a layer name, or a name with its arguments as a list or a mapping."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer, model_validator
from pydantic_core import PydanticCustomError

from gdlab.config.base import did_you_mean, yaml_boolean
from gdlab.layers import LAYER_ARGS, layer_json_schema


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
        elif isinstance(raw, dict) and len(raw) > 1:  # often an override's misspelt kind: model.0.Linaer.bias=...
            names = [str(k) for k in raw]
            odd = next((n for n in names if n not in LAYER_ARGS), None)
            raise PydanticCustomError(
                "layer", "a layer is one name with its arguments, got {n} names: {names}{why}",
                {"n": len(names), "names": ", ".join(names),
                 "why": f"; '{odd}' is no layer{did_you_mean(odd, LAYER_ARGS)}" if odd else ""},
            )
        else:  # an unquoted `on`/`off` is a boolean to YAML: say so, as the file shows the word
            got = f" (got {yaml_boolean(raw)})" if isinstance(raw, bool) else ""
            raise PydanticCustomError("layer", "a layer is a name (ReLU) or one key with its arguments "
                                      "({Linear: [2, 32]}){got}", {"got": got})
        if isinstance(kind, bool):  # `{on: ...}`: 'True' is not what the file says
            raise PydanticCustomError("layer", "unknown layer (got {got}); allowed: {allowed}",
                                      {"got": yaml_boolean(kind), "allowed": ", ".join(LAYER_ARGS)})
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
            if given and not names:
                raise _takes_none(kind, given)
            if len(given) > len(names):
                raise PydanticCustomError(
                    "layer", "{kind} takes at most {n} arguments ({names}), got {m}",
                    {"kind": kind, "n": len(names), "names": ", ".join(names) or "none", "m": len(given)},
                )
            given = dict(zip(names, given))
        elif not isinstance(given, dict):
            if not names:  # was "Identity has no argument ''"
                raise _takes_none(kind, given)
            given = {names[0]: given}
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
                 "got": "" if missing else f" (got {shown(err.get('input'))})"},
            ) from None
        return {"type": kind, "args": args.model_dump()}

    @model_serializer
    def _dump(self) -> Any:
        return {self.type: self.args} if self.args else self.type


def shown(value: Any) -> str:
    """An argument's refused value: a boolean, which an unquoted `off` in the file is, says so."""
    return yaml_boolean(value) if isinstance(value, bool) else repr(value)


def _takes_none(kind: str, given: Any) -> PydanticCustomError:
    return PydanticCustomError("layer", "{kind} takes no arguments, got {value}", {"kind": kind, "value": repr(given)})
