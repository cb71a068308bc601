"""A Ctrl-C that lands inside an import can be swallowed there and surface later as another error (seen once:
a RecursionError inside numpy, 1.2 s into a sweep). gdlab reports that as the interruption it is, one line and
exit 130; an error with no Ctrl-C before it keeps its traceback."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, signal, sys
import gdlab.cli as cli

def app(standalone_mode):
    if {interrupt}:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            signal.pthread_sigmask(signal.SIG_BLOCK, [])  # a bytecode boundary: the handler runs here
        except KeyboardInterrupt:
            pass  # swallowed, as inside an import that a C extension guards
    raise RecursionError("maximum recursion depth exceeded")

cli.app = app
sys.argv = ["gdlab", "sweep"]
cli.main()
"""


def run(interrupt: bool) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(interrupt=interrupt)], capture_output=True, text=True,
                          timeout=120)


def test_an_error_after_a_swallowed_ctrl_c_is_the_interruption():
    done = run(interrupt=True)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "gdlab: interrupted\n"


SECOND = """
import os, signal, sys
import gdlab.cli as cli
import gdlab.signals as signals

signals.SAME_SIGNAL_S = 0.0  # the two Ctrl-Cs below come within microseconds

def app(standalone_mode):
    with signals.graceful_stop() as stop:
        os.kill(os.getpid(), signal.SIGINT)  # the first asks the loop to stop after its step
        signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert stop()
        try:
            os.kill(os.getpid(), signal.SIGINT)  # the second stops at once, inside an import that swallows it
            signal.pthread_sigmask(signal.SIG_BLOCK, [])
        except KeyboardInterrupt:
            pass
        raise RecursionError("maximum recursion depth exceeded")

cli.app = app
sys.argv = ["gdlab", "sweep"]
cli.main()
"""


def test_a_swallowed_second_ctrl_c_during_a_graceful_stop_is_the_interruption_too():
    """While a run trains, the graceful stop's handler raises the second Ctrl-C's KeyboardInterrupt, not main's."""
    done = subprocess.run([sys.executable, "-c", SECOND], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "gdlab: interrupted\n"


def test_the_same_error_without_a_ctrl_c_keeps_its_traceback():
    done = run(interrupt=False)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "RecursionError" in done.stderr
