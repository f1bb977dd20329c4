"""The machinery of facts: objects seen through their facts, the cache, evidence.

A fact is a function of one XenAPI object, registered with `@fact(cls)`, computed once per
object and cached in the `World`. One that cannot be established (a field this XenServer
version lacks, a missing metrics row, a dangling reference) raises `Missing` with the
reason; a rule reading it gets `unknown` naming the fact, never `pass`.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from checker import releases
from checker.inventory import ClassGap, Inventory, Record, is_ref
from checker.releases import Release

MiB = 1024 * 1024
MCS_MARKER = "CitrixProvisioningSchemeId"
CVD_MARKERS = ("XenDesktop", "CitrixVirtualDesktops", "citrix-virtual-desktops")


class Missing(Exception):
    """A fact cannot be established; `reason` names the missing field or record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownFact(Exception):
    """Raised into a rule expression when it reads a fact that is Missing."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class FactSpec:
    cls: str
    name: str
    returns: str  # "value", a class name ("host"), or "list:<class>"
    doc: str
    compute: Callable[[Obj], Any]


#: cls -> fact name -> spec. The policy loader checks rule expressions against it.
FACTS: dict[str, dict[str, FactSpec]] = {}


def fact(cls: str, returns: str = "value", *, name: str | None = None,
         ) -> Callable[[Callable[[Obj], Any]], Callable[[Obj], Any]]:
    """Register a fact of `cls`, named after the function unless `name` says otherwise."""

    def register(fn: Callable[[Obj], Any]) -> Callable[[Obj], Any]:
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        fact_name = name or fn.__name__
        FACTS.setdefault(cls, {})[fact_name] = FactSpec(cls, fact_name, returns, doc, fn)
        return fn

    return register


_READS: ContextVar[dict[str, Any] | None] = ContextVar("fact_reads", default=None)


_DEFAULTS: ContextVar[dict[str, Any] | None] = ContextVar("fact_defaults", default=None)


def _note_defaults(defaults: dict[str, Any]) -> None:
    """Fields read as their default: for the fact being computed, and for the evidence of
    the rule evaluation under way (its `defaults` entry, beside the facts it read)."""
    computing = _DEFAULTS.get()
    if computing is not None:
        computing.update(defaults)
    reads = _READS.get()
    if reads is not None:
        reads.setdefault("defaults", {}).update(defaults)


def current_reads() -> dict[str, Any] | None:
    """The evidence dict of the rule evaluation under way, if any."""
    return _READS.get()


@contextlib.contextmanager
def recording() -> Iterator[dict[str, Any]]:
    """Record every fact read inside the block (path -> value): a finding's evidence."""
    reads: dict[str, Any] = {}
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


class World:
    """The inventories of one check and the fact cache shared by every rule evaluation."""

    def __init__(self, inventories: Iterable[Inventory]) -> None:
        self.inventories: list[Inventory] = list(inventories)
        self._cache: dict[tuple[int, str, str, str], Any] = {}
        #: Names are read for every message and evidence line: looked up once.
        self.names: dict[tuple[int, str, str], str] = {}
        self._repeated: dict[int, set[str]] = {}
        self._releases: dict[int, tuple[Release | None, tuple[int, ...] | None, str]] = {}
        #: Fact key -> the fields its computation took as defaults, with why.
        self._defaults: dict[tuple[int, str, str, str], dict[str, Any]] = {}

    def predated(self, pool: int, cls: str, name: str) -> tuple[Any, str] | None:
        """(default, why) when the pool's XAPI release predates field `cls.name` (so its XAPI
        behaved as the default), else None. The master's release: its database is the pool's."""
        if pool not in self._releases:
            inv = self.inventories[pool]
            master = inv.get("host", (inv.get("pool", inv.pool_ref or "") or {}).get("master") or "")
            if master is None:  # no pool record (a records file): its one host, if it has one
                hosts = [rec for _, rec in inv.all("host")]
                master = hosts[0] if len(hosts) == 1 else None
            sv = (master or {}).get("software_version")
            sv = sv if isinstance(sv, dict) else {}
            product = releases.product_of(sv)
            xapi = version_tuple(sv.get("xapi_build") or sv.get("xapi") or "") or None
            self._releases[pool] = (releases.release_of(master) if master else None, xapi,
                                    product.label if product else "")
        rel, xapi, label = self._releases[pool]
        if rel is None or not releases.predates(rel, cls, name, xapi):
            return None
        has_default, value = releases.default(cls, name)
        if not has_default:
            return None
        return value, releases.predated_reason(rel, cls, name, label or None)

    @property
    def has_defaults(self) -> bool:
        """Some fact so far was computed from a field taken as its default."""
        return bool(self._defaults)

    def defaults_used(self, obj: Obj, name: str) -> tuple[tuple[str, str], ...]:
        """The fields fact `name` of `obj` took as defaults, with why (hashable)."""
        used = self._defaults.get((obj.pool, obj.cls, obj.ref, name)) or {}
        return tuple(sorted((field, note["because"]) for field, note in used.items()))

    def repeated_sr_names(self, pool: int) -> set[str]:
        """SR names used more than once in the pool: the installer names every host's local
        SR "Local storage", so such names need their host to say which SR is meant."""
        repeated = self._repeated.get(pool)
        if repeated is None:
            counts = Counter(rec.get("name_label") for _, rec in self.inventories[pool].all("SR"))
            repeated = self._repeated[pool] = {name for name, n in counts.items() if n > 1}
        return repeated

    def obj(self, pool: int, cls: str, ref: str, label: str | None = None) -> Obj:
        return Obj(self, pool, cls, ref, label or cls)

    def objects(self, pool: int, cls: str) -> list[Obj]:
        return [self.obj(pool, cls, ref) for ref, _ in self.inventories[pool].all(cls)]

    def pool(self, pool: int) -> Obj:
        inv = self.inventories[pool]
        ref = inv.pool_ref
        if ref is None:
            return Obj(self, pool, "pool", "OpaqueRef:NULL", "pool")
        return self.obj(pool, "pool", ref, "pool")

    def value(self, obj: Obj, name: str) -> Any:
        """The fact's value (cached), or raise Missing. The fields it took as defaults (a
        release older than them) go with it into the evidence, on every read."""
        key = (obj.pool, obj.cls, obj.ref, name)
        try:
            cached = self._cache[key]
        except KeyError:
            spec = FACTS[obj.cls][name]
            token = _DEFAULTS.set({})
            try:
                cached = spec.compute(obj)
            except Missing as exc:
                cached = exc
            except ClassGap as exc:  # read from a class not collected: unknown, never empty
                cached = Missing(f"{exc.cls} was not collected ({exc.reason})")
            finally:
                used = _DEFAULTS.get()
                _DEFAULTS.reset(token)
            self._cache[key] = cached
            if used:
                self._defaults[key] = used
        if self._defaults and key in self._defaults:
            _note_defaults(self._defaults[key])
        if isinstance(cached, Missing):
            raise cached
        return cached


def _local_sr_name(sr: Obj, rec: Record, name: str) -> str:
    """`Local storage (xs37)` for an SR plugged into one host only; a shared SR whose name
    repeats keeps it (its uuid tells it apart in the results)."""
    inv = sr.world.inventories[sr.pool]
    hosts = {(inv.get("PBD", ref) or {}).get("host") for ref in rec.get("PBDs") or []}
    if len(hosts) != 1 or rec.get("shared") is True:
        return name
    host = inv.get("host", hosts.pop() or "")
    return f"{name} ({host['name_label']})" if host and host.get("name_label") else name


class Obj:
    """A XenAPI object seen through its facts: `vm.power_state`, `dst_host.free_memory`."""

    __slots__ = ("cls", "key", "label", "pool", "ref", "world")

    def __init__(self, world: World, pool: int, cls: str, ref: str, label: str) -> None:
        self.world = world
        self.pool = pool
        self.cls = cls
        self.ref = ref
        self.label = label
        #: Identity across labels: (pool index, class, ref).
        self.key: tuple[int, str, str] = (pool, cls, ref)

    # -- identity -----------------------------------------------------------------
    @property
    def record(self) -> Record:
        rec = self.world.inventories[self.pool].get(self.cls, self.ref)
        if rec is None:
            raise Missing(f"{self.cls} {self.ref} is not in the inventory")
        return rec

    @property
    def inv(self) -> Inventory:
        return self.world.inventories[self.pool]

    @property
    def uuid(self) -> str:
        return str(self.record.get("uuid", ""))

    @property
    def name(self) -> str:
        names = self.world.names
        name = names.get(self.key)
        if name is None:
            rec = self.world.inventories[self.pool].get(self.cls, self.ref) or {}
            name = str(rec.get("name_label") or rec.get("device") or rec.get("uuid") or self.ref)
            if self.cls == "SR" and name in self.world.repeated_sr_names(self.pool):
                name = _local_sr_name(self, rec, name)
            names[self.key] = name
        return name

    def with_label(self, label: str) -> Obj:
        twin = Obj.__new__(Obj)
        twin.world, twin.pool, twin.cls, twin.ref, twin.key = (
            self.world, self.pool, self.cls, self.ref, self.key)
        twin.label = label
        return twin

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Obj) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"<{self.cls} {self.name!r}>"

    def __str__(self) -> str:
        return self.name

    # -- facts --------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        specs = FACTS.get(self.cls, {})
        if name not in specs:
            raise AttributeError(f"{self.cls} has no fact {name!r}")
        path = f"{self.label}.{name}"
        reads = _READS.get()
        try:
            value = self.world.value(self, name)
        except Missing as exc:
            if reads is not None:
                reads[path] = None
            raise UnknownFact(path, exc.reason) from None
        if isinstance(value, Obj):
            value = value.with_label(path)
        if reads is not None:
            reads[path] = value  # raw: made JSON-friendly only for the findings that are written
        return value

    # -- helpers for fact functions -----------------------------------------------
    def field(self, name: str) -> Any:
        """A raw field. One the pool's XAPI release predates reads as the datamodel's default,
        as that XAPI behaved (the evidence says so); else a missing field is Missing."""
        rec = self.record
        if name in rec:
            return rec[name]
        predated = self.world.predated(self.pool, self.cls, name)
        if predated is None:
            raise Missing(f"{self.cls}.{name} is not in the inventory")
        value, reason = predated
        _note_defaults({f"{self.cls}.{name}": {"value": value, "because": reason}})
        return value

    def link(self, cls: str, field_name: str, *, required: bool = True) -> Obj | None:
        """Follow a ref field to its object; a null ref gives None, a dangling one Missing."""
        ref = self.record.get(field_name)
        if not is_ref(ref):
            if required and field_name not in self.record:
                raise Missing(f"{self.cls}.{field_name} is not in the inventory")
            return None
        if self.inv.get(cls, ref) is None:
            raise Missing(f"{self.cls}.{field_name} points at {cls} {ref}, which is not in "
                          f"the inventory")
        return self.world.obj(self.pool, cls, ref, f"{cls}[{self.inv.get(cls, ref).get('name_label', ref)}]")

    def target(self, cls: str, field_name: str) -> Obj:
        """Follow a ref field that must name an object: null or dangling is Missing."""
        found = self.link(cls, field_name)
        if found is None:
            raise Missing(f"{self.cls}.{field_name} is null")
        return found

    def links(self, cls: str, field_name: str) -> list[Obj]:
        """Objects of a ref-set field; dangling members are skipped (they are gaps)."""
        return [self.world.obj(self.pool, cls, ref, f"{cls}[{rec.get('name_label') or rec.get('uuid')}]")
                for ref, rec in self.inv.get_many(cls, self.record.get(field_name, []))]


def evidence_value(value: Any) -> Any:
    """A JSON-friendly rendering of a fact value for a finding's evidence."""
    from checker.scope import PlanFacts  # scope imports this module lazily: no cycle

    if isinstance(value, (Obj, PlanFacts)):  # a plan item (sr_demand, disk_move…) by its name
        return value.name
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [evidence_value(v) for v in value]
        if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
            return ".".join(map(str, value))
        return items[:50]
    if isinstance(value, dict):
        return {str(k): evidence_value(v) for k, v in list(value.items())[:50]}
    return value


# ---------------------------------------------------------------------------------
# Parsing helpers (XML-RPC strings into numbers, versions, CPU feature words)
# ---------------------------------------------------------------------------------

def as_int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Missing(f"{what} is not a number ({value!r})") from None


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "1", "yes", "on"}


def version_tuple(text: Any) -> tuple[int, ...]:
    """XAPI's version order (helpers.ml): keep the first two '-' parts, integers only.

    "4.17.3-4" -> (4, 17, 3, 4); "3.2.1" -> (3, 2, 1).
    """
    parts = str(text).split("-")[:2]
    out: list[int] = []
    for part in parts:
        out.extend(int(p) for p in part.split(".") if p.isdigit())
    return tuple(out)


def cpu_words(features: str) -> list[int]:
    """CPU feature string "0098e3fd-bfebfbff-…" as 32-bit words."""
    return [int(w, 16) for w in features.split("-") if w]


def features_subset(vm_features: str, host_features: str) -> bool:
    """XAPI's cpuid test: the VM's words, zero-extended, have no bit the host lacks."""
    vm, host = cpu_words(vm_features), cpu_words(host_features)
    host += [0] * max(0, len(vm) - len(host))
    return all(v & ~h == 0 for v, h in zip(vm, host, strict=False))


def round_up_mib(n: int) -> int:
    return -(-n // MiB) * MiB


def _identity_facts(cls: str) -> None:
    """Every class gets `name` and `uuid` facts."""
    FACTS.setdefault(cls, {})
    FACTS[cls].setdefault("name", FactSpec(cls, "name", "value", f"The {cls}'s name.",
                                           lambda o: o.name))
    FACTS[cls].setdefault("uuid", FactSpec(cls, "uuid", "value", f"The {cls}'s uuid.",
                                           lambda o: str(o.field("uuid"))))



def _has_marker(rec: Record, markers: tuple[str, ...]) -> bool:
    tags = [str(t) for t in rec.get("tags") or []]
    other = rec.get("other_config") or {}
    return any(m in t for m in markers for t in tags) or any(m in other for m in markers)



def is_real_vm(vm: Record) -> bool:
    """A guest VM: not a template, snapshot or control domain."""
    return not (vm.get("is_a_template") or vm.get("is_a_snapshot") or vm.get("is_control_domain"))

