"""The demonstrations docs/concepts.md and README's autograd lab describe, checked against numbers computed
another way: each must still show what the text says (the engine changes; the docs' numbers must not drift)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.sparse.linalg import LinearOperator, eigsh

from gdlab.data import load_data
from gdlab.loading import load_config
from tests.helpers import invoke

ROOT = Path(__file__).resolve().parents[1]


def top_eigenvalue(loss, params: list[torch.Tensor]) -> float:
    """λ_max of the loss's Hessian by Lanczos (scipy) on exact float64 Hessian-vector products."""
    flat = torch.cat([p.detach().double().flatten() for p in params]).requires_grad_()
    (grad,) = torch.autograd.grad(loss(flat), flat, create_graph=True)

    def hvp(v):
        return torch.autograd.grad(grad, flat, torch.as_tensor(v.ravel()), retain_graph=True)[0].numpy()

    return float(eigsh(LinearOperator((len(flat),) * 2, matvec=hvp, dtype=np.float64), k=1, which="LA", tol=1e-10)[0][0])


def test_the_edge_of_stability_config_sharpens_to_2_over_lr_and_stays_there(tmp_path):
    """concepts.md: the sharpness starts at 11.8, climbs past 2/lr = 33.3 near step 700, the loss spikes
    (near step 779), and from then on the sharpness stays within a few percent of 33.3 while the loss
    goes up on about 40% of the steps."""
    result = invoke("train", ROOT / "configs" / "edge_of_stability.yaml", "train.steps=1500", "train.sharpness_every=100",
                    "--run-dir", tmp_path / "run", "-q")
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv").set_index("step")
    sharpness, loss, edge = metrics["sharpness"].dropna(), metrics["train_loss"], 2 / 0.06

    # step 1's sharpness, at the initial weights: a 1-32-32-1 tanh MLP seeded as gdlab seeds it
    cfg = load_config(ROOT / "configs" / "edge_of_stability.yaml")
    data = load_data(cfg, torch.float64)
    torch.manual_seed(cfg.seed)
    net = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                              torch.nn.Linear(32, 1)).double()
    shapes = [p.shape for p in net.parameters()]

    def mse(flat):
        parts = torch.split(flat, [s.numel() for s in shapes])
        w = [p.view(s) for p, s in zip(parts, shapes)]
        h = torch.tanh(torch.tanh(data.x_train @ w[0].T + w[1]) @ w[2].T + w[3])
        return ((h @ w[4].T + w[5] - data.y_train) ** 2).mean()

    assert sharpness[1] == pytest.approx(top_eigenvalue(mse, list(net.parameters())), rel=1e-4)
    assert sharpness[1] == pytest.approx(11.8, abs=0.1) and sharpness[1] < 0.4 * edge  # well below the edge
    assert sharpness.loc[:700].is_monotonic_increasing and sharpness[701] > edge  # progressive sharpening, then past it
    spike = loss.loc[750:800]
    assert spike.idxmax() == pytest.approx(779, abs=5) and spike.max() > 5 * loss[740]
    late = sharpness.loc[1100:]
    assert ((late - edge).abs() < 0.03 * edge).all(), late  # hovers at the edge
    rises = (loss.loc[800:].diff().dropna() > 0).mean()
    assert 0.3 < rises < 0.5  # the loss no longer falls steadily
    assert loss[1500] < 0.015  # yet it keeps its gains


def test_the_quadratic_sweep_measures_the_closed_form_hessian_and_diverges_just_past_its_edge(tmp_path):
    """concepts.md: a lone Linear on `linear` data under MSELoss is a quadratic with H = 2/n [X 1]ᵀ[X 1];
    init_sharpness is its top eigenvalue (about 2.13), lr 0.9 (under 2/2.13 = 0.94) converges, 1.0 diverges."""
    result = invoke("sweep", ROOT / "configs" / "sine.yaml", "data.name=linear", "model=[{Linear: [1, 1]}]",
                    "optimizer.lr=0.9,1.0", "train.steps=100", "--sharpness", "--run-dir", tmp_path / "sweep", "-q")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "sweep" / "sweep.csv")
    cfg = load_config(ROOT / "configs" / "sine.yaml", ["data.name=linear", "model=[{Linear: [1, 1]}]"])
    x = load_data(cfg, torch.float64).x_train
    ones = torch.cat([x, torch.ones(len(x), 1, dtype=torch.float64)], 1)
    lam = torch.linalg.eigvalsh(2 / len(x) * ones.T @ ones)[-1].item()
    assert lam == pytest.approx(2.13, abs=0.01)
    assert table["init_sharpness"].tolist() == pytest.approx([lam, lam], rel=1e-4)
    assert table["status"].tolist() == ["completed", "diverged"]


def test_the_sine_configs_sharpness_sits_at_its_edge_and_zigzags_as_concepts_says(tmp_path):
    """concepts.md: with train.sharpness_every=25, sine.yaml's sharpness stays between about A and B from the first
    step, and from about step 800 zigzags between C and D, every other measurement on the other side of 2/lr = 20."""
    text = " ".join((ROOT / "docs" / "concepts.md").read_text(encoding="utf-8").split())
    quoted = re.search(r"sharpness stays between about ([\d.]+) and ([\d.]+) from the first step\. From about step 800 "
                       r"its panel zigzags between (?:about )?([\d.]+) and ([\d.]+)", text)
    assert quoted, "concepts.md no longer describes sine.yaml's sharpness panel this way; update this test"
    low, high, zig_low, zig_high = map(float, quoted.groups())
    result = invoke("train", ROOT / "configs" / "sine.yaml", "train.sharpness_every=25", "--run-dir", tmp_path / "run", "-q")
    assert result.exit_code == 0, result.output
    sharpness = pd.read_csv(tmp_path / "run" / "metrics.csv").set_index("step")["sharpness"].dropna()
    assert (round(sharpness.min(), 1), round(sharpness.max(), 1)) == (low, high)
    late = sharpness.loc[800:].loc[lambda s: s.index % 25 == 1]  # the grid's steps 801, 826 ...; not the last step's
    assert (round(late.min(), 1), round(late.max(), 1)) == (zig_low, zig_high)
    assert (np.sign(late - 20).diff().dropna() != 0).all()  # each measurement on the other side of the edge


def test_the_iterations_the_readme_says_the_shipped_configs_sharpness_settles_in(tmp_path, monkeypatch):
    """README: at the default budget edge_of_stability.yaml's measurements settle in A–B iterations and sine.yaml's
    (train.sharpness_every=25) in up to C. It said "the shipped configs settle in 16–29", while sine.yaml, at its
    edge all run, took up to 49 of the 50 and edge_of_stability.yaml as few as 7."""
    import gdlab.lab.sharpness as sharpness

    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    quoted = re.search(r"`configs/edge_of_stability.yaml`'s measurements settle in (\d+)–(\d+) iterations; "
                       r"`configs/sine.yaml`'s, whose whole run sits at its edge, take up to (\d+) of them", text)
    assert quoted, "README no longer says how many iterations the shipped configs' sharpness takes; update this test"
    low, high, sine_high = map(int, quoted.groups())
    used: list[int] = []
    measure = sharpness.measure_top_eigenvalue

    def counted(*args, **kwargs):
        value, iters, settled = measure(*args, **kwargs)
        used.append(iters)  # Hessian-vector products, both passes together
        assert bool(settled.all())
        return value, iters, settled

    monkeypatch.setattr(sharpness, "measure_top_eigenvalue", counted)
    result = invoke("train", ROOT / "configs" / "edge_of_stability.yaml", "--run-dir", tmp_path / "eos", "-q")
    assert result.exit_code == 0 and len(used) == 3000 // 50 + 1, result.output
    assert (min(used), max(used)) == (low, high)
    used.clear()
    result = invoke("train", ROOT / "configs" / "sine.yaml", "train.sharpness_every=25", "--run-dir", tmp_path / "sine", "-q")
    assert result.exit_code == 0 and max(used) == sine_high <= 50
