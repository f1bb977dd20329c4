"""Facts about XenAPI objects: the one module that knows XAPI's quirks.

Rules never read raw records; they read facts, computed here once per object and
cached. A fact that cannot be established (a field this XenServer version lacks, a
missing metrics row, a dangling reference) raises `Missing` with the reason; reading
it from a rule yields `unknown` naming the fact, never `pass`.

Where XAPI itself decides (free memory, CPU features, versions, on-boot=reset), the
computation follows XAPI's, with the source named in the docstring (see
../shared/design/xapi-checks.md for the field-by-field notes).
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from checker.inventory import ClassGap, Inventory, Record, is_ref

MiB = 1024 * 1024

LINUX_DISTROS = frozenset({
    "centos", "rhel", "redhat", "debian", "ubuntu", "sles", "suse", "opensuse", "oracle",
    "oel", "fedora", "rocky", "almalinux", "alma", "coreos", "gentoo", "linux", "scientific",
    "xe-phy", "mandriva", "turbo", "asianux", "neokylin", "yinhe", "kylin",
})
MCS_MARKER = "CitrixProvisioningSchemeId"
CVD_MARKERS = ("XenDesktop", "CitrixVirtualDesktops", "citrix-virtual-desktops")
SPECIAL_VDI_TYPES = frozenset({"ha_statefile", "redo_log", "metadata", "cbt_metadata"})
HOTFIX_PORT80 = "XS82ECU1033"


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
        """The fact's value (cached), or raise Missing."""
        key = (obj.pool, obj.cls, obj.ref, name)
        try:
            cached = self._cache[key]
        except KeyError:
            spec = FACTS[obj.cls][name]
            try:
                cached = spec.compute(obj)
            except Missing as exc:
                cached = exc
            except ClassGap as exc:  # read from a class not collected: unknown, never empty
                cached = Missing(f"{exc.cls} was not collected ({exc.reason})")
            self._cache[key] = cached
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
        """A raw field that must exist: Missing names it when this version lacks it."""
        rec = self.record
        if name not in rec:
            raise Missing(f"{self.cls}.{name} is not in the inventory (older XenServer?)")
        return rec[name]

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


# ---------------------------------------------------------------------------------
# pool
# ---------------------------------------------------------------------------------

@fact("pool", name="name")
def pool_name(o: Obj) -> str:
    """The pool's name (or its master's when the pool is unnamed, as XenCenter shows it)."""
    label = o.record.get("name_label")
    if label:
        return str(label)
    master = o.link("host", "master", required=False)
    return master.name if master else o.inv.origin


@fact("pool", "host")
def master(o: Obj) -> Obj | None:
    """The pool master."""
    return o.link("host", "master")


@fact("pool", "list:host")
def hosts(o: Obj) -> list[Obj]:
    """Every host of the pool, master first (the rolling-upgrade order)."""
    every = o.world.objects(o.pool, "host")
    m = o.record.get("master")
    return sorted(every, key=lambda h: (h.ref != m, h.name))


@fact("pool")
def ha_enabled(o: Obj) -> bool:
    """High availability is on."""
    return as_bool(o.field("ha_enabled"))


@fact("pool")
def ha_allow_overcommit(o: Obj) -> bool:
    """HA may overcommit (XAPI then does not refuse moves that break the plan)."""
    return as_bool(o.field("ha_allow_overcommit"))


@fact("pool")
def ha_overcommitted(o: Obj) -> bool:
    """The pool is already HA-overcommitted."""
    return as_bool(o.field("ha_overcommitted"))


@fact("pool")
def ha_plan_exists(o: Obj) -> bool:
    """A failover plan exists: ha_plan_exists_for >= ha_host_failures_to_tolerate > 0."""
    tolerate = as_int(o.field("ha_host_failures_to_tolerate"), "pool.ha_host_failures_to_tolerate")
    plan = as_int(o.field("ha_plan_exists_for"), "pool.ha_plan_exists_for")
    return tolerate > 0 and plan >= tolerate


@fact("pool")
def migration_compression(o: Obj) -> bool:
    """Migration stream compression is on for the pool (field since xapi 22.33)."""
    return as_bool(o.field("migration_compression"))


@fact("pool", "SR")
def default_sr(o: Obj) -> Obj | None:
    """The pool's default SR (the wizard's "all disks to one SR" choice)."""
    return o.link("SR", "default_SR")


@fact("pool")
def restrict_xen_motion(o: Obj) -> bool:
    """The licence forbids live migration (`restrictions.restrict_xen_motion`)."""
    return _restriction(o, "restrict_xen_motion")


@fact("pool")
def restrict_storage_xen_motion(o: Obj) -> bool:
    """The licence forbids storage live migration."""
    return _restriction(o, "restrict_storage_xen_motion")


def _restriction(o: Obj, key: str) -> bool:
    restrictions = o.record.get("restrictions")
    if isinstance(restrictions, dict) and key in restrictions:
        return as_bool(restrictions[key])
    # Older pools keep the licence in each host's license_params (XenCenter reads those).
    values = [h.get("license_params", {}).get(key) for _, h in o.inv.all("host")]
    if values and all(v is not None for v in values):
        return any(as_bool(v) for v in values)
    raise Missing(f"pool.restrictions has no {key} (nor do the hosts' license_params)")


@fact("pool")
def cvd_declared(o: Obj) -> bool:
    """Citrix Virtual Desktops markers on the pool (tags or other_config)."""
    return _has_marker(o.record, (*CVD_MARKERS, MCS_MARKER))


@fact("pool", name="product")
def pool_product(o: Obj) -> str:
    """The product of the master, e.g. "Citrix Hypervisor 8.2 CU1"."""
    m = o.link("host", "master")
    if m is None:
        raise Missing("pool.master is null")
    return o.world.value(m, "product")


# ---------------------------------------------------------------------------------
# host
# ---------------------------------------------------------------------------------

@fact("host")
def version(o: Obj) -> tuple[int, ...]:
    """`software_version.platform_version` as an integer tuple (what XAPI compares)."""
    sv = o.field("software_version")
    if "platform_version" not in sv:
        raise Missing("host.software_version has no platform_version (XenServer before 6.0?)")
    return version_tuple(sv["platform_version"])


@fact("host")
def xapi_build(o: Obj) -> tuple[int, ...] | None:
    """`software_version.xapi_build` (else `xapi`) as a tuple; None when not reported."""
    sv = o.field("software_version")
    raw = sv.get("xapi_build") or sv.get("xapi")
    return version_tuple(raw) if raw else None


@fact("host")
def xen(o: Obj) -> tuple[int, ...] | None:
    """`software_version.xen` as a tuple; None when not reported."""
    raw = o.field("software_version").get("xen")
    return version_tuple(raw) if raw else None


@fact("host")
def product_version(o: Obj) -> tuple[int, ...]:
    """`software_version.product_version` as a tuple (7.1.2 is 7.1 CU2, 8.2.1 is 8.2 CU1)."""
    sv = o.field("software_version")
    if "product_version" not in sv:
        raise Missing("host.software_version has no product_version")
    return version_tuple(sv["product_version"])


@fact("host", name="product")
def host_product(o: Obj) -> str:
    """The product label: "XenServer 8", "Citrix Hypervisor 8.2 CU1", "XenServer 7.1 CU2"…"""
    sv = o.field("software_version")
    pv = version_tuple(sv.get("product_version", ""))
    platform = version_tuple(sv.get("platform_version", ""))
    # Decided on the numbers: product_version when reported, else platform_version
    # (CH 8.1 is platform 3.1.0, so a (3, 1) prefix alone does not mean 8.2).
    if pv[:2] == (8, 4) or (not pv and platform[:2] == (3, 4)):
        return "XenServer 8"
    if pv[:2] == (8, 2) or (not pv and (3, 1, 50) <= platform[:3] < (3, 3)):
        cu = max(pv[2] if len(pv) > 2 else 0, 1 if platform[:3] == (3, 2, 1) else 0)
        return "Citrix Hypervisor 8.2" + (f" CU{cu}" if cu else "")
    brand = sv.get("product_brand") or "XenServer"
    text = sv.get("product_version_text_short") or sv.get("product_version_text")
    if not text and pv:
        # No text fields (5.6 FP1 beta 5.6.900): show the number, not "5.6 CU900".
        text = ".".join(map(str, pv))
    if not text:
        raise Missing("host.software_version has no product_version")
    return f"{brand} {text}"


@fact("host")
def is_ch82cu1(o: Obj) -> bool:
    """The host runs Citrix Hypervisor 8.2 CU1 (product 8.2.1 / platform 3.2.1)."""
    sv = o.field("software_version")
    pv = version_tuple(sv.get("product_version", ""))
    platform = version_tuple(sv.get("platform_version", ""))
    if not pv and not platform:
        raise Missing("host.software_version has neither product_version nor platform_version")
    return pv[:3] == (8, 2, 1) or platform[:3] == (3, 2, 1)


@fact("host")
def is_xs71cu2(o: Obj) -> bool:
    """The host runs XenServer 7.1 CU2 (product 7.1.2)."""
    return product_version(o)[:3] == (7, 1, 2)


@fact("host")
def updates(o: Obj) -> list[str]:
    """Names of the installed updates and legacy patches (`XS82ECU1033`…)."""
    rec = o.record
    if "updates" not in rec and "patches" not in rec:
        raise Missing("host has neither updates nor patches")
    for field_name, cls in (("updates", "pool_update"), ("patches", "host_patch")):
        refs = [r for r in rec.get(field_name) or [] if is_ref(r)]
        if len(o.inv.get_many(cls, refs)) < len(refs):
            raise Missing(f"host.{field_name} names {cls} records that are not in the inventory")
    names = [u.get("name_label", "") for _, u in o.inv.get_many("pool_update", rec.get("updates", []))]
    for _, hp in o.inv.get_many("host_patch", rec.get("patches", [])):
        patch = o.inv.get("pool_patch", hp.get("pool_patch"))
        if patch and as_bool(hp.get("applied", True)):
            names.append(patch.get("name_label", ""))
    return sorted({n for n in names if n})


@fact("host")
def has_port80_hotfix(o: Obj) -> bool:
    """XS82ECU1033 is installed (the port-80 / HTTPS-migration hotfix for 8.2 CU1)."""
    return HOTFIX_PORT80 in updates(o)


@fact("host")
def https_only(o: Obj) -> bool | None:
    """Port 80 is closed on the management interface (`host.https_only`, xapi >= 22.27).

    None where the field does not exist (the catalogue's definition): such a xapi
    cannot close port 80, so it is open; rules treat None as open, not as unknown.
    """
    if "https_only" not in o.record:
        return None
    return as_bool(o.record["https_only"])


@fact("host")
def live(o: Obj) -> bool:
    """The host is alive (`host_metrics.live`)."""
    metrics = o.link("host_metrics", "metrics")
    if metrics is None:
        raise Missing("host.metrics is null")
    return as_bool(metrics.field("live"))


@fact("host")
def enabled(o: Obj) -> bool:
    """The host accepts VMs (`host.enabled`; false while in maintenance mode)."""
    return as_bool(o.field("enabled"))


@fact("host")
def memory_total(o: Obj) -> int:
    """`host_metrics.memory_total` in bytes."""
    metrics = o.link("host_metrics", "metrics")
    if metrics is None:
        raise Missing("host.metrics is null")
    return as_int(metrics.field("memory_total"), "host_metrics.memory_total")


@fact("host")
def free_memory(o: Obj) -> int:
    """Free memory as XAPI computes it (memory_check.ml), not host_metrics.memory_free.

    memory_total − host.memory_overhead − Σ over resident or scheduled VMs (control
    domain included) of (memory_dynamic_min + memory_overhead), clamped at 0.
    """
    total = memory_total(o)
    overhead = as_int(o.field("memory_overhead"), "host.memory_overhead")
    used = 0
    for vm_ref, vm in o.inv.all("VM"):
        if vm.get("resident_on") == o.ref or vm.get("scheduled_to_be_resident_on") == o.ref:
            vm_obj = o.world.obj(o.pool, "VM", vm_ref)
            used += o.world.value(vm_obj, "memory_footprint")
    return max(0, total - overhead - used)


@fact("host")
def cpu_vendor(o: Obj) -> str:
    """`cpu_info.vendor` (GenuineIntel, AuthenticAMD)."""
    info = o.field("cpu_info")
    if not info.get("vendor"):
        raise Missing("host.cpu_info has no vendor")
    return str(info["vendor"])


@fact("host")
def cpu_features_hvm(o: Obj) -> str:
    """`cpu_info.features_hvm`: what an HVM/PVH guest may use on this host."""
    return _cpu_info_key(o, "features_hvm")


@fact("host")
def cpu_features_pv(o: Obj) -> str:
    """`cpu_info.features_pv`: what a PV guest may use on this host."""
    return _cpu_info_key(o, "features_pv")


def _cpu_info_key(o: Obj, key: str) -> str:
    info = o.field("cpu_info")
    if not info.get(key):
        raise Missing(f"host.cpu_info has no {key} (XenServer before 7.x reports only 'features')")
    return str(info[key])


@fact("host")
def management_nic_speed(o: Obj) -> int:
    """Speed of the management PIF in bit/s (`PIF_metrics.speed` is in Mbit/s)."""
    for _, pif in o.inv.get_many("PIF", o.record.get("PIFs", [])):
        if as_bool(pif.get("management", False)):
            metrics = o.inv.get("PIF_metrics", pif.get("metrics"))
            if metrics is None or not str(metrics.get("speed", "")).isdigit():
                raise Missing("the management PIF has no PIF_metrics.speed")
            speed = int(metrics["speed"])
            if speed <= 0 or speed in {0xFFFF, 0xFFFFFFFF}:  # ethtool SPEED_UNKNOWN (u16/u32 -1)
                raise Missing(f"the management PIF reports speed {speed} (unknown)")
            return speed * 1_000_000
    raise Missing("no management PIF on this host in the inventory")


@fact("host", "list:SR")
def attached_srs(o: Obj) -> list[Obj]:
    """SRs with a currently attached PBD on this host (what a VM here can see)."""
    out = []
    for _, pbd in o.inv.all("PBD"):
        if pbd.get("host") == o.ref and as_bool(pbd.get("currently_attached", False)):
            sr = o.inv.get("SR", pbd.get("SR"))
            if sr is not None:
                out.append(o.world.obj(o.pool, "SR", pbd["SR"]))
    return out


@fact("host", "list:network")
def networks(o: Obj) -> list[Obj]:
    """Networks a VM on this host can use: XAPI's network-attach rule (B8).

    A network with a PIF on this host; or with no PIFs at all and either
    `other_config.assume_network_is_shared` or unmanaged. (Internal networks with
    running VMs elsewhere are not counted: they pin their VMs.)
    """
    out = []
    for net_ref, net in o.inv.all("network"):
        pifs = [p for _, p in o.inv.get_many("PIF", net.get("PIFs", []))]
        if pifs:
            if any(p.get("host") == o.ref for p in pifs):
                out.append(o.world.obj(o.pool, "network", net_ref))
        elif (as_bool((net.get("other_config") or {}).get("assume_network_is_shared", "false"))
              or net.get("managed") is False):
            out.append(o.world.obj(o.pool, "network", net_ref))
        else:
            vms_elsewhere = [
                v for _, vif in o.inv.get_many("VIF", net.get("VIFs", []))
                if (v := o.inv.get("VM", vif.get("VM"))) and v.get("power_state") == "Running"
                and v.get("resident_on") != o.ref
            ]
            if not vms_elsewhere:
                out.append(o.world.obj(o.pool, "network", net_ref))
    return out


@fact("host")
def is_master(o: Obj) -> bool:
    """This host is its pool's master."""
    pool = o.world.pool(o.pool)
    return pool.record.get("master") == o.ref


@fact("host", "list:VM")
def resident_vms(o: Obj) -> list[Obj]:
    """Guest VMs running or paused here (control domains excluded), largest first."""
    vms = [o.world.obj(o.pool, "VM", ref) for ref, vm in o.inv.all("VM")
           if vm.get("resident_on") == o.ref and is_real_vm(vm)
           and vm.get("power_state") in {"Running", "Paused"}]
    return sorted(vms, key=lambda v: (-_footprint_or_zero(v), v.name))


def _footprint_or_zero(vm: Obj) -> int:
    try:
        return vm.world.value(vm, "memory_footprint")
    except Missing:
        return 0


@fact("host", "list:PGPU")
def pgpus(o: Obj) -> list[Obj]:
    """Physical GPUs of this host."""
    return [o.world.obj(o.pool, "PGPU", ref) for ref, p in o.inv.all("PGPU") if p.get("host") == o.ref]


# ---------------------------------------------------------------------------------
# SR, VDI, network
# ---------------------------------------------------------------------------------

def _identity_facts(cls: str) -> None:
    """Every class gets `name` and `uuid` facts."""
    FACTS.setdefault(cls, {})
    FACTS[cls].setdefault("name", FactSpec(cls, "name", "value", f"The {cls}'s name.",
                                           lambda o: o.name))
    FACTS[cls].setdefault("uuid", FactSpec(cls, "uuid", "value", f"The {cls}'s uuid.",
                                           lambda o: str(o.field("uuid"))))


@fact("SR", name="type")
def sr_type(o: Obj) -> str:
    """The SR driver type (lvm, ext, nfs, lvmoiscsi, gfs2, iso…)."""
    return str(o.field("type"))


@fact("SR")
def shared(o: Obj) -> bool:
    """The SR is shared by the pool's hosts."""
    return as_bool(o.field("shared"))


@fact("SR")
def free(o: Obj) -> int:
    """Free bytes: physical_size − physical_utilisation."""
    size = as_int(o.field("physical_size"), "SR.physical_size")
    used = as_int(o.field("physical_utilisation"), "SR.physical_utilisation")
    if size <= 0:
        raise Missing("SR.physical_size is 0 (not reported by this SR)")
    return max(0, size - used)


@fact("SR")
def is_iso(o: Obj) -> bool:
    """An ISO library (content_type iso, or type iso/udev)."""
    rec = o.record
    return rec.get("content_type") == "iso" or rec.get("type") in {"iso", "udev"}


@fact("SR")
def is_gfs2(o: Obj) -> bool:
    """A clustered GFS2 SR (storage live migration is not supported from it)."""
    return sr_type(o) == "gfs2"


@fact("SR", "list:host")
def attached_on(o: Obj) -> list[Obj]:
    """Hosts with a currently attached PBD for this SR."""
    return [o.world.obj(o.pool, "host", pbd["host"])
            for _, pbd in o.inv.get_many("PBD", o.record.get("PBDs", []))
            if as_bool(pbd.get("currently_attached", False)) and o.inv.get("host", pbd.get("host"))]


def _sm_caps(o: Obj) -> set[str]:
    driver = sr_type(o)
    for _, sm in o.inv.all("SM"):
        if sm.get("type") == driver:
            features = sm.get("features")
            if isinstance(features, dict) and features:
                return set(features)
            return set(sm.get("capabilities") or [])
    if not o.inv.has_class("SM"):
        raise Missing("the inventory has no SM table")
    raise Missing(f"no SM driver record for SR type {driver!r}")


@fact("SR")
def supports_migration(o: Obj) -> bool:
    """Disks can be mirrored out of it: SM has VDI_SNAPSHOT and VDI_MIRROR (XAPI D3)."""
    if is_iso(o):
        return False
    caps = _sm_caps(o)
    return {"VDI_SNAPSHOT", "VDI_MIRROR"} <= caps


@fact("SR")
def accepts_migration(o: Obj) -> bool:
    """Disks can be mirrored into it: VDI_SNAPSHOT and VDI_MIRROR_IN (or VDI_MIRROR)."""
    if is_iso(o):
        return False
    caps = _sm_caps(o)
    return "VDI_SNAPSHOT" in caps and bool({"VDI_MIRROR", "VDI_MIRROR_IN"} & caps)


@fact("SR")
def read_only(o: Obj) -> bool:
    """Every PBD is read-only, or the SR says so in sm_config."""
    sm_config = o.record.get("sm_config") or {}
    return as_bool(sm_config.get("read-only", "false"))


@fact("VDI")
def virtual_size(o: Obj) -> int:
    """The disk's virtual size in bytes."""
    return as_int(o.field("virtual_size"), "VDI.virtual_size")


@fact("VDI")
def physical_size(o: Obj) -> int:
    """Bytes the disk really uses (`physical_utilisation`)."""
    return as_int(o.field("physical_utilisation"), "VDI.physical_utilisation")


@fact("VDI", "SR")
def sr(o: Obj) -> Obj | None:
    """The SR holding this disk."""
    return o.link("SR", "SR")


@fact("VDI")
def cbt_enabled(o: Obj) -> bool:
    """Changed block tracking is on (`VDI.cbt_enabled`, XenServer 7.3 and later)."""
    return as_bool(o.field("cbt_enabled"))


@fact("VDI")
def on_boot_reset(o: Obj) -> bool:
    """`VDI.on_boot == "reset"`: the field storage migration refuses (XAPI D8)."""
    return o.field("on_boot") == "reset"


@fact("VDI")
def on_boot_reset_cached(o: Obj) -> bool:
    """sm_config on_boot=reset with IntelliCache caching: what live migration refuses (A9)."""
    sm_config = o.field("sm_config")
    return sm_config.get("on_boot") == "reset" and str(sm_config.get("caching", "")).lower() in {
        "1", "true"}


@fact("VDI")
def vdi_type(o: Obj) -> str:
    """`VDI.type` (user, system, suspend, ha_statefile, metadata, cbt_metadata…)."""
    return str(o.field("type"))


@fact("VDI")
def is_special(o: Obj) -> bool:
    """An HA statefile, redo log, pool metadata or CBT metadata disk (never moved)."""
    return vdi_type(o) in SPECIAL_VDI_TYPES


@fact("VDI")
def is_a_snapshot(o: Obj) -> bool:
    """The disk is a snapshot."""
    return as_bool(o.field("is_a_snapshot"))


@fact("VDI")
def encrypted(o: Obj) -> bool:
    """The disk is encrypted (`sm_config.key_hash`)."""
    return "key_hash" in o.field("sm_config")


@fact("VDI")
def mcs(o: Obj) -> bool:
    """Created by Machine Creation Services (CitrixProvisioningSchemeId tag or key)."""
    return _has_marker(o.record, (MCS_MARKER,))


@fact("VDI")
def snapshot_count(o: Obj) -> int:
    """Number of snapshots of this disk."""
    return len(o.record.get("snapshots") or [])


@fact("VDI")
def attached(o: Obj) -> bool:
    """Some VBD of a VM holds this disk."""
    return bool(o.inv.get_many("VBD", o.record.get("VBDs", [])))


@fact("network")
def is_management(o: Obj) -> bool:
    """The network carries a host's management interface."""
    pifs = o.inv.get_many("PIF", o.record.get("PIFs", []))
    return any(as_bool(p.get("management", False)) for _, p in pifs)


@fact("network")
def is_sriov(o: Obj) -> bool:
    """An SR-IOV network (its PIFs are SR-IOV logical PIFs)."""
    return any(p.get("sriov_logical_PIF_of") for _, p in o.inv.get_many("PIF", o.record.get("PIFs", [])))


@fact("network", "list:host")
def hosts_with_ip(o: Obj) -> list[Obj]:
    """Hosts where this network has an attached PIF with an IP address (XAPI C6/D17)."""
    out = []
    for _, pif in o.inv.get_many("PIF", o.record.get("PIFs", [])):
        has_ip = pif.get("IP") or [a for a in pif.get("IPv6", []) if a]
        if as_bool(pif.get("currently_attached", False)) and has_ip and o.inv.get("host", pif.get("host")):
            out.append(o.world.obj(o.pool, "host", pif["host"]))
    return out


# ---------------------------------------------------------------------------------
# VM
# ---------------------------------------------------------------------------------

def is_real_vm(vm: Record) -> bool:
    """A guest VM: not a template, snapshot or control domain."""
    return not (vm.get("is_a_template") or vm.get("is_a_snapshot") or vm.get("is_control_domain"))


def _guest_metrics(o: Obj) -> Record | None:
    """The VM's guest metrics, None when the guest agent never reported (null ref)."""
    gm = o.link("VM_guest_metrics", "guest_metrics", required=False)
    return gm.record if gm else None


def _vm_metrics(o: Obj) -> Record | None:
    m = o.link("VM_metrics", "metrics", required=False)
    return m.record if m else None


@fact("VM")
def power_state(o: Obj) -> str:
    """Running, Halted, Suspended or Paused."""
    return str(o.field("power_state"))


@fact("VM")
def is_windows(o: Obj) -> bool:
    """Windows guest, as XenCenter decides (VM.IsWindows) and XAPI (distro "windows")."""
    gm = _guest_metrics(o)
    osv = (gm or {}).get("os_version") or {}
    distro = str(osv.get("distro", "")).lower()
    if distro == "windows":
        return True
    if distro in LINUX_DISTROS or "netscaler" in str(osv.get("uname", "")).lower():
        return False
    if distro:
        return False
    if "Microsoft" in str(osv.get("name", "")):
        return True
    rec = o.record
    hvm = rec.get("HVM_boot_policy") or rec.get("domain_type") == "hvm"
    if "platform" not in rec:
        raise Missing("VM.platform is not in the inventory")
    return bool(hvm) and as_bool((rec.get("platform") or {}).get("viridian", "false"))


@fact("VM")
def tools_installed(o: Obj) -> bool:
    """XenServer VM Tools present: I/O drivers, and for Windows the management agent.

    PV_drivers_detected where the field exists (7.0+), else XAPI's own test: a
    PV_drivers_version with integer major and minor. A running VM with no guest
    metrics at all has no agent; a halted VM's metrics are not current (unknown).
    """
    gm = _guest_metrics(o)
    if gm is None:
        if power_state(o) in {"Running", "Paused"}:
            return False
        raise Missing("the VM is not running, so its guest agent does not report")
    if "PV_drivers_detected" in gm:
        drivers = as_bool(gm["PV_drivers_detected"])
    else:
        version_map = gm.get("PV_drivers_version") or {}
        drivers = str(version_map.get("major", "")).isdigit() and str(version_map.get("minor", "")).isdigit()
    if drivers and is_windows(o) and "PV_drivers_detected" in gm:
        agent = (gm.get("other") or {}).get("feature-static-ip-setting", "0")
        return agent not in {"0", "", None}
    return bool(drivers)


@fact("VM")
def tools_version(o: Obj) -> str:
    """PV_drivers_version as major.minor.micro (display only)."""
    gm = _guest_metrics(o)
    version_map = (gm or {}).get("PV_drivers_version") or {}
    parts = [version_map.get(k) for k in ("major", "minor", "micro") if version_map.get(k)]
    if not parts:
        raise Missing("VM_guest_metrics.PV_drivers_version is empty")
    return ".".join(parts)


@fact("VM")
def kernel_version(o: Obj) -> tuple[int, ...]:
    """The guest kernel from `os_version.uname` ("2.6.32-5-amd64" -> (2, 6, 32))."""
    gm = _guest_metrics(o)
    uname = ((gm or {}).get("os_version") or {}).get("uname")
    if not uname:
        raise Missing("VM_guest_metrics.os_version has no uname")
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", str(uname))
    if not match:
        raise Missing(f"cannot read a kernel version from uname {uname!r}")
    return tuple(int(g) for g in match.groups() if g is not None)


@fact("VM")
def ipv6_addresses(o: Obj) -> list[str]:
    """IPv6 addresses the guest agent reports (`networks` keys `<n>/ipv6/<i>`)."""
    gm = _guest_metrics(o)
    if gm is None:
        raise Missing("the VM has no guest metrics (no guest agent)")
    return sorted(v for k, v in (gm.get("networks") or {}).items() if "/ipv6/" in k)


@fact("VM")
def memory_footprint(o: Obj) -> int:
    """What XAPI reserves on a host: dynamic_min (static_max for pv_in_pvh) + overhead, in MiB."""
    rec = o.record
    base_field = "memory_static_max" if rec.get("domain_type") == "pv_in_pvh" else "memory_dynamic_min"
    base = as_int(o.field(base_field), f"VM.{base_field}")
    overhead = as_int(o.field("memory_overhead"), "VM.memory_overhead")
    return round_up_mib(base) + round_up_mib(overhead)


@fact("VM")
def memory_static_max(o: Obj) -> int:
    """The VM's maximum memory in bytes."""
    return as_int(o.field("memory_static_max"), "VM.memory_static_max")


@fact("VM")
def domain_type(o: Obj) -> str:
    """hvm, pv, pvh or pv_in_pvh: VM_metrics.current_domain_type when live, else VM.domain_type."""
    if power_state(o) != "Halted":
        current = (_vm_metrics(o) or {}).get("current_domain_type")
        if current and current != "unspecified":
            return str(current)
    rec = o.record
    if rec.get("domain_type") and rec["domain_type"] != "unspecified":
        return str(rec["domain_type"])
    # Before 7.5 the type is implied by the boot policy.
    if "HVM_boot_policy" in rec:
        return "hvm" if rec["HVM_boot_policy"] else "pv"
    raise Missing("neither VM.domain_type nor VM.HVM_boot_policy is in the inventory")


@fact("VM", name="cpu_vendor")
def vm_cpu_vendor(o: Obj) -> str:
    """The CPU vendor the VM booted on (`last_boot_CPU_flags.vendor`)."""
    flags = o.field("last_boot_CPU_flags")
    if not flags.get("vendor"):
        raise Missing("VM.last_boot_CPU_flags has no vendor (the VM has not booted on this version)")
    return str(flags["vendor"])


@fact("VM")
def cpu_features(o: Obj) -> str:
    """The CPU features the VM booted with (`last_boot_CPU_flags.features`)."""
    flags = o.field("last_boot_CPU_flags")
    if not flags.get("features"):
        raise Missing("VM.last_boot_CPU_flags has no features")
    return str(flags["features"])


@fact("VM", "host")
def resident_on(o: Obj) -> Obj | None:
    """The host the VM runs on (None when halted)."""
    return o.link("host", "resident_on")


@fact("VM", "host")
def home_host(o: Obj) -> Obj | None:
    """Where the VM runs, else its affinity host (XenCenter's "home server")."""
    return o.link("host", "resident_on") or o.link("host", "affinity", required=False)


def _resolved(o: Obj, cls: str, field_name: str) -> list[tuple[str, Record]]:
    """Every member of a ref-set field; a dangling one makes the fact unknown, since the
    record it names (a disk? a CD?) cannot be judged."""
    refs = [r for r in o.record.get(field_name) or [] if is_ref(r)]
    found = o.inv.get_many(cls, refs)
    if len(found) < len(refs):
        missing = next(r for r in refs if o.inv.get(cls, r) is None)
        raise Missing(f"{o.cls}.{field_name} names {cls} {missing}, which is not in the inventory")
    return found


def _vbds(o: Obj) -> list[Record]:
    if "VBDs" not in o.record:
        raise Missing("VM.VBDs is not in the inventory")
    return [vbd for _, vbd in _resolved(o, "VBD", "VBDs")]


def _vbd_vdi(o: Obj, vbd: Record) -> Obj:
    ref = vbd.get("VDI")
    rec = o.inv.get("VDI", ref)
    if rec is None:
        raise Missing(f"VBD {vbd.get('userdevice', '?')} points at VDI {ref}, which is not in the inventory")
    label = f"VDI[{rec.get('name_label') or rec.get('uuid')}]"
    return o.world.obj(o.pool, "VDI", ref, label)


@fact("VM", "list:VDI")
def disks(o: Obj) -> list[Obj]:
    """The VM's disks: non-empty, non-CD VBDs, by userdevice."""
    vbds = [v for v in _vbds(o) if v.get("type") != "CD" and not as_bool(v.get("empty", False))]
    vbds.sort(key=lambda v: str(v.get("userdevice", "")).zfill(3))
    return [_vbd_vdi(o, v) for v in vbds]


@fact("VM", "list:VDI")
def cds(o: Obj) -> list[Obj]:
    """Discs in the VM's CD drives (their SR must be visible for live migration)."""
    return [_vbd_vdi(o, v) for v in _vbds(o)
            if v.get("type") == "CD" and not as_bool(v.get("empty", False))]


@fact("VM", "VDI")
def suspend_vdi(o: Obj) -> Obj | None:
    """The suspend image of a suspended VM."""
    if power_state(o) != "Suspended":
        return None
    return o.link("VDI", "suspend_VDI")


@fact("VM", "list:VDI")
def storage(o: Obj) -> list[Obj]:
    """Everything a live migration needs to see: disks, CDs, the suspend image."""
    out = disks(o) + cds(o)
    suspend = suspend_vdi(o)
    return out + ([suspend] if suspend else [])


@fact("VM")
def disk_virtual_size(o: Obj) -> int:
    """Sum of the disks' virtual sizes."""
    return sum(o.world.value(d, "virtual_size") for d in disks(o))


@fact("VM")
def disk_physical_size(o: Obj) -> int:
    """Sum of the disks' physical utilisation (what is copied by storage migration)."""
    return sum(o.world.value(d, "physical_size") for d in disks(o))


@fact("VM", "list:network", name="networks")
def vm_networks(o: Obj) -> list[Obj]:
    """Networks of the VM's VIFs."""
    if "VIFs" not in o.record:
        raise Missing("VM.VIFs is not in the inventory")
    out = []
    for _, vif in _resolved(o, "VIF", "VIFs"):
        net_ref = vif.get("network")
        net = o.inv.get("network", net_ref)
        if net is None:
            raise Missing(f"VIF {vif.get('device', '?')} points at network {net_ref}, not in the inventory")
        out.append(o.world.obj(o.pool, "network", net_ref, f"network[{net.get('name_label')}]"))
    return out


@fact("VM")
def pci_passthrough(o: Obj) -> list[str]:
    """Passed-through PCI devices (pci_id): attached_PCIs minus NVIDIA SR-IOV vGPU functions
    (XAPI A10), plus the `other_config.pci` entries of a halted VM, which could not migrate
    once started."""
    rec = o.record
    sriov_vfs = {
        vgpu.get("PCI") for _, vgpu in o.inv.get_many("VGPU", rec.get("VGPUs", []))
        if (o.inv.get("VGPU_type", vgpu.get("type")) or {}).get("implementation") == "nvidia_sriov"
    }
    out = [str((o.inv.get("PCI", r) or {}).get("pci_id", r))
           for r in rec.get("attached_PCIs", []) if is_ref(r) and r not in sriov_vfs]
    if power_state(o) == "Halted":
        spec = (rec.get("other_config") or {}).get("pci", "")
        out.extend(entry.split("/", 1)[-1] for entry in spec.split(",") if entry.strip())
    return out


@fact("VM", "list:VGPU")
def vgpus(o: Obj) -> list[Obj]:
    """The VM's virtual GPUs (a class from XenServer 6.2)."""
    if "VGPUs" not in o.record:
        if not o.inv.has_class("VGPU"):
            return []  # the version predates vGPU: there can be none
        raise Missing("VM.VGPUs is not in the inventory")
    _resolved(o, "VGPU", "VGPUs")
    return o.links("VGPU", "VGPUs")


@fact("VM")
def vusb_count(o: Obj) -> int:
    """Virtual USB devices attached to the VM (a class from XenServer 7.3)."""
    if "VUSBs" not in o.record:
        if not o.inv.has_class("VUSB"):
            return 0  # the version predates vUSB: there can be none
        raise Missing("VM.VUSBs is not in the inventory")
    return len([r for r in o.record["VUSBs"] or [] if is_ref(r)])  # A12 counts refs


@fact("VM")
def immobile(o: Obj) -> bool:
    """no-migrate or nested virtualisation (A5): VM_metrics values when it has run, else platform."""
    metrics = _vm_metrics(o)
    if metrics is not None and ("nomigrate" in metrics or "nested_virt" in metrics):
        return as_bool(metrics.get("nomigrate", False)) or as_bool(metrics.get("nested_virt", False))
    platform = o.field("platform")
    return any(str(platform.get(k, "")).lower() in {"true", "1"} for k in ("nomigrate", "nested-virt"))


@fact("VM")
def ha_protected(o: Obj) -> bool:
    """Protected by HA: restart priority "restart" and ha_always_run (helpers.ml). XenServer
    5.x wrote the protected priorities as "1", "2", "3"; XAPI's database upgrade turns
    them into "restart", so a 5.x dump reads them as that."""
    rec = o.record
    return (rec.get("ha_restart_priority") in {"restart", "1", "2", "3"}
            and as_bool(o.field("ha_always_run")))


@fact("VM")
def ha_restart(o: Obj) -> bool:
    """HA would restart it if it stopped (any restart priority with ha_always_run)."""
    rec = o.record
    return bool(rec.get("ha_restart_priority")) and as_bool(rec.get("ha_always_run", False))


@fact("VM", name="mcs")
def vm_mcs(o: Obj) -> bool:
    """Created by Machine Creation Services: a CitrixProvisioningSchemeId marker on the VM or a disk."""
    if _has_marker(o.record, (MCS_MARKER,)):
        return True
    try:
        return any(o.world.value(d, "mcs") for d in disks(o))
    except Missing:
        return False


@fact("VM")
def cvd(o: Obj) -> bool:
    """Part of a Citrix Virtual Desktops deployment (MCS, or desktop markers)."""
    return vm_mcs(o) or _has_marker(o.record, CVD_MARKERS)


@fact("VM", name="snapshot_count")
def vm_snapshot_count(o: Obj) -> int:
    """Number of snapshots of the VM."""
    return len(o.record.get("snapshots") or [])


@fact("VM")
def blocked_operations(o: Obj) -> dict[str, str]:
    """Operations the administrator blocked, with their reasons."""
    return dict(o.field("blocked_operations"))


@fact("VM")
def current_operations(o: Obj) -> list[str]:
    """Operations in progress on the VM when the snapshot was taken."""
    return sorted(set((o.record.get("current_operations") or {}).values()))


@fact("VM")
def has_sriov_vif(o: Obj) -> bool:
    """A VIF on an SR-IOV network (a NIC virtual function)."""
    return any(o.world.value(n, "is_sriov") for n in vm_networks(o))


@fact("VM")
def vgpu_framebuffer(o: Obj) -> int:
    """Total framebuffer of the VM's vGPUs in bytes (what moves while it is paused)."""
    total = 0
    for g in vgpus(o):
        gtype = g.inv.get("VGPU_type", g.record.get("type")) or {}
        total += int(gtype.get("framebuffer_size", "0") or 0)
    return total


@fact("VM")
def no_sriov_vif(o: Obj) -> bool:
    """True when no VIF is on an SR-IOV network; Missing (unknown) naming it otherwise.

    A VIF on an SR-IOV network uses a NIC virtual function. XAPI only checks that the
    destination has idle VFs (B12; the VF is held in the internal `VIF.reserved_pci`,
    not in `VM.attached_PCIs`), while the seed's PCI-passthrough limitation points to
    "Use SR-IOV enabled NICs". Whether such a VM migrates is unconfirmed, so LIM-002
    reads this fact: the VM stays `unknown` until someone confirms it (a waiver).
    """
    for net in vm_networks(o):
        if o.world.value(net, "is_sriov"):
            raise Missing(f"a VIF is on SR-IOV network '{net.name}' (a NIC virtual function): "
                          "whether it can migrate is not confirmed (see \"Use SR-IOV enabled "
                          "NICs\"); confirm it, then waive this finding")
    return True




# ---------------------------------------------------------------------------------
# GPUs
# ---------------------------------------------------------------------------------

@fact("VGPU")
def implementation(o: Obj) -> str:
    """The vGPU type's implementation: nvidia, nvidia_sriov, passthrough, gvt_g, mxgpu."""
    gtype = o.link("VGPU_type", "type")
    if gtype is None:
        raise Missing("VGPU.type is null")
    return str(gtype.field("implementation"))


@fact("VGPU")
def type_name(o: Obj) -> str:
    """The vGPU type's model name."""
    gtype = o.link("VGPU_type", "type")
    return str((gtype.record if gtype else {}).get("model_name", "?"))


@fact("VGPU")
def migratable(o: Obj) -> bool:
    """XAPI's A11: an NVIDIA vGPU on a pGPU whose compatibility metadata has "nvidia"."""
    if implementation(o) not in {"nvidia", "nvidia_sriov"}:
        return False
    pgpu = o.link("PGPU", "resident_on", required=False)
    if pgpu is None:
        return False
    return "nvidia" in (pgpu.record.get("compatibility_metadata") or {})


@fact("VGPU")
def spare_capacity_on_host(o: Obj) -> bool:
    """The VM's host has a pGPU of the same group with room for one more vGPU of this type."""
    type_ref = o.record.get("type")
    group_ref = o.record.get("GPU_group")
    pgpu = o.link("PGPU", "resident_on", required=False)
    if pgpu is None:
        raise Missing("VGPU.resident_on is null: the vGPU is not running")
    host_ref = pgpu.record.get("host")
    for _, p in o.inv.all("PGPU"):
        if p.get("host") != host_ref or p.get("GPU_group") != group_ref:
            continue
        if type_ref not in (p.get("enabled_VGPU_types") or []):
            continue
        capacity = int((p.get("supported_VGPU_max_capacities") or {}).get(type_ref, "0") or 0)
        resident = len(p.get("resident_VGPUs") or [])
        if capacity - resident >= 1:
            return True
    return False


def _has_marker(rec: Record, markers: tuple[str, ...]) -> bool:
    tags = [str(t) for t in rec.get("tags") or []]
    other = rec.get("other_config") or {}
    return any(m in t for m in markers for t in tags) or any(m in other for m in markers)


for _cls in ("pool", "host", "VM", "SR", "VDI", "network", "PCI", "VGPU", "PGPU"):
    _identity_facts(_cls)


def summarize(inv: Inventory) -> dict[str, Any]:
    """Counts for the one-line summary after import or collect (real VMs only)."""
    vms = [vm for _, vm in inv.all("VM") if is_real_vm(vm)]
    hosts_ = [h for _, h in inv.all("host")]
    world = World([inv])
    labels = []
    for ref, _ in inv.all("host"):
        host = world.obj(0, "host", ref)
        try:
            labels.append(f"{host.name}: {world.value(host, 'product')}")
        except Missing:
            labels.append(f"{host.name}: version unknown")
    return {
        "pool": inv.name,
        "hosts": len(hosts_),
        "vms": len(vms),
        "running": sum(vm.get("power_state") == "Running" for vm in vms),
        "srs": sum(1 for _ in inv.all("SR")),
        "vdis": sum(1 for _ in inv.all("VDI")),
        "gaps": len(inv.gaps),
        "host_versions": sorted(labels),
    }
