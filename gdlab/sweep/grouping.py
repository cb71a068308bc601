"""Variants into batched groups: those differing only in per-model scalars (lr, momentum, betas, weight decay,
seed) train as one stacked computation, cut to cache-sized groups on a CPU and spread over --jobs workers."""

from __future__ import annotations

import json

from gdlab.config import Config
from gdlab.config.optim import SCALAR_FIELDS
from gdlab.errors import GdlabError
from gdlab.sweep.plan import VariantPlan

# Optimizer keys that may differ inside one batched group (betas is beta1/beta2 in the engine).
BATCHABLE_OPTIMIZER_KEYS = set(SCALAR_FIELDS) | {"betas"}


def group_key(cfg: Config) -> str:
    """Everything that must be equal for models to share one stacked computation."""
    d = cfg.resolved()
    for key in ("name", "seed", "sweep"):
        d.pop(key, None)
    d["optimizer"] = {k: v for k, v in d["optimizer"].items() if k not in BATCHABLE_OPTIMIZER_KEYS}
    return json.dumps(d, sort_keys=True)


def _keys_apart(a: dict, b: dict, prefix: str = "") -> list[str]:
    """The dotted keys (down to a section's own keys) whose values differ between two resolved configs."""
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x != y:
            nested = isinstance(x, dict) and isinstance(y, dict) and not prefix
            out += _keys_apart(x, y, f"{key}.") if nested else [prefix + key]
    for kind in ("optimizer", "scheduler"):  # another kind has other keys: its name says it
        if f"{kind}.name" in out:
            out = [k for k in out if not k.startswith(f"{kind}.") or k == f"{kind}.name"]
    return out


# On a CPU a batched group pays off while one layer's activations for all its models stay near the
# caches: measured (benchmarks/sweep_speed.py) K=128 models of n=2048 x 64 ran 2x slower batched than one
# after another, while K=8 ran 1.1x faster. Groups are cut to this many activation values, at least 4
# models: at n=2048 x 64, groups of 4 ran 0.85-0.9x the time of single runs, groups of 8 0.96-1.09x.
CPU_ACTIVATION_BUDGET = 256 * 1024
MIN_CPU_GROUP = 4


def cpu_group_limit(cfg: Config) -> int | None:
    """How many models of this config one batched group should hold on a CPU (None: no limit, on a GPU)."""
    if cfg.train.device.startswith(("cuda", "mps")):
        return None
    if cfg.train.device == "auto":
        import torch

        if torch.cuda.is_available():
            return None
    from gdlab.engine.threads import activation_size

    return max(MIN_CPU_GROUP, CPU_ACTIVATION_BUDGET // max(1, activation_size(cfg)))


def group_variants(plans: list[VariantPlan], vectorize: str, max_group: int | None = None) -> list[list[VariantPlan]]:
    """Batch what can be batched (`auto`/`on`), or one variant per group (`off`); groups keep grid order.
    `max_group` caps a group's size; None picks a cache-friendly size on a CPU (0: no cap)."""
    if vectorize == "off":
        return [[p] for p in plans]
    groups: dict[str, list[VariantPlan]] = {}
    for p in plans:
        groups.setdefault(group_key(p.cfg), []).append(p)
    out = list(groups.values())
    if vectorize == "on" and len(out) > 1 and len(out) == len(plans):
        apart = _keys_apart(json.loads(group_key(plans[0].cfg)), json.loads(group_key(plans[1].cfg)))
        raise GdlabError(f"--vectorize on: no two variants can share a batched computation (variants 0 and 1 differ in "
                         f"{', '.join(apart)}, which one stacked computation must share)")
    cut = []
    for g in out:
        size = cpu_group_limit(g[0].cfg) if max_group is None else (max_group or None)
        cut += [g[i : i + size] for i in range(0, len(g), size)] if size else [g]
    return cut


def spread(groups: list[list[VariantPlan]], jobs: int) -> list[list[VariantPlan]]:
    """With several workers and fewer groups than workers, big groups are split so every worker is busy
    (what `--dry-run` shows is what runs: the grouping changes float32 results in their last bits)."""
    if jobs <= 1 or len(groups) >= jobs:
        return groups
    split = []
    for g in groups:
        size = max(1, -(-len(g) // jobs))
        split += [g[i : i + size] for i in range(0, len(g), size)]
    return split
