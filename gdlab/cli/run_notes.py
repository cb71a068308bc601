"""The notes on stderr after a run or a sweep: what its numbers alone would not tell (steps that ran without
a CUDA graph, a loss that ended above where it started, sharpness measurements that did not settle)."""

from __future__ import annotations

import math
import sys

from gdlab.cli.progress import fmt_number


def note_eager_steps(summaries: list[dict]) -> None:
    """Say on stderr when a GPU run's steps could not be captured as a CUDA graph and ran one by one, which
    is slower (3x the hand-written loop at small sizes on an H100): the first such run's reason, and how many."""
    failed = [s["cuda_graph"] for s in summaries if str(s.get("cuda_graph")).startswith("eager (capture failed")]
    if failed:
        whose = f"{len(failed)} of {len(summaries)} variants" if len(summaries) > 1 else "this run"
        sys.stderr.write(f"gdlab: note: {whose} trained without a CUDA graph, one step at a time (slower): "
                         f"{failed[0].removeprefix('eager (').removesuffix(')')}\n")


def risen_from(metrics_csv, final: float, dropout: bool = False) -> float | None:
    """metrics.csv's first train_loss (at the initial weights) where `final` lies above it beyond that row's noise,
    else None. Full batch without Dropout the row is exact. With minibatches it is one batch's loss, with Dropout
    one draw of masks, which a tiny lr's final loss tops by chance half the time: there the rise must be over
    twice the first loss or over twice the spread of the last rows' losses (the last epoch's, at least 10),
    the noise of one row. A first epoch's mean is no starting point: too large an lr has blown it up already."""
    import csv

    def numbers(row: dict) -> tuple[float, float]:
        return float(row["epoch"]), float(row["train_loss"])

    try:
        with open(metrics_csv, newline="", encoding="utf-8") as f:
            rows = csv.DictReader(f)
            head = next(rows)
            if head["step"] != "1":  # a file without step 1's row (older gdlab, train.log_every > 1): no starting point
                return None
            losses = [numbers(head)]  # an unreadable first row: no starting point
            if not (math.isfinite(losses[0][1]) and final > losses[0][1]):
                return None
            if losses[0][0] >= 1 and not dropout:  # step 1 ends an epoch: full batch, the row is exact
                return losses[0][1]
            for row in rows:
                try:
                    losses.append(numbers(row))
                except (KeyError, TypeError, ValueError):  # a torn row
                    continue
    except (OSError, UnicodeDecodeError, csv.Error, StopIteration, KeyError, TypeError, ValueError):
        return None
    first = losses[0][1]
    end = math.floor(losses[-1][0] + 1e-9)  # the last complete epoch, which final_train_loss averages
    last = [x for e, x in losses if end < 1 or end - 1 < e <= end + 1e-9]
    last = last if len(last) >= 10 else [x for _, x in losses[-10:]]
    spread = math.sqrt(sum((x - final) ** 2 for x in last) / len(last))
    return first if final > 2 * first or final > first + 2 * spread else None


def note_rising_losses(runs: list[tuple[str, object, dict, bool]], noun: str = "runs") -> None:
    """Say on stderr which completed runs (name, run folder, summary, whether its model has Dropout) ended with a
    training loss above their first (step 1's): a learning rate too large to converge whose loss stayed finite and
    under train.diverge_factor (10000x by default, loose so as not to cut catapult-style spikes), which would
    otherwise read as a result."""
    rose = []
    for name, run_dir, s, dropout in runs:
        final = s.get("final_train_loss")
        if s.get("status") != "completed" or not isinstance(final, (int, float)) or not math.isfinite(final):
            continue
        first = risen_from(run_dir / "metrics.csv", final, dropout)
        if first is not None:
            rose.append(f"{name}: {fmt_number(first)} -> {fmt_number(final)}")
    if rose:
        whose = f"{len(rose)} of {len(runs)} {noun}" if len(runs) > 1 else "this run"
        their = "their" if len(rose) > 1 else "its"  # "1 of 7 variants ... above its first"
        shown = "; ".join(rose[:5]) + ("; ..." if len(rose) > 5 else "")
        sys.stderr.write(f"gdlab: note: {whose} completed with a training loss above {their} first ({shown}): the "
                         "learning rate may be too large to converge; a lower train.diverge_factor counts such "
                         "runs as diverged\n")


def note_unsettled_sharpness(summaries: list[dict], iters: int | None = None) -> None:
    """Say on stderr when sharpness measurements ran out of train.sharpness_iters before power iteration
    settled (summary.json's sharpness_unsettled): such a value can sit well below the top eigenvalue."""
    counts = [s["sharpness_unsettled"] for s in summaries if s.get("sharpness_unsettled")]
    if not counts:
        return
    budget = "train.sharpness_iters" + (f" ({iters})" if iters is not None else "")
    n = sum(counts)
    what = f"{n} sharpness measurement{'s' if n > 1 else ''}"
    whose = f" in {len(counts)} of {len(summaries)} variants" if len(summaries) > 1 else ""
    it = "them" if n > 1 else "it"
    sys.stderr.write(f"gdlab: note: {what}{whose} ran out of {budget} before settling and may be too low "
                     f"(sharpness_unsettled in summary.json); a larger train.sharpness_iters lets {it} settle\n")
