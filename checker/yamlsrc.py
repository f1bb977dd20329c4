"""YAML with addresses: the data, plus where each value stands (line, column) in the file.

Duplicate keys are errors (PyYAML silently keeps the last one). Used for policies,
plans and waivers, so every error can say file:line:col.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Located:
    data: Any
    positions: dict[Path_, tuple[int, int]]
    file: str
    value_positions: dict[Path_, tuple[int, int]] | None = None

    def where(self, path: Path_) -> tuple[int, int]:
        """(line, col) of the value at `path`, or of its closest located parent."""
        path = tuple(path)
        while path and path not in self.positions:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def where_value(self, path: Path_) -> tuple[int, int]:
        """(line, col) where the value itself starts (for errors inside an expression)."""
        values = self.value_positions or {}
        return values.get(tuple(path)) or self.where(path)


class YamlError(Exception):
    def __init__(self, file: str, line: int, col: int, message: str) -> None:
        super().__init__(f"{file}:{line}:{col}: {message}")
        self.file, self.line, self.col, self.message = file, line, col, message


#: Deepest nesting of mappings and lists any of migready's YAML files needs, with room
#: to spare; deeper is refused before anything recurses that far.
MAX_DEPTH = 64
#: Values that aliases (`*name`) may bring in, all aliases of a document together: one
#: budget however the aliases nest, so a kilobyte of nested aliases ("billion laughs")
#: is refused at once instead of expanding without end.
MAX_ALIAS_NODES = 10_000


def load(path: str | Path, content: bytes | None = None, *, aliases: bool = True) -> Located:
    """Parse one YAML document with positions; raise YamlError with file:line:col.
    `content`: the file's bytes, when the caller has read them already. `aliases=False`:
    the format has no use for anchors and aliases, so an alias is an error."""
    file = str(path)
    try:
        text = (Path(path).read_bytes() if content is None else content).decode("utf-8")
    except FileNotFoundError:
        raise YamlError(file, 0, 0, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(file, 0, 0, f"cannot read: {exc}") from None
    return loads(text, file, aliases=aliases)


class _Composer(yaml.SafeLoader):
    """PyYAML's composer with a depth limit (it recurses once per level) and, where the
    format has no use for them, no aliases."""

    def __init__(self, text: str, file: str, aliases: bool) -> None:
        super().__init__(text)
        self.file, self.aliases, self.depth = file, aliases, 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if not self.aliases and self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise YamlError(self.file, mark.line + 1, mark.column + 1,
                            "aliases (*name) are not allowed in this file")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlError(self.file, mark.line + 1, mark.column + 1,
                                f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def loads(text: str, file: str = "<string>", *, aliases: bool = True) -> Located:
    loader = None
    try:
        loader = _Composer(text, file, aliases)  # reads the text: may refuse a character
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlError(file, line, col, f"YAML syntax: {exc.problem or exc}") from None
    except yaml.reader.ReaderError as exc:
        line, col = text.count("\n", 0, exc.position) + 1, exc.position - text.rfind("\n", 0, exc.position)
        raise YamlError(file, line, col,
                        f"YAML syntax: unacceptable character #x{exc.character:04x}") from None
    except yaml.YAMLError as exc:
        raise YamlError(file, 1, 1, f"YAML syntax: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    positions: dict[Path_, tuple[int, int]] = {}
    if node is None:
        return Located(None, positions, file, {})
    values: dict[Path_, tuple[int, int]] = {}
    data = _Builder(file, positions, values).build(node, ())
    return Located(data, positions, file, values)


_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


class _Builder:
    """Nodes to values with their positions. An alias is the node it names, reached a
    second time: what it brings in counts against MAX_ALIAS_NODES."""

    def __init__(self, file: str, positions: dict[Path_, tuple[int, int]],
                 values: dict[Path_, tuple[int, int]]) -> None:
        self.file, self.positions, self.values = file, positions, values
        self.seen: set[int] = set()
        self.repeats = 0
        self.constructor = yaml.SafeLoader("")

    def fail(self, node: yaml.Node, message: str) -> YamlError:
        return YamlError(self.file, node.start_mark.line + 1, node.start_mark.column + 1, message)

    def build(self, node: yaml.Node, path: Path_) -> Any:
        if id(node) in self.seen:
            self.repeats += 1
            if self.repeats > MAX_ALIAS_NODES:
                raise self.fail(node, f"aliases expand to more than {MAX_ALIAS_NODES:,} values")
        self.seen.add(id(node))
        if len(path) > MAX_DEPTH:  # an alias to a node it is part of nests without end
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels")
        self.positions[path] = self.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            raise self.fail(node, f"unknown tag {node.tag!r}")
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, "a mapping key must be a plain value")
                key = self.scalar(key_node)
                if key in out:
                    raise self.fail(key_node, f"duplicate key {key!r}")
                out[key] = self.build(value_node, (*path, key))
                # An error about a field points at its key, where the reader looks for it.
                self.positions[(*path, key)] = (key_node.start_mark.line + 1,
                                                key_node.start_mark.column + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        """The value of a scalar; an impossible date (2026-02-30), an unknown tag or an
        integer too long to convert is an error at its position, not an exception."""
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            if node.tag == "tag:yaml.org,2002:timestamp":
                raise self.fail(node, f"{node.value!r} is not a valid date: {exc}") from None
            reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else exc
            raise self.fail(node, f"cannot read the value {str(node.value)[:40]!r}: {reason}") from None
