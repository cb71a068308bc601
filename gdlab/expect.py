"""`--expect 'final_val_loss<0.3'`: bars a trained model must meet, for training regression tests in CI."""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path

from gdlab.errors import GdlabError

_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt}
_EXPR = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")
# Every number gdlab.runner writes to summary.json. init_sharpness is measured only when a bar names it;
# resumed_from_step exists only in a resumed run, restored_best_from_step only with train.restore_best_weights.
SUMMARY_KEYS = ["final_train_loss", "final_val_loss", "best_val_loss", "final_train_accuracy", "final_val_accuracy", "steps",
                "epochs", "wall_s", "steps_per_s", "diverged_at_step", "stopped_early_at_step", "seed", "n_params", "sharpness_s",
                "sharpness_unsettled", "resumed_from_step", "init_sharpness", "restored_best_from_step", "pruned_at_step"]


@dataclass(frozen=True)
class Expectation:
    name: str
    op: str
    bound: float
    text: str
    option: str = "--expect"  # the command-line option that gave it, which its refusals name

    def value(self, summary: dict, final: dict | None = None) -> float | None:
        """The run's value of the bar's name: summary.json's (`val_loss` as `final_val_loss`), else a metrics.csv
        column's last recorded value, from `final`."""
        if self.name in summary or f"final_{self.name}" in summary:
            return summary.get(self.name if self.name in summary else f"final_{self.name}")
        return (final or {}).get(self.name)

    def check(self, summary: dict, final: dict | None = None) -> str | None:
        """None when met, else a one-line explanation."""
        return self.verdict(self.value(summary, final), f"the run has no finite {self.name} (status {summary.get('status')})")

    def verdict(self, value: float | None, missing: str) -> str | None:
        """None when `value` meets the bar, else why not; `missing` says whose value is absent or not finite."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return f"expected {self.text}, but {missing}"
        if not _OPS[self.op](value, self.bound):
            gap = abs(value - self.bound)
            # at the bound, the printed value alone reads like a pass: say why it is not
            by = (f" ({'over' if value > self.bound else 'short'} by {gap:.3g})" if gap > 0
                  else f" (at the bound, which {self.op} excludes)")
            return f"expected {self.text}, got {self.name}={value:.6g}{by}"
        return None


def parse_expectations(texts: list[str], option: str = "--expect") -> list[Expectation]:
    """Each text as NAME OP NUMBER, given by `option`; whether the run reports NAME is `check_applicable`'s question."""
    out = []
    for text in texts:
        m = _EXPR.match(text)
        if not m:
            raise GdlabError(f"{option} '{text}': write NAME OP NUMBER, e.g. 'final_val_loss<0.3' (OP: < <= > >= == !=)")
        name, op, raw = m.groups()
        if raw[0] in "<>=!":  # 'loss<<1': not a bound of '<1'
            raise GdlabError(f"{option} '{text}': '{op}{raw[0]}' is not an operator; OP is one of < <= > >= == !=")
        try:
            bound = float(raw)
        except ValueError:
            raise GdlabError(f"{option} '{text}': '{raw}' is not a number") from None
        # only a finite value meets a bar (Expectation.check), so none is at or beyond an infinite bound
        if math.isnan(bound) or (op in ("<", "<=", "==") and bound == -math.inf) or (
                op in (">", ">=", "==") and bound == math.inf):
            raise GdlabError(f"{option} '{text}': no value can meet {op} {raw}; give a finite bound")
        out.append(Expectation(name, op, bound, text.strip(), option))
    return out


def check_applicable(expectations: list[Expectation], cfg, resuming: bool = False) -> None:
    """Refuse, before training, a bar the run could never report: accuracy without a classification loss,
    a validation value with `data.val_fraction: 0`, resumed_from_step outside a resume, stopped_early_at_step without
    train.early_stop_patience, restored_best_from_step without train.restore_best_weights, or a name neither
    summary.json nor metrics.csv has."""
    from gdlab.records import metric_columns

    columns = metric_columns(cfg.task, cfg.data.val_fraction > 0, cfg.train.sharpness_every is not None)
    for e in expectations:
        if "accuracy" in e.name and cfg.task != "classification":
            raise GdlabError(
                f"{e.option} '{e.text}': {cfg.loss.name} is a regression loss, so the run reports no accuracy; "
                "bar a loss instead, e.g. 'final_val_loss<0.3'"
            )
        if "val" in e.name and cfg.data.val_fraction == 0:
            raise GdlabError(f"{e.option} '{e.text}': data.val_fraction is 0, so the run has no validation values; use train_*")
        # an init_sharpness bar has the initial sharpness measured, and counted if it does not settle
        measured = "sharpness" in columns or (e.name == "sharpness_unsettled" and wants_init_sharpness(expectations))
        if e.name in ("sharpness", "sharpness_s", "sharpness_unsettled") and not measured:
            raise GdlabError(f"{e.option} '{e.text}': the run records no sharpness; set train.sharpness_every")
        if e.name == "resumed_from_step" and not resuming:
            raise GdlabError(f"{e.option} '{e.text}': only a resumed run (gdlab train --resume) reports resumed_from_step")
        if e.name == "stopped_early_at_step" and cfg.train.early_stop_patience is None:  # else known after a whole run
            raise GdlabError(f"{e.option} '{e.text}': only a run with train.early_stop_patience set can stop early "
                             "and report stopped_early_at_step")
        if e.name == "restored_best_from_step" and not cfg.train.restore_best_weights:
            raise GdlabError(f"{e.option} '{e.text}': only a run with train.restore_best_weights: true reports "
                             "restored_best_from_step")
        if e.name == "pruned_at_step":  # set only where --prune stopped a variant, and no bar judges one
            raise GdlabError(f"{e.option} '{e.text}': only a variant `gdlab sweep --prune` stopped reports pruned_at_step, "
                             "and no bar judges one (--expect judges the best setting, --expect-each the variants "
                             "that ran on); bar a loss instead, e.g. 'final_val_loss<0.3'")
        if e.name not in SUMMARY_KEYS and e.name not in columns:
            from gdlab.config import did_you_mean

            raise GdlabError(
                f"{e.option} '{e.text}': unknown name '{e.name}'{did_you_mean(e.name, SUMMARY_KEYS + columns)}; allowed: "
                f"the summary.json numbers {', '.join(SUMMARY_KEYS)}, or this run's metrics.csv columns {', '.join(columns)}"
            )


def wants_init_sharpness(expectations: list[Expectation]) -> bool:
    """Whether a bar needs the sharpness at the initial weights, which costs a Hessian eigenvalue to measure."""
    return any(e.name == "init_sharpness" for e in expectations)


def check_all(expectations: list[Expectation], summary: dict, run_dir: Path) -> list[str]:
    """The explanation of every bar missed; metrics.csv is read only for a column summary.json lacks. A run cut
    short by Ctrl-C or SIGTERM is not judged: its numbers are a partial run's, and its exit code says so."""
    if summary.get("status") == "interrupted":
        return []
    wanted = {e.name for e in expectations if e.name not in summary and f"final_{e.name}" not in summary}
    final = last_values(run_dir / "metrics.csv", wanted) if wanted else {}
    return [msg for e in expectations if (msg := e.check(summary, final))]


def last_values(path: Path, names: set[str]) -> dict[str, float]:
    """Each named column's last non-empty value in a metrics.csv (sharpness, say, is not logged every step)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}  # then every such bar says the run has no value, which is the truth
    header = lines[0].split(",") if lines else []
    found: dict[str, float] = {}
    for name in names & set(header):
        i = header.index(name)
        for line in reversed(lines[1:]):
            cells = line.split(",")
            if i < len(cells) and cells[i]:
                try:
                    found[name] = float(cells[i])
                    break
                except ValueError:
                    continue  # a torn last row
    return found
