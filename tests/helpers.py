"""Shared test helpers: tiny configs, and a plain PyTorch loop to check gdlab's engine against."""

from __future__ import annotations

import copy

import torch
from torch import nn
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.config import Config
from gdlab.data import load_data
from gdlab.model import build_sequential

TINY = {
    "name": "tiny",
    "seed": 0,
    "data": {"name": "moons", "n_samples": 96, "noise": 0.2, "val_fraction": 0.25},
    "model": [{"Linear": [2, 8]}, "Tanh", {"Linear": [8, 2]}],
    "loss": "CrossEntropyLoss",
    "optimizer": {"name": "SGD", "lr": 0.1},
    "train": {"epochs": 10, "device": "cpu"},
}


def make_config(**changes) -> Config:
    """TINY with dotted-key changes, e.g. make_config(**{"optimizer.lr": 0.5})."""
    raw = copy.deepcopy(TINY)
    for key, value in changes.items():
        node = raw
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return Config.model_validate(raw)


def torch_optimizer(cfg: Config, params):
    """The torch.optim optimizer a gdlab optimizer config stands for (GD is SGD without extras)."""
    o = cfg.optimizer.model_dump()
    name = o.pop("name")
    if name == "GD":
        return torch.optim.SGD(params, lr=o["lr"])
    return getattr(torch.optim, name)(params, **o)


def reference_losses(cfg: Config, steps: int | None = None) -> list[float]:
    """Train losses per optimizer step from a minimal hand-written PyTorch loop."""
    dtype = torch.float64 if cfg.train.dtype == "float64" else torch.float32
    data = load_data(cfg, dtype)
    torch.manual_seed(cfg.seed)
    net = build_sequential(cfg).to(dtype)
    opt = torch_optimizer(cfg, net.parameters())
    loss_fn = {"CrossEntropyLoss": nn.CrossEntropyLoss, "MSELoss": nn.MSELoss, "L1Loss": nn.L1Loss,
               "HuberLoss": nn.HuberLoss, "BCEWithLogitsLoss": nn.BCEWithLogitsLoss}[cfg.loss.name]()
    x, y = data.x_train, data.y_train
    n = x.shape[0]
    bs = cfg.train.batch_size or n
    gen = torch.Generator().manual_seed(cfg.seed)
    total = steps or cfg.train.steps or cfg.train.epochs * -(-n // bs)
    out: list[float] = []
    while len(out) < total:
        order = torch.randperm(n, generator=gen) if bs < n and cfg.train.shuffle else torch.arange(n)
        for start in range(0, n, bs):
            if len(out) >= total:
                break
            idx = order[start : start + bs]
            opt.zero_grad()
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            if cfg.train.grad_clip:
                nn.utils.clip_grad_norm_(net.parameters(), cfg.train.grad_clip)
            opt.step()
            out.append(loss.item())
    return out


def invoke(*args):
    """Run the gdlab CLI in-process (Typer's runner); returns the result with exit_code and output."""
    return CliRunner().invoke(app, [str(a) for a in args])


def one_error_line(result, code: int, *parts: str) -> str:
    """The single `gdlab: error:` line, after checking the exit code and that no traceback escaped."""
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gdlab: error: "), result.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def trained_curves(configs: list[Config], device: str = "cpu", datasets=None, sync_every: int | None = None):
    """(trainer, curves): one group trained on `device`, and each model's train loss at every step it logged."""
    from gdlab.engine.loop import GroupTrainer

    dtype = torch.float64 if configs[0].train.dtype == "float64" else torch.float32
    datasets = datasets or [load_data(c, dtype) for c in configs]
    trainer = GroupTrainer(configs, datasets, torch.device(device), sync_every=sync_every)
    curves: list[list[float]] = [[] for _ in configs]
    for rec in trainer.run():
        for k in range(len(configs)):
            if rec.emit[k]:
                curves[k].append(rec.train_loss[k])
    return trainer, curves


def step_records(trainer) -> list[tuple]:
    """Every value each record of `trainer.run()` carries, as comparable tuples."""
    return [(r.step, r.emit, r.lr, r.train_loss, r.grad_norm, r.train_accuracy, r.val_loss, r.val_accuracy, r.extra)
            for r in trainer.run()]


def entry_at(path, text: str, line_with: str | None = None) -> str:
    """`path:line:col` of `text` on the first line of the file holding `line_with` (default: `text`), found by
    reading the text itself (not by gdlab's YAML marks), where an error about that entry must point."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if (line_with or text) in line and text in line:
            return f"{path}:{number}:{line.index(text) + 1}"
    raise AssertionError(f"{text!r} is not in {path}")
