"""How many CPU threads a group's step should use. torch's default, one OpenMP thread per core, wins
on an idle machine once a step has some size, but a step of a few thousand values only pays the threads'
fork and join. Measured on this project's 2-core VM, idle (ms per step, 1 thread vs 2): one model of
64 x 16 0.129 vs 0.137, n=1000 x 32 0.43 vs 0.32, 4 models of 2048 x 64 7.1 vs 3.8. With one core busy
elsewhere every op waits for a descheduled thread (n=1000 x 32: 0.48 vs 3.5; `gdlab train
configs/moons.yaml` 2.7 s vs 37 s): that case is the user's to set, with OMP_NUM_THREADS=1 (README)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch

SERIAL_MAX_ACTIVATIONS = 4096  # below this, threads only add their fork and join to every op


def activation_size(cfg) -> int:
    """Values in one model's widest layer output for one batch: rows x the widest Linear."""
    rows = cfg.train.batch_size or int(getattr(cfg.data, "n_samples", 1000) * (1 - cfg.data.val_fraction))
    width = max([layer.args.get("out_features", 1) for layer in cfg.model] + [1])
    return rows * width


def threads_for(cfg, n_models: int, device: torch.device) -> int | None:
    """1 for a CPU group whose step is too small to share out; None keeps torch's choice (as does a
    user's OMP_NUM_THREADS)."""
    if device.type != "cpu" or "OMP_NUM_THREADS" in os.environ:
        return None
    return 1 if activation_size(cfg) * n_models < SERIAL_MAX_ACTIVATIONS else None


@contextmanager
def intra_op_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op threads at most `n` inside, as they were outside."""
    before = torch.get_num_threads()
    if n is not None and n < before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
