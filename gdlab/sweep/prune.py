"""Successive halving (`gdlab sweep --prune halving`): the rungs a sweep stops its weaker settings at, and
the decision at each rung (`Halving.kept`, pure bookkeeping), and each group's glue to it (`GroupPruning`, which
stops the models of the settings that lost; sweep/rung_gate.py gathers the groups)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gdlab.sweep.rank import higher_is_better

MODES = ("off", "halving")


def rung_steps(total: int, factor: int, first: int) -> list[int]:
    """first, first·η, first·η², ... while before the run's last step (a rung at the end would prune nothing)."""
    rungs, step = [], first
    while step < total:
        rungs.append(step)
        step *= factor
    return rungs


def default_first(total: int, factor: int, eval_every: int | None) -> int:
    """The first rung: total/η² rounded up (two rungs, the last a third of the way before the end at η=3), and up
    to an evaluation's step where the ranking reads validation values, so every rung falls on an evaluation."""
    first = max(1, math.ceil(total / factor**2))
    if eval_every:
        first = math.ceil(first / eval_every) * eval_every
    return first


def _score(value) -> float:
    """A score to sort ascending by; no value (NaN, null, a divergence) sorts last."""
    return value if isinstance(value, (int, float)) and math.isfinite(value) else math.inf


@dataclass
class Finished:
    """A variant that ended before a rung: in an earlier run of the sweep (`--resume`), or in a group of this run
    that ended first. Its setting, how and when it ended, its scores at the rungs it reached and its final score
    (all signed: lower is better)."""

    setting: int
    status: str
    end: int
    diverged_at: int | None
    scores: dict[int, float]
    final: float

    @classmethod
    def from_summary(cls, setting: int, summary: dict, metric: str) -> "Finished":
        """What a variant's summary (summary.json, or what its group returned) says about it at the rungs."""
        status = summary.get("status")
        end = summary.get("pruned_at_step") if status == "pruned" else summary.get("steps")
        scores = {int(s): signed(v, metric) for s, v in summary.get("rung_scores") or []}
        return cls(setting, status, end if isinstance(end, int) else 0, summary.get("diverged_at_step"), scores,
                   signed(summary.get(metric), metric))

    def training_at(self, step: int) -> bool:
        if self.status == "pruned":  # pruned at `end`: it competed there
            return self.end >= step
        return self.end > step

    def score_at(self, step: int) -> float:
        if self.diverged_at is not None and self.diverged_at <= step:
            return math.inf
        return self.scores.get(step, self.final)


@dataclass
class Halving:
    """Which settings go on at each rung: the best ⌈n/η⌉ of the n settings with a seed still training there,
    by the mean of their seeds' scores (a seed that diverged scores +inf), ties to the earlier setting; settings
    of different values of a data or loss axis (`strata`) are ranked apart, as their scores are not comparable.
    A setting is the sweep index of the first variant with its values (its seeds share it)."""

    factor: int
    finished: list[Finished] = field(default_factory=list)
    strata: dict[int, int] = field(default_factory=dict)  # setting -> its values on the axes that change the problem

    def kept(self, step: int, models: list[tuple[int, float, bool]]) -> set[int]:
        """The settings that go on past rung `step`, given every model still in a group as (setting, signed
        score there, still training); `finished` count too."""
        by_setting: dict[int, list[float]] = {}
        competing: set[int] = set()
        for setting, s, alive in models:
            by_setting.setdefault(setting, []).append(_score(s))
            if alive:
                competing.add(setting)
        for f in self.finished:
            by_setting.setdefault(f.setting, []).append(f.score_at(step))
            if f.training_at(step):
                competing.add(f.setting)
        means = {s: (math.inf if math.inf in v else sum(v) / len(v)) for s, v in by_setting.items()}
        strata: dict[int, list[int]] = {}
        for s in competing:
            strata.setdefault(self.strata.get(s, 0), []).append(s)
        kept: set[int] = set()
        for members in strata.values():  # each dataset's (loss's) settings against each other, not against another's
            ranked = sorted(members, key=lambda s: (means[s], s))
            kept.update(ranked[: math.ceil(len(ranked) / self.factor)])
        return kept


def signed(value, metric: str) -> float:
    """A metric's value as a score, lower better (the ranking's direction: an accuracy's negative); no finite
    value is +inf."""
    return _score(-value if isinstance(value, (int, float)) and higher_is_better(metric) else value)


class GroupPruning:
    """The glue between a group's run (runner.run_group) and the sweep's rungs (sweep/rung_gate.py): at each rung's
    record it scores every model as its summary would if the run ended there (metrics.summary_values, the ranking's
    metric), waits for the sweep's other groups to reach the rung, and stops the models of the settings that lose."""

    def __init__(self, seat, trainer):
        self.seat, self.metric, self.trainer = seat, seat.gate.metric, trainer
        self.scores: list[dict[int, float]] = [{} for _ in range(trainer.K)]  # each model's, at the rungs it trained at
        trainer.rungs = set(seat.gate.rungs)  # the loop hands the host each rung's record at once

    def after(self, step: int, metrics) -> None:
        """Called with each record, once metrics.csv's consumer has read it."""
        tr = self.trainer
        if step not in tr.rungs or step != tr.step:  # (a record read late never decides: the loop flushes at rungs)
            return
        training = [tr.divergence.alive_host(k) for k in range(tr.K)]
        scores = [math.inf if tr.diverged_at[k] is not None else signed(self._value(k, metrics), self.metric)
                  for k in range(tr.K)]
        for k, alive in enumerate(training):
            if alive:
                self.scores[k][step] = _score(scores[k])
        # (torch's thread count is this thread's own: a group that trains while this one waits leaves it as it was)
        kept = self.seat.at_rung(step, list(zip(self.seat.settings, scores, training)))
        if kept is not None:  # None: the sweep is stopping, and no rung decides without every group
            tr.prune([k for k, alive in enumerate(training) if alive and self.seat.settings[k] not in kept], step)

    def _value(self, k: int, metrics):
        if self.metric == "final_train_loss":
            return self.trainer.epoch_means.final(k)[0]  # over the last complete epoch, as the summary's
        return metrics.summary_values(k)[self.metric]

    def rung_scores(self, k: int) -> list[list]:
        """Model k's score at each rung it trained at, as the metric's own value (summary.json's `rung_scores`)."""
        sign = -1 if higher_is_better(self.metric) else 1
        return [[s, v * sign if math.isfinite(v) else None] for s, v in sorted(self.scores[k].items())]
