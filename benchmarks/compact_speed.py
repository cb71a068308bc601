"""Compaction (gdlab/engine/compact.py): an lr sweep whose larger half of lrs diverges within the first few
steps, run by gdlab's engine as `gdlab sweep` groups it (on a CPU, groups of at most cpu_group_limit
models, on the threads the runner gives them), with compaction on and off. Every step's records reach the
host; nothing is written.
Prints the median seconds of each (interleaved repeats) and off/on: the speed-up compaction gives.

Usage: python benchmarks/compact_speed.py [--steps 300] [--sizes tiny,moons] [--ks 16,64] [--opts SGD,Adam] [--repeats 5]"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import gdlab.engine.compact as compact
from gdlab.config import Config
from gdlab.data import load_data
from gdlab.engine.loop import GroupTrainer
from sweep_speed import names_of  # this script's folder is on sys.path when it runs
from gdlab.engine.threads import intra_op_threads, threads_for
from gdlab.sweep.grouping import cpu_group_limit

SIZES = {"tiny": (64, 16), "moons": (1000, 32)}  # as in sweep_speed.py


def config(n: int, hidden: int, steps: int, opt: str, lr: float) -> Config:
    # ReLU, not sweep_speed.py's Tanh: without a ceiling on the activations, the large lrs diverge within steps
    return Config.model_validate({
        "name": "bench", "seed": 0,
        "data": {"name": "moons", "n_samples": n, "noise": 0.2, "val_fraction": 0},
        "model": [{"Linear": [2, hidden]}, "ReLU", {"Linear": [hidden, hidden]}, "ReLU", {"Linear": [hidden, 2]}],
        "loss": "CrossEntropyLoss", "optimizer": {"name": opt, "lr": lr}, "train": {"steps": steps, "device": "cpu"},
    })


def lrs_for(k: int, opt: str) -> list[float]:
    """Stable and diverging lrs alternating, so every group of the sweep loses about half its models."""
    stable, wild = (1e-3, 1e-1), ((30.0, 1000.0) if opt == "SGD" else (10.0, 1000.0))
    half = max(k // 2, 1)
    span = lambda lo, hi, i: lo * (hi / lo) ** (i / max(half - 1, 1))  # noqa: E731
    lrs = [lr for i in range(half) for lr in (span(*stable, i), span(*wild, i))]
    return lrs[:k]


def engine(cfgs: list[Config], data, enabled: bool) -> tuple[float, list]:
    compact.ENABLED = enabled
    size = cpu_group_limit(cfgs[0]) or len(cfgs)
    t0, cuts = time.perf_counter(), []
    for i in range(0, len(cfgs), size):
        group = cfgs[i : i + size]
        trainer = GroupTrainer(group, [data] * len(group), torch.device("cpu"))
        with intra_op_threads(threads_for(group[0], len(group), trainer.device)):  # as the runner sets them
            for _ in trainer.run():
                pass
        cuts.append((len(group), sum(d is not None for d in trainer.diverged_at), trainer.compaction.history))
    return time.perf_counter() - t0, cuts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--sizes", default="tiny,moons", type=names_of(SIZES))
    ap.add_argument("--ks", default="16,64")
    ap.add_argument("--opts", default="SGD,Adam", type=names_of(("SGD", "Adam")))
    ap.add_argument("--repeats", type=int, default=5, help="median of this many interleaved repeats")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} threads, {args.steps} full-batch steps per variant, "
          f"half the lrs diverging")
    print(f"{'size':6s} {'opt':5s} {'K':>4s} {'groups':>7s} {'diverged':>9s} {'cut to':>10s} {'off s':>8s} {'on s':>8s} {'off/on':>7s}")
    for size in args.sizes:
        n, hidden = SIZES[size]
        for opt in args.opts:
            for k in map(int, args.ks.split(",")):
                cfgs = [config(n, hidden, args.steps, opt, lr) for lr in lrs_for(k, opt)]
                data = load_data(cfgs[0])
                engine(cfgs[:4], data, True)  # warm-up
                times: dict[bool, list[float]] = {False: [], True: []}
                cuts: list = []
                for r in range(args.repeats):  # interleaved, alternating which goes first: noise hits both alike
                    for enabled in (r % 2 == 0, r % 2 == 1):
                        seconds, groups = engine(cfgs, data, enabled)
                        times[enabled].append(seconds)
                        cuts = groups if enabled else cuts
                off, on = statistics.median(times[False]), statistics.median(times[True])
                diverged = sum(c[1] for c in cuts)
                rows = "/".join(str(h[-1][1]) if h else "-" for _, _, h in cuts[:3]) + ("/..." if len(cuts) > 3 else "")
                at = max((h[0][0] for _, _, h in cuts if h), default=None)
                print(f"{size:6s} {opt:5s} {k:4d} {len(cuts):7d} {diverged:9d} {rows:>10s} {off:8.3f} {on:8.3f} {off / on:7.2f}"
                      + (f"   (first cut by step {at})" if at else ""), flush=True)
    compact.ENABLED = True


if __name__ == "__main__":
    main()
