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


def load(path: str | Path, content: bytes | None = None) -> Located:
    """Parse one YAML document with positions; raise YamlError with file:line:col.
    `content`: the file's bytes, when the caller has read them already."""
    file = str(path)
    try:
        text = (Path(path).read_bytes() if content is None else content).decode("utf-8")
    except FileNotFoundError:
        raise YamlError(file, 0, 0, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(file, 0, 0, f"cannot read: {exc}") from None
    return loads(text, file)


def loads(text: str, file: str = "<string>") -> Located:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlError(file, line, col, f"YAML syntax: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise YamlError(file, 1, 1, f"YAML syntax: {exc}") from None
    positions: dict[Path_, tuple[int, int]] = {}
    if node is None:
        return Located(None, positions, file, {})
    values: dict[Path_, tuple[int, int]] = {}
    data = _build(node, (), positions, file, values)
    return Located(data, positions, file, values)


def _build(node: yaml.Node, path: Path_, positions: dict[Path_, tuple[int, int]], file: str,
           values: dict[Path_, tuple[int, int]]) -> Any:
    positions[path] = values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                "a mapping key must be a plain value")
            key = _scalar(key_node)
            if key in out:
                raise YamlError(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                f"duplicate key {key!r}")
            out[key] = _build(value_node, (*path, key), positions, file, values)
            # An error about a field points at its key, where the reader looks for it.
            positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), positions, file, values) for i, item in enumerate(node.value)]
    try:
        return _scalar(node)
    except ValueError as exc:  # a date PyYAML recognises but the calendar lacks: 2026-02-30
        raise YamlError(file, *positions[path], f"{node.value!r} is not a date: {exc}") from None


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
