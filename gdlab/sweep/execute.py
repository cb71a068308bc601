"""Where groups run: in this process, in worker processes (`--jobs N`), or as Ray tasks. A job is
plain data (resolved configs and folders), so every backend runs the same `run_job`."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


DONE = ("completed", "diverged", "pruned")  # diverged and pruned are results, not failures


@dataclass
class Job:
    """One batched group: variant indices, configs, run folders, overrides. A config is a validated
    Config (as the sweep plans it: validating 1,024 variants again cost 0.2 s) or its resolved dict."""

    indices: list[int]
    configs: list
    run_dirs: list[str]
    overrides: list[list[str]]
    threads: int | None = None
    init_sharpness: bool = False
    prune: dict | None = None  # the rungs of a pruned sweep (sweep/prune_plan.job_pruning)


def threads_per_worker(workers: int) -> int:
    """torch threads for each of `workers` processes sharing this machine: the cores this process may use
    (its affinity; os.cpu_count() in a container can be the host's 64), split evenly."""
    from gdlab.io_pool import usable_cores

    return max(1, usable_cores() // workers)


def failed_summaries(job: Job, error: str) -> list[dict]:
    return [_finished_or(d, {"status": "failed", "error": error, **progress_on_disk(d)}) for d in job.run_dirs]


def interrupted_summaries(job: Job) -> list[dict]:
    return [_finished_or(d, {"status": "interrupted", "error": "stopped before it finished", **progress_on_disk(d)})
            for d in job.run_dirs]


def _finished_or(run_dir: str, otherwise: dict) -> dict:
    """A variant's own summary where it finished before its group failed or stopped (another variant's model.pt
    refused by a full disk, its worker killed after writing it): sweep.csv says what its folder says."""
    summary = summary_on_disk(run_dir)
    return summary if summary is not None and summary.get("status") in DONE else otherwise


def summary_on_disk(run_dir: str | Path) -> dict | None:
    """The run's summary.json, where its model.pt and last metrics row survived too; else None. A sweep's files are
    not fsynced: after a power cut a summary can outlive the weights or rows it reports."""
    try:
        summary = json.loads(Path(run_dir, "summary.json").read_text())
        # its last metrics row is at its last step (the last step always logs, as a divergence does)
        intact = Path(run_dir, "model.pt").stat().st_size > 0 and progress_on_disk(str(run_dir))["steps"] == summary["steps"]
        return summary if intact else None
    except (OSError, ValueError, AttributeError, KeyError, TypeError):  # a summary that is not what gdlab writes
        return None


def progress_on_disk(run_dir: str) -> dict:
    """`steps` and `final_train_loss` from the last complete row of a run's metrics.csv: what a run whose
    process died (and so reported nothing) had done. 0 steps without rows."""
    try:
        with open(os.path.join(run_dir, "metrics.csv"), "rb") as fh:
            header = fh.readline().decode("utf-8", "replace").rstrip("\n").split(",")
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - 8192, 0))
            tail = fh.read().decode("utf-8", "replace")
        rows = tail.split("\n")[:-1]  # the text after the last newline is a row cut short
        cells = rows[-1].split(",") if rows else []
        if len(cells) == len(header) and header[0] == "step" and cells[0].isdigit():
            loss = cells[header.index("train_loss")] if "train_loss" in header else ""
            return {"steps": int(cells[0]), **({"final_train_loss": float(loss)} if loss else {})}
    except (OSError, ValueError):
        pass
    return {"steps": 0}


Event = dict  # {"step": s, "total": T} (the group's progress) or {"diverged": [[variant index, step], ...]}


class ProgressEvents:
    """Turns a group's steps into events for a sweep's bar and lines: divergences at once (a variant
    that diverged at step 2 is reported then, not when its group ends), progress at most every `every_s`."""

    def __init__(self, job: Job, send: Callable[[Event], None], every_s: float = 0.2):
        self.job, self.send, self.every_s = job, send, every_s
        self.last = time.monotonic()

    def __call__(self, step: int, total: int, diverged_now: list[int]) -> None:
        if diverged_now:
            self.send({"diverged": [[self.job.indices[k], step] for k in diverged_now]})
        now = time.monotonic()
        if now - self.last >= self.every_s or step == total:
            self.last = now
            self.send({"step": step, "total": total})


def run_job(job: Job, should_stop: Callable[[], bool] = lambda: False, data_cache: dict | None = None,
            on_event: Callable[[Event], None] | None = None, seat=None) -> list[dict]:
    """Validate, load data (shared by equal data configs) and train one group; one summary per variant.
    `on_event` receives its progress events (see ProgressEvents); `seat`: the group's place at a pruned sweep's
    rungs (sweep/rung_gate.py; without one, a pruned job's rungs compare its own models)."""
    from gdlab.config import Config
    from gdlab.data import data_seed
    from gdlab.runner import Variant, prepare_data, resolve_device, run_group

    if job.threads:
        from gdlab.engine.threads import set_worker_threads

        set_worker_threads(job.threads)
    cfgs = [c if isinstance(c, Config) else Config.model_validate(c) for c in job.configs]
    cache = {} if data_cache is None else data_cache
    datasets = []
    for cfg in cfgs:
        key = (cfg.data.model_dump_json(), data_seed(cfg), cfg.train.dtype, cfg.loss.name)
        if key not in cache:
            cache[key] = prepare_data(cfg)
        datasets.append(cache[key])
    variants = [Variant(c, Path(d), o) for c, d, o in zip(cfgs, job.run_dirs, job.overrides)]
    if job.prune and seat is None:
        from gdlab.sweep.rung_gate import RungGate

        seat = RungGate(job.prune, 1, should_stop).seat(0, job.prune["settings"])
    flush_every = 1 if len(variants) == 1 else 50  # K files flushed every step would cost more than the step
    return run_group(variants, datasets, resolve_device(cfgs[0].train.device), should_stop=should_stop,
                     flush_every=flush_every, measure_init_sharpness=job.init_sharpness, in_sweep=True,
                     progress=ProgressEvents(job, on_event) if on_event else None, seat=seat)


def run_job_safely(job: Job, should_stop: Callable[[], bool] = lambda: False, data_cache: dict | None = None,
                   on_event: Callable[[Event], None] | None = None, seat=None) -> list[dict]:
    """run_job, with a group that raises recorded as failed (one line): every backend reports alike."""
    from gdlab.errors import GdlabError

    try:
        return run_job(job, should_stop, data_cache, on_event, seat)
    except GdlabError as exc:
        return failed_summaries(job, exc.message)
    except Exception as exc:  # a broken group never stops the others
        return failed_summaries(job, f"{type(exc).__name__}: {exc}")


def run_job_returning_files(job: Job) -> tuple[list[dict], list[dict[str, bytes]]]:
    """For remote workers without a shared disk: train into a temp folder, return the files' bytes."""
    tmp = tempfile.mkdtemp(prefix="gdlab-ray-")
    try:
        local = Job(job.indices, job.configs, [os.path.join(tmp, str(i)) for i in job.indices], job.overrides,
                    job.threads, job.init_sharpness)
        for d in local.run_dirs:
            os.makedirs(d)
        summaries = run_job_safely(local)
        return summaries, [folder_files(Path(d)) for d in local.run_dirs]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file a run left in its folder, by path inside it (snapshots/ too), temp files aside."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".tmp")}


def write_returned_files(job: Job, files: list[dict[str, bytes]]) -> None:
    from gdlab.rundir import write_atomic

    for run_dir, payload in zip(job.run_dirs, files):
        # summary.json last: it marks the variant finished; not fsynced, as no sweep's variant files are
        for name in sorted(payload, key=lambda n: n == "summary.json"):
            (Path(run_dir) / name).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(Path(run_dir) / name, payload[name], durable=False)
