"""Run a group of variants through one GroupTrainer and leave a complete run folder per variant:
config.yaml, overrides.yaml, metrics.csv, summary.json, model.pt."""

from __future__ import annotations

import time
import traceback
from contextlib import closing
from typing import Callable, Iterable

import torch

from gdlab import provenance
from gdlab import run_files
from gdlab.config import Config
from gdlab.data import Dataset, load_data
from gdlab.engine.batches import check_intervals, check_run_length
from gdlab.engine.loop import GroupTrainer
from gdlab.engine.schedule import check_one_cycle
from gdlab.engine.step_record import StepRecord
from gdlab.engine.threads import intra_op_threads, threads_for
from gdlab.errors import GdlabError
from gdlab.model import check_batch_rows, check_model_fits, check_shapes
from gdlab.checkpoint import repair_metrics, save_checkpoint, save_final_checkpoint
from gdlab.engine.state import restore_trainer, trainer_state
from gdlab.records import GroupMetrics, metric_columns
from gdlab.io_pool import in_background, in_parallel
from gdlab.rundir import write_atomic, write_json
from gdlab.sweep.prune import GroupPruning
from gdlab.run_files import Variant, files_in_background, init_hashes, save_model, save_snapshots, write_run_header


resolve_device = run_files.resolve_device  # kept where the commands import it from


def prepare_data(cfg: Config, training: bool = True, loaded: Dataset | None = None, resumed: bool = False) -> Dataset:
    """Load the data (or take `loaded`) and check the model and run against it, before any folder. `training=False`
    (the lab) skips the batch plan's checks; `resumed` those of a OneCycleLR's phases and of intervals past the run's
    end, which the run already trains under (one an older gdlab started could never finish otherwise)."""
    data = loaded or load_data(cfg, torch.float64 if cfg.train.dtype == "float64" else torch.float32)
    check_shapes(cfg, data.n_features, data.n_outputs, data.n_classes)
    check_model_fits(cfg, data.x_train.shape[0])
    if training:
        check_batch_rows(cfg, data.x_train.shape[0])  # BatchNorm cannot train on a batch of one row
        check_run_length(cfg.train, data.x_train.shape[0])
        if not resumed:
            check_one_cycle(cfg, data.x_train.shape[0])
            check_intervals(cfg, data.x_train.shape[0])
        cfg.check_val_watchers(data.x_val is not None)
    return data


def _build_trainer(variants: list[Variant], datasets: list[Dataset], device: torch.device, resume: dict | None,
                   checkpointing: bool, measure_init_sharpness: bool) -> tuple[GroupTrainer, list[str], list | None]:
    """The group's trainer (restored from `resume`), with its initial weights' hashes and sharpness."""
    trainer = GroupTrainer([v.cfg for v in variants], datasets, device, checkpoints=checkpointing)
    hashes = init_hashes(trainer.model.flat)
    # the sharpness at the initial weights predicts the stability edge: GD on a quadratic diverges past 2/lambda
    init_sharp, init_unsettled = trainer._sharpness() if measure_init_sharpness else (None, None)
    if resume is not None:
        try:
            restore_trainer(trainer, resume)
        except (ValueError, KeyError, RuntimeError) as exc:
            raise GdlabError(f"{variants[0].run_dir}: cannot resume: {exc}") from None
    elif init_unsettled is not None:  # a resumed run's checkpoint counted the measurements before it
        trainer.sharpness_unsettled = [n + int(u) for n, u in zip(trainer.sharpness_unsettled, init_unsettled.tolist())]
    init_sharp = init_sharp.tolist() if init_sharp is not None else None
    return trainer, hashes, init_sharp


def run_group(
    variants: list[Variant],
    datasets: list[Dataset],
    device: torch.device,
    observers: Iterable[Callable[[StepRecord], None]] = (),
    should_stop: Callable[[], bool] = lambda: False,
    flush_every: int = 1,
    resume: dict | None = None,
    measure_init_sharpness: bool = False,
    progress: Callable[[int, int, list[int]], None] | None = None,
    in_sweep: bool = False,
    seat=None,
) -> list[dict]:
    """Train the variants as one stacked computation; return each variant's summary (also on disk).
    A group of one also checkpoints (train.checkpoint_every, at the end, on a graceful stop; not `in_sweep`)
    and can `resume` from a checkpoint state. `progress(step, total_steps, diverged_now)` follows every record
    (diverged_now: the models whose divergence this step revealed). `seat`: the group's place at a pruned sweep's rungs (sweep/rung_gate.py)."""
    started, t0 = provenance.now_iso(), time.perf_counter()
    background = files_in_background(device, len(variants))
    headers = in_background(write_run_header, variants) if resume is None and background else None
    if resume is None and not background:
        in_parallel(write_run_header, variants)
    # A sweep's files must not depend on grouping, so none checkpoints; nor are they fsynced (two per variant,
    # ~4 ms each on a slow disk): --resume reruns a variant whose files did not all survive (sweep/resume.py)
    checkpointing = not in_sweep and len(variants) == 1
    try:
        trainer, hashes, init_sharp = _build_trainer(variants, datasets, device, resume, checkpointing, measure_init_sharpness)
        train_cfg = variants[0].cfg.train
        cols = metric_columns(variants[0].cfg.task, datasets[0].x_val is not None, train_cfg.sharpness_every is not None)
        resumed_from = None
        if resume is not None:
            # the steps the run recorded, not the checkpoint's step: on an accelerator the host learns of a divergence
            # blocks late, so the last checkpoint may lie past the diverged step, whose row was the run's last
            resumed_from = trainer.steps_done[0]
            kept = repair_metrics(variants[0].run_dir / "metrics.csv", resumed_from, trainer.log_segments, cols)
            if trainer.log_segments[-1][1] != train_cfg.log_every:  # a resume may change log_every from here on
                trainer.log_segments.append([resume["step"] + 1, train_cfg.log_every])
        metrics = GroupMetrics([v.run_dir / "metrics.csv" for v in variants], cols, flush_every, durable=not in_sweep,
                               background=background)
        if resume is not None:
            metrics.seed(0, kept)
        every = train_cfg.checkpoint_every if checkpointing else None
        if train_cfg.snapshot_every and resume is None:
            save_snapshots(trainer, variants, 0)
        error, statuses = None, None
        pruning = GroupPruning(seat, trainer) if seat else None
        threads = intra_op_threads(threads_for(variants[0].cfg, len(variants), device))
        try:
            # closed however the loop ends, so a compacted stack holds all K models again before the
            # summaries and model.pt read it (engine/compact.py)
            with threads, closing(trainer.run(should_stop)) as records:  # one thread for small steps (engine/threads.py)
                for rec in records:
                    metrics.consume(rec)
                    if pruning is not None:
                        pruning.after(rec.step, metrics)
                    if train_cfg.snapshot_every and rec.step % train_cfg.snapshot_every == 0:
                        save_snapshots(trainer, variants, rec.step)
                    if every and rec.step % every == 0 and rec.step < trainer.plan.total_steps:
                        metrics.flush()  # rows up to the checkpoint are on disk before it is
                        save_checkpoint(variants[0].run_dir, trainer_state(trainer))
                    for observe in observers:
                        observe(rec)
                    if progress is not None:
                        at = trainer.diverged_at
                        progress(rec.step, trainer.plan.total_steps, [k for k, s in enumerate(at) if s == rec.step] if rec.step in at else [])
        except KeyboardInterrupt:  # a model that diverged already keeps that result (a Ray worker's Ctrl-C lands here)
            statuses = trainer.ended_or("interrupted")
        except GdlabError:
            raise
        except Exception as exc:  # recorded in the summary (status failed, error) and error.log of every model still
            error = f"{type(exc).__name__}: {exc}"  # training; the caller reports it
            statuses = trainer.ended_or("failed")  # one pruned or diverged before keeps it: --resume keeps it too
            error_trace = traceback.format_exc()
        finally:
            metrics.close()
    finally:
        if headers is not None:
            headers.outcomes()  # no header is still being written when this returns or raises
    if headers is not None:
        headers.wait()  # one that could not be written fails the group (before any summary.json)
    # not after a hard stop mid-step (keep the last good one); one the disk refuses is reported after model.pt and
    # summary.json (smaller) are written: a finished run needs no checkpoint, a stopped one resumes from an earlier one
    refused = save_final_checkpoint(variants[0].run_dir, trainer_state(trainer)) if checkpointing and statuses is None else None
    summaries = []
    # how a GPU ran the steps; null where no graph could apply (a CPU), as the README says of such keys
    common = {"device": str(device), "cuda_graph": trainer.graph.status if trainer.graph is not None else None,
              "started_at": started, "finished_at": provenance.now_iso(),
              "versions": provenance.versions(), "git_sha": provenance.git_sha()}
    steps_done = trainer.steps_done  # a list built per call: once, not once per variant
    best_steps = trainer.best.steps() if trainer.best is not None else None
    for k, v in enumerate(variants):
        status = statuses[k] if statuses else trainer.status(k)
        steps = steps_done[k]
        # a resume with no step left to train has no record: the run's time is the checkpoint's
        wall = metrics.wall_s or trainer.elapsed or (time.perf_counter() - t0)
        values = metrics.summary_values(k)
        if status in ("completed", "interrupted", "pruned"):  # a diverged model's last row says how it ended
            values["final_train_loss"], values["final_train_accuracy"] = trainer.epoch_means.final(k)
        summary = {
            "status": status, "name": v.cfg.name, **values,
            "diverged_at_step": trainer.diverged_at[k], "pruned_at_step": trainer.pruned_at[k],
            "stopped_early_at_step": None if trainer.pruned_at[k] else trainer.divergence.stopped[k],
            "steps": steps,
            "epochs": round(steps / trainer.plan.steps_per_epoch, 6), "wall_s": round(wall, 6),
            "steps_per_s": round(steps / wall, 3) if wall > 0 else None,
            "seed": v.cfg.seed, "init_hash": hashes[k], "task": v.cfg.task,
            "sharpness_s": round(trainer.sharpness_s, 6) if train_cfg.sharpness_every else None, "n_params": trainer.model.n_params, **common,
            "error": error if status == "failed" else None, "resumed_from_step": resumed_from,
            "init_sharpness": init_sharp[k] if init_sharp else None,
            # measurements (init_sharpness and the sharpness column) that ran out of train.sharpness_iters unsettled
            "sharpness_unsettled": trainer.sharpness_unsettled[k] if train_cfg.sharpness_every or init_sharp else None,
            "restored_best_from_step": best_steps[k] if best_steps else None,
            **({"rung_scores": pruning.rung_scores(k)} if pruning is not None else {}),
        }
        summaries.append(summary)
    # train.restore_best_weights: model.pt gets each model's best weights; the checkpoint above kept the last
    states = trainer.best.state_dicts(trainer.model) if trainer.best is not None else trainer.model.state_dicts()

    def finish(k: int) -> None:  # summary.json last: it is what marks the run finished
        save_model(variants[k].run_dir / "model.pt", states[k])
        write_json(variants[k].run_dir / "summary.json", summaries[k], durable=not in_sweep)

    in_parallel(finish, range(len(variants)))
    for v, summary in zip(variants, summaries):  # a failed variant's folder looks like a failed `gdlab train` run's
        if error and summary["status"] == "failed":  # a refusal (a full disk) is one line naming error.log
            write_atomic(v.run_dir / "error.log", error_trace, durable=False)
    if refused is not None:
        raise refused
    return summaries

