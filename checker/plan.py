"""Migration plans: parse plan.yaml, resolve selectors against the inventories, and expand
it into moves. Without a plan, build the readiness audit's hypothetical moves.

Order assumed (stated in results): waves run in ascending order, moves of one wave at
the same time; within the plan, resources a move consumes on a destination (host
memory, SR space) stay consumed for every later move. Memory freed on a host by a VM
leaving it is not credited: the check is conservative.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker import yamlschema
from checker.errors import InputError
from checker.facts import Obj, World, is_real_vm
from checker.yamlsrc import Located

DEFAULT_BANDWIDTH = 1_000_000_000


@dataclass
class Settings:
    migration_bandwidth: int | None = None
    window_seconds: int | None = None
    evacuation_batch_size: int = 10
    fast_network: int = 10_000_000_000
    cvd_pools: set[int] = field(default_factory=set)
    mcs_vms: set[tuple[int, str]] = field(default_factory=set)


@dataclass
class Move:
    """One (VM or host) operation the rules evaluate."""

    id: str
    kind: str                          # live | storage | vdi | evacuate
    wave: int
    vm: Obj | None = None
    host: Obj | None = None            # evacuate: the host being emptied (level "host")
    dst_pool: int = 0
    dst_host: Obj | None = None
    storage_default: Obj | None = None
    storage_map: dict[str, Obj] = field(default_factory=dict)   # VDI ref -> SR
    network_map: dict[str, Obj] = field(default_factory=dict)   # source network ref -> network
    migration_network: Obj | None = None
    compress: bool | None = None
    vdi: Obj | None = None
    dst_sr: Obj | None = None
    parent: str | None = None          # evacuate: the host-level move this VM move belongs to
    unplaced: bool = False             # evacuate: no host had room; dst_host is the best try
    #: Audit: a live move of the VM to each of these hosts, judged one by one (a sweep).
    sweep: list[Obj] | None = None
    audit: bool = False                # hypothetical: shares nothing with other moves

    @property
    def src_pool(self) -> int:
        subject = self.vm or self.host
        return subject.pool if subject else 0


@dataclass
class Plan:
    change_id: str | None
    moves: list[Move]
    settings: Settings
    file: str | None = None
    audit: bool = False
    #: What the check assumes of a plan that is valid but unusual (a VM moved twice).
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------

class PlanError(InputError):
    pass


class _Parser:
    """Reads a plan the schema (schemas/plan.schema.json) has checked: its keys and value
    types are known good wherever `checked.usable`; what is checked here is what a schema
    cannot know: that the names exist in the inventories, once, in one pool, and that no
    move is given twice."""

    def __init__(self, checked: yamlschema.Checked, world: World) -> None:
        self.checked = checked
        self.doc = checked.doc
        self.world = world
        #: (pool, class) -> ("name" | "uuid", value) -> refs: a plan may name thousands of VMs.
        self._indexes: dict[tuple[int, str], dict[tuple[str, Any], list[str]]] = {}
        #: Selectors that matched nothing so far: the first RANKED_MISSES list candidates
        #: closest first, the rest in name order (a plan given the wrong pool misses them all).
        self.misses = 0
        self._candidates: Candidates = {}

    @property
    def errors(self) -> list[str]:
        """Every problem, the schema's and the parser's, in file order."""
        return self.checked.problems

    def error(self, path: tuple[Any, ...], message: str) -> None:
        self.checked.error(path, message)

    # -- selectors ----------------------------------------------------------------
    def resolve(self, cls: str, selector: Any, path: tuple[Any, ...], *,
                pool: int | None = None) -> list[Obj]:
        """Objects matching a name, label, `uuid:…` or `{tag: …}` selector; an error naming
        the candidates when none or several match."""
        pools = [pool] if pool is not None else range(len(self.world.inventories))
        candidates = [self.world.obj(p, cls, ref) for p in pools for ref in self._refs(p, cls, selector)]
        what = _WHAT[cls]
        if not candidates:
            self.misses += 1
            hint = closest(self.world, cls, selector, pools, rank=self.misses <= RANKED_MISSES,
                           cache=self._candidates)
            self.error(path, f"no {what} matches {_show(selector)}; {hint}")
        elif len(candidates) > 1 and isinstance(selector, str) and not selector.startswith("uuid:"):
            self.error(path, f"{_show(selector)} names {len(candidates)} {what}s: "
                             f"{_choices(candidates)}; give one of these")
            return []
        return candidates

    def _refs(self, pool: int, cls: str, selector: Any) -> list[str]:
        """Refs of the pool's objects of `cls` that a selector names, in inventory order. A
        name is an object's name_label or the label migready prints for it (a local SR whose
        name repeats is "Local storage (xs01)")."""
        records = ((ref, rec) for ref, rec in self.world.inventories[pool].all(cls)
                   if cls != "VM" or is_real_vm(rec))
        if isinstance(selector, dict) and set(selector) == {"tag"}:
            return [ref for ref, rec in records if selector["tag"] in (rec.get("tags") or [])]
        if not isinstance(selector, str):
            return []
        index = self._indexes.get((pool, cls))
        if index is None:
            index = self._indexes[(pool, cls)] = defaultdict(list)
            for ref, rec in records:
                index[("name", rec.get("name_label"))].append(ref)
                index[("uuid", rec.get("uuid"))].append(ref)
                label = self.world.obj(pool, cls, ref).name
                if label != rec.get("name_label"):
                    index[("name", label)].append(ref)
        key = ("uuid", selector[5:]) if selector.startswith("uuid:") else ("name", selector)
        return index.get(key, [])

    def pool_index(self, selector: Any, path: tuple[Any, ...]) -> int | None:
        if not isinstance(selector, str):
            self.error(path, "expected a pool's name or uuid")
            return None
        for i, inv in enumerate(self.world.inventories):
            pool = inv.pool or {}
            if selector in {pool.get("name_label"), f"uuid:{pool.get('uuid')}", pool.get("uuid")}:
                return i
        names = ", ".join(repr(inv.name) for inv in self.world.inventories)
        self.error(path, f"no inventory given is the pool {_show(selector)} (pools: {names})")
        return None


def select(world: World, cls: str, selector: Any, origin: str, *,
           pool: int | None = None) -> list[Obj]:
    """The objects a selector names outside a plan file (a command-line option, `origin`):
    the plan's selectors and errors (none, or a name that matches twice), as PlanError."""
    parser = _Parser(yamlschema.Checked(Located(None, {}, origin)), world)
    found = parser.resolve(cls, selector, (), pool=pool)
    if parser.errors:
        raise PlanError(parser.errors[0].replace(f"{origin}:1:1: ", f"{origin}: ", 1))
    return found


def select_pool(world: World, selector: str, origin: str) -> int:
    """The index of the inventory whose pool `selector` names (name or uuid), as `select`."""
    parser = _Parser(yamlschema.Checked(Located(None, {}, origin)), world)
    index = parser.pool_index(selector, ())
    if index is None:
        raise PlanError(parser.errors[0].replace(f"{origin}:1:1: ", f"{origin}: ", 1))
    return index


def _show(selector: Any) -> str:
    return f"tag {selector['tag']!r}" if isinstance(selector, dict) and "tag" in selector else repr(selector)


def _natural(text: str) -> tuple[Any, ...]:
    """results.natural_order (web-2 before web-10), imported late: results imports evaluate,
    which imports this module."""
    from checker.results import natural_order

    return natural_order(text)


#: What an error calls an object of a class a selector names.
_WHAT = {"VM": "VM", "host": "host", "SR": "SR", "network": "network", "VDI": "disk"}
#: Candidates an error lists before "and N more".
MAX_CANDIDATES = 10
#: Misses per plan whose candidates are ranked by closeness.
RANKED_MISSES = 10


#: (class, pools, selector kind) -> the candidates as listed, in name order, each with what
#: a selector is compared with: built once per plan, however many selectors miss.
Candidates = dict[tuple[str, tuple[int, ...], str], list[tuple[str, str]]]


def closest(world: World, cls: str, selector: Any, pools: Iterable[int], *, rank: bool = True,
            cache: Candidates | None = None) -> str:
    """What a selector that matched nothing could have meant: the objects of `cls` in
    `pools` under the labels selectors take ("Local storage (xs01)" for a local SR), by uuid
    for a uuid selector, or the tags in use for a tag selector; closest first, at most
    MAX_CANDIDATES and how many more. So the user need not open the inventory to fix a plan.
    `rank=False`: in name order (ranking takes about 0.2 s among 5,000 VMs)."""
    pools = tuple(pools)
    kind = ("tag" if isinstance(selector, dict) and "tag" in selector
            else "uuid" if str(selector).startswith("uuid:") else "name")
    where = "the inventories" if len(pools) != 1 else f"pool {world.inventories[pools[0]].name!r}"
    what = f"{'tags of ' if kind == 'tag' else ''}{_WHAT[cls]}s"
    cache = {} if cache is None else cache
    shown = cache.get((cls, pools, kind))
    if shown is None:
        shown = cache[(cls, pools, kind)] = sorted(_candidates(world, cls, kind, pools),
                                                   key=lambda item: _natural(item[0]))
    if not shown:
        return f"there are no {what} in {where}"
    first = shown[:MAX_CANDIDATES]
    if rank:  # (a stable sort: equally close ones stay in name order)
        wanted = str(selector.get("tag") if kind == "tag" else selector).lower()
        matcher = difflib.SequenceMatcher(None, b=wanted)
        first = heapq.nsmallest(MAX_CANDIDATES, shown, key=lambda item: (
            matcher.set_seq1(item[1].lower()), -matcher.ratio())[1])
    more = len(shown) - MAX_CANDIDATES
    listed = ", ".join(text for text, _ in first) + (f" and {more} more" if more > 0 else "")
    return f"the {what} of {where}{', closest first' if rank else ''}: {listed}"


def _candidates(world: World, cls: str, kind: str, pools: tuple[int, ...]) -> Iterator[tuple[str, str]]:
    """(as an error lists it, what a selector of `kind` is compared with) for each object of
    `cls` in `pools`; for a tag selector, each tag in use."""
    objs = [world.obj(p, cls, ref) for p in pools for ref, rec in world.inventories[p].all(cls)
            if cls != "VM" or is_real_vm(rec)]
    if kind == "tag":
        yield from ((repr(t), t) for t in {str(t) for o in objs for t in o.record.get("tags") or []})
        return
    for o in objs:
        pool = f" in {o.inv.name}" if len(pools) > 1 else ""
        if kind == "uuid":
            yield f"uuid:{o.uuid} ({o.name}{pool})", f"uuid:{o.uuid}"
        else:
            yield f"{o.name!r}{pool}", o.name


def _choices(candidates: list[Obj]) -> str:
    """Objects one selector names, each by a selector that names it alone: its label when
    no other candidate has it, else its uuid (with its host for a VM, its pool when several)."""
    labels = Counter(c.name for c in candidates)
    pools = {c.pool for c in candidates}

    def one(c: Obj) -> str:
        where = f" in {c.inv.name}" if len(pools) > 1 else ""
        if labels[c.name] == 1:
            return f"{c.name!r}{where}"
        host = c.record.get("resident_on") if c.cls == "VM" else None
        on = f", on {c.inv.get('host', host)['name_label']}" if c.inv.get("host", host) else ""
        return f"uuid:{c.uuid} ({c.name}{on}{where})"

    return ", ".join(sorted(map(one, candidates), key=_natural))


def parse_size_rate(text: Any) -> int | None:
    """'10Gbit' -> 10e9 bit/s; '500Mbit' -> 5e8."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:bit|b)?(?:/s|ps)?\s*", str(text), re.I)
    if not match:
        return None
    scale = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def parse_duration(text: Any) -> int | None:
    """'4h', '90m', '1h30m', '45s' -> seconds."""
    parts = re.findall(r"(\d+)\s*([hms])", str(text))
    if not parts or re.sub(r"[\dhms\s]", "", str(text)):
        return None
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def distinct_pools(world: World) -> None:
    """Raise PlanError when two inventories are the same pool (the same pool uuid): each
    VM and host would be checked twice, and a plan's names would match twice."""
    seen: dict[Any, str] = {}
    for inv in world.inventories:
        uuid = (inv.pool or {}).get("uuid")
        if uuid in seen:
            raise PlanError(f"{inv.origin}: the same pool as {seen[uuid]} ({inv.name}, uuid {uuid}): "
                            "give each pool once")
        seen[uuid] = inv.origin


def load_plan(path: str | Path, world: World) -> Plan:
    """Parse a plan file into moves; raise PlanError listing every problem with file:line:col."""
    distinct_pools(world)
    checked = yamlschema.load(path, "plan", PlanError)
    if not checked.readable(()):
        checked.fail(PlanError, "plan")
    parser = _Parser(checked, world)
    data = checked.data
    settings = _settings(parser, data.get("settings") or {}) if checked.readable(("settings",)) \
        else Settings()
    moves: list[Move] = []
    ops = data["operations"] if checked.readable(("operations",)) else []
    origins: dict[str, int] = {}  # move id -> index of the operation it comes from
    for index, op in enumerate(ops):
        if not checked.usable(("operations", index)):
            continue
        added = _operation(parser, op, index, settings, len(moves))
        origins.update((move.id, index) for move in added)
        moves += added
    warnings = _repeated_moves(parser, moves, origins)
    checked.raise_problems(PlanError, "plan")
    change = data.get("plan")
    return Plan(str(change) if change is not None else None, moves, settings, str(path),
                warnings=warnings)


def _repeated_moves(parser: _Parser, moves: list[Move], origins: dict[str, int]) -> list[str]:
    """The same move twice (every parameter alike: moves that differ in a network or an SR
    are alternatives a plan may compare) is an error at the second; so is a live move to the
    host the VM is on at that point of the plan (its home, or where an earlier wave took it).
    A VM moved by two operations is a warning that states the order the check assumes."""
    def key(obj: Obj | None) -> Any:
        return obj.key if obj is not None else None

    first: dict[tuple[Any, ...], Move] = {}
    by_vm: dict[Any, list[Move]] = defaultdict(list)
    for move in moves:
        signature = (move.kind, key(move.vm) if move.kind != "evacuate" else None, key(move.host),
                     key(move.vdi), move.dst_pool, key(move.dst_host), key(move.dst_sr),
                     key(move.storage_default), key(move.migration_network), move.compress,
                     *(tuple(sorted((k, v.key) for k, v in m.items()))
                       for m in (move.storage_map, move.network_map)))
        earlier = first.setdefault(signature, move)
        if earlier is not move:
            parser.error(("operations", origins[move.id]),
                         f"the same {move.kind} move as operations.{origins[earlier.id]} "
                         f"({_describe(earlier)}): give each operation once")
        elif move.vm is not None and move.kind in {"live", "storage"}:
            by_vm[move.vm.key].append(move)
    warnings = []
    for repeated in by_vm.values():
        repeated.sort(key=lambda m: (m.wave, int(m.id[3:])))
        here = repeated[0].vm.record.get("resident_on")
        for move in repeated:
            # (A storage move to the same host is how a running VM's disks change SR.)
            if move.kind == "live" and move.dst_host is not None and move.dst_host.ref == here:
                parser.error(("operations", origins[move.id], "destination", "host"),
                             f"VM '{move.vm.name}' is on {move.dst_host.name} already at this point "
                             "of the plan: a live move to the host it is on")
            here = move.dst_host.ref if move.dst_host is not None else None
        if len(repeated) > 1:
            steps = ", then ".join(f"operations.{origins[m.id]} ({m.id}, {m.kind} to "
                                   f"{m.dst_host.name if m.dst_host else '?'}, wave {m.wave})"
                                   for m in repeated)
            warnings.append(f"{parser.doc.file}: VM '{repeated[0].vm.name}' is moved more than once: "
                            f"{steps}. The moves are assumed to run in this order (by wave, then "
                            "as written), each checked from where the VM is now.")
    return warnings


def _describe(move: Move) -> str:
    what = move.vm or move.host or move.vdi
    where = move.dst_host or move.dst_sr
    return f"{what.name if what else '?'}" + (f" to {where.name}" if where else "")


def _settings(parser: _Parser, raw: dict[str, Any]) -> Settings:
    settings = Settings()
    raw = {key: value for key, value in raw.items() if parser.checked.usable(("settings", key))}
    if "migration_bandwidth" in raw:
        settings.migration_bandwidth = parse_size_rate(raw["migration_bandwidth"])
        if settings.migration_bandwidth is None:
            parser.error(("settings", "migration_bandwidth"), "expected a rate such as 10Gbit")
    if "fast_network" in raw:
        settings.fast_network = parse_size_rate(raw["fast_network"]) or settings.fast_network
    if "window" in raw:
        settings.window_seconds = parse_duration(raw["window"])
        if settings.window_seconds is None:
            parser.error(("settings", "window"), "expected a duration such as 4h or 90m")
    # int(): JSON Schema's integer includes 2.0
    settings.evacuation_batch_size = int(raw.get("evacuation_batch_size", settings.evacuation_batch_size))
    cvd = raw.get("citrix_virtual_desktops", False)
    if isinstance(cvd, bool):
        settings.cvd_pools = set(range(len(parser.world.inventories))) if cvd else set()
    else:  # {POOL: true}
        for name, flag in cvd.items():
            index = parser.pool_index(name, ("settings", "citrix_virtual_desktops", name))
            if index is not None and flag:
                settings.cvd_pools.add(index)
    for i, selector in enumerate(raw.get("mcs_vms") or []):
        for vm in parser.resolve("VM", selector, ("settings", "mcs_vms", i)):
            settings.mcs_vms.add((vm.pool, vm.ref))
    return settings


def _operation(parser: _Parser, op: dict[str, Any], index: int, settings: Settings,
               offset: int) -> list[Move]:
    """The moves of one operation, which the schema found well formed."""
    path: tuple[Any, ...] = ("operations", index)
    kind = op["kind"]
    wave = int(op.get("wave", index + 1))  # JSON Schema's integer includes 2.0
    compress = op.get("compress")
    counter = [offset]

    def next_id() -> str:
        counter[0] += 1
        return f"op-{counter[0]}"

    if kind in {"live", "storage"}:
        vms = _vms(parser, op, path)
        dest = op["destination"]
        dst_pool = None
        # A live move may name another pool too: LIVE-002 then reports it (storage is
        # shared only within a pool) instead of the plan failing to parse.
        if "pool" in dest:
            dst_pool = parser.pool_index(dest["pool"], (*path, "destination", "pool"))
        elif vms:
            dst_pool = vms[0].pool
        if dst_pool is None:
            return []
        hosts = parser.resolve("host", dest["host"], (*path, "destination", "host"), pool=dst_pool)
        if not hosts:
            return []
        moves = []
        storage_default, storage_map, network_map, migration_network = None, {}, {}, None
        if kind == "storage":
            storage_default, storage_map = _storage(parser, op.get("storage"), path, dst_pool, vms)
            network_map = _networks(parser, op.get("networks"), path, dst_pool, vms)
            if "migration_network" in op:
                found = parser.resolve("network", op["migration_network"],
                                       (*path, "migration_network"), pool=dst_pool)
                migration_network = found[0] if found else None
        for vm in vms:
            moves.append(Move(next_id(), kind, wave, vm=vm, dst_pool=dst_pool, dst_host=hosts[0],
                              storage_default=storage_default, storage_map=storage_map,
                              network_map=network_map, migration_network=migration_network,
                              compress=compress))
        return moves
    if kind == "vdi":
        vdi = _vdi(parser, op["vdi"], (*path, "vdi"))
        if vdi is None:
            return []
        vdi_obj, vm = vdi
        srs = parser.resolve("SR", op["destination"]["sr"], (*path, "destination", "sr"), pool=vdi_obj.pool)
        if not srs:
            return []
        return [Move(next_id(), "vdi", wave, vm=vm, dst_pool=vdi_obj.pool, vdi=vdi_obj, dst_sr=srs[0])]
    if kind == "evacuate":
        hosts = parser.resolve("host", op["host"], (*path, "host"))
        return [Move(next_id(), "evacuate", wave, host=h, dst_pool=h.pool) for h in hosts[:1]]
    # rolling-upgrade: every host in turn, master first, one wave each.
    pool = parser.pool_index(op["pool"], (*path, "pool"))
    if pool is None:
        return []
    pool_obj = parser.world.pool(pool)
    ordered = parser.world.value(pool_obj, "hosts")
    return [Move(next_id(), "evacuate", wave + i, host=h, dst_pool=pool)
            for i, h in enumerate(ordered)]


def _vms(parser: _Parser, op: dict[str, Any], path: tuple[Any, ...]) -> list[Obj]:
    out: list[Obj] = []
    for i, selector in enumerate(op["vms"]):
        for vm in parser.resolve("VM", selector, (*path, "vms", i)):
            if vm not in out:
                out.append(vm)
    pools = {vm.pool for vm in out}
    if len(pools) > 1:
        parser.error((*path, "vms"), "the VMs of one operation must come from one pool")
    return out


def _storage(parser: _Parser, raw: dict[str, Any] | None, path: tuple[Any, ...], dst_pool: int,
             vms: list[Obj]) -> tuple[Obj | None, dict[str, Obj]]:
    if raw is None:
        return None, {}  # the destination pool's default SR (the wizard's default)
    default = None
    if "default" in raw:
        found = parser.resolve("SR", raw["default"], (*path, "storage", "default"), pool=dst_pool)
        default = found[0] if found else None
    mapping: dict[str, Obj] = {}
    for key, sr_name in (raw.get("map") or {}).items():
        vdi = _vdi(parser, key, (*path, "storage", "map", key), vms=vms)
        srs = parser.resolve("SR", sr_name, (*path, "storage", "map", key), pool=dst_pool)
        if vdi and srs:
            mapping[vdi[0].ref] = srs[0]
    return default, mapping


def _networks(parser: _Parser, raw: dict[str, Any] | None, path: tuple[Any, ...], dst_pool: int,
              vms: list[Obj]) -> dict[str, Obj]:
    if raw is None:
        return {}
    mapping: dict[str, Obj] = {}
    src_pool = vms[0].pool if vms else dst_pool
    for src, dst in (raw.get("map") or {}).items():
        srcs = parser.resolve("network", src, (*path, "networks", "map", src), pool=src_pool)
        dsts = parser.resolve("network", dst, (*path, "networks", "map", src), pool=dst_pool)
        if srcs and dsts:
            mapping[srcs[0].ref] = dsts[0]
    return mapping


def _vdi(parser: _Parser, selector: Any, path: tuple[Any, ...], *,
         vms: list[Obj] | None = None) -> tuple[Obj, Obj | None] | None:
    """A disk by `uuid:…`, name, or `VM-name/userdevice`; with the VM that uses it."""
    world = parser.world
    if isinstance(selector, str) and "/" in selector and not selector.startswith("uuid:"):
        vm_sel, device = selector.rsplit("/", 1)
        found = parser.resolve("VM", vm_sel, path)
        if not found:
            return None
        vm = found[0]
        drives = [vbd for _, vbd in vm.inv.get_many("VBD", vm.record.get("VBDs", []))
                  if vm.inv.get("VDI", vbd.get("VDI"))]
        for vbd in drives:
            if str(vbd.get("userdevice")) == device:
                return world.obj(vm.pool, "VDI", vbd["VDI"]), vm
        held = sorted((str(vbd.get("userdevice")) for vbd in drives), key=_natural)
        parser.error(path, f"VM {vm_sel!r} has no disk at userdevice {device} "
                           f"({'its disks are at ' + ', '.join(held) if held else 'it has no disks'})")
        return None
    pools: list[int | None] = sorted({vm.pool for vm in vms}) if vms else [None]
    candidates = [c for pool in pools for c in parser.resolve("VDI", selector, path, pool=pool)]
    if not candidates:
        return None
    vdi = candidates[0]
    owner = None
    for _, vbd in vdi.inv.get_many("VBD", vdi.record.get("VBDs", [])):
        vm_rec = vdi.inv.get("VM", vbd.get("VM"))
        if vm_rec and is_real_vm(vm_rec):
            owner = world.obj(vdi.pool, "VM", vbd["VM"])
    return vdi, owner


# ---------------------------------------------------------------------------------
# The readiness audit: every hypothetical move, no plan
# ---------------------------------------------------------------------------------

def audit_plan(world: World) -> Plan:
    """Each running VM live to every other host of its pool, each host evacuated, each
    running VM storage-migrated to each other pool's master (default SR, same-name networks)."""
    distinct_pools(world)
    moves: list[Move] = []
    counter = 0

    def next_id() -> str:
        nonlocal counter
        counter += 1
        return f"op-{counter}"

    for pool, inv in enumerate(world.inventories):
        hosts = [world.obj(pool, "host", ref) for ref, _ in inv.all("host")]
        running = [world.obj(pool, "VM", ref) for ref, rec in inv.all("VM")
                   if is_real_vm(rec) and rec.get("power_state") == "Running"]
        for vm in running:
            here = vm.record.get("resident_on")
            targets = [host for host in hosts if host.ref != here]
            if targets:
                moves.append(Move(next_id(), "live", 1, vm=vm, dst_pool=pool, audit=True,
                                  sweep=targets))
        for host in hosts:
            moves.append(Move(next_id(), "evacuate", 1, host=host, dst_pool=pool, audit=True))
        for other, other_inv in enumerate(world.inventories):
            if other == pool or other_inv.pool_ref is None:
                continue
            master = world.value(world.pool(other), "master")
            if master is None:
                continue
            for vm in running:
                moves.append(Move(next_id(), "storage", 1, vm=vm, dst_pool=other, dst_host=master,
                                  audit=True))
    return Plan(None, moves, Settings(), None, audit=True)


# ---------------------------------------------------------------------------------
# A plan's shape alone, without inventories
# ---------------------------------------------------------------------------------

def check_syntax(path: str | Path) -> int:
    """Check a plan against schemas/plan.schema.json only, for `validate --plan` without
    inventories: names cannot be resolved, everything else is checked. Return the number of
    operations; raise PlanError listing every problem with file:line:col."""
    checked = yamlschema.load(path, "plan", PlanError)
    if not checked.readable(()):
        checked.fail(PlanError, "plan")
    checked.raise_problems(PlanError, "plan")
    operations = checked.data.get("operations")
    return len(operations) if isinstance(operations, list) else 0
