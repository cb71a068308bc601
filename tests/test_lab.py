"""gdlab.lab and its commands: the autograd graph of a known model, DOT output, finite-difference
gradient checks (passing, closed form, a planted bug), and sharpness against closed-form Hessians."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import gdlab.cli.lab_cmd as lab_cmd
from gdlab.lab.show import gradcheck_table
from gdlab.lab.gradcheck import closed_form_check, gradcheck_model, plant_wrong_gradient
from gdlab.lab.graph import to_dot, trace
from gdlab.lab.sharpness import top_hessian_eigenvalue
from gdlab.loading import load_config
from tests.helpers import invoke

ROOT = Path(__file__).resolve().parents[1]

REGRESSION = """\
name: lab
seed: 0
data: {name: linear, n_samples: 64, n_features: 2, noise: 0.1, val_fraction: 0.25}
model:
  - Linear: [2, 3]
  - ReLU
  - Linear: [3, 1]
loss: MSELoss
optimizer: {name: GD, lr: 0.1}
train: {steps: 5, device: cpu}
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(REGRESSION)
    return path


def two_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    x, y = torch.randn(4, 2), torch.randn(4, 1)
    return model, x, y


# ---------------------------------------------------------------- graph
def test_graph_of_a_two_layer_net_has_exactly_the_expected_nodes_and_edges():
    model, x, y = two_layer()
    graph = trace(model, nn.MSELoss(), x, y)
    assert graph.edges() == [
        ("MseLossBackward0", ["AddmmBackward0"]),
        ("AddmmBackward0", ["AccumulateGrad[2.bias]", "ReluBackward0", "TBackward0"]),
        ("AccumulateGrad[2.bias]", []),
        ("ReluBackward0", ["AddmmBackward0"]),
        ("AddmmBackward0", ["AccumulateGrad[0.bias]", "TBackward0"]),  # x needs no grad: no edge
        ("AccumulateGrad[0.bias]", []),
        ("TBackward0", ["AccumulateGrad[0.weight]"]),
        ("AccumulateGrad[0.weight]", []),
        ("TBackward0", ["AccumulateGrad[2.weight]"]),
        ("AccumulateGrad[2.weight]", []),
    ]
    shapes = {n.label: n.shape for n in graph.nodes}
    assert shapes["MseLossBackward0"] == () and shapes["ReluBackward0"] == (4, 3)
    assert shapes["AccumulateGrad[0.weight]"] == (3, 2) and shapes["AccumulateGrad[2.bias]"] == (1,)
    assert [n.shape for n in graph.nodes if n.name == "AddmmBackward0"] == [(4, 1), (4, 3)]
    assert [n.shape for n in graph.nodes if n.name == "TBackward0"] == [(2, 3), (3, 1)]
    leaves = [n for n in graph.nodes if n.param]
    assert all(n.requires_grad for n in leaves) and len(leaves) == 4
    assert [n.layer for n in graph.nodes] == [None, 2, 2, 1, 0, 0, 0, 0, 2, 2]
    params = dict(model.named_parameters())  # the grads recorded are the ones backward() left in .grad
    for n in leaves:
        assert torch.equal(n.grad, params[n.param].grad)


def test_dot_has_one_record_per_node_and_one_edge_per_child():
    model, x, y = two_layer()
    graph = trace(model, nn.MSELoss(), x, y)
    text = to_dot(graph)
    assert text.startswith("digraph autograd {") and text.rstrip().endswith("}")
    records = re.findall(r'^  n(\d+) \[label="\{ (.+) \| value (.+) \| grad (.+) \}"\];$', text, re.M)
    assert [int(r[0]) for r in records] == list(range(len(graph.nodes)))
    assert records[0][1:] == ("MseLossBackward0", f"{graph.nodes[0].value.item():.4g}", "1")
    assert records[2][1] == r"AccumulateGrad 2.bias"
    assert "norm" in records[1][2] and records[1][2].startswith("[4, 1]")
    edges = re.findall(r"^  n(\d+) -> n(\d+);$", text, re.M)
    assert sorted((int(a), int(b)) for a, b in edges) == sorted((c, n.id) for n in graph.nodes for c in n.children)


def test_graph_command_prints_the_tree_and_writes_dot(config, tmp_path):
    dot = tmp_path / "g.dot"
    result = invoke("graph", config, "--dot", dot)
    assert result.exit_code == 0, result.output
    for name in ("MseLossBackward0", "AddmmBackward0", "ReluBackward0", "TBackward0", "AccumulateGrad 0.weight", "requires_grad=True"):
        assert name in result.output
    assert dot.read_text().count("[label=") == 10


def test_graph_names_the_file_it_wrote_as_it_is(config, tmp_path):
    """A folder named `[draft]` was read as rich markup and left out of the path printed; `[/x]` was a traceback."""
    for dot in (tmp_path / "[draft]" / "g.dot", tmp_path / "a[" / "x]" / "g.dot"):
        result = invoke("graph", config, "--dot", dot)
        assert result.exit_code == 0 and f"wrote {dot} (values" in result.stdout, (result.output, result.exception)


def test_graph_groups_by_layer_on_request(config):
    result = invoke("graph", config, "--group", "layers")
    assert result.exit_code == 0, result.output
    assert "[2] Linear(3, 1)" in result.output and "[1] ReLU" in result.output and "AccumulateGrad" not in result.output


def test_graph_by_layer_names_a_layernorm_by_its_shape(config):
    """'[1] LayerNorm((3) -> ...': the label was cut at the first comma of '(3,), eps=1e-05'."""
    result = invoke("graph", config, "model=[{Linear: [2, 3]}, {LayerNorm: [3]}, ReLU, {Linear: [3, 1]}]", "--group", "layers")
    assert result.exit_code == 0, result.output
    assert "[1] LayerNorm(3) ->" in result.output, result.output


def test_gradcheck_checks_the_backward_batchnorm_runs_in_training():
    """It ran BatchNorm in eval mode (running statistics), so the backward training runs, through the batch's
    mean and variance, was never checked: a bug there passed."""

    class Doubled(torch.autograd.Function):  # identity forward, a backward twice too large
        @staticmethod
        def forward(ctx, x):
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    class BuggyInTraining(nn.BatchNorm1d):
        def forward(self, x):
            y = super().forward(x)
            return Doubled.apply(y) if self.training else y

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), BuggyInTraining(4), nn.Tanh(), nn.Linear(4, 1))
    rows = gradcheck_model(model, nn.MSELoss(), torch.randn(16, 3), torch.randn(16, 1))
    assert {r.name: r.passed for r in rows} == {"0.weight": False, "0.bias": True, "1.weight": False,
                                                "1.bias": False, "3.weight": True, "3.bias": True}
    assert not model[1].running_mean.any()  # the caller's model is untouched (the check works on a copy)


def test_png_without_graphviz_is_one_line_and_exit_1(config, tmp_path, monkeypatch):
    monkeypatch.setattr(lab_cmd.shutil, "which", lambda name: None)
    missing = invoke("graph", tmp_path / "nope.yaml", "--png", tmp_path / "g.png")
    assert missing.exit_code == 2 and "no such file" in missing.stderr  # bad input first: it was exit 1, no dot
    result = invoke("graph", config, "--png", tmp_path / "g.png")
    assert result.exit_code == 1
    assert "apt-get install graphviz" in result.output and "brew install graphviz" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "g.png").exists()


def test_png_is_rendered_by_the_dot_program(config, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "dot"  # stands in for Graphviz: copies the DOT text it is given to -o FILE
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\n[ "$1" = -Tpng ] && [ "$2" = -o ] && cat > "$3"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    result = invoke("graph", config, "--png", tmp_path / "g.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "g.png").read_text().startswith("digraph autograd {")


def test_a_deep_net_is_shown_one_line_per_layer(config):
    layers = ", ".join(["{Linear: [2, 2]}, Tanh"] * 8)
    result = invoke("graph", config, f"model=[{layers}, {{Linear: [2, 1]}}]")
    assert result.exit_code == 0, result.output
    assert "[0] Linear(2, 2)" in result.output and "[16] Linear(2, 1)" in result.output
    assert "AccumulateGrad" not in result.output


# ---------------------------------------------------------------- gradcheck
def test_gradcheck_passes_a_correct_model_and_exits_0(config):
    result = invoke("gradcheck", config)
    assert result.exit_code == 0, result.output
    assert "0.weight" in result.output and "FAIL" not in result.output


def test_gradcheck_samples_large_tensors():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 20), nn.Tanh(), nn.Dropout(0.5), nn.Linear(20, 2))
    rows = gradcheck_model(model, nn.CrossEntropyLoss(), torch.randn(8, 3), torch.tensor([0, 1] * 4), max_elements=16)
    assert [(r.name, r.checked, r.numel) for r in rows] == [
        ("0.weight", 16, 60), ("0.bias", 16, 20), ("3.weight", 16, 40), ("3.bias", 2, 2),
    ]
    assert all(r.passed for r in rows)  # Dropout is switched off for the check


def test_closed_form_gradient_of_linear_mse_equals_autograd(config):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 2))
    x, y = torch.randn(10, 3), torch.randn(10, 2)
    found = closed_form_check(model, nn.MSELoss(), x, y)
    assert [name for name, _, _ in found] == ["0.weight", "0.bias"]
    for _, mine, auto in found:
        assert torch.allclose(mine, auto, rtol=0, atol=1e-10)
    result = invoke("gradcheck", config, "model=[{Linear: [2, 1]}]")
    assert result.exit_code == 0, result.output
    assert "closed-form" in result.output


def test_a_planted_wrong_gradient_fails():
    model, x, y = two_layer()
    rows = gradcheck_model(plant_wrong_gradient(model, after=0, factor=1.5), nn.MSELoss(), x, y)
    assert {r.name: r.passed for r in rows} == {"0.weight": False, "0.bias": False, "2.weight": True, "2.bias": True}
    assert max(r.max_rel for r in rows if not r.passed) == pytest.approx(0.5, rel=1e-6)  # |1.5g - g| / |g|


class Faint(nn.Module):
    """out = x + 1e-14 * w: d loss / d w is ~1e-14, which central differences on a loss near 1 read as 0."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1, dtype=torch.float64))

    def forward(self, x):
        return x + 1e-14 * self.w


def test_a_gradient_below_float64s_resolution_passes_on_atol_with_no_infinite_relative_error():
    x = torch.ones(4, 1, dtype=torch.float64)
    (row,) = gradcheck_model(Faint(), nn.MSELoss(), x, torch.zeros(4, 1, dtype=torch.float64))
    # it showed inf beside "pass", then 0: a relative error of a zero numeric gradient is undefined
    assert row.passed and 0 < row.max_abs < 1e-13 and row.max_rel is None


def test_the_relative_error_column_leaves_out_elements_whose_numeric_gradient_is_zero():
    """A dead ReLU unit's incoming weights have a numeric gradient of exactly 0: they must not pull the
    column to 0 or to infinity; the other elements' relative errors are still shown."""
    torch.manual_seed(0)
    lin = nn.Linear(2, 2).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 1.0], [-5.0, -5.0]]))
        lin.bias.copy_(torch.tensor([0.5, -10.0]))  # unit 1 is dead for every x in [0, 1]^2
    model = nn.Sequential(lin, nn.ReLU(), nn.Linear(2, 1).double())
    planted = plant_wrong_gradient(model, after=0, factor=1.5)
    x, y = torch.rand(8, 2, dtype=torch.float64), torch.rand(8, 1, dtype=torch.float64)
    weight = gradcheck_model(planted, nn.MSELoss(), x, y)[0]
    assert not weight.passed and weight.max_rel == pytest.approx(0.5, rel=1e-6)  # the live unit's |1.5g - g| / |g|
    dead = nn.Linear(2, 1).double()
    with torch.no_grad():
        dead.weight.fill_(1.0), dead.bias.fill_(-10.0)
    rows = gradcheck_model(nn.Sequential(dead, nn.ReLU()), nn.MSELoss(), x, y)  # every gradient is exactly 0
    assert all(r.passed and r.max_rel is None and r.max_abs == 0 for r in rows)
    table = gradcheck_table(rows, 1e-6, 1e-4)
    assert list(table.columns[4].cells) == ["–", "–"] and "–: every numeric gradient was 0 to float64's resolution" in table.caption


def test_the_relative_error_shown_is_the_one_rtol_is_held_to():
    """A column that said 0.33 while the rule measured 0.5 let a tensor fail with an error under --rtol."""
    model, x, y = two_layer()
    planted = plant_wrong_gradient(model, after=0, factor=1.5)
    for rtol, passes in ((0.45, False), (0.55, True)):
        rows = gradcheck_model(planted, nn.MSELoss(), x, y, rtol=rtol)
        first = rows[0]
        assert first.passed is passes and (first.max_rel <= rtol) is passes


def test_gradcheck_command_exits_1_on_a_planted_bug(config):
    result = invoke("gradcheck", config, "--plant-bug", "2")
    assert result.exit_code == 1
    # the rule on one line of the log (it wrapped at the table's width: `... for every` / `checked element`)
    assert "pass: |autograd - numeric| <= 1e-06 + 0.0001 * |numeric| for every checked element" in result.stdout
    assert "FAIL: 2 of 4 tensors" in result.output


def test_a_planted_bug_goes_after_the_first_layer_with_parameters(config):
    """After a leading Identity (no parameters) the bug's backward would never reach a parameter."""
    result = invoke("gradcheck", config, "model=[Identity, {Linear: [2, 8]}, Tanh, {Linear: [8, 1]}]", "--plant-bug", "1.5")
    assert result.exit_code == 1 and "FAIL: 2 of 4 tensors" in result.output


# ---------------------------------------------------------------- sharpness
def linear_problem(n=50, d=3, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(n, d, generator=g, dtype=torch.float64)
    y = x @ torch.randn(d, 1, generator=g, dtype=torch.float64) + 0.1 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    ones = torch.cat([x, torch.ones(n, 1, dtype=torch.float64)], 1)
    return x, y, 2 / n * ones.T @ ones  # the Hessian of mean squared error in (w, b)


def linear_loss(xs, ys):
    """Per-model MSE of y_hat = X w + b with flat rows [w, b], each model on its own data."""

    def loss(flat):
        return torch.stack([((x @ f[:-1, None] + f[-1] - y) ** 2).mean() for f, x, y in zip(flat, xs, ys)])

    return loss


def test_sharpness_of_linear_regression_is_the_top_eigenvalue_of_its_hessian():
    x, y, hessian = linear_problem()
    flat = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    flat.grad = torch.full_like(flat, 7.0)
    before, rng = flat.detach().clone(), torch.get_rng_state()
    value, used = top_hessian_eigenvalue(linear_loss([x], [y]), flat, iters=100, tol=1e-10)
    assert value.item() == pytest.approx(torch.linalg.eigvalsh(hessian)[-1].item(), rel=1e-3)
    assert 1 <= used <= 200  # a second, shifted pass when the first does not settle
    assert torch.equal(flat.detach(), before) and torch.equal(flat.grad, torch.full_like(flat, 7.0))
    assert torch.equal(torch.get_rng_state(), rng)  # the training RNG is left alone


def test_sharpness_is_not_fooled_by_many_eigenvalues_just_below_the_top():
    """H = diag(1, 0.9 x 999): from a random start the Rayleigh quotient creeps up from ~0.9 by steps below
    1e-3, so a rule that stops when it changes little (the default tolerance) stops at ~0.9 after two
    iterations. The residual rule goes on to the top eigenvalue."""
    curvature = torch.tensor([1.0] + [0.9] * 999, dtype=torch.float64)
    loss = lambda f: 0.5 * (curvature * f * f).sum(1)  # noqa: E731  (Hessian = diag(curvature))
    value, used = top_hessian_eigenvalue(loss, torch.zeros(1, 1000, dtype=torch.float64), iters=500, tol=1e-3)
    assert value.item() == pytest.approx(1.0, rel=1e-3) and used > 20
    # With too small a budget each pass stops at the budget (the unsettled first pass gets a shifted
    # second one), never early with a wrong answer.
    _, used = top_hessian_eigenvalue(loss, torch.zeros(1, 1000, dtype=torch.float64), iters=10, tol=1e-3)
    assert used == 20


def _quadratics(hessians: list[torch.Tensor]):
    """Per-model losses 0.5 w'H_k w: model k's Hessian is exactly H_k."""
    H = torch.stack(hessians)
    return lambda f: 0.5 * torch.einsum("kp,kpq,kq->k", f, H, f)


def _symmetric(eigenvalues: list[float], seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=torch.Generator().manual_seed(seed),
                                       dtype=torch.float64))
    return q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T


@pytest.mark.parametrize("eigenvalues", [
    [-5.0, 1.0, 0.5, 0.2],     # a negative eigenvalue of largest magnitude: plain power iteration gave -5
    [2.0, -2.0, 0.3, 0.1],     # a +-pair: the Rayleigh quotient never settled
    [-1.0, -3.0, -0.5, -2.0],  # all negative: the top one is -0.5
    [4.0, -1.0, 0.5, 0.0],     # the plain case stays one pass
    [1.0, -5.0, -20.0, 0.1],   # the first pass's end vector is nearly orthogonal to the top eigenvector
    [10.0, -10.0, 1.0, 0.5],   # a +-pair whose quotient stays above 0.9 |Hv|
])
def test_sharpness_is_the_top_eigenvalue_even_when_a_negative_one_is_larger(eigenvalues):
    hessians = [_symmetric(eigenvalues, seed) for seed in range(3)]
    value, _ = top_hessian_eigenvalue(_quadratics(hessians), torch.zeros(3, 4, dtype=torch.float64), iters=2000, tol=1e-9)
    expected = torch.stack([torch.linalg.eigvalsh(h)[-1] for h in hessians])
    assert torch.allclose(value, expected, atol=1e-5), (value, expected)
    alone = [top_hessian_eigenvalue(_quadratics([h]), torch.zeros(1, 4, dtype=torch.float64), iters=2000, tol=1e-9)[0] for h in hessians]
    assert torch.equal(value, torch.cat(alone))  # batched == alone, shifted pass included


def test_each_stacked_model_gets_its_own_sharpness():
    (x1, y1, h1), (x2, y2, h2) = linear_problem(scale=1.0), linear_problem(scale=3.0, seed=1)
    flat = torch.randn(2, 4, dtype=torch.float64)
    value, _ = top_hessian_eigenvalue(linear_loss([x1, x2], [y1, y2]), flat, iters=200, tol=1e-10,
                                      generator=torch.Generator().manual_seed(5))
    expected = torch.stack([torch.linalg.eigvalsh(h1)[-1], torch.linalg.eigvalsh(h2)[-1]])
    assert torch.allclose(value, expected, rtol=1e-3)
    assert expected[1] > 5 * expected[0]


def test_sharpness_through_the_stacked_engine_matches_the_closed_form():
    from gdlab.data import load_data
    from gdlab.engine.losses import StackedLoss
    from gdlab.engine.stack import StackedMLP

    cfg = load_config(ROOT / "configs" / "sine.yaml", ["data.name=linear", "data.n_features=3",
                                                         "model=[{Linear: [3, 1]}]", "train.dtype=float64"])
    data = load_data(cfg, torch.float64)
    stack = StackedMLP(cfg, [0], torch.device("cpu"), torch.float64)
    loss = StackedLoss(cfg.loss, torch.device("cpu"), torch.float64)
    x, y = data.x_train, data.y_train
    value, _ = top_hessian_eigenvalue(lambda f: loss(stack.forward(x[None], False, f), y[None]), stack.flat, iters=200, tol=1e-10)
    ones = torch.cat([x, torch.ones(len(x), 1, dtype=torch.float64)], 1)
    assert value.item() == pytest.approx(torch.linalg.eigvalsh(2 / len(x) * ones.T @ ones)[-1].item(), rel=1e-3)


@pytest.mark.parametrize("factor, converges", [(0.95, True), (1.05, False)])
def test_gradient_descent_on_the_quadratic_diverges_past_two_over_sharpness(factor, converges):
    x, y, _ = linear_problem()
    loss = linear_loss([x], [y])
    sharpness, _ = top_hessian_eigenvalue(loss, torch.zeros(1, 4, dtype=torch.float64), iters=200, tol=1e-12)
    lr = factor * 2 / sharpness.item()
    w = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    start = loss(w).item()
    for _ in range(500):  # plain gradient descent, by hand
        (grad,) = torch.autograd.grad(loss(w).sum(), w)
        with torch.no_grad():
            w -= lr * grad
    ones = torch.cat([x, torch.ones(len(x), 1, dtype=torch.float64)], 1)
    minimum = loss(torch.linalg.lstsq(ones, y).solution.T).item()
    end = loss(w).item()
    if converges:
        assert end == pytest.approx(minimum, rel=1e-6)
    else:
        assert end > 1e6 * start


# ---------------------------------------------------------------- the shipped config and the light CLI
def test_edge_of_stability_config_measures_sharpness():
    cfg = load_config(ROOT / "configs" / "edge_of_stability.yaml")
    assert cfg.optimizer.name == "GD" and cfg.loss.name == "MSELoss" and cfg.train.batch_size is None
    assert cfg.train.sharpness_every == 50


def test_lab_commands_import_no_torch():
    code = "import sys, gdlab.cli.lab_cmd; assert 'torch' not in sys.modules, 'torch imported'"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0


def test_gradcheck_takes_data_beyond_float32s_range_as_it_runs_in_float64(tmp_path):
    """The data was loaded in the config's float32 first and refused ('rescale it, or set train.dtype: float64')."""
    (tmp_path / "big.csv").write_text("a,y\n1e39,1\n2,2\n3,1\n4,5\n")
    cfg = tmp_path / "big.yaml"
    cfg.write_text("data: {name: csv, path: big.csv, target: y, val_fraction: 0}\nmodel: [{Linear: [1, 1]}]\n"
                   "loss: MSELoss\noptimizer: {name: GD, lr: 0.1}\ntrain: {steps: 2}\n")
    result = invoke("gradcheck", cfg)
    assert result.exit_code in (0, 1) and "0.weight" in result.stdout, result.stderr
    assert invoke("train", cfg, "--smoke").exit_code == 2  # training in float32 still refuses it


def test_a_planted_factor_is_printed_in_full_not_rounded_to_no_bug(config):
    """'--plant-bug 1.0000001' printed 'multiplied by 1', which reads as no bug at all."""
    result = invoke("gradcheck", config, "--plant-bug", "1.0000001")
    assert "--plant-bug 1.0000001: " in result.stdout and "multiplied by 1.0000001;" in result.stdout, result.stdout
