"""The integer types of config keys and layer arguments: an int, or a float with no fractional part (1.0, 1e4)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError


def _integral(value: Any) -> Any:
    # JSON Schema counts 1.0 as an integer (and editors check against `gdlab schema`), so validate takes it as 1;
    # 2.5, inf and NaN stay floats for the strict int to refuse, and booleans are not floats.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Last in an Annotated, after any Field bounds: bounds given outside it would reach `gdlab schema` as raw
# pydantic keys (`ge`), which JSON Schema ignores.
INTEGRAL = BeforeValidator(_integral)
PositiveInt = Annotated[int, Field(gt=0), INTEGRAL]
NonNegativeInt = Annotated[int, Field(ge=0), INTEGRAL]

# The most steps a run may take, and the most intervals a schedule may count (epochs count at least one step
# each). Past 2**53 a float64 no longer tells step n from n + 1, and that is how the step count is read: by
# torch's schedulers (OneCycleLR's phase ends, CosineAnnealingLR's last_epoch / T_max), by gdlab plot from
# metrics.csv (plotting.readers refuses a step past it) and by JSON readers of summary.json. Nothing else
# breaks below it, and no run gets near it (2**53 steps at a million a second take 285 years): a larger value
# is a typo (`1e40` for `1e4`) that would train until killed.
MAX_STEPS = 2**53


def _at_most_steps(least: int, bound) -> Any:
    """An int of `least` or more (pydantic's `bound` says so), refused past MAX_STEPS with the range allowed."""

    def check(value: Any) -> Any:
        # before INTEGRAL, so the error quotes what was written (1e+40), not the int it stands for
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > MAX_STEPS:
            raise PydanticCustomError("too_many_steps", "more than a run can count exactly; allowed: a whole number "
                                      "from {least} to 2**53 ({most})", {"least": least, "most": MAX_STEPS})
        return value

    return Annotated[int, bound, INTEGRAL, BeforeValidator(check)]  # the last runs first


StepCount = _at_most_steps(1, Field(gt=0, json_schema_extra={"maximum": MAX_STEPS}))  # steps, epochs, intervals
WarmupCount = _at_most_steps(0, Field(ge=0, json_schema_extra={"maximum": MAX_STEPS}))  # intervals, may be none
