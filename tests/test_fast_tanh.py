"""The engine's numpy-backed tanh against torch.tanh: values, gradients, second derivatives, fallbacks."""

import math

import pytest
import torch

from gdlab.engine import fast_tanh


def big(dtype, scale=3.0):
    torch.manual_seed(0)
    x = torch.randn(fast_tanh.MIN_VALUES + 123, dtype=dtype) * scale
    x[:6] = torch.tensor([0.0, -0.0, 1e-30, -1e-8, 20.0, -20.0], dtype=dtype)
    return x


@pytest.mark.parametrize("dtype,ulps", [(torch.float32, 2), (torch.float64, 2)])
def test_values_match_torch_to_a_few_ulps(dtype, ulps):
    x = big(dtype)
    ours, theirs = fast_tanh.tanh(x), torch.tanh(x)
    assert ours.dtype == dtype and ours.shape == x.shape
    eps = torch.finfo(dtype).eps
    # relative to the value itself: no cancellation near 0, where tanh(x) ~ x
    assert ((ours - theirs).abs() <= ulps * eps * theirs.abs()).all()
    assert torch.equal(torch.signbit(ours[:2]), torch.tensor([False, True]))  # -0.0 stays -0.0


def test_non_finite_values():
    x = big(torch.float32)
    x[10:13] = torch.tensor([math.nan, math.inf, -math.inf])
    y = fast_tanh.tanh(x)
    assert math.isnan(y[10]) and y[11] == 1.0 and y[12] == -1.0  # a diverging model still shows NaN


def test_takes_the_numpy_path_and_its_gradient_equals_torchs():
    x = big(torch.float64).reshape(-1, 1).expand(-1, 2).requires_grad_()  # non-contiguous view of a leaf
    y = fast_tanh.tanh(x)
    assert "NumpyTanh" in type(y.grad_fn).__name__
    g = torch.randn_like(y)
    (ours,) = torch.autograd.grad(y, x, g)
    (theirs,) = torch.autograd.grad(torch.tanh(x), x, g)
    # 1 - y^2 cancels where |y| is near 1, so an ulp of y is an ulp of 1 there, for torch.tanh as for ours
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=4 * torch.finfo(torch.float64).eps * g.abs().max().item())


def test_finite_differences_and_second_derivative():
    fast_tanh_min = fast_tanh.MIN_VALUES
    try:
        fast_tanh.MIN_VALUES = 1  # gradcheck's small inputs through the numpy path
        x = torch.randn(7, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(fast_tanh.tanh, (x,))
        assert torch.autograd.gradgradcheck(fast_tanh.tanh, (x,))  # sharpness needs Hessian-vector products
    finally:
        fast_tanh.MIN_VALUES = fast_tanh_min


def test_hessian_vector_product_matches_torch_tanh():
    torch.manual_seed(1)
    w = torch.randn(fast_tanh.MIN_VALUES, dtype=torch.float64, requires_grad=True)
    v = torch.randn_like(w)

    def hvp(f):
        (g,) = torch.autograd.grad((f(w) ** 2).sum(), w, create_graph=True)
        (h,) = torch.autograd.grad(g, w, v)
        return h

    torch.testing.assert_close(hvp(fast_tanh.tanh), hvp(torch.tanh), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", ["small", "float16", "bfloat16"])
def test_other_tensors_are_torch_tanh_exactly(case):
    x = {"small": torch.randn(100), "float16": big(torch.float16), "bfloat16": big(torch.bfloat16)}[case]
    assert torch.equal(fast_tanh.tanh(x), torch.tanh(x))


def test_without_grad_gives_a_plain_tensor():
    x = big(torch.float32).requires_grad_()
    with torch.no_grad():
        y = fast_tanh.tanh(x)
    assert y.grad_fn is None and not y.requires_grad
