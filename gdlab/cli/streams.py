"""stdout and stderr that never stop a command: a reader that went away (`gdlab sweep ... | head -2`), a
closed (`>&-`) or full (`>/dev/full`) stream, or a character the terminal's encoding lacks must not stop a
sweep half-way or turn a divergence's exit 3 into 1. What was lost is reported once, at the end."""

from __future__ import annotations

import errno
import os
import re
import sys
from typing import Any, TextIO


_TRAILING = re.compile(r"[ \t]+\n")


class SafeStream:
    """Wraps sys.stdout or sys.stderr: writes that fail are dropped, and the first failure is kept."""

    def __init__(self, stream: TextIO | None, name: str):
        self._stream, self.name = stream, name
        self.failed: OSError | None = None if stream is not None else OSError(errno.EBADF, "closed")

    def write(self, text: str) -> int:
        if self.failed is None:
            try:
                self._stream.write(text)
            except UnicodeEncodeError:  # e.g. '—' on a latin-1 terminal: say it as best the encoding can
                encoding = self._stream.encoding or "ascii"
                self._guard(lambda: self._stream.write(text.encode(encoding, "replace").decode(encoding)))
            except (OSError, ValueError) as exc:  # ValueError: the stream was closed under us
                self._lose(exc)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.failed is None:
            self._guard(self._stream.flush)

    def _guard(self, call) -> None:
        try:
            call()
        except (OSError, ValueError) as exc:
            self._lose(exc)

    def _lose(self, exc: Exception) -> None:
        """Remember why output stopped, and point the file descriptor at /dev/null so the interpreter's
        own flush at exit does not fail again (Python would then print a traceback and exit 120)."""
        self.failed = exc if isinstance(exc, OSError) else OSError(errno.EBADF, str(exc))
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def isatty(self) -> bool:
        return self.failed is None and self._stream.isatty()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    def __getattr__(self, name: str) -> Any:  # fileno, errors, buffer...: the real stream's
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)


def install() -> tuple[SafeStream, SafeStream]:
    """Wrap this process's stdout and stderr (once). A closed one (`>&-`) is first reopened on /dev/null:
    else the next file opened takes its descriptor (a sweep's lock file became fd 1), and libraries that
    need a descriptor (Ray's faulthandler) fail."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream = getattr(sys, name)
        if isinstance(stream, SafeStream):
            continue
        if stream is None:
            stream = _reopen_on_devnull(fd)
        setattr(sys, name, SafeStream(stream, name))
    return sys.stdout, sys.stderr


def _reopen_on_devnull(fd: int) -> TextIO | None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != fd:  # fd was closed, so os.open normally returns it; else put /dev/null there
            os.dup2(devnull, fd)
            os.close(devnull)
        return open(fd, "w", encoding="utf-8", closefd=False)
    except OSError:
        return None


def final_code(code: int, out: SafeStream) -> int:
    """The exit code once output is done: a reader that left (broken pipe) or a closed stdout changes
    nothing; output lost to anything else (a full disk) is said on stderr and fails a command that
    would have succeeded."""
    out.flush()
    lost = out.failed
    if lost is None or lost.errno in (errno.EPIPE, errno.EBADF):
        return code
    sys.stderr.write(f"gdlab: error: cannot write to stdout ({lost.strerror or lost})\n")
    return code or 1


def output_console(fit=None, **options):
    """A rich Console for stdout. Piped (a CI log, `| grep`; also with FORCE_COLOR, which makes rich call a
    log a terminal) it is at least 200 columns wide, and as wide as `fit` (a table) needs: COLUMNS=20 or a
    default 80 would cut cells (`final_tra…`, a path) that scripts read."""
    from rich.console import Console

    console = Console(**options)
    if sys.stdout.isatty():
        return console
    natural = Console(width=1_000_000).measure(fit).maximum if fit is not None else 0
    return Console(**options, width=max(console.width, 200, natural), file=_NoTrailingSpaces(sys.stdout))


def print_fitted(console, renderable, **options) -> None:
    """Print a table on `console`, or, piped, on one as wide as the table needs: a sweep's grid or ranking
    over many or long axes was squeezed into 200 columns, cells wrapped and folder names cut (`000_lr=…`)."""
    if sys.stdout.isatty():
        console.print(renderable, **options)
    else:
        output_console(fit=renderable).print(renderable, **options)


class _NoTrailingSpaces:
    """A piped console's stream without the spaces rich pads each table row with to the table's width:
    a script splitting `steps   50   ` on whitespace, or diffing logs, should not have to strip them."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(_TRAILING.sub("\n", text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, encoding, isatty ... as the stream has them
        return getattr(self.stream, name)


def live_display(console) -> bool:
    """Whether to draw a live progress bar: only on a real terminal. FORCE_COLOR=1 (colour in a CI log)
    makes rich treat a log file as a terminal, and the bar's redraws would fill the log with cursor codes."""
    return console.is_terminal and sys.stdout.isatty()
