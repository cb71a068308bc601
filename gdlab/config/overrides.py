"""Dotted overrides (`optimizer.lr=0.05`) on a config's raw data: parsing and setting them, what one
implies for keys it does not name (a null, a kind switch, epochs vs steps), and which override shaped a key."""

from __future__ import annotations

from typing import Any, Iterable, get_args

from gdlab.config.kind_switch import reset_switched_defaults
from gdlab.config.run import UNION_SECTIONS, Config, TrainConfig, kind_class, kind_fields, switched_sections
from gdlab.errors import GdlabError
from gdlab.flatkeys import bracket_indices, dotted
from gdlab.layers import LAYER_ARGS
from gdlab.yamlio import parse_scalar

Applied = list[tuple[tuple, str]]  # (key path, the override as typed), in command-line order


def parse_override(text: str) -> tuple[tuple, Any]:
    """`optimizer.lr=0.05` -> (("optimizer", "lr"), 0.05); the value is read as strict YAML."""
    if "=" not in text:
        raise GdlabError(f"override '{text}': expected KEY=VALUE, e.g. optimizer.lr=0.05")
    key, raw = text.split("=", 1)
    parts = bracket_indices(key.strip()).split(".")
    if not key.strip() or any(not p for p in parts):
        raise GdlabError(f"override '{text}': the key must be dotted names, e.g. train.epochs=50")
    return tuple(key_part(p) for p in parts), parse_scalar(raw, f"override '{text}'")


def key_part(part: str) -> int | str:
    """A dotted key's part as a list index when it is ASCII digits, else a name: int() also reads "١" and
    "１", which would silently pick an item, and isdigit() alone takes "²", which int() refuses."""
    return int(part) if part.isascii() and part.isdigit() else part


def key_path(dotted: str) -> tuple:
    """`model.0.Linear` -> ("model", 0, "Linear"): a dotted key as the path apply_override takes."""
    return tuple(key_part(p) for p in dotted.split("."))


def apply_override(data: dict, path: tuple, value: Any, source: str) -> None:
    """Set `value` at `path` in nested dicts/lists, creating mappings as needed."""
    node: Any = data
    for i, part in enumerate(path[:-1]):
        if isinstance(node, list):
            if not isinstance(part, int) or part >= len(node):
                _no_item(source, path[:i], part, len(node))
            if not isinstance(node[part], (dict, list)):
                _scalar_parent(source, path, i)
            node = node[part]
            continue
        if not isinstance(node.get(part), (dict, list)):
            node[part] = {} if part not in node or node[part] is None else _scalar_parent(source, path, i)
        node = node[part]
    last = path[-1]
    if isinstance(node, list) and (not isinstance(last, int) or last >= len(node)):
        _no_item(source, path[:-1], last, len(node))
    node[last] = value


def keyword_form(raw: dict, path: tuple) -> None:
    """Make `path` settable: `model.0.Linear.out_features=4` on `- Linear: [2, 8]` first names that layer's
    positional arguments (likewise a single value, `Dropout: 0.2`, and `{type: Linear, args: ...}`);
    `model.1.LeakyReLU.negative_slope=0.2` on `- LeakyReLU` makes it a mapping; `loss.label_smoothing=0.1` on
    `loss: CrossEntropyLoss` (likewise `data`, `optimizer`, `scheduler` given as a bare name) expands it to
    `{name: ...}`; `optimizer.betas.0=0.8` where betas is left out starts from its default."""
    if len(path) >= 2 and path[0] in UNION_SECTIONS and isinstance(raw.get(path[0]), str):
        raw[path[0]] = {"name": raw[path[0]]}
    section = raw.get(path[0]) if path[0] in UNION_SECTIONS else None
    if len(path) == 3 and isinstance(path[2], int) and isinstance(section, dict) and path[1] not in section:
        field = getattr(kind_class(path[0], section.get("name")), "model_fields", {}).get(path[1])
        if field is not None and isinstance(field.default, (tuple, list)):  # betas.0=0.8: the rest stays default
            section[path[1]] = list(field.default)
    if len(path) < 4 or path[0] != "model" or not isinstance(path[1], int) or not isinstance(path[3], str):
        return
    model = raw.get("model")
    layer = model[path[1]] if isinstance(model, list) and path[1] < len(model) else None
    kind = path[2]
    if layer == kind:
        model[path[1]] = {kind: {}}
        return
    if isinstance(layer, dict) and set(layer) <= {"type", "args"} and layer.get("type") == kind:
        layer = model[path[1]] = {kind: layer.get("args")}  # {type: Linear, args: [2, 8]} is {Linear: [2, 8]}
    if not (isinstance(layer, dict) and list(layer) == [kind] and kind in LAYER_ARGS):
        return
    names, args = list(LAYER_ARGS[kind].model_fields), layer[kind]
    if args is None:  # `Dropout: null`: no arguments
        layer[kind] = {}
    elif isinstance(args, list) and len(args) <= len(names):
        layer[kind] = dict(zip(names, args))
    elif not isinstance(args, (list, dict)) and names:  # `Dropout: 0.2` is its first argument
        layer[kind] = {names[0]: args}


def unset(raw: dict, path: tuple, source: str) -> bool:
    """Remove the key for a null override when null is not one of its values but it has a default (so the
    default applies: `optimizer.momentum=null`); True if so. Where null is a value (`train.batch_size`) it is set.
    A key with no default cannot be unset: a GdlabError from `source` says so, not 'valid number (got None)'."""
    field = _field(raw, path)
    if field is None or field.annotation is type(None) or type(None) in get_args(field.annotation):
        return False
    if field.is_required():
        raise GdlabError(f"{source}: {'.'.join(map(str, path))} has no default, so null cannot unset it; give a value")
    parent: Any = raw
    for part in path[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    return True


def _field(raw: dict, path: tuple):
    """The schema field a key path names, where the path is one the schema types one by one."""
    if len(path) == 1:
        return Config.model_fields.get(path[0])
    if len(path) == 2 and path[0] == "train":
        return TrainConfig.model_fields.get(path[1])
    if len(path) == 2 and path[0] in UNION_SECTIONS and isinstance(raw.get(path[0]), dict):
        cls = kind_class(path[0], raw[path[0]].get("name"))
        return cls.model_fields.get(path[1]) if cls else None
    if len(path) == 4 and path[0] == "model" and path[2] in LAYER_ARGS:
        layer = raw["model"][path[1]] if isinstance(raw.get("model"), list) and isinstance(path[1], int) and path[1] < len(raw["model"]) else None
        if isinstance(layer, dict) and isinstance(layer.get(path[2]), dict):
            return LAYER_ARGS[path[2]].model_fields.get(path[3])
    return None


def drop_foreign_keys(raw: dict, set_keys: Iterable[str]) -> list[str]:
    """When `<section>.name` is among the dotted `set_keys` (a kind switch: optimizer.name=Adam), drop the
    section's other keys the kind does not take, unless they are set too; the dropped keys, dotted."""
    set_keys = set(set_keys)
    dropped = []
    for section, values in switched_sections(raw, set_keys):
        allowed = kind_fields(section, values.get("name"))
        if allowed is None:
            continue  # an unknown kind: validation names it, with a "did you mean"
        for key in list(values):
            if key not in allowed and f"{section}.{key}" not in set_keys:
                del values[key]
                dropped.append(f"{section}.{key}")
    return dropped


def clear_alternative(raw: dict, set_paths: Iterable[tuple]) -> None:
    """train.epochs and train.steps are alternatives: a non-null override of one removes the other when that
    came from the file. Both given by overrides stays an error for the schema to report."""
    set_paths = list(set_paths)
    train = raw.get("train")
    if not isinstance(train, dict):
        return
    for mine, other in (("epochs", "steps"), ("steps", "epochs")):
        other_given = any(("train", other)[: len(p)] == p for p in set_paths)
        if ("train", mine) in set_paths and train.get(mine) is not None and not other_given:
            train.pop(other, None)


def follow_set_keys(raw: dict, before: dict, paths: list[tuple], kept: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """`gdlab train`'s rules for the keys overrides (or sweep axes) set at `paths` in `raw` (`before`: the
    file as read): a kind switch drops the keys the new kind does not take and resets the old kind's
    written-out defaults (not those set, nor the dotted `kept`), and train.steps replaces train.epochs
    and back. Returns (the dropped keys, the reset notes)."""
    set_keys = {".".join(map(str, path)) for path in paths}
    dropped = drop_foreign_keys(raw, set_keys)
    reset = reset_switched_defaults(raw, before, set_keys | set(kept))
    clear_alternative(raw, paths)
    return dropped, reset


def responsible(path: tuple, applied: Applied) -> list[str]:
    """The overrides that shaped the value at `path`: the last one that set it or a key above it (that
    replaced what the file had), then any later ones that set something inside it."""
    found: list[str] = []
    for key, text in applied:
        if path[: len(key)] == key:
            found = [text]
        elif key[: len(path)] == path:
            found.append(text)
    return found


def _scalar_parent(source: str, path: tuple, i: int):
    key = dotted(path[: i + 1])
    override = ".".join(str(p) for p in path[: i + 1])
    raise GdlabError(f"{source}: '{key}' is a single value, so '{dotted(path)}' cannot be set; "
                     f"replace the whole value with {override}=...")


def _no_item(source: str, path: tuple, part, n: int):
    numbered = "" if isinstance(part, int) or not n else f"; its items are numbered 0 to {n - 1}"
    raise GdlabError(f"{source}: list '{dotted(path)}' has no item {part} (it has {n}){numbered}")
