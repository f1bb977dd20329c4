"""XAPI database dumps (and JSON record files) → an inventory document.

Input forms, told apart by their first bytes (gzip by its magic number, not its name):

* the XAPI database XML of `xe pool-dump-database` or a status report's `xapi-db.xml`
  (`<database><manifest>…</manifest><table name=…><row …/></table>…</database>`);
* a JSON file of `{class: {ref: record}}` as the Python `XenAPI` module returns them;
* an xen-api SDK test spec (`{test: {"expected_result": {"VM.get_all_records":
  {"result": {ref: record}}}}}`), JSON-RPC typed.

The result has the shape `get_all_records` gives over XML-RPC (see contracts.md):

* field names: the dump writes the datamodel's `name.label` as `name__label`;
  `get_all_records` calls it `name_label`, so `__` becomes `_` (checked against the
  community.general XML-RPC captures: `name_label`, `memory_static_max`,
  `API_version_major`, `HVM_shadow_multiplier`, `VCPUs_utilisation`…);
* whitespace escapes undone (`%.` space, `%_` two spaces, `%t` `%n` `%r`, `%%`) after
  XML unescaping and before S-expression parsing;
* S-expressions decoded: `(('k' 'v'))` → dict, `('a' 'b')` → list, in either quoting
  style XAPI versions wrote (`('k' 'v')` or `("k" "v")`). `()` is `{}` for the fields in
  `MAP_FIELDS` and `[]` otherwise. A map field must hold a map; any other field starting
  with `(` a set or a map of strings (or of string sets). Anything else there is an error
  naming the line, the row and the field (never kept as a raw string that a fact would
  read as data). Free-text fields (`TEXT_FIELDS`: a description "(backup copy)") are
  never decoded;
* `"true"`/`"false"` → booleans (except in `TEXT_FIELDS`), the few float fields
  (`FLOAT_FIELDS`) → float, int64 and datetimes stay strings as XML-RPC sends them.

Only the classes of `checker.inventory.CLASSES` are kept. A class absent from the dump
is a gap; without pool, host and VM rows the dump is invalid. Two rows with the same ref
are an error naming both lines. References into tables the dump holds but the inventory drops (console, VMPP,
VBD_metrics, task…) are not reported as dangling; references that name no row at all
are, one gap each, except that more than `inventory.MAX_GAPS_PER_FIELD` of one `class.field` are
summarised as one gap (a huge pool's snapshot chains must not make a huge gaps list).

Secrets never reach the inventory: see `redact_secrets`. The manifest's `pool_token`
is never read into memory beyond the parser's own buffers.

Parsing uses expat directly (the engine under defusedxml) with defusedxml's rules:
entity declarations and external references raise, so an entity-expansion or XXE file
is refused before anything is written. No tree is built: the start-element handler
keeps each row's attribute list; after the parse each table is decoded column by column
(each distinct value decoded and redacted once) and the lists are dropped.
"""

from __future__ import annotations

import codecs
import gc
import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Collection, Iterable
from itertools import repeat
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from checker import inventory
from checker.errors import InputError
from checker.inventory import CLASSES, NULL_REF, Gap, Record

REDACTED = "(redacted)"

#: Fields whose empty S-expression `()` is an empty map, not an empty set.
MAP_FIELDS: frozenset[str] = frozenset({
    "other_config", "platform", "sm_config", "software_version", "cpu_info",
    "device_config", "blocked_operations", "current_operations", "blobs",
    "xenstore_data", "HVM_boot_params", "VCPUs_params", "bios_strings",
    "last_boot_CPU_flags", "snapshot_info", "qos_algorithm_params", "runtime_properties",
    "PV_drivers_version", "os_version", "networks", "disks", "memory", "other",
    "VCPUs_CPU", "VCPUs_flags", "VCPUs_utilisation", "license_params", "license_server",
    "logging", "power_on_config", "chipset_info", "cpu_configuration",
    "external_auth_configuration", "guest_VCPUs_params", "API_version_vendor_implementation",
    "assigned_ips", "configuration", "properties", "ha_configuration", "gui_config",
    "health_check_config", "restrictions", "guest_agent_config", "NVRAM",
    "compatibility_metadata", "supported_VGPU_max_capacities", "config",
    "capabilities_map", "stats", "status_detail_map", "metadata",
})
#: (class, field) exceptions to MAP_FIELDS by name: a set in this class.
SET_FIELDS_BY_CLASS: frozenset[tuple[str, str]] = frozenset()
#: (class, field) maps whose name is not in MAP_FIELDS (the name means a set elsewhere).
MAP_FIELDS_BY_CLASS: frozenset[tuple[str, str]] = frozenset({("SM", "features")})

#: Free text and serialised blobs: never turned into a bool or an S-expression.
TEXT_FIELDS: frozenset[str] = frozenset({
    "name_label", "name_description", "snapshot_metadata", "last_booted_record",
    "recommendations", "PV_args", "PV_bootloader", "PV_bootloader_args", "PV_legacy_args",
    "PV_kernel", "PV_ramdisk", "copyright", "description", "vendor", "location", "hostname",
    "address", "edition", "reference_label", "generation_id", "vendor_name", "device_name",
    "subsystem_vendor_name", "subsystem_device_name", "wlb_url", "wlb_username",
    "external_auth_service_name", "body", "driver_filename", "product_desc", "serial",
    "version", "required_api_version", "name",
})

#: Float fields of the kept classes (the datamodel's `float` type); XML-RPC sends doubles.
FLOAT_FIELDS: frozenset[tuple[str, str]] = frozenset({
    ("VM", "HVM_shadow_multiplier"), ("host_cpu", "utilisation"),
    ("PIF_metrics", "io_read_kbs"), ("PIF_metrics", "io_write_kbs"),
})
#: Maps whose values are floats (`VM_metrics.VCPUs_utilisation`: int -> float).
FLOAT_MAP_FIELDS: frozenset[tuple[str, str]] = frozenset({("VM_metrics", "VCPUs_utilisation")})

#: A field name or map key naming a credential (case-insensitive, anywhere in the name).
SECRET_NAME = re.compile(
    r"pass(?:word|wd|phrase)|secret|token|credential|private_?key|api_?key", re.IGNORECASE)
#: Maps whose keys are option names described in prose, not values (SM.configuration
#: lists driver options such as `chappassword` with their description).
REDACTION_EXEMPT_MAPS: frozenset[tuple[str, str]] = frozenset({("SM", "configuration")})

_DROPPED_ATTRS = frozenset({"ref", "_ref", "__ctime", "__mtime"})
_MANIFEST_KEPT = ("product_brand", "product_version", "build_number")
_CHUNK = 1 << 16

# -- value decoding ---------------------------------------------------------------------------

_ESCAPES = {".": " ", "_": "  ", "t": "\t", "n": "\n", "r": "\r", "%": "%"}
_ESCAPE_RE = re.compile(r"%(.)", re.DOTALL)


def _unescape_match(m: re.Match[str]) -> str:
    return _ESCAPES.get(m.group(1), m.group(0))


def unescape_spaces(value: str) -> str:
    """Undo xapi's whitespace escaping (`xml_spaces.ml`): `%.` ` `, `%_` two spaces, …

    Without `%%` every `%` starts an escape and the pairs cannot overlap, so plain
    replacements (C speed) give the same result as the general scan.
    """
    if "%" not in value:
        return value
    if "%%" in value:
        return _ESCAPE_RE.sub(_unescape_match, value)
    return (value.replace("%.", " ").replace("%_", "  ").replace("%t", "\t")
            .replace("%n", "\n").replace("%r", "\r"))


class SexprError(ValueError):
    """A map or set value that is not an S-expression of strings.

    `offset`: where in the value the text stops making sense (0-based).
    """

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} at character {offset + 1}")
        self.reason = reason
        self.offset = offset


# The common single-quoted forms, matched whole by one regex each (C speed).
_S = r"'[^'\\]*(?:\\.[^'\\]*)*'"
_SG = r"'([^'\\]*(?:\\.[^'\\]*)*)'"
_FLAT_SET = re.compile(rf"\(\s*(?:{_S}\s*)*\)", re.DOTALL)
_FLAT_MAP = re.compile(rf"\(\s*(?:\(\s*{_S}\s*{_S}\s*\)\s*)*\)", re.DOTALL)
_STRING = re.compile(_SG, re.DOTALL)
_PAIR = re.compile(rf"\(\s*{_SG}\s*{_SG}\s*\)", re.DOTALL)
_BACKSLASH = re.compile(r"\\(.)", re.DOTALL)
# Any form: strings in either quoting style XAPI versions wrote, ('k' 'v') or ("k" "v").
_TOKEN = re.compile(r"(\()|(\))|'([^'\\]*(?:\\.[^'\\]*)*)'|"
                    r'"([^"\\]*(?:\\.[^"\\]*)*)"', re.DOTALL)
_SPACE = re.compile(r"\s*")


def _unquote(s: str) -> str:
    return _BACKSLASH.sub(r"\1", s) if "\\" in s else s


def parse_sexpr(text: str) -> list[Any]:
    """One parenthesised S-expression of strings → nested lists; SexprError otherwise."""
    stack: list[list[Any]] = []
    pos, end = 0, len(text)
    while True:
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]  # \s* always matches
        if pos == end:
            raise SexprError(f"unclosed '(' ({len(stack)} open)" if stack
                             else "expected '(' and found nothing", end)
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SexprError("unterminated string" if text[pos] in "'\"" else
                             f"unexpected {text[pos]!r}, expected a quoted string, '(' or ')'",
                             pos)
        start, pos = pos, m.end()
        if m.group(1):
            stack.append([])
        elif m.group(2):
            if not stack:
                raise SexprError("unbalanced ')'", start)
            done = stack.pop()
            if not stack:
                rest = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
                if rest < end:
                    raise SexprError("text after the closing ')'", rest)
                return done
            stack[-1].append(done)
        elif not stack:
            raise SexprError("a string outside parentheses, expected '('", start)
        else:
            quoted = m.group(3) if m.group(3) is not None else m.group(4)
            stack[-1].append(_unquote(quoted))


def _shape(node: list[Any]) -> dict[str, Any] | list[str]:
    """Map / set / map of sets from parsed lists; SexprError for any other shape."""
    if all(isinstance(x, str) for x in node):
        return node
    out: dict[str, Any] = {}
    for item in node:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise SexprError("neither a set of strings nor a map of (key value) pairs", 0)
        key, value = item
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise SexprError(f"the value of {key!r} is nested more than a set deep", 0)
        out[key] = value
    return out


def decode_sexpr(value: str, *, empty_map: bool = False) -> dict[str, Any] | list[str]:
    """`(('k' 'v'))` → dict, `('a' 'b')` → list, `()` → {} or []; SexprError otherwise."""
    if value == "()":
        return {} if empty_map else []
    if value.startswith("(("):
        if _FLAT_MAP.fullmatch(value):
            return {_unquote(k): _unquote(v) for k, v in _PAIR.findall(value)}
    elif _FLAT_SET.fullmatch(value):
        return [_unquote(s) for s in _STRING.findall(value)]
    return _shape(parse_sexpr(value))


def _decode_map(raw: str) -> dict[str, Any]:
    """A map field's value: a map S-expression, nothing else (`()` is the empty map)."""
    value = decode_sexpr(raw, empty_map=True)
    if not isinstance(value, dict):
        raise SexprError("a set where a map of (key value) pairs is expected", 0)
    return value


# Field kinds, decided once per (class, attribute name).
_DROP, _PLAIN, _TEXT, _FLOAT, _FLOATMAP = range(5)


def _field_spec(cls: str, attr: str) -> tuple[str, int, bool]:
    """(inventory field name, kind, empty-is-map) for a dump attribute."""
    if attr in _DROPPED_ATTRS:
        return attr, _DROP, False
    name = attr.replace("__", "_")
    if (cls, name) in FLOAT_FIELDS:
        kind = _FLOAT
    elif (cls, name) in FLOAT_MAP_FIELDS:
        kind = _FLOATMAP
    elif name in TEXT_FIELDS:
        kind = _TEXT
    else:
        kind = _PLAIN
    empty_map = (name in MAP_FIELDS or (cls, name) in MAP_FIELDS_BY_CLASS) and (
        cls, name) not in SET_FIELDS_BY_CLASS
    return name, kind, empty_map


def _to_float(value: str) -> Any:
    try:
        return float(value)
    except ValueError:
        return value


_SPECIAL_FIRST = frozenset("(tf")  # a value starting otherwise, without "%", stays as is


class _Names(dict[str, str]):
    """attribute name -> field name (`name__label` -> `name_label`), computed once each."""

    def __init__(self) -> None:
        super().__init__()
        self.text: set[str] = set()  # attributes holding free text: never a bool

    def __missing__(self, attr: str) -> str:
        name = self[attr] = attr.replace("__", "_")
        if name in TEXT_FIELDS:
            self.text.add(attr)
        return name


class _Empties(dict[str, type]):
    """attribute name -> dict or list: what `()` means in this class's field."""

    def __init__(self, cls: str) -> None:
        super().__init__()
        self.cls = cls

    def __missing__(self, attr: str) -> type:
        _, _, empty_map = _field_spec(self.cls, attr)
        kind = self[attr] = dict if empty_map else list
        return kind


_BOOLS = {"true": True, "false": False}


class RowDecoder:
    """Decodes the rows of one table; caches the per-attribute decisions.

    The common value (no `%`, not starting with `(`, `t` or `f`) is kept by a C-speed
    test inside one dict comprehension; only the others reach `slow`.
    """

    def __init__(self, cls: str) -> None:
        self.cls = cls
        self.names = _Names()
        self.specs: dict[str, tuple[str, int, bool]] = {}
        self.floats = frozenset(f for c, f in FLOAT_FIELDS if c == cls)
        self.empties = _Empties(cls)

    def slow(self, attr: str, raw: str) -> Any:
        spec = self.specs.get(attr)
        if spec is None:
            spec = self.specs[attr] = _field_spec(self.cls, attr)
        _, kind, empty_map = spec
        if "%" in raw:
            raw = unescape_spaces(raw)
        if kind == _FLOATMAP:
            return {k: _to_float(v) if isinstance(v, str) else v
                    for k, v in _decode_map(raw).items()}
        if kind == _PLAIN:
            if empty_map:
                return _decode_map(raw)
            if raw == "true":
                return True
            if raw == "false":
                return False
            if raw[:1] == "(":
                return decode_sexpr(raw)
            return raw
        return raw  # text, floats (converted below), dropped attributes (removed below)

    def value(self, attr: str, raw: str) -> Any:
        """One attribute's value, decoded as `__call__` decodes it in a row."""
        name = self.names[attr]  # first: fills names.text
        if "%" not in raw and raw[:1] not in _SPECIAL_FIRST and self.empties[attr] is list:
            value: Any = raw
        elif raw in _BOOLS and attr not in self.names.text:
            value = _BOOLS[raw]
        elif raw == "()" and attr not in self.names.text:
            value = self.empties[attr]()
        else:
            value = self.slow(attr, raw)
        if name in self.floats and isinstance(value, str):
            value = _to_float(value)
        return value

    def __call__(self, attrs: dict[str, str]) -> Record:
        names, value = self.names, self.value
        rec: Record = {names[a]: value(a, v) for a, v in attrs.items()}
        for dropped in _DROPPED_FIELDS:
            rec.pop(dropped, None)
        return rec

    def column(self, attr: str, col: tuple[str, ...], redact: _Redactor,
               strings: set[str]) -> Any:
        """One attribute's values in every row of a table → decoded and redacted values.

        A column none of whose values needs decoding (no `%`, none starting with `(`,
        none `true`/`false`; most columns: refs, uuids, numbers, enums) is recognised by
        substring searches in its joined values and returned as it is. Otherwise each
        distinct raw value is decoded (and redacted) once; maps and sets are then copied
        per row, so no two records share a mutable value. `strings` collects a superset
        of the `OpaqueRef:` string values and set members (for the dangling-ref search).
        """
        name = self.names[attr]
        joined = f"\0{_NUL.join(col)}\0"  # XML has no NUL: it cannot be in a value
        if "OpaqueRef:" in joined:
            strings.update(col)
        if not ("%" in joined or "\0(" in joined or "\0true\0" in joined
                or "\0false\0" in joined or name in self.floats or self.empties[attr] is dict
                or redact.may_touch(name, col, joined)):
            return col
        del joined
        distinct = set(col)
        value = self.value
        if name in self.floats or self.empties[attr] is dict:  # a map: every value decodes
            decoded = {v: value(attr, v) for v in distinct}
        else:
            decoded = {v: value(attr, v) for v in distinct
                       if "%" in v or v[:1] in _SPECIAL_FIRST}
        redact(name, distinct, decoded)
        changed = mutable = maps = sets = nested = False
        for raw, out in decoded.items():
            if out is raw:
                continue
            changed = True
            kind = out.__class__
            if kind is str:
                strings.add(out)
            elif kind is list:
                strings.update(out)
                mutable = sets = True
            elif kind is dict:
                mutable = maps = True
                if not nested and _LIST in set(map(type, out.values())):
                    nested = True
        if not changed:
            return col
        out_col: list[Any] = list(map(decoded.get, col, col))
        if not mutable:
            return out_col
        if not nested and maps != sets and len(decoded) == len(distinct):
            kinds = set(map(type, decoded.values()))
            if kinds == _ONLY_DICT:
                return list(map(dict, out_col))
            if kinds == _ONLY_LIST:
                return list(map(list, out_col))
        return list(map(_fresh, out_col))


_NUL = "\0"
_LIST = list
_ONLY_DICT = {dict}
_ONLY_LIST = {list}


def _fresh(value: Any) -> Any:
    """A copy of a decoded map or set (maps of sets copied two deep); others as they are."""
    kind = value.__class__
    if kind is list:
        return list(value)
    if kind is dict:
        return {k: list(v) if v.__class__ is list else v for k, v in value.items()}
    return value


_DROPPED_FIELDS = tuple(a.replace("__", "_") for a in _DROPPED_ATTRS)


def decode_row(cls: str, attrs: dict[str, str]) -> Record:
    """One `<row>`'s attributes → a get_all_records-shaped record (without ref fields)."""
    return RowDecoder(cls)(attrs)


# -- secrets ----------------------------------------------------------------------------------

def _is_secret_class(cls: str) -> bool:
    return cls.lower() == "secret"


def redact_secrets(objects: dict[str, dict[str, Record]],
                   secret_ids: Collection[str] = ()) -> None:
    """Remove every credential from `objects`, in place. The rule:

    1. a `secret`/`Secret` class is removed; its refs and uuids join `secret_ids`;
    2. a field whose *name* names a credential (`SECRET_NAME`: password, passwd, passphrase,
       secret, token, credential, private key, api key; e.g. `pool.wlb_password`) gets the
       value "(redacted)", unless it is empty or `OpaqueRef:NULL` (nothing to hide);
    3. in every map (`PBD.device_config`, `SR.sm_config`, `pool.other_config`…) a *key*
       naming a credential (`password_transformed`, `chappassword_secret`,
       `storagelink_password_secret`…) keeps its key, so facts can see it existed, and gets
       the value "(redacted)" unless empty. `SM.configuration` is exempt: its keys are
       option names and its values prose ("CHAP password");
    4. any value, set member, map key or map value equal to a ref, uuid or value in
       `secret_ids` (a reference into the secret table, or the secret itself: a password
       copied into other_config, a user name that equals a password) becomes "(redacted)".
    """
    ids = set(secret_ids)
    for cls in [c for c in objects if _is_secret_class(c)]:
        for ref, rec in objects.pop(cls).items():
            ids.add(ref)
            ids.update(v for v in (rec.get("uuid"), rec.get("value")) if isinstance(v, str))
    ids.discard("")
    ids.discard(NULL_REF)
    key_cache: dict[str, bool] = {}
    for cls, table in objects.items():
        secret_fields: dict[str, bool] = {}
        for rec in table.values():
            for name, value in rec.items():
                named = secret_fields.get(name)
                if named is None:
                    named = secret_fields[name] = bool(SECRET_NAME.search(name))
                if named:
                    if value not in ("", NULL_REF, None, [], {}):
                        rec[name] = REDACTED
                elif value.__class__ is dict:
                    if value and (cls, name) not in REDACTION_EXEMPT_MAPS:
                        _redact_map(value, ids, key_cache)
                elif value.__class__ is list:
                    if ids and value and not ids.isdisjoint(value):
                        rec[name] = [REDACTED if v in ids else v for v in value]
                elif ids and value.__class__ is str and value in ids:
                    rec[name] = REDACTED


def _redact_map(value: dict[str, Any], ids: set[str], key_cache: dict[str, bool]) -> None:
    if ids and not ids.isdisjoint(value):  # a key that is a secret (say, a password)
        for key in [k for k in value if k in ids]:
            value[REDACTED] = value.pop(key)
    for key, item in value.items():
        secret = key_cache.get(key)
        if secret is None:
            secret = key_cache[key] = bool(SECRET_NAME.search(key))
        if secret:
            if item not in ("", None):
                value[key] = REDACTED
        elif ids and item.__class__ is str and item in ids:
            value[key] = REDACTED


_NOTHING = ("", NULL_REF, None, [], {})  # a secret-named field holding these hides nothing


class _Redactor:
    """`redact_secrets` rules 2–4 applied to one column's distinct decoded values.

    `decoded` maps a raw value to its decoded value (raw values absent from it stay as
    they are); it is updated in place. Used while decoding a dump, so that each distinct
    map is redacted once instead of once per record.
    """

    def __init__(self, cls: str, ids: set[str], key_cache: dict[str, bool]) -> None:
        self.cls = cls
        self.ids = ids
        self.key_cache = key_cache
        self.marks: list[str] | None = None

    def may_touch(self, name: str, col: tuple[str, ...], joined: str) -> bool:
        """Whether a column of plain strings (`joined`: NUL-separated) may need redacting."""
        key = self.key_cache.get(name)
        if key is None:
            key = self.key_cache[name] = bool(SECRET_NAME.search(name))
        if key:
            return True
        ids = self.ids
        if not ids:
            return False
        if len(ids) <= 16:
            return any(i in joined for i in ids)
        if self.marks is None:  # a few characters every id has
            self.marks = sorted(set.intersection(*map(set, ids)))[:3]
        return all(c in joined for c in self.marks) and not ids.isdisjoint(col)

    def __call__(self, name: str, distinct: set[str], decoded: dict[str, Any]) -> None:
        ids = self.ids
        if SECRET_NAME.search(name):
            for raw in distinct:
                value = decoded.get(raw, raw)
                decoded[raw] = REDACTED if value not in _NOTHING else value
            return
        exempt = (self.cls, name) in REDACTION_EXEMPT_MAPS
        for raw, value in decoded.items():
            kind = value.__class__
            if kind is dict:
                if value and not exempt:
                    _redact_map(value, ids, self.key_cache)
            elif kind is list:
                if ids and value and not ids.isdisjoint(value):
                    decoded[raw] = [REDACTED if v in ids else v for v in value]
            elif ids and kind is str and value in ids:
                decoded[raw] = REDACTED
        if ids:
            for raw in ids.intersection(distinct):
                if raw not in decoded:
                    decoded[raw] = REDACTED


# -- reading the input ------------------------------------------------------------------------

class _HashingReader:
    """A read-only binary stream that hashes the bytes as they go past."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha.update(data)
        return data

    def drain(self) -> str:
        while self.read(1 << 20):
            pass
        return self.sha.hexdigest()


class _DumpParser:
    """expat handlers that collect the rows; `finish` turns them into records.

    The parser runs with `ordered_attributes`: a row arrives as `[name, value, …]` and
    is kept as such. After the parse each table is decoded column by column (rows of a
    table nearly always share their attribute names): a column's distinct values are
    decoded and redacted once, and a column of values that need no decoding (refs,
    uuids, numbers) is recognised by substring searches, not value by value.
    """

    def __init__(self, origin: str, line: Callable[[], int]) -> None:
        self.origin = origin
        self.line = line  # the parser's current line
        self.root: str | None = None
        self.tables: dict[str, dict[str, Record]] = {}
        self.other_refs: set[str] = set()
        self.secret_ids: set[str] = set()
        self.manifest: dict[str, str] = {}
        #: a superset of the `OpaqueRef:` string values and set members of the records
        self.strings: set[str] = set()
        self._raw: dict[str, list[list[str]]] = {}
        self._rows: list[list[str]] | None = None
        self._lines: dict[str, list[int]] = {}  # the line of each kept row, for errors
        self._row_lines: list[int] = []
        self._kind = 0  # 0 kept class, 1 other table, 2 secret table

    def start(self, tag: str, attr_list: list[str]) -> None:
        if self.root is None:
            self.root = tag
            if tag != "database":
                raise _NotADump(tag)
            return
        if tag == "row":
            kind = self._kind
            if kind == 0:
                if self._rows is not None:
                    self._rows.append(attr_list)
                    self._row_lines.append(self.line())
                return
            attrs = dict(zip(attr_list[::2], attr_list[1::2], strict=True))
            ref = attrs.get("ref") or attrs.get("_ref") or ""
            if not ref:
                return
            if kind == 1:
                self.other_refs.add(ref)
            else:
                self.secret_ids.add(ref)
                for name in ("uuid", "value"):  # the secret itself: redacted wherever found
                    if attrs.get(name):
                        self.secret_ids.add(unescape_spaces(attrs[name]))
            return
        attrs = dict(zip(attr_list[::2], attr_list[1::2], strict=True))
        if tag == "table":
            cls = attrs.get("name", "")
            if cls in CLASSES:
                self._kind = 0
                self.tables.setdefault(cls, {})
                self._rows = self._raw.setdefault(cls, [])
                self._row_lines = self._lines.setdefault(cls, [])
            elif _is_secret_class(cls):
                self._kind, self._rows = 2, None
            else:
                self._kind, self._rows = 1, None
        elif tag == "pair":
            key = attrs.get("key", "")
            if key in ("schema_major_vsn", "schema_minor_vsn", "generation_count",
                       *_MANIFEST_KEPT):
                self.manifest[key] = attrs.get("value", "")

    def finish(self) -> None:
        """Decode and redact the collected rows into `tables` (see `redact_secrets`)."""
        ids = set(self.secret_ids)
        ids.discard("")
        ids.discard(NULL_REF)
        key_cache: dict[str, bool] = {}
        for cls, rows in self._raw.items():
            table = self.tables[cls]
            redact = _Redactor(cls, ids, key_cache)
            try:
                pairs = _decode_rows(RowDecoder(cls), rows, redact, self.strings)
            except _BadRow as exc:
                raise InputError(f"{self.origin}:{self._lines[cls][exc.index]}: {cls} "
                                 f"{exc.ref}: {exc.message}") from None
            table.update(pairs)
            if len(table) < len(pairs):
                self._duplicate({cls: rows})
        if sum(map(len, self.tables.values())) > len(set().union(*self.tables.values())):
            self._duplicate(self._raw)
        self._raw.clear()

    def _duplicate(self, raw: dict[str, list[list[str]]]) -> None:
        """Raise the error naming the two rows of the first ref that `raw` holds twice."""
        seen: dict[str, tuple[str, int]] = {}
        for cls, rows in raw.items():
            for row, line in zip(rows, self._lines[cls], strict=True):
                ref = _ref_of(row)
                if ref and ref in seen:
                    first_cls, first = seen[ref]
                    raise InputError(
                        f"{self.origin}:{line}: duplicate row ref {ref}: the {cls} row on "
                        f"line {line} and the {first_cls} row on line {first} have the "
                        f"same ref (a damaged or hand-edited dump)")
                seen[ref] = (cls, line)


class _BadRow(Exception):
    """A value of row `index` (of its table) that does not decode."""

    def __init__(self, index: int, ref: str, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.ref = ref
        self.message = message


def _ref_of(row: list[str]) -> str:
    attrs = dict(zip(row[::2], row[1::2], strict=True))
    return attrs.get("ref") or attrs.get("_ref") or ""


def _bad_row(decoder: RowDecoder, attr: str, rows: list[list[str]],
             members: list[int]) -> _BadRow:
    """The first row (in document order) whose `attr` does not decode, and why."""
    for i in members:
        row = rows[i]
        try:
            decoder.value(attr, dict(zip(row[::2], row[1::2], strict=True))[attr])
        except SexprError as exc:
            kind = "map" if decoder.empties[attr] is dict else "set"
            return _BadRow(i, _ref_of(row), f"{decoder.names[attr]}: not a {kind} "
                                            f"S-expression: {exc}")
    raise AssertionError(f"{attr}: no row fails to decode")


def _decode_rows(decoder: RowDecoder, rows: list[list[str]], redact: _Redactor,
                 strings: set[str]) -> list[tuple[str, Record]]:
    """(ref, record) for each row with a ref, in document order.

    Rows with the same attribute names (nearly always all rows of a table) are decoded
    together, column by column (`RowDecoder.column`). _BadRow for a map or set value that
    is not an S-expression.
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(tuple(row[::2]), []).append(i)
    out: list[Any] = [None] * len(rows)
    names = decoder.names
    for attrs, members in groups.items():
        cols = list(zip(*[rows[i][1::2] for i in members], strict=True))
        refs = _row_refs(attrs, cols, len(members))
        fields: list[str] = []
        values: list[Any] = []
        for attr, col in zip(attrs, cols, strict=True):
            name = names[attr]
            if name in _DROPPED_FIELDS:
                continue
            fields.append(name)
            try:
                values.append(decoder.column(attr, col, redact, strings))
            except SexprError:
                raise _bad_row(decoder, attr, rows, members) from None
        if values:
            recs: Iterable[Record] = map(dict, map(zip, repeat(fields),
                                                   zip(*values, strict=True)))
        else:
            recs = ({} for _ in members)
        for i, ref, rec in zip(members, refs, recs, strict=True):
            out[i] = (ref, rec)
    return [item for item in out if item[0]]


def _row_refs(attrs: tuple[str, ...], cols: list[tuple[str, ...]], n: int) -> Iterable[str]:
    """Each row's `ref` (else `_ref`, else "")."""
    ref = cols[attrs.index("ref")] if "ref" in attrs else None
    alt = cols[attrs.index("_ref")] if "_ref" in attrs else None
    if ref is None:
        return alt if alt is not None else [""] * n
    if alt is None or all(ref):
        return ref
    return [r or a for r, a in zip(ref, alt, strict=True)]


class _NotADump(Exception):
    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


def _refuse_entity(*_: Any) -> None:
    raise EntitiesForbidden(None, None, None, None, None, None)


def _refuse_external(*_: Any) -> None:
    raise ExternalReferenceForbidden(None, None, None, None)


def _parse_xml(stream: Any, origin: str) -> _DumpParser:
    parser = expat.ParserCreate()
    handler = _DumpParser(origin, lambda: parser.CurrentLineNumber)
    parser.buffer_text = False
    parser.ordered_attributes = True
    parser.StartElementHandler = handler.start
    # defusedxml's rules, on the bare expat parser (no tree, no Python end handler).
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except EntitiesForbidden:
        raise InputError(f"{origin}: refused: the XML declares entities "
                         "(possible entity-expansion attack)") from None
    except (ExternalReferenceForbidden, DTDForbidden):
        raise InputError(f"{origin}: refused: the XML references an external entity "
                         "(possible XXE attack)") from None
    except _NotADump as exc:
        raise InputError(f"{origin}: not a XAPI database dump (the root element is "
                         f"<{exc.tag}>, expected <database>)") from None
    except LookupError as exc:  # the XML declaration names an encoding Python lacks
        raise InputError(f"{origin}:1: malformed XML: {exc}") from None
    except expat.ExpatError as exc:
        where = f"{origin}:{exc.lineno}:{exc.offset + 1}"
        message = expat.errors.messages.get(exc.code, str(exc)) if exc.code else str(exc)
        if handler.root is None and exc.code == expat.errors.codes[
                expat.errors.XML_ERROR_SYNTAX]:
            raise InputError(f"{where}: not XML ({message})") from None
        if exc.code in (expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS],
                        expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN],
                        expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION]):
            raise InputError(f"{where}: truncated XML: the file ends inside the document "
                             f"({message})") from None
        raise InputError(f"{where}: malformed XML: {message}") from None
    if handler.root is None:
        raise InputError(f"{origin}: not XML (no root element)")
    handler.finish()
    return handler


def _records_from_json(doc: Any, origin: str) -> dict[str, dict[str, Record]]:
    """`{class: {ref: record}}` or an SDK test spec wrapping `<Class>.get_all_records`."""
    if not isinstance(doc, dict) or not doc:
        raise InputError(f"{origin}: not a records file: expected a JSON object of "
                         "{class: {ref: record}}")
    tables: dict[str, dict[str, Record]] = {}
    if all(isinstance(v, dict) and "expected_result" in v for v in doc.values()):
        for test in doc.values():
            results = test.get("expected_result")
            if not isinstance(results, dict):
                continue
            for method, answer in results.items():
                cls, _, call = method.partition(".")
                result = answer.get("result") if isinstance(answer, dict) else None
                if call == "get_all_records" and isinstance(result, dict):
                    tables.setdefault(cls, {}).update(result)
        if not tables:
            raise InputError(f"{origin}: a test spec without any <Class>.get_all_records "
                             "result")
    else:
        for cls, table in doc.items():
            if not isinstance(table, dict) or not all(
                    isinstance(k, str) and k.startswith("OpaqueRef:") and isinstance(r, dict)
                    for k, r in table.items()):
                raise InputError(f"{origin}: not a records file: {cls!r} is not an object "
                                 "of {OpaqueRef: record}")
            tables[cls] = table
    return {cls: {ref: {k: _xmlrpc_shape(v) for k, v in rec.items()}
                  for ref, rec in table.items()}
            for cls, table in tables.items()}


def _xmlrpc_shape(value: Any) -> Any:
    """JSON-RPC ints → decimal strings (XML-RPC's int64); bools and floats stay."""
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {k: _xmlrpc_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_xmlrpc_shape(v) for v in value]
    return value


# -- gaps -------------------------------------------------------------------------------------

def _required_fields() -> dict[str, list[str]]:
    defs = inventory._schema().get("$defs", {})
    return {cls: list(defs[cls].get("required", [])) for cls in CLASSES if cls in defs}


def _ref_fields() -> dict[str, list[str]]:
    """class -> fields the inventory schema types as a single ref."""
    defs = inventory._schema().get("$defs", {})
    out: dict[str, list[str]] = {}
    for cls in CLASSES:
        props = defs.get(cls, {}).get("properties", {})
        out[cls] = [f for f, spec in props.items() if spec.get("$ref") == "#/$defs/ref"]
    return {cls: fields for cls, fields in out.items() if fields}


def _fix_non_refs(objects: dict[str, dict[str, Record]]) -> list[Gap]:
    """A ref field holding something else (old dumps: an empty CD's `VBD.VDI` is "" or
    "cd") becomes OpaqueRef:NULL, as XAPI means it, and the original value a gap."""
    gaps: list[Gap] = []
    for cls, fields in _ref_fields().items():
        for ref, rec in objects.get(cls, {}).items():
            for fld in fields:
                value = rec.get(fld)
                if fld in rec and not (isinstance(value, str)
                                        and value.startswith("OpaqueRef:")):
                    rec[fld] = NULL_REF
                    gaps.append(Gap(cls, f"not a reference: {value!r} (read as {NULL_REF})",
                                    ref=ref, field=fld))
    return gaps


def _drop_incomplete(objects: dict[str, dict[str, Record]]) -> list[Gap]:
    """Records missing a field the inventory schema requires are left out, as gaps."""
    gaps: list[Gap] = []
    for cls, required in _required_fields().items():
        table = objects.get(cls)
        if not table or not required:
            continue
        for ref in [r for r, rec in table.items() if any(f not in rec for f in required)]:
            missing = [f for f in required if f not in table[ref]]
            del table[ref]
            gaps.append(Gap(cls, f"incomplete record left out: no {', '.join(missing)}",
                            ref=ref))
    return gaps


def _build(tables: dict[str, dict[str, Record]], *, source: dict[str, Any],
           secret_ids: Iterable[str], known_elsewhere: Collection[str],
           absent_reason: str, origin: str, partial: bool,
           strings: set[str] | None = None) -> dict[str, Any]:
    """The document from decoded tables.

    `strings`: given when the tables come from a dump, already redacted while decoding;
    a superset of the records' string values and set members, so that the dangling-ref
    search only walks the records when some `OpaqueRef:` in it names no record.
    """
    objects = {cls: tables[cls] for cls in CLASSES if cls in tables}
    missing = [cls for cls in inventory.required_classes() if not objects.get(cls)]
    if missing and not partial:
        what = "a XAPI database dump" if source["kind"] == "xapi-db-dump" else "a records file"
        raise InputError(
            f"{origin}: no {' or '.join(missing)} records: {what} without "
            f"{', '.join(inventory.required_classes())} records cannot tell whether a VM "
            f"can move (a partial or damaged file?)")
    if strings is None:
        redact_secrets(objects, set(secret_ids))
    gaps = [Gap(cls, absent_reason) for cls in CLASSES if cls not in objects]
    gaps += _drop_incomplete(objects)
    gaps += _fix_non_refs(objects)
    inventory.rebuild_back_references(objects)
    if strings is None or _may_dangle(objects, known_elsewhere, strings):
        gaps += inventory.dangling_gaps(objects, known_elsewhere)
    doc = inventory.envelope(objects, source=source, gaps=gaps)
    inventory.validate_document(doc, origin, partial=partial)
    return doc


def _may_dangle(objects: dict[str, dict[str, Record]], known_elsewhere: Collection[str],
                strings: set[str]) -> bool:
    """Whether some string in `strings` is an `OpaqueRef:` naming no row at all."""
    unknown = strings.difference(known_elsewhere)
    for table in objects.values():
        unknown.difference_update(table)
    unknown.discard(NULL_REF)
    return any(v.startswith("OpaqueRef:") for v in unknown)


# -- entry point ------------------------------------------------------------------------------

def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a dump") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def import_file(path: str | Path, *, partial: bool = False) -> dict[str, Any]:
    """Read a dump or a records file into a validated inventory document.

    Raises InputError (exit 2) naming the file and the problem; nothing is written here.
    Without pool, host and VM records a file is invalid input, unless `partial`: a
    capture of a few classes (the community.general records of one VM) read for the
    facts of what it holds, the missing classes recorded as gaps. Such a document is
    never a valid inventory to save or check.
    """
    path = Path(path)
    origin = str(path)
    with _open(path) as raw:
        reader = _HashingReader(raw)
        head = reader.read(2)
        if not head:
            raise InputError(f"{origin}: empty file")
        compressed = head == b"\x1f\x8b"
        stream: Any = _Prefixed(head, reader)
        if compressed:
            stream = gzip.GzipFile(fileobj=stream, mode="rb")
        # Decoding builds a few million containers and frees almost none of them: with the
        # cyclic collector running, each of its full passes walks all those built so far
        # (most of the time of a 5,000-VM dump). Nothing here creates garbage cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            doc = _import_stream(stream, origin, path.name, reader, partial)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise InputError(f"{origin}: corrupt gzip file: {exc or 'unexpected end'}"
                             ) from None
        except OSError as exc:
            raise InputError(f"{origin}: cannot read: {exc}") from None
        finally:
            if collecting:
                gc.enable()
    return doc


class _Prefixed:
    """A stream that first returns bytes already read (a probe), then the rest."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self.head = head
        self.rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.rest.read(size)
        if size < 0:
            data, self.head = self.head + self.rest.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        if len(data) < size:
            data += self.rest.read(size - len(data))
        return data


def _first_byte(stream: Any) -> tuple[bytes, Any]:
    """The first non-blank byte (after a UTF-8 BOM) and a stream that still starts at 0."""
    probe = b""
    while True:
        chunk = stream.read(4096)
        probe += chunk
        stripped = probe.removeprefix(codecs.BOM_UTF8).lstrip()
        if stripped or not chunk:
            break
    return stripped[:1], _Prefixed(probe, stream)


def _import_stream(stream: Any, origin: str, name: str, reader: _HashingReader,
                   partial: bool) -> dict[str, Any]:
    first, stream = _first_byte(stream)
    if not first:
        raise InputError(f"{origin}: empty file (only blanks)")
    if first == b"{":
        text = stream.read()
        try:
            doc = json.loads(text.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise InputError(f"{origin}: not UTF-8 JSON: {exc.reason}") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{origin}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}"
                             ) from None
        tables = _records_from_json(doc, origin)
        source = {"kind": "records", "file": name, "sha256": reader.drain()}
        return _build(tables, source=source, secret_ids=(), known_elsewhere=(),
                      absent_reason="not present in this file", origin=origin,
                      partial=partial)
    if first != b"<":
        raise InputError(f"{origin}: not XML or JSON (a XAPI database dump starts with "
                         f"'<', a records file with '{{'; this file starts with {first!r})")
    parsed = _parse_xml(stream, origin)
    source: dict[str, Any] = {"kind": "xapi-db-dump", "file": name, "sha256": reader.drain()}
    m = parsed.manifest
    if "schema_major_vsn" in m:
        source["schema"] = f"{m['schema_major_vsn']}.{m.get('schema_minor_vsn', '?')}"
    if "generation_count" in m:
        source["generation_count"] = m["generation_count"]
    for key in _MANIFEST_KEPT:
        if key in m:
            source[key] = m[key]
    return _build(parsed.tables, source=source, secret_ids=parsed.secret_ids,
                  known_elsewhere=parsed.other_refs,
                  absent_reason="not present in this dump", origin=origin,
                  partial=partial, strings=parsed.strings)


__all__: list[str] = ["SexprError", "decode_row", "decode_sexpr", "import_file", "parse_sexpr",
                      "redact_secrets", "unescape_spaces"]
