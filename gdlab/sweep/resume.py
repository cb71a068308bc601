"""Resuming a sweep: its plan rebuilt from sweep.yaml, and the checks that the folder still holds that
sweep (a sweep.yaml edited since it ran would mix two sweeps in one table)."""

from __future__ import annotations

import json
from pathlib import Path

from gdlab.config.overrides import parse_override
from gdlab.errors import GdlabError
from gdlab.run_cleanup import killed_before_start
from gdlab.sweep.execute import DONE, summary_on_disk
from gdlab.sweep.plan import VariantPlan, plan_variants
from gdlab.sweep.grid import joint_axes
from gdlab.sweep.setup import SweepSetup
from gdlab.sweep.sweep_file import check_sweep_file
from gdlab.yamlio import read_yaml_file


def variant_status(run_dir: Path) -> str:
    summary = summary_on_disk(run_dir)
    return "unfinished" if summary is None else summary.get("status", "unknown")


def load_setup(sweep_dir: Path) -> SweepSetup:
    """Rebuild a sweep from its sweep.yaml (for --resume)."""
    from gdlab.files import path_error, show
    from gdlab.folder_kinds import folder_in_place, in_place_problem, is_sweep_folder

    path = sweep_dir / "sweep.yaml"
    try:
        if not sweep_dir.exists():
            raise GdlabError(f"--resume {show(sweep_dir)}: no such sweep folder")
        if not sweep_dir.is_dir():
            raise GdlabError(f"--resume {show(sweep_dir)}: a file, not a sweep folder")
        blocked = folder_in_place(sweep_dir, ("sweep.yaml", "sweep.csv"))  # else read as missing, or fails mid-write
        if blocked is not None:
            raise GdlabError(f"--resume {show(sweep_dir)}: {in_place_problem(blocked)}")
        if not path.is_file():
            if (sweep_dir / "lr_find.csv").is_file():
                raise GdlabError(f"--resume {show(sweep_dir)}: this is an lr-find folder, not a sweep folder; "
                                 "it cannot be resumed: run gdlab lr-find again")
            if is_sweep_folder(sweep_dir.parent):  # a variant: it keeps no checkpoint for gdlab train --resume
                raise GdlabError(f"--resume {show(sweep_dir)}: a variant of the sweep {show(sweep_dir.parent)}, "
                                 f"not the sweep folder; gdlab sweep --resume {show(sweep_dir.parent)} reruns "
                                 "what did not finish")
            if (sweep_dir / "config.yaml").is_file():
                raise GdlabError(f"--resume {show(sweep_dir)}: this is a run folder, not a sweep folder; a run that "
                                 f"can go on resumes with gdlab train --resume {show(sweep_dir)}")
            if sweep_dir.is_dir() and (leftovers := killed_before_start(sweep_dir)):
                raise GdlabError(f"--resume {show(sweep_dir)}: a sweep killed before it wrote sweep.yaml left only "
                                 f"{', '.join(leftovers)}; nothing to resume: remove the folder and run the sweep again")
            raise GdlabError(f"--resume {show(sweep_dir)}: no sweep.yaml there; is it a sweep folder?")
    except OSError as exc:  # too long a path, a link loop, a folder we may not enter
        raise path_error("--resume", sweep_dir, exc, "cannot read the sweep folder") from None
    data, _ = read_yaml_file(path)
    check_sweep_file(data, str(path))
    texts = data.get("fixed_overrides") or []
    fixed = [(parse_override(t)[0], t) for t in texts]  # for the rerun variants' overrides.yaml
    sampling = data.get("sampling")  # drawn once, kept
    joint = joint_axes(data["axes"], sampling)
    return SweepSetup(data.get("config", str(path)), data["base"], data["axes"],
                      plan_variants(data["base"], data["axes"], str(path), fixed, joint), [], texts, sampling)


VARIANT_FILES = ("config.yaml", "overrides.yaml", "metrics.csv", "summary.json", "model.pt")


def check_variant_files(setup: SweepSetup, folder: Path) -> None:
    """Refuse a variant that is a file or a link, or a folder in place of a variant's file, as gdlab train
    --resume does a run's: each reads as unfinished, and its rerun would remove it (what a link points to is
    elsewhere, the user's) or fail half-way."""
    from gdlab.files import path_error, show
    from gdlab.folder_kinds import folder_in_place, in_place_problem

    for p in setup.plans:
        variant = folder / p.dir_name
        try:
            other = "a link" if variant.is_symlink() else "a file" if variant.exists() and not variant.is_dir() else None
            if other is not None:
                raise GdlabError(f"--resume {show(folder)}: {show(variant)}: {other}, not a variant folder; gdlab keeps "
                                 "each variant in a folder of its own: move it away")
            blocked = folder_in_place(variant, VARIANT_FILES)
        except OSError as exc:  # a variant folder we may not enter
            raise path_error("--resume", variant, exc, "cannot read the variant folder") from None
        if blocked is not None:
            raise GdlabError(f"--resume {show(folder)}: {in_place_problem(blocked)}")


def check_unchanged(setup: SweepSetup, folder: Path) -> None:
    """Refuse a resume after sweep.yaml was edited: every variant folder must belong to a planned variant,
    and a finished one's config.yaml must be what the sweep now plans for it (keys a newer gdlab added aside)."""
    from gdlab.flatkeys import describe_changes, flatten
    from gdlab.folder_kinds import VARIANT_NAME

    planned = {p.dir_name: p for p in setup.plans}
    for run in sorted(folder.iterdir()):
        if not (run.is_dir() and VARIANT_NAME.match(run.name)):
            continue
        plan = planned.get(run.name)
        if plan is None:
            raise GdlabError(f"--resume {folder}: the variant folder {run.name} is not in the grid sweep.yaml now "
                             "describes (was sweep.yaml edited?); resuming would mix two sweeps: start a new one")
        if variant_status(run) not in DONE or not (run / "config.yaml").is_file():
            continue
        try:
            saved = flatten(read_yaml_file(run / "config.yaml")[0] or {})
        except GdlabError:
            continue  # unreadable: the summary still stands; the plot and runs views say what they can
        now = flatten(plan.cfg.resolved())
        changed = [k for k in saved if k in now and repr(saved[k]) != repr(now[k])]
        if changed:
            raise GdlabError(f"--resume {folder}: sweep.yaml now plans variant {run.name} differently from how it ran "
                             f"({describe_changes(saved, now, changed)}); resuming would rank runs of different "
                             "settings together: start a new sweep")


def split_done(setup: SweepSetup, folder: Path) -> tuple[list[VariantPlan], dict[int, dict]]:
    """(variants to rerun, summaries of those done by index)."""
    todo, done = [], {}
    for p in setup.plans:
        run = folder / p.dir_name
        if variant_status(run) in DONE:
            done[p.index] = json.loads((run / "summary.json").read_text())
        else:
            todo.append(p)
    return todo, done


def clear_unfinished(folder: Path, todo: list[VariantPlan]) -> None:
    """Remove gdlab's half-written files from the folders of the variants to rerun, so each restarts from
    scratch and is never half-merged; files the user put there stay."""
    from gdlab.run_cleanup import clear_run_files

    for p in todo:
        if (folder / p.dir_name).is_dir():
            clear_run_files(folder / p.dir_name)


def store_option(folder: Path, key: str, value) -> None:
    """Record an option chosen on resume (`--rank-by`) in sweep.yaml, the rest as it was: the plot's star and
    the next resume follow it."""
    from gdlab.rundir import write_atomic
    from gdlab.yamldump import dump_yaml

    doc, _ = read_yaml_file(folder / "sweep.yaml")
    if isinstance(doc, dict):
        options = doc.get("options") if isinstance(doc.get("options"), dict) else {}
        doc["options"] = {**options, key: value}
        write_atomic(folder / "sweep.yaml", dump_yaml(doc))
