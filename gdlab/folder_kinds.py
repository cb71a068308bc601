"""What a folder is, by the files gdlab writes there (a run, a sweep, an lr-find, or none of them), and where such
folders are under a root. `gdlab train --resume`, `runs` and `plot` all ask here, so they never disagree."""

from __future__ import annotations

import os
import re
from pathlib import Path

from gdlab.errors import GdlabError

RUN_FILES = ("metrics.csv", "summary.json")
SWEEP_FILE = "sweep.csv"
SWEEP_YAML = "sweep.yaml"  # written first: a sweep stopped or still starting may have no sweep.csv yet
LRFIND_FILES = ("lr_find.csv", "lr_find.json")
KINDS = "a run folder (metrics.csv), a sweep folder (sweep.csv) or an lr-find folder (lr_find.csv)"
KIND_FILES = (*RUN_FILES, SWEEP_FILE, SWEEP_YAML)  # the files whose presence says what a folder is
VARIANT_NAME = re.compile(r"\d{3,}(_|$)")  # a sweep's variant folder: 000_lr=0.1, or 000 with no axis


def folder_in_place(folder: Path, names: tuple[str, ...] = KIND_FILES) -> Path | None:
    """The first of `names` that is a folder inside `folder` where gdlab keeps a file of that name (else None):
    every probe would take it for a missing file, and a write onto it fails half-way."""
    return next((folder / name for name in names if (folder / name).is_dir()), None)


def in_place_problem(path: Path) -> str:
    """One line for a folder found where gdlab keeps the file `path`: which, and what to do."""
    return f"{path}: is a folder, where gdlab keeps its {path.name} file; move it away or remove it"


def is_sweep_folder(folder: Path) -> bool:
    """Whether `folder` holds a sweep.yaml as gdlab sweep writes it: a mapping with the base config and the axes,
    what --resume rebuilds the sweep from. Another tool's sweep.yaml (a W&B sweep config, say) or a broken one is not."""
    if not (folder / SWEEP_YAML).is_file():
        return False
    data, problem = _read_sweep_yaml(folder)
    return problem is None and isinstance(data, dict) and isinstance(data.get("base"), dict) \
        and isinstance(data.get("axes"), dict)


def broken_sweep_yaml(folder: Path) -> str | None:
    """Why the folder's sweep.yaml cannot be read (not YAML, not UTF-8, too large), else None."""
    return _read_sweep_yaml(folder)[1]


def _read_sweep_yaml(folder: Path) -> tuple[object, str | None]:
    from gdlab.yamlio import read_yaml_file  # yaml only, and only where a folder has a sweep.yaml

    try:
        return read_yaml_file(folder / SWEEP_YAML)[0], None
    except GdlabError as exc:
        return None, exc.message


def kind_of(folder: Path) -> str | None:
    """'sweep' if the folder has sweep.csv beside gdlab's sweep.yaml, 'run' if metrics.csv or summary.json,
    'lr-find' if lr_find.csv or lr_find.json, else None (a probe's OSError propagates)."""
    # A sweep.csv alone is a name any tool may write (a results table exported beside a project's runs):
    # only gdlab's sweep.yaml, written before anything else, makes the folder a sweep.
    if (folder / SWEEP_FILE).is_file() and is_sweep_folder(folder):
        return "sweep"
    if any((folder / name).is_file() for name in RUN_FILES):
        return "run"
    if any((folder / name).is_file() for name in LRFIND_FILES):
        return "lr-find"
    return None


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
            kind = kind_of(folder) or ("sweep" if is_sweep_folder(folder) else None)
            blocked = folder_in_place(folder) if warnings is not None else None
            if blocked is not None and not (kind == "run" and blocked.name == "summary.json"):  # its row warns of that
                warnings.append(in_place_problem(blocked) + ("" if kind else "; so it is not listed as a run or a sweep"))
            if kind is None and warnings is not None and (folder / SWEEP_FILE).is_file() \
                    and (folder / SWEEP_YAML).is_file() and (broken := broken_sweep_yaml(folder)):
                # a sweep whose sweep.yaml broke would vanish without a word, its variants listed as runs
                # (another tool's readable sweep.yaml beside a sweep.csv of its own is no gdlab sweep: no warning)
                warnings.append(f"{broken}; {folder} is not listed as a sweep")
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
