"""`gdlab sweep --resume`: the sweep rebuilt from its folder, the options it ran with carried over, and what
is left to run (or, with --dry-run, printed)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path


def resume_plan(console, session: ExitStack, folder: Path, dry_run: bool, jobs: int, given: dict):
    """(setup, todo, done, (sharpness, vectorize, max_group, rank_by, prune)), or None after printing a dry run.
    `given` holds this command line's sharpness, vectorize, max_group, rank_by, backend, ray_address and expect
    (its --expect and --expect-each bars, judged when the sweep ends)."""
    from gdlab.sweep import run as sweep_run
    from gdlab.sweep.grouping import group_variants, spread
    from gdlab.sweep.rank import RANKABLE, check_rank_by
    from gdlab.errors import GdlabError
    from gdlab.sweep.resume import (check_unchanged, check_variant_files, clear_unfinished, load_setup, split_done,
                                    store_option)

    setup = load_setup(folder)
    check_variant_files(setup, folder)  # before anything is locked, stored or cleared
    # what the sweep recorded (--sharpness) and how it grouped variants carry over, so a resumed sweep
    # gives what an uninterrupted one would (up to float32 rounding: its reruns may form other groups, and
    # another group size sums in another order); --jobs and --backend are this run's choice
    stored = sweep_run.stored_options(folder)
    sharpness = given["sharpness"] or bool(stored.get("sharpness"))
    vectorize = given["vectorize"] or stored.get("vectorize") or "auto"
    max_group = given["max_group"] if given["max_group"] is not None else stored.get("max_group")
    given_rank = given["rank_by"]
    rank_by = given_rank or (stored.get("rank_by") if stored.get("rank_by") in RANKABLE else None)
    check_rank_by(rank_by, (p.cfg for p in setup.plans))
    from gdlab.sweep.expect_best import check_sweep_applicable

    check_sweep_applicable(given["expect"], [p.cfg for p in setup.plans], sharpness)
    if not dry_run:
        from gdlab.folder_lock import sweep_lock

        session.enter_context(sweep_lock(folder))  # before half-written variants are cleared
    check_unchanged(setup, folder)
    todo, done = split_done(setup, folder)
    if todo:  # the data, shapes and device the reruns need, checked before their folders (and rows) are cleared
        from gdlab.sweep.preflight import preflight

        preflight(setup, todo)
    # only the rerun variants would measure it: a half-empty init_sharpness column, and a stability edge in
    # the plot taken from whichever variants happened to be rerun
    if given["sharpness"] and not stored.get("sharpness") and done:
        raise GdlabError(f"--sharpness: the sweep in {folder} ran without it, and its finished variants have no "
                         "init_sharpness; start a new sweep with --sharpness")
    groups = spread(group_variants(todo, vectorize, max_group), jobs) if todo else []
    from gdlab.sweep.prune_plan import resume_pruning

    # pruned as it began, its reruns in this process; refused before anything below stores an option in sweep.yaml
    prune = resume_pruning(folder, groups, jobs, given["backend"])
    if not dry_run and given["backend"] == "ray":
        # connected before anything is stored or cleared: a Ray that cannot be had leaves all as it was
        from gdlab.sweep.backends import ray_session

        session.enter_context(ray_session(given["ray_address"]))
    if not dry_run and given["sharpness"] and not stored.get("sharpness"):
        store_option(folder, "sharpness", True)  # nothing finished yet: from now on the sweep measures it
    # a re-rank sticks (the plot follows), once the resume is sure to go ahead: a refused one changes nothing
    if not dry_run and given_rank is not None and given_rank != stored.get("rank_by"):
        store_option(folder, "rank_by", given_rank)
    if dry_run:
        from gdlab.cli.streams import print_fitted
        from gdlab.cli.sweep_view import grid_table

        print_fitted(console, grid_table(setup, groups, f"--resume would rerun {len(todo)} of {len(setup.plans)} variants "
                                                       f"in {len(groups)} batched group(s) — nothing run (--dry-run)", prune))
        return None
    clear_unfinished(folder, todo)
    return setup, todo, done, (sharpness, vectorize, max_group, rank_by, prune)
