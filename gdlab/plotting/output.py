"""Figures without pyplot (no global state, no GUI backend), shared axis helpers, and the atomic save."""

from __future__ import annotations

import math
import os
import tempfile
import warnings as pywarnings
from pathlib import Path

import numpy as np

from gdlab.errors import GdlabError
from gdlab.files import file_in_the_way, umask_mode
from gdlab.plotting.folders import path_error
from gdlab.plotting.value_ticks import plain_log_labels
from gdlab.plotting.x_axis import x_at_step

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DASHES = ("-", "--", ":", "-.")  # what tells curves apart past the colour cycle's ten, in every figure


def check_output(path: Path) -> Path:
    """Refuse, before any work is done, an output that is a folder, lies under a file, or has a suffix we
    cannot write."""
    try:
        is_dir = path.is_dir()
        in_the_way = "" if path.exists() else file_in_the_way(path)
    except OSError as exc:  # pathlib swallows only "does not exist"; ENAMETOOLONG and EACCES reach here
        raise path_error(path, exc, "write an image there") from None
    # Before the suffix: `-o runs/` has none, and "the name has no suffix" would hide the real slip.
    if is_dir:
        raise GdlabError(f"{path}: is a folder; -o needs an image file name, e.g. {path / 'plot.png'}")
    if in_the_way:  # mkdir would only say "File exists"
        raise GdlabError(f"{path}: a file is in the way{in_the_way}")
    if path.suffix.lower() not in FORMATS:
        allowed = ", ".join(FORMATS)
        if not path.suffix:  # `-o loss` or `-o .png` (a dot file's name, no suffix): say that, not "'' images"
            raise GdlabError(f"{path}: the file name has no image suffix, so no image type; end it in one of {allowed}")
        raise GdlabError(f"{path}: cannot write '{path.suffix}' images; use one of {allowed}")
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


def legend_beside(fig, ax, axes_size: tuple[float, float], fontsize: str = "x-small", handles=None):
    """A figure legend right of the axes, in as many columns as its height needs, with the figure resized to
    hold it, so the axes keep about `axes_size` inches whatever the number and length of the labels.
    `handles`: (handles, labels) when they are not simply the axes' labelled artists."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    handles, labels = handles or ax.get_legend_handles_labels()
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


def log_if_positive(ax, values, axis: str = "y", min_decades: float = 0.0) -> bool:
    """Use a log scale when every finite value is positive (losses span decades) and they span at least
    `min_decades` (within one decade a log axis shows one or two ticks), linear otherwise."""
    data = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values]) if values else np.array([])
    data = data[np.isfinite(data)]
    log = data.size > 0 and bool((data > 0).all())
    if log and min_decades > 0:  # (a difference of logs: max / min overflows for values near 1e308 and 1e-308)
        log = float(np.log10(data.max()) - np.log10(data.min())) >= min_decades
    if not (data.size and _margin_overflows(data, log)):
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log" if log else "linear")
        if log:  # `0.6 0.4 0.3`, not `6×10⁻¹ 4×10⁻¹ 3×10⁻¹`, on an axis within a decade or so
            plain_log_labels(ax.yaxis if axis == "y" else ax.xaxis)
        return log
    with np.errstate(over="ignore"):  # the autoscale that set_yscale runs overflows before the limits are set
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log" if log else "linear")
        _limits_near_overflow(ax, data, log, axis)
    return log


def _margin_overflows(data: np.ndarray, log: bool) -> bool:
    """Whether matplotlib's 5% autoscale margin above the data would pass float64's top (1.8e308): it
    then leaves an empty 1-10 axis. On a log axis the margin is 5% of the decades spanned. (Below, a
    margin only reaches 0 or subnormals, which matplotlib handles.)"""
    if not log:
        return bool(np.abs(data).max() > 1e300)
    a, b = np.log10(data.min()), np.log10(data.max())
    return bool(b + 0.05 * (b - a) > 307.5)


def _limits_near_overflow(ax, data: np.ndarray, log: bool, axis: str) -> None:
    """Limits and ticks set by hand for values near float64's end, where matplotlib's own margin and
    decade ticks (1e320 is inf) overflow. The data always lies inside them."""
    from matplotlib.ticker import FixedLocator, NullLocator

    low, high = float(data.min()), float(data.max())
    top = float(np.finfo(float).max)
    target = ax.yaxis if axis == "y" else ax.xaxis
    if log:
        a, b = math.log10(low), math.log10(high)
        if b - a < 1:  # one value (or nearly): a decade around it, as matplotlib would give
            a, b = a - 0.5, b + 0.5
        below = a - 0.05 * (b - a)
        lower = 10.0 ** below if below > -307 else low  # no margin where it would reach subnormals
        with np.errstate(over="ignore"):
            upper = min(float(np.float64(10.0) ** (b + 0.05 * (b - a))), top)  # past 1.8e308: the top itself
        # ticks every 1, 2, 5, 10, 20, 50 or 100 decades: at most about 8 of them, all finite
        stride = next(s for s in (1, 2, 5, 10, 20, 50, 100, 1000) if s * 8 >= b - a)
        first, last = math.ceil(math.log10(lower) / stride) * stride, math.floor(math.log10(upper) / stride) * stride
        target.set_major_locator(FixedLocator(10.0 ** np.arange(first, last + 1, stride)))
        target.set_minor_locator(NullLocator())
        limits = (lower, upper)
    else:  # halves first: high - low itself can overflow
        pad = 0.1 * (high / 2 - low / 2) or 0.05 * abs(high)
        limits = (max(low - pad, -top), min(high + pad, top))
        target.set_major_locator(FixedLocator(np.linspace(limits[0] / 2, limits[1] / 2, 5) * 2))
    (ax.set_ylim if axis == "y" else ax.set_xlim)(*limits)


def top_edge(ax):
    """A transform with x in data units and y in axes units, to pin markers to the top edge of the plot."""
    from matplotlib.transforms import blended_transform_factory

    return blended_transform_factory(ax.transData, ax.transAxes)


def diverged_mark(ax, frame, x: str, step: int, xs, ys, color, gid: str):
    """The ✕ at the divergence step, at the height of the curve's last finite value up to that step (or the
    axes' top edge when it has none): not at the metric's last point, which a sparse val_loss logs steps earlier."""
    where = x_at_step(frame, x, step)
    where = xs[-1] if where is None else where
    before = ys[(xs <= where) & finite(ys)]  # (a gap's NaN is no height)
    style = dict(ls="none", marker="X", ms=9, color=color, gid=gid, label="_diverged")
    if len(before):
        (mark,) = ax.plot([where], [before[-1]], **style)
    else:
        (mark,) = ax.plot([where], [1.0], clip_on=False, transform=top_edge(ax), **style)
    return mark


def note_if_empty(ax, drawn: list, text: str = "no finite values") -> bool:
    """Say so in the middle of an axis with no finite value to show (a run that diverged at step 1): an empty
    axis would otherwise show matplotlib's meaningless default ticks, which read like data."""
    if any(np.isfinite(np.asarray(d, dtype=float)).any() for d in drawn):
        return False
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4", gid="no_finite")
    return True
