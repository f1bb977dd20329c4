"""Inventories: one pool's XenAPI records as `get_all_records` returns them, in one JSON file.

This module is the only way the rest of the code reads an inventory. It validates the
envelope (errors name the JSON path), indexes records by ref and uuid, and follows
references safely: a dangling or null ref gives None, never a KeyError.

A class recorded in `gaps` as not collected is never read as empty: every lookup into it
raises `ClassGap`, which the facts turn into `unknown`. An empty list must not pass for
"none" when nobody looked.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from itertools import islice, repeat
from pathlib import Path
from typing import IO, Any

import jsonschema

from checker import __version__
from checker.atomic import atomic_writer
from checker.bundled import schema
from checker.errors import InputError

FORMAT = "migready.inventory/1"
NULL_REF = "OpaqueRef:NULL"

#: The classes an inventory holds (contracts.md), in collection order.
CLASSES: tuple[str, ...] = (
    "pool", "host", "host_metrics", "host_cpu", "VM", "VM_metrics", "VM_guest_metrics",
    "VBD", "VDI", "SR", "SM", "PBD", "VIF", "network", "PIF", "PIF_metrics", "Bond",
    "PCI", "PGPU", "GPU_group", "VGPU", "VGPU_type", "VUSB", "USB_group", "PUSB",
    "pool_update", "pool_patch", "host_patch",
)

#: One-to-many fields XAPI derives from the child's ref field; dumps do not store them.
#: (parent class, parent field) -> (child class, child field pointing at the parent)
BACK_REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("VM", "VBDs"): ("VBD", "VM"),
    ("VM", "VIFs"): ("VIF", "VM"),
    ("VM", "VGPUs"): ("VGPU", "VM"),
    ("VM", "VUSBs"): ("VUSB", "VM"),
    ("VM", "snapshots"): ("VM", "snapshot_of"),
    ("VDI", "VBDs"): ("VBD", "VDI"),
    ("VDI", "snapshots"): ("VDI", "snapshot_of"),
    ("SR", "VDIs"): ("VDI", "SR"),
    ("SR", "PBDs"): ("PBD", "SR"),
    ("host", "PBDs"): ("PBD", "host"),
    ("host", "PIFs"): ("PIF", "host"),
    ("host", "resident_VMs"): ("VM", "resident_on"),
    ("host", "host_CPUs"): ("host_cpu", "host"),
    ("host", "PCIs"): ("PCI", "host"),
    ("host", "PGPUs"): ("PGPU", "host"),
    ("host", "PUSBs"): ("PUSB", "host"),
    ("host", "patches"): ("host_patch", "host"),
    ("network", "VIFs"): ("VIF", "network"),
    ("network", "PIFs"): ("PIF", "network"),
    ("GPU_group", "PGPUs"): ("PGPU", "GPU_group"),
    ("GPU_group", "VGPUs"): ("VGPU", "GPU_group"),
    ("PGPU", "resident_VGPUs"): ("VGPU", "resident_on"),
    ("USB_group", "PUSBs"): ("PUSB", "USB_group"),
    ("USB_group", "VUSBs"): ("VUSB", "USB_group"),
    ("pool_patch", "host_patches"): ("host_patch", "pool_patch"),
}

Record = dict[str, Any]


class ClassGap(InputError, LookupError):
    """A lookup into a class the inventory records as not collected.

    The facts turn it into Missing (the rule says unknown, naming the class and why);
    anywhere else it is invalid input for what was asked (exit 2), never an empty answer.
    """

    def __init__(self, origin: str, cls: str, reason: str) -> None:
        super().__init__(f"{origin}: {cls} was not collected ({reason})")
        self.cls = cls
        self.reason = reason


def is_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("OpaqueRef:") and value != NULL_REF


def rebuild_back_references(objects: dict[str, dict[str, Record]]) -> None:
    """Fill the one-to-many fields from the child rows, as XAPI computes them.

    Only fields that are absent are filled: a live collection already has them. A child
    class that was not collected fills nothing: `[]` would claim there are no children.
    """
    for (parent_cls, parent_field), (child_cls, child_field) in BACK_REFERENCES.items():
        parents = objects.get(parent_cls)
        table = objects.get(child_cls)
        if not parents or table is None or all(parent_field in rec for rec in parents.values()):
            continue
        children: dict[str, list[str]] = {}
        for child_ref, target in zip(table, map(dict.get, table.values(),
                                                repeat(child_field)), strict=True):
            if is_ref(target):
                group = children.get(target)
                if group is None:
                    children[target] = [child_ref]
                else:
                    group.append(child_ref)
        get = children.get
        for ref, rec in parents.items():
            if parent_field not in rec:
                rec[parent_field] = sorted(get(ref, ()))


@dataclass(frozen=True)
class Gap:
    """Something the inventory could not hold: a missing class, a dangling reference."""

    cls: str
    reason: str
    ref: str | None = None
    field: str | None = None

    def as_json(self) -> dict[str, str]:
        out = {"class": self.cls, "reason": self.reason}
        if self.ref:
            out["ref"] = self.ref
        if self.field:
            out["field"] = self.field
        return out


#: Beyond this many dangling references in one class.field, one gap summarises them.
MAX_GAPS_PER_FIELD = 20


def dangling_gaps(objects: dict[str, dict[str, Record]],
                  known_elsewhere: Collection[str] = ()) -> list[Gap]:
    """Dangling references as gaps, aggregated per class.field beyond MAX_GAPS_PER_FIELD.

    A ref-valued field or set member naming no record dangles. Found with set operations
    first, so a 5,000-VM pool costs one pass to collect values and a second only if
    something dangles. `known_elsewhere`:
    refs of rows in tables the inventory does not keep; a reference to one of those is
    out of scope, not dangling.
    """
    known: set[str] = set(known_elsewhere)
    values: list[Any] = []
    for table in objects.values():
        known.update(table)
        for rec in table.values():
            values.extend(rec.values())
    strings = {v for v in values if v.__class__ is str}
    for v in values:
        if v.__class__ is list:
            strings.update(x for x in v if x.__class__ is str)
    del values
    dangling = {v for v in strings.difference(known) if v.startswith("OpaqueRef:")}
    dangling.discard(NULL_REF)
    if not dangling:
        return []
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for cls, table in objects.items():
        for ref, rec in table.items():
            for name, value in rec.items():
                if value.__class__ is str:
                    if value in dangling:
                        groups.setdefault((cls, name), []).append((ref, value))
                elif value.__class__ is list and not dangling.isdisjoint(value):
                    group = groups.setdefault((cls, name), [])
                    group.extend((ref, t) for t in sorted(set(value) & dangling))
    out: list[Gap] = []
    for (cls, fld), items in groups.items():
        if len(items) <= MAX_GAPS_PER_FIELD:
            out.extend(Gap(cls, f"dangling reference {t}", ref=r, field=fld) for r, t in items)
            continue
        ref, target = items[0]
        out.append(Gap(cls, f"{len(items)} dangling references in {cls}.{fld} "
                            f"(first: {target} in {ref})", field=fld))
    return out


def envelope(
    objects: dict[str, dict[str, Record]],
    *,
    source: dict[str, Any],
    gaps: list[Gap],
    collected_at: str | None = None,
) -> dict[str, Any]:
    """The inventory document around a set of records (contracts.md)."""
    pool = next(iter(objects.get("pool", {}).values()), {})
    return {
        "format": FORMAT,
        "collected_at": collected_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "collector": {"name": "migready", "version": __version__},
        "source": source,
        "pool": {"uuid": pool.get("uuid"), "name_label": pool.get("name_label")},
        "gaps": [g.as_json() for g in gaps],
        "objects": objects,
    }


def _schema() -> dict[str, Any]:
    return schema("inventory")


def required_classes() -> list[str]:
    """The classes without which an inventory is invalid (the schema names them)."""
    return list(_schema()["properties"]["objects"]["required"])


def json_path(path: Any) -> str:
    """`$.objects.VM["OpaqueRef:x"].power_state` from a jsonschema error path."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


@cache
def _partial_schema() -> dict[str, Any]:
    """The schema without the required classes: a capture of a few classes, for facts."""
    schema = copy.deepcopy(_schema())
    objects = schema["properties"]["objects"]
    del objects["required"]
    for spec in objects["properties"].values():
        spec.pop("minProperties", None)
    return schema


def validate_document(doc: Any, origin: str, *, partial: bool = False) -> None:
    """Raise InputError listing every schema violation with its JSON path.

    The records of a large pool are checked by the schema compiled into plain predicates
    (`fastschema`); only when those find a problem, or cannot tell, does jsonschema run
    over everything, so the error a user reads is jsonschema's, with its JSON path.
    `partial`: pool, host and VM may be missing (never for a document that is saved).
    """
    from checker.fastschema import records_valid

    schema = _partial_schema() if partial else _schema()
    if isinstance(doc, dict) and isinstance(doc.get("objects"), dict):
        # one record per table: the required, non-empty classes are checked here
        envelope_only = {**doc, "objects": {
            cls: dict(islice(table.items(), 1)) if isinstance(table, dict) else table
            for cls, table in doc["objects"].items()}}
        if _errors(envelope_only, schema) == [] and records_valid(doc, schema):
            return
    errors = _errors(doc, schema)
    if errors:
        details = [f"  {json_path(e.absolute_path)}: {e.message}" for e in errors[:20]]
        if len(errors) > 20:
            details.append(f"  … and {len(errors) - 20} more")
        raise InputError(f"{origin}: not a valid migready inventory", details=details)


def _errors(doc: Any, schema: dict[str, Any]) -> list[Any]:
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))


@dataclass
class Inventory:
    """One pool's records: the read API for everything above this module."""

    doc: dict[str, Any]
    origin: str = "<memory>"
    #: SHA-256 of the file it was loaded from, as stored (for the results' inputs).
    sha256: str | None = None

    @property
    def objects(self) -> dict[str, dict[str, Record]]:
        return self.doc["objects"]

    @property
    def gaps(self) -> list[dict[str, str]]:
        return self.doc.get("gaps", [])

    @property
    def pool_ref(self) -> str | None:
        return next(iter(self.objects.get("pool", {})), None)

    @property
    def pool(self) -> Record | None:
        return self.get("pool", self.pool_ref)

    @property
    def name(self) -> str:
        pool = self.pool or {}
        return pool.get("name_label") or pool.get("uuid") or self.origin

    @cached_property
    def gap_classes(self) -> dict[str, str]:
        """class -> why it was not collected, for the gaps that name a whole class."""
        return {g["class"]: g["reason"] for g in self.gaps
                if "ref" not in g and "field" not in g and g["class"] in CLASSES}

    def has_class(self, cls: str) -> bool:
        """False when the class was never collected (older XenServer, partial dump)."""
        return cls in self.objects

    def _table(self, cls: str) -> dict[str, Record]:
        """The class's records; ClassGap when the inventory says it was not collected."""
        table = self.objects.get(cls)
        if table is None:
            reason = self.gap_classes.get(cls)
            if reason is not None:
                raise ClassGap(self.origin, cls, reason)
            return {}
        return table

    def get(self, cls: str, ref: Any) -> Record | None:
        """The record, or None for a null, dangling or non-ref value (ClassGap: see
        `_table`)."""
        if not is_ref(ref):
            return None
        table = self.doc["objects"].get(cls)  # the hot path: one lookup
        return (self._table(cls) if table is None else table).get(ref)

    def get_many(self, cls: str, refs: Any) -> list[tuple[str, Record]]:
        """(ref, record) for each ref of a set that resolves; dangling ones are skipped.

        ClassGap even for an empty or absent set: the set may be empty only because the
        class it is rebuilt from was not collected."""
        table = self._table(cls)
        if not isinstance(refs, list):
            return []
        return [(r, table[r]) for r in refs if is_ref(r) and r in table]

    def all(self, cls: str) -> Iterator[tuple[str, Record]]:
        """Every record of the class (ClassGap for one not collected, raised at once)."""
        return iter(self._table(cls).items())

    @classmethod
    def from_document(cls, doc: Any, origin: str = "<memory>", sha256: str | None = None) -> Inventory:
        validate_document(doc, origin)
        return cls(doc, origin, sha256)

    @classmethod
    def load(cls, path: str | Path) -> Inventory:
        """Read, hash and parse the file in one pass over its bytes."""
        path = Path(path)
        try:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            doc = json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            raise InputError(f"{path}: cannot read inventory: {exc}") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
        except RecursionError:  # the C decoder's own depth limit (Python's recursion limit)
            raise InputError(f"{path}: not an inventory: JSON nested too deeply "
                             f"(more than {sys.getrecursionlimit()} levels)") from None
        return cls.from_document(doc, str(path), digest)


def save_document(doc: dict[str, Any], path: str | Path) -> None:
    """Write an inventory atomically (gzip when the name ends in .gz)."""
    with atomic_writer(path) as handle:
        write_document(doc, handle)


def write_document(doc: dict[str, Any], handle: IO[str]) -> None:
    """An inventory's JSON to an open text stream (a file, or stdout for `-o -`)."""
    json.dump(doc, handle, sort_keys=True, ensure_ascii=False)  # no indent: the C encoder
    handle.write("\n")
