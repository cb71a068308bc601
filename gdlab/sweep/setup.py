"""A sweep's plan from its config file and command line: the base config with its one-value overrides, the
axes (a `sweep:` section, then the command line; distributions drawn), and every variant validated."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdlab.config.run import NAME_PATTERN
from gdlab.config.overrides import follow_set_keys, key_path, unset
from gdlab.errors import GdlabError
from gdlab.loading import (
    _keyword_form, absolutize_paths, apply_override, config_relative, default_name, dropped_notes, load_raw,
)
from gdlab.sweep.grid import joint_axes, parse_axis_arg, refuse_oversized_grid, refuse_oversized_search
from gdlab.sweep.plan import VariantPlan, check_axis_keys, plan_variants
from gdlab.sweep.distributions import Distribution
from gdlab.sweep.sampling import draw_axes, nothing_drawn, search_settings
from gdlab.sweep.section import place, read_section


@dataclass
class SweepSetup:
    source: str
    base: dict  # the raw base config, fixed overrides applied
    axes: dict[str, list[Any]]
    plans: list[VariantPlan]
    notes: list[str] = field(default_factory=list)  # what fixed overrides dropped from the file
    fixed: list[str] = field(default_factory=list)  # the one-value overrides, as typed (already in base)
    sampling: dict | None = None  # random search: {samples, seed, draws: {key: distribution text}}; None for a grid

    @property
    def name(self) -> str:
        """The sweep's name, its folder's under runs/: the base config's, as overrides left it. A `name` axis names
        the variants, not the sweep, which went under its first value's folder; the file's name, unchecked where
        every variant replaces it, falls back to the file's stem when no folder could be named by it."""
        if "name" not in self.axes:
            return self.plans[0].cfg.name
        name = self.base.get("name")
        return name if isinstance(name, str) and re.fullmatch(NAME_PATTERN, name) else default_name(Path(self.source))


def setup_sweep(config: Path, args: list[str], samples: int | None = None, sample_seed: int | None = None,
                sampler: str | None = None) -> SweepSetup:
    """Read the base config, collect axes (YAML `sweep:` then command line), draw the random ones
    (`samples` draws, seeded by `sample_seed`; either overrides the `sweep:` section's), validate every variant."""
    raw, where = load_raw(config)
    before, raw = raw, copy.deepcopy(raw)
    raw.setdefault("name", default_name(config))
    section = raw.pop("sweep", None)
    settings = [k for k in ("sample_seed", "sampler") if isinstance(section, dict) and k in section]
    search = search_settings(section, str(config), samples, sample_seed, sampler, where)
    axes, places = read_section(section, str(config), where)
    yaml_drawn = any(isinstance(v, Distribution) for v in axes.values())
    given: dict[str, str] = {}  # command-line key -> its argument: a key given twice is a mistake, not "last wins"
    fixed: list[tuple[tuple, str]] = []  # (key path, argument) of one-value overrides
    for arg in args:
        key, values = parse_axis_arg(arg)
        if key in given:
            raise GdlabError(f"sweep axis '{arg}': {key} is already given by '{given[key]}'; "
                             "give each key once (put all its values in one list: key=a,b,c)")
        given[key] = arg
        places.pop(key, None)  # the command line's values, not the file's
        if isinstance(values, list) and len(values) == 1:  # one value on the command line is a fixed override
            path = key_path(key)
            _keyword_form(raw, path)
            if values[0] is not None or not unset(raw, path, f"override '{arg}'"):
                apply_override(raw, path, values[0], f"override '{arg}'")
            fixed.append((path, arg))
            axes.pop(key, None)
        else:
            axes[key] = values
    if search[2] != "--samples" and yaml_drawn and not any(isinstance(v, Distribution) for v in axes.values()):
        search = (None, *search[1:])  # the command line replaced every drawn axis: the section's samples draw nothing
    # a grid too large is the section's doing where it gives an axis: its line, as for its other errors
    sized = place(where, (), str(config)) if any(k in places for k in axes) else str(config)
    refuse_oversized_search(axes, search[0], sized)
    sampling = draw_axes(axes, search, str(config), places)
    flags = [f"--sample-seed {sample_seed}"] * (sample_seed is not None) + [f"--sampler {sampler}"] * (sampler is not None)
    if sampling is None and flags:  # as --samples with nothing to draw: a flag that does nothing
        raise nothing_drawn(flags[0], flags[0].split()[0])
    if sampling is None and settings and not yaml_drawn:  # the section's own, as the flags: they would do nothing
        raise nothing_drawn(f"{place(where, (settings[0],), str(config))}: sweep.{settings[0]}", f"sweep.{settings[0]}")
    check_axis_keys(axes, fixed, str(config), places)
    # fixed overrides follow `gdlab train`'s rules: kind switches drop foreign keys, steps replaces epochs
    dropped, reset = follow_set_keys(raw, before, [path for path, _ in fixed])
    absolutize_paths(raw, config)
    for key in [k for k in axes if k == "data.path"]:  # relative to the config file, as a fixed data.path is
        axes[key] = [config_relative(v, config) if isinstance(v, str) else v for v in axes[key]]
    notes = dropped_notes(dropped, raw, fixed, config) + reset
    n = sampling["samples"] if sampling else 0
    if sampling and sampling["sampler"] == "sobol" and n & (n - 1):  # 2^m points tile the cube evenly; others do not
        notes.append(f"sampler sobol with {n} samples: a Sobol sequence is balanced exactly only for a power "
                     f"of 2 ({1 << (n.bit_length() - 1)} or {1 << n.bit_length()}); --sampler lhs balances any number")
    joint = joint_axes(axes, sampling)
    refuse_oversized_grid(axes, sized, joint)
    plans = plan_variants(raw, axes, str(config), fixed, joint, places)
    if all(getattr(p.cfg.scheduler, "cycle_momentum", False) for p in plans):
        refuse_cycled_axes(plans, axes, str(config))
    if any(p.cfg.train.checkpoint_every for p in plans):  # every grouping must give the same files
        notes.append("train.checkpoint_every is not used by a sweep: no variant writes checkpoint.pt, and "
                     "gdlab sweep --resume reruns an unfinished variant from its start")
    return SweepSetup(str(config), raw, axes, plans, notes, [a for _, a in fixed], sampling)


def refuse_cycled_axes(plans: list, axes: dict, config: str) -> None:
    """Under OneCycleLR's cycle_momentum the cycle sets every variant's momentum (Adam's beta1): variants of one
    optimizer that differ there would train alike, or differ elsewhere under labels saying they differ there,
    whichever axis set it (optimizer.momentum, optimizer.betas.0, or a whole optimizer={...} axis)."""
    def varies(value_of) -> bool:
        seen: dict[str, set] = {}
        for p in plans:
            seen.setdefault(p.cfg.optimizer.name, set()).add(value_of(p.cfg.optimizer))
        return any(len(values) > 1 for values in seen.values())

    def axis(*exact: str) -> str:
        return next((k for k in axes if k in exact or k.startswith(tuple(f"{e}." for e in exact))),
                    next((k for k in axes if k == "optimizer" or k.startswith("optimizer.")), "optimizer"))

    if varies(lambda o: getattr(o, "momentum", None)):
        raise GdlabError(f"{config}: the axis {axis('optimizer.momentum')} sets the momentum, which "
                         "scheduler.cycle_momentum replaces in every variant; sweep scheduler.max_momentum instead")
    if varies(lambda o: o.betas[0] if hasattr(o, "betas") else None):
        raise GdlabError(f"{config}: the axis {axis('optimizer.betas')} sets beta1, which scheduler.cycle_momentum "
                         "replaces in every variant; give every value one beta1 (sweep beta2 alone, "
                         "optimizer.betas.1), or sweep scheduler.max_momentum instead")
