"""`runs`: one row per run or sweep folder under a root, from summary.json / sweep.csv, with metrics.csv
as the fallback for a run that has no summary yet (still going, or killed)."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from gdlab.errors import GdlabError, shorten
from gdlab.files import file_in_the_way
from gdlab.folder_lock import LOCK_NAME, locked_now
from gdlab.folder_kinds import SWEEP_FILE, SWEEP_YAML, find_folders, is_sweep_folder, kind_of
from gdlab.plotting.folders import folder_time, parse_time, path_error
from gdlab.plotting.load import load_sweep
from gdlab.plotting.lrfind_data import lrfind_row
from gdlab.plotting.readers import NoRowsYet, finite_number as _number, read_config, read_metrics, read_summary
from gdlab.sweep.grid import grid_size, joint_axes

COLUMNS = ("name", "when", "kind", "status", "final_train_loss", "best_val_loss", "steps", "path")


def _status(value: Any) -> str | None:
    """A status as gdlab writes it (a non-empty word), else None: JSON null, a number, an empty sweep.csv cell
    (which pandas reads as NaN) would otherwise show as 'None', '5' or 'nan'."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def _run_row(folder: Path, warnings: list[str], live: bool = False) -> dict[str, Any]:
    """`live`: a process trains the run now, so its numbers come from metrics.csv: a resumed run's summary.json
    is the one its interruption wrote, and its steps stay there while the run goes on."""
    summary, notes = read_summary(folder / "summary.json")
    config, more = read_config(folder / "config.yaml")
    warnings.extend(notes + more)
    row = {"name": (summary or {}).get("name") or (config or {}).get("name") or folder.parent.name,
           "when": parse_time((summary or {}).get("started_at")) or folder_time(folder), "kind": "run"}
    if summary is not None and not live:
        steps, status = summary.get("steps"), _status(summary.get("status"))
        if status is None:
            got = f"status {shorten(repr(summary['status']))} is not a word" if "status" in summary else "no status"
            warnings.append(f"{folder / 'summary.json'}: {got}; shown as unknown")
        return row | {"status": status or "unknown",
                      "final_train_loss": _number(summary.get("final_train_loss")),
                      "best_val_loss": _number(summary.get("best_val_loss")),
                      "steps": steps if isinstance(steps, int) and not isinstance(steps, bool) else None}
    try:
        metrics, notes = read_metrics(folder / "metrics.csv")
    except NoRowsYet:  # just started, or killed before its first row: nothing is wrong with the file
        return row | {"status": "no summary", "final_train_loss": None, "best_val_loss": None, "steps": 0}
    except GdlabError as exc:
        warnings.append(exc.message)
        return row | {"status": "unreadable", "final_train_loss": None, "best_val_loss": None, "steps": None}
    warnings.extend(notes)
    val = metrics["val_loss"] if "val_loss" in metrics else None
    best = val[val.map(math.isfinite)].min() if val is not None else None
    # No summary.json (or one from before a --resume): the run is still going or was killed before it could write one.
    return row | {"status": "no summary", "final_train_loss": _number(metrics["train_loss"].iloc[-1]),
                  "best_val_loss": _number(best), "steps": int(metrics["step"].iloc[-1])}


def _sweep_row(folder: Path, warnings: list[str], running: bool | None) -> dict[str, Any]:
    row = {"when": folder_time(folder), "kind": "sweep"}
    if not (folder / SWEEP_FILE).is_file():
        return row | _unwritten_sweep_row(folder, warnings, running)
    try:
        sweep = load_sweep(folder, warnings, curves=False)
    except GdlabError as exc:
        warnings.append(exc.message)
        return row | {"name": folder.parent.name, "status": "unreadable", "final_train_loss": None,
                      "best_val_loss": None, "steps": None, "statuses": None}  # --json: the key is always there
    table = sweep.table
    statuses = [_status(value) for value in table["status"]]
    if None in statuses:
        warnings.append(f"{folder / 'sweep.csv'}: {statuses.count(None)} row(s) have no readable status; "
                        "counted as unknown")
    steps = list(table["steps"]) if "steps" in table and table["steps"].dtype != object else None
    if running and "run_dir" in table:  # sweep.csv is rewritten as groups end: the one training now reads pending
        training = [s == "pending" and isinstance(d, str) and _training(folder / d) for s, d in zip(statuses, table["run_dir"])]
        statuses = ["running" if now else s for s, now in zip(statuses, training)]
        if steps is not None:  # its cells are empty till then: its steps so far, as `runs SWEEP/001_x` reads them
            steps = [_run_row(folder / d, warnings, live=True)["steps"] if now else n
                     for n, d, now in zip(steps, table["run_dir"], training)]
    counts = Counter(status or "unknown" for status in statuses)
    status = ", ".join(f"{n} {s}" for s, n in counts.most_common())

    def best(column: str) -> float | None:
        """The best over finished variants: an interrupted one's partial loss is not a result of the sweep."""
        if column not in table or table[column].dtype == object:
            return None
        values = [v for v, s in zip(table[column], statuses) if s == "completed" and _number(v) is not None]
        return min(values) if values else None

    steps = sum(n for n in steps if _number(n) is not None) if steps is not None else None  # empty cells: pending
    # sweep.yaml's creation time, as a run's started_at: a --run-dir folder has no stamp, and its mtime
    # moves whenever something (gdlab plot) writes into it
    row["when"] = parse_time((sweep.config or {}).get("created_at")) or row["when"]
    return row | {"name": (sweep.config or {}).get("name") or folder.parent.name,
                  "status": f"{len(table)} variant{'' if len(table) == 1 else 's'}: {status}",
                  "final_train_loss": best("final_train_loss"),
                  "best_val_loss": best("best_val_loss"), "steps": int(steps) if _number(steps) is not None else None,
                  "statuses": dict(counts.most_common())}  # for `runs --json`: the counts without parsing prose


def _training(variant: Path) -> bool:
    """Whether a variant of a running sweep trains now, as `runs` of that variant alone tells: its group wrote
    its metrics.csv, and it has no summary yet (a variant not started has an empty folder, or none)."""
    try:
        return kind_of(variant) == "run" and not (variant / "summary.json").is_file()
    except OSError:
        return False


def _unwritten_sweep_row(folder: Path, warnings: list[str], running: bool | None) -> dict[str, Any]:
    """A sweep with sweep.yaml and no sweep.csv (stopped before writing it, or still starting), from its variant
    folders: a variant without a summary is pending while the sweep runs, else interrupted."""
    config, notes = read_config(folder / SWEEP_YAML)
    warnings.extend(notes)
    config = config if isinstance(config, dict) else {}
    axes, sampling = config.get("axes"), config.get("sampling")
    # a random search's drawn axes count once, together, as the sweep plans them
    planned = grid_size(axes, joint_axes(axes, sampling if isinstance(sampling, dict) else None)) if isinstance(
        axes, dict) and all(isinstance(v, list) for v in axes.values()) else 0
    try:
        # a folder where sweep.csv belongs is no variant (find_folders warned of it)
        variants = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name != SWEEP_FILE)
    except OSError as exc:
        warnings.append(f"{folder}: cannot look inside ({exc.strerror or exc}); its variants are not counted")
        variants = []
    unfinished = "interrupted" if running is False else "pending"
    rows = [_run_row(d, warnings) if kind_of(d) == "run" else {"status": "no summary", "steps": 0} for d in variants]
    statuses = [("running" if running and _training(d) else unfinished) if r["status"] == "no summary" else r["status"]
                for r, d in zip(rows, variants)]
    statuses += [unfinished] * (planned - len(statuses))
    counts = Counter(statuses)

    def best(column: str) -> float | None:
        values = [r[column] for r, s in zip(rows, statuses) if s == "completed" and r.get(column) is not None]
        return min(values) if values else None

    steps = [r["steps"] for r in rows]
    return {"name": config.get("name") or folder.parent.name,
            "when": parse_time(config.get("created_at")) or folder_time(folder),
            "status": f"{len(statuses)} variant{'' if len(statuses) == 1 else 's'}: "
                      + ", ".join(f"{n} {s}" for s, n in counts.most_common()) + f" (no {SWEEP_FILE})",
            "final_train_loss": best("final_train_loss"), "best_val_loss": best("best_val_loss"),
            "steps": None if None in steps else sum(steps), "statuses": dict(counts.most_common())}


def list_runs(root: Path, warnings: list[str]) -> list[dict[str, Any]]:
    """Rows (dicts with COLUMNS) for every run, sweep and lr-find folder under root, oldest first."""
    try:
        exists, is_dir = root.exists(), root.is_dir()
    except OSError as exc:  # ENAMETOOLONG, EACCES: pathlib swallows only "does not exist"
        raise path_error(root, exc, "list runs there") from None
    if not exists:
        raise GdlabError(f"{root}: no such directory" + (file_in_the_way(root) or " (train something first, or give the runs folder)"))
    if not is_dir:
        raise GdlabError(f"{root}: not a directory; give the folder that holds run, sweep or lr-find folders")
    rows, found = [], find_folders(root, warnings)
    # A run's folder, or a sweep's lock file, that a process holds a lock on is training now, not dead
    lock_of = {folder: folder / LOCK_NAME if kind == "sweep" else folder for kind, folder in found if kind != "lr-find"}
    # A sweep's variant listed on its own (`runs SWEEP/000_x`) trains under its sweep's lock, not one of its own
    # (each parent's sweep.yaml read once: `runs SWEEP/*` lists all its variants under one parent)
    sweeps = {parent for parent in {folder.parent for kind, folder in found if kind == "run"} if is_sweep_folder(parent)}
    sweep_lock_of = {folder: folder.parent / LOCK_NAME for kind, folder in found if kind == "run" and folder.parent in sweeps}
    held = locked_now(list(lock_of.values()) + list(sweep_lock_of.values()))
    for kind, folder in found:
        # --json: true or false where the kernel says (Linux), null where it cannot be told (or an lr-find)
        running = None if held is None or folder not in lock_of else lock_of[folder] in held
        if running is False and folder in sweep_lock_of:  # its sweep runs: trained now or next, until its summary
            running = sweep_lock_of[folder] in held and not (folder / "summary.json").is_file()
        if kind == "sweep":
            row = _sweep_row(folder, warnings, running)
        else:
            row = _run_row(folder, warnings, bool(running)) if kind == "run" else lrfind_row(folder, warnings)
        row["running"] = running
        if row["running"]:
            row["status"] = "running" if kind == "run" else f"running, {row['status']}"
        if not isinstance(row["name"], str):  # a hand-edited file's `name: 5` or `[x]`: the folder names it
            row["name"] = folder.parent.name
        extra = {key: value for key, value in row.items() if key not in COLUMNS}  # `runs --json` fields
        rows.append({key: row[key] for key in COLUMNS[:-1]} | {"path": str(folder)} | extra)
    rows.sort(key=lambda r: (r["when"], natural_key(r["path"]), r["path"]))
    return rows


def natural_key(text: str) -> list:
    """Sort key reading digit runs as numbers: runs started in the same second (`x`, `x_2` … `x_10`) list in
    the order they were made, not `x_10` before `x_2`."""
    # re.split with a group alternates text and digits, starting with text, so like positions compare alike
    return [int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", text))]
