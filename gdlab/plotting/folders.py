"""A command's folder argument resolved to its kind (gdlab/folder_kinds.py), one line for a path it cannot read,
and when a folder was made."""

from __future__ import annotations

import errno
import os
import re
from datetime import datetime
from pathlib import Path

from gdlab.errors import EXIT_FAILED, EXIT_USAGE, GdlabError
from gdlab.files import file_in_the_way
from gdlab.folder_kinds import (KINDS, LRFIND_FILES, RUN_FILES, SWEEP_FILE, SWEEP_YAML, find_folders, folder_in_place,
                                in_place_problem, is_sweep_folder, kind_of)

_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[_T ](\d{2})[-:](\d{2})[-:](\d{2})")


def _too_long(path: Path) -> str:
    """Which limit a too-long path breaks, with the limits of the file system it would live on."""
    base = next((str(p) for p in path.absolute().parents if os.path.isdir(p)), "/")
    limits = []
    for name, default in (("PC_NAME_MAX", 255), ("PC_PATH_MAX", 4096)):
        try:
            limits.append(os.pathconf(base, name))
        except (OSError, ValueError):
            limits.append(default)
    longest = max(len(os.fsencode(part)) for part in path.parts)
    if longest > limits[0]:
        return f"a name in it is {longest} bytes; at most {limits[0]} are allowed per folder or file name"
    return f"it is {len(os.fsencode(str(path.absolute())))} bytes; at most {limits[1]} are allowed per path"


# The machine's fault, not the path's: a full disk or a failing device is a runtime failure (exit 1).
_RUNTIME_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG)


def path_error(path: Path, exc: OSError, doing: str) -> GdlabError:
    """One line for an OSError on a path the user gave: the path, what failed, and why; exit 2 for a bad
    path, 1 for a full disk or an I/O failure."""
    if exc.errno == errno.ENAMETOOLONG:
        reason = f"name too long: {_too_long(path)}"
    else:
        reason = {errno.EACCES: "permission denied", errno.ENOTDIR: "a part of the path is a file, not a folder",
                  errno.ELOOP: "too many levels of symbolic links"}.get(exc.errno) or exc.strerror or str(exc)
    code = EXIT_FAILED if exc.errno in _RUNTIME_ERRNOS else EXIT_USAGE
    return GdlabError(f"{path}: cannot {doing} ({reason})", exit_code=code)


def resolve(path: Path) -> tuple[str, Path]:
    """Turn a command's folder argument into (kind, folder); naming one of its files works too."""
    try:
        return _resolve(path)
    except OSError as exc:  # e.g. ENAMETOOLONG or EACCES from a stat, which pathlib does not swallow
        raise path_error(path, exc, "read it") from None


def _resolve(path: Path) -> tuple[str, Path]:
    if path.is_file() and path.name in (*RUN_FILES, SWEEP_FILE, *LRFIND_FILES, "config.yaml", SWEEP_YAML):
        path = path.parent
    if not path.exists():
        raise GdlabError(f"{path}: no such folder{file_in_the_way(path)}; give {KINDS}")
    if not path.is_dir():
        raise GdlabError(f"{path}: not a folder; give {KINDS}")
    blocked = folder_in_place(path)
    if blocked is not None:  # else taken for a missing file, and the folder for another kind or none
        raise GdlabError(in_place_problem(blocked))
    kind = kind_of(path)
    if kind is None and is_sweep_folder(path):
        raise GdlabError(f"{path}: a sweep folder with no {SWEEP_FILE} (still starting, or stopped before it wrote one); "
                         "give its variant folders, or finish it with gdlab sweep --resume")
    if kind is None:
        inside = find_folders(path)
        hint = f"; it holds {len(inside)} such folder(s), e.g. {inside[0][1]}" if inside else ""
        if (path / SWEEP_FILE).is_file():  # say why the table there does not count: gdlab's sweep.yaml is what makes a sweep
            state = "missing" if not (path / SWEEP_YAML).exists() else "not gdlab's: no base and axes"
            hint = f" (its {SWEEP_FILE} counts only beside gdlab's {SWEEP_YAML}, which is {state}){hint}"
        raise GdlabError(f"{path}: not {KINDS}{hint}")
    return kind, path


def folder_time(folder: Path) -> datetime:
    """The time stamped in the folder name (`2026-11-26_10-00-00`, `sweep-...`), else its mtime."""
    match = _STAMP.search(folder.name)
    if match:
        try:
            return datetime.fromisoformat(f"{match[1]}T{match[2]}:{match[3]}:{match[4]}")
        except ValueError:
            pass
    try:
        return datetime.fromtimestamp(folder.stat().st_mtime)
    except OSError:
        return datetime.fromtimestamp(0)


def parse_time(text: object) -> datetime | None:
    """An ISO time from summary.json as naive local time (so it sorts with folder times), or None."""
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text)
        return when.astimezone().replace(tzinfo=None) if when.tzinfo else when
    except (ValueError, OverflowError):  # year 9999 at -05:00 has no local time
        return None
