"""gdlab's training loop against a minimal hand-written PyTorch loop: same data, model, steps and
per-step logging (one CSV row per step). Prints medians of several repeats and the ratio.

Target: ratio <= 1.10, on CPU and on a GPU.
Usage: python benchmarks/train_overhead.py [--steps N] [--repeats R] [--device cuda]"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from gdlab.config import Config
from gdlab.data import load_data
from gdlab.model import build_sequential
from gdlab.runner import Variant, run_group

SIZES = {
    "tiny (n=64, hidden 16)": (64, 16),
    "moons (n=1000, hidden 32)": (1000, 32),
    "wide (n=2048, hidden 64)": (2048, 64),
}


DEVICE = torch.device("cpu")  # --device; both loops run on it


def config(n: int, hidden: int, steps: int, opt: str) -> Config:
    return Config.model_validate({
        "name": "bench", "seed": 0,
        "data": {"name": "moons", "n_samples": n, "noise": 0.2, "val_fraction": 0},
        "model": [{"Linear": [2, hidden]}, "Tanh", {"Linear": [hidden, hidden]}, "Tanh", {"Linear": [hidden, 2]}],
        "loss": "CrossEntropyLoss",
        "optimizer": {"name": opt, "lr": 0.05},
        "train": {"steps": steps, "device": str(DEVICE)},
    })


def hand_written(cfg: Config, data, out: Path) -> float:
    """The loop a user would write: nn.Sequential, torch.optim, loss.item() to a CSV each step."""
    torch.manual_seed(cfg.seed)
    net = build_sequential(cfg).to(DEVICE)
    opt = getattr(torch.optim, cfg.optimizer.name)(net.parameters(), lr=cfg.optimizer.lr)
    loss_fn = nn.CrossEntropyLoss()
    x, y = data.x_train.to(DEVICE), data.y_train.to(DEVICE)
    t0 = time.perf_counter()
    with open(out, "w") as fh:
        fh.write("step,train_loss,wall_s\n")
        for step in range(1, cfg.train.steps + 1):
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            fh.write(f"{step},{loss.item()!r},{time.perf_counter() - t0}\n")
            fh.flush()
    return time.perf_counter() - t0


def gdlab_engine(cfg: Config, data, out: Path) -> float:
    """gdlab's path after setup: stacked engine, records, metrics.csv writer, summary and model.pt."""
    out.mkdir()
    t0 = time.perf_counter()
    run_group([Variant(cfg, out)], [data], DEVICE)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    args = ap.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    where = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {where}, {args.steps} full-batch steps, median of {args.repeats}")
    print(f"{'size':28s} {'opt':5s} {'hand-written s':>14s} {'gdlab s':>10s} {'ratio':>7s}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, (n, hidden) in SIZES.items():
            for opt in ("SGD", "Adam"):
                cfg = config(n, hidden, args.steps, opt)
                data = load_data(cfg)
                base, ours = [], []
                for r in range(args.repeats):  # interleaved, so machine noise hits both alike
                    base.append(hand_written(cfg, data, Path(tmp) / f"h{label[:4]}{opt}{r}.csv"))
                    ours.append(gdlab_engine(cfg, data, Path(tmp) / f"g{label[:4]}{opt}{r}"))
                b, o = statistics.median(base), statistics.median(ours)
                print(f"{label:28s} {opt:5s} {b:14.4f} {o:10.4f} {o / b:7.3f}")


if __name__ == "__main__":
    main()
