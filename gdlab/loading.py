"""Config files and dotted overrides -> a validated `Config`, with one-line errors that name the
file, line:column, the dotted key and what is allowed."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gdlab.config import Config, did_you_mean
from gdlab.layers import LAYER_ARGS
from gdlab.errors import GdlabError
from gdlab.yamlio import parse_scalar, read_yaml_file

Where = dict[tuple, str]  # key path -> "file:line:col" or "override 'k=v'"


def parse_override(text: str) -> tuple[tuple, Any]:
    """`optimizer.lr=0.05` -> (("optimizer", "lr"), 0.05); the value is read as strict YAML."""
    if "=" not in text:
        raise GdlabError(f"override '{text}': expected KEY=VALUE, e.g. optimizer.lr=0.05")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if not key.strip() or any(not p for p in parts):
        raise GdlabError(f"override '{text}': the key must be dotted names, e.g. train.epochs=50")
    path = tuple(int(p) if p.isdigit() else p for p in parts)
    return path, parse_scalar(raw, f"override '{text}'")


def apply_override(data: dict, path: tuple, value: Any, source: str) -> None:
    """Set `value` at `path` in nested dicts/lists, creating mappings as needed."""
    node: Any = data
    for i, part in enumerate(path[:-1]):
        if isinstance(node, list):
            if not isinstance(part, int) or part >= len(node):
                raise GdlabError(f"{source}: '{_dotted(path[:i])}' has no item {part} (it has {len(node)})")
            if not isinstance(node[part], (dict, list)):
                _scalar_parent(source, path, i)
            node = node[part]
            continue
        if not isinstance(node.get(part), (dict, list)):
            node[part] = {} if part not in node or node[part] is None else _scalar_parent(source, path, i)
        node = node[part]
    last = path[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or last >= len(node):
            raise GdlabError(f"{source}: list '{_dotted(path[:-1])}' has no item {last} (it has {len(node)})")
        node[last] = value
    else:
        node[last] = value


def _keyword_form(raw: dict, path: tuple) -> None:
    """Make `path` settable: `model.0.Linear.out_features=4` on `- Linear: [2, 8]` first names that
    layer's positional arguments, and `loss.label_smoothing=0.1` on `loss: CrossEntropyLoss` expands it."""
    if len(path) >= 2 and path[0] == "loss" and isinstance(raw.get("loss"), str):
        raw["loss"] = {"name": raw["loss"]}
    if len(path) < 4 or path[0] != "model" or not isinstance(path[1], int) or not isinstance(path[3], str):
        return
    model = raw.get("model")
    layer = model[path[1]] if isinstance(model, list) and path[1] < len(model) else None
    kind = path[2]
    if isinstance(layer, dict) and list(layer) == [kind] and kind in LAYER_ARGS and isinstance(layer[kind], list):
        names = list(LAYER_ARGS[kind].model_fields)
        if len(layer[kind]) <= len(names):
            layer[kind] = dict(zip(names, layer[kind]))


def _scalar_parent(source: str, path: tuple, i: int):
    key = _dotted(path[: i + 1])
    raise GdlabError(f"{source}: '{key}' is a single value, so '{_dotted(path)}' cannot be set")


def _dotted(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _data_path(loc: tuple, raw: Any) -> tuple:
    """Drop pydantic's union-tag segments from an error location, keeping only real keys."""
    path, node = [], raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, (dict, list)):
            continue  # a union tag such as 'SGD' or 'function-after[...]'
        else:
            break
    return tuple(path)


# What a `pattern=` in the schema means, in words (pydantic would print the regex).
PATTERN_HINTS = {
    ("name",): "letters, digits and . _ - (starting with a letter or digit), at most 100 characters",
    ("train", "device"): "auto, cpu, cuda, cuda:N or mps",
}


def format_validation_error(
    exc: ValidationError, raw: dict, where: Where, source: str, overrides: list[tuple[tuple, str]] = ()
) -> str:
    """The first validation problem as one line: `file:line:col: key: what is allowed (got x)`; when the
    problem sits in the file but an override changed what is inside it, the override is named too."""
    err = exc.errors(include_url=False)[0]
    path = _data_path(err["loc"], raw)
    ctx = err.get("ctx") or {}
    msg = err["msg"]
    if err["type"] == "unknown_key":
        path = path + (ctx["key"],)
    elif err["type"] == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        msg = f"'{ctx.get('tag')}' is not one of {', '.join(tags)}{did_you_mean(ctx.get('tag'), tags)}"
        path = path + ("name",)
    elif err["type"] == "missing" and err["loc"] and isinstance(err["loc"][-1], int):
        msg = f"too few items: item {err['loc'][-1]} is missing"
    elif err["type"] == "missing" and err["loc"] and err["loc"][-1] not in path:
        path = path + (err["loc"][-1],)
        msg = "required key is missing"
    elif err["type"] == "union_tag_not_found":
        path = path + ("name",)
        msg = "missing 'name' that says which kind this is"
    elif err["type"] == "string_pattern_mismatch" and path in PATTERN_HINTS:
        msg = f"allowed: {PATTERN_HINTS[path]}"
    elif err["type"] == "string_type" and isinstance(err.get("input"), (int, float, bool)):
        msg += "; quote it to make it text"
    msg = msg.removeprefix("Value error, ")
    loc = next((where[path[:n]] for n in range(len(path), -1, -1) if path[:n] in where), source)
    if path and not loc.startswith("override"):
        inside = [t for k, t in overrides if k[: len(path)] == path or (err["type"] == "unknown_key" and k == path[:-1] + ("name",))]
        if inside:
            loc += f" (with override '{inside[-1]}')"
    shown = "." if not path else _dotted(path)
    got = ""
    if err["type"] not in ("unknown_key", "missing", "union_tag_invalid", "union_tag_not_found", "layer", "loss"):
        value = err.get("input")
        if not isinstance(value, (dict, list)):
            got = f" (got {str(value).lower() if isinstance(value, bool) else repr(value)})"
    return f"{loc}: {shown}: {msg}{got}"


_KIND = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def load_raw(path: Path) -> tuple[dict, Where]:
    """Read a config file into plain data, checking its top level is a mapping."""
    data, marks = read_yaml_file(path)
    if data is None:
        raise GdlabError(f"{path}: the file is empty; a config needs data, model, loss, optimizer and train")
    if not isinstance(data, dict):
        raise GdlabError(f"{path}: the top level must be a mapping of keys (data, model, ...), got {_KIND.get(type(data), type(data).__name__)}")
    where = {key: f"{path}:{line}:{col}" for key, (line, col) in marks.items()}
    return data, where


def validate(raw: dict, where: Where, source: str, overrides: list[tuple[tuple, str]] = ()) -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise GdlabError(format_validation_error(exc, raw, where, source, overrides)) from None


def default_name(path: Path) -> str:
    """The run name when a config sets none: its file stem, made folder-safe (`my config.yaml` -> `my-config`)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem)[:100]
    return name if name[:1].isalnum() else "run"


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Load, override and validate a config; CSV paths become absolute so the saved config still works."""
    path = Path(path)
    raw, where = load_raw(path)
    raw = copy.deepcopy(raw)
    raw.setdefault("name", default_name(path))
    applied: list[tuple[tuple, str]] = []
    for text in overrides:
        key, value = parse_override(text)
        _keyword_form(raw, key)
        apply_override(raw, key, value, f"override '{text}'")
        for n in range(1, len(key) + 1):
            where.setdefault(key[:n], f"override '{text}'")
        where[key] = f"override '{text}'"
        applied.append((key, text))
    absolutize_paths(raw, path)
    return validate(raw, where, str(path), applied)


def absolutize_paths(raw: dict, config_path: Path) -> None:
    """A CSV path is relative to its config file; make it absolute so saved copies still find it."""
    data = raw.get("data")
    if isinstance(data, dict) and data.get("name") == "csv" and isinstance(data.get("path"), str):
        data["path"] = str((Path(config_path).parent / data["path"]).resolve())
