"""A kind switch on a config whose defaults are written out. A run's config.yaml holds every default of
its kinds (StepLR's `interval: epoch`, SGD's `weight_decay: 0`); switched by an override to a kind with
another default for the same key (OneCycleLR steps per `step`, AdamW decays by 0.01), the old kind's
default would silently stay. Such values give way to the new kind's default, with a note saying so.
Only in a section that holds every key of its kind, as gdlab writes them: in a section written by hand,
a value that happens to equal the default was still chosen."""

from __future__ import annotations

from typing import Any, Iterable

from pydantic_core import PydanticUndefined

from gdlab.config.run import kind_class, switched_sections
from gdlab.yamldump import format_value

_NONE = object()


# Where the new kind refuses the old default (a plateau schedule steps at evaluations), keeping it is no option.
_NOT_KEPT = {("ReduceLROnPlateau", "interval")}


def kind_default(section: str, name: Any, key: str) -> Any:
    """The default of `key` for the `name` kind of a union section (a list for a tuple), or _NONE."""
    cls = kind_class(section, name)
    field = cls.model_fields.get(key) if cls is not None else None
    if field is None:
        return _NONE
    value = field.get_default(call_default_factory=True)
    if value is PydanticUndefined:
        return _NONE
    return list(value) if isinstance(value, tuple) else value


def reset_switched_defaults(raw: dict, before: dict, set_keys: Iterable[str]) -> list[str]:
    """Where `<section>.name` in `set_keys` switched `before`'s kind to another, drop the section's keys
    (not themselves in `set_keys`) that hold the old kind's default where the new kind's differs; one
    note per key, e.g. `scheduler.interval: epoch was StepLR's default; OneCycleLR's (step) applies`.
    A chosen value the new kind takes stays, with a note too (`optimizer.momentum: 0.9 carries over ...`)."""
    set_keys = set(set_keys)
    notes = []
    for section, new in switched_sections(raw, set_keys):
        old = before.get(section)
        if not isinstance(old, dict):
            continue
        old_name, new_name = old.get("name"), new.get("name")
        if old_name == new_name or kind_class(section, old_name) is None or kind_class(section, new_name) is None:
            continue
        # written by hand (not every key of the old kind): its values are choices, not defaults to reset
        written_out = set(kind_class(section, old_name).model_fields) <= set(old)
        for key in [k for k in new if k not in ("name", "lr") and f"{section}.{k}" not in set_keys]:
            was, now = kind_default(section, old_name, key), kind_default(section, new_name, key)
            if now is _NONE:
                continue
            if written_out and was is not _NONE and new[key] == was and was != now:
                del new[key]
                keep = "" if (new_name, key) in _NOT_KEPT else f" (set {section}.{key}={format_value(was)} to keep it)"
                notes.append(f"{section}.{key}: {format_value(was)} was {old_name}'s default; {new_name}'s "
                             f"({format_value(now)}) applies{keep}")
            elif new[key] != now:  # SGD's momentum 0.9 makes RMSprop a momentum RMSprop: a choice, said aloud
                notes.append(f"{section}.{key}: {format_value(new[key])} carries over from {old_name} to {new_name}, "
                             f"whose default is {format_value(now)}")
    return notes
