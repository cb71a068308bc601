"""`gdlab plot` and `gdlab compare`: figures made from a run's files alone.
Imports no torch ever, and pandas/matplotlib only once a command runs, so `gdlab --help` stays fast."""

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from gdlab.cli.app import command
from gdlab.errors import GdlabError


class XAxis(str, Enum):
    step = "step"
    epoch = "epoch"
    wall_s = "wall_s"


class CurvesX(str, Enum):
    """What `plot` draws a run's or a sweep's curves against (wall time differs between a sweep's batched variants)."""

    step = "step"
    epoch = "epoch"


_OUTPUT_HELP = "Image file to write: .png, .svg or .pdf (written atomically)."
_DPI = typer.Option(150, "--dpi", min=20, max=600, help="Resolution; the image is size-in-inches x DPI pixels.")
_TITLE = typer.Option(None, "--title", help="Figure title (default: name, folder and status).")
_SMOOTH = typer.Option(0.0, "--smooth", min=0.0, max=0.999, help="Moving-average weight for noisy curves, as "
                       "TensorBoard's slider: 0 off, 0.9 strong; the raw curve stays, faint.")


def _warn(warnings: list[str]) -> None:
    """One stderr line per distinct warning, in the order they arose."""
    for message in dict.fromkeys(warnings):
        sys.stderr.write(f"gdlab: warning: {' '.join(message.split())}\n")
    sys.stderr.flush()


def _save(fig, path: Path, dpi: int) -> None:
    from gdlab.plotting.output import save_figure

    warnings: list[str] = []
    try:
        save_figure(fig, path, dpi, warnings)
    finally:
        _warn(warnings)
    typer.echo(f"wrote {path}")


@command("plot", help="Plot a run (loss.png in its folder), a sweep (sweep.png) or an lr-find folder (lr_find.png); "
                      "--boundary draws a 2-D classifier's decision regions instead (boundary.png).")
def plot(
    path: Path = typer.Argument(..., metavar="FOLDER",
                                help="A run folder (metrics.csv), a sweep folder (sweep.csv) or an lr-find folder "
                                     "(lr_find.csv)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help=_OUTPUT_HELP + " Default: in the folder."),
    dpi: int = _DPI,
    title: Optional[str] = _TITLE,
    boundary: bool = typer.Option(
        False, "--boundary",
        help="Draw the decision regions of a run with 2 input features and a classification loss, from its "
             "config.yaml and model.pt (needs torch); also boundary_snapshots.png when it saved snapshots/.",
    ),
    grid: Optional[int] = typer.Option(None, "--grid", min=20, max=1000,
                                       help="With --boundary: grid points per side (default 200)."),
    smooth: float = _SMOOTH,
    slices: bool = typer.Option(False, "--slices", help="A sweep as slice panels, one per swept axis (a random "
                                "search's default): each setting's score against that axis's value; slices.png."),
    x: Optional[CurvesX] = typer.Option(None, "--x", help="The x axis of a run's or a sweep's curves: step (the "
                                        "default) or epoch, the metrics.csv column, as compare draws it."),
) -> None:
    from gdlab.plotting.folders import resolve
    from gdlab.plotting.load import load_run, load_sweep
    from gdlab.plotting.output import check_output

    if output is not None:
        check_output(output)  # a bad suffix fails before any reading
    if grid is not None and not boundary:
        raise GdlabError("--grid applies only with --boundary")
    kind, folder = resolve(path)
    what = "--boundary" if boundary else f"{'an' if kind == 'lr-find' else 'a'} {kind} folder"
    if smooth and (boundary or kind != "run"):  # a sweep's and an lr-find's curves are drawn as they are
        raise GdlabError(f"--smooth applies to a run's loss curve (and to compare), not to {what}")
    if slices and (boundary or kind != "sweep"):
        raise GdlabError(f"--slices draws a sweep folder, not {what}")
    if x is not None and (boundary or kind == "lr-find"):  # an lr-find's x is the lr; a boundary's, a feature
        raise GdlabError(f"--x {x.value} applies to a run's or a sweep's curves (step or epoch), not to {what}")
    along = (x or CurvesX.step).value
    if boundary:
        _boundary(kind, folder, output, dpi, title, grid)
        return
    # --slices gets its own file: a grid's sweep.png (its curves) stays beside it, not overwritten
    default = "slices.png" if slices else {"run": "loss.png", "sweep": "sweep.png", "lr-find": "lr_find.png"}[kind]
    target = check_output(output or folder / default)
    warnings: list[str] = []
    try:
        if kind == "run":
            from gdlab.plotting.run_plot import plot_run

            fig = plot_run(load_run(folder, warnings, along), title, smooth, along)
        elif kind == "lr-find":
            from gdlab.plotting.lrfind_data import load_lr_find
            from gdlab.plotting.lrfind_plot import plot_lr_find

            fig = plot_lr_find(load_lr_find(folder, warnings), title)
        else:
            from gdlab.plotting.search_plot import is_search, plot_search
            from gdlab.plotting.sweep_plot import plot_sweep

            sweep = load_sweep(folder, warnings, x=along)
            fig = (plot_search if slices or is_search(sweep) else plot_sweep)(sweep, warnings, title, along)
    finally:
        _warn(warnings)  # what was dropped matters most when the plot then fails
    _save(fig, target, dpi)


def _boundary(kind: str, folder: Path, output: Optional[Path], dpi: int, title: Optional[str],
              grid: Optional[int]) -> None:
    """`plot --boundary`: boundary.png, plus boundary_snapshots.png (next to it) when the run has snapshots."""
    from gdlab.plotting.output import check_output

    if kind != "run":
        hint = "; give one of its variant folders" if kind == "sweep" else ""
        what = {"sweep": "a sweep", "lr-find": "an lr-find"}[kind]
        raise GdlabError(f"{folder}: --boundary needs a run folder (with model.pt), not {what} folder{hint}")
    target = check_output(output or folder / "boundary.png")
    from gdlab.boundary import DEFAULT_GRID, compute_boundary  # torch, only now
    from gdlab.plotting.boundary_plot import plot_boundary, plot_snapshots

    warnings: list[str] = []
    try:
        result = compute_boundary(folder, grid or DEFAULT_GRID, warnings=warnings)
    except GdlabError as exc:  # an error about a config key (a shape, the data) names the run's config.yaml
        from gdlab.cli.train_cmd import in_config

        raise in_config(folder / "config.yaml", exc) from None
    finally:
        _warn(warnings)
    _save(plot_boundary(result, title), target, dpi)
    if result.snapshots:
        _save(plot_snapshots(result, title and f"{title} (during training)"),
              target.with_name(f"{target.stem}_snapshots{target.suffix}"), dpi)


@command("compare", help="Overlay runs and sweeps (each variant) on one axis, labelled by what differs in their configs.")
def compare(
    paths: List[Path] = typer.Argument(..., metavar="RUN_OR_SWEEP", help="Run and/or sweep folders (one or more)."),
    output: Path = typer.Option(Path("compare.png"), "-o", "--output", help=_OUTPUT_HELP),
    metric: str = typer.Option("train_loss", "--metric", help="A metrics.csv column, e.g. val_loss, grad_norm."),
    x: XAxis = typer.Option(XAxis.step, "--x", help="The x axis."),
    dpi: int = _DPI,
    title: Optional[str] = typer.Option(None, "--title", help="Figure title (default: the metric and how many runs)."),
    smooth: float = _SMOOTH,
    color_by: Optional[str] = typer.Option(None, "--color-by", help="Colour each curve by this config key, e.g. optimizer.lr (a colour bar for numbers)."),
) -> None:
    from gdlab.plotting.compare import plot_compare
    from gdlab.plotting.load import load_runs
    from gdlab.plotting.output import check_output

    check_output(output)
    warnings: list[str] = []
    details: list[str] = []
    try:
        fig = plot_compare(load_runs(list(paths), warnings, x.value), metric, x.value, warnings, title, details, smooth, color_by)
    finally:
        _warn(warnings)
    if details:  # the legend names a few keys per curve; the terminal gets all of them
        typer.echo("config keys that differ but that the legend leaves out:")
        typer.echo("\n".join(details))
    _save(fig, output, dpi)
