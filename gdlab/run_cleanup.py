"""What a rerun, a resume or a run that never started removes from a run folder: gdlab's own files and the
temp files of its killed writes, and nothing else, so a user's notes beside them survive."""

from __future__ import annotations

import re
from pathlib import Path

from gdlab.folder_lock import LOCK_NAME, locked_now

HEADER_FILES = ("config.yaml", "overrides.yaml")


def _leftovers_only(names: list[str], disposable: tuple[str, ...], folder: Path, rowless: tuple[str, ...] = ()) -> bool:
    """Whether `names` are only `disposable` files, `rowless` CSVs with no row yet and temp files of killed writes."""
    return all(n in disposable or (n in rowless and _holds_no_row(folder / n))
               or (n.startswith(".") and n.endswith(".tmp")) for n in names)


def _holds_no_row(path: Path) -> bool:
    """Whether a CSV holds its header at most (a write refused at the header or the first row): no step recorded."""
    try:
        with open(path, "rb") as fh:
            return fh.read(1 << 16).count(b"\n") <= 1
    except OSError:
        return False


def discard_unstarted(folder: Path, disposable: tuple[str, ...] = HEADER_FILES, rowless: tuple[str, ...] = ()) -> None:
    """Remove a run folder that holds nothing but `disposable` files (its header, a sweep's lock), `rowless` CSVs
    with no row yet and temp files: a run that never started leaves no folder. One with anything else
    (a row of metrics, a checkpoint) is kept."""
    try:
        names = [p.name for p in folder.iterdir()]
        if _leftovers_only(names, disposable, folder, rowless):
            for n in names:
                (folder / n).unlink(missing_ok=True)
            folder.rmdir()
    except OSError:
        pass  # best effort: the error being reported matters more


def killed_before_start(folder: Path) -> list[str]:
    """The names in `folder` when they are only a sweep's lock and temp files, held by no process (`kill -9`
    within milliseconds of its mkdir leaves them: signals are handled, a kill is not); else []. What
    discard_unstarted would have removed, had the sweep lived to."""
    names = sorted(p.name for p in folder.iterdir())
    return names if _leftovers_only(names, (LOCK_NAME,), folder) and not locked_now([folder, folder / LOCK_NAME]) else []


# What gdlab writes in a run folder, plots at their default names included: a rerun clears these and nothing
# else, so notes a user keeps beside them survive.
OWN_FILES = (*HEADER_FILES, "metrics.csv", "summary.json", "model.pt", "error.log", "checkpoint.pt",
             "checkpoint.prev.pt", "loss.png", "boundary.png", "boundary_snapshots.png")
SNAPSHOT_NAME = re.compile(r"step_(\d+)\.pt")  # snapshots/step_0000100.pt (run_files.save_snapshots)


def is_own_temp(name: str, own: tuple[str, ...] = OWN_FILES) -> bool:
    """Whether `name` is the temp file a killed write of one of gdlab's files left (`.<file>.<random>.tmp`,
    or `.<file>.partial`)."""
    return name.endswith((".tmp", ".partial")) and any(name.startswith(f".{n}.") for n in own)


def own_temp_files(folder: Path) -> list[Path]:
    """The temp files killed writes of gdlab's files left in a run folder and its snapshots/ (a user's own
    .tmp files are not among them)."""
    snapshots = folder / "snapshots"
    found = [p for p in folder.iterdir() if is_own_temp(p.name) and (p.is_file() or p.is_symlink())]
    if snapshots.is_dir() and not snapshots.is_symlink():
        found += [p for p in snapshots.iterdir() if p.name.startswith(".step_") and p.name.endswith(".tmp")]
    return found


def clear_run_files(folder: Path) -> None:
    """Remove what gdlab wrote in a run folder (its files, snapshots/, default plots, temp files of its writes)
    and keep anything else there: a rerun starts afresh without deleting the user's files."""
    for path in own_temp_files(folder) + [p for p in folder.iterdir() if p.name in OWN_FILES]:
        if path.is_file() or path.is_symlink():
            path.unlink()
    snapshots = folder / "snapshots"
    if snapshots.is_dir() and not snapshots.is_symlink():
        for path in snapshots.iterdir():
            if path.is_file() and SNAPSHOT_NAME.fullmatch(path.name):
                path.unlink()
        if not any(snapshots.iterdir()):
            snapshots.rmdir()
