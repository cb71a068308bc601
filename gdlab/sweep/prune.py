"""Successive halving (`gdlab sweep --prune halving`): the rungs a sweep stops its weaker settings at, and
the decision at each rung. Pure bookkeeping: the engine asks `Halving.decide` and stops the models it names."""

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
    """A variant that already ended in an earlier run of the sweep (`--resume`): its setting, how and when it
    ended, its scores at the rungs it reached and its final score (all signed: lower is better)."""

    setting: int
    status: str
    end: int
    diverged_at: int | None
    scores: dict[int, float]
    final: float

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
    by the mean of their seeds' scores (a seed that diverged scores +inf), ties to the earlier setting.
    `settings[k]`: the sweep index of the first variant of model k's setting (its seeds share it)."""

    rungs: list[int]
    factor: int
    settings: list[int]
    finished: list[Finished] = field(default_factory=list)
    scores: list[dict[int, float]] = field(default_factory=list)  # each model's score at the rungs it reached

    def __post_init__(self):
        self.scores = [{} for _ in self.settings]

    def decide(self, step: int, scores: list[float | None], training: list[bool]) -> list[int]:
        """The models of this group to stop at rung `step`, given each one's signed score there (lower is better;
        a diverged model's +inf) and whether it still trains."""
        by_setting: dict[int, list[float]] = {}
        competing: set[int] = set()
        for k, (s, alive) in enumerate(zip(scores, training)):
            by_setting.setdefault(self.settings[k], []).append(_score(s))
            if alive:
                competing.add(self.settings[k])
                self.scores[k][step] = _score(s)
        for f in self.finished:
            by_setting.setdefault(f.setting, []).append(f.score_at(step))
            if f.training_at(step):
                competing.add(f.setting)
        means = {s: (math.inf if math.inf in v else sum(v) / len(v)) for s, v in by_setting.items()}
        ranked = sorted(competing, key=lambda s: (means[s], s))
        kept = set(ranked[: math.ceil(len(ranked) / self.factor)])
        return [k for k, alive in enumerate(training) if alive and self.settings[k] not in kept]


def signed(value, metric: str) -> float:
    """A metric's value as a score, lower better (the ranking's direction: an accuracy's negative); no finite
    value is +inf."""
    return _score(-value if isinstance(value, (int, float)) and higher_is_better(metric) else value)


class GroupPruning:
    """The glue between a group's run (runner.run_group) and `Halving`: at each rung's record it scores every
    model as its summary would if the run ended there (metrics.summary_values, the ranking's metric) and stops
    the models of the settings that lose."""

    def __init__(self, prune: dict, trainer):
        self.metric, self.trainer = prune["metric"], trainer
        finished = [Finished(f["setting"], f["status"], f["end"], f["diverged_at"],
                             {int(s): signed(v, self.metric) for s, v in f["scores"]}, signed(f["final"], self.metric))
                    for f in prune.get("finished", [])]
        self.halving = Halving(list(prune["rungs"]), prune["factor"], list(prune["settings"]), finished)
        trainer.rungs = set(self.halving.rungs)  # the loop hands the host each rung's record at once

    def after(self, step: int, metrics) -> None:
        """Called with each record, once metrics.csv's consumer has read it."""
        tr = self.trainer
        if step not in tr.rungs or step != tr.step:  # (a record read late never decides: the loop flushes at rungs)
            return
        training = [tr.divergence.alive_host(k) for k in range(tr.K)]
        scores = [math.inf if tr.diverged_at[k] is not None else signed(self._value(k, metrics), self.metric)
                  for k in range(tr.K)]
        tr.prune(self.halving.decide(step, scores, training), step)

    def _value(self, k: int, metrics):
        if self.metric == "final_train_loss":
            return self.trainer.epoch_means.final(k)[0]  # over the last complete epoch, as the summary's
        return metrics.summary_values(k)[self.metric]

    def rung_scores(self, k: int) -> list[list]:
        """Model k's score at each rung it trained at, as the metric's own value (summary.json's `rung_scores`)."""
        sign = -1 if higher_is_better(self.metric) else 1
        return [[s, v * sign if math.isfinite(v) else None] for s, v in sorted(self.halving.scores[k].items())]
