"""Running a pruned sweep's groups in lockstep: a thread per group in this process, taking turns at the rungs
(sweep/rung_gate.py), while this thread reports their progress and results as the other backends do."""

from __future__ import annotations

import queue
import threading
from typing import Callable

from gdlab.sweep.execute import Job, failed_summaries, run_job_safely
from gdlab.sweep.prune import Finished
from gdlab.sweep.rung_gate import RungGate


def run_lockstep(jobs_list: list[Job], should_stop: Callable[[], bool], on_done, on_event) -> None:
    """Train the groups of a pruned sweep together; `on_done(job, summaries)` as each ends (True: fail fast, the
    others stop at their next step, interrupted, and are reported too)."""
    if len(jobs_list) == 1:  # nothing to wait for: this thread trains it, as any sweep's single group
        job = jobs_list[0]
        on_done(job, run_job_safely(job, should_stop, {}, lambda event: on_event(job, event)))
        return
    import torch

    failing = [False]

    def stopping() -> bool:
        return failing[0] or should_stop()

    gate, inbox, cache = RungGate(jobs_list[0].prune, len(jobs_list), stopping), queue.Queue(), {}
    threads_before = torch.get_num_threads()

    def train(group: int, job: Job) -> None:
        settings, results = job.prune["settings"], None
        gate.enter()
        # torch's thread count is each thread's own, and a new one starts with the count last set anywhere (a
        # small group's 1): each group starts from this process's, as in a sweep run in this thread
        torch.set_num_threads(threads_before)
        if stopping():  # stopped before its turn came: left unrun, as the other backends leave a group (`skipped`
            gate.leave(group, [])  # after --fail-fast, `interrupted` at step 0), its empty folder removed
            inbox.put(("unrun", job, None))
            return
        try:
            results = run_job_safely(job, stopping, cache, lambda event: inbox.put(("event", job, event)),
                                     seat=gate.seat(group, settings))
        finally:  # (run_job_safely returns a failure as summaries: only a BaseException leaves results unset)
            results = results or failed_summaries(job, "stopped by an error outside its group")
            gate.leave(group, [Finished.from_summary(s, r, gate.metric) for s, r in zip(settings, results)])
            inbox.put(("done", job, results))

    workers = [threading.Thread(target=train, args=(g, job), name=f"gdlab-group-{g}", daemon=True)
               for g, job in enumerate(jobs_list)]
    for w in workers:
        w.start()
    try:
        _deliver_all(workers, inbox, on_done, on_event, failing)
    except KeyboardInterrupt:  # a second Ctrl-C: every group stops at its next step; their files are kept
        failing[0] = True
        _deliver_all(workers, inbox, on_done, on_event, failing)
    finally:  # however it ended (an error recording results, a full disk's): no group still trains when gdlab
        failing[0] = True  # exits, where the interpreter's end killed it inside torch (abort) and cut its files short
        _wait_for(workers)
        torch.set_num_threads(threads_before)


def _wait_for(workers: list[threading.Thread]) -> None:
    """Wait for the group threads, each ending at its next step; a further Ctrl-C meanwhile changes nothing."""
    for w in workers:
        while w.is_alive():
            try:
                w.join(0.2)
            except KeyboardInterrupt:
                pass


def _deliver_all(workers: list[threading.Thread], inbox: queue.Queue, on_done, on_event, failing: list[bool]) -> None:
    """Hand on the groups' messages until every group has ended and said so. Not a count of the ends: a Ctrl-C
    landing in the queue's get after it took one lost it, and the sweep waited for it forever."""
    while any(w.is_alive() for w in workers) or not inbox.empty():  # (a group says it ended, then ends)
        try:
            kind, job, payload = inbox.get(timeout=0.2)  # a timeout, so that this thread still takes Ctrl-C
        except queue.Empty:
            continue
        if kind == "event":
            on_event(job, payload)
        elif kind == "done":  # ("unrun": the sweep records it)
            try:
                if on_done(job, payload):
                    failing[0] = True
            except KeyboardInterrupt:  # a Ctrl-C while its results were recorded: they are again, once the
                inbox.put((kind, job, payload))  # groups stop
                raise
