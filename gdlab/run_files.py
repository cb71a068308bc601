"""The files a run folder gets besides its metrics: config.yaml and overrides.yaml first, model.pt and
snapshots of the weights, the fingerprint of the initial weights its summary records, and the device it runs on."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from gdlab.config import Config
from gdlab.errors import GdlabError
from gdlab.rundir import write_atomic
from gdlab.yamldump import dump_config, dump_yaml

if TYPE_CHECKING:
    from gdlab.engine.loop import GroupTrainer


@dataclass
class Variant:
    """One model to train: its config, the overrides that made it, and its run folder."""

    cfg: Config
    run_dir: Path
    overrides: list[str] = field(default_factory=list)


def write_run_header(v: Variant) -> None:
    """A run's first files: its resolved config and the overrides that made it."""
    # Not fsynced: a run without summary.json is unfinished whatever else is there, and is redone on resume.
    write_atomic(v.run_dir / "config.yaml", dump_config(v.cfg.resolved()), durable=False)
    write_atomic(v.run_dir / "overrides.yaml", dump_yaml(list(v.overrides)), durable=False)


def save_model(path: Path, state: dict) -> None:
    """One model's state dict, as torch.save writes it."""
    buf = io.BytesIO()
    torch.save(state, buf)
    # Atomic but not fsynced: summary.json, written after it (fsynced in a single run), marks a run finished.
    write_atomic(path, buf.getvalue(), durable=False)


def save_snapshots(trainer: GroupTrainer, variants: list[Variant], step: int) -> None:
    """Each still-training model's weights after `step` (0: the initial weights), as snapshots/step_<N>.pt.
    A model stopped early has its last snapshot at its stop step, as it has alone, where its run ends there."""
    stopped = trainer.divergence.stopped
    alive = [k for k in range(len(variants)) if trainer.diverged_at[k] is None and (stopped[k] is None or stopped[k] >= step)]
    rows = [trainer.divergence.row(k) for k in alive]  # each one's row in a compacted stack (engine/compact.py)
    for k, state in zip(alive, trainer.model.state_dicts(rows)):
        folder = variants[k].run_dir / "snapshots"
        folder.mkdir(exist_ok=True)
        save_model(folder / f"step_{step:07d}.pt", state)


def files_in_background(device: torch.device, n_models: int) -> bool:
    """Whether a group's first files (config.yaml, overrides.yaml, metrics.csv) are written while it trains:
    on an accelerator, where the host mostly waits for the device. Not on a CPU, whose cores train."""
    return device.type != "cpu" and n_models > 1


def init_hashes(flat: torch.Tensor) -> list[str]:
    """A short fingerprint of each model's initial weights (the rows of the [K, P] stack, brought to the
    host in one copy): equal hashes mean a fair start."""
    rows = flat.detach().cpu().contiguous().numpy()
    return [hashlib.sha256(row.tobytes()).hexdigest()[:16] for row in rows]


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GdlabError(f"train.device: '{spec}' asked for, but this torch has no CUDA device; use auto or cpu")
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise GdlabError(f"train.device: '{spec}' does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
    if spec == "mps" and not torch.backends.mps.is_available():
        raise GdlabError("train.device: 'mps' is not available here; use auto or cpu")
    return torch.device(spec)
