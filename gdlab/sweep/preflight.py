"""The checks a sweep makes before any folder exists: each variant's data, shapes, batch plan and device,
as `gdlab train` makes them for one config (exit 2 naming the file and the variant)."""

from __future__ import annotations

from gdlab.errors import GdlabError


def preflight(setup, plans=None) -> dict:
    """Load each distinct dataset, check shapes and devices before any folder exists: what `gdlab train`
    refuses with exit 2, a sweep refuses too, naming the file and the variant (`plans`: only those).
    Returns each checked variant's data by its index, for what plans from it next (the rungs of --prune)."""
    from gdlab.data import data_seed
    from gdlab.engine.batches import check_intervals
    from gdlab.runner import prepare_data, resolve_device

    seen: set = set()
    loaded: dict[tuple, object] = {}  # one load per dataset: a sweep over batch sizes checks the same data again
    by_variant: dict[int, object] = {}
    for p in setup.plans if plans is None else plans:
        # everything prepare_data checks: the data (and its seed), loss and its arguments, model, dtype, batch plan,
        t = p.cfg.train
        data = (p.cfg.data.model_dump_json(), data_seed(p.cfg), p.cfg.loss.model_dump_json(), t.dtype)  # load_data checks the loss too
        # and the run's length and schedule (a OneCycleLR's phases are checked at the run's length)
        schedule = (t.steps, t.epochs, p.cfg.scheduler and p.cfg.scheduler.model_dump_json())
        keys = [("data", *data, tuple(map(str, p.cfg.model)), t.batch_size, t.accumulate, schedule),
                ("device", t.device)]
        try:
            for key in keys:
                if key not in seen:
                    seen.add(key)
                    if key[0] == "data":
                        loaded[data] = prepare_data(p.cfg, loaded=loaded.get(data))
                    else:
                        resolve_device(p.cfg.train.device)
            # what watches val_loss (a plateau schedule, early stopping, best weights) is in no key above: a
            # variant that shares its data with one that watches nothing must still be refused, as train refuses it
            p.cfg.check_val_watchers(loaded[data].x_val is not None)
            # nor are the intervals and the patience: a sweep over snapshot_every or early_stop_patience ran
            # variants that gdlab train refuses (only the first of each data was checked)
            check_intervals(p.cfg, loaded[data].x_train.shape[0])
            by_variant[p.index] = loaded[data]
        except GdlabError as exc:
            raise GdlabError(f"{setup.source}: {p.named}: {exc.message}") from None
    return by_variant


def check_without_data(setup) -> None:
    """What `validate --no-data` decides of each variant without reading its data, as it does of the base config:
    its intervals where its length is known, and that what watches val_loss has validation rows."""
    from gdlab.engine.batches import check_intervals

    for p in setup.plans:
        try:
            check_intervals(p.cfg, None)
            p.cfg.check_val_watchers(p.cfg.data.val_fraction > 0)
        except GdlabError as exc:
            raise GdlabError(f"{setup.source}: {p.named}: {exc.message}") from None
