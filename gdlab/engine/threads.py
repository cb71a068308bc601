"""How many CPU threads a group's step should use. gdlab's models are small: below about a million
activation values per layer, splitting each op over several OpenMP threads costs more than it saves,
and when another process holds a core it is catastrophic, since every op waits for a descheduled
thread. Measured on a 2-core VM with one core busy elsewhere (ms per step, 1 thread vs 2): n=1000 x 32
0.48 vs 3.5, 128 models of 64 x 16 1.6 vs 27, 8 models of 2048 x 64 (1M values) 15.3 vs 8.5; and with
both cores idle `gdlab train configs/moons.yaml` ran 5x faster on one thread."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch

PARALLEL_MIN_ACTIVATIONS = 1 << 20  # below this a step's ops are too small to share out


def activation_size(cfg) -> int:
    """Values in one model's widest layer output for one batch: rows x the widest Linear."""
    rows = cfg.train.batch_size or int(getattr(cfg.data, "n_samples", 1000) * (1 - cfg.data.val_fraction))
    width = max([layer.args.get("out_features", 1) for layer in cfg.model] + [1])
    return rows * width


def threads_for(cfg, n_models: int, device: torch.device) -> int | None:
    """1 for a CPU group whose step is small, else None (torch's own choice). A user's OMP_NUM_THREADS
    or torch.set_num_threads below the default is kept as it is."""
    if device.type != "cpu" or "OMP_NUM_THREADS" in os.environ:
        return None
    return 1 if activation_size(cfg) * n_models < PARALLEL_MIN_ACTIVATIONS else None


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
