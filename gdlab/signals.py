"""Graceful stops: the first SIGINT/SIGTERM asks the loop to finish its step; a second Ctrl-C stops at once."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class StopFlag:
    def __init__(self):
        self.signum: int | None = None

    def __call__(self) -> bool:
        return self.signum is not None


@contextmanager
def graceful_stop():
    """Yield a StopFlag that turns true on the first SIGINT/SIGTERM (main thread only)."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: stop now; files are written atomically anyway
        flag.signum = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)
