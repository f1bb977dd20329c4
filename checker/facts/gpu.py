"""Facts about virtual GPUs: their implementation, migratability, spare capacity."""

from __future__ import annotations

from checker.facts.core import Missing, Obj, fact


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
