"""Per-model learning rates over time. torch's own schedulers drive a stand-in optimizer with one
param group per model, so every schedule is torch's, not a re-derivation."""

from __future__ import annotations

import warnings

import torch

from gdlab.config import Config, SchedulerConfig
from gdlab.engine.batches import BatchPlan, length_key
from gdlab.errors import GdlabError


# What torch's OneCycleLR raises when stepped past the run's last step, where the lr is held: past its
# total_steps a ValueError; at it, in a three-phase cycle whose last phase has no length (it starts at the
# last step), a ZeroDivisionError (pct_start 0.6 of 5 steps), which once failed a run that had trained to its end.
PAST_THE_CYCLE = (ValueError, ZeroDivisionError)


class LRSchedule:
    """`lrs()` gives the current per-model lr list; `advance()` moves one interval (step or epoch).
    `momenta` is each model's momentum (or Adam's beta1) where OneCycleLR cycles it, else None."""

    def __init__(self, cfg: SchedulerConfig | None, base_lrs: list[float], total_intervals: int,
                 optimizer: str = "SGD"):
        self.cfg = cfg
        self._lrs = list(base_lrs)
        self.momenta: list[float] | None = None
        self.cycling = getattr(cfg, "cycle_momentum", False)  # OneCycleLR's: the momentum follows the lr
        self.interval = cfg.interval if cfg else "epoch"
        self._sched = None
        self.plateaus: list | None = None  # ReduceLROnPlateau: one per model, each watching its own val_loss
        if cfg is None:
            return
        args = cfg.model_dump(exclude={"name", "interval", "warmup", "warmup_start_factor"})
        if cfg.name == "ReduceLROnPlateau":
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau
            self.plateaus = [plateau(torch.optim.SGD([torch.zeros(1)], lr=lr), **args) for lr in base_lrs]
            return
        groups = [{"params": [torch.zeros(1)], "lr": lr} for lr in base_lrs]
        self.beta1 = optimizer in ("Adam", "AdamW")  # torch's OneCycleLR cycles betas[0] where there are betas
        stand_in = torch.optim.Adam if self.cycling and self.beta1 else torch.optim.SGD
        self._opt = stand_in(groups, lr=base_lrs[0])
        cls = getattr(torch.optim.lr_scheduler, cfg.name)  # cfg.name is a validated Literal, not user text
        if cfg.name == "CosineAnnealingLR" and args["T_max"] is None:  # the whole run after any warmup
            args["T_max"] = max(1, total_intervals - cfg.warmup)
        if cfg.name == "OneCycleLR":
            args.update(max_lr=list(base_lrs), total_steps=total_intervals)
        if cfg.warmup:  # torch's own warmup recipe: LinearLR up to the lr, then the schedule, chained
            sched = torch.optim.lr_scheduler
            ramp = sched.LinearLR(self._opt, start_factor=cfg.warmup_start_factor, end_factor=1.0, total_iters=cfg.warmup)
            self._sched = sched.SequentialLR(self._opt, [ramp, cls(self._opt, **args)], milestones=[cfg.warmup])
        else:
            self._sched = cls(self._opt, **args)
        self._lrs = [g["lr"] for g in self._opt.param_groups]
        self._read_momenta()

    def _read_momenta(self) -> None:
        if self._sched is not None and self.cycling:
            self.momenta = [g["betas"][0] if self.beta1 else g["momentum"] for g in self._opt.param_groups]

    def lrs(self) -> list[float]:
        return self._lrs

    def advance(self, boundary: bool = True, val_loss: torch.Tensor | None = None) -> bool:
        """Move the schedule on one interval (`boundary`: one ended), or a plateau schedule on an evaluation
        (`val_loss`, one per model); True when any lr changed."""
        if self.plateaus is not None:
            return val_loss is not None and self._observe(val_loss.tolist())
        if self._sched is None or not boundary:
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the stand-in optimizer never steps; torch would warn about that
            try:
                self._sched.step()
            except PAST_THE_CYCLE:
                return False
        new = [g["lr"] for g in self._opt.param_groups]
        changed = new != self._lrs
        self._lrs = new
        self._read_momenta()  # lr and momentum move together in a cycle: both change, or neither does
        return changed

    def _observe(self, losses: list[float]) -> bool:
        for plateau, loss in zip(self.plateaus, losses):
            plateau.step(loss)  # a diverged model's inf or nan is no improvement: harmless, it trains no more
        new = [p.optimizer.param_groups[0]["lr"] for p in self.plateaus]
        changed = new != self._lrs
        self._lrs = new
        return changed

    def state_dict(self) -> dict | list | None:
        if self.plateaus is not None:  # with each model's lr, which a plateau keeps in its optimizer
            return [{**p.state_dict(), "lr": p.optimizer.param_groups[0]["lr"]} for p in self.plateaus]
        return self._sched.state_dict() if self._sched else None

    def load_state_dict(self, state: dict | list | None) -> None:
        if self.plateaus is not None and state:
            for plateau, saved in zip(self.plateaus, state):
                plateau.load_state_dict({k: v for k, v in saved.items() if k != "lr"})
                plateau.optimizer.param_groups[0]["lr"] = saved["lr"]
            self._lrs = [p.optimizer.param_groups[0]["lr"] for p in self.plateaus]
            return
        if self._sched and state:
            self._sched.load_state_dict(state)
            for group, lr in zip(self._opt.param_groups, self._sched.get_last_lr()):
                group["lr"] = lr
            self._lrs = [g["lr"] for g in self._opt.param_groups]
            if self.cycling:  # torch sets a cycle's momentum while it computes the lr: at the restored step again
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        self._sched.get_lr()
                    except PAST_THE_CYCLE:  # restored at its last step: no step is left to need a momentum
                        pass
                self._read_momenta()


def check_one_cycle(cfg: Config, n_train: int) -> None:
    """Refuse a OneCycleLR whose rising phase ends at or before its start at this run's length (pct_start x
    intervals <= 1): at 1 torch's very first lr is 0/0 (a ZeroDivisionError traceback); under 1 its schedule
    starts past its peak, with no warm-up (one interval: the whole run at the final lr, max_lr/1e4/25). The run
    length is as much to blame as pct_start: the error names its keys too."""
    s = cfg.scheduler
    if s is None or s.name != "OneCycleLR":
        return
    plan = BatchPlan.from_config(cfg.train, n_train)
    total = plan.total_steps if s.interval == "step" else plan.total_epochs
    end = float(s.pct_start * total) - 1  # the end of torch's first phase, as torch computes it: its start is 0
    if end > 0:
        return
    unit = s.interval + "s" * (total != 1)
    per_step = " or interval: step" if s.interval == "epoch" and plan.total_steps > total else ""
    length, blamed = _run_length(cfg, plan)
    if total == 1:
        raise GdlabError(f"scheduler.interval: OneCycleLR over 1 {s.interval} ({length}) has no cycle: torch runs it "
                         f"all at the final lr (optimizer.lr / div_factor / final_div_factor); train longer{per_step}",
                         also=blamed)
    other = 2 / total if total > 2 else 0.75  # a rise of one interval (at 2 intervals: half of one)
    where = "where it starts, at the first" if end == 0 else "before it starts, within the first"
    why = ("which torch's OneCycleLR cannot compute (a phase of no length)" if end == 0
           else "so torch's OneCycleLR starts past its peak, with no warm-up")
    raise GdlabError(f"scheduler.pct_start: {s.pct_start} of {total} {unit} ({length}) ends the rising phase {where} "
                     f"{s.interval}, {why}; use a larger pct_start, e.g. {other:.3g}, or a longer run{per_step}",
                     also=blamed)


def _run_length(cfg: Config, plan: BatchPlan) -> tuple[str, tuple[tuple, ...]]:
    """Which keys set a OneCycleLR's length in its intervals, in words (`train.steps`, or `train.epochs 3 of 4
    steps` where steps are counted from epochs), and as the key paths the error also blames."""
    given = length_key(cfg.train)
    counted = "steps" if cfg.scheduler.interval == "step" else "epochs"
    blamed = (("scheduler", "name"), ("scheduler", "interval"), ("train", given))
    if given == counted:
        return f"train.{given}", blamed
    each = f"{plan.steps_per_epoch} step{'s' * (plan.steps_per_epoch != 1)}"
    words = f"train.{given}: {getattr(cfg.train, given)} at {each} an epoch"
    return words, blamed + (("train", "batch_size"), ("train", "accumulate"))


def lr_column(lrs: list[float], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The per-model lr as a [K, 1] column on the device. A scheduler changes it every step; a plain
    host-to-GPU copy would wait for the queue each time, a pinned non-blocking one does not."""
    column = torch.tensor(lrs, dtype=dtype).view(-1, 1)
    if device.type == "cuda":
        return column.pin_memory().to(device, non_blocking=True)
    return column.to(device)
