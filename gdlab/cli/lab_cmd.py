"""`gdlab graph` and `gdlab gradcheck`: the autograd graph behind one loss, and its gradients checked
against finite differences. Torch is imported inside the commands, so `gdlab --help` stays light."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from gdlab.cli.app import command
from gdlab.cli.train_cmd import in_config
from gdlab.errors import EXIT_FAILED, GdlabError
from gdlab.lab import check_output, check_tolerances

ConfigArg = Annotated[Path, typer.Argument(help="YAML config file", show_default=False)]
OverridesArg = Annotated[
    Optional[list[str]], typer.Argument(help="dotted overrides, e.g. optimizer.lr=0.05", show_default=False)
]

NO_DOT = ("--png needs Graphviz's 'dot' program, which is not installed: apt-get install graphviz (Debian/Ubuntu) "
          "or brew install graphviz (macOS); --dot FILE writes the graph as text without it")


def _setup(config: Path, overrides: list[str], rows: int, float64: bool = False):
    """The config's model (seeded as in training), its torch loss and the first `rows` training rows."""
    import torch

    from gdlab.lab import config_batch, config_loss, config_model
    from gdlab.loading import load_config

    cfg = load_config(config, overrides)
    dtype = torch.float64 if float64 or cfg.train.dtype == "float64" else torch.float32
    try:
        x, y = config_batch(cfg, rows, dtype)
    except GdlabError as exc:
        raise in_config(config, exc, overrides) from None
    return cfg, config_model(cfg, dtype), config_loss(cfg, dtype), x, y


def _batchnorm_rows(cfg, x, batch: int) -> None:
    """BatchNorm normalizing by the batch, as training does, cannot normalize a single row."""
    from gdlab.model import first_batchnorm

    norm = first_batchnorm(cfg)
    if norm is not None and x.shape[0] < 2:
        raise GdlabError(f"--batch {batch}: the batch has {x.shape[0]} row, and BatchNorm1d (model[{norm}]) needs at "
                         "least 2 in training mode; use --batch 2 or more")


@command("graph")
def graph_command(
    config: ConfigArg,
    overrides: OverridesArg = None,
    batch: Annotated[int, typer.Option("--batch", help="training rows in the forward pass")] = 4,
    group: Annotated[str, typer.Option("--group", help="auto (by layer above 40 nodes) | nodes | layers")] = "auto",
    # str, not Path: typer would turn --dot '' into '.', and the error should quote what was typed
    dot: Annotated[Optional[str], typer.Option(
        "--dot", metavar="FILE", help="also write Graphviz DOT: {name | value | grad} per node")] = None,
    png: Annotated[Optional[str], typer.Option(
        "--png", metavar="FILE", help="also render a PNG with Graphviz's dot")] = None,
) -> None:
    """Print the autograd graph behind the loss of a small batch: grad_fn nodes down to the parameters."""
    if group not in ("auto", "nodes", "layers"):
        raise GdlabError(f"--group: '{group}' is not one of auto, nodes, layers")
    # fail before the work, not after printing the whole graph
    dot_file = check_output("--dot", dot) if dot is not None else None
    png_file = check_output("--png", png) if png is not None else None
    from gdlab.cli.streams import output_console, print_fitted

    from gdlab.lab.graph import COLLAPSE_ABOVE, to_dot, trace
    from gdlab.lab.show import layer_tree, node_tree

    cfg, model, loss_fn, x, y = _setup(config, overrides or [], batch)  # bad input is exit 2 before a missing tool
    if png_file and not shutil.which("dot"):
        raise GdlabError(NO_DOT, EXIT_FAILED)
    _batchnorm_rows(cfg, x, batch)
    model.train()  # the graph a training step builds (Dropout and BatchNorm included)
    try:
        graph = trace(model, loss_fn, x, y)
    except (RuntimeError, ValueError) as exc:
        raise GdlabError(f"{config}: the forward pass failed: {str(exc).splitlines()[0]}", EXIT_FAILED) from None
    console = output_console(highlight=False)
    leaves = sum(1 for n in graph.nodes if n.param)
    by_layer = group == "layers" or (group == "auto" and len(graph.nodes) > COLLAPSE_ABOVE)
    # the by-layer view has no node lines: say what its lines are instead
    how = ("One line per layer, in the order backward() reaches them: its output shape, grad_fns and parameters."
           if by_layer else "Each node lists the grad_fns backward() visits next.")
    # soft_wrap: one line, even piped, where rich wrapped it at 200 columns; a deep tree gets the width it needs
    console.print(f"{cfg.name}: {cfg.loss.name} on the first {x.shape[0]} training rows -> {len(graph.nodes)} autograd "
                  f"nodes, {leaves} of them parameter leaves. {how}", soft_wrap=True)
    print_fitted(console, layer_tree(graph) if by_layer else node_tree(graph))
    text = to_dot(graph) if dot_file or png_file else ""
    if dot_file:
        try:
            dot_file.parent.mkdir(parents=True, exist_ok=True)
            dot_file.write_text(text)
        except OSError as exc:  # checked writable above, so only a change since (a full disk, a removed folder)
            raise GdlabError(f"cannot write {dot_file}: {exc.strerror or exc}", EXIT_FAILED) from None
        console.print(f"wrote {dot_file} (values and grads after backward())", markup=False, soft_wrap=True)  # a path is no markup
    if png_file:
        try:
            png_file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GdlabError(f"cannot write {png_file}: {exc.strerror or exc}", EXIT_FAILED) from None
        done = subprocess.run(["dot", "-Tpng", "-o", str(png_file)], input=text, text=True, capture_output=True)
        if done.returncode != 0:
            why = (done.stderr or "").strip().splitlines()
            why = why[0] if why else f"exit status {done.returncode}"
            raise GdlabError(f"dot could not render {png_file}: {why}", EXIT_FAILED)
        console.print(f"wrote {png_file}", markup=False, soft_wrap=True)


@command("gradcheck")
def gradcheck_command(
    config: ConfigArg,
    overrides: OverridesArg = None,
    atol: Annotated[float, typer.Option("--atol", help="absolute tolerance")] = 1e-6,
    rtol: Annotated[float, typer.Option("--rtol", help="relative tolerance (of the numeric gradient)")] = 1e-4,
    max_elements: Annotated[
        int, typer.Option("--max-elements", help="elements checked per tensor; larger tensors are sampled")
    ] = 64,
    batch: Annotated[int, typer.Option("--batch", help="training rows in the loss")] = 32,
    seed: Annotated[
        Optional[int], typer.Option("--seed", help="seed of the element sample (default: the config's seed)")
    ] = None,
    eps: Annotated[float, typer.Option("--eps", help="finite-difference step")] = 1e-6,
    plant_bug: Annotated[Optional[float], typer.Option(
        "--plant-bug", help="multiply the gradient flowing back into the first layer with parameters by FACTOR: a deliberate bug",
    )] = None,
) -> None:
    """Compare autograd's gradients with central finite differences in float64; exit 1 if any tensor fails."""
    check_tolerances(atol, rtol, eps, max_elements, seed)  # --plant-bug nan shows how a NaN gradient reads
    import torch
    from gdlab.cli.streams import output_console

    from gdlab.lab.gradcheck import closed_form_check, gradcheck_model, plant_wrong_gradient
    from gdlab.lab.show import closed_form_table, gradcheck_header, gradcheck_table

    cfg, model, loss_fn, x, y = _setup(config, overrides or [], batch, float64=True)
    _batchnorm_rows(cfg, x, batch)  # it normalizes by the batch, as in training
    header = gradcheck_header(cfg, model, x.shape[0], eps)  # before --plant-bug adds its layer
    if plant_bug is not None:
        model = plant_wrong_gradient(model, factor=plant_bug)
    gen = torch.Generator().manual_seed(cfg.seed if seed is None else seed)
    rows = gradcheck_model(model, loss_fn, x, y, atol, rtol, max_elements, eps, gen)
    console = output_console(highlight=False)
    console.print(header)
    if plant_bug is not None:  # a FAIL below is then the point, not a surprise
        console.print(f"--plant-bug {plant_bug!r}: the gradient flowing back into the first layer with parameters "
                      f"is multiplied by {plant_bug!r}; finite differences do not see that layer")
    console.print(gradcheck_table(rows, atol, rtol))
    closed = closed_form_check(model, loss_fn, x, y)
    if closed:
        console.print("A lone Linear under MSELoss has a closed-form gradient: dL/dW = 2/(n*out) (y_hat - y)^T X, "
                      "dL/db = 2/(n*out) sum over rows of (y_hat - y).")
        console.print(closed_form_table(closed))
    failed = [r.name for r in rows if not r.passed]
    if failed:
        names = ", ".join(failed)
        sys.stdout.write(f"FAIL: {len(failed)} of {len(rows)} tensors differ from finite differences: {names}\n")
        # The V of a finite difference: below some eps, rounding outgrows the truncation error. Said only where
        # a failure is of rounding's size: a planted bug's errors on a large loss are far bigger.
        rounding = max(r.rounding for r in rows)
        if rounding > atol and any(not r.passed and r.max_abs <= 10 * r.rounding for r in rows):
            sys.stdout.write(
                f"note: at --eps {eps:g}, float64's rounding of the loss alone can move a numeric gradient by about "
                f"{rounding:.1e}, more than --atol {atol:g}: these failures may be the finite difference's, not "
                "autograd's; try a larger --eps (the default is 1e-06)\n")
        # The other arm of the V: too large an eps, whose central difference is off by about eps^2 times the third derivative over 6
        # (an estimate within 10x of the rounding above is that rounding's noise, not the difference's curvature)
        truncation = max((r.truncation for r in rows if r.truncation > 10 * r.rounding), default=0.0)
        if truncation > atol and any(not r.passed and r.max_abs <= 2 * r.truncation for r in rows):
            sys.stdout.write(
                f"note: at --eps {eps:g}, the central difference itself is off by up to about {truncation:.1e} here "
                f"(estimated from its numeric gradients at eps and eps/2), more than --atol {atol:g}: these failures "
                "may be the finite difference's, not autograd's; try a smaller --eps (the default is 1e-06)\n")
        raise typer.Exit(EXIT_FAILED)
    sys.stdout.write(f"ok: all {len(rows)} tensors match finite differences\n" if len(rows) != 1
                     else "ok: the one tensor matches finite differences\n")
