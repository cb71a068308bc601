"""The sweep plot's stability edge: the formula per optimizer checked against torch.optim on a quadratic,
and drawn only where it applies (an lr axis, GD or SGD)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from gdlab.plotting.stability import edges_of, stability_edge
from test_plot import line, make_sweep, sweep_figure

CASES = [
    {"name": "GD"},
    {"name": "SGD", "momentum": 0.0},
    {"name": "SGD", "momentum": 0.9},
    {"name": "SGD", "momentum": 0.5, "nesterov": True},
    {"name": "SGD", "momentum": 0.5, "dampening": 0.3},
    {"name": "SGD", "momentum": 0.9, "weight_decay": 0.5},
]


def _blows_up(opt: dict, lr: float, curvature: float) -> bool:
    """Minimize curvature/2 · w² with torch.optim.SGD (GD: plain SGD) for 3000 steps: does |w| grow?"""
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    args = {k: v for k, v in opt.items() if k != "name"}
    sgd = torch.optim.SGD([w], lr=lr, **args)
    for _ in range(3000):
        sgd.zero_grad()
        (0.5 * curvature * w * w).sum().backward()
        sgd.step()
    return abs(w.item()) > 1


@pytest.mark.parametrize("opt", CASES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_the_edge_is_where_torch_sgd_starts_to_diverge(opt):
    edge, _ = stability_edge(opt, 2.0)
    assert not _blows_up(opt, edge * 0.99, 2.0) and _blows_up(opt, edge * 1.01, 2.0)


def test_no_edge_for_adaptive_optimizers_or_unusable_sharpness():
    assert stability_edge({"name": "Adam"}, 2.0) is None and stability_edge({"name": "RMSprop"}, 2.0) is None
    assert stability_edge({"name": "SGD"}, float("nan")) is None and stability_edge({"name": "SGD"}, -1.0) is None


def test_rows_take_swept_optimizer_keys_over_the_base_config():
    table = pd.DataFrame({"optimizer.momentum": [0.0, 0.9], "optimizer.nesterov": ["False", "True"],
                          "init_sharpness": [2.0, 2.0]})
    edges, texts = edges_of(table, {"optimizer": {"name": "SGD", "lr": 0.1}}, {})
    assert list(edges) == pytest.approx([1.0, 1.9 / 2.8])
    assert texts[0] == "2 / init sharpness" and "1+2·momentum" in texts[1]


def test_momentum_sweep_draws_the_momentum_edge(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x", extra_columns={"init_sharpness": [2.0] * 4})
    for run in sweep.iterdir():  # the variants ran momentum SGD: their config.yaml says so
        if run.is_dir():
            cfg = (run / "config.yaml").read_text().replace("momentum: 0.0", "momentum: 0.9")
            (run / "config.yaml").write_text(cfg)
    fig, _ = sweep_figure(sweep)
    edge = line(fig, "stability_edge")
    assert edge.get_xdata() == pytest.approx([1.9, 1.9]) and edge.get_label() == "2(1+momentum) / init sharpness = 1.9"


def test_no_edge_on_an_axis_other_than_lr(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x", extra_columns={"init_sharpness": [2.0] * 4})
    table = pd.read_csv(sweep / "sweep.csv").rename(columns={"optimizer.lr": "optimizer.momentum"})
    table.to_csv(sweep / "sweep.csv", index=False)
    fig, _ = sweep_figure(sweep)
    assert not [ln for ax in fig.axes for ln in ax.get_lines() if str(ln.get_gid()).startswith("stability_edge")]
