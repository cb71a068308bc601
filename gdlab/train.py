"""`train(config)`: one run, which is a group of one. Plain Python; the CLI only parses and prints."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from gdlab.config import Config
from gdlab.data import Dataset
from gdlab.engine.batches import plateau_note
from gdlab.engine.step_record import StepRecord
from gdlab.errors import GdlabError, EXIT_DIVERGED, EXIT_FAILED, EXIT_OK
from gdlab.expect import Expectation, check_all, check_applicable, wants_init_sharpness
from gdlab.files import path_error, show
from gdlab.folder_kinds import folder_in_place, in_place_problem, is_sweep_folder
from gdlab.folder_lock import FolderTaken, new_folder_lock, run_folder_lock
from gdlab.rundir import create_run_dir
from gdlab.run_cleanup import discard_unstarted, own_temp_files
from gdlab.runner import Variant, prepare_data, resolve_device, run_group
from gdlab.signals import StopFlag, graceful_stop

RESUMED_FILES = ("config.yaml", "metrics.csv", "summary.json", "checkpoint.pt", "checkpoint.prev.pt", "model.pt")


@dataclass
class TrainResult:
    run_dir: Path
    summary: dict
    exit_code: int
    failures: list[str]


def train(
    cfg: Config,
    run_dir: Path | str | None = None,
    runs_root: Path | str = "runs",
    overrides: list[str] | tuple[str, ...] = (),
    observers: Iterable[Callable[[StepRecord], None]] = (),
    expect: list[Expectation] = (),
    on_start: Callable[[Path, int], None] | None = None,
    data: Dataset | None = None,
    notes: bool = True,
) -> TrainResult:
    """Train one config (on `data` if `smoke` loaded it) into a new run folder; input errors come before the folder.
    `notes`: say on stderr what the config can never do at this run's length (not for --smoke's few steps)."""
    check_applicable(expect, cfg)
    data = prepare_data(cfg, loaded=data)
    if notes and (note := plateau_note(cfg, data.x_train.shape[0])):
        sys.stderr.write(f"gdlab: note: {note}\n")
    device = resolve_device(cfg.train.device)
    # The handlers go in before the folder exists: a signal in between killed gdlab and left an empty folder.
    with graceful_stop() as stop:
        folder = create_run_dir(cfg.name, runs_root, run_dir)
        try:
            with new_folder_lock(folder, fresh=run_dir is not None):
                if stop():  # asked to stop before anything was written
                    raise GdlabError("interrupted before training began; no run folder is left", stop.exit_code)
                if on_start:
                    on_start(folder, _total_steps(cfg, data))
                summary = run_group([Variant(cfg, folder, list(overrides))], [data], device, observers, should_stop=stop,
                                    measure_init_sharpness=wants_init_sharpness(expect))[0]
        except FolderTaken:  # never remove what the other process is writing
            raise
        except GdlabError:
            # e.g. a full disk while writing config.yaml or metrics.csv's header: no half-made folder stays
            discard_unstarted(folder, rowless=("metrics.csv",))
            raise
    failures = check_all(expect, summary, folder)
    return TrainResult(folder, summary, _exit_code(summary, stop, failures), failures)


def resume_folder(run_dir: Path | str) -> Path:
    """The run folder `--resume` names, refused in one line unless it holds a run that can go on."""
    import json

    folder = Path(run_dir)
    try:
        if not folder.exists():
            raise GdlabError(f"--resume {show(folder)}: no such run folder")
        if not folder.is_dir():
            raise GdlabError(f"--resume {show(folder)}: a file, not a run folder")
        # gdlab's sweep.yaml by its content, as runs and plot know it: a W&B sweep.yaml in a project folder
        # makes neither that folder nor the runs made in it a sweep
        if is_sweep_folder(folder):
            raise GdlabError(f"--resume {show(folder)}: this is a sweep folder: use gdlab sweep --resume {show(folder)}")
        if (folder / "lr_find.csv").is_file():  # its config.yaml is the range test's, with no checkpoint to go on from
            raise GdlabError(f"--resume {show(folder)}: this is an lr-find folder, which cannot be resumed; "
                             "run gdlab lr-find again")
        if is_sweep_folder(folder.parent):  # a sweep's variants write no checkpoints (see run_group)
            raise GdlabError(f"--resume {show(folder)}: a variant of the sweep {show(folder.parent)}, which keeps no "
                             f"checkpoint; gdlab sweep --resume {show(folder.parent)} reruns what did not finish")
        blocked = folder_in_place(folder, RESUMED_FILES)  # else read as missing, or refused only after training
        if blocked is not None:
            raise GdlabError(f"--resume {show(folder)}: {in_place_problem(blocked)}")
        if not (folder / "config.yaml").is_file():
            raise GdlabError(f"--resume {show(folder)}: no config.yaml there; is it a gdlab run folder?")
        if not os.access(folder, os.W_OK | os.X_OK):  # else refused only at its metrics.csv, as a runtime failure
            raise GdlabError(f"--resume {show(folder)}: the run folder is not writable (read-only, or another "
                             "user's); copy it somewhere writable and resume the copy")
    except OSError as exc:  # too long a path, a link loop, a folder we may not enter
        raise path_error("--resume", folder, exc, "cannot read the run folder") from None
    try:
        status = json.loads((folder / "summary.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        status = None  # killed before it could write one: resumable
    if status in ("completed", "diverged"):
        raise GdlabError(f"--resume {show(folder)}: the run already {status}; nothing to resume")
    return folder


def resume(
    run_dir: Path | str,
    observers: Iterable[Callable[[StepRecord], None]] = (),
    expect: list[Expectation] = (),
    on_start: Callable[[Path, int], None] | None = None,
) -> TrainResult:
    """Continue an interrupted or crashed run from its last checkpoint, in its own folder, which no other
    process may be training meanwhile."""
    folder = resume_folder(run_dir)
    with run_folder_lock(folder, f"--resume {show(folder)}: this run is training now in another gdlab process; "
                                 "let it finish or stop it (Ctrl-C), then --resume"):
        return _resume_locked(resume_folder(folder), observers, expect, on_start)  # checked again, now alone


def _resume_locked(folder: Path, observers, expect, on_start) -> TrainResult:
    import yaml

    from gdlab.checkpoint import check_config_unchanged, load_checkpoint
    from gdlab.loading import load_config

    cfg = load_config(folder / "config.yaml")
    check_applicable(expect, cfg, resuming=True)
    state = load_checkpoint(folder)
    check_config_unchanged(folder, state.get("config"), cfg.resolved(), state["step"])
    data = prepare_data(cfg, resumed=True)
    if _total_steps(cfg, data) < state["step"]:
        raise GdlabError(f"--resume {show(folder)}: config.yaml's run is {_total_steps(cfg, data)} steps, but its checkpoint "
                         f"is at step {state['step']} already; set train.steps (or epochs) beyond it")
    device = resolve_device(cfg.train.device)
    try:
        overrides = yaml.safe_load((folder / "overrides.yaml").read_text()) or []
    except (OSError, yaml.YAMLError):
        overrides = []
    for stale in own_temp_files(folder):  # a killed write's temp files, ours alone now (snapshots/ too)
        stale.unlink(missing_ok=True)
    if on_start:
        on_start(folder, _total_steps(cfg, data))
    with graceful_stop() as stop:
        summary = run_group([Variant(cfg, folder, overrides)], [data], device, observers, should_stop=stop, resume=state,
                            measure_init_sharpness=wants_init_sharpness(expect))[0]
    failures = check_all(expect, summary, folder)
    return TrainResult(folder, summary, _exit_code(summary, stop, failures), failures)


def _total_steps(cfg: Config, data) -> int:
    from gdlab.engine.batches import BatchPlan

    return BatchPlan.from_config(cfg.train, data.x_train.shape[0]).total_steps


def _exit_code(summary: dict, stop: StopFlag, failures: list[str]) -> int:
    status = summary["status"]
    if status == "interrupted":
        return stop.exit_code
    if status == "failed":
        return EXIT_FAILED
    if status == "diverged":
        return EXIT_DIVERGED
    return EXIT_FAILED if failures else EXIT_OK
