"""`--jobs N`: N worker processes, each running one job at a time over its own pipe. Unlike a
ProcessPoolExecutor, whose pool breaks as a whole when one worker dies, a worker killed here (SIGKILL,
out of memory) fails only the job it was running, and a stop reaches the running jobs, which end
`interrupted` with their files written, as in a single process."""

from __future__ import annotations

import multiprocessing
import os
import signal
from dataclasses import dataclass
from multiprocessing.connection import wait as wait_any
from typing import Any, Callable

from gdlab.sweep.execute import Job, failed_summaries, interrupted_summaries, run_job_safely, threads_per_worker

OnDone = Callable[[Job, list[dict]], bool]  # returns True to stop scheduling (fail-fast)
OnEvent = Callable[[Job, dict], None]


def _worker_main(conn, stop, threads: int, run: Callable = run_job_safely) -> None:
    """A worker's life: take jobs until told to end (None) or the parent is gone. `run` is
    run_job_safely (tests pass a module-level stand-in, e.g. one that kills its own worker)."""
    asked: list[int] = []
    # A terminal's Ctrl-C reaches every process of the group: here SIGINT and SIGTERM only ask the
    # running job to stop (it ends `interrupted` and still reports), never kill it half-written.
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda signum, frame: asked.append(signum))
    # Sized before torch starts its pools: N workers x all cores of OpenMP threads spin against each other.
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    cache: dict = {}
    parent = os.getppid()
    gone: list[bool] = []  # the parent died (kill -9): stop at the next step, quietly

    def send(message) -> None:
        try:
            conn.send(message)
        except OSError:  # BrokenPipeError: nobody reads; a failure recorded for it would be made up
            gone.append(True)

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if job is None:
            return
        should_stop = lambda: bool(asked) or bool(stop.value) or bool(gone) or os.getppid() != parent  # noqa: E731
        results = run(job, should_stop, cache, on_event=lambda e: send(("event", e)))
        send(("done", results))
        if gone or os.getppid() != parent:
            return


@dataclass
class _Worker:
    process: Any
    conn: Any
    job: Job | None = None


def run_in_workers(jobs_list: list[Job], workers: int, should_stop: Callable[[], bool], on_done: OnDone,
                   on_event: OnEvent = lambda job, event: None, run: Callable = run_job_safely) -> None:
    """Run the jobs over `workers` processes; each job's summaries go to `on_done` as it finishes."""
    # spawn, not fork: a forked copy of a process that already ran torch can deadlock in its thread pools
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.RawValue("b", 0)  # read by every running job each step: a plain shared byte, no lock
    threads = threads_per_worker(workers)
    queue = list(jobs_list)
    pool: list[_Worker] = []

    def start() -> _Worker:
        mine, theirs = ctx.Pipe()
        process = ctx.Process(target=_worker_main, args=(theirs, stop, threads, run), daemon=True, name="gdlab-worker")
        process.start()
        theirs.close()  # so a dead worker reads as EOF here
        return _Worker(process, mine)

    def finish(w: _Worker, results: list[dict]) -> None:
        job, w.job = w.job, None
        if on_done(job, results):
            stop.value = 1
            queue.clear()

    try:
        pool = [start() for _ in range(min(workers, len(queue)))]
        while True:
            if should_stop():
                stop.value = 1
                queue.clear()
            for i, w in enumerate(pool):
                if w.job is None and queue:
                    if not w.process.is_alive():
                        pool[i] = w = start()
                    w.job = queue.pop(0)
                    try:
                        w.conn.send(w.job)
                    except OSError:  # it died since the check: a replacement takes the job
                        job, pool[i] = w.job, start()
                        pool[i].job = job
                        pool[i].conn.send(job)
            busy = [w for w in pool if w.job is not None]
            if not busy:
                return
            wait_any([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.5)
            for w in busy:
                _collect(w, finish, on_event)
    except KeyboardInterrupt:  # a second Ctrl-C: stop now; what was running is recorded as interrupted
        for w in pool:
            if w.job is not None:
                w.process.kill()
                finish(w, interrupted_summaries(w.job))
    finally:
        _shut_down(pool)


def _collect(w: _Worker, finish: Callable[[_Worker, list[dict]], None], on_event: OnEvent) -> None:
    """Read what a busy worker sent; a worker that died without reporting fails its job alone."""
    try:
        while w.job is not None and w.conn.poll():
            kind, payload = w.conn.recv()
            if kind == "event":
                on_event(w.job, payload)
            else:
                finish(w, payload)
    except (EOFError, OSError):
        pass
    if w.job is not None and not w.process.is_alive():
        w.process.join()
        code = w.process.exitcode
        why = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        finish(w, failed_summaries(w.job, f"worker process died ({why}; out of memory?)"))
        w.conn.close()


def _shut_down(pool: list[_Worker]) -> None:
    """Tell idle workers to end and wait for them; a Ctrl-C meanwhile (or a worker that hangs) kills them."""
    try:
        for w in pool:
            if w.process.is_alive():
                try:
                    w.conn.send(None)
                except (OSError, ValueError):
                    w.process.kill()
        for w in pool:
            w.process.join(timeout=5)
    except KeyboardInterrupt:
        pass
    for w in pool:
        if w.process.is_alive():
            w.process.kill()
            w.process.join()
