"""Strict, safe YAML reading for configs: duplicate keys, ambiguous YAML 1.1 numbers, aliases and
executable tags are errors, `1e-3` is a float, and every key keeps its line:column for messages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gdlab.errors import GdlabError
from gdlab.flatkeys import dotted
from gdlab.files import read_user_text

MAX_CONFIG_BYTES = 1 << 20  # a config is a page of text; anything near this is a mistake or an attack

# YAML 1.1 (PyYAML) reads `1e-3` as a string because its float pattern wants a dot; YAML 1.2 does not.
# At least one digit: a bare `.`, `+` or `-.` stays a string instead of crashing float().
FLOAT_RE = re.compile(
    r"^[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)
_PLAIN_INT_RE = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
# YAML 1.1 reads an underscore anywhere in a number (`0.01_` is 0.01, `0.1_5` 0.15); gdlab takes them only
# as thousands separators in the whole part (`10_000`, `1_000.5`), where they cannot hide a typo.
_GROUPED_RE = re.compile(r"^[-+]?\d{1,3}(?:_\d{3})+(?:\.\d*)?(?:[eE][-+]?\d+)?$")

Path_ = tuple  # a key path: ("optimizer", "lr") or ("model", 0, "Linear")
MAX_DEPTH = 64  # nesting deeper than this is no config; the composer recurses, so bound it


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses what makes a config mean something other than it looks like."""

    _depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _located("anchors and aliases (*name) are not allowed in gdlab configs", event.start_mark)
        if getattr(self.peek_event(), "anchor", None) is not None:  # an anchor with no alias yet is refused too
            raise _located("anchors (&name) and aliases are not allowed in gdlab configs", self.peek_event().start_mark)
        if self._depth >= MAX_DEPTH:
            raise _located(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise _located("a key must be a plain name, not a list or mapping", key_node.start_mark)
            if key in seen:
                raise _located(f"duplicate key '{key}' (first at line {seen[key].line + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        text = str(node.value)
        if not _PLAIN_INT_RE.match(text):
            raise _located(
                f"'{text}' is an ambiguous number (YAML 1.1 reads leading zeros as octal, a:b as base 60, "
                "0x/0b as hex/binary); write a plain decimal or quote it",
                node.start_mark,
            )
        if len(text) > 100:
            raise _located(f"a {len(text)}-digit integer is too long for any gdlab setting", node.start_mark)
        _check_underscores(node)
        return super().construct_yaml_int(node)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:  # 2024-13-45 matches the date pattern but is no date
            raise _located(f"'{node.value}' looks like a date but is not one ({exc}); quote it", node.start_mark) from None

    def construct_yaml_float(self, node):
        if ":" in str(node.value):
            raise _located(f"'{node.value}' is a base-60 number in YAML 1.1; write a plain decimal", node.start_mark)
        _check_underscores(node)
        return super().construct_yaml_float(node)


def _check_underscores(node) -> None:
    text = str(node.value)
    if "_" in text and not _GROUPED_RE.match(text):
        raise _located(f"'{text}': an underscore in a number may only group thousands (10_000); "
                       f"write '{text.replace('_', '')}' if that is what you meant, or quote it", node.start_mark)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT_RE, list("-+0123456789."))


def _located(message: str, mark) -> yaml.MarkedYAMLError:
    err = yaml.MarkedYAMLError(problem=message, problem_mark=mark)
    err._gdlab_message = message
    return err


def _key_marks(node, prefix: Path_ = ()) -> dict[Path_, tuple[int, int]]:
    """Map every key path in a composed document to its 1-based (line, column)."""
    marks: dict[Path_, tuple[int, int]] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = prefix + (key_node.value,)
            marks[path] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            marks.update(_key_marks(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            marks[prefix + (i,)] = (item.start_mark.line + 1, item.start_mark.column + 1)
            marks.update(_key_marks(item, prefix + (i,)))
    return marks


def _path_at(node, mark, prefix: Path_ = ()) -> Path_ | None:
    """The key path of the key or value that starts at `mark` in a composed document, or None."""
    if isinstance(node, yaml.MappingNode):
        children = [(key.value, key, value) for key, value in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = [(i, None, item) for i, item in enumerate(node.value)]
    else:
        return None
    for name, key, value in children:
        if (key is not None and key.start_mark.index == mark.index) or value.start_mark.index == mark.index:
            return prefix + (name,)
        if value.start_mark.index < mark.index <= value.end_mark.index:
            return _path_at(value, mark, prefix + (name,))
    return None


def parse_yaml(text: str, source: str, positions: bool = True) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    """Parse one YAML document strictly; return the data and the key marks. Errors name `source`, with the
    line:column where `positions` (a file: not an override's or an axis's one value)."""
    loader = node = None
    try:
        loader = _StrictLoader(text)  # the reader refuses control characters here already
        node = loader.get_single_node()
        if node is None:
            return None, {}
        return loader.construct_document(node), _key_marks(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark and positions else source
        path = _path_at(node, mark) if node is not None and mark and positions else None
        if path:  # a value refused while it was read: name its key, as the schema's errors do
            where += f": {dotted(path)}"
        own = getattr(exc, "_gdlab_message", None)
        problem = own or exc.problem or str(exc)
        if "tag:yaml.org,2002:merge" in str(problem):
            problem = "merge keys (<<) are not allowed in gdlab configs; write the keys out"
        elif "could not determine a constructor" in str(problem):
            problem = f"tag {problem.split('tag ')[-1].strip()} is not allowed (gdlab reads plain YAML only)"
        elif "\\t" in str(problem) or "'\\t'" in str(exc):
            lines = text.splitlines()
            line = lines[mark.line] if mark and mark.line < len(lines) else ""
            before = line[: mark.column].strip() if mark else ""
            problem = ("tab characters cannot indent YAML; use spaces" if not before else
                       f"a tab after '{before[-20:]}': the YAML reader takes only spaces between values; use spaces")
        elif "found another document" in str(problem):
            problem = "a config is one YAML document; remove the second '---' and what follows"
        elif exc.context and not own:
            problem = f"{problem} ({exc.context})"
        raise GdlabError(f"{where}: {problem}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        where = f"{source}:{line}:{col}" if positions else source
        raise GdlabError(f"{where}: character #x{exc.character:04x} is not allowed in YAML (control character)") from None
    except yaml.YAMLError as exc:
        raise GdlabError(f"{source}: invalid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: Path) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    """Read a config file: size-capped, strict UTF-8, strict YAML."""
    text = read_user_text(path, "a YAML config file", MAX_CONFIG_BYTES)
    return parse_yaml(text, str(path))


def parse_scalar(text: str, source: str) -> Any:
    """Parse an override's value with the same strict rules as a config file."""
    value, _ = parse_yaml(text, source, positions=False) if text.strip() else (None, {})
    return value
