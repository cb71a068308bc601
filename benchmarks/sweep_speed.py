"""A K-variant learning-rate sweep, four ways, in one process (issue #3):
  (a) sequential: K minimal hand-written PyTorch loops, one after another
  (b) gdlab --jobs 2 --vectorize off: K single runs over 2 worker processes
  (c) gdlab's vectorized engine: the K variants in batched groups as `gdlab sweep` forms them (on a CPU at
      most cpu_group_limit models each), metrics.csv and the rest written for every variant
  (d) the simplest hand-written batched reference: stacked weights, torch.baddbmm, the update written out
  (e) gdlab's engine alone: (c) without the run folders (per-step records still reach the host)
Prints wall times and the ratios a/c (speed-up over sequential), a/e (the same for the engine alone),
c/d (gdlab against the reference) and e/d (the engine against the reference: what (c) adds beyond (e) is
the K run folders' file work).
Targets on CPU: c/d <= 1.25 everywhere; a/c >= 8 (K=32) and >= 20 (K=128) at the tiny size; a/c >= 1 always.
On a GPU: c/d <= 1.25, and a/c >= 100 for K=1024 (compute size).

Usage: python benchmarks/sweep_speed.py [--steps 100] [--sizes tiny,moons,compute] [--ks 8,32,128] [--skip-jobs] [--phases]
       GPU: python benchmarks/sweep_speed.py --device cuda --sizes compute --ks 1024 --skip-jobs --seq-sample 8"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gdlab.config import Config
from gdlab.data import load_data
from gdlab.engine.loop import GroupTrainer
from gdlab.model import build_sequential
from gdlab.sweep.backends import run_jobs
from gdlab.sweep.execute import Job, run_job
from gdlab.sweep.grouping import cpu_group_limit

SIZES = {"tiny": (64, 16), "moons": (1000, 32), "compute": (2048, 64)}


DEVICE = torch.device("cpu")  # --device; every way runs on it
PHASES: dict[str, float] = {}  # --phases: seconds (c) spent in each file phase, summed over its repeats
_INSIDE = [0]  # > 0 while a timed phase runs: its own waits on the I/O threads are not counted again
CLOCK = time.perf_counter  # --clock cpu: time.process_time, this process's CPU time, all its threads


def _timed(name: str, fn):
    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        _INSIDE[0] += 1
        try:
            return fn(*args, **kwargs)
        finally:
            _INSIDE[0] -= 1
            PHASES[name] = PHASES.get(name, 0.0) + time.perf_counter() - t0
    return timed


def watch_phases() -> None:
    """Time the file phases of every (c) run: the run headers and summaries/model.pt (runner), metrics.csv
    creation and closing (records), and waits on files written in the background (on an accelerator)."""
    import gdlab.io_pool as io_pool
    import gdlab.records as records
    import gdlab.runner as runner

    parallel = runner.in_parallel
    runner.in_parallel = lambda fn, items: _timed("finish" if fn.__name__ == "finish" else "headers", parallel)(fn, items)
    records.in_parallel = _timed("metrics files", records.in_parallel)
    outcomes = io_pool.Background.outcomes
    io_pool.Background.outcomes = lambda self: _timed("background waits", outcomes)(self) if _INSIDE[0] == 0 else outcomes(self)


def names_of(choices):
    """An argparse type: a comma list of names, each one of `choices` (a typo is a usage error, not a KeyError)."""
    def parse(text: str) -> list[str]:
        names = text.split(",")
        unknown = [n for n in names if n not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown)}; choose from {', '.join(choices)}")
        return names
    return parse


def config(n: int, hidden: int, steps: int, opt: str, lr: float) -> Config:
    return Config.model_validate({
        "name": "bench", "seed": 0,
        "data": {"name": "moons", "n_samples": n, "noise": 0.2, "val_fraction": 0},
        "model": [{"Linear": [2, hidden]}, "Tanh", {"Linear": [hidden, hidden]}, "Tanh", {"Linear": [hidden, 2]}],
        "loss": "CrossEntropyLoss", "optimizer": {"name": opt, "lr": lr},
        "train": {"steps": steps, "device": str(DEVICE), "diverge_factor": None},
    })


def lrs_for(k: int) -> list[float]:
    return [10 ** (-3 + 2 * i / max(k - 1, 1)) for i in range(k)]  # 1e-3 .. 1e-1: all stable


def sequential(cfgs: list[Config], data) -> float:
    x, y = data.x_train.to(DEVICE), data.y_train.to(DEVICE)
    t0 = CLOCK()
    for cfg in cfgs:
        torch.manual_seed(cfg.seed)
        net = build_sequential(cfg).to(DEVICE)
        opt = getattr(torch.optim, cfg.optimizer.name)(net.parameters(), lr=cfg.optimizer.lr)
        losses = []
        for _ in range(cfg.train.steps):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return CLOCK() - t0


def batched_reference(cfgs: list[Config], data, hidden: int) -> float:
    K, steps, adam = len(cfgs), cfgs[0].train.steps, cfgs[0].optimizer.name == "Adam"
    torch.manual_seed(0)
    dims = [(2, hidden), (hidden, hidden), (hidden, 2)]
    params = []
    for fan_in, fan_out in dims:
        bound = 1 / math.sqrt(fan_in)
        params.append((torch.rand(K, fan_in, fan_out) * 2 - 1).mul_(bound).to(DEVICE).requires_grad_())
        params.append((torch.rand(K, 1, fan_out) * 2 - 1).mul_(bound).to(DEVICE).requires_grad_())
    lr = torch.tensor([c.optimizer.lr for c in cfgs], device=DEVICE).view(K, 1, 1)
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    x = data.x_train.to(DEVICE).expand(K, *data.x_train.shape)
    y = data.y_train.to(DEVICE).repeat(K)
    t0 = CLOCK()
    losses = []
    for t in range(1, steps + 1):
        h = x
        for i in range(3):
            h = torch.baddbmm(params[2 * i + 1], h, params[2 * i])
            if i < 2:
                h = torch.tanh(h)
        loss = F.cross_entropy(h.reshape(-1, 2), y, reduction="none").view(K, -1).mean(1)
        loss.sum().backward()
        with torch.no_grad():
            for j, p in enumerate(params):
                if adam:
                    m[j].mul_(0.9).add_(0.1 * p.grad)
                    v[j].mul_(0.999).add_(0.001 * p.grad * p.grad)
                    p.sub_(lr * (m[j] / (1 - 0.9**t)) / ((v[j] / (1 - 0.999**t)).sqrt() + 1e-8))
                else:
                    p.sub_(lr * p.grad)
                p.grad = None
        losses.append(loss.detach())
    torch.stack(losses).tolist()
    return CLOCK() - t0


def jobs_for(cfgs: list[Config], root: Path, grouped: bool) -> list[Job]:
    dirs = [root / f"{i:03d}" for i in range(len(cfgs))]
    for d in dirs:
        d.mkdir(parents=True)
    if grouped:  # validated configs, as `gdlab sweep` hands them over (sweep/run.make_jobs)
        return [Job(list(range(len(cfgs))), list(cfgs), [str(d) for d in dirs], [[] for _ in cfgs])]
    return [Job([i], [c], [str(d)], [[]]) for i, (c, d) in enumerate(zip(cfgs, dirs))]


def gdlab_vectorized(cfgs, root: Path, cache: dict) -> float:
    """As `gdlab sweep` runs them: batched groups of at most cpu_group_limit models, one after another."""
    size = cpu_group_limit(cfgs[0]) or len(cfgs)
    jobs = [jobs_for(cfgs[i : i + size], root / f"g{i}", grouped=True)[0] for i in range(0, len(cfgs), size)]
    t0 = CLOCK()
    for job in jobs:
        run_job(job, data_cache=cache)
    return CLOCK() - t0


def gdlab_engine_only(cfgs, cache: dict) -> float:
    """(e) gdlab's engine alone, as (c) groups it: every step's records reach the host, nothing is written."""
    size = cpu_group_limit(cfgs[0]) or len(cfgs)
    key = next(iter(cache))  # the one dataset (c) loaded, shared by all variants
    t0 = CLOCK()
    for i in range(0, len(cfgs), size):
        group = cfgs[i : i + size]
        for _ in GroupTrainer(group, [cache[key]] * len(group), DEVICE).run():
            pass
    return CLOCK() - t0


def gdlab_jobs2(cfgs, root: Path) -> float:
    jobs = jobs_for(cfgs, root, grouped=False)
    t0 = CLOCK()
    run_jobs(jobs, backend="local", jobs=2, ray_address=None, should_stop=lambda: False, on_done=lambda j, r: False)
    return CLOCK() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--sizes", default="tiny,moons,compute", type=names_of(SIZES))
    ap.add_argument("--ks", default="8,32,128")
    ap.add_argument("--opts", default="SGD,Adam", type=names_of(("SGD", "Adam")))
    ap.add_argument("--repeats", type=int, default=1, help="median of this many interleaved repeats")
    ap.add_argument("--skip-jobs", action="store_true", help="skip (b), which spends seconds starting workers")
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N: where all five ways run")
    ap.add_argument("--seq-sample", type=int, default=0,
                    help="time (a) on this many variants and scale to K (runs are alike; for K=1024 on a GPU)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: this process's CPU time instead of wall time, steadier on a shared machine (a "
                         "descheduled process is not charged); (b)'s workers are not counted, so it is skipped, and "
                         "(c)'s I/O threads are counted as CPU, not as the time they overlap")
    ap.add_argument("--phases", action="store_true", help="also print where (c)'s time beyond training went")
    ap.add_argument("--out", default="runs", help="where (b) and (c) write their run folders (a temporary folder "
                    "inside it, removed at the end); default: runs/, where gdlab writes")
    args = ap.parse_args()
    global DEVICE, CLOCK
    DEVICE = torch.device(args.device)
    if args.clock == "cpu":
        if args.phases:  # phases are wall time, some spent on the I/O threads: they would not add up to (c)
            ap.error("--phases times wall seconds; use it with --clock wall")
        CLOCK, args.skip_jobs = time.process_time, True
    if args.phases:
        watch_phases()
    where = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {where}, {args.steps} full-batch steps per variant"
          + (f"; (a) timed on {args.seq_sample} variants and scaled to K" if args.seq_sample else "")
          + ("; CPU seconds of this process (--clock cpu)" if args.clock == "cpu" else "; wall seconds"))
    print(f"{'size':8s} {'opt':5s} {'K':>4s} {'(a) seq':>9s} {'(b) jobs2':>10s} {'(c) gdlab':>10s} {'(d) ref':>9s} {'(e) engine':>10s} {'a/c':>7s} {'a/e':>6s} {'c/d':>6s} {'e/d':>6s}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out, prefix=".bench-") as tmp:
        for size in args.sizes:
            n, hidden = SIZES[size]
            for opt in args.opts:
                for k in map(int, args.ks.split(",")):
                    cfgs = [config(n, hidden, args.steps, opt, lr) for lr in lrs_for(k)]
                    data = load_data(cfgs[0])
                    cache: dict = {}
                    gdlab_vectorized(cfgs[:2], Path(tmp) / f"warm{size}{opt}{k}", cache)  # warm-up and data cache
                    sequential(cfgs[:1], data), batched_reference(cfgs[:2], data, hidden)  # warm-up (kernels, CUDA)
                    PHASES.clear()  # the warm-up's are not (c)'s
                    sample = cfgs[: args.seq_sample] if 0 < args.seq_sample < k else cfgs
                    times: dict[str, list[float]] = {"a": [], "b": [], "c": [], "d": [], "e": []}
                    for r in range(args.repeats):  # interleaved, so machine noise hits all four alike
                        tag = f"{size}{opt}{k}_{r}"
                        times["a"].append(sequential(sample, data) * k / len(sample))
                        times["b"].append(float("nan") if args.skip_jobs else gdlab_jobs2(cfgs, Path(tmp) / f"b{tag}"))
                        times["c"].append(gdlab_vectorized(cfgs, Path(tmp) / f"c{tag}", cache))
                        times["d"].append(batched_reference(cfgs, data, hidden))
                        times["e"].append(gdlab_engine_only(cfgs, cache))
                    a, b, c, d, e = (statistics.median(times[x]) for x in "abcde")
                    phases = {name: t / args.repeats for name, t in PHASES.items()}
                    PHASES.clear()
                    print(f"{size:8s} {opt:5s} {k:4d} {a:9.3f} {b:10.3f} {c:10.3f} {d:9.3f} {e:10.3f} {a / c:7.1f} {a / e:6.1f} {c / d:6.2f} {e / d:6.2f}", flush=True)
                    if args.phases:  # per (c) run, averaged over the repeats; the rest is training and its rows
                        files = ", ".join(f"{name} {t:.3f}" for name, t in phases.items())
                        print(f"    (c) {statistics.mean(times['c']):.3f} s: {files}; rest {statistics.mean(times['c']) - sum(phases.values()):.3f}")


if __name__ == "__main__":
    main()
