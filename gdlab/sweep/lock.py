"""One process at a time in a sweep folder: a sweep holds an advisory lock on `.sweep.lock` while it
runs, so a `--resume` started meanwhile is refused instead of deleting the folders being written."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gdlab.errors import GdlabError


@contextmanager
def sweep_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's lock inside; refuse at once if another process holds it. The lock ends with
    the process, so a killed sweep leaves nothing to clean up."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): run unguarded
        yield
        return
    with open(folder / ".sweep.lock", "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise GdlabError(f"{folder}: this sweep is running now (process {holder}); let it finish or stop it "
                             "(Ctrl-C), then --resume") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
