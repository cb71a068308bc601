"""What every config section shares: strict types, unknown keys rejected with a "did you mean", and
the number types the sections use."""

from __future__ import annotations

import difflib
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError


def _plus_zero(value: float) -> float:
    return value + 0.0  # -0.0 passes ge=0 but numpy's samplers refuse its sign bit ("scale < 0"): make it 0.0


LR = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0, lt=1), AfterValidator(_plus_zero)]  # a fraction or a beta: [0, 1)
NonNegativeFloat = Annotated[float, Field(ge=0), AfterValidator(_plus_zero)]


def yaml_boolean(value: bool) -> str:
    """A refused boolean as an error says it: PyYAML reads an unquoted on/off/yes/no (YAML 1.1) as one, and the
    file shows the word the user wrote, not the true or false an error would otherwise name."""
    return f"boolean {str(value).lower()}: YAML reads on/off/yes/no as booleans"


def not_one_of(value, choices) -> str:
    """A refused choice and the allowed ones, `'x' is not one of a, b`; a boolean as what YAML made of the word."""
    said = f"got {yaml_boolean(value)}; allowed:" if isinstance(value, bool) else f"{value!r} is not one of"
    return f"{said} {', '.join(map(str, choices))}"


def did_you_mean(word: str, choices) -> str:
    """A " (did you mean 'x'?)" hint for a misspelt name, matched case-insensitively; "" when none is close."""
    by_lower = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


class Strict(BaseModel):
    """Base of every config section: strict types, and unknown keys rejected with a suggestion."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)
    kinds: ClassVar[tuple[type, ...]] = ()  # the other kinds a `name` picks between (optimizers, schedulers)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            for key in data:
                if key is None or isinstance(key, bool):  # YAML read `null:`/`~:`/`yes:` as a value, not a name
                    raise PydanticCustomError(
                        "unknown_key", "a key that YAML reads as {what}; quote it if it is a name; allowed: {allowed}",
                        {"key": "null" if key is None else str(key).lower(),
                         "what": "null" if key is None else f"the boolean {str(key).lower()}", "allowed": ", ".join(allowed)},
                    )
                if key not in cls.model_fields:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key '{key}'{hint}; allowed: {allowed}",
                        {"key": str(key), "hint": did_you_mean(key, allowed) or cls._kinds_having(key),
                         "allowed": ", ".join(allowed)},
                    )
        return data

    @classmethod
    def _kinds_having(cls, key: Any) -> str:
        """A hint naming the kinds that do take `key` (`momentum` given to GD is SGD's), "" when none does."""
        def name(kind: type[Strict]) -> str:
            return kind.model_fields["name"].annotation.__args__[0]  # the Literal a kind's `name` must be

        takers = [name(k) for k in cls.kinds if k is not cls and key in k.model_fields]
        if not takers:
            return ""
        listed = ", ".join(takers[:-1]) + " and " + takers[-1] if len(takers) > 1 else takers[0]
        return f" for {name(cls)} ({listed} take{'s' if len(takers) == 1 else ''} it)"


def kinds_of(*kinds: type[Strict]) -> None:
    """Tell each kind of a `name`-discriminated section about the others, for `_kinds_having`'s hint."""
    for kind in kinds:
        kind.kinds = kinds
