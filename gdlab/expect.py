"""`--expect 'final_val_loss<0.3'`: bars a trained model must meet, for training regression tests in CI."""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

from gdlab.errors import GdlabError

_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt}
_EXPR = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")
SUMMARY_KEYS = ["final_train_loss", "final_val_loss", "best_val_loss", "final_train_accuracy", "final_val_accuracy", "steps", "epochs", "wall_s", "steps_per_s"]
# Short names for the final_* values above; only names summary.json answers (a bar on grad_norm or lr
# could never be checked, so it is refused up front instead of failing every run).
COLUMN_KEYS = ["train_loss", "val_loss", "train_accuracy", "val_accuracy"]


@dataclass(frozen=True)
class Expectation:
    name: str
    op: str
    bound: float
    text: str

    def check(self, summary: dict) -> str | None:
        """None when met, else a one-line explanation."""
        key = self.name if self.name in summary else f"final_{self.name}"
        value = summary.get(key)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return f"expected {self.text}, but the run has no finite {self.name} (status {summary.get('status')})"
        if not _OPS[self.op](value, self.bound):
            return f"expected {self.text}, got {self.name}={value:.6g}"
        return None


def parse_expectations(texts: list[str]) -> list[Expectation]:
    out = []
    for text in texts:
        m = _EXPR.match(text)
        if not m:
            raise GdlabError(f"--expect '{text}': write NAME OP NUMBER, e.g. 'final_val_loss<0.3' (OP: < <= > >= == !=)")
        name, op, raw = m.groups()
        if name not in SUMMARY_KEYS and name not in COLUMN_KEYS:
            from gdlab.config import did_you_mean

            allowed = SUMMARY_KEYS + COLUMN_KEYS
            raise GdlabError(f"--expect '{text}': unknown name '{name}'{did_you_mean(name, allowed)}; allowed: {', '.join(allowed)}")
        try:
            bound = float(raw)
        except ValueError:
            raise GdlabError(f"--expect '{text}': '{raw}' is not a number") from None
        if math.isnan(bound):
            raise GdlabError(f"--expect '{text}': the bound is NaN, which no value can meet; give a number")
        out.append(Expectation(name, op, bound, text.strip()))
    return out


def check_applicable(expectations: list[Expectation], cfg) -> None:
    """Refuse, before training, a bar the run could never report: accuracy without a classification
    loss, or a validation value with `data.val_fraction: 0`."""
    for e in expectations:
        if "accuracy" in e.name and cfg.task != "classification":
            raise GdlabError(
                f"--expect '{e.text}': {cfg.loss.name} is a regression loss, so the run reports no accuracy; "
                "bar a loss instead, e.g. 'final_val_loss<0.3'"
            )
        if "val" in e.name and cfg.data.val_fraction == 0:
            raise GdlabError(f"--expect '{e.text}': data.val_fraction is 0, so the run has no validation values; use train_*")
