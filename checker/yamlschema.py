"""A YAML input checked against its JSON Schema (checker/schemas/): every problem at once,
each at file:line:col with its key path and what was expected, in words for a user.

The schemas are the single source of which keys and value types a file may have (editors read
the same files through `migready schema`); a loader keeps only what a schema cannot say, such
as whether a named VM exists, and adds those problems to the same list (`Checked.error`).

A schema may word its own errors with `errorMessage` (the VS Code / yaml-language-server
extension): a string replaces the message of a wrong value (type, enum, pattern, bounds, a
failed anyOf); a mapping gives one per keyword (`{"type": …, "required": …}`). Without one,
each keyword has a plain sentence here: never jsonschema's dump of the schema.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from checker.bundled import schema
from checker.errors import InputError
from checker.fastschema import compile_predicate
from checker.yamlsrc import Located, Path_, YamlError
from checker.yamlsrc import load as load_yaml

#: Keywords about which keys a mapping has: their message names keys, not the value's shape.
_KEY_KEYWORDS = {"additionalProperties", "required", "dependentRequired"}
_TYPES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "a whole number",
          "number": "a number", "boolean": "true or false", "null": "nothing (null)"}


@dataclass
class Checked:
    """A YAML document and its problems so far: the schema's, then the loader's own."""

    doc: Located
    #: (line, col, text) of every problem, for sorting into file order.
    found: list[tuple[int, int, str]] = field(default_factory=list)
    #: Where the schema found a wrong value or a missing key: nothing there or beneath it is
    #: read (an unknown key is not here: the keys beside it are still read).
    wrong: set[Path_] = field(default_factory=set)

    @property
    def data(self) -> Any:
        return self.doc.data

    def error(self, path: Path_, message: str) -> None:
        """A problem at `path` (its key, where the reader looks for it)."""
        line, col = self.doc.where(path)
        dotted = ".".join(map(str, path))
        self.found.append((line, col, f"{self.doc.file}:{line}:{col}: "
                                      f"{dotted + ': ' if dotted else ''}{message}"))

    def readable(self, path: Path_) -> bool:
        """Whether the value at `path` and every value above it are as the schema wants
        them (something beneath may still be wrong)."""
        path = tuple(path)
        return not any(path[:len(w)] == w for w in self.wrong)

    def usable(self, path: Path_) -> bool:
        """Whether the value at `path` is as the schema wants it, and so is every value above
        and beneath it: only then may a loader read it without checking its type again."""
        path = tuple(path)
        return not any(w[:len(path)] == path or path[:len(w)] == w for w in self.wrong)

    @property
    def problems(self) -> list[str]:
        """Every problem once, in file order."""
        return list(dict.fromkeys(text for *_, text in sorted(self.found)))

    def raise_problems(self, error: type[InputError], what: str) -> None:
        """Raise `error` listing every problem, if there is one."""
        if self.found:
            raise error(f"{self.doc.file}: invalid {what}", details=self.problems)

    def fail(self, error: type[InputError], what: str) -> NoReturn:
        """Raise `error` now: the document is not usable at all (not even a mapping)."""
        self.raise_problems(error, what)
        raise AssertionError("fail() without a problem")  # pragma: no cover


def load(path: str | Path, name: str, error: type[InputError] = InputError, *,
         content: bytes | None = None, aliases: bool = True) -> Checked:
    """Read a YAML file and check it against schema `name` (checker/schemas/NAME.schema.json).
    A YAML syntax error is raised at once as `error`; schema problems are in the result."""
    try:
        doc = load_yaml(path, content, aliases=aliases)
    except YamlError as exc:
        raise error(str(exc)) from None
    return check(doc, name)


def check(doc: Located, name: str) -> Checked:
    """`doc` checked against schema `name`."""
    checked = Checked(doc)
    fast = _predicate(name)
    if fast is not None and fast(doc.data):
        return checked
    data = _as_json(doc.data)  # a date is no JSON string: so a document with one is here
    if fast is not None and data is not doc.data and fast(data):
        return checked
    for err in _validator(name).iter_errors(data):
        _report(checked, err)
    return checked


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(name), format_checker=jsonschema.FormatChecker())


@cache
def _predicate(name: str) -> Callable[[Any], bool] | None:
    """A fast yes for a valid document (a 1,000-move plan in milliseconds, where jsonschema
    takes a third of a second); jsonschema runs only to word the problems of an invalid one."""
    return compile_predicate(schema(name))


def _as_json(value: Any) -> Any:
    """The document as a schema sees it (and an editor, which reads YAML dates as text): an
    unquoted date is its ISO text. The document itself when it holds no date."""
    if isinstance(value, dict):
        out = {k: _as_json(v) for k, v in value.items()}
        return value if all(out[k] is value[k] for k in value) else out
    if isinstance(value, list):
        items = [_as_json(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _report(checked: Checked, err: ValidationError) -> None:
    path = tuple(err.absolute_path)
    keyword = str(err.validator)
    custom = _custom(err.schema, keyword)
    if keyword == "additionalProperties" and isinstance(err.instance, dict):
        for key in _unknown_keys(err):
            checked.error((*path, key), custom or _unknown(key, err.schema))
        return
    if keyword in ("required", "dependentRequired") and isinstance(err.instance, dict):
        for key in _missing(err):
            checked.wrong.add((*path, key))
            checked.error(path, custom or f"{key} is required"
                          + (f" with {_dependent(err, key)}" if keyword == "dependentRequired" else ""))
        return
    if path in checked.wrong:  # one problem a value: the first keyword that refused it
        return
    checked.wrong.add(path)
    checked.error(path, custom or _message(err))


def _custom(spec: Any, keyword: str) -> str | None:
    message = spec.get("errorMessage") if isinstance(spec, dict) else None
    if isinstance(message, dict):
        return message.get(keyword)
    return message if isinstance(message, str) and keyword not in _KEY_KEYWORDS else None


def _unknown_keys(err: ValidationError) -> Iterator[Any]:
    known = err.schema.get("properties", {})
    return (key for key in err.instance if key not in known)


def _unknown(key: Any, spec: dict[str, Any]) -> str:
    """'unknown key', with the keys allowed there and the closest one to a typo."""
    known = sorted(spec.get("properties", {}))
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.7)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown key ({hint}expected one of: {', '.join(known)})"


def _missing(err: ValidationError) -> list[str]:
    if err.validator == "required":
        return [key for key in err.validator_value if key not in err.instance]
    return [need for key, needs in err.validator_value.items() if key in err.instance
            for need in needs if need not in err.instance]


def _dependent(err: ValidationError, need: str) -> str:
    return " or ".join(key for key, needs in err.validator_value.items()
                       if key in err.instance and need in needs)


def _message(err: ValidationError) -> str:
    """A sentence for a wrong value, from the keyword that refused it."""
    keyword, expected, value = err.validator, err.validator_value, err.instance
    if keyword == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        return "expected " + " or ".join(_TYPES.get(kind, kind) for kind in kinds)
    if keyword == "enum":
        return f"{value!r}: expected one of {', '.join(map(str, expected))}"
    if keyword == "const":
        return f"expected {expected!r}"
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        sign = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}
        kind = "a whole number" if err.schema.get("type") == "integer" else "a number"
        return f"expected {kind} {sign[keyword]} {expected}"
    if keyword == "minItems":
        return "expected at least one item" if expected == 1 else f"expected at least {expected} items"
    if keyword == "minLength":
        return "expected a non-empty string"
    if keyword == "uniqueItems":
        return "lists a value twice"
    if keyword == "format" and expected == "date":
        try:
            dt.date.fromisoformat(str(value))
        except ValueError as exc:
            return f"{value!r} is not a date YYYY-MM-DD ({exc})"
    if keyword == "format":
        return f"{value!r} is not a valid {expected}"
    if keyword == "pattern":
        return f"{value!r} is not in the form expected here ({expected})"
    if keyword in ("anyOf", "oneOf") and err.context:
        best = best_match(err.context)
        return _custom(best.schema, str(best.validator)) or _message(best)
    if keyword == "not":
        return f"{value!r} is not allowed here"
    return f"{str(value)[:40]!r} is not valid here"
