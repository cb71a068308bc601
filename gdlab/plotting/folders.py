"""What a folder is (a run, a sweep or neither), when it was made, and where the runs under a root are."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from gdlab.errors import GdlabError

RUN_FILES = ("metrics.csv", "summary.json")
SWEEP_FILE = "sweep.csv"
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[_T ](\d{2})[-:](\d{2})[-:](\d{2})")


def kind_of(folder: Path) -> str | None:
    """'sweep' if the folder has sweep.csv, 'run' if it has metrics.csv or summary.json, else None."""
    if (folder / SWEEP_FILE).is_file():
        return "sweep"
    if any((folder / name).is_file() for name in RUN_FILES):
        return "run"
    return None


def resolve(path: Path) -> tuple[str, Path]:
    """Turn a command's RUN_OR_SWEEP argument into (kind, folder); naming one of its files works too."""
    if path.is_file() and path.name in (*RUN_FILES, SWEEP_FILE, "config.yaml", "sweep.yaml"):
        path = path.parent
    if not path.exists():
        raise GdlabError(f"{path}: no such run or sweep folder")
    if not path.is_dir():
        raise GdlabError(f"{path}: not a folder; give a run folder (with metrics.csv) or a sweep folder (with sweep.csv)")
    kind = kind_of(path)
    if kind is None:
        inside = find_folders(path)
        hint = f"; it holds {len(inside)} run/sweep folder(s), e.g. {inside[0][1]}" if inside else ""
        raise GdlabError(f"{path}: not a run or sweep folder (no metrics.csv, summary.json or sweep.csv){hint}")
    return kind, path


def find_folders(root: Path) -> list[tuple[str, Path]]:
    """Every run and sweep folder under root, as (kind, path); a sweep's variant runs are not listed."""
    found: list[tuple[str, Path]] = []
    for here, dirs, _ in os.walk(root):
        folder = Path(here)
        kind = kind_of(folder)
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
    except ValueError:
        return None
    return when.astimezone().replace(tzinfo=None) if when.tzinfo else when
