"""Nested config data as dotted keys, the way users write overrides: {"optimizer": {"lr": 0.1}} -> optimizer.lr."""

from __future__ import annotations

import re
from typing import Any


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{"optimizer": {"lr": 0.1}, "model": [{"Linear": [2, 8]}]} -> {"optimizer.lr": 0.1, "model.0.Linear.0": 2, ...}."""
    if isinstance(data, dict):
        items = ((str(k), v) for k, v in data.items())
    elif isinstance(data, list):
        items = ((str(i), v) for i, v in enumerate(data))
    else:
        return {prefix: data} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in items:
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, (dict, list)) and value:
            flat.update(flatten(value, path))
        else:
            flat[path] = value
    return flat


def dotted(path) -> str:
    """A key path as the messages write it: `model[2].Linear.out_features`."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def describe_changes(before: dict[str, Any], after: dict[str, Any], keys: list[str], shown: int = 3) -> str:
    """`optimizer.lr: 0.1 -> 0.2, train.steps: 10 -> 30 and 2 more`: changed dotted keys for a message."""
    text = ", ".join(f"{k}: {before.get(k, 'unset')} -> {after.get(k, 'unset')}" for k in keys[:shown])
    return text + (f" and {len(keys) - shown} more" if len(keys) > shown else "")


def bracket_indices(key: str) -> str:
    """`model[1].Linear` as `model.1.Linear`: errors name list items with brackets, and a key copied from one
    must work as an override too."""
    return re.sub(r"\[(\d+)\]", r".\1", key)
