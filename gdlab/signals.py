"""Graceful stops: the first SIGINT/SIGTERM asks the loop to finish its step; a second Ctrl-C stops at once."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager

# One action can deliver SIGINT twice within microseconds: `timeout -s INT` signals the command, then
# its whole process group, the command included. A second Ctrl-C sooner than this is the same one.
SAME_SIGNAL_S = 0.25
# Whether a Ctrl-C was raised as KeyboardInterrupt: one that lands inside an import can be swallowed there and
# surface later as another error (a RecursionError inside numpy), which gdlab's main then reports as the Ctrl-C.
RAISED = [False]


def interrupt() -> None:
    """Raise a Ctrl-C's KeyboardInterrupt, remembered in RAISED."""
    RAISED[0] = True
    raise KeyboardInterrupt


class StopFlag:
    def __init__(self):
        self.signum: int | None = None
        self.at = 0.0  # when the first signal came (time.monotonic)

    def __call__(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """The exit code of a run this signal stopped: 143 for SIGTERM, else 130 (Ctrl-C), as a shell's."""
        from gdlab.errors import EXIT_SIGINT, EXIT_SIGTERM

        return EXIT_SIGTERM if self.signum == signal.SIGTERM else EXIT_SIGINT


@contextmanager
def graceful_stop():
    """Yield a StopFlag that turns true on the first SIGINT/SIGTERM (main thread only)."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.signum is not None:
            if signum == signal.SIGINT and time.monotonic() - flag.at > SAME_SIGNAL_S:
                interrupt()  # second Ctrl-C: stop now; files are written atomically anyway
            return
        flag.signum, flag.at = signum, time.monotonic()

    # A signal the process was started with ignored stays ignored: a shell starts a script's background jobs
    # with SIGINT ignored, so the Ctrl-C meant for the script does not reach them (as a plain Python keeps it)
    taken = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not signal.SIG_IGN]
    old = {s: signal.signal(s, handler) for s in taken}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)
