"""`gdlab lr-find`: the learning-rate range test. The work happens in gdlab.lrfind; this module only talks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from gdlab.cli.app import RunsOption, command, runs_folder
from gdlab.cli.train_cmd import in_config
from gdlab.errors import GdlabError


@command("lr-find")
def lr_find_command(
    config: Annotated[Path, typer.Argument(help="YAML config file", show_default=False)],
    overrides: Annotated[Optional[list[str]], typer.Argument(help="dotted overrides", show_default=False)] = None,
    # No typer min=: gdlab.lrfind.check_range refuses bad values in one line that says what is allowed.
    min_lr: Annotated[float, typer.Option("--min-lr", help="first learning rate")] = 1e-6,
    max_lr: Annotated[float, typer.Option("--max-lr", help="last learning rate")] = 10.0,
    steps: Annotated[int, typer.Option("--steps", help="steps of the range test (5 to 100000)")] = 100,
    stop_factor: Annotated[float, typer.Option("--stop-factor", help="stop once the smoothed loss exceeds this x its best (>= 1)")] = 4.0,
    run_dir: Annotated[Optional[str], typer.Option("--run-dir", help="exact output folder (new or empty)")] = None,
    runs_root: RunsOption = None,
) -> None:
    """The learning-rate range test: exponentially growing lr over one short run, and a suggested lr."""
    from gdlab.loading import load_config
    from gdlab.lrfind import check_range, lr_find

    runs_root = runs_folder(runs_root, run_dir)
    check_range(min_lr, max_lr, steps, stop_factor)  # before the config is even read
    cfg = load_config(config, overrides or [])
    from gdlab.signals import graceful_stop

    with graceful_stop() as stop:  # Ctrl-C ends the test after its step, files written, and says so
        try:
            result = lr_find(cfg, run_dir, runs_root, min_lr, max_lr, steps, stop_factor, should_stop=stop)
        except GdlabError as exc:  # a data, shape or batch error: name the file and the override that set the key
            raise in_config(config, exc, overrides) from None
    end = ("interrupted" if result.interrupted else "stopped early: the loss blew up" if result.stopped_early
           else "ran all steps")
    last = f"{result.lrs[-1]:.3g}" if result.lrs else f"{min_lr:g}"
    sys.stdout.write(f"lr range test: {len(result.lrs)} steps from {min_lr:g} to {last} ({end})\n")
    # a stopped test needs a full run, one that reached max_lr a larger max_lr
    remedy = "run it to the end" if result.interrupted else "raise --max-lr"
    if result.suggested_lr is None and result.loss_still_falling:  # too few steps to measure a slope yet
        more = "" if result.interrupted else " (or add --steps)"  # more steps do not finish a stopped test
        sys.stdout.write(f"no suggestion yet: the loss was still falling when the range ended; {remedy}{more} "
                         "to see where it turns up\n")
    elif result.suggested_lr is None and result.interrupted:  # the range it never reached may hold the fall
        sys.stdout.write(f"no suggestion: the loss had not fallen steadily by lr {last}, where it was interrupted; "
                         "run it to the end\n")
    elif result.suggested_lr is None:
        sys.stdout.write("no suggestion: the loss never fell steadily; widen --min-lr/--max-lr or add --steps\n")
    else:
        if result.loss_still_falling:
            sys.stdout.write("the range ended while the loss was still falling, so the suggestion is only a lower "
                             f"bound: {remedy} to see where the loss turns up\n")
        at_least = "at least " if result.loss_still_falling else ""
        sys.stdout.write(
            f"suggested lr: {at_least}{result.suggested_lr:.3g}  (steepest fall of the smoothed loss over ~a quarter "
            f"decade, before its minimum at {result.min_loss_lr:.3g}; the other common rule, minimum/10, gives "
            f"{result.min_loss_lr / 10:.3g}).\nThis is a heuristic: confirm with gdlab sweep around it.\n"
        )
        sys.stdout.write(_next_steps(config, overrides or [], result.suggested_lr, result.loss_still_falling))
    sys.stdout.write(f"{result.run_dir}\n")
    if stop.signum is not None:
        raise typer.Exit(stop.exit_code)


def _next_steps(config: Path, overrides: list[str], lr: float, lower_bound: bool) -> str:
    """The commands that confirm the suggestion, ready to paste: a sweep around it (above it, when it is
    only a lower bound) and a run with it, with lr-find's own overrides, each checked as those commands
    check it, so that none is printed that would be refused."""
    import shlex

    from gdlab.config.overrides import parse_override

    kept = [o for o in overrides if not o.replace(" ", "").startswith("optimizer.lr=")]
    factors = (1, 3, 10) if lower_bound else (1 / 3, 1, 3)
    around, one = [f"{lr * f:.3g}" for f in factors], f"{lr:.3g}"
    note, refusal = "", _refusal(config, kept, around, one)
    # The range test reads no validation rows, so data.val_fraction=0 suits it; what watches val_loss in
    # the full run (ReduceLROnPlateau, early stopping) needs them: the commands keep the config's split.
    split = [o for o in kept if parse_override(o)[0] == ("data", "val_fraction")]
    if refusal is not None and split and _refusal(config, [o for o in kept if o not in split], around, one) is None:
        kept = [o for o in kept if o not in split]
        note = (f"note: the commands below leave out {', '.join(split)}: the range test needs no validation rows, "
                f"but gdlab train refuses to run without them here ({refusal[1]})\n")
    elif refusal is not None and refusal[0] == "train":
        return f"no next commands: gdlab train would refuse this config ({refusal[1]})\n"
    base = " ".join(shlex.quote(str(part)) for part in [config, *kept])
    run = f"gdlab train {base} optimizer.lr={one}\n"
    if refusal is not None and not note:  # only the sweep is refused (by the config's sweep: section): a run still goes
        return f"note: no sweep command: gdlab sweep would refuse this config ({refusal[1]})\nnext: {run}"
    return f"{note}next: gdlab sweep {base} optimizer.lr={','.join(around)}\n  or: {run}"


def _refusal(config: Path, overrides: list[str], around: list[str], one: str) -> tuple[str, str] | None:
    """Which of `gdlab train` and `gdlab sweep` ("train" first, or "sweep") would refuse these commands before
    training, and why (None: neither would)."""
    import contextlib
    import io

    from gdlab.loading import load_config
    from gdlab.runner import prepare_data, resolve_device
    from gdlab.sweep.preflight import preflight
    from gdlab.sweep.setup import setup_sweep

    with contextlib.redirect_stderr(io.StringIO()):  # its notes were printed when lr-find read the config
        try:
            cfg = load_config(config, [*overrides, f"optimizer.lr={one}"])
            prepare_data(cfg)
            resolve_device(cfg.train.device)
        except GdlabError as exc:
            return "train", exc.message
        try:  # gdlab train ignores a config's sweep: section; gdlab sweep reads it
            preflight(setup_sweep(config, [*overrides, f"optimizer.lr={','.join(around)}"]))
        except GdlabError as exc:
            return "sweep", exc.message
    return None
