"""Facts about the pool: its master, hosts, HA, licence restrictions, defaults."""

from __future__ import annotations

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
