"""Strict, bounded YAML input: every scenario and experiment file is read through here.

PyYAML's ``safe_load`` builds no Python objects, but it still accepts what a careful reader
would call mistakes, and it lets a small file claim unbounded resources:

- an *alias bomb* (anchors referring to anchors, 10 per level) is a few hundred bytes that
  becomes 10⁸ values once anything copies it; a self-referencing alias is a cycle;
- deep nesting exhausts Python's recursion (``RecursionError``);
- a duplicate key silently keeps the last value;
- an integer beyond 64 bits passes validation of a float field and overflows later.

:func:`load_mapping` refuses all of these *before* anything is expanded, with the file and
line, and returns the data with a map from key paths to lines so that later validation
errors can say where the key is. Limits are module constants so tests and docs can name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ecosim.errors import InputError

MAX_FILE_BYTES = 5 * 2**20
"""Largest YAML file read (5 MiB; the largest shipped file is a few kB)."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (a scenario needs 4)."""

MAX_EXPANDED_NODES = 1_000_000
"""Most values a document may hold once every alias is expanded (an alias bomb holds 10⁸)."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

KeyPath = tuple[str | int, ...]


@dataclass
class Document:
    """A YAML mapping read strictly: ``data`` and the line (1-based) of each key path."""

    data: dict[str, Any]
    source: str
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """Line of the key at ``path``, or of its nearest enclosing key that is in the file."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with depth, alias-cycle, duplicate-key and 64-bit integer checks."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None and target.end_mark is None:  # still being composed: it contains the alias
                raise _Refused("an alias refers to the value that contains it (a cycle)", event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: ANN001
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True) if isinstance(key_node, ScalarNode) else None
                try:
                    hash(key)
                except TypeError:
                    continue
                if key is not None and key in seen:
                    raise _Refused(f"duplicate key {key!r} (first at line {seen[key]}); each key may appear once",
                                   key_node.start_mark, names_key=True)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):  # noqa: ANN001
        value = super().construct_yaml_int(node)
        if not INT64_MIN <= value <= INT64_MAX:
            raise _Refused(f"the integer {node.value} is outside the 64-bit range (±9.2e18)", node.start_mark)
        return value


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


class _Refused(yaml.YAMLError):
    """A strictness rule broken at a place in the file."""

    def __init__(self, problem: str, mark, names_key: bool = False):  # noqa: ANN001
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark
        self.names_key = names_key  # the problem already says which key


def _expanded_size(node: Node, limit: int) -> int:
    """Values in ``node`` with every alias expanded, counted without expanding (stops past ``limit``)."""
    sizes: dict[int, int] = {}

    def size(item: Node) -> int:
        known = sizes.get(id(item))
        if known is not None:
            return known
        total = 1
        if isinstance(item, SequenceNode):
            for child in item.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(item, MappingNode):
            for key, value in item.value:
                total += size(key) + size(value)
                if total > limit:
                    break
        sizes[id(item)] = total
        return total

    return size(node)


def _path_at(node: Node, mark, path: KeyPath) -> KeyPath | None:  # noqa: ANN001 - a PyYAML Mark
    """The key path of the value or key that starts at ``mark`` (None when not under a key)."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            child = (*path, key.value if isinstance(key, ScalarNode) else "?")
            if key.start_mark.index == mark.index:
                return child
            if value.start_mark.index == mark.index:
                return child
            if value.start_mark.index <= mark.index <= value.end_mark.index:
                found = _path_at(value, mark, child)
                if found:
                    return found
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            if item.start_mark.index <= mark.index <= item.end_mark.index:
                return _path_at(item, mark, (*path, i)) or (*path, i)
    return None


def _key_lines(node: Node, path: KeyPath, lines: dict[KeyPath, int], seen: set[int]) -> None:
    """Record the line of every mapping key and list item under ``node`` (each node once: aliases not followed)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                child = (*path, key.value)
                lines.setdefault(child, key.start_mark.line + 1)
                _key_lines(value, child, lines, seen)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            child = (*path, i)
            lines.setdefault(child, item.start_mark.line + 1)
            _key_lines(item, child, lines, seen)


def load_mapping(path: str | Path) -> Document:
    """Read a YAML file whose top level is a mapping, strictly and within bounds.

    Raises
    ------
    InputError
        The file is missing, unreadable, too big, not YAML, not a mapping, or breaks a rule
        above (the message names the file and the line).
    """
    path = Path(path)
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"is {path.stat().st_size:,} bytes; a scenario or experiment file may have at most "
                             f"{MAX_FILE_BYTES:,}", source=source)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", source=source) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a YAML file", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"cannot read: {reason}", source=source) from None
    data, node = _load_text(text, source)
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of keys to values at the top level, got {type(data).__name__}",
                         source=source)
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _key_lines(node, (), lines, set())
    return Document(data, source, lines)


def load_value(text: str, what: str) -> Any:
    """One YAML value given on the command line (``--set KEY=VALUE``), under the same rules as a file.

    ``what`` names it in messages (e.g. ``--set steps=10``).
    """
    if len(text) > MAX_FILE_BYTES:
        raise InputError(f"the value is longer than {MAX_FILE_BYTES:,} characters", key=what)
    return _load_text(text, None, what)[0]


def _load_text(text: str, source: str | None, key: str | None = None) -> tuple[Any, Node | None]:
    """The constructed data and its node tree, or :class:`InputError` naming ``source`` or ``key``."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return ({} if source else None), None
        if _expanded_size(node, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES:
            raise _Refused(f"holds more than {MAX_EXPANDED_NODES:,} values once its aliases (*name) are expanded",
                           node.start_mark)
        try:
            return loader.construct_document(node), node
        except _Refused as exc:  # name the key of the refused value, as validation errors do
            path = None if exc.names_key else _path_at(node, exc.problem_mark, ())
            if path:
                exc.problem = f"{'.'.join(map(str, path))}: {exc.problem}"
            raise
    except yaml.constructor.ConstructorError as exc:
        raise InputError(f"YAML tags that build Python objects are not allowed{_where(exc)}: {exc.problem}",
                         source=source, key=key) from None
    except _Refused as exc:
        raise InputError(f"refused{_where(exc)}: {exc.problem}", source=source, key=key) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"broken YAML{_where(exc)}: {problem}", source=source, key=key) from None
    except RecursionError:  # e.g. thousands of nested flow brackets
        raise InputError(f"nested too deeply (at most {MAX_DEPTH} levels)", source=source, key=key) from None
    finally:
        loader.dispose()


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
