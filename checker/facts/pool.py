"""Facts about the pool: its master, hosts, HA, licence restrictions, defaults."""

from __future__ import annotations

from typing import Any

from checker import releases
from checker.facts.core import CVD_MARKERS, MCS_MARKER, Missing, Obj, _has_marker, as_bool, as_int, fact


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
    """The licence forbids live migration: Features.Xen_motion, which xapi_vm_migrate.ml
    pool_migrate asserts since XenServer 7.0 (none before). Read as features.ml
    of_assoc_list reads `restrict_xen_motion`; a pool without the flag may migrate from
    XenServer 7.1 (enabled_when_unknown, xapi 1.9.92), could not on 7.0."""
    master = o.link("host", "master", required=False)
    rel = releases.release_of(master.record) if master else None
    if rel is not None and rel < releases.release("dundee"):
        return False
    restricted = _restriction(o, "restrict_xen_motion")
    if restricted is not None:
        return restricted
    if rel is None or rel == releases.release("dundee"):
        raise Missing("no restrict_xen_motion flag: XenServer 7.0's XAPI refused live migration "
                      "without it, 7.1's and later allow it; this pool's release is "
                      f"{rel or 'unknown'}")
    return False


@fact("pool")
def restrict_storage_xen_motion(o: Obj) -> bool:
    """The licence forbids storage live migration: Features.Storage_motion, which
    xapi_vm_migrate.ml assert_licensed_storage_motion asserts (and migrate_receive on the
    destination). features.ml of_assoc_list takes a missing flag as restricted."""
    restricted = _restriction(o, "restrict_storage_xen_motion")
    return True if restricted is None else restricted


def _restriction(o: Obj, key: str) -> bool | None:
    """The flag as XAPI reads it (Pool_features.get_pool_features): from pool.restrictions,
    which XAPI computes from every host's license_params (pool_features_helpers.ml: a
    feature is on when it is on for every host); those when the inventory lacks the pool's
    field. None when the flag is absent, or not "true"/"false" (bool_of_string fails)."""
    restrictions = o.record.get("restrictions")
    if isinstance(restrictions, dict):
        return _flag(restrictions, key)
    params = [h.get("license_params") for _, h in o.inv.all("host")]
    if not params or not all(isinstance(p, dict) for p in params):
        raise Missing("pool.restrictions is not in the inventory, nor is every host's license_params")
    flags = [_flag(p, key) for p in params]
    return True if True in flags else (None if None in flags else False)


def _flag(restrictions: dict[str, Any], key: str) -> bool | None:
    return {"true": True, "false": False}.get(str(restrictions.get(key)))


@fact("pool")
def cvd_declared(o: Obj) -> bool:
    """Citrix Virtual Desktops markers on the pool (tags or other_config)."""
    return _has_marker(o.record, (*CVD_MARKERS, MCS_MARKER))


@fact("pool", name="product")
def pool_product(o: Obj) -> str:
    """The product of the master, e.g. "Citrix Hypervisor 8.2 CU1"."""
    m = o.target("host", "master")
    return o.world.value(m, "product")


# ---------------------------------------------------------------------------------
# Added 2026-11-26 (issue 10): SXM-009
# ---------------------------------------------------------------------------------

@fact("pool")
def mac_seed_owners(o: Obj) -> dict[str, list[tuple[str | None, str]]]:
    """`other_config:mac_seed` -> (uuid import.ml's is_compatible compares, name) of every VM
    record of the pool holding it: VMs, templates and snapshots alike, as
    assert_can_restore_backup reads VM.get_all_records. A snapshot counts as the VM it was
    taken of (None when that VM is gone: never compatible)."""
    out: dict[str, list[tuple[str | None, str]]] = {}
    for _, rec in o.inv.all("VM"):
        seed = (rec.get("other_config") or {}).get("mac_seed")
        if not seed:
            continue
        if rec.get("is_a_snapshot"):
            origin = o.inv.get("VM", rec.get("snapshot_of"))
            owner = str(origin["uuid"]) if origin and origin.get("uuid") else None
        else:
            owner = str(rec.get("uuid"))
        out.setdefault(str(seed), []).append((owner, str(rec.get("name_label") or rec.get("uuid"))))
    return out
