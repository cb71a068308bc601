"""Planning `gdlab sweep --prune halving` before anything runs: the rungs, the metric they rank by, what cannot
work refused in one line, and (for `--resume`) what the variants that already ended said at each rung."""

from __future__ import annotations

from gdlab.config.base import yaml_boolean
from gdlab.errors import GdlabError
from gdlab.sweep.prune import MODES, default_first, rung_steps


def check_prune_options(mode: str, factor: int | None, first: int | None) -> None:
    """The flags alone: a mode gdlab knows, a factor of at least 2, and no factor or first rung without pruning."""
    if mode not in MODES:
        raise GdlabError(f"--prune: '{mode}' is not one of {', '.join(MODES)}")
    if mode == "off" and (factor is not None or first is not None):
        flag = "--prune-factor" if factor is not None else "--prune-first"
        raise GdlabError(f"{flag}: only used with --prune halving; add --prune halving")
    if factor is not None and factor < 2:
        raise GdlabError(f"--prune-factor {factor}: keeps 1/factor of the settings at each rung; allowed: a whole number >= 2")
    if first is not None and first < 1:
        raise GdlabError(f"--prune-first {first}: the first rung's step; allowed: a whole number >= 1")


def plan_pruning(setup, mode: str, factor: int | None, first: int | None, jobs: int, backend: str,
                 rank_by: str | None, datasets: dict) -> dict | None:
    """sweep.yaml's `prune` option (None when off): {mode, factor, first, rungs, metric}. Rungs compare every setting
    of the sweep, so its groups must train in this process (sweep/lockstep.py) and share one schedule of steps
    and evaluations; a sweep that cannot is refused, with what to change. `datasets`: each variant's, as
    preflight loaded them."""
    check_prune_options(mode, factor, first)
    if mode == "off":
        return None
    factor = factor or 3
    if len(set(setting_of(setup.plans).values())) < 2:
        raise GdlabError("--prune halving: this sweep has one setting (its seeds are judged together), so no rung "
                         "has anything to stop; sweep an axis besides seed, or drop --prune")
    strata = strata_of(setup.plans)
    if len(set(strata.values())) == len(strata):  # each value of a data/loss axis is ranked alone: one setting each
        from gdlab.sweep.rank import changes_the_problem

        apart = ", ".join(a for a in setup.axes if changes_the_problem(a))
        raise GdlabError(f"--prune halving: a rung ranks the settings of each value of {apart} apart (their scores are "
                         "not comparable), and each has one setting, so no rung has anything to stop; sweep another "
                         "axis too (optimizer.lr), or drop --prune")
    from gdlab.sweep.rank import default_rank_by

    rank_by = rank_by or default_rank_by(p.cfg for p in setup.plans)  # the ranking's metric is the rungs' too
    if backend != "local":
        raise GdlabError("--prune halving: runs on the local backend only (its rungs compare every variant in one "
                         "process); drop --backend ray")
    if jobs > 1:
        raise GdlabError(f"--prune halving: --jobs {jobs} would train the groups in other processes, and a rung "
                         "compares all the sweep's settings in this one; drop --jobs")
    from gdlab.engine.batches import length_key

    cfg = setup.plans[0].cfg
    total, eval_every = _schedule(setup, datasets, rank_by)
    where = f"{setup.source}: train.{length_key(cfg.train)}"
    if total < 2:  # no step before the last for a rung to fall on, whatever the first
        raise GdlabError(f"--prune halving: {where} makes {total} step, and a rung falls before the run's last step; "
                         "allowed: 2 steps or more")
    if eval_every and eval_every >= total:  # no evaluation before the last step: whatever the first rung, none fits
        key = f"train.eval_every {cfg.train.eval_every}" if cfg.train.eval_every else \
            f"train.eval_every null (each epoch's last step, {eval_every})"
        raise GdlabError(f"--prune halving: {setup.source}: {key}: the rungs rank by {rank_by}, read at evaluations, and "
                         f"the first is at or past the run's last step ({total}); allowed: train.eval_every from 1 to "
                         f"{total - 1}, or --rank-by final_train_loss")
    first = first or default_first(total, factor, eval_every)
    rungs = rung_steps(total, factor, first)
    if not rungs:
        raise GdlabError(f"--prune-first {first}: {where} makes {total} steps, which end before the first rung; "
                         f"allowed: a first rung from 1 to {total - 1}")
    if eval_every and first < eval_every:
        raise GdlabError(f"--prune-first {first}: the rungs rank by {rank_by}, and the first evaluation is at step "
                         f"{eval_every} (train.eval_every); allowed: a first rung from {eval_every} to {total - 1}")
    return {"mode": mode, "factor": factor, "first": first, "rungs": rungs, "metric": rank_by}


def _schedule(setup, datasets: dict, rank_by: str) -> tuple[int, int | None]:
    """The steps every variant trains and, where the rungs read validation values, the steps between its
    evaluations: one for the whole sweep, or the first two variants that differ are named."""
    from gdlab.engine.batches import BatchPlan

    seen: dict[tuple, object] = {}
    for p in setup.plans:
        data = datasets[p.index]
        plan = BatchPlan.from_config(p.cfg.train, data.x_train.shape[0])
        val = data.x_val is not None and "_val_" in rank_by
        schedule = (plan.total_steps, (p.cfg.train.eval_every or plan.steps_per_epoch) if val else None)
        seen.setdefault(schedule, p)
        if len(seen) > 1:
            (a, pa), (b, pb) = seen.items()
            what = f"trains {a[0]} steps and {pb.named} {b[0]}" if a[0] != b[0] else \
                f"evaluates every {a[1]} steps and {pb.named} every {b[1]}"
            raise GdlabError(f"--prune halving: {setup.source}: {pa.named} {what}; a rung compares every setting at "
                             "one step, so the variants need one run length and evaluation interval")
    return next(iter(seen))


def setting_of(plans) -> dict[int, int]:
    """Each variant's setting: the index of the first variant with its values on every axis but the seed."""
    from gdlab.sweep.rank import setting_key

    first: dict[tuple, int] = {}
    return {p.index: first.setdefault(setting_key(p.point), p.index) for p in plans}


def strata_of(plans) -> dict[int, int]:
    """Each setting's stratum: the values of its axes that change the problem (rank.changes_the_problem), so a
    rung ranks a sweep over data.noise within each noise level. One stratum (0) without such axes."""
    from gdlab.sweep.rank import changes_the_problem

    setting, ids = setting_of(plans), {}
    return {setting[p.index]: ids.setdefault(tuple(repr(v) for k, v in p.point.items() if changes_the_problem(k)), len(ids))
            for p in plans}


def job_pruning(prune: dict | None, plans, group, done: dict[int, dict]) -> dict | None:
    """What one group's run needs: the rungs, each model's setting and the variants of the sweep that ended before
    (a resume's finished ones, whose rung scores their summary.json kept)."""
    if not prune:
        return None
    setting = setting_of(plans)
    keys = ("status", "steps", "pruned_at_step", "diverged_at_step", "rung_scores", prune["metric"])
    finished = [{"setting": setting[index], "summary": {k: s.get(k) for k in keys}} for index, s in done.items()]
    return {**prune, "settings": [setting[p.index] for p in group], "finished": finished, "strata": strata_of(plans)}


def rungs_line(prune: dict, axes=()) -> str:
    """The dry run's line about the rungs (`axes`: the sweep's)."""
    from gdlab.sweep.rank import changes_the_problem

    steps = ", ".join(map(str, prune["rungs"]))
    apart = [a for a in axes if changes_the_problem(a)]
    within = f" within each value of {', '.join(apart)} (its scores are not comparable across them)" if apart else ""
    return (f"--prune halving: rungs at step {steps} (first {prune['first']}, factor {prune['factor']}); at each, the "
            f"best 1/{prune['factor']} of the settings still training go on{within}, by {prune['metric']} (mean over seeds)")


def resume_pruning(folder, groups: list, jobs: int, backend: str) -> dict | None:
    """sweep.yaml's `prune` option, for a resume whose reruns (`groups`) must again train in this process."""
    from gdlab.sweep.run import stored_options

    prune = stored_options(folder).get("prune")
    if prune is None:
        return None
    from gdlab.sweep.rank import RANKABLE

    check_recorded_mode_and_first(prune, folder / "sweep.yaml")
    rungs = prune.get("rungs") if isinstance(prune, dict) else None
    ints = isinstance(rungs, list) and rungs and all(type(r) is int and r > 0 for r in rungs) and rungs == sorted(rungs)
    if not (ints and type(prune.get("factor")) is int and prune["factor"] >= 2 and prune.get("metric") in RANKABLE):
        raise GdlabError(f"{folder / 'sweep.yaml'}: options.prune: must be null or what --prune halving recorded: "
                         f"factor (a whole number >= 2), rungs (steps, ascending) and metric (one of {', '.join(RANKABLE)})")
    # the finished variants were judged at these rungs by this factor: an edit to either would judge the reruns apart
    if rungs != [rungs[0] * prune["factor"] ** k for k in range(len(rungs))]:
        raise GdlabError(f"{folder / 'sweep.yaml'}: options.prune: rungs {rungs} and factor {prune['factor']}, not as "
                         "--prune halving recorded them; allowed: rungs at the first rung times the factor's powers "
                         "(first, first·factor, ...)")
    if groups and (backend != "local" or jobs > 1):  # (nothing to rerun: nothing to refuse)
        raise GdlabError(f"--resume {folder}: a pruned sweep's reruns train in this process, as it began; drop "
                         "--backend ray and --jobs")
    return prune


def check_recorded_mode_and_first(prune, path) -> None:
    """sweep.yaml's `prune.mode` and `prune.first` as --prune halving wrote them: the mode `halving` and the first
    rung's step. Neither steers the reruns (the rungs do), so an edit to them would be taken silently otherwise."""
    if isinstance(prune, bool):  # `prune: off`, meant as no pruning
        raise GdlabError(f"{path}: options.prune: {recorded({'prune': prune}, 'prune')}; must be null or what --prune "
                         "halving recorded")
    if not isinstance(prune, dict):
        return  # what resume_pruning refuses as a whole
    mode, first, rungs = prune.get("mode"), prune.get("first"), prune.get("rungs")
    if mode != "halving":
        raise GdlabError(f"{path}: options.prune.mode: {recorded(prune, 'mode')}; allowed: halving, as --prune "
                         "halving recorded it")
    expected = rungs[0] if isinstance(rungs, list) and rungs else None
    if type(first) is not int or first < 1 or (expected is not None and first != expected):
        allowed = f"{expected}, the first of options.prune.rungs" if expected is not None else "a whole number >= 1"
        raise GdlabError(f"{path}: options.prune.first: {recorded(prune, 'first')}: the first rung's step, as --prune halving "
                         f"recorded it; allowed: {allowed}")


def recorded(prune: dict, key: str) -> str:
    """A hand-edited value of `prune` as the file says it, a boolean as what YAML makes of an unquoted off."""
    value = prune.get(key)
    if isinstance(value, bool):
        return f"got {yaml_boolean(value)}"
    return ("null" if key in prune else "missing") if value is None else repr(value)
