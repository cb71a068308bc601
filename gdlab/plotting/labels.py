"""Curve labels for `compare`: flatten each config to dotted keys and name a curve by only the keys
whose values differ between the curves, e.g. `optimizer.lr=0.1, seed=1`."""

from __future__ import annotations

from typing import Any

_UNSET = "unset"
# `name` usually restates what the other differing keys already say; it is used only when nothing else differs.
_WEAK_KEYS = ("name",)


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


def format_value(value: Any) -> str:
    """Short, exact text for a config value: 0.001 not 0.0010000, True as true (as YAML wrote it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "null"
    return str(value)


def differing_keys(flats: list[dict[str, Any]]) -> list[str]:
    """Keys (in first-seen order) whose value is not the same in every config; a missing key counts as a value."""
    keys: dict[str, None] = {}
    for flat in flats:
        keys.update(dict.fromkeys(flat))
    differ = [k for k in keys if len({repr(f.get(k, _UNSET)) for f in flats}) > 1]
    strong = [k for k in differ if k not in _WEAK_KEYS]
    return strong or differ


def curve_labels(configs: list[dict[str, Any] | None], fallbacks: list[str]) -> list[str]:
    """One label per curve from what differs; a run without config.yaml, or two identical configs,
    fall back to (or add) the folder name so no two curves share a label."""
    flats = [flatten(c) if c else {} for c in configs]
    known = [f for f in flats if f]
    keys = differing_keys(known) if len(known) > 1 else []
    labels = []
    for flat, fallback in zip(flats, fallbacks):
        parts = [f"{k}={format_value(flat.get(k, _UNSET))}" for k in keys] if flat else []
        labels.append(", ".join(parts) or fallback)
    seen = [labels.count(label) for label in labels]
    return [f"{label} ({fallback})" if count > 1 and label != fallback else label
            for label, count, fallback in zip(labels, seen, fallbacks)]
