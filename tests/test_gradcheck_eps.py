"""gdlab gradcheck with too small an --eps: the failures are float64 rounding of the loss, not autograd, and
the output says so (a student varying eps sees the finite difference's error grow again below ~1e-10)."""

from __future__ import annotations

import math

import torch
from torch import nn

from gdlab.lab.gradcheck import gradcheck_model
from tests.helpers import invoke
from tests.test_lab import REGRESSION, two_layer


def test_each_row_says_how_far_rounding_of_the_loss_can_move_a_numeric_gradient():
    model, x, y = two_layer()
    by_hand = ((model.double()(x.double()) - y.double()) ** 2).mean().item()
    rows = gradcheck_model(model, nn.MSELoss(), x, y, eps=1e-13)
    assert {r.rounding for r in rows} == {math.ulp(by_hand) / 1e-13}
    assert not all(r.passed for r in rows)  # 1e-3 of rounding against atol 1e-6
    assert all(r.passed for r in gradcheck_model(model, nn.MSELoss(), x, y))  # eps 1e-6: 1e-10 of it


def test_a_failure_below_the_rounding_floor_is_explained_and_a_real_one_is_not(tmp_path):
    config = tmp_path / "lab.yaml"
    config.write_text(REGRESSION)
    result = invoke("gradcheck", config, "--eps", "1e-13")
    assert result.exit_code == 1
    last = result.stdout.strip().splitlines()
    assert last[-2].startswith("FAIL:")
    assert last[-1].startswith("note: at --eps 1e-13, float64's rounding of the loss alone") and "try a larger --eps" in last[-1]
    planted = invoke("gradcheck", config, "--plant-bug", "1.5")
    assert planted.exit_code == 1 and "FAIL:" in planted.stdout and "note:" not in planted.stdout


def test_a_real_failure_on_a_large_loss_gets_no_rounding_note(tmp_path):
    """A loss near 1e5 has a float spacing of 1.5e-11, 1.5e-5 over eps 1e-6: above --atol, but a planted bug's
    errors are far larger, and the note blamed the finite difference for them."""
    config = tmp_path / "lab.yaml"
    config.write_text(REGRESSION.replace("noise: 0.1", "noise: 300"))
    result = invoke("gradcheck", config, "--plant-bug", "1.5")
    assert result.exit_code == 1 and "FAIL:" in result.stdout and "note:" not in result.stdout




# Linear(2, 8) -> BatchNorm1d -> ReLU -> Linear(8, 1) on the linear data of REGRESSION
BATCHNORM = REGRESSION.replace("  - Linear: [2, 3]\n  - ReLU\n  - Linear: [3, 1]\n",
                               "  - Linear: [2, 8]\n  - BatchNorm1d: [8]\n  - ReLU\n  - Linear: [8, 1]\n")


def test_a_bias_before_batchnorm_has_gradient_0_and_no_relative_error(tmp_path):
    """BatchNorm subtracts the batch mean, so the bias before it has no effect: its true gradient is 0, autograd's
    is rounding (~1e-17), and the loss at w +- eps differs by at most one float step (a numeric gradient of 0 or
    ~5e-11). The column read 1.00 there, beside `pass`, under a header saying the gradient is 0."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1)).double()
    x = torch.randn(16, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    y, loss = x[:, :1] ** 2, nn.MSELoss()
    (bias_grad,) = torch.autograd.grad(loss(model(x), y), model[0].bias)
    assert bias_grad.abs().max() < 1e-15  # the exact gradient, by autograd: 0 up to rounding
    rows = {r.name: r for r in gradcheck_model(model, loss, x, y)}
    bias = rows["0.bias"]
    assert bias.passed and bias.max_rel is None and bias.max_abs <= bias.rounding
    assert all(r.max_rel is not None and r.max_rel < 1e-4 for name, r in rows.items() if name != "0.bias")
    config = tmp_path / "lab.yaml"
    config.write_text(BATCHNORM)
    result = invoke("gradcheck", config, "--batch", "16")
    assert result.exit_code == 0, result.output
    cells = {line.split("│")[1].strip(): line.split("│")[5].strip()
             for line in result.stdout.splitlines() if "│" in line}
    assert cells["0.bias"] == "–" and cells["3.weight"] != "–", result.stdout
