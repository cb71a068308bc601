"""User-given files and folders: reading a file as text, syncing a folder, and every OS or decoding problem on
such a path turned into one GdlabError line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from gdlab.errors import EXIT_FAILED, GdlabError, shorten_middle

PATH_LIMIT = 100  # characters of a user's path an error shows


def _read_umask() -> int:
    """The process's umask, read without setting it where Linux shows it: os.umask can only read it by
    setting it, and for that instant a file another I/O thread creates gets mode 0o666 (a third of them
    did, beside a thread reading it in a loop)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)  # once, at import: no I/O thread exists yet
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # gdlab never changes it


def umask_mode() -> int:
    """The mode a plain new file gets here (0o666 less the umask): temp files start at 0o600."""
    return 0o666 & ~_UMASK


def read_user_text(path: Path, what: str, max_bytes: int | None = None, torn_tail: bool = False) -> str:
    """The file's UTF-8 text; `what` says what was expected there, `max_bytes` caps its size. `torn_tail`: a
    file appended line by line, whose unterminated last line may hold any bytes (a write cut short)."""
    try:
        if max_bytes is not None and (size := path.stat().st_size) > max_bytes:
            raise GdlabError(f"{path}: file is {size} bytes; {what} is limited to {max_bytes} bytes")
        raw = _read_capped(path, what, max_bytes)
    except FileNotFoundError:
        raise GdlabError(f"{path}: no such file (expected {what})") from None
    except IsADirectoryError:
        raise GdlabError(f"{path}: is a directory (expected {what})") from None
    except PermissionError:
        raise GdlabError(f"{path}: permission denied") from None
    except OSError as exc:
        raise GdlabError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        end = max(raw.rfind(b"\n"), raw.rfind(b"\r")) + 1  # where the last complete line ends
        if torn_tail and exc.start >= end > 0:  # garbage only in the torn line, which the caller drops
            return raw[:end].decode("utf-8") + raw[end:].decode("utf-8", errors="replace")
        raise GdlabError(f"{path}: not UTF-8 text (bad byte at offset {exc.start}); expected {what}") from None


def _read_capped(path: Path, what: str, max_bytes: int | None) -> bytes:
    """The file's bytes, refused past `max_bytes`: a device or pipe (/dev/zero, /dev/stdin) has no size to
    check up front, so the read itself stops one byte past the cap instead of filling memory."""
    with open(path, "rb") as fh:
        raw = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    if max_bytes is not None and len(raw) > max_bytes:
        raise GdlabError(f"{path}: more than {max_bytes} bytes; {what} is limited to {max_bytes} bytes")
    return raw


def cannot_write(path: Path | str, exc: OSError, what: str = "") -> GdlabError:
    """One line for a write the OS refused (a full disk, a vanished folder): the file, what, why; exit 1."""
    return GdlabError(f"{path}: cannot write{' ' + what if what else ''} ({exc.strerror or exc})", exit_code=EXIT_FAILED)


def sync_folder(folder: Path) -> None:
    """fsync a folder, so that a file renamed into it is still there after a power cut (the file's own fsync
    keeps its bytes, not its name). Skipped where a folder cannot be opened (Windows) or synced (some
    network filesystems): the file is written and renamed all the same."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES, errno.EPERM):
            raise  # a disk error: the caller says which file it was writing
    finally:
        os.close(fd)


def show(path: Path | str) -> str:
    """A user's path as an error quotes it: whole, or its start and end (the file name) when very long."""
    return shorten_middle(str(path), PATH_LIMIT)


def check_writable(path: Path, given: str | None = None) -> None:
    """Refuse, in one line, a folder to be made where its nearest existing ancestor is a file or not writable.
    `given` is what the user typed, e.g. `--runs /dev/null` (default: the path)."""
    probe, given = path, given or show(path)
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise GdlabError(f"{given}: {show(probe)} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise GdlabError(f"{given}: folder {show(probe)} is not writable")


def path_error(option: str, path: Path | str, exc: OSError, doing: str) -> GdlabError:
    """One line for an OS refusal (too long a name, a file inside the path, no permission, a link loop...)
    on the path the user gave with `option`, e.g. `--run-dir /tmp/x: cannot create it (Not a directory)`."""
    return GdlabError(f"{option} {show(path)}: {doing} ({exc.strerror or exc})")


def file_in_the_way(path: Path) -> str:
    """For a path that does not exist: ' (X is a file, not a folder)' when one of its parents is a file
    (pathlib only says it does not exist), else ''."""
    for parent in Path(path).parents:
        try:
            if parent.exists():
                return f" ({show(parent)} is a file, not a folder)" if not parent.is_dir() else ""
        except OSError:
            return ""
    return ""
