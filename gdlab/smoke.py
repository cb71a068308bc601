"""`gdlab train --smoke`: the config cut to a few steps, as CI checks a config, and the run's files read back."""

from __future__ import annotations

from pathlib import Path

from gdlab.config import Config
from gdlab.data import Dataset
from gdlab.engine.batches import patience_within
from gdlab.errors import EXIT_FAILED, GdlabError
from gdlab.files import show
from gdlab.runner import prepare_data

SMOKE_STEPS = 5


def smoke(cfg: Config) -> tuple[Config, Dataset]:
    """The config cut to 5 steps, with its data for `train(data=)`, refusing what the full run would. A OneCycleLR
    cycles over them, as they hold no epoch's cycle nor a rise of pct_start 0.2 or less (torch's 0.3 then)."""
    data = prepare_data(cfg)  # the cut config keeps data, seed and dtype: the same tensors serve its steps
    train = cfg.train.model_copy(update={"epochs": None, "steps": SMOKE_STEPS, "eval_every": None, "checkpoint_every": None,
                                         "snapshot_every": cfg.train.snapshot_every and min(cfg.train.snapshot_every, SMOKE_STEPS)})
    train = train.model_copy(update={"early_stop_patience": patience_within(train, data.x_train.shape[0])})
    if (scheduler := cfg.scheduler) is not None and scheduler.name == "OneCycleLR":
        pct = scheduler.pct_start if scheduler.pct_start * SMOKE_STEPS > 1 else 0.3
        scheduler = scheduler.model_copy(update={"interval": "step", "pct_start": pct})
    return cfg.model_copy(update={"train": train, "scheduler": scheduler}), data


def check_smoke_files(cfg: Config, folder: Path) -> None:
    """A smoke run's files read back: summary.json says how it ended, metrics.csv holds the last step's row,
    model.pt loads with the config's tensors. Otherwise a GdlabError (exit 1) naming the file."""
    import json

    from gdlab.model import build_sequential
    from gdlab.weights import check_fits, load_weights

    try:
        summary = json.loads((folder / "summary.json").read_text())
        last = (folder / "metrics.csv").read_text().rstrip("\n").rsplit("\n", 1)[-1].split(",", 1)[0]
    except (OSError, ValueError) as exc:
        raise GdlabError(f"--smoke: {show(folder)}: a run file did not read back ({exc})", EXIT_FAILED) from None
    if last != str(summary.get("steps")):
        raise GdlabError(f"--smoke: {show(folder / 'metrics.csv')}: last row is step {last}, summary.json says "
                         f"{summary.get('steps')} steps", EXIT_FAILED)
    try:
        check_fits(load_weights(folder / "model.pt"), build_sequential(cfg), folder / "model.pt")
    except GdlabError as exc:
        raise GdlabError(f"--smoke: {exc.message}", EXIT_FAILED) from None
