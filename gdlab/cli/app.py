"""The Typer app and the one place where a GdlabError becomes a message on stderr and an exit code."""

from __future__ import annotations

import functools
import sys

import typer

from gdlab.errors import GdlabError

app = typer.Typer(
    name="gdlab",
    help="A command-line lab for gradient descent on small neural networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def fail(message: str, code: int) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    sys.stderr.write(f"gdlab: error: {' '.join(str(message).split())}\n")
    sys.stderr.flush()
    return typer.Exit(code)


def command(*args, **kwargs):
    """`app.command` that turns GdlabError into one line and its exit code (no traceback)."""

    def register(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            try:
                return fn(*a, **k)
            except GdlabError as exc:
                raise fail(exc.message, exc.exit_code) from None

        app.command(*args, **kwargs)(wrapper)
        return fn

    return register
