"""Sharpness: the largest eigenvalue of the loss Hessian, by power iteration on Hessian-vector products.

Gradient descent on a quadratic with curvature lam diverges once lr > 2 / lam; on a neural network the
sharpness tends to rise until it reaches about 2 / lr and then hovers there (the "edge of stability")."""

from __future__ import annotations

import torch


def top_hessian_eigenvalue(
    loss_fn, flat: torch.Tensor, iters: int = 20, tol: float = 1e-3, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, int]:
    """Largest eigenvalue of each model's loss Hessian (see `measure_top_eigenvalue`): ([K] eigenvalues, iterations used)."""
    value, used, _ = measure_top_eigenvalue(loss_fn, flat, iters, tol, generator)
    return value, used


def measure_top_eigenvalue(
    loss_fn, flat: torch.Tensor, iters: int = 20, tol: float = 1e-3, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, int, torch.Tensor]:
    """Largest eigenvalue of each model's loss Hessian by power iteration on Hessian-vector products (double backward).
    loss_fn(flat) -> per-model losses [K]; flat: [K, P] parameters. Returns ([K] eigenvalues, iterations used,
    [K] settled: whether the pass that gave the value met the residual test before `iters` ran out).

    Power iteration finds the eigenvalue of largest magnitude. Near a minimum, and all along an
    edge-of-stability run, that is the top (positive) eigenvalue; where a negative one wins or it does not
    settle in `iters` (a +-lam pair never does), a second pass on H + rho*I (rho: the largest |Hv| seen)
    looks for lam_max + rho, with `iters` again. `flat` and its `.grad` are left untouched."""
    if flat.dim() != 2:
        raise ValueError(f"flat must be [K, P] (got shape {list(flat.shape)})")
    if generator is None:  # a private stream, so that measuring never shifts the training RNG
        generator = torch.Generator(device=flat.device).manual_seed(0)
    w = flat.detach().requires_grad_()
    # One start vector for every model: a model's result then does not depend on its place in a group
    v = _unit_rows(torch.randn(w.shape[1], generator=generator, device=w.device, dtype=w.dtype).expand_as(w).clone())
    with torch.enable_grad():
        # The models are independent, so the Hessian of the summed loss is block diagonal: one
        # Hessian-vector product on the stack is every model's own product, row by row.
        (grad,) = torch.autograd.grad(loss_fn(w).sum(), w, create_graph=True)
        if not grad.requires_grad:  # the gradient does not depend on the weights: the Hessian is zero
            zeros = torch.zeros(w.shape[0], dtype=w.dtype, device=w.device)
            return zeros, 0, torch.ones_like(zeros, dtype=torch.bool)  # exact, with nothing to iterate
        value, used, _, settled, radius = _power_iteration(grad, w, v, iters, tol)
        # Negative, or unsettled (a +-lam pair never settles): a second pass on H + rho*I, from the same
        # start (the first pass's end vector can be all but orthogonal to the top eigenvector).
        shift = torch.isfinite(value) & ((value < 0) | ~settled)
        if bool(shift.any()):
            top, more, _, top_settled, _ = _power_iteration(grad, w, v, iters, tol, shift=torch.where(shift, radius, 0), active=shift)
            # both are Rayleigh quotients of H, never above lam_max: the larger is the better estimate
            value, used = torch.where(shift, torch.maximum(value, top - radius), value), used + more
            # a shifted row's value is only as good as its second pass: a settled negative first pass is not lam_max
            settled = torch.where(shift, top_settled, settled)
        return value, used, settled


def _power_iteration(grad, w, v, iters, tol, shift=None, active=None):
    """Repeat v <- Av / |Av| per row, A = H (+ shift*I), until every `active` row's residual |Av - lam v|
    is within `tol` * |lam|, or `iters` run out. The residual bounds the distance from lam to an
    eigenvalue; a small change of lam between iterations does not: with many eigenvalues just below the
    top one, lam creeps up by tiny steps while still far from it. Returns (lam, iterations, v, settled,
    |Av|) per row."""
    value = torch.full((w.shape[0],), float("nan"), dtype=w.dtype, device=w.device)
    radius = torch.zeros_like(value)
    settled = torch.zeros(w.shape[0], dtype=torch.bool, device=w.device)
    done = ~active if active is not None else settled.clone()
    used = 0
    for used in range(1, iters + 1):
        # The gradient's graph is kept and reused: each iteration costs one backward, not a forward too.
        (hv,) = torch.autograd.grad(grad, w, grad_outputs=v, retain_graph=True, allow_unused=True)
        hv = torch.zeros_like(w) if hv is None else hv.detach()
        if shift is not None:
            hv = hv + shift.unsqueeze(1) * v
        new = (v * hv).sum(1)  # Rayleigh quotient <v, Av> of a unit v
        residual = torch.linalg.vector_norm(hv - new.unsqueeze(1) * v, dim=1)
        # A settled model keeps its value (so it is what it would be alone, whatever it is grouped with)
        value = torch.where(done, value, new)
        radius = torch.where(done, radius, torch.linalg.vector_norm(hv, dim=1))
        v = torch.where(done.unsqueeze(1), v, _unit_rows(hv))
        now = ~done & (residual <= tol * new.abs())
        settled |= now
        # A model whose loss is not finite can never settle; it must not hold up the others.
        done |= now | ~torch.isfinite(new)
        if bool(done.all()):
            break
    return value, used, v, settled, radius


def _unit_rows(v: torch.Tensor) -> torch.Tensor:
    return v / torch.linalg.vector_norm(v, dim=1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny)


def group_sharpness(trainer) -> tuple[torch.Tensor, torch.Tensor]:
    """Top Hessian eigenvalue of each model's full training loss at a GroupTrainer's current weights, with
    its own generator, no dropout, and BatchNorm normalizing by the batch as training does (its running
    statistics, which eval mode would use, are another function: 16% lower on moons). Nothing it touches
    is updated: the trajectory and the RNG streams stay exactly as without it. Returns ([K] values, [K] a
    finite value that ran out of `train.sharpness_iters` before settling: 1.0, else 0.0, in the values' dtype)."""
    x, y = trainer.data.train_all()
    gen = torch.Generator(device=trainer.device).manual_seed(trainer.step)
    value, _, settled = measure_top_eigenvalue(
        lambda flat: trainer.loss(trainer.model.forward(x, training=False, flat=flat, batch_stats=True), y),
        trainer.model.flat, iters=trainer.sharpness_iters, tol=1e-3, generator=gen,
    )
    value = value.detach()
    # a non-finite loss never settles; it is a diverged model, not a short budget
    return value, (~settled & torch.isfinite(value)).to(value.dtype)
