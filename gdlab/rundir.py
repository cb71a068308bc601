"""Run folders: created atomically and never reused, files written atomically (metrics.csv rows are
appended by gdlab/csvlog.py)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from gdlab.errors import GdlabError
from gdlab.files import cannot_write, check_writable, path_error, show, sync_folder, umask_mode
from gdlab.run_cleanup import killed_before_start

MAX_NAME = 100


def _safe_name(name: str) -> str:
    if not name or "\0" in name or "/" in name or name in (".", "..") or len(name) > MAX_NAME:
        raise GdlabError(f"name: '{name[:40]}' cannot be a folder name (letters, digits, . _ - only, at most {MAX_NAME})")
    return name


def create_run_dir(name: str, runs_root: Path | str = "runs", explicit: Path | str | None = None, prefix: str = "") -> Path:
    """Make the folder a run writes to: `explicit` if given (must be new or empty), else
    `runs_root/name/<prefix><timestamp>`, with a suffix when two runs start in the same second."""
    option, given = ("--run-dir", explicit) if explicit is not None else ("--runs", runs_root)
    _check_typed(option, given)
    try:
        said = f"{option} {show(given)}"  # errors name the option and the path the user typed
        if explicit is not None:
            return _make_empty(Path(explicit), said)
        return _make_stamped(Path(runs_root) / _safe_name(name), prefix, said)
    except OSError as exc:  # the path the user typed is too long, runs through a file, is not ours to read...
        raise path_error(option, given, exc, "cannot create the run folder") from None


def _make_empty(path: Path, said: str) -> Path:
    """`--run-dir`: the exact folder, made unless it exists empty."""
    _check_run_dir(path, said)
    _make_with_parents(path)
    return path


def _check_run_dir(path: Path, said: str) -> None:
    if path.is_symlink() and not path.exists():  # mkdir would say only "File exists"
        raise GdlabError(f"--run-dir {show(path)}: a link to {show(os.readlink(path))}, which does not exist; "
                         "give a new or empty folder")
    if path.exists() and not path.is_dir():
        raise GdlabError(f"--run-dir {show(path)}: is a file, not a folder; give a new or empty folder")
    if path.exists() and any(path.iterdir()):
        if leftovers := killed_before_start(path):
            raise GdlabError(f"--run-dir {show(path)}: holds only what a gdlab killed before it wrote anything left "
                             f"({', '.join(leftovers)}); nothing to keep: remove the folder and run again")
        raise GdlabError(f"--run-dir {show(path)}: already exists and is not empty; gdlab never overwrites a run")
    check_writable(path, said)


def _check_typed(option: str, given: Path | str) -> None:
    if given == "" or "\0" in str(given):  # Path("") would be ".", the current folder, which nobody asked for
        raise GdlabError(f"{option}: " + ("empty path; give a folder" if given == "" else "the path contains a NUL byte"))
    if "\n" in str(given) or "\r" in str(given):  # scripts read the run folder as the output's last line
        raise GdlabError(f"{option} {show(str(given))!r}: the path contains a line break; the run folder is printed "
                         "as the last line of output, so give a path without one")


def check_run_dir(explicit: Path | str | None, runs_root: Path | str = "runs", name: str = "") -> None:
    """What `create_run_dir` would refuse, without making anything (a sweep's --dry-run): `explicit` (--run-dir)
    when given, else the folder `runs_root/name` the stamped one would go in (--runs)."""
    option, given = ("--run-dir", explicit) if explicit is not None else ("--runs", runs_root)
    _check_typed(option, given)
    try:
        if explicit is not None:
            _check_run_dir(Path(explicit), f"--run-dir {show(explicit)}")
        else:
            check_writable(Path(runs_root) / _safe_name(name), f"--runs {show(runs_root)}")
    except OSError as exc:
        raise path_error(option, given, exc, "cannot create the run folder") from None


def _make_with_parents(path: Path) -> None:
    """mkdir -p, undone when it fails: a name too long at the end left the parents it had made."""
    made = [p for p in [path, *path.parents] if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        for p in made:  # deepest first; only the empty folders this call made
            try:
                p.rmdir()
            except OSError:
                pass
        raise


def _make_stamped(parent: Path, prefix: str, said: str) -> Path:
    check_writable(parent, said)
    _make_with_parents(parent)
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for attempt in range(1000):
        path = parent / (f"{prefix}{stamp}" + (f"_{attempt + 1}" if attempt else ""))
        try:
            path.mkdir()  # atomic: of two runs started together, exactly one gets each name
            return path
        except FileExistsError:
            continue
    raise GdlabError(f"{show(parent)}: could not find a free run folder name")


def write_atomic(path: Path, data: str | bytes, durable: bool = True) -> None:
    """Write via a temp file in the same folder, fsync, rename, fsync the folder (the rename is in it): readers see
    the old file or the new one. `durable=False` skips the fsyncs where losing the file to a power cut costs nothing."""
    mode = "wb" if isinstance(data, bytes) else "w"
    try:  # creating the temp file fails too on a full disk (no room for its directory entry)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        os.fchmod(fd, umask_mode())  # a run's files are as readable as any file the user makes
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        if durable:
            sync_folder(path.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise cannot_write(path, exc) from None


def json_safe(value: Any) -> Any:
    """Non-finite floats become null: JSON has no NaN, and a reader must not guess."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json(path: Path, data: dict, durable: bool = True) -> None:
    write_atomic(path, json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n", durable)
