"""How many CPU threads a group's step should use. torch's default, one OpenMP thread per core, wins
on an idle machine once a step has some size, but a small step only pays the threads' fork and join,
and with a core busy elsewhere every op waits for a descheduled thread: `gdlab train
configs/edge_of_stability.yaml` (200 rows x 32) took 2.9 s idle and 30 s beside another busy process.
Measured on this project's 2-core VM, idle, one model of n x 32 (s per 1500 steps, 1 thread vs 2):
200 rows 0.30 vs 0.30, 500 rows 0.41 vs 0.38, 1000 rows 0.56 vs 0.50, 2000 rows 0.83 vs 0.65. So below
16384 values one thread (free idle, never 10x slower busy); above, torch's choice, which the
training-overhead target (<= 1.10 x a plain loop on torch's threads) holds gdlab to on an idle machine.
There a busy machine is the user's to set, with OMP_NUM_THREADS=1 (README)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch

SERIAL_MAX_ACTIVATIONS = 16384  # below this, one thread (see above)
# True once a sweep worker has set this process's threads (its share of the cores, and OMP_NUM_THREADS with
# it): that count is gdlab's, not the user's, so small steps still drop to one thread.
worker_threads_set = False


def set_worker_threads(n: int) -> None:
    """A sweep worker's (or Ray task's) share of the machine's cores, as gdlab chose it."""
    global worker_threads_set
    torch.set_num_threads(n)
    worker_threads_set = True


def activation_size(cfg) -> int:
    """Values in one model's widest layer output for one batch: rows x the widest Linear."""
    rows = cfg.train.batch_size or int(getattr(cfg.data, "n_samples", 1000) * (1 - cfg.data.val_fraction))
    width = max([layer.args.get("out_features", 1) for layer in cfg.model] + [1])
    return rows * width


def threads_for(cfg, n_models: int, device: torch.device) -> int | None:
    """1 for a CPU group whose step is too small to share out; None keeps torch's choice (as does a
    user's OMP_NUM_THREADS, but not the one a --jobs worker set for itself)."""
    if device.type != "cpu" or ("OMP_NUM_THREADS" in os.environ and not worker_threads_set):
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
