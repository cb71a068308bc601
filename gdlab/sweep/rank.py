"""Ranking a sweep's variants, and aggregating over seeds (mean ± std) when seed is an axis."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable


# What `gdlab sweep --rank-by` takes: sweep.csv's result columns that score a variant.
RANKABLE = ("best_val_loss", "final_val_loss", "final_train_loss", "final_val_accuracy")


def score_metric(rows: list[dict], rank_by: str | None = None, default: str | None = None) -> str:
    """`rank_by` when given; else validation loss when the sweep has one, else `default` (what the configs
    say, `default_rank_by`: rows where every variant ended before its first evaluation have no validation
    value to tell), else the final training loss."""
    if rank_by is not None:
        return rank_by
    return "best_val_loss" if any(r.get("best_val_loss") is not None for r in rows) else default or "final_train_loss"


def default_rank_by(configs: Iterable) -> str:
    """What --rank-by defaults to for these variants: best_val_loss where any has a validation split."""
    return "best_val_loss" if any(c.data.val_fraction > 0 for c in configs) else "final_train_loss"


def check_rank_by(rank_by: str | None, configs: Iterable) -> None:
    """A score to rank by exists only where the variants have it: an accuracy where every variant classifies, a
    validation score where some variant holds validation rows; else one line, before anything runs."""
    if rank_by is None:
        return
    from gdlab.errors import GdlabError

    configs = list(configs)
    if higher_is_better(rank_by) and {c.task for c in configs} != {"classification"}:
        raise GdlabError(f"--rank-by {rank_by}: this sweep has regression variants (an MSE-like loss), which have "
                         "no accuracy; rank by best_val_loss, final_val_loss or final_train_loss")
    if "_val_" in rank_by and all(c.data.val_fraction == 0 for c in configs):
        raise GdlabError(f"--rank-by {rank_by}: no variant of this sweep has validation rows (data.val_fraction: 0); "
                         "rank by final_train_loss, or set data.val_fraction (e.g. 0.2)")


def higher_is_better(metric: str) -> bool:
    return "accuracy" in metric


def setting_key(point: dict) -> tuple:
    """What makes a variant's setting: its values on every axis but the seed (its seeds are one setting's runs)."""
    return tuple(repr(v) for k, v in point.items() if k != "seed")


def changes_the_problem(axis: str) -> bool:
    """Whether an axis changes what the score measures (a key under `loss`: MSE against cross-entropy, label
    smoothing) or the problem itself (under `data`: less noise is always easier), so that scores across its
    values are not comparable."""
    return axis.split(".")[0] in ("loss", "data")


def problem_axes(rows: list[dict], axes: list[str]) -> list[str]:
    """The axes that change the problem and take more than one value in `rows`."""
    return [a for a in axes if changes_the_problem(a) and len({repr(r[a]) for r in rows}) > 1]


def problem_parts(rows: list[dict], axes: list[str]) -> list[tuple[list[str], str, list[dict]]] | None:
    """The rows split by their values of the problem axes: (those axes, `data.noise=0.1`, the part's rows), where
    some part holds more than one setting to choose a best among; None otherwise (one best for the sweep: an axis
    of such values alone, data.features=[...], has one setting per value)."""
    from gdlab.yamldump import format_value

    apart = problem_axes(rows, axes)
    parts: dict[tuple, list[dict]] = {}
    for r in rows:
        parts.setdefault(tuple(repr(r[a]) for a in apart), []).append(r)
    if not apart or all(len({setting_key({a: r[a] for a in axes}) for r in part}) == 1 for part in parts.values()):
        return None
    return [(apart, ", ".join(f"{a}={format_value(part[0][a])}" for a in apart), part) for part in parts.values()]


def _signed(value: float, metric: str) -> float:
    """The value to sort ascending by: an accuracy's negative, so the highest comes first."""
    return -value if higher_is_better(metric) else value


def _score(row: dict, metric: str, status: str = "completed") -> float | None:
    """The row's finite value of `metric` if it ended with `status` (an interrupted one's is a partial result)."""
    v = row.get(metric)
    return v if isinstance(v, (int, float)) and math.isfinite(v) and row.get("status") == status else None


# The order of the statuses in a ranking: a run cut short by Ctrl-C is a partial result, worth more than a
# diverged one, whose best value before it blew up names no setting to use; then what broke, what never ran.
# A pruned run (`--prune`) is a result cut short on purpose: after the interrupted ones, before a diverged one.
STATUS_ORDER = ("completed", "interrupted", "pruned", "diverged", "failed", "skipped", "pending")


def rank_rows(rows: list[dict], rank_by: str | None = None, default: str | None = None) -> list[dict]:
    """Completed variants by score (lower is better, higher for an accuracy; those without the score, e.g.
    no validation split, next by train loss), then interrupted ones by the same score (those without it by
    steps trained), then pruned (the latest rung first, then by the score they were pruned with), then diverged
    (latest divergence first), then failed, skipped, pending (furthest first)."""
    metric = score_metric(rows, rank_by, default)

    def key(r):
        status, steps = r.get("status"), r.get("steps")
        trained = -steps if isinstance(steps, int) else 0
        if status == "completed":
            s = _score(r, metric)
            if s is not None:
                return (0, _signed(s, metric))
            train = _score(r, "final_train_loss")  # no value of the metric (no val split in this variant)
            return (0, math.inf, train if train is not None else math.inf)
        if status == "interrupted":
            s = _score(r, metric, "interrupted")
            return (1, _signed(s, metric)) if s is not None else (1, math.inf, trained)
        if status == "pruned":
            s = _score(r, metric, "pruned")
            return (2, -(r.get("pruned_at_step") or 0), _signed(s, metric) if s is not None else math.inf)
        if status == "diverged":
            return (3, -(r.get("diverged_at_step") or 0))
        return (4, _status_rank(status), trained)

    return sorted(rows, key=key)


def _status_rank(status: str | None) -> int:
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


@dataclass
class Aggregate:
    point: dict[str, Any]  # the non-seed axes
    mean: float | None
    std: float | None
    n_ok: int
    n: int
    statuses: dict[str, int]
    metric: str  # the sweep's score, or final_train_loss for a point with no validation split
    lowest: float | None = None  # the lowest seed's score, where a slice's error bar stops (mean - std can be < 0)
    pruned_at: int = 0  # the latest rung `--prune` stopped a seed of it at (0: none)
    pruned_score: float = math.inf  # where every seed was pruned: their mean, signed (lower first), as the rung ranked it

    @property
    def pruned_mean(self) -> float | None:
        """pruned_score as the metric's own value (an accuracy, not its negative); None where it has none."""
        return _signed(self.pruned_score, self.metric) if math.isfinite(self.pruned_score) else None


def best_over_seeds(points: Iterable[tuple[Any, float | None, int, int]], higher: bool = False) -> Any | None:
    """The key of the best (key, mean, seeds scored, seeds run): the lowest mean (`higher`: the highest)
    among points where every seed finished, or among all when none did, since one lucky seed is not a
    better setting. The sweep plot's star asks this; aggregate_over_seeds orders settings by the same rule
    (best_setting, for the ranking and `sweep --expect`)."""
    scored = [p for p in points if p[1] is not None]
    pool = [p for p in scored if p[2] == p[3]] or scored
    return (max if higher else min)(pool, key=lambda p: p[1])[0] if pool else None


def aggregate_over_seeds(rows: list[dict], axes: list[str], rank_by: str | None = None,
                         default: str | None = None) -> list[Aggregate]:
    """Mean ± std of the score over seeds for each point of the other axes (std None from one seed), best
    first: settings every seed finished before those some seeds did not."""
    metric = score_metric(rows, rank_by, default)
    others = [a for a in axes if a != "seed"]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(setting_key({a: r[a] for a in axes}), []).append(r)
    out = []
    for members in groups.values():
        used = metric
        scores = [s for r in members if (s := _score(r, metric)) is not None]
        if not scores and rank_by is None and any(r.get("best_val_loss") is None and r.get("status") == "completed"
                                                  for r in members):
            used = "final_train_loss"  # no validation split at this point (a val_fraction axis): as rank_rows does
            scores = [s for r in members if (s := _score(r, used)) is not None]
        statuses: dict[str, int] = {}
        for r in members:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        out.append(Aggregate(
            {a: members[0][a] for a in others},
            statistics.fmean(scores) if scores else None,
            statistics.stdev(scores) if len(scores) > 1 else None,  # one seed has no spread to show, not 0
            len(scores), len(members), statuses, used, min(scores) if scores else None,
            max((r["pruned_at_step"] for r in members if isinstance(r.get("pruned_at_step"), int)), default=0),
            _pruned_score(members, metric),
        ))
    # the sweep's own score first: a training loss is no validation loss to rank against; then the settings
    # every seed finished, as best_over_seeds picks (a mean over the one seed that survived is luck)
    # and a setting no seed of which finished by its seeds' best status, as rank_rows orders runs: one cut short
    # by Ctrl-C before one that diverged, and pruned settings by the latest rung they reached, then by the score they were pruned with
    return sorted(out, key=lambda a: (a.mean is None, a.metric != metric, a.n_ok < a.n,
                                      _signed(a.mean, a.metric) if a.mean is not None else 0.0,
                                      min(map(_status_rank, a.statuses)), -a.pruned_at, a.pruned_score))


def _pruned_score(members: list[dict], metric: str) -> float:
    """The signed mean of a setting's seeds where --prune stopped every one; +inf otherwise (a diverged seed made
    the rung rank its setting last)."""
    scores = [s for r in members if (s := _score(r, metric, "pruned")) is not None]
    return _signed(statistics.fmean(scores), metric) if scores and len(scores) == len(members) else math.inf


def several_seeds(rows: list[dict], axes: list[str]) -> bool:
    """Whether seed is an axis with more than one value: then a setting is judged by its mean over seeds."""
    return "seed" in axes and len({repr(r["seed"]) for r in rows}) > 1


def best_setting(rows: list[dict], axes: list[str], rank_by: str | None = None,
                 default: str | None = None) -> Aggregate | None:
    """The setting a sweep over seeds names best, as best_over_seeds picks it: the first of aggregate_over_seeds'
    order; None where no setting has a mean. The ranking's best line and `sweep --expect` both ask this."""
    points = aggregate_over_seeds(rows, axes, rank_by, default)
    return points[0] if points and points[0].mean is not None else None
