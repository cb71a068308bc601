"""Curve labels for `compare`: flatten each config to dotted keys and name a curve by only the keys
whose values differ between the curves, e.g. `optimizer.lr=0.1, seed=1`; when many differ, by the few
that tell the curves apart best, with the rest listed separately. Also figure titles that fit the figure."""

from __future__ import annotations

import re
from typing import Any

from gdlab.flatkeys import flatten
from gdlab.yamldump import format_value  # as sweeps and messages write values: YAML flow style

_UNSET = "unset"
# `name` usually restates what the other differing keys already say; it is used only when nothing else differs.
_WEAK_KEYS = ("name",)
LR = "optimizer.lr"
MAX_KEYS = 3  # beyond this a legend entry stops being readable at a glance and crowds out the axes
MAX_VALUE = 32  # characters of one value in a label (a long path or list keeps its ends)
# Tie-break between keys that tell the curves apart equally well: what gdlab experiments vary most often.
_GROUPS = ("optimizer", "scheduler", "loss", "model", "data", "train", "seed")
# Keys of which a config sets one and leaves the other null: a run is as long as its epochs or its steps.
_EITHER = {"train.epochs": "train.steps", "train.steps": "train.epochs"}


def _implied_null(flat: dict[str, Any], key: str, shown: list[str]) -> bool:
    """Whether `key` is null only because its alternative, also shown, is set (`train.steps=null` beside
    `train.epochs=200`): the label says the run's length once."""
    other = _EITHER.get(key)
    return flat.get(key, _UNSET) is None and other in shown and flat.get(other) is not None


def differing_keys(flats: list[dict[str, Any]]) -> list[str]:
    """Keys (in first-seen order) whose value is not the same in every config; a missing key counts as a value,
    except where only a section's kind decides whether it is there (Adam's betas beside SGD): the kind says it."""
    keys: dict[str, None] = {}
    for flat in flats:
        keys.update(dict.fromkeys(flat))
    differ = [k for k in keys if len({repr(f.get(k, _UNSET)) for f in flats}) > 1
              and not (by_kind(k, flats) and len({repr(f[k]) for f in flats if k in f}) == 1)]
    strong = [k for k in differ if k not in _WEAK_KEYS]
    return strong or differ


def by_kind(key: str, flats: list[dict[str, Any]]) -> bool:
    """Whether some configs lack `key` because their section is another kind (SGD's momentum beside Adam):
    the section's name differs, and each kind either always has the key or never does."""
    section, _, rest = key.partition(".")
    if not rest or rest == "name":
        return False
    kind = f"{section}.name"
    having = {repr(f.get(kind, _UNSET)) for f in flats if key in f}
    lacking = {repr(f.get(kind, _UNSET)) for f in flats if key not in f}
    return bool(having and lacking) and not having & lacking


def _pair(flat: dict[str, Any], key: str, limit: int | None = None) -> str:
    text = format_value(flat.get(key, _UNSET))
    if limit is not None and len(text) > limit:
        text = text[: limit // 2 - 1] + "…" + text[-(limit // 2):]
    return f"{key}={text}"


def pick_keys(keys: list[str], flats: list[dict[str, Any]], given: tuple[str, ...] = (),
              limit: int = MAX_KEYS) -> list[str]:
    """Up to `limit` keys: first each the one that tells the most curves apart beyond those picked and `given`
    (the name, when the label shows it), then keys no one value dominates, which say something about most curves.
    Ties go to keys every config sets (an `unset` follows from another difference, such as an extra layer)."""
    def distinct(chosen: list[str]) -> int:
        return len({tuple(repr(f.get(k, _UNSET)) for k in chosen) for f in flats})

    def order(key: str):
        top = key.split(".", 1)[0]
        return any(key not in f for f in flats), _GROUPS.index(top) if top in _GROUPS else len(_GROUPS), keys.index(key)

    # The learning rate is what gdlab compares most: where it differs, a label never leaves it out.
    chosen: list[str] = [LR] if LR in keys and limit > 0 else []
    while len(chosen) < min(limit, len(keys)):
        best = min((k for k in keys if k not in chosen), key=lambda k: (-distinct([*given, *chosen, k]), order(k)))
        if distinct([*given, *chosen, best]) == distinct([*given, *chosen]):
            break  # every curve is told apart already
        chosen.append(best)
    # The slots left name more of what differs, keys every config sets first: hiding a difference (an lr that
    # two of three curves share) misleads more than a value repeated down the legend.
    for key in sorted((k for k in keys if k not in chosen), key=order):
        if len(chosen) < limit:
            chosen.append(key)
    return chosen


def curve_labels(configs: list[dict[str, Any] | None], fallbacks: list[str]) -> tuple[list[str], list[str]]:
    """(labels, hidden): one label per curve from what differs; a run without config.yaml, or two identical
    configs, fall back to (or add) the folder name so no two curves share a label. When more than MAX_KEYS keys
    differ, a label leads with the run name (where names differ) and the MAX_KEYS most telling keys, and
    `hidden` holds, per curve, the differing keys its label leaves out or shortens (else it is all empty)."""
    flats = [flatten(c) if c else {} for c in configs]
    known = [f for f in flats if f]
    keys = differing_keys(known) if len(known) > 1 else []
    short = len(keys) > MAX_KEYS
    named = short and len({repr(f.get("name")) for f in known}) > 1
    shown = pick_keys(keys, known, ("name",) if named else ()) if short else keys
    labels, hidden = [], []
    for flat, fallback in zip(flats, fallbacks):
        # a key this curve's kind does not take is left out of its label, not written `unset`
        parts = [_pair(flat, k, MAX_VALUE if short else None) for k in shown
                 if (k in flat or not by_kind(k, known)) and not _implied_null(flat, k, shown)] if flat else []
        label = ", ".join(parts) or fallback
        if short and flat:
            label = (f"{format_value(flat.get('name', fallback))}: " if named else "") + label
            label += f" +{len(keys) - len(shown)} more"
        labels.append(label)
        rest = [_pair(flat, k) for k in keys if (k not in shown or _pair(flat, k) not in parts)
                and (k in flat or not by_kind(k, known)) and not _implied_null(flat, k, keys)]
        hidden.append(", ".join(rest) if short and flat else "no config.yaml" if short else "")
    seen = [labels.count(label) for label in labels]
    labels = [f"{label} ({fallback})" if count > 1 and label != fallback else label
              for label, count, fallback in zip(labels, seen, fallbacks)]
    return labels, hidden


def left_out_lines(labels: list[str], hidden: list[str]) -> list[str]:
    """Terminal lines for what the labels leave out: curves that leave out the same values share one line
    (a sweep's variants mostly do), named by the first one's label; the others differ only in what their
    legend entries show."""
    groups: dict[str, list[str]] = {}
    for label, rest in zip(labels, hidden):
        if rest:
            groups.setdefault(rest, []).append(re.sub(r" \+\d+ more\b", "", label, count=1))
    return [f"  {members[0]}" + (f" (and {len(members) - 1} more with the same values left out)" if len(members) > 1 else "")
            + f"; also {rest}" for rest, members in groups.items()]


# DejaVu Sans (matplotlib's default) averages ~0.55 em per character; 0.6 leaves a margin for capitals.
EM_PER_CHAR = 0.6


def figure_title(fig, text: str) -> None:
    """The figure's title, in a smaller font where a long run or sweep name would run off both edges
    (a 30-character name did on sweep.png), and wrapped at spaces if even 7 points cannot fit it."""
    title = fig.suptitle(text)
    room = 0.95 * fig.get_figwidth() * 72  # points
    size = title.get_fontsize()
    longest = max(map(len, text.splitlines() or [""]))
    if longest * EM_PER_CHAR * size > room:
        title.set_fontsize(max(7.0, room / (longest * EM_PER_CHAR)))
        title.set_wrap(longest * EM_PER_CHAR * 7.0 > room)
