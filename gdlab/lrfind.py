"""The learning-rate range test: one short run with the lr growing exponentially each step, stopped
once the smoothed loss passes `stop_factor` x its best. The suggestion is a heuristic, and says so."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from gdlab.config import Config
from gdlab.errors import EXIT_SIGINT, GdlabError
from gdlab.folder_lock import new_folder_lock
from gdlab.lrsuggest import MIN_STEPS, RULE, Smoother, still_falling, suggest
from gdlab.csvlog import CsvAppender
from gdlab.rundir import create_run_dir, write_atomic, write_json
from gdlab.run_cleanup import discard_unstarted
from gdlab.runner import prepare_data, resolve_device
from gdlab.yamldump import dump_yaml

# More steps only make a longer run: past this the lr rises by under a ten-thousandth of a decade a step over the
# default range, and 10**13 steps rose 1e-6 to 1e-6 in a minute's 125k steps, with no end in sight.
MAX_STEPS = 100_000


@dataclass
class LRFindResult:
    run_dir: Path
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggested_lr: float | None
    min_loss_lr: float | None
    stopped_early: bool
    loss_still_falling: bool
    interrupted: bool = False  # Ctrl-C/SIGTERM ended it: what ran is written, the suggestion may lack its end


def check_range(min_lr: float, max_lr: float, steps: int, stop_factor: float = 4.0) -> float:
    """The per-step lr factor; GdlabError unless both bounds are normal positive floats with min < max,
    the factor is finite and > 1, steps >= 5 and stop_factor >= 1."""
    for flag, lr in (("--min-lr", min_lr), ("--max-lr", max_lr)):
        if not (math.isfinite(lr) and lr >= sys.float_info.min):
            raise GdlabError(f"{flag} {lr:.3g}: need a finite learning rate >= {sys.float_info.min:.3g} "
                             "(no 0, negative, nan, inf or subnormal)")
    low, high = _distinct(min_lr, max_lr)
    if not min_lr < max_lr:
        raise GdlabError(f"--min-lr {low} / --max-lr {high}: need 0 < min-lr < max-lr")
    if not MIN_STEPS <= steps <= MAX_STEPS:
        raise GdlabError(f"--steps {steps}: need {MIN_STEPS} to {MAX_STEPS} (a range test resolves any lr range in a few "
                         "hundred to a few thousand steps)" if steps > MAX_STEPS else f"--steps {steps}: need at least {MIN_STEPS}")
    if not stop_factor >= 1:  # also refuses nan, which would never stop
        raise GdlabError(f"--stop-factor {stop_factor}: need a number >= 1")
    # In logs, since max/min itself overflows for ranges such as 1e-300..1e300.
    log_gamma = (math.log(max_lr) - math.log(min_lr)) / (steps - 1)
    gamma = math.exp(log_gamma) if log_gamma < math.log(sys.float_info.max) else math.inf
    if not (math.isfinite(gamma) and gamma > 1):
        # min < max, so a factor not above 1 is one that rounds to 1: only a wider range or fewer steps help
        why = ("rounds to exactly 1; it must be > 1: widen the range or use fewer --steps" if gamma <= 1
               else f"is {gamma:.3g}; it must be finite: narrow the range or use more --steps")
        raise GdlabError(f"--min-lr {low} .. --max-lr {high} over --steps {steps}: the per-step lr factor {why}")
    return gamma


def _distinct(a: float, b: float) -> tuple[str, str]:
    """Two numbers as 3 significant digits, or in full where those read alike (1 .. 1.0000000000000002)."""
    short = f"{a:.3g}", f"{b:.3g}"
    return short if short[0] != short[1] else (repr(a), repr(b))


def range_test_config(cfg: Config, min_lr: float, steps: int) -> Config:
    """`cfg` as the range test runs it: `steps` steps from `min_lr` (its RangeRamp replaces the trainer's schedule),
    and none of what watches a run's validation rows (it evaluates once, at its end, and saves no model.pt)."""
    train = cfg.train.model_copy(update={"epochs": None, "steps": steps, "diverge_factor": None, "eval_every": steps,
                                         "checkpoint_every": None, "sharpness_every": None, "snapshot_every": None,
                                         "early_stop_patience": None, "restore_best_weights": False})
    return cfg.model_copy(update={
        "optimizer": cfg.optimizer.model_copy(update={"lr": min_lr}),
        "scheduler": None,
        "train": train,
    })


def ran_config(test_cfg: Config, min_lr: float, max_lr: float, steps: int) -> dict:
    """What the folder's config.yaml records: the resolved config with the ramp that set each step's lr as its
    scheduler, a record of what ran rather than a scheduler gdlab train takes (no torch schedule is this ramp)."""
    resolved = test_cfg.resolved()
    resolved["scheduler"] = {"name": RangeRamp.__name__, "min_lr": min_lr, "max_lr": max_lr, "steps": steps,
                             "interval": RangeRamp.interval}
    return resolved


class RangeRamp:
    """The range test's schedule: step k's lr is 10 ** (log10(min_lr) + k/(steps-1) * decades), from the step number,
    not from repeated multiplication (ExponentialLR's), whose rounding ended 1e-4 .. 1 at
    0.9999999999999972; the ends are the bounds given, and whole decades exact."""

    interval, momenta = "step", None

    def __init__(self, min_lr: float, max_lr: float, steps: int):
        self.bounds, self.steps, self.k = (min_lr, max_lr), steps, 0
        self.logs = (math.log10(min_lr), math.log10(max_lr))

    def lrs(self) -> list[float]:
        if self.k in (0, self.steps - 1):
            return [self.bounds[self.k > 0]]
        lo, hi = self.logs
        try:
            lr = 10.0 ** (lo + (hi - lo) * (self.k / (self.steps - 1)))
        except OverflowError:  # within rounding of a max_lr near the largest float
            lr = self.bounds[1]
        return [min(max(lr, self.bounds[0]), self.bounds[1])]

    def advance(self, boundary: bool = True, val_loss=None) -> bool:
        self.k += 1
        return True


def lr_find(cfg: Config, run_dir: Path | None = None, runs_root: Path | str = "runs", min_lr: float = 1e-6,
            max_lr: float = 10.0, steps: int = 100, stop_factor: float = 4.0, beta: float = 0.9,
            should_stop: Callable[[], bool] = lambda: False) -> LRFindResult:
    """Run the range test into a new folder with lr_find.csv and lr_find.json; `should_stop()` (a
    graceful Ctrl-C) ends it after the current step, with both files written."""
    check_range(min_lr, max_lr, steps, stop_factor)  # before any folder exists
    test_cfg = range_test_config(cfg, min_lr, steps)
    data = prepare_data(test_cfg)
    device = resolve_device(test_cfg.train.device)
    folder = create_run_dir(cfg.name, runs_root, run_dir, prefix="lr-find-")
    # held to the end, as gdlab train holds its folder: a second command given the same empty --run-dir is
    # refused, where it used to pass the "new or empty" check too and write its rows into this lr_find.csv
    with new_folder_lock(folder, fresh=run_dir is not None):
        return _range_test(folder, test_cfg, data, device, min_lr, max_lr, steps, stop_factor, beta, should_stop)


def _range_test(folder: Path, test_cfg: Config, data, device, min_lr: float, max_lr: float, steps: int,
                stop_factor: float, beta: float, should_stop: Callable[[], bool]) -> LRFindResult:
    """Train the ramp in `folder` and write lr_find.csv and lr_find.json."""
    from gdlab.engine.loop import GroupTrainer
    from gdlab.engine.threads import intra_op_threads, threads_for

    try:  # a full disk here is one line naming the file, and a test that never started leaves no folder
        write_atomic(folder / "config.yaml", dump_yaml(ran_config(test_cfg, min_lr, max_lr, steps)), durable=False)
        csv = CsvAppender(folder / "lr_find.csv", ["step", "lr", "loss", "smoothed_loss"])
    except GdlabError:
        discard_unstarted(folder, ("config.yaml",), rowless=("lr_find.csv",))
        raise
    # the range test decides after every step whether to go on: the host reads each loss, on a GPU too
    trainer = GroupTrainer([test_cfg], [data], device, sync_every=1)
    trainer.schedule = RangeRamp(min_lr, max_lr, steps)  # no checkpoints to save its state in
    lrs, losses, smoothed, best = [], [], [], math.inf
    stop = False
    smoother = Smoother(beta)  # one value a step: re-smoothing the whole list each step made long tests quadratic
    try:
        with intra_op_threads(threads_for(test_cfg, 1, device)):  # as gdlab train: one thread for tiny steps
            for rec in trainer.run(should_stop=lambda: stop or should_stop()):
                lrs.append(rec.lr[0])
                losses.append(rec.train_loss[0])
                s = smoother.add(losses[-1])
                smoothed.append(s)
                csv.write({"step": rec.step, "lr": rec.lr[0], "loss": rec.train_loss[0], "smoothed_loss": s})
                best = min(best, s) if math.isfinite(s) else best
                stop = not math.isfinite(s) or s > stop_factor * best
    finally:
        csv.close()
    if not lrs and should_stop():  # a Ctrl-C before the first step: as for gdlab train, no folder is left
        discard_unstarted(folder, ("config.yaml",), rowless=("lr_find.csv",))
        raise GdlabError("interrupted before the range test began; no lr-find folder is left",
                         getattr(should_stop, "exit_code", EXIT_SIGINT))  # a StopFlag knows its signal
    suggested, at_min = suggest(lrs, smoothed)
    interrupted = len(lrs) < steps and not stop
    stopped = len(lrs) < steps and not interrupted
    # An interrupted test whose loss had not turned up yet is as unfinished as one whose range ended too
    # soon: its suggestion and minimum are lower bounds too. `stop`: a blow-up on the very last step.
    falling = not (stopped or stop) and still_falling(lrs, smoothed)
    write_json(folder / "lr_find.json", {
        "suggested_lr": suggested, "min_loss_lr": at_min, "conservative_lr": at_min / 10 if at_min else None, "steps": len(lrs), "stopped_early": stopped,
        "interrupted": interrupted, "loss_still_falling": falling, "min_lr": min_lr, "max_lr": max_lr, "stop_factor": stop_factor, "smoothing_beta": beta,
        "note": f"heuristic: {RULE}; confirm with gdlab sweep" + _falling_note(falling, interrupted, lrs),
    })
    return LRFindResult(folder, lrs, losses, smoothed, suggested, at_min, stopped, falling, interrupted)


def _falling_note(falling: bool, interrupted: bool, lrs: list[float]) -> str:
    """The note's lower-bound clause: why the range ended matters, since an interrupted test never reached
    max_lr and needs a full run, not a larger max_lr."""
    if not falling:
        return ""
    if interrupted:
        return (f"; interrupted at lr {lrs[-1]:.3g}, before max_lr, while the loss was still falling, so the "
                "suggestion is only a lower bound; rerun without stopping it")
    return "; the loss was still falling at max_lr, so the suggestion is only a lower bound"
