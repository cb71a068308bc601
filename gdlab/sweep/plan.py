"""From a base config and axes to validated variants (sweep/grouping.py then groups them into batched
computations)."""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from gdlab.config import Config
from gdlab.config.overrides import follow_set_keys, key_path, parse_override, unset
from gdlab.errors import GdlabError
from gdlab.loading import _keyword_form, apply_override, validate
from gdlab.sweep.grid import grid, variant_dir_name
from gdlab.sweep.section import Places, axis_place, same_config_error, value_place
from gdlab.yamldump import format_value
from gdlab.yamlio import parse_scalar

@dataclass
class VariantPlan:
    index: int
    dir_name: str
    point: dict[str, Any]  # the swept values, by dotted key
    cfg: Config
    dropped: list[str] = field(default_factory=list)  # base keys the variant's kind does not take
    fixed: list[str] = field(default_factory=list)  # the sweep's one-value overrides, as typed
    reset: list[str] = field(default_factory=list)  # notes: the base kind's defaults the variant's kind replaced

    @property
    def overrides(self) -> list[str]:
        """The swept values, short (`optimizer.lr=0.00562341`): for labels and messages."""
        return [f"{k}={format_value(v)}" for k, v in self.point.items()]

    @property
    def named(self) -> str:
        """The variant as messages name it: `variant 3 (optimizer.lr=0.1, seed=1)`, `variant 0 (base)`."""
        return f"variant {self.index} ({', '.join(self.overrides) or 'base'})"

    @property
    def recorded_overrides(self) -> list[str]:
        """Every override that made this variant from the config file, exactly (overrides.yaml): replayed
        with `gdlab train`, they give the same config. A one-value override this variant's kind dropped
        (momentum beside optimizer.name=Adam) is left out: `gdlab train` would refuse it."""
        def dropped(arg: str) -> bool:
            key = arg.split("=", 1)[0].strip()
            return any(key == d or key.startswith(d + ".") for d in self.dropped)

        return [arg for arg in self.fixed if not dropped(arg)] + [f"{k}={exact_text(v)}" for k, v in self.point.items()]


def exact_text(value: Any) -> str:
    """A value as override text that reads back equal: floats in full (repr), null/true/false as YAML, and
    text YAML would read as something else quoted (name='2024', not name=2024, which reads as a number)."""
    if isinstance(value, str):
        return value if _reads_back(value) else "'" + value.replace("'", "''") + "'"
    return json.dumps(value)  # JSON is YAML's flow style: repr floats, null, true, [lists], {maps}


@functools.lru_cache(maxsize=4096)  # a 1,024-variant sweep asks about the same few names again and again
def _reads_back(text: str) -> bool:
    try:
        return parse_scalar(text, "") == text
    except GdlabError:  # not plain YAML at all ('a: b', '[x'): quoted, it is
        return False


def check_axis_keys(axes: dict[str, list[Any]], fixed: list[tuple[tuple, str]], source: str,
                    places: Places | None = None) -> None:
    """Refuse axes whose labels would not say what ran: one over the `sweep` section itself, one inside
    another axis, one that overwrites a one-value override inside it, train.steps beside train.epochs.
    `places`: where the `sweep:` section gives each axis, named in its error."""
    for key in [*axes, *(".".join(map(str, path)) for path, _ in fixed)]:
        if key.split(".")[0] == "sweep":
            inner = key.split(".", 1)[1] if "." in key else "optimizer.lr"
            raise GdlabError(f"{axis_place(places, key, source)}: '{key}': the sweep: section itself cannot be swept or overridden; "
                             f"give the axis directly, e.g. {inner}=0.01,0.1")
    paths = {key: key_path(key) for key in axes}
    for outer, op in paths.items():
        for inner, ip in paths.items():
            if inner != outer and ip[: len(op)] == op:
                raise GdlabError(f"{axis_place(places, inner, source)}: the axes '{outer}' and '{inner}' overlap: each value of {outer} sets "
                                 f"{inner} too, so the {inner} column would not be what ran; sweep one of them")
        for path, arg in fixed:
            if len(path) > len(op) and path[: len(op)] == op:
                raise GdlabError(f"{axis_place(places, outer, source)}: the axis '{outer}' replaces the override '{arg}' inside it; "
                                 "write that value into the axis's values instead")
    # `train.epochs=null` unsets the file's epochs for a steps axis: only a value counts as given
    given = {key for key, values in axes.items() if any(v is not None for v in values)}
    given |= {".".join(map(str, path)) for path, arg in fixed if parse_override(arg)[1] is not None}
    if {"train.steps", "train.epochs"} <= given:
        raise GdlabError(f"{source}: train.steps and train.epochs are both given; set exactly one (an axis "
                         "over one replaces the config file's other)")


def plan_variants(base_raw: dict, axes: dict[str, list[Any]], source: str, fixed: list[tuple[tuple, str]] = (),
                  joint: list[str] = (), places: Places | None = None) -> list[VariantPlan]:
    """Every grid point validated (`joint`: the drawn axes, zipped); the first invalid one is an error naming
    the variant, at the line:column of its value in the `sweep:` section (`places`) where the file gives it
    (or, when a one-value override in `fixed` is what is wrong, naming that override)."""
    points = grid(axes, source, joint)
    width = max(3, len(str(len(points) - 1)))
    plans, seen = [], {}
    paths = {key: key_path(key) for key in axes}  # the same keys at every point
    overridden = {path: arg for path, arg in fixed}
    for i, point in enumerate(points):
        raw = copy.deepcopy(base_raw)
        raw.pop("sweep", None)
        where = {path: f"{source} (with override '{arg}')" for path, arg in fixed}
        label = ", ".join(f"{k}={format_value(v)}" for k, v in point.items()) or "base"
        for key, value in point.items():
            path, said = paths[key], f"{value_place(places or {}, axes, key, value, source)}: variant {i} ({label})"
            _keyword_form(raw, path)
            # null: the key's default, as for `gdlab train`
            if value is not None or not unset(raw, path, said):
                apply_override(raw, path, copy.deepcopy(value), said)
            for n in range(1, len(path) + 1):
                if path[:n] in overridden:  # a section set by a one-value override holds this variant's values too
                    where[path[:n]] = f"{said} (with override '{overridden[path[:n]]}')"
                else:
                    where.setdefault(path[:n], said)
        # the same rules as `gdlab train` overrides: a kind switch drops keys the kind does not take, and
        # train.steps replaces the base's train.epochs (and the other way round)
        # (a one-value override is the user's choice too: it stays even where it equals the old kind's
        # default, though a kind the variant switches to may drop it)
        dropped, reset = follow_set_keys(raw, base_raw, [paths[k] for k in point],
                                         kept={".".join(map(str, p)) for p, _ in fixed})
        cfg = validate(raw, where, f"{source}: variant {i} ({label})")
        first = seen.setdefault(json.dumps(cfg.resolved(), sort_keys=True), (i, label))
        if first[0] != i:  # 0.1,0.1 or 1,1.0, or values a kind switch drops (momentum beside Adam)
            raise same_config_error(first, (i, label), axes, joint, places or {}, source)
        plans.append(VariantPlan(i, variant_dir_name(i, width, point, list(axes)), point, cfg, dropped,
                                 [arg for _, arg in fixed], reset))
    return plans
