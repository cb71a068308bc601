"""Figures without pyplot (no global state, no GUI backend), shared axis helpers, and the atomic save."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from gdlab.errors import GdlabError
from gdlab.files import umask_mode

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DPI_RANGE = (20, 600)


def check_output(path: Path) -> Path:
    """Refuse an image suffix we cannot write before any work is done."""
    if path.suffix.lower() not in FORMATS:
        allowed = ", ".join(FORMATS)
        got = f"'{path.suffix}'" if path.suffix else "no suffix"
        raise GdlabError(f"{path}: cannot write {got} images; use one of {allowed}")
    if path.exists() and path.is_dir():
        raise GdlabError(f"{path}: is a directory; give an image file name")
    return path


def new_figure(width: float, height: float):
    """A matplotlib Figure of width x height inches, laid out so labels fit without a tight bbox."""
    from matplotlib.figure import Figure

    # Constrained layout instead of bbox_inches="tight" keeps the pixel size exactly size * dpi.
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig, path: Path, dpi: int) -> Path:
    """Write the figure next to its destination and rename it into place, so a crash leaves no half image."""
    check_output(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise GdlabError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    try:
        os.fchmod(handle, umask_mode())  # mkstemp's 0o600 would hide the image from other users
        with os.fdopen(handle, "wb") as stream:
            fig.savefig(stream, format=FORMATS[path.suffix.lower()], dpi=dpi)
        os.replace(temp, path)
    except OSError as exc:
        raise GdlabError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return path


def finite(values) -> np.ndarray:
    """A boolean mask of the finite entries (NaN marks 'not computed'; inf can't be drawn)."""
    return np.isfinite(np.asarray(values, dtype=float))


def log_if_positive(ax, values, axis: str = "y") -> bool:
    """Use a log scale when every finite value is positive (losses span decades), linear otherwise."""
    data = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values]) if values else np.array([])
    data = data[np.isfinite(data)]
    log = data.size > 0 and bool((data > 0).all())
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log" if log else "linear")
    return log


def top_edge(ax):
    """A transform with x in data units and y in axes units, to pin markers to the top edge of the plot."""
    from matplotlib.transforms import blended_transform_factory

    return blended_transform_factory(ax.transData, ax.transAxes)
