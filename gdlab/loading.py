"""Config files and dotted overrides -> a validated `Config`, with one-line errors that name the
file, line:column, the dotted key and what is allowed."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gdlab.config import Config, did_you_mean, not_one_of, yaml_boolean
from gdlab.config.null_offer import offer_null
from gdlab.config.overrides import (  # apply_override and _keyword_form: also the sweep's
    Applied, apply_override, dotted as _dotted, follow_set_keys, keyword_form as _keyword_form,
    parse_override, responsible, unset,
)
from gdlab.errors import GdlabError
from gdlab.yamlio import read_yaml_file

Where = dict[tuple, str]  # key path -> "file:line:col" or "override 'k=v'"


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


def _glued_hint(section: Any) -> str:
    """YAML reads `{name:SGD}` (no space after the colon) as the one key 'name:SGD': say how to write it, since
    the error about the key it lacks ('name') reads as if it were there."""
    glued = next((k for k in section if isinstance(k, str) and ":" in k), None) if isinstance(section, dict) else None
    return f"; YAML reads '{glued}' as one key: write '{glued.replace(':', ': ', 1)}'" if glued else ""


# What a `pattern=` in the schema means, in words (pydantic would print the regex).
PATTERN_HINTS = {
    ("name",): "letters, digits and . _ - (starting with a letter or digit), at most 100 characters",
    ("train", "device"): "auto, cpu, cuda, cuda:N or mps",
    ("data", "path"): "a file path, which cannot hold a NUL character (\\0)",
}


def format_validation_error(
    exc: ValidationError, raw: dict, where: Where, source: str, overrides: Applied = ()
) -> str:
    """The first validation problem as one line: `file:line:col: key: what is allowed (got x)`; when the
    problem sits in the file but an override changed what is inside it, the override is named too."""
    err = exc.errors(include_url=False)[0]
    path = _data_path(err["loc"], raw)
    ctx = err.get("ctx") or {}
    msg = err["msg"]
    if err["type"] == "unknown_key":
        path = path + (ctx["key"],)
        msg += _glued_hint({ctx["key"]: None})
    elif err["type"] == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        tag = err["input"].get("name") if isinstance(err.get("input"), dict) else None  # ctx's tag is text: 'False'
        msg = f"{not_one_of(tag if isinstance(tag, bool) else ctx.get('tag'), tags)}{did_you_mean(ctx.get('tag'), tags)}"
        path = path + ("name",)
    elif err["type"] == "missing" and err["loc"] and isinstance(err["loc"][-1], int):
        msg = f"too few items: item {err['loc'][-1]} is missing"
    elif err["type"] == "missing" and err["loc"] and err["loc"][-1] not in path:
        path = path + (err["loc"][-1],)
        msg = "required key is missing"
    elif err["type"] == "union_tag_not_found":
        section = raw
        for part in path:  # keys _data_path found in raw
            section = section[part]
        path = path + ("name",)
        msg = "missing 'name' that says which kind this is" + _glued_hint(section)
    elif err["type"] == "cycle":  # a check across sections (config/run.py): the key that asked for it
        path = ("scheduler", "cycle_momentum")
    elif err["type"] == "string_pattern_mismatch" and path in PATTERN_HINTS:
        msg = f"allowed: {PATTERN_HINTS[path]}"
    elif err["type"] == "string_type" and isinstance(err.get("input"), (int, float, bool)):
        msg += "; quote it to make it text"
    msg = msg.removeprefix("Value error, ")
    loc = next((where[path[:n]] for n in range(len(path), -1, -1) if path[:n] in where), source)
    if path and not loc.startswith("override"):
        cited = responsible(path, list(overrides))
        if err["type"] == "missing":  # the override that switched the section's kind is why the key is needed
            switch = [text for key, text in overrides if key == (path[0], "name")][-1:]
            cited += [text for text in switch if text not in cited]
        loc += with_overrides(cited)
    shown = "." if not path else _dotted(path)
    got = ""
    if err["type"] not in ("unknown_key", "missing", "union_tag_invalid", "union_tag_not_found", "layer", "kind", "cycle"):
        value = err.get("input")
        if not isinstance(value, (dict, list)):
            refused = isinstance(value, bool) and (err["type"].endswith("_type") or err["type"] == "literal_error")
            got = f" (got {yaml_boolean(value) if refused else str(value).lower() if isinstance(value, bool) else repr(value)})"
    offer = offer_null(raw, path, tuple(err["loc"])) if err.get("input") is False else ""
    return f"{loc}: {shown}: {msg}{got}{offer}"


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


def with_overrides(texts: list[str]) -> str:
    """` (with override 'a')` for the overrides that shaped a key in error; "" when none did."""
    if not texts:
        return ""
    return f" (with override{'s' if len(texts) > 1 else ''} {', '.join(repr(t) for t in texts)})"


def validate(raw: dict, where: Where, source: str, overrides: Applied = ()) -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise GdlabError(format_validation_error(exc, raw, where, source, overrides)) from None


def default_name(path: Path) -> str:
    """The run name when a config sets none: its file stem, made folder-safe (`my config.yaml` -> `my-config`)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem)[:100]
    return name if name[:1].isalnum() else "run"


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Load, override and validate a config; CSV paths become absolute so the saved config still works.
    A kind switch drops the file's keys the new kind does not take, with a note on stderr."""
    path = Path(path)
    raw, where = load_raw(path)
    before, raw = raw, copy.deepcopy(raw)
    applied: Applied = []
    for text in overrides:
        key, value = parse_override(text)
        if key[0] == "sweep":  # nothing but `gdlab sweep` reads that section, and it takes axes directly
            raise GdlabError(f"override '{text}': the sweep: section cannot be overridden; to sweep, give the axis "
                             f"itself: gdlab sweep {path} {'.'.join(map(str, key[1:])) or 'optimizer.lr'}=VALUE,VALUE")
        _keyword_form(raw, key)
        if value is not None or not unset(raw, key, f"override '{text}'"):
            apply_override(raw, key, value, f"override '{text}'")
        mark(where, key, f"override '{text}'")
        applied.append((key, text))
    raw.setdefault("name", default_name(path))  # after the overrides, so `name=null` means the file's name
    dropped, reset = follow_set_keys(raw, before, [key for key, _ in applied])
    absolutize_paths(raw, path)
    cfg = validate(raw, where, str(path), applied)
    for note in dropped_notes(dropped, raw, applied, path) + reset:
        sys.stderr.write(f"gdlab: note: {note}\n")
    return cfg


def mark(where: Where, key: tuple, source: str) -> None:
    """Record that `key`, and all under it, now comes from `source` (the file's marks below it are stale)."""
    for k in [k for k in where if len(k) > len(key) and k[: len(key)] == key]:
        del where[k]
    for n in range(1, len(key)):
        where.setdefault(key[:n], source)
    where[key] = source


def dropped_notes(dropped: list[str], raw: dict, applied: Applied, path: Path) -> list[str]:
    """One line per switched section: which of the file's keys went, and the override that switched the kind."""
    notes = []
    for section in dict.fromkeys(d.split(".")[0] for d in dropped):
        keys = [d for d in dropped if d.split(".")[0] == section]
        switch = [text for key, text in applied if key == (section, "name")][-1]
        them = "it" if len(keys) == 1 else "them"
        notes.append(f"override '{switch}': dropped {', '.join(keys)} from {path} ({raw[section]['name']} does not take {them})")
    return notes


def absolutize_paths(raw: dict, config_path: Path) -> None:
    """A CSV path is relative to its config file; make it absolute so saved copies still find it."""
    data = raw.get("data")
    if isinstance(data, dict) and data.get("name") == "csv" and isinstance(data.get("path"), str):
        data["path"] = config_relative(data["path"], config_path)


def config_relative(path: str, config_path: Path) -> str:
    """A data.path, relative to its config file, made absolute; one with a NUL is left for the schema to refuse
    by name, since the OS cannot resolve it (Path.resolve raises ValueError)."""
    return path if "\0" in path else str((Path(config_path).parent / path).resolve())
