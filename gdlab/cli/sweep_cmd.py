"""`gdlab sweep`: parse, plan, run, rank. The work happens in gdlab.sweep; this module only talks."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Optional

import typer

from gdlab.cli.app import RunsOption, command, runs_folder
from gdlab.errors import GdlabError
from gdlab.io_pool import io_threads


@command("sweep")
def sweep_command(
    config: Annotated[Optional[Path], typer.Argument(help="base YAML config (omit with --resume)", show_default=False)] = None,
    axes: Annotated[Optional[list[str]], typer.Argument(help="axes: key=a,b,c | key=logspace(a,b,n) | linspace | range | loguniform(a,b) | uniform | randint | choice (drawn, with --samples); one value = fixed override", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the grid and its batched groups; run nothing")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="parallel local worker processes")] = 1,
    backend: Annotated[str, typer.Option("--backend", help="local | ray")] = "local",
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Ray cluster: auto | host:port | ray://host:10001 (default: start a local Ray)")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="finish a sweep folder: rerun what is unfinished or failed")] = None,
    run_dir: Annotated[Optional[str], typer.Option("--run-dir", help="exact sweep folder (new or empty)")] = None,
    runs_root: RunsOption = None,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="stop at the first failed variant")] = False,
    vectorize: Annotated[Optional[str], typer.Option("--vectorize", help="auto | on | off: batch variants into one computation", show_default="auto; with --resume: as the sweep ran")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only the sweep folder")] = False,
    max_group: Annotated[Optional[int], typer.Option("--max-group", min=0, help="models per batched group (default: cache-sized on a CPU, all on a GPU; 0: no cap)")] = None,
    sharpness: Annotated[bool, typer.Option("--sharpness", help="record each variant's initial sharpness (2/sharpness is GD's predicted stability edge)")] = False,
    samples: Annotated[Optional[int], typer.Option("--samples", min=1, help="random search: draws of the distribution axes (drawn jointly, crossed with the list axes)", show_default=False)] = None,
    sample_seed: Annotated[Optional[int], typer.Option("--sample-seed", min=0, help="seed of the draws", show_default="0, or the sweep: section's sample_seed")] = None,
    sampler: Annotated[Optional[str], typer.Option("--sampler", help="random | sobol | halton | lhs: independent draws, or a scrambled Sobol or Halton sequence or a Latin hypercube (more even coverage for few samples)", show_default="random, or the sweep: section's sampler")] = None,
    expect: Annotated[Optional[list[str]], typer.Option("--expect", help="a bar the best setting must meet, e.g. 'final_val_loss<0.3'; exit 1 if missed")] = None,
    expect_each: Annotated[Optional[list[str]], typer.Option("--expect-each", help="a bar every variant (each seed's run) must meet, e.g. 'final_val_loss<0.3'; exit 1 if any misses")] = None,
    prune: Annotated[Optional[str], typer.Option("--prune", help="off | halving: successive halving, stopping the weaker settings at each rung", show_default="off; with --resume: as the sweep ran")] = None,
    prune_factor: Annotated[Optional[int], typer.Option("--prune-factor", help="η: each rung keeps the best 1/η of the settings; rungs at steps first·η^i", show_default="3")] = None,
    prune_first: Annotated[Optional[int], typer.Option("--prune-first", help="the first rung's step", show_default="train steps/η², rounded up to an evaluation")] = None,
    rank_by: Annotated[Optional[str], typer.Option("--rank-by", help="best_val_loss | final_val_loss | final_train_loss | final_val_accuracy (higher is better)", show_default="best_val_loss when there is a validation split, else final_train_loss; with --resume: as the sweep ran")] = None,
) -> None:
    """Train many variants of a config as batched computations and rank them."""
    from gdlab.cli.streams import output_console, print_fitted

    from gdlab.sweep import run as sweep_run

    runs_root = runs_folder(runs_root, run_dir)
    if backend not in ("local", "ray"):
        raise GdlabError(f"--backend: '{backend}' is not one of local, ray")
    from gdlab.sweep.sweep_file import VECTORIZE

    if vectorize is not None and vectorize not in VECTORIZE:
        raise GdlabError(f"--vectorize: '{vectorize}' is not one of {', '.join(VECTORIZE)}")
    from gdlab.sweep.rank import RANKABLE, check_rank_by

    if rank_by is not None and rank_by not in RANKABLE:
        raise GdlabError(f"--rank-by: '{rank_by}' is not one of {', '.join(RANKABLE)}")
    from gdlab.sweep.sampling import MAX_SEED

    if sample_seed is not None and sample_seed > MAX_SEED:  # (not typer's max: its range metavar crowds --help)
        raise GdlabError(f"--sample-seed {sample_seed}: expected a whole number from 0 to {MAX_SEED}")
    if ray_address is not None and backend != "ray":
        raise GdlabError(f"--ray-address {ray_address}: only used with --backend ray; add --backend ray")
    if ray_address is not None:  # its form now, before planning: a --dry-run refuses it too
        from gdlab.sweep.backends import parse_ray_address
        parse_ray_address(ray_address)
    from gdlab.expect import parse_expectations

    expectations = parse_expectations(expect or [])
    each = parse_expectations(expect_each or [], "--expect-each")
    io_threads()  # a bad GDLAB_IO_THREADS stops the sweep here, not each group as it starts writing
    from gdlab.sweep.grouping import group_variants, spread

    console = output_console()  # piped: rich would squeeze the ranking tables into 80 columns (`optimi…`)
    session = ExitStack()  # what the run holds: the sweep folder's lock, a Ray connection
    if resume is not None:
        if config is not None or axes or any(x is not None for x in (samples, sample_seed, sampler, prune, prune_factor, prune_first)):
            raise GdlabError("--resume takes the sweep folder only; its sweep.yaml holds the config, axes, draws and pruning")
        if run_dir is not None:
            raise GdlabError(f"--run-dir {run_dir}: a resumed sweep stays in its own folder ({resume}); drop --run-dir")
        from gdlab.cli.sweep_resume import resume_plan

        folder = resume
        planned = resume_plan(console, session, folder, dry_run, jobs, dict(sharpness=sharpness, vectorize=vectorize,
                                                                             max_group=max_group, rank_by=rank_by,
                                                                             backend=backend, ray_address=ray_address,
                                                                             expect=expectations + each))
        if planned is None:  # a dry run, printed
            return
        setup, todo, done, (sharpness, vectorize, max_group, rank_by, prune) = planned
    else:
        if config is None:
            raise GdlabError("sweep: give a config file (or --resume SWEEP_DIR)")
        from gdlab.sweep.setup import setup_sweep

        setup = setup_sweep(config, axes or [], samples, sample_seed, sampler)
        check_rank_by(rank_by, (p.cfg for p in setup.plans))
        from gdlab.sweep.expect_best import check_sweep_applicable

        check_sweep_applicable(expectations + each, [p.cfg for p in setup.plans], sharpness)
        vectorize = vectorize or "auto"
        max_group = 0 if prune not in (None, "off") and max_group is None else max_group  # fewer groups: fewer waits at the rungs
        groups = spread(group_variants(setup.plans, vectorize, max_group), jobs)
        from gdlab.sweep.preflight import preflight

        datasets = preflight(setup)  # a dry run checks what a real run would refuse
        from gdlab.sweep.prune_plan import plan_pruning

        prune = plan_pruning(setup, prune or "off", prune_factor, prune_first, jobs, backend, rank_by, datasets)
        if backend == "ray" and dry_run:  # without connecting: that would start a local instance
            from gdlab.sweep.backends import require_ray

            require_ray()
        from gdlab.cli.sweep_view import note_plan

        note_plan(setup, groups if vectorize == "on" else None, datasets)
        if dry_run:
            from gdlab.cli.sweep_view import grid_table

            from gdlab.rundir import check_run_dir

            check_run_dir(run_dir, runs_root, setup.name)  # what the real run would refuse, refused now

            print_fitted(console, grid_table(setup, groups, prune=prune))
            return
    with session:
        from gdlab.signals import graceful_stop

        # before the folder exists: a signal between its mkdir and the handlers killed gdlab, leaving a folder
        # with only its lock that --resume could not read (no sweep.yaml) and a rerun refused as not empty
        stop = session.enter_context(graceful_stop())
        if backend == "ray" and resume is None:  # before a folder exists (a resume connected before clearing any)
            from gdlab.sweep.backends import ray_session

            session.enter_context(ray_session(ray_address))
        if resume is None:
            from gdlab.rundir import create_run_dir
            from gdlab.run_cleanup import discard_unstarted

            from gdlab.folder_lock import LOCK_NAME, FolderTaken, new_folder_lock, sweep_lock

            folder = create_run_dir(setup.name, runs_root, run_dir, prefix="sweep-")
            try:
                # the lock gdlab train and lr-find hold on their folder too, taken before .sweep.lock is made:
                # one of them given the same empty --run-dir a moment earlier holds it with nothing written yet
                session.enter_context(new_folder_lock(folder, fresh=run_dir is not None))
                session.enter_context(sweep_lock(folder, fresh=run_dir is not None))
                if stop():  # asked to stop before anything was written
                    raise GdlabError("interrupted before the sweep began; no sweep folder is left", stop.exit_code)
                sweep_run.write_sweep_yaml(folder, setup, {"vectorize": vectorize, "jobs": jobs, "backend": backend,
                                                           "sharpness": sharpness, "max_group": max_group,
                                                           "rank_by": rank_by, "prune": prune})
            except FolderTaken:  # another sweep's folder: nothing of it is ours to remove
                raise
            except GdlabError:  # a full disk: a sweep that never started leaves no folder holding only its lock
                discard_unstarted(folder, (LOCK_NAME,))
                raise
            todo, done = setup.plans, {}
        summaries = _run(console, setup, folder, todo, done, quiet, stop, dict(
            vectorize=vectorize, jobs=jobs, backend=backend, ray_address=ray_address, fail_fast=fail_fast,
            init_sharpness=sharpness, max_group=max_group, prune=prune))
    from gdlab.cli.sweep_end import report

    report(console, setup, folder, summaries, quiet, rank_by, stop, expectations, each)


def _run(console, setup, folder: Path, todo, done, quiet: bool, stop, options: dict):
    """Train with the overall bar, a line per finished variant (a diverged one as soon as it diverges);
    `stop` (signals.StopFlag) turns true on the first Ctrl-C or SIGTERM."""
    from gdlab.cli.streams import live_display
    from gdlab.cli.sweep_view import SweepProgress, result_line
    from gdlab.sweep import run as sweep_run

    progress = SweepProgress(console, len(setup.plans), len(done)) if not quiet and live_display(console) else None
    by_index = {p.index: p for p in setup.plans}
    told: set[int] = set()  # variants whose line is printed already

    def on_event(job, event):
        if progress and "step" in event:
            progress.group_progress(job.indices, event["step"], event["total"])
        for index, step in event.get("diverged", []):
            told.add(index)
            if not quiet:
                console.print(result_line(by_index[index], {"status": "diverged", "diverged_at_step": step}), soft_wrap=True)

    def on_result(plan, summary):
        if progress:
            progress.variant_done(plan.index)
        if not quiet and not (plan.index in told and summary.get("status") == "diverged"):
            console.print(result_line(plan, summary), soft_wrap=True)  # one line per variant, however long

    if progress:
        progress.start()
    try:
        return sweep_run.run_sweep(setup, folder, todo, done, should_stop=stop, on_result=on_result,
                                   on_event=on_event, **options)
    finally:
        if progress:
            progress.stop()

