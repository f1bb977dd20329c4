"""`migready ls`: a pool's VMs, hosts, SRs, disks and networks as rows, in the spirit of
`xe vm-list`, so a user can find the names and uuids a plan's selectors take.

Every value is read through the facts (a VM's host, a disk's SR, whether an SR is local,
which hosts a network reaches), so the listing shows what the checks see, under the labels
the checks print ("Local storage (xs01)"). A fact that cannot be established is `UNKNOWN`
(`?` in text, null in JSON), never a guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from checker.facts import Missing, Obj, World, is_real_vm
from checker.report.i18n import format_bytes
from checker.results import natural_order

#: The kinds of object `ls` lists; the first is the default.
KINDS = ("vms", "hosts", "srs", "disks", "networks")


class _Unknown:
    """A fact the inventory cannot establish: `?` in text, null in JSON."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    show: Callable[[Any], str] = str
    #: What the cell shows, when more than the row's `key` (default: row[key]).
    value: Callable[[dict[str, Any]], Any] | None = None


def _size(value: Any) -> str:
    return format_bytes(value, "en")


def _yes(value: Any) -> str:
    return "yes" if value else "no"


def _names(value: Any) -> str:
    return ", ".join(value) or "-"


COLUMNS: dict[str, tuple[Column, ...]] = {
    "vms": (Column("name", "NAME"), Column("power_state", "POWER"), Column("host", "HOST"),
            Column("memory", "MEMORY", _size), Column("disks", "DISKS"),
            Column("disk_size", "DISK SIZE", _size), Column("uuid", "UUID")),
    "hosts": (Column("name", "NAME"), Column("enabled", "ENABLED", _yes),
              Column("master", "MASTER", _yes), Column("memory_total", "MEMORY", _size),
              Column("memory_free", "FREE", _size), Column("vms", "VMS"),
              Column("version", "VERSION"), Column("uuid", "UUID")),
    "srs": (Column("name", "NAME"), Column("type", "TYPE"), Column("shared", "SHARED", _yes),
            Column("hosts", "HOST", _names), Column("free", "FREE", _size),
            Column("uuid", "UUID")),
    "disks": (Column("vm", "VM"), Column("userdevice", "USERDEVICE"), Column("device", "DEVICE"),
              Column("name", "DISK"), Column("size", "SIZE", _size), Column("sr", "SR"),
              Column("uuid", "UUID")),
    "networks": (Column("name", "NAME"), Column("bridge", "BRIDGE"),
                 Column("hosts", "HOSTS", _names,
                        lambda row: [*row["hosts"], *(f"{h}?" for h in row.get("hosts_unknown", ()))]),
                 Column("uuid", "UUID")),
}


def list_objects(world: World, kind: str) -> list[dict[str, Any]]:
    """One row per object of `kind` in every pool: pool order, then natural name order."""
    rows: list[dict[str, Any]] = []
    for pool, inv in enumerate(world.inventories):
        found = [{"pool": inv.name, **row} for row in _ROWS[kind](world, pool)]
        found.sort(key=lambda r: tuple(natural_order(str(r[k])) for k in _ORDER[kind]))
        rows += found
    return rows


def as_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with UNKNOWN as None."""
    return [{k: None if v is UNKNOWN else v for k, v in row.items()} for row in rows]


def format_text(rows: list[dict[str, Any]], kind: str, *, pools: bool) -> str:
    """Aligned columns under a header, one row per object; a POOL column first when several
    pools are listed."""
    columns = ((Column("pool", "POOL"),) if pools else ()) + COLUMNS[kind]
    table = [[c.header for c in columns]]
    table += [[_cell(c.value(row) if c.value else row[c.key], c.show) for c in columns]
              for row in rows]
    widths = [max(_width(line[i]) for line in table) for i in range(len(columns))]
    return "".join("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(line, widths, strict=True))
                   .rstrip() + "\n" for line in table)


def _cell(value: Any, show: Callable[[Any], str]) -> str:
    """A value as one line: a control character in a name (a newline, a tab) is escaped."""
    if value is UNKNOWN:
        return "?"
    text = "-" if value is None else show(value)
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def _width(text: str) -> int:
    """Columns a terminal gives the text: two for a wide character (a Japanese VM name)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fact(world: World, obj: Obj, name: str) -> Any:
    try:
        return world.value(obj, name)
    except Missing:
        return UNKNOWN


def _row(world: World, obj: Obj, **facts: str) -> dict[str, Any]:
    """The object's name and uuid, and each field from the fact named (an object by its
    name, a list by its length)."""
    row: dict[str, Any] = {"name": obj.name, "uuid": obj.uuid}
    for field_name, fact_name in facts.items():
        value = _fact(world, obj, fact_name)
        if isinstance(value, Obj):
            value = value.name
        row[field_name] = len(value) if isinstance(value, list) else value
    return row


def _vms(world: World, pool: int) -> Iterator[dict[str, Any]]:
    for ref, rec in world.inventories[pool].all("VM"):
        if is_real_vm(rec):
            yield _row(world, world.obj(pool, "VM", ref), power_state="power_state",
                       host="resident_on", memory="memory_static_max", disks="disks",
                       disk_size="disk_virtual_size")


def _hosts(world: World, pool: int) -> Iterator[dict[str, Any]]:
    for host in world.objects(pool, "host"):
        yield _row(world, host, enabled="enabled", master="is_master", memory_total="memory_total",
                   memory_free="free_memory", vms="resident_vms", version="product")


def _srs(world: World, pool: int) -> Iterator[dict[str, Any]]:
    for sr in world.objects(pool, "SR"):
        row = _row(world, sr, type="type", shared="shared", free="free")
        hosts = None if row["shared"] is True else _fact(world, sr, "attached_on")
        row["hosts"] = hosts if hosts in (None, UNKNOWN) else sorted(h.name for h in hosts)
        yield row


def _disks(world: World, pool: int) -> Iterator[dict[str, Any]]:
    """A VM's disks (the `disks` fact: no CD, no empty drive), with the drive each is in."""
    inv = world.inventories[pool]
    for ref, rec in inv.all("VM"):
        if not is_real_vm(rec):
            continue
        vm = world.obj(pool, "VM", ref)
        disks = _fact(world, vm, "disks")
        if disks is UNKNOWN:
            yield {"vm": vm.name, "userdevice": UNKNOWN, "device": UNKNOWN, "name": UNKNOWN,
                   "uuid": UNKNOWN, "size": UNKNOWN, "sr": UNKNOWN}
            continue
        drives = {vbd.get("VDI"): vbd for _, vbd in inv.get_many("VBD", rec.get("VBDs"))}
        for disk in disks:
            drive = drives.get(disk.ref, {})
            yield {"vm": vm.name, "userdevice": str(drive.get("userdevice", "")),
                   "device": drive.get("device") or None, **_row(world, disk, size="virtual_size", sr="sr")}


def _networks(world: World, pool: int) -> Iterator[dict[str, Any]]:
    """Each network with the hosts a VM on it can run on (host.networks, XAPI's own test)."""
    reach = {host: _fact(world, host, "networks") for host in world.objects(pool, "host")}
    for net in world.objects(pool, "network"):
        hosts = [h.name for h, nets in reach.items() if nets is not UNKNOWN and net in nets]
        row = {"name": net.name, "uuid": net.uuid, "bridge": net.record.get("bridge") or None,
               "hosts": sorted(hosts, key=natural_order)}
        undecided = sorted((h.name for h, nets in reach.items() if nets is UNKNOWN), key=natural_order)
        if undecided:  # hosts whose reach the inventory cannot tell (`name?` in text)
            row["hosts_unknown"] = undecided
        yield row


_ROWS: dict[str, Callable[[World, int], Iterator[dict[str, Any]]]] = {
    "vms": _vms, "hosts": _hosts, "srs": _srs, "disks": _disks, "networks": _networks}
#: The fields rows sort by, in natural order (web-2 before web-10).
_ORDER = {"vms": ("name",), "hosts": ("name",), "srs": ("name",), "disks": ("vm", "userdevice"),
          "networks": ("name",)}
