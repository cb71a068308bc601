"""checkpoint.pt: written atomically with the previous one kept as checkpoint.prev.pt, loaded with
weights_only=True (no pickle code runs), and the metrics.csv repair a resume needs."""

from __future__ import annotations

import io
import os
import sys
import warnings
from pathlib import Path

import torch

from gdlab.errors import GdlabError
from gdlab.files import cannot_write
from gdlab.flatkeys import describe_changes, flatten
from gdlab.rundir import write_atomic
from gdlab.weights import load_problem

CURRENT, PREVIOUS = "checkpoint.pt", "checkpoint.prev.pt"
KILL_HOOK = "GDLAB_TEST_KILL_DURING_CHECKPOINT"  # tests: SIGKILL this process mid-write, at this step


def save_checkpoint(run_dir: Path, state: dict) -> None:
    """Keep the last good checkpoint as .prev, then write the new one atomically (fsynced)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    current = run_dir / CURRENT
    if current.exists():
        try:  # a folder made read-only mid-run refuses the rename: the checkpoint is the file that failed
            os.replace(current, run_dir / PREVIOUS)
        except OSError as exc:
            raise cannot_write(current, exc) from None
    if os.environ.get(KILL_HOOK) == str(state.get("step")):
        (run_dir / f".{CURRENT}.partial").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
        os.kill(os.getpid(), 9)  # a crash in the middle of the write, for the crash tests
    write_atomic(current, buf.getvalue())


def save_final_checkpoint(run_dir: Path, state: dict) -> GdlabError | None:
    """save_checkpoint at a run's end; a write the disk refuses is returned, for the caller to raise once it has
    written the smaller model.pt and summary.json."""
    try:
        save_checkpoint(run_dir, state)
    except GdlabError as exc:
        return exc
    return None


def _load(path: Path) -> dict:
    with warnings.catch_warnings():  # torch warns about a refused pickle in two lines; gdlab says it in one
        warnings.simplefilter("ignore")
        state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "flat" not in state or "step" not in state:
        raise ValueError("not a gdlab checkpoint")
    return state


def load_checkpoint(run_dir: Path) -> dict:
    """The newest readable checkpoint; falls back to the previous one with a warning, and then removes the
    unreadable one: the next save would rotate it over the only good checkpoint (`save_checkpoint`)."""
    current, previous = run_dir / CURRENT, run_dir / PREVIOUS
    if not current.exists() and not previous.exists():
        raise GdlabError(f"{run_dir}: no {CURRENT} to resume from (set train.checkpoint_every, or start a new run)")
    errors = []
    for path in (current, previous):
        if not path.exists():
            continue
        try:
            state = _load(path)
        except Exception as exc:  # corrupt, truncated, or a pickle payload refused by weights_only
            errors.append(f"{path.name}: {load_problem(exc, path)}")
            continue
        if errors:
            current.unlink(missing_ok=True)
            sys.stderr.write(f"gdlab: warning: {errors[0]}; resuming from {path.name} (step {state['step']}); "
                             f"the unreadable {CURRENT} is removed\n")
        return state
    raise GdlabError(f"{run_dir}: no loadable checkpoint ({'; '.join(errors)})")


# What the weights so far depend on (and the divergence limit, fixed from the first loss and kept in the
# checkpoint): an edit to any of these between checkpoint and resume would splice two different runs.
# Logging keys, the device and (without a scheduler) the run's length may change. restore_best_weights
# decides which weights model.pt gets, and turned on at a resume it would miss the evaluations before.
TRAJECTORY_KEYS = ("seed", "data", "model", "loss", "optimizer", "scheduler", "train.batch_size", "train.accumulate",
                   "train.shuffle", "train.dtype", "train.grad_clip", "train.diverge_factor", "train.restore_best_weights")


def check_config_unchanged(run_dir: Path, saved: dict | None, now: dict, step: int) -> None:
    """Refuse to resume when config.yaml was edited since the checkpoint in a key the trajectory depends on.
    `saved` is the checkpoint's resolved config (None in checkpoints from before it was stored)."""
    if saved is None:
        return
    keys = TRAJECTORY_KEYS + (("train.steps", "train.epochs") if saved.get("scheduler") or now.get("scheduler") else ())
    before, after = flatten(saved), flatten(now)
    # A plateau schedule's patience (and early stopping's) counts evaluations, kept in the checkpoint: a new
    # train.eval_every would count on at another cadence, a schedule that neither the old run nor the new one follows.
    # Best weights are picked among the evaluations: with a new cadence model.pt would be the best of both.
    # Early stopping matters only if the resumed run has it: one that drops it trains on as a fresh run without
    # it would (the old run never stopped before its checkpoint). The other two cannot change at a resume.
    counting = [rule for rule in (_plateau(before) or _plateau(after), _early(after),
                                  _best(before) or _best(after)) if rule]
    keys += ("train.eval_every",) if counting else ()
    for flat in (before, after):  # data.seed: null means the run's seed; writing that seed out changes nothing
        if flat.get("data.seed") is None:
            flat["data.seed"] = flat.get("seed")
        flat.setdefault("train.restore_best_weights", False)  # a checkpoint from before the key: its default
    changed = [k for k in dict.fromkeys([*before, *after]) if any(k == p or k.startswith(p + ".") for p in keys)
               and repr(before.get(k, "unset")) != repr(after.get(k, "unset"))] + _early_stop_edits(before, after)
    if changed:
        why = f", whose evaluations {' and '.join(counting)} counts" if "train.eval_every" in changed else ""
        why += EARLY_STOP_WHY if any(k.startswith("train.early_stop_") for k in changed) else ""
        raise GdlabError(f"--resume {run_dir}: config.yaml changed since the checkpoint at step {step} "
                         f"({describe_changes(before, after, changed)}{why}); "
                         "resuming would splice two different runs: start a new one with gdlab train")


EARLY_STOP_WHY = ("; a fresh run of the new value could have stopped early before the checkpoint: "
                  "only a larger train.early_stop_patience, or null, resumes")


def _early_stop_edits(before: dict, after: dict) -> list[str]:
    """The early-stopping keys whose edit would make the resumed run differ from a fresh run of the new config."""
    # The checkpoint keeps the best val_loss and the evaluations waited since it; neither depends on the patience,
    # and a run that got to its checkpoint never stopped. So with a larger patience, or none, the fresh run would
    # have reached the checkpoint in that same state and goes on as the resumed one does. A smaller patience (or one
    # turned on) might have stopped the fresh run before, and the checkpoint keeps no longest wait to rule it out.
    # min_delta decides which evaluations improved, so any edit re-counts the past, unless nothing counts now.
    was, now = before.get("train.early_stop_patience"), after.get("train.early_stop_patience")
    if not now:
        return []
    edits = ["train.early_stop_patience"] if not was or now < was else []
    key = "train.early_stop_min_delta"
    return edits + ([key] if was and repr(before.get(key, 0.0)) != repr(after.get(key, 0.0)) else [])


def _plateau(flat: dict) -> str | None:
    return "scheduler.name: ReduceLROnPlateau" if flat.get("scheduler.name") == "ReduceLROnPlateau" else None


def _best(flat: dict) -> str | None:
    return "train.restore_best_weights" if flat.get("train.restore_best_weights") else None


def _early(flat: dict) -> str | None:
    return "train.early_stop_patience" if flat.get("train.early_stop_patience") else None


def repair_metrics(path: Path, last_step: int, log_segments: list[list[int]] | None = None,
                   columns: list[str] | None = None) -> list[str]:
    """Keep the header and the rows up to `last_step`: drops a torn last line, repeated headers and the
    rows written after the checkpoint, so the resumed run appends without gaps or duplicates. Rows
    missing before the checkpoint (a cut file, a power cut) are refused: resuming would leave a gap.
    `log_segments`: [first step, log_every] for each stretch the run logged with one log_every (a resume
    may change it); `columns`: what the resumed run will write, which must be the file's header."""
    if not path.exists():
        raise GdlabError(f"{path}: missing; the run folder is incomplete and cannot be resumed")
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    if not text.endswith("\n"):
        lines = lines[:-1]  # the row being written when the process died
    header, kept = (lines[0] if lines else ""), []
    if not header.startswith("step,"):
        raise GdlabError(f"{path}: not a gdlab metrics file (header {header[:40]!r})")
    if columns is not None and header.split(",") != columns:
        had, now = header.split(","), columns
        diff = [f"+{c}" for c in now if c not in had] + [f"-{c}" for c in had if c not in now] or ["their order"]
        raise GdlabError(f"{path}: config.yaml now logs other columns than the file has ({', '.join(diff)}; "
                         "train.sharpness_every adds or removes `sharpness`): set it back to resume")
    for number, line in enumerate(lines[1:], 2):
        if not line or line == header:
            continue
        step = line.split(",", 1)[0]
        if step.isdigit() and int(step) <= last_step:
            # gdlab writes only numbers, a cell per column: anything else in a row the resume keeps is damage
            # (a bad disk block), which the rewrite below would keep with its bytes replaced, silently
            if "\ufffd" in line or line.count(",") != header.count(","):
                raise GdlabError(f"{path}: line {number} (step {step}) is damaged ("
                                 + ("bytes that are not UTF-8" if "\ufffd" in line else "a wrong number of cells")
                                 + "), a row before the checkpoint that resuming would keep: restore the file or start a new run")
            kept.append(line)
    # every step the run logged up to the checkpoint (with the log_every each stretch ran under) must have its row
    have = {int(line.split(",", 1)[0]) for line in kept}
    log_segments = log_segments or [[1, 1]]
    ends = [start - 1 for start, _ in log_segments[1:]] + [last_step]
    missing = [s for (start, every), end in zip(log_segments, ends) for s in range(start, min(end, last_step) + 1)
               if s % every == 0 and s not in have]
    if missing:
        raise GdlabError(f"{path}: the rows of {len(missing)} step(s) before the checkpoint at step {last_step} are "
                         f"missing (from step {missing[0]}; the file was cut or lost), and resuming would leave a gap: "
                         "restore the file or start a new run")
    write_atomic(path, "\n".join([header, *kept]) + "\n")
    return kept
