"""What a folder is (a run, a sweep, an lr-find or neither), when it was made, and where the runs under a root are."""

from __future__ import annotations

import errno
import os
import re
from datetime import datetime
from pathlib import Path

from gdlab.errors import EXIT_FAILED, EXIT_USAGE, GdlabError
from gdlab.files import file_in_the_way

RUN_FILES = ("metrics.csv", "summary.json")
SWEEP_FILE = "sweep.csv"
SWEEP_YAML = "sweep.yaml"  # written first: a sweep stopped or still starting may have no sweep.csv yet
LRFIND_FILES = ("lr_find.csv", "lr_find.json")
KINDS = "a run folder (metrics.csv), a sweep folder (sweep.csv) or an lr-find folder (lr_find.csv)"
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


def kind_of(folder: Path) -> str | None:
    """'sweep' if the folder has sweep.csv, 'run' if metrics.csv or summary.json, 'lr-find' if lr_find.csv
    or lr_find.json, else None (a probe's OSError propagates)."""
    if (folder / SWEEP_FILE).is_file():
        return "sweep"
    if any((folder / name).is_file() for name in RUN_FILES):
        return "run"
    if any((folder / name).is_file() for name in LRFIND_FILES):
        return "lr-find"
    return None


def is_sweep_yaml(path: Path) -> bool:
    """Whether `path` is a sweep.yaml as gdlab sweep writes it: a mapping with the base config and the axes (what
    --resume rebuilds the sweep from). Another tool's sweep.yaml (a W&B sweep config, say) or a broken one is not."""
    from gdlab.yamlio import read_yaml_file  # yaml only, and only where a folder has a sweep.yaml

    if not path.is_file():
        return False
    try:
        data, _ = read_yaml_file(path)
    except GdlabError:  # not YAML, not UTF-8, too large: not one gdlab wrote
        return False
    return isinstance(data, dict) and isinstance(data.get("base"), dict) and isinstance(data.get("axes"), dict)


def resolve(path: Path) -> tuple[str, Path]:
    """Turn a command's folder argument into (kind, folder); naming one of its files works too."""
    try:
        return _resolve(path)
    except OSError as exc:  # e.g. ENAMETOOLONG or EACCES from a stat, which pathlib does not swallow
        raise path_error(path, exc, "read it") from None


def _resolve(path: Path) -> tuple[str, Path]:
    if path.is_file() and path.name in (*RUN_FILES, SWEEP_FILE, *LRFIND_FILES, "config.yaml", "sweep.yaml"):
        path = path.parent
    if not path.exists():
        raise GdlabError(f"{path}: no such folder{file_in_the_way(path)}; give {KINDS}")
    if not path.is_dir():
        raise GdlabError(f"{path}: not a folder; give {KINDS}")
    kind = kind_of(path)
    if kind is None and is_sweep_yaml(path / SWEEP_YAML):
        raise GdlabError(f"{path}: a sweep folder with no {SWEEP_FILE} (still starting, or stopped before it wrote one); "
                         "give its variant folders, or finish it with gdlab sweep --resume")
    if kind is None:
        inside = find_folders(path)
        hint = f"; it holds {len(inside)} such folder(s), e.g. {inside[0][1]}" if inside else ""
        raise GdlabError(f"{path}: not {KINDS}{hint}")
    return kind, path


def find_folders(root: Path, warnings: list[str] | None = None) -> list[tuple[str, Path]]:
    """Every run, sweep and lr-find folder under root, as (kind, path); a sweep's variant runs are not listed.
    A folder that cannot be read is skipped, with a warning when `warnings` is given."""
    found: list[tuple[str, Path]] = []

    def skip(exc: OSError) -> None:
        if warnings is not None:
            warnings.append(f"{exc.filename}: cannot look inside ({exc.strerror or exc}); skipped")

    for here, dirs, _ in os.walk(root, onerror=skip):
        folder = Path(here)
        try:
            # gdlab's sweep.yaml alone still makes a sweep: its variant folders are not runs of their own
            kind = kind_of(folder) or ("sweep" if is_sweep_yaml(folder / SWEEP_YAML) else None)
        except OSError as exc:
            skip(exc)
            dirs.clear()
            continue
        if kind is not None:
            found.append((kind, folder))
            dirs.clear()  # a run has no runs inside; a sweep's variants belong to the sweep row
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    return found


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
