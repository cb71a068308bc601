"""The integer types of config keys and layer arguments: an int, or a float with no fractional part (1.0, 1e4)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _integral(value: Any) -> Any:
    # JSON Schema counts 1.0 as an integer (and editors check against `gdlab schema`), so validate takes it as 1;
    # 2.5, inf and NaN stay floats for the strict int to refuse, and booleans are not floats.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Last in an Annotated, after any Field bounds: bounds given outside it would reach `gdlab schema` as raw
# pydantic keys (`ge`), which JSON Schema ignores.
INTEGRAL = BeforeValidator(_integral)
PositiveInt = Annotated[int, Field(gt=0), INTEGRAL]
NonNegativeInt = Annotated[int, Field(ge=0), INTEGRAL]
