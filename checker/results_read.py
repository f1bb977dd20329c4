"""Reading a results file: checked (the JSON Schema for the envelope, required keys and
enums for its 100,000s of findings), upgraded from results/1 (checker/results_v1.py), and
for a comparison read lean, line by line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import jsonschema

from checker.bundled import schema
from checker.errors import InputError
from checker.results_v1 import upgrade

#: Statuses whose findings always carry their message, seed and waiver.
_SHOWN = frozenset({"fail", "unknown", "waived"})

#: The results formats readers accept (contracts.md).
READABLE = ("migready.results/1", "migready.results/2")


def _schema() -> dict[str, Any]:
    return schema("results")


def validate_results(doc: Any, origin: str) -> None:
    """Raise InputError, with the JSON path, unless `doc` is a results document that
    `report`, `diff` and the run job can read: one missing `findings` or with an unknown
    status or verdict is refused before it becomes a wrong report or an exception.

    The envelope is checked by the JSON Schema; findings and operations (hundreds of
    thousands in an audit) by their required keys and enums, and only an item that fails
    those by the schema, for its message."""
    if not isinstance(doc, dict) or doc.get("format") not in READABLE:
        raise InputError(f"{origin}: not a migready results file (format {' or '.join(READABLE)})")
    validator = _validator()
    lists = {key: doc.get(key) for key in ("findings", "operations")}
    shallow = {**doc, **{key: [] for key, items in lists.items() if isinstance(items, list)}}
    errors = [(list(e.absolute_path), e.message) for e in validator.iter_errors(shallow)]
    for key, items in lists.items():
        if errors or not isinstance(items, list):
            break
        errors = _item_errors(key, items)
    _raise(errors, origin)


def validate_items(key: str, items: list[Any], origin: str, offset: int = 0) -> None:
    """validate_results for a piece of a results file's `findings` or `operations`, the
    first of them at index `offset` (a file read in pieces)."""
    _raise(_item_errors(key, items, offset), origin)


def _validator() -> Any:
    schema = _schema()
    return jsonschema.Draft202012Validator({**schema, "properties": {
        **schema["properties"], "format": {"enum": list(READABLE)}}})


def _item_errors(key: str, items: list[Any], offset: int = 0) -> list[tuple[list[Any], str]]:
    schema = _schema()
    item_schema = schema["properties"][key]["items"]
    required = item_schema["required"]
    shown = item_schema.get("then", {}).get("required", [])
    props = {name: _resolve(prop, schema) for name, prop in item_schema["properties"].items()}
    enums = {name: prop["enum"] for name, prop in props.items() if "enum" in prop}
    types = {name: tuple(_JSON_TYPES[t] for t in ([prop["type"]] if isinstance(prop["type"], str)
                                                   else prop["type"]))
             for name, prop in props.items() if "type" in prop}
    required_keys, shown_keys = frozenset(required), frozenset(shown)
    checks = {name: (enums.get(name), types.get(name)) for name in props}
    for index, item in enumerate(items):
        if not _looks_valid(item, required_keys, shown_keys, checks):
            return [([key, index + offset, *e.absolute_path], e.message)
                    for e in _validator().evolve(schema=item_schema).iter_errors(item)]
    return []


def _looks_valid(item: Any, required: frozenset[str], shown: frozenset[str],
                 checks: dict[str, tuple[Any, Any]]) -> bool:
    """An item's required keys, enums and types, looked at key by key (an audit's results
    hold 100,000s of items; the schema words the problem of the first that fails)."""
    if not isinstance(item, dict) or not required <= item.keys():
        return False
    if item.get("status") in _SHOWN and not shown <= item.keys():
        return False
    for name, value in item.items():
        check = checks.get(name)
        if check is not None:
            allowed, kinds = check
            if (allowed is not None and value not in allowed) or \
                    (kinds is not None and not isinstance(value, kinds)):
                return False
    return True


def _raise(errors: list[tuple[list[Any], str]], origin: str) -> None:
    if errors:
        from checker.inventory import json_path

        raise InputError(f"{origin}: not a valid migready results file",
                         details=[f"  {json_path(path)}: {message}" for path, message in errors[:20]])


#: JSON Schema types as Python types (a bool is an int to Python: close enough for a
#: first look; the schema has the last word on an item that fails it).
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
    "boolean": bool, "null": type(None)}


def _resolve(prop: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A property's schema, its local `$ref` followed."""
    ref = prop.get("$ref", "")
    return schema["$defs"][ref.rsplit("/", 1)[-1]] if ref.startswith("#/$defs/") else prop



def load_results(path: str | Path, *, lean: Lean = None) -> dict[str, Any]:
    """A results file, checked, as results/2 (a /1 file is upgraded: checker/results_v1.py).

    `lean`, for a file as migready writes it, read line by line: "compare" (diff, --since,
    the run job's last results) keeps of each finding only what a comparison reads (no
    evidence, remediation, seed): two 5,000-VM audits then fit in memory together;
    "report" keeps an audit's problems whole and of its passes (100,000s, which a report
    counts) what a comparison reads."""
    doc = _read_lean(Path(path), lean) if lean else None
    if doc is not None:
        return upgrade(doc)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: not a results file: JSON nested too deeply") from None
    validate_results(doc, str(path))
    return upgrade(doc)


#: How much of a results file `load_results` keeps (None: all of it).
Lean = Literal["compare", "report"] | None

#: What a comparison reads of a finding.
LEAN_KEYS = ("rule", "status", "severity", "operation", "subject", "message", "messages",
             "targets", "all_targets", "original_status")


def _read_lean(path: Path, lean: Lean) -> dict[str, Any] | None:
    """The results file as `iter_json` writes it (a top-level key per line, an operation or
    a finding per line), its findings trimmed to LEAN_KEYS as they are read and checked in
    pieces; None when the file is laid out otherwise (then read whole, for its error)."""
    doc: dict[str, Any] = {}
    findings: list[dict[str, Any]] = []
    shared: dict[Any, Any] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.readline() != "{\n":
                return None
            for line in handle:
                if line.startswith("}"):
                    break
                if line.startswith('"findings":['):
                    whole = _SHOWN if lean == "report" and doc.get("mode") == "audit" else \
                        frozenset() if lean == "compare" else None
                    for chunk in _items(handle):
                        findings += _trimmed(chunk, len(findings), shared, path, whole)
                    doc["findings"] = []
                elif line.startswith('"operations":['):
                    doc["operations"] = [op for chunk in _items(handle) for op in chunk]
                else:
                    doc.update(json.loads("{" + line.rstrip().rstrip(",") + "}"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if "findings" not in doc:
        return None  # read whole: its error names what is missing
    validate_results({**doc, "findings": []}, str(path))
    doc["findings"] = findings
    return doc


def _items(handle: Any, batch: int = 2000) -> Iterator[list[Any]]:
    """The items of a list written one per line, up to its closing bracket, in batches
    (each batch parsed as one JSON array: one parser call per batch, not per line)."""
    lines: list[str] = []
    for line in handle:
        if line.startswith("]"):
            if lines:
                yield _parsed(lines)
            return
        lines.append(line)
        if len(lines) == batch:
            yield _parsed(lines)
            lines = []
    raise ValueError("the list is not closed")


def _parsed(lines: list[str]) -> list[Any]:
    items = json.loads("[" + "".join(lines).rstrip().rstrip(",") + "]")
    if len(items) != len(lines):  # an item over several lines, or several on one
        raise ValueError("not one item per line")
    return items


def _trimmed(chunk: list[Any], offset: int, shared: dict[Any, Any], path: Path,
             whole: frozenset[str] | None) -> list[dict[str, Any]]:
    """Findings checked, then those whose status is not in `whole` (None: every one kept
    whole) cut to LEAN_KEYS, equal subjects and messages shared."""
    validate_items("findings", chunk, str(path), offset)
    if whole is None:
        return chunk
    out = []
    for f in chunk:
        if f["status"] in whole:
            out.append(f)
            continue
        lean = {k: f[k] for k in LEAN_KEYS if k in f}
        for key in ("subject", "message"):
            value = lean.get(key)
            if value is not None:
                marker = (key, tuple(value.items())) if key == "subject" else value
                lean[key] = shared.setdefault(marker, value)
        out.append(lean)
    return out


