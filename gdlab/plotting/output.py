"""Figures without pyplot (no global state, no GUI backend), shared axis helpers, and the atomic save."""

from __future__ import annotations

import math
import os
import tempfile
import warnings as pywarnings
from pathlib import Path

import numpy as np

from gdlab.errors import GdlabError
from gdlab.files import umask_mode
from gdlab.plotting.folders import path_error

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DPI_RANGE = (20, 600)


def check_output(path: Path) -> Path:
    """Refuse an image suffix we cannot write before any work is done."""
    if path.suffix.lower() not in FORMATS:
        allowed = ", ".join(FORMATS)
        got = f"'{path.suffix}'" if path.suffix else "no suffix"
        raise GdlabError(f"{path}: cannot write {got} images; use one of {allowed}")
    try:
        is_dir = path.is_dir()
    except OSError as exc:  # pathlib swallows only "does not exist"; ENAMETOOLONG and EACCES reach here
        raise path_error(path, exc, "write an image there") from None
    if is_dir:
        raise GdlabError(f"{path}: is a directory; give an image file name")
    return path


def new_figure(width: float, height: float):
    """A matplotlib Figure of width x height inches, laid out so labels fit without a tight bbox."""
    from matplotlib.figure import Figure

    # Constrained layout instead of bbox_inches="tight" keeps the pixel size exactly size * dpi.
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig, path: Path, dpi: int, warnings: list[str] | None = None) -> Path:
    """Write the figure next to its destination and rename it into place, so a crash leaves no half image.
    Matplotlib's own warnings (e.g. a layout it could not apply) go to `warnings`, never raw to stderr."""
    check_output(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # The temp name must fit in 255 bytes even when the image's own name nearly fills them.
        handle, temp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise path_error(path, exc, "write an image there") from None
    try:
        os.fchmod(handle, umask_mode())  # mkstemp's 0o600 would hide the image from other users
        with os.fdopen(handle, "wb") as stream, pywarnings.catch_warnings(record=True) as caught:
            pywarnings.simplefilter("always")
            fig.savefig(stream, format=FORMATS[path.suffix.lower()], dpi=dpi)
        if warnings is not None:
            warnings.extend(f"{path}: {w.message}" for w in caught)
        os.replace(temp, path)
    except OSError as exc:
        raise path_error(path, exc, "write it") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return path


def legend_beside(fig, ax, axes_size: tuple[float, float], fontsize: str = "x-small"):
    """A figure legend right of the axes, in as many columns as its height needs, with the figure resized to
    hold it, so the axes keep about `axes_size` inches whatever the number and length of the labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    handles, labels = ax.get_legend_handles_labels()
    renderer = FigureCanvasAgg(fig).get_renderer()  # text extents need a renderer; Agg measures for every format
    width, height = axes_size
    legend = fig.legend(handles, labels, loc="outside right upper", fontsize=fontsize)
    tall = legend.get_window_extent(renderer).height / fig.dpi
    if tall > height:
        legend.remove()
        ncols = min(len(handles), math.ceil(tall / height))
        legend = fig.legend(handles, labels, loc="outside right upper", fontsize=fontsize, ncols=ncols)
    wide = legend.get_window_extent(renderer).width / fig.dpi
    # Room for the tick labels and axis label on the left, and the title and x axis above and below.
    fig.set_size_inches(width + 1.1 + wide + 0.2, height + 1.2)
    return legend


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
