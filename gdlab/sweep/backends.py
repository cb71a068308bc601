"""Backends that execute sweep jobs: `local` (this process, or `--jobs N` worker processes) and `ray`."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from gdlab.errors import GdlabError
from gdlab.sweep.execute import Job, failed_summaries, run_job, run_job_returning_files, write_returned_files

OnDone = Callable[[Job, list[dict]], bool]  # returns True to stop scheduling (fail-fast)


def run_jobs(jobs_list: list[Job], *, backend: str, jobs: int, ray_address: str | None,
             should_stop: Callable[[], bool], on_done: OnDone) -> None:
    if backend == "ray":
        _run_ray(jobs_list, ray_address, should_stop, on_done)
    elif jobs > 1:
        _run_processes(jobs_list, jobs, should_stop, on_done)
    else:
        _run_inline(jobs_list, should_stop, on_done)


def _run_inline(jobs_list: list[Job], should_stop, on_done: OnDone) -> None:
    cache: dict = {}
    for job in jobs_list:
        if should_stop():
            return
        try:
            results = run_job(job, should_stop, cache)
        except GdlabError as exc:
            results = failed_summaries(job, exc.message)
        except Exception as exc:  # a broken group never stops the others
            results = failed_summaries(job, f"{type(exc).__name__}: {exc}")
        if on_done(job, results):
            return


def _init_worker(threads: int) -> None:
    """Size each worker's thread pools before torch starts them: N workers x all cores of OpenMP
    threads spin against each other (seen: 20x slower than one process)."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


def _run_processes(jobs_list: list[Job], workers: int, should_stop, on_done: OnDone) -> None:
    # spawn, not fork: a forked copy of a process that already ran torch can deadlock in its thread pools
    ctx = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(threads,)) as pool:
        pending = {pool.submit(run_job, job): job for job in jobs_list}
        while pending:
            finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            if should_stop():
                for f in pending:
                    f.cancel()
            for future in finished:
                job = pending.pop(future)
                try:
                    results = future.result()
                except BrokenProcessPool:
                    results = failed_summaries(job, "worker process died (killed or out of memory)")
                except Exception as exc:
                    results = failed_summaries(job, f"{type(exc).__name__}: {exc}")
                if on_done(job, results):
                    for f in pending:
                        f.cancel()
                    pending = {f: j for f, j in pending.items() if not f.cancelled()}
            pending = {f: j for f, j in pending.items() if not f.cancelled()}


def _run_ray(jobs_list: list[Job], address: str | None, should_stop, on_done: OnDone) -> None:
    try:
        import ray
    except ImportError:
        raise GdlabError("--backend ray needs Ray: pip install 'gdlab[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise GdlabError(f"--ray-address {address or '(local)'}: cannot connect to Ray ({exc})", exit_code=1) from None
    try:
        # Workers return file bytes, so a cluster needs no disk shared with this machine.
        remote = ray.remote(run_job_returning_files)
        pending = {remote.remote(job): job for job in jobs_list}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            if should_stop():
                for ref in pending:
                    ray.cancel(ref)
            for ref in ready:
                job = pending.pop(ref)
                try:
                    results, files = ray.get(ref)
                    write_returned_files(job, files)
                except Exception as exc:  # a task error or a lost node fails only its variants
                    results = failed_summaries(job, f"{type(exc).__name__}: {exc}")
                if on_done(job, results):
                    for r in pending:
                        ray.cancel(r)
                    return
    finally:
        if started_here:
            ray.shutdown()
