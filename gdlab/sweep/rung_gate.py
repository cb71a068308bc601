"""The rungs of a pruned sweep whose variants train as several batched groups (SGD and Adam, two widths): the
groups take turns in one process, each training to the next rung and waiting there until every other group
has reached it or ended, so each rung compares the whole sweep's settings, as one group's would."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from gdlab.sweep.prune import Finished, Halving


class RungGate:
    """Where the groups meet at each rung. One group trains at a time (the `turn`): groups at once would contend
    for the cores torch already gives each one, and a CUDA graph cannot be captured while another thread runs
    kernels. Between rungs the groups are independent, so the results depend only on the rungs' decisions."""

    def __init__(self, prune: dict, groups: int, should_stop: Callable[[], bool] = lambda: False):
        self.metric, self.rungs = prune["metric"], list(prune["rungs"])
        finished = [Finished.from_summary(f["setting"], f["summary"], self.metric) for f in prune.get("finished", [])]
        self.halving = Halving(prune["factor"], finished, dict(prune.get("strata", {})))
        self.should_stop = should_stop
        self.turn = threading.Lock()
        self.cond = threading.Condition()
        self.live = set(range(groups))
        self.arrived: dict[int, tuple[int, list]] = {}  # group -> (rung, its models' (setting, score, training))
        self.decided: dict[int, set[int] | None] = {}  # rung -> the settings kept (None: stopping, no decision)

    def seat(self, group: int, settings: list[int]) -> "Seat":
        return Seat(self, group, settings)

    def enter(self) -> None:
        """Wait for the turn to train (a group's run begins with it)."""
        self.turn.acquire()

    def leave(self, group: int, ended: list[Finished]) -> None:
        """A group's run ended (done, every model stopped, failed or interrupted): its models count at the rungs
        still to come as the variants of an earlier run do."""
        try:
            with self.cond:
                self.live.discard(group)
                self.arrived.pop(group, None)
                self.halving.finished.extend(ended)
                self._decide_if_all_arrived()
        finally:  # the next group's turn, whatever happened here
            self.turn.release()

    def at_rung(self, group: int, step: int, models: list[tuple[int, float, bool]]) -> set[int] | None:
        """The settings kept past rung `step` once every live group has reached it; None when the sweep is
        stopping (a group stopped short of the rung cannot be judged there, and a resume judges it again)."""
        with self.cond:
            self.arrived[group] = (step, models)
            self._decide_if_all_arrived()
            if step in self.decided:
                return self.decided[step]
        self.turn.release()  # let the groups still short of the rung train
        try:
            with self.cond:
                # no polling: the group training now meets a stop at its next step, and its leave decides
                while step not in self.decided:
                    self.cond.wait()
                return self.decided[step]
        finally:
            self.turn.acquire()

    def _decide_if_all_arrived(self) -> None:
        if not self.arrived or set(self.arrived) != self.live:
            return
        step = next(iter(self.arrived.values()))[0]
        stopping = self.should_stop()
        models = [m for g in sorted(self.arrived) for m in self.arrived[g][1]]
        self.decided[step] = None  # should the ranking raise, the waiting groups go on unpruned, not wait forever
        try:
            self.decided[step] = None if stopping else self.halving.kept(step, models)
        finally:
            self.arrived.clear()
            self.cond.notify_all()


@dataclass
class Seat:
    """One group's place at the gate: its index and each of its models' setting."""

    gate: RungGate
    group: int
    settings: list[int]

    def at_rung(self, step: int, models: list[tuple[int, float, bool]]) -> set[int] | None:
        return self.gate.at_rung(self.group, step, models)
