"""Writing YAML: configs and sweep files that `yamlio.parse_yaml` reads back equal, and config values
written as labels and messages show them."""

from __future__ import annotations

from typing import Any

import yaml

from gdlab.yamlio import FLOAT_RE

# libyaml's emitter when PyYAML has it: dumping a config is ~10x faster, which a 1000-variant sweep notices.
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _StrictDumper(_BaseDumper):
    """Quotes every string `_StrictLoader` would read as something else (`'1e3'`), so a dump loads back equal."""

    def ignore_aliases(self, data: Any) -> bool:
        # gdlab's reader refuses anchors and aliases, and a value used twice (a random search's drawn
        # choice of lists, one object per draw that picked it) would otherwise be written as one
        return True


_StrictDumper.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT_RE, list("-+0123456789."))


def dump_yaml(data: Any) -> str:
    """Dump plain data with keys in the given order, block style; `parse_yaml` reads it back equal."""
    return yaml.dump(data, Dumper=_StrictDumper, sort_keys=False, default_flow_style=None, allow_unicode=True)


class _BlockRootDumper(_StrictDumper):
    """Writes the top-level mapping in block style even when all its values are scalars, as it is in a
    whole config: so a config's sections can be dumped one at a time and joined."""

    def represent(self, data: Any) -> None:
        node = self.represent_data(data)
        node.flow_style = False
        self.serialize(node)
        self.represented_objects, self.object_keeper, self.alias_key = {}, [], None


# Dumped sections by (key, repr(value)): a sweep's configs share all but the swept sections, and dumping a
# whole config cost ~250 us (PyYAML represents it in Python), 32 ms of a 128-variant group's file work.
_SECTIONS: dict[tuple[str, str], str] = {}
MAX_CACHED_SECTIONS = 4096


def dump_config(config: dict[str, Any]) -> str:
    """`dump_yaml(config)` for a resolved config (a mapping of sections), from cached section dumps."""
    parts = []
    for key, value in config.items():
        cache_key = (key, repr(value))  # repr tells 1 from 1.0 and True, and keeps key order
        text = _SECTIONS.get(cache_key)
        if text is None:
            text = yaml.dump({key: value}, Dumper=_BlockRootDumper, sort_keys=False, default_flow_style=None,
                             allow_unicode=True)
            if len(_SECTIONS) >= MAX_CACHED_SECTIONS:
                _SECTIONS.clear()
            _SECTIONS[cache_key] = text
        parts.append(text)
    return "".join(parts) if parts else dump_yaml(config)


def format_value(value: Any) -> str:
    """A config value (a swept one, a kind's default) as labels, tables and messages write it, in YAML's
    flow style: `null`, `true`, `0.01`, `[0.9, 0.99]`, `{LeakyReLU: [0.1]}` (str() gives None, True, 'quotes')."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    return str(value)
