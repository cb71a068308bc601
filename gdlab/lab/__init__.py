"""Looking inside one step of learning: the autograd graph (`graph`), finite-difference gradient
checks (`gradcheck`) and the loss curvature that gradient descent meets (`sharpness`).

This module also turns a config into the plain torch pieces they share (model, loss and a batch), and
checks the numbers a gradcheck is given and the files a graph is to write."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

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
    import torch

    if dtype == torch.float64:  # loaded in float64 from the start: gradcheck takes data beyond float32's range
        cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"dtype": "float64"})})
    data = prepare_data(cfg, training=False)  # train.batch_size is not used here: its last batch is no concern
    x, y = data.x_train[:rows].to(dtype), data.y_train[:rows]
    return x, (y.to(dtype) if y.is_floating_point() else y)


def check_tolerances(atol: float, rtol: float, eps: float, max_elements: int, seed: int | None = None) -> None:
    """Refuse gradcheck settings that would make every comparison fail or mean nothing: NaN, infinite or negative,
    or a seed torch's generator cannot take (as the config's seed: 0 to 2**63-1)."""
    import math

    from gdlab.errors import GdlabError

    for option, value in (("--atol", atol), ("--rtol", rtol)):
        if not (math.isfinite(value) and value >= 0):  # NaN passes a plain `< 0` test, then fails every tensor
            raise GdlabError(f"{option} {value:g}: must be a finite number >= 0")
    if not (math.isfinite(eps) and eps > 0):
        raise GdlabError(f"--eps {eps:g}: must be a finite number > 0")
    if max_elements < 1:
        raise GdlabError(f"--max-elements {max_elements}: must be at least 1")
    if seed is not None and not 0 <= seed <= 2**63 - 1:
        raise GdlabError(f"--seed {seed}: must be a whole number from 0 to 2**63-1, as a config's seed")


def check_output(option: str, text: str) -> Path:
    """The file `option` names, refused in one line unless it can be written: an empty name, a folder, a
    file where a parent folder should be, or a name the OS refuses (too long, no permission). Missing
    folders above it are made when it is written."""
    import os
    from pathlib import Path

    from gdlab.errors import GdlabError
    from gdlab.files import path_error, show

    example = f"graph.{option.lstrip('-')}"  # --dot: graph.dot, --png: graph.png
    if not text:
        raise GdlabError(f"{option} '': the file name is empty; give one, e.g. {option} {example}")
    path = Path(text)
    try:
        if path.is_dir():
            raise GdlabError(f"{option} {show(path)}: a folder, not a file; name a file in it, e.g. {show(path / example)}")
        above = path.parent
        while not above.exists():
            above = above.parent
        if not above.is_dir():
            raise GdlabError(f"{option} {show(path)}: {show(above)} is a file, not a folder")
        if above != path.parent:  # made when the file is written, as `plot -o` and `compare -o` make theirs
            return path
        # Open it as the write will (creating, then removing, a file that was not there): the OS's own answer
        # covers what no check above can, such as too long a name, a read-only disk or no permission.
        existed = path.exists()
        os.close(os.open(path, os.O_WRONLY | (0 if existed else os.O_CREAT | os.O_EXCL)))
        if not existed:
            path.unlink()
    except OSError as exc:
        raise path_error(option, path, exc, "cannot write it") from None
    return path
