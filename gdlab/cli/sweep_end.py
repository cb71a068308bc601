"""The end of a sweep on the terminal: the ranking tables, the folder's path, the notes, the exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from gdlab.errors import EXIT_FAILED


def report(console, setup, folder: Path, summaries: dict[int, dict], quiet: bool, rank_by: str | None, stop,
           expectations: list = (), each: list = ()) -> None:
    """Rank and show the variants, print the folder, then exit as the README's exit codes say: 130/143 if a
    signal cut variants short (its bars not judged), 1 if any failed, a bar on the best setting was missed or a
    variant missed a bar every one must meet (`each`), else return (0)."""
    from gdlab.sweep import run as sweep_run
    from gdlab.sweep.rank import default_rank_by

    rows = sweep_run.sweep_rows(setup, folder, summaries)
    default = default_rank_by(p.cfg for p in setup.plans)  # the score the configs call for, without --rank-by
    if not quiet:
        from rich.text import Text

        from gdlab.cli.sharpness_view import add_edges
        from gdlab.cli.streams import print_fitted
        from gdlab.cli.sweep_ranking import ranking_tables

        if any(r.get("init_sharpness") is not None for r in rows):  # --sharpness: each variant's edge lr beside it
            add_edges(rows, [p.cfg.optimizer.model_dump() for p in setup.plans],
                      [p.cfg.scheduler.model_dump() if p.cfg.scheduler else None for p in setup.plans])
        for table in ranking_tables(rows, list(setup.axes), rank_by, default):
            print_fitted(console, table, soft_wrap=isinstance(table, Text))  # a note or best line is never wrapped in a log
    sys.stdout.write(f"{folder}\n")
    from gdlab.cli.run_notes import note_eager_steps, note_rising_losses, note_unsettled_sharpness

    note_eager_steps(list(summaries.values()))
    note_rising_losses([(r["run_dir"], folder / r["run_dir"], r, p.cfg.has_dropout) for r, p in zip(rows, setup.plans)],
                       "variants")
    iters = {p.cfg.train.sharpness_iters for p in setup.plans}  # named in the note where all variants share it
    note_unsettled_sharpness(list(summaries.values()), iters.pop() if len(iters) == 1 else None)
    statuses = [s.get("status") for s in summaries.values()]
    if stop.signum is not None and any(s in ("interrupted", "skipped") for s in statuses):  # not when all finished
        raise typer.Exit(stop.exit_code)
    from gdlab.sweep.expect_best import judge_best
    from gdlab.sweep.expect_each import judge_each

    missed = judge_best(list(expectations), rows, list(setup.axes), folder, rank_by, default)
    missed += judge_each(list(each), rows, folder)
    for msg in missed:
        sys.stderr.write(f"gdlab: expectation failed: {msg}\n")
    bad = sum(s not in sweep_run.DONE for s in statuses)
    if bad:
        sys.stderr.write(f"gdlab: {bad} of {len(statuses)} variants did not finish (see status and error in {folder / 'sweep.csv'})\n")
    if bad or missed:
        raise typer.Exit(EXIT_FAILED)
