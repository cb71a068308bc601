"""Command-line interface. Each command module registers itself on `app`; none imports torch at load."""

import signal
import sys

from gdlab.cli.app import app
from gdlab.cli import train_cmd, validate_cmd, lab_cmd, lrfind_cmd, plot_cmd, runs_cmd, sweep_cmd  # noqa: F401  (each module registers its commands, in the order help lists them)
from gdlab.signals import RAISED, interrupt


def _ctrl_c(signum, frame):
    """Python's own Ctrl-C (KeyboardInterrupt), remembered: one that lands inside an import can be swallowed
    there and surface later as another error (a RecursionError inside numpy, 1.2 s into a sweep), which is
    then the Ctrl-C's doing and reads as one. A graceful stop's second Ctrl-C is remembered too (signals.py)."""
    interrupt()


def main() -> None:
    """Run the app; a usage error (unknown option, bad option value) is one line and exit 2, like every
    other bad input, instead of click's multi-line box."""
    import typer
    import typer.core

    from gdlab.cli.streams import final_code, install

    out, _ = install()  # a closed, full or abandoned stdout never stops a run or changes its exit code
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where the shell started us ignoring it
        signal.signal(signal.SIGINT, _ctrl_c)
    # typer >= 0.20 vendors click as typer._click; older versions use click itself
    click = getattr(typer.core, "_click", None) or typer.core.click
    # click >= 8.2 raises this for a plain `gdlab`; older click prints the help and exits 0 (see below)
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
    try:
        code = app(standalone_mode=False)
        if len(sys.argv) == 1 and not no_args:  # plain `gdlab` on click < 8.2: the help, and exit 2 all the same
            code = 2
    except no_args as exc:  # plain `gdlab`: the help (already drawn by rich), exit 2 as before
        if exc.format_message().strip():
            print(exc.format_message())
        code = exc.exit_code
    except click.exceptions.UsageError as exc:
        hint = f" (see '{_help_for(exc.ctx)} --help')"
        message = _no_such_option(exc) if isinstance(exc, click.exceptions.NoSuchOption) else exc.format_message()
        message = message.replace("Value error, ", "")  # typer's choice check speaks through pydantic's prefix
        sys.stderr.write(f"gdlab: error: {' '.join(message.split())}{hint}\n")
        code = exc.exit_code
    except click.exceptions.ClickException as exc:
        sys.stderr.write(f"gdlab: error: {' '.join(exc.format_message().split())}\n")
        code = exc.exit_code
    except typer.Abort:
        sys.stderr.write("gdlab: aborted\n")
        code = 1
    except KeyboardInterrupt:  # a Ctrl-C outside a training loop's graceful stop (e.g. while it writes its last files)
        sys.stderr.write("gdlab: interrupted\n")
        code = 130
    except Exception:
        if not RAISED[0]:  # a real bug: its traceback is what a report needs
            raise
        sys.stderr.write("gdlab: interrupted\n")
        code = 130
    # The exit code is decided and every file is written: a late Ctrl-C or SIGTERM (a second one, just after
    # a graceful stop finished) must not turn it into a death by signal while the interpreter shuts down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(final_code(code if isinstance(code, int) else 0, out))


def _help_for(ctx) -> str:
    """`gdlab train` for an error in train's options. Click leaves `ctx` unset for an option missing its value
    (`--expect` last): then the command is the first argument that names one."""
    if ctx is not None:
        return f"gdlab {ctx.info_name}" if ctx.parent else "gdlab"
    names = {info.name for info in app.registered_commands}
    return next((f"gdlab {arg}" for arg in sys.argv[1:] if arg in names), "gdlab")


def _no_such_option(exc) -> str:
    """Click's message for an unknown option, with our own "did you mean": click matched the names dashes and
    all, so every `--x` shared two characters with the rest (`--bogus` got "Possible options: --runs")."""
    import difflib

    params = exc.ctx.command.params if exc.ctx is not None else []
    names = {name.lstrip("-"): name for p in params for name in (*p.opts, *p.secondary_opts) if name.startswith("--")}
    close = difflib.get_close_matches(exc.option_name.lstrip("-"), list(names), n=2, cutoff=0.7)
    guess = " or ".join(f"'{names[c]}'" for c in close)
    return f"{exc.message}{f'. Did you mean {guess}?' if close else ''}"
