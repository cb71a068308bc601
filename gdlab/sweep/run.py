"""Run a planned sweep into its folder: sweep.yaml, one run folder per variant, sweep.csv (rewritten
atomically after every group, so a killed sweep leaves a consistent table). Failures never stop the rest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from gdlab import provenance
from gdlab.errors import GdlabError
from gdlab.csvlog import CsvAppender
from gdlab.files import cannot_write, sync_folder
from gdlab.rundir import json_safe, write_atomic, write_json
from gdlab.sweep.execute import DONE, Job, threads_per_worker
from gdlab.sweep.grouping import group_variants, spread
from gdlab.sweep.plan import VariantPlan, exact_text
from gdlab.sweep.setup import SweepSetup
from gdlab.yamldump import dump_yaml
from gdlab.yamlio import read_yaml_file

RESULT_COLUMNS = ["status", "final_train_loss", "best_val_loss", "diverged_at_step", "steps", "wall_s", "run_dir",
                  "final_val_loss", "final_val_accuracy", "init_hash", "init_sharpness", "error", "stopped_early_at_step",
                  "restored_best_from_step", "sharpness_unsettled", "pruned_at_step"]


def stored_options(folder: Path) -> dict:
    """The options sweep.yaml recorded when the sweep started (empty for an older file)."""
    data, _ = read_yaml_file(folder / "sweep.yaml")
    options = data.get("options") if isinstance(data, dict) else None
    return options if isinstance(options, dict) else {}


def write_sweep_yaml(folder: Path, setup: SweepSetup, options: dict) -> None:
    doc = {"name": setup.name, "config": setup.source, "created_at": provenance.now_iso(), "options": options, "axes": setup.axes,
           "sampling": setup.sampling, "fixed_overrides": setup.fixed, "base": setup.base}
    write_atomic(folder / "sweep.yaml", dump_yaml(doc))


def sweep_rows(setup: SweepSetup, folder: Path, summaries: dict[int, dict]) -> list[dict]:
    rows = []
    for p in setup.plans:
        s = summaries.get(p.index, {"status": "pending"})
        row = {k: p.point[k] for k in setup.axes}
        row.update({c: s.get(c) for c in RESULT_COLUMNS})
        row["run_dir"] = p.dir_name
        rows.append(row)
    return rows


def _cell(value: Any, swept: bool) -> Any:
    """Lists, mappings and booleans as YAML flow text (`[2, 8]`, `{"name": "Adam"}`, `true`), as overrides take
    them: a cell can be pasted back as KEY=VALUE. Numbers stay repr, exact; a swept null is `null`, and swept
    text that YAML would read as something else is quoted ('2024')."""
    if isinstance(value, (list, tuple, dict, bool)) or (swept and (value is None or isinstance(value, str))):
        return exact_text(value)
    return value


def write_sweep_csv(folder: Path, setup: SweepSetup, summaries: dict[int, dict]) -> None:
    tmp = folder / ".sweep.csv.partial"
    tmp.unlink(missing_ok=True)
    out = None
    try:
        out = CsvAppender(tmp, list(setup.axes) + RESULT_COLUMNS, flush_every=10**9)
        for row in sweep_rows(setup, folder, summaries):
            out.write({k: _cell(v, k in setup.axes) for k, v in row.items()})
        out.close()
    except GdlabError as exc:  # a full disk: the last complete sweep.csv stays, no half-written one beside it
        if out is not None:
            out.close()  # after a failed write it closes quietly (CsvAppender.failed)
        tmp.unlink(missing_ok=True)
        # named as the file the user knows (the temp file is gone): `sweep.csv: cannot write (...)`
        raise GdlabError(exc.message.replace(str(tmp), str(folder / "sweep.csv"), 1), exc.exit_code) from None
    try:  # the folder's fsync keeps the new name over a power cut, as write_atomic's does for sweep.yaml
        os.replace(tmp, folder / "sweep.csv")
        sync_folder(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise cannot_write(folder / "sweep.csv", exc) from None


def _summary_if_missing(run_dir: Path, plan: VariantPlan, result: dict) -> None:
    """A variant whose worker died, or whose group failed before it trained, wrote no summary.json: write the
    status and error sweep.csv gets, so its folder reads as a failed `gdlab train` run's (best effort: the
    folder may be what broke). --resume reruns it all the same: it has no model.pt."""
    if result.get("status") not in ("failed", "interrupted") or (run_dir / "summary.json").exists():
        return
    try:
        write_json(run_dir / "summary.json", {"name": plan.cfg.name, "seed": plan.cfg.seed, **result}, durable=False)
    except GdlabError:
        pass


def make_jobs(groups: list[list[VariantPlan]], folder: Path, jobs: int, init_sharpness: bool = False,
              prune: dict | None = None, plans: list[VariantPlan] = (), done: dict[int, dict] | None = None) -> list[Job]:
    """One job per group, the groups spread over the workers (see grouping.spread); `prune`: sweep.yaml's, with every
    variant of the sweep (`plans`) and the summaries of those `done`, which the rungs count in."""
    from gdlab.sweep.prune_plan import job_pruning

    groups = spread(groups, jobs)
    threads = threads_per_worker(jobs) if jobs > 1 else None
    return [
        Job([p.index for p in g], [p.cfg.model_copy(update={"sweep": None}) for p in g],
            [str(folder / p.dir_name) for p in g], [p.recorded_overrides for p in g], threads, init_sharpness,
            job_pruning(prune, plans, g, done or {}))
        for g in groups
    ]


def run_sweep(
    setup: SweepSetup,
    folder: Path,
    todo: list[VariantPlan],
    done: dict[int, dict],
    *,
    vectorize: str = "auto",
    jobs: int = 1,
    backend: str = "local",
    ray_address: str | None = None,
    fail_fast: bool = False,
    init_sharpness: bool = False,
    max_group: int | None = None,
    prune: dict | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_result: Callable[[VariantPlan, dict], None] = lambda p, s: None,
    on_event: Callable[[Job, dict], None] = lambda job, event: None,
) -> dict[int, dict]:
    """Train the `todo` variants; returns every variant's summary by index (`done` ones included).
    `on_result` hears of each variant as its group ends; `on_event` of progress within a group."""
    from gdlab.sweep.backends import run_jobs

    summaries = dict(done)
    for p in todo:
        (folder / p.dir_name).mkdir(parents=True, exist_ok=True)
    job_list = make_jobs(group_variants(todo, vectorize, max_group), folder, jobs, init_sharpness, prune, setup.plans, done)
    by_index = {p.index: p for p in setup.plans}
    write_sweep_csv(folder, setup, summaries)

    def finished(job: Job, results: list[dict]) -> bool:
        for i, s in zip(job.indices, results):
            summaries[i] = s = json_safe(s)  # as summary.json has it: a resumed sweep reads those back
            _summary_if_missing(folder / by_index[i].dir_name, by_index[i], s)
            on_result(by_index[i], s)
        write_sweep_csv(folder, setup, summaries)
        return fail_fast and any(s["status"] not in DONE for s in results)

    try:
        run_jobs(job_list, backend=backend, jobs=jobs, ray_address=ray_address, should_stop=should_stop, on_done=finished,
                 on_event=on_event)
    except KeyboardInterrupt:  # a second Ctrl-C: the backend stopped at once; what it left is recorded below
        pass
    for p in todo:  # anything a stop or a fail-fast left unrun is recorded as such, its empty folder gone
        if p.index not in summaries:
            summaries[p.index] = {"status": "interrupted" if should_stop() else "skipped", "steps": 0}
            try:
                (folder / p.dir_name).rmdir()  # only if empty: --resume makes it again
            except OSError:
                pass
    write_sweep_csv(folder, setup, summaries)
    return summaries
