"""An unquoted `off`, `no` or `false` is YAML 1.1's boolean false, which a key taking a number or a name refuses.
Where that key also takes null (`train.batch_size: null`, full batch), null is what the word most likely meant:
the error offers it, with what null means there."""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import ValidationError

from gdlab.config.run import UNION_SECTIONS, Config, kind_class


def offer_null(raw: dict, path: tuple, loc: tuple) -> str:
    """`; if you meant null (full batch), write null` where `raw` holds false at `path` (pydantic's `loc` for it)
    and null there validates; "" otherwise (a key that takes no null, a true, any other value)."""
    if not path or _at(raw, path) is not False:
        return ""
    trial = copy.deepcopy(raw)
    _at(trial, path[:-1])[path[-1]] = None
    try:
        Config.model_validate(trial)
    except ValidationError as exc:
        # refused there or by a check of a section holding it (train.steps: null with no epochs either)
        if any(e["loc"] and tuple(loc[: len(e["loc"])]) == tuple(e["loc"]) for e in exc.errors()):
            return ""
    return f"; if you meant null ({_meaning(raw, path)}), write null"


def _at(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def _meaning(raw: dict, path: tuple) -> str:
    """What null means at `path`, from its schema description (`null = full batch`); a section's null is none."""
    if len(path) == 1:
        return f"no {path[0]}"
    section = raw.get(path[0])
    if path[0] in UNION_SECTIONS:
        cls = kind_class(path[0], section.get("name")) if isinstance(section, dict) else None
    else:
        cls = Config.model_fields[path[0]].annotation
    field = cls.model_fields.get(path[1]) if len(path) == 2 and isinstance(cls, type) else None
    said = re.search(r"null = ([^;,]+)", (field.description or "") if field else "")
    return said.group(1) if said else "not set"
