"""gdlab gradcheck at an --eps too small or too large: below ~1e-10 the failures are float64 rounding of the loss,
at 1e-2 the central difference's own eps^2 error, not autograd, and the output says which; and a gradient the
loss cannot resolve (a bias before BatchNorm) gets no relative error."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from gdlab.lab.gradcheck import gradcheck_model
from gdlab.loading import load_config
from tests.helpers import invoke
from tests.test_lab import REGRESSION, two_layer

ROOT = Path(__file__).resolve().parents[1]


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


def test_too_large_an_eps_is_explained_by_the_central_differences_own_error():
    """--eps 1e-2 fails sine.yaml's first weights by ~3e-5: the central difference is off by eps^2 L'''/6, which
    the numeric gradients at eps and eps/2 estimate (Richardson). The FAIL said nothing of it, while too small an
    eps got a note: a student saw autograd blamed for the finite difference's error."""
    from gdlab.lab import config_batch, config_loss, config_model

    sine = ROOT / "configs" / "sine.yaml"
    cfg = load_config(sine)
    model, loss = config_model(cfg, torch.float64), config_loss(cfg, torch.float64)
    x, y = config_batch(cfg, 32, torch.float64)
    rows = {r.name: r for r in gradcheck_model(model, loss, x, y, eps=1e-2)}
    weight = rows["0.weight"]
    assert not weight.passed and weight.truncation == pytest.approx(weight.max_abs, rel=0.05)  # it is the error
    assert all(r.truncation == 0 for r in rows.values() if r.passed)
    assert all(r.truncation == 0 and r.passed for r in gradcheck_model(model, loss, x, y))  # eps 1e-6
    result = invoke("gradcheck", sine, "--eps", "1e-2")
    assert result.exit_code == 1
    note = result.stdout.strip().splitlines()[-1]
    assert note.startswith("note: at --eps 0.01, the central difference itself is off by up to about ") and \
        "try a smaller --eps" in note, result.stdout
    assert float(note.split("about ")[1].split()[0]) == pytest.approx(weight.truncation, rel=0.05)
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    quoted = re.search(r"a note says so \(about ([\d.e-]+) for `configs/sine.yaml` at `--eps 1e-2`\)", readme)
    assert quoted and float(f"{weight.truncation:.0e}") == float(quoted[1])
    assert not math.isclose(weight.truncation, weight.rounding)
    for args in (("--eps", "1e-2", "--plant-bug", "1.5"), ("--eps", "1e-13")):  # a real bug; rounding's own note
        result = invoke("gradcheck", sine, *args)
        assert result.exit_code == 1 and "the central difference itself" not in result.stdout, result.stdout
