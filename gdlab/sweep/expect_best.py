"""`gdlab sweep --expect 'final_val_loss<0.3'`: a sweep's bars, judged on its best setting (the top of its
ranking, or with several seeds the setting whose mean ranks first), so CI can fail a sweep that finds nothing
good enough, or a learning rate whose result regressed."""

from __future__ import annotations

import statistics
from pathlib import Path

from gdlab.errors import GdlabError
from gdlab.expect import Expectation, check_applicable, last_values
from gdlab.sweep.rank import best_setting, problem_parts, rank_rows, several_seeds
from gdlab.yamldump import format_value


def check_sweep_applicable(expectations: list[Expectation], configs: list, sharpness: bool) -> None:
    """Refuse, before anything runs, a bar no variant could report (as `gdlab train` does for its run); the
    initial sharpness is measured in a sweep only with --sharpness."""
    for e in expectations:
        if e.name == "init_sharpness" and not sharpness:
            raise GdlabError(f"{e.option} '{e.text}': a sweep measures init_sharpness only with --sharpness; add it")
    # with --sharpness every variant counts its unsettled measurements, so that bar is not the run's question
    asked = [e for e in expectations if not (sharpness and e.name in ("init_sharpness", "sharpness_unsettled"))]
    seen: set[str] = set()
    for cfg in configs:  # a bar every variant can report: the best one may be any of them
        key = cfg.model_dump_json(include={"loss", "data", "train"})
        if key not in seen:
            seen.add(key)
            check_applicable(asked, cfg)


def judge_best(expectations: list[Expectation], rows: list[dict], axes: list[str], folder: Path,
               rank_by: str | None, default: str | None) -> list[str]:
    """Why each missed bar missed, judged on the best setting: the first completed variant of the ranking, or,
    with several seeds, the mean over the seeds of the setting ranked first over seeds (every seed must complete
    with a finite value: a diverged seed fails the bar, as one lucky seed is no result). An axis that changes the
    problem (data, loss) gets a best of each of its values, as the ranking's best lines do: each must meet the bar."""
    if not expectations:
        return []
    out: list[str] = []
    for _, where, part in problem_parts(rows, axes) or [([], "", rows)]:
        out += _judge(expectations, part, axes, folder, rank_by, default, where)
    return out


def _judge(expectations: list[Expectation], rows: list[dict], axes: list[str], folder: Path,
           rank_by: str | None, default: str | None, where: str = "") -> list[str]:
    """judge_best for rows that share one problem (`where` names it: `data.noise=0.5`, or "" for the sweep)."""
    seeds = several_seeds(rows, axes)
    if seeds:
        best = best_setting(rows, axes, rank_by, default)  # the ranking's "best over seeds" line names it too
        members = [r for r in rows if best and all(repr(r[a]) == repr(v) for a, v in best.point.items())]
        label = ", ".join(f"{a}={format_value(v)}" for a, v in best.point.items()) if best else ""
        whose = f"the best setting ({label or 'base'}, mean over {len(members)} seeds)"
    else:
        top = rank_rows(rows, rank_by, default)[:1]
        members = [r for r in top if r.get("status") == "completed"]
        whose = f"the best variant ({members[0]['run_dir']})" if members else ""
    if not members:
        statuses: dict[str, int] = {}
        for r in rows:
            statuses[r.get("status")] = statuses.get(r.get("status"), 0) + 1
        said = ", ".join(f"{k} {v}" for k, v in statuses.items())
        within = f" ({where})" if where else ""
        return [f"expected {e.text}, but no variant of the sweep completed ({said}){within}" for e in expectations]
    summaries = [variant_summary(folder / r["run_dir"]) for r in members]
    out = []
    # a seed that did not complete counts as no value: a diverged run's summary keeps its last evaluation's
    # val loss, a finite number that could meet the bar
    unfinished = [r.get("status") for r in members if r.get("status") != "completed"]
    also = f" ({', '.join(f'{k} {unfinished.count(k)}' for k in dict.fromkeys(unfinished))})" if unfinished else ""
    for e in expectations:
        values = [variant_value(e, s, folder / r["run_dir"]) if r.get("status") == "completed" else None
                  for s, r in zip(summaries, members)]
        finite = [v for v in values if isinstance(v, (int, float)) and v == v and abs(v) != float("inf")]
        value = statistics.fmean(finite) if len(finite) == len(values) else None
        missing = (f"only {len(finite)} of {len(values)} seeds of {whose} completed with a finite {e.name}{also}"
                   if seeds else f"{whose} has no finite {e.name}")
        if (msg := e.verdict(value, missing)) is not None:
            out.append(msg if value is None else f"{msg} for {whose}")
    return out


def variant_value(e: Expectation, summary: dict, run_dir: Path) -> float | None:
    """A variant's value of the bar's name: its summary's, else its metrics.csv column's last recorded one."""
    wanted = e.name in summary or f"final_{e.name}" in summary
    return e.value(summary, None if wanted else last_values(run_dir / "metrics.csv", {e.name}))


def variant_summary(run_dir: Path) -> dict:
    """A variant's summary.json (every number its bars may name); {} when unreadable, so each bar says the
    variant has no such value."""
    import json

    try:
        return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
