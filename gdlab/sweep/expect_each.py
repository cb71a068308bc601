"""`gdlab sweep --expect-each 'final_val_loss<0.3'`: bars every variant must meet (each seed's run on its own),
so CI can guard a whole learning-rate range rather than only the best setting `--expect` judges."""

from __future__ import annotations

from pathlib import Path

from gdlab.expect import Expectation
from gdlab.sweep.expect_best import variant_summary, variant_value

SHOWN = 3  # variants named in a failure line; the rest are counted, so the line stays one line in a CI log


def judge_each(expectations: list[Expectation], rows: list[dict], folder: Path) -> list[str]:
    """Why each missed bar missed: the variants (in sweep order) that did not meet it. A variant that did not
    complete (diverged, failed, skipped or cut short by --fail-fast) misses every bar, as a diverged seed
    fails an --expect bar: its summary may keep a finite last value, but it is no finished run's. A variant
    `--prune` stopped is not judged: the sweep chose to stop it, and its values are of a run cut short on purpose."""
    if not expectations:
        return []
    rows = [r for r in rows if r.get("status") != "pruned"]
    summaries = {r["run_dir"]: variant_summary(folder / r["run_dir"]) for r in rows if r.get("status") == "completed"}
    out = []
    for e in expectations:
        missed = []
        for r in rows:
            if r.get("status") != "completed":
                missed.append(f"{r['run_dir']} ({_unfinished(r)})")
                continue
            value = variant_value(e, summaries[r["run_dir"]], folder / r["run_dir"])
            if e.verdict(value, "") is not None:
                missed.append(f"{r['run_dir']} ({_shown(e.name, value)})")
        if missed:
            more = f" and {len(missed) - SHOWN} more" if len(missed) > SHOWN else ""
            out.append(f"expected {e.text} of every variant, but {len(missed)} of {len(rows)} missed: "
                       f"{', '.join(missed[:SHOWN])}{more}")
    return out


def _unfinished(row: dict) -> str:
    """How a variant ended without a result: `diverged at step 2`, `failed`, `skipped`."""
    status = row.get("status") or "no summary"
    step = row.get("diverged_at_step")
    return f"{status} at step {step}" if status == "diverged" and step is not None else status


def _shown(name: str, value) -> str:
    """The value that missed, as --expect prints it, or that there is none."""
    if isinstance(value, (int, float)) and value == value and abs(value) != float("inf"):
        return f"{name}={value:.6g}"
    return f"no finite {name}"
