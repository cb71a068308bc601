"""`gdlab lr-find`: the learning-rate range test. The work happens in gdlab.lrfind; this module only talks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from gdlab.cli.app import command
from gdlab.errors import GdlabError


@command("lr-find")
def lr_find_command(
    config: Annotated[Path, typer.Argument(help="YAML config file", show_default=False)],
    overrides: Annotated[Optional[list[str]], typer.Argument(help="dotted overrides", show_default=False)] = None,
    min_lr: Annotated[float, typer.Option("--min-lr", min=0, help="first learning rate")] = 1e-6,
    max_lr: Annotated[float, typer.Option("--max-lr", min=0, help="last learning rate")] = 10.0,
    steps: Annotated[int, typer.Option("--steps", min=5, help="steps of the range test")] = 100,
    stop_factor: Annotated[float, typer.Option("--stop-factor", min=1, help="stop once the smoothed loss exceeds this x its best")] = 4.0,
    run_dir: Annotated[Optional[Path], typer.Option("--run-dir", help="exact output folder (new or empty)")] = None,
    runs_root: Annotated[Path, typer.Option("--runs", help="parent folder of run folders")] = Path("runs"),
) -> None:
    """The learning-rate range test: exponentially growing lr over one short run, and a suggested lr."""
    from gdlab.loading import load_config
    from gdlab.lrfind import lr_find

    if not 0 < min_lr < max_lr:
        raise GdlabError(f"--min-lr {min_lr} / --max-lr {max_lr}: need 0 < min-lr < max-lr")
    cfg = load_config(config, overrides or [])
    result = lr_find(cfg, run_dir, runs_root, min_lr, max_lr, steps, stop_factor)
    end = "stopped early: the loss blew up" if result.stopped_early else "ran all steps"
    sys.stdout.write(f"lr range test: {len(result.lrs)} steps from {min_lr:g} to {result.lrs[-1]:.3g} ({end})\n")
    if result.suggested_lr is None:
        sys.stdout.write("no suggestion: the loss never fell steadily; widen --min-lr/--max-lr or add --steps\n")
    else:
        sys.stdout.write(
            f"suggested lr: {result.suggested_lr:.3g}  (steepest fall of the smoothed loss; the minimum was at "
            f"{result.min_loss_lr:.3g}; a conservative choice is {result.min_loss_lr / 10:.3g}).\n"
            "This is a heuristic: confirm with gdlab sweep around it.\n"
        )
    sys.stdout.write(f"{result.run_dir}\n")
