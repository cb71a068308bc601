"""One process at a time in a run or sweep folder. A sweep holds an advisory lock on `.sweep.lock` while
it runs, and a training run one on its folder itself, so a `--resume` started meanwhile is refused instead
of deleting the folders, or rewriting the metrics.csv, being written; `gdlab runs` reads the locks to tell
those training now from dead ones."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gdlab.errors import GdlabError
from gdlab.files import cannot_write, show

LOCK_NAME = ".sweep.lock"


class FolderTaken(GdlabError):
    """Another process holds the folder: nothing of it may be removed or written."""


def _check_fresh(folder: Path, own: str | None) -> None:
    """A folder just made for this run holds nothing yet but its lock: else another process, given the same
    new --run-dir, made it between our 'new or empty' check and our mkdir, and wrote into it first."""
    if any(p.name != own for p in folder.iterdir()):
        raise FolderTaken(f"--run-dir {show(folder)}: another gdlab process wrote here just now; "
                          "gdlab never overwrites a run")


@contextmanager
def sweep_lock(folder: Path, fresh: bool = False) -> Iterator[None]:
    """Hold the folder's lock inside; refuse at once if another process holds it (or, `fresh`, wrote there
    first). The lock ends with the process, so a killed sweep leaves nothing to clean up."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): run unguarded
        yield
        return
    path = folder / LOCK_NAME
    try:  # unbuffered: a write the disk refuses fails here, not again in close() with no file named
        fh = open(path, "a+b", buffering=0)
    except OSError as exc:
        raise cannot_write(path, exc, "the sweep lock") from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().decode("utf-8", "replace").strip() or "?"
            raise FolderTaken(f"{folder}: this sweep is running now (process {holder}); let it finish or stop it "
                              "(Ctrl-C), then --resume") from None
        try:
            if fresh:
                _check_fresh(folder, LOCK_NAME)
            _record_holder(fh, path)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _record_holder(fh, path: Path) -> None:
    """Write this process's id into the held lock file, for the message a second sweep gets."""
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n".encode())
    except OSError as exc:  # a full disk: [Errno 28] with no file name, a traceback if let through
        raise cannot_write(path, exc, "the sweep lock") from None


@contextmanager
def run_folder_lock(folder: Path, refusal: str, fresh: bool = False) -> Iterator[None]:
    """Hold a lock on the run folder itself (a directory can be flocked: no file is added to the run) inside;
    refuse with `refusal` at once if another process holds it (or, `fresh`, wrote there first). It ends
    with the process, as the sweep's."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): run unguarded
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        raise cannot_write(folder, exc, "the run folder's lock") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderTaken(refusal) from None
        if fresh:
            _check_fresh(folder, None)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def new_folder_lock(folder: Path, fresh: bool):
    """run_folder_lock on a folder a command has just made, or was given empty with --run-dir (`fresh`): the
    refusal gdlab train, sweep and lr-find give when another process took it first."""
    return run_folder_lock(folder, f"--run-dir {show(folder)}: another gdlab process took this folder just now; "
                                   "gdlab never shares a run folder", fresh=fresh)


def locked_now(paths: list[Path]) -> set[Path] | None:
    """Which of `paths` (run folders, sweep lock files) some process holds a flock on now, read from Linux's
    /proc/locks: a probe that takes no lock itself, so it cannot make a run starting meanwhile fail. None
    where the kernel does not say (no /proc/locks)."""
    try:
        text = Path("/proc/locks").read_text()
    except OSError:
        return None
    held = set()
    for line in text.splitlines():  # "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1837084 0 EOF"; "->" lines wait
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK":
            try:
                major, minor, inode = fields[5].split(":")
                held.add((int(major, 16), int(minor, 16), int(inode)))
            except ValueError:
                continue
    found = set()
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        if (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in held:
            found.add(path)
    return found
