"""Looking inside one step of learning: the autograd graph (`graph`), finite-difference gradient
checks (`gradcheck`) and the loss curvature that gradient descent meets (`sharpness`).

This module also turns a config into the plain torch pieces they share (model, loss and a batch), and
checks the numbers a gradcheck is given."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

    from gdlab.config import Config


def config_model(cfg: Config, dtype: torch.dtype) -> nn.Sequential:
    """The config's `nn.Sequential`, initialised exactly as `gdlab train` initialises it (seeded by cfg.seed)."""
    import torch

    from gdlab.model import build_sequential

    torch.manual_seed(cfg.seed)
    return build_sequential(cfg).to(dtype)


def config_loss(cfg: Config, dtype: torch.dtype) -> nn.Module:
    """`torch.nn.<Loss>` with the options of the validated loss config (mean reduction, as in training)."""
    import torch
    from torch import nn

    options = cfg.loss.model_dump(exclude={"name"})
    for key in ("weight", "pos_weight"):  # lists and numbers in YAML; tensors for torch
        if options.get(key) is not None:
            value = options[key]
            options[key] = torch.tensor(value if isinstance(value, list) else [value], dtype=dtype)
        else:
            options.pop(key, None)
    return getattr(nn, cfg.loss.name)(**options)


def config_batch(cfg: Config, rows: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `rows` training rows (inputs and targets) of the config's data, after the usual shape checks."""
    from gdlab.errors import GdlabError
    from gdlab.runner import prepare_data

    if rows < 1:
        raise GdlabError(f"--batch must be at least 1 (got {rows})")
    data = prepare_data(cfg)
    x, y = data.x_train[:rows].to(dtype), data.y_train[:rows]
    return x, (y.to(dtype) if y.is_floating_point() else y)


def check_tolerances(atol: float, rtol: float, eps: float, max_elements: int) -> None:
    """Refuse gradcheck settings that would make every comparison fail or mean nothing: NaN, infinite or negative."""
    import math

    from gdlab.errors import GdlabError

    for option, value in (("--atol", atol), ("--rtol", rtol)):
        if not (math.isfinite(value) and value >= 0):  # NaN passes a plain `< 0` test, then fails every tensor
            raise GdlabError(f"{option} {value:g}: must be a finite number >= 0")
    if not (math.isfinite(eps) and eps > 0):
        raise GdlabError(f"--eps {eps:g}: must be a finite number > 0")
    if max_elements < 1:
        raise GdlabError(f"--max-elements {max_elements}: must be at least 1")
