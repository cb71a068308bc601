"""The learning-rate range test: one short run with the lr growing exponentially each step, stopped
once the smoothed loss passes `stop_factor` x its best. The suggestion is a heuristic, and says so."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from gdlab.config import Config, ExponentialLR
from gdlab.rundir import CsvAppender, create_run_dir, write_json
from gdlab.runner import prepare_data, resolve_device
from gdlab.yamlio import dump_yaml


@dataclass
class LRFindResult:
    run_dir: Path
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggested_lr: float | None
    min_loss_lr: float | None
    stopped_early: bool


def range_test_config(cfg: Config, min_lr: float, max_lr: float, steps: int) -> Config:
    gamma = (max_lr / min_lr) ** (1 / max(steps - 1, 1))
    train = cfg.train.model_copy(update={"epochs": None, "steps": steps, "diverge_factor": None, "eval_every": steps,
                                         "checkpoint_every": None, "sharpness_every": None, "snapshot_every": None})
    return cfg.model_copy(update={
        "optimizer": cfg.optimizer.model_copy(update={"lr": min_lr}),
        "scheduler": ExponentialLR(name="ExponentialLR", gamma=gamma, interval="step"),
        "train": train,
    })


def smooth(losses: list[float], beta: float) -> list[float]:
    """Bias-corrected exponential moving average; NaN/inf once reached stay NaN."""
    avg, out = 0.0, []
    for i, v in enumerate(losses, 1):
        if not math.isfinite(v) or (out and not math.isfinite(out[-1])):
            out.append(float("nan"))
            continue
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta**i))
    return out


def suggest(lrs: list[float], smoothed: list[float]) -> tuple[float | None, float | None]:
    """(lr of the steepest fall of the smoothed loss against log10 lr, lr at its minimum). The fall is
    searched only in the unbroken descent that ends at the minimum, so an early spike (which also
    "falls" as it recovers) or the blow-up after the minimum cannot be chosen."""
    finite = [i for i, v in enumerate(smoothed) if math.isfinite(v)]
    if len(finite) < 5:
        return None, None
    i_min = min(finite, key=lambda i: smoothed[i])
    # A fall smaller than 0.1% of the loss range per step is a plateau (e.g. the tail of a decaying spike).
    flat = 1e-3 * (max(smoothed[i] for i in finite if i <= i_min) - smoothed[i_min])
    start = i_min
    while start > 0 and math.isfinite(smoothed[start - 1]) and smoothed[start - 1] - smoothed[start] > flat:
        start -= 1
    if i_min - start < 2:
        return None, lrs[i_min]
    slope = lambda i: (smoothed[i] - smoothed[i - 1]) / (math.log10(lrs[i]) - math.log10(lrs[i - 1]))  # noqa: E731
    steepest = min(range(start + 1, i_min + 1), key=slope)
    return lrs[steepest], lrs[i_min]


def lr_find(cfg: Config, run_dir: Path | None = None, runs_root: Path | str = "runs", min_lr: float = 1e-6,
            max_lr: float = 10.0, steps: int = 100, stop_factor: float = 4.0, beta: float = 0.9) -> LRFindResult:
    """Run the range test into a new folder with lr_find.csv and lr_find.json."""
    from gdlab.engine.loop import GroupTrainer

    test_cfg = range_test_config(cfg, min_lr, max_lr, steps)
    data = prepare_data(test_cfg)
    device = resolve_device(test_cfg.train.device)
    folder = create_run_dir(cfg.name, runs_root, run_dir, prefix="lr-find-")
    (folder / "config.yaml").write_text(dump_yaml(test_cfg.resolved()))
    trainer = GroupTrainer([test_cfg], [data], device)
    lrs, losses, smoothed, best = [], [], [], math.inf
    stop = False
    csv = CsvAppender(folder / "lr_find.csv", ["step", "lr", "loss", "smoothed_loss"])
    try:
        for rec in trainer.run(should_stop=lambda: stop):
            lrs.append(rec.lr[0])
            losses.append(rec.train_loss[0])
            smoothed = smooth(losses, beta)
            s = smoothed[-1]
            csv.write({"step": rec.step, "lr": rec.lr[0], "loss": rec.train_loss[0], "smoothed_loss": s})
            best = min(best, s) if math.isfinite(s) else best
            stop = not math.isfinite(s) or s > stop_factor * best
    finally:
        csv.close()
    suggested, at_min = suggest(lrs, smoothed)
    stopped = len(lrs) < steps
    write_json(folder / "lr_find.json", {
        "suggested_lr": suggested, "min_loss_lr": at_min, "conservative_lr": at_min / 10 if at_min else None, "steps": len(lrs), "stopped_early": stopped,
        "min_lr": min_lr, "max_lr": max_lr, "stop_factor": stop_factor, "smoothing_beta": beta,
        "note": "heuristic: steepest descent of the smoothed loss; confirm with gdlab sweep",
    })
    return LRFindResult(folder, lrs, losses, smoothed, suggested, at_min, stopped)
