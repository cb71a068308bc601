"""The threads that write many run folders' files at once. Creating and writing files is system-call
work done without the GIL (a create cost 0.05-1 ms of kernel CPU on this project's VM), so threads use
every core; on an accelerator they also write while the device trains."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, TypeVar

T = TypeVar("T")


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)  # the cores this process may use, not the machine's
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


# One per core, at least 2, at most 32. A sweep fsyncs nothing, so its file work is CPU time (Python, and
# the kernel creating files) with no disk waits to overlap, and more threads than cores only contend: on
# the 2-core VM a K=128 group's headers and model.pt/summary.json took 0.16-0.21 s on 2 threads, 0.25-0.28 s
# on 8 (three interleaved runs of sweep_speed.py --phases), and (c) 0.61-0.71 s against 0.72-0.80 s.
IO_THREADS = max(2, min(32, _cores()))


def io_threads() -> int:
    """The pool's size: GDLAB_IO_THREADS where set (a network file system may want more threads; a GPU run
    whose writers' Python holds the GIL its training loop needs, fewer), else IO_THREADS."""
    text = os.environ.get("GDLAB_IO_THREADS")
    if text is None:
        return IO_THREADS
    if not (text.strip().isdigit() and 1 <= int(text) <= 256):
        from gdlab.errors import GdlabError

        raise GdlabError(f"GDLAB_IO_THREADS={text!r}: expected a whole number of threads from 1 to 256")
    return int(text)


class Background:
    """Calls started on the I/O threads: `wait()` lets every one finish, then returns their results in
    item order or raises the first error in item order."""

    def __init__(self, futures: list):
        self.futures = futures  # one per chunk of items: each yields [(ok, result or error), ...]

    def done(self) -> bool:
        return all(f.done() for f in self.futures)

    def outcomes(self) -> list[tuple[bool, Any]]:
        """Every call's (True, result) or (False, error), in item order, once all have finished."""
        from concurrent.futures import wait

        wait(self.futures)
        return [outcome for f in self.futures for outcome in f.result()]

    def wait(self) -> list:
        outcomes = self.outcomes()
        error = next((value for ok, value in outcomes if not ok), None)
        if error is not None:
            raise error
        return [value for _, value in outcomes]


def _calls(fn: Callable[[T], Any], chunk: list[T]) -> list[tuple[bool, Any]]:
    out = []
    for x in chunk:
        try:
            out.append((True, fn(x)))
        except Exception as exc:  # every call runs; the error is raised from wait()
            out.append((False, exc))
    return out


def in_background(fn: Callable[[T], Any], items: Iterable[T]) -> Background:
    """Start `fn(x)` for every item on the I/O threads and return at once. `fn` must not use the pool.
    Items go in chunks, a few per thread: a future per item cost 40 us of the caller's time (1,024 run
    folders, four calls each: 0.16 s)."""
    items = list(items)
    pool, threads = _io_pool()
    size = max(1, -(-len(items) // (4 * threads)))
    return Background([pool.submit(_calls, fn, items[i : i + size]) for i in range(0, len(items), size)])


def in_parallel(fn: Callable[[T], Any], items: Iterable[T]) -> list:
    """`[fn(x) for x in items]` over the I/O threads, for many run folders at once. Every call finishes;
    then the first error, in item order, is raised. `fn` must not use the pool."""
    items = list(items)
    if len(items) < 4:  # handing work to threads costs more than it saves
        return [fn(x) for x in items]
    return in_background(fn, items).wait()


_POOL: tuple[int, Any, int] | None = None


def _io_pool():
    """The process's thread pool and its size. One per process: starting threads cost ~0.6 ms each on a
    busy CPU, and a sweep asks for the pool four times per group. Made anew in a forked child, where the
    parent's threads do not exist."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        threads = io_threads()
        _POOL = (os.getpid(), ThreadPoolExecutor(threads, thread_name_prefix="gdlab-io"), threads)
    return _POOL[1], _POOL[2]
