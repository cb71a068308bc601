"""The threads that write many run folders' files at once. Creating and writing files is system-call
work done without the GIL (a create cost 0.05-1 ms of kernel CPU on this project's VM), so threads use
every core; on an accelerator two background writers also write while the device trains."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, TypeVar

T = TypeVar("T")


def usable_cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)  # the cores this process may use, not the machine's
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


# One per core, at least 2, at most 32. A sweep fsyncs nothing, so its file work is CPU time (Python, and
# the kernel creating files) with no disk waits to overlap, and more threads than cores only contend: on
# the 2-core VM a K=128 group's headers and model.pt/summary.json took 0.16-0.21 s on 2 threads, 0.25-0.28 s
# on 8 (three interleaved runs of sweep_speed.py --phases), and (c) 0.61-0.71 s against 0.72-0.80 s.
IO_THREADS = max(2, min(32, usable_cores()))


def io_threads() -> int:
    """The I/O pool's size: GDLAB_IO_THREADS where set (a network file system, where each file waits on
    the server, may want more threads), else IO_THREADS."""
    text = os.environ.get("GDLAB_IO_THREADS")
    if text is None:
        return IO_THREADS
    if not (text.strip().isdigit() and 1 <= int(text) <= 256):
        from gdlab.errors import GdlabError

        raise GdlabError(f"GDLAB_IO_THREADS={text!r}: expected a whole number of threads from 1 to 256")
    return int(text)


class Background:
    """Calls started on a pool's threads: `wait()` lets every one finish, then returns their results in
    item order or raises the first error in item order. Waiting, the caller hands the chunks the
    background writers have not started to every I/O thread (`helpers`): nothing else is running then."""

    def __init__(self, fn: Callable, parts: list[tuple[Any, list]], helpers: Any = None):
        self.fn, self.helpers = fn, helpers
        self.parts = parts  # (future, chunk of items); each future yields [(ok, result or error), ...]

    def done(self) -> bool:
        return all(f.done() for f, _ in self.parts)

    def outcomes(self) -> list[tuple[bool, Any]]:
        """Every call's (True, result) or (False, error), in item order, once all have finished."""
        from concurrent.futures import wait

        if self.helpers is not None:
            for i, (future, chunk) in enumerate(self.parts):
                if future.cancel():  # not started: its items go to the I/O threads, in the same order
                    self.parts[i] = (self.helpers.submit(_calls, self.fn, chunk), chunk)
        wait([f for f, _ in self.parts])
        return [outcome for f, _ in self.parts for outcome in f.result()]

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


def _start(pool: Any, fn: Callable[[T], Any], items: list[T], chunks: int, helpers: Any = None) -> Background:
    # Items go in chunks: a future per item cost 40 us of the caller's time (1,024 run folders, four calls
    # each: 0.16 s).
    size = max(1, -(-len(items) // chunks))
    parts = [items[i : i + size] for i in range(0, len(items), size)]
    return Background(fn, [(pool.submit(_calls, fn, chunk), chunk) for chunk in parts], helpers)


def in_background(fn: Callable[[T], Any], items: Iterable[T]) -> Background:
    """Start `fn(x)` for every item on the background writers and return at once, for work that overlaps
    training. There are BACKGROUND_THREADS of them, not one per core: each one's Python takes the GIL
    from the loop that feeds the device. Small chunks, so that what is left when the caller waits can go
    to every I/O thread. `fn` must not use the pools."""
    pool, _ = _pool(background=True)
    return _start(pool, fn, list(items), chunks=64, helpers=_pool(background=False)[0])


def in_parallel(fn: Callable[[T], Any], items: Iterable[T]) -> list:
    """`[fn(x) for x in items]` over the I/O threads, for many run folders at once. Every call finishes;
    then the first error, in item order, is raised. `fn` must not use the pools."""
    items = list(items)
    if len(items) < 4:  # handing work to threads costs more than it saves
        return [fn(x) for x in items]
    pool, threads = _pool(background=False)
    return _start(pool, fn, items, chunks=4 * threads).wait()


# Writers that run while a group trains. Simulated on the 2-core VM (a main loop sleeping 7 ms a step for
# the GPU, plus 0.3 ms of Python, while 1,024 run headers were written): 1, 2 and 4 writers slowed the loop
# by 1-2%, 16 by 13%, 32 by 22% (a lower sys.setswitchinterval made it worse). Two still write a
# 1,024-variant sweep's headers and metrics files within its training on a GPU; what is left when
# the group waits for them goes to every I/O thread (Background.outcomes).
BACKGROUND_THREADS = 2
_POOLS: dict[tuple[int, bool], tuple[Any, int]] = {}


def _pool(background: bool) -> tuple[Any, int]:
    """A thread pool and its size, one of each kind per process: starting threads cost ~0.6 ms each on a
    busy CPU, and a sweep asks for a pool four times per group. Made anew in a forked child, where the
    parent's threads do not exist."""
    key = (os.getpid(), background)
    if key not in _POOLS:
        from concurrent.futures import ThreadPoolExecutor

        threads = min(BACKGROUND_THREADS, io_threads()) if background else io_threads()
        name = "gdlab-bg" if background else "gdlab-io"
        _POOLS[key] = (ThreadPoolExecutor(threads, thread_name_prefix=name), threads)
    return _POOLS[key]
