"""The Typer app and the one place where a GdlabError becomes a message on stderr and an exit code."""

from __future__ import annotations

import contextlib
import functools
import sys
from typing import Annotated, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from gdlab.errors import EXIT_FAILED, EXIT_SIGINT, GdlabError
from gdlab.files import show

# Piped, a narrow COLUMNS (COLUMNS=40 in a CI log) made rich cut option names and help with '…' (`--dry-r…`):
# help that is not on a terminal gets at least the width rich gives a pipe by default, where nothing is cut.
PIPED_HELP_WIDTH = 80


@contextlib.contextmanager
def _piped_help_width():
    import typer.rich_utils as rich_utils  # help only: what typer draws it with

    if not hasattr(rich_utils, "MAX_WIDTH"):  # a typer internal: another version may draw help otherwise
        yield
        return
    saved = rich_utils.MAX_WIDTH
    if saved is None and not sys.stdout.isatty():  # TERMINAL_WIDTH, typer's own setting, is left as set
        from rich.console import Console

        rich_utils.MAX_WIDTH = max(Console().width, PIPED_HELP_WIDTH)
    try:
        yield
    finally:
        rich_utils.MAX_WIDTH = saved


class _PipedHelp:
    """The --help of a command or of the app, drawn at least PIPED_HELP_WIDTH wide when piped."""

    def format_help(self, ctx, formatter):
        with _piped_help_width():
            return super().format_help(ctx, formatter)


class _Group(_PipedHelp, TyperGroup):
    pass


class _Command(_PipedHelp, TyperCommand):
    pass


app = typer.Typer(
    cls=_Group,
    name="gdlab",
    help="A command-line lab for gradient descent on small neural networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# --runs: the folder under which a new run folder is made (runs/ unless given). str, not Path: typer makes '' a Path('.').
RunsOption = Annotated[Optional[str], typer.Option("--runs", help="parent folder of run folders", show_default="runs")]


def runs_folder(runs: str | None, run_dir: object) -> str:
    """--runs (default runs/); refused beside --run-dir, which names the run folder itself, so one would be ignored."""
    if runs is not None and run_dir is not None:
        raise GdlabError(f"--runs {runs} and --run-dir {run_dir}: give one; --run-dir names the folder itself, "
                         "--runs the folder a new one is made in")
    return "runs" if runs is None else runs


def fail(message: str, code: int) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    sys.stderr.write(f"gdlab: error: {' '.join(str(message).split())}\n")
    sys.stderr.flush()
    return typer.Exit(code)


def command(*args, **kwargs):
    """`app.command` that turns GdlabError, and an OSError about a file, into one line and its exit code."""

    def register(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            try:
                return fn(*a, **k)
            except GdlabError as exc:
                raise fail(exc.message, exc.exit_code) from None
            except KeyboardInterrupt:  # a Ctrl-C before (or after) a training loop's graceful stop
                sys.stderr.write("gdlab: interrupted\n")
                raise typer.Exit(EXIT_SIGINT) from None
            except OSError as exc:
                # A safety net: an OS refusal on a named file that the core did not turn into a GdlabError
                # still reads as one line, not a traceback. One without a file name is a bug: let it show.
                if exc.filename is None:
                    raise
                raise fail(f"{show(exc.filename)}: {exc.strerror or exc}", EXIT_FAILED) from None

        app.command(*args, cls=_Command, **kwargs)(wrapper)
        return fn

    return register
