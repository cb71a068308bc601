"""Backends that execute sweep jobs: `local` (this process, or `--jobs N` worker processes) and `ray`."""

from __future__ import annotations

import re
import socket
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator

from gdlab.errors import GdlabError
from gdlab.sweep.execute import Job, failed_summaries, run_job_returning_files, run_job_safely, write_returned_files
from gdlab.sweep.workers import OnDone, OnEvent, run_in_workers


def run_jobs(jobs_list: list[Job], *, backend: str, jobs: int, ray_address: str | None,
             should_stop: Callable[[], bool], on_done: OnDone, on_event: OnEvent = lambda job, event: None) -> None:
    if any(job.prune for job in jobs_list):  # a pruned sweep's groups meet at its rungs, in this process
        from gdlab.sweep.lockstep import run_lockstep

        run_lockstep(jobs_list, should_stop, on_done, on_event)
    elif backend == "ray":
        with ray_session(ray_address):
            _run_ray(jobs_list, should_stop, on_done)
    elif jobs > 1:
        run_in_workers(jobs_list, jobs, should_stop, on_done, on_event)
    else:
        _run_inline(jobs_list, should_stop, on_done, on_event)


def _run_inline(jobs_list: list[Job], should_stop, on_done: OnDone, on_event: OnEvent) -> None:
    cache: dict = {}
    for job in jobs_list:
        if should_stop():
            return
        results = run_job_safely(job, should_stop, cache, on_event=lambda event, job=job: on_event(job, event))
        if on_done(job, results):
            return


def require_ray():
    """The ray module, or the one-line error that says how to get it (a --dry-run checks this too)."""
    try:
        import ray
    except ImportError:
        raise GdlabError("--backend ray needs Ray: pip install 'gdlab[ray]'") from None
    return ray


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Connected to Ray inside (a cluster at `address`, else a local instance started here); a session
    that was already connected is left as it was. Entered before a sweep makes any folder."""
    ray = require_ray()
    started_here = not ray.is_initialized()
    if started_here:
        _check_reachable(address)
        try:
            with warnings.catch_warnings():  # Ray warns in paragraphs; the error below says it in one line
                warnings.simplefilter("ignore")
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except Exception as exc:  # ConnectionError, ValueError, RuntimeError, ... depending on Ray's version
            # Ray's own advice names its `--address` flag; gdlab's option is --ray-address
            why = one_line(exc).replace("the `--address` flag", "--ray-address").replace("--address flag", "--ray-address option")
            raise GdlabError(f"--ray-address {address or '(local)'}: cannot connect to Ray ({why})", exit_code=1) from None
    try:
        yield
    finally:
        if started_here:
            ray.shutdown()


RAY_ADDRESS_FORMS = "auto | host:port | ray://host:10001"


def parse_ray_address(address: str) -> tuple[str, int, bool] | None:
    """(host as written, port, Ray client?) of a cluster address; None for auto and local. A malformed one is
    bad usage (exit 2), refused before a sweep is planned: Ray would fail on it only once connecting."""
    if address in ("auto", "local"):
        return None
    client = address.startswith("ray://")
    where = address.removeprefix("ray://")
    has_port = ":" in where.rpartition("]")[2]
    host, port = where.rsplit(":", 1) if has_port else (where, "")
    bare_host = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # a stray bracket stays, refused
    if not bare_host or "://" in where or "/" in where or any(c.isspace() for c in address) \
            or "[" in bare_host or "]" in bare_host \
            or (":" in bare_host and not host.startswith("[")):  # an IPv6 host takes brackets: [::1]:6379
        raise GdlabError(f"--ray-address '{address}': not a Ray address ({RAY_ADDRESS_FORMS})")
    # a ':' promises a port: 'head:' is a typo, not Ray's default; isdigit alone passes other scripts' digits
    if has_port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise GdlabError(f"--ray-address {address}: the port '{port}' is not a port number 1 to 65535 ({RAY_ADDRESS_FORMS})")
    return host, int(port) if port else (10001 if client else 6379), client  # Ray's client and GCS ports


def _check_reachable(address: str | None) -> None:
    """Fail in seconds on a cluster address nothing answers at: Ray itself retries for minutes."""
    parsed = parse_ray_address(address) if address is not None else None
    if parsed is None:
        return
    host, port_number, _ = parsed
    try:
        socket.create_connection((host.strip("[]"), port_number), timeout=5).close()
    except OSError as exc:
        raise GdlabError(f"--ray-address {address}: cannot reach {host}:{port_number} ({exc.strerror or exc}); "
                         "is the Ray head running there?", exit_code=1) from None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def one_line(exc: BaseException) -> str:
    """An exception as one plain line: Ray's task errors carry coloured, multi-line tracebacks."""
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, GdlabError):
        return cause.message
    text = _ANSI.sub("", str(cause)).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


def _run_ray(jobs_list: list[Job], should_stop, on_done: OnDone) -> None:
    import ray

    # Workers return file bytes, so a cluster needs no disk shared with this machine; a group that
    # raises comes back as failed summaries (run_job_safely), exactly as on the local backend.
    remote = ray.remote(run_job_returning_files)
    pending = {remote.remote(job): job for job in jobs_list}
    cancelled = False
    while pending:
        try:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
        except Exception as exc:  # the cluster lost (a ray:// connection broken): no task's files can come back
            for job in pending.values():  # recorded in one line each, as a lost node's, not a traceback and `pending`
                on_done(job, failed_summaries(job, one_line(exc)))
            return
        if should_stop() and not cancelled:
            # Once: each cancel raises a KeyboardInterrupt in a running task, and a second one (the queued tasks
            # come back cancelled at once, each a turn of this loop) killed it while it wrote its files
            cancelled = True
            for ref in pending:
                ray.cancel(ref)
        for ref in ready:
            job = pending.pop(ref)
            try:
                results, files = ray.get(ref)
                write_returned_files(job, files)
            except ray.exceptions.TaskCancelledError:  # cancelled before it started: the sweep records it as a
                continue  # local one (step 0, its empty folder removed), not as a folder of a made-up summary.json
            except Exception as exc:  # a lost node or a full disk, a stop or not, fails only its variants
                results = failed_summaries(job, one_line(exc))
            if on_done(job, results):
                _stop_the_rest(pending, on_done)
                return


def _stop_the_rest(pending: dict, on_done: OnDone, wait_s: float = 60.0) -> None:
    """--fail-fast under Ray: cancel what is left. Ray raises KeyboardInterrupt in a task already training,
    which ends its group `interrupted` with its files, as on the local backend, and is reported here; a task
    that never started raises TaskCancelledError and is left for the sweep to record as skipped; any other
    error (a lost node, a full disk, no answer in `wait_s`) is its variants' failure."""
    import time

    import ray

    for ref in pending:
        ray.cancel(ref)
    deadline = time.monotonic() + wait_s
    for ref, job in pending.items():
        try:
            results, files = ray.get(ref, timeout=max(0.1, deadline - time.monotonic()))
            write_returned_files(job, files)
        except ray.exceptions.TaskCancelledError:
            continue
        except Exception as exc:
            results = failed_summaries(job, one_line(exc))
        on_done(job, results)
