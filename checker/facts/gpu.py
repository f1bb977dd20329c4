"""Facts about virtual GPUs: their implementation, migratability, spare capacity."""

from __future__ import annotations

from typing import Any

from checker.facts.core import Missing, Obj, Record, as_int, fact, is_ref
from checker.inventory import Inventory


@fact("VGPU")
def implementation(o: Obj) -> str:
    """The vGPU type's implementation: nvidia, nvidia_sriov, passthrough, gvt_g, mxgpu."""
    gtype = o.target("VGPU_type", "type")
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


# ---------------------------------------------------------------------------------
# Added 2026-11-26 (issue 10): LIM-014, a destination host with room for the VM's vGPUs
# ---------------------------------------------------------------------------------

NVIDIA = frozenset({"nvidia", "nvidia_sriov"})


def _gpu_group_types(inv: Inventory, ref: Any) -> list[str]:
    group = inv.get("GPU_group", ref)
    if group is None:
        raise Missing(f"VGPU.GPU_group {ref} is not in the inventory")
    return list(group.get("GPU_types") or [])


def _destination_group(vm: Obj, dst: Obj, vgpu: Record) -> str | None:
    """The GPU group the vGPU lands in: its own inside the pool; across pools the first
    destination group with the same GPU_types (import.ml GPUGroup.precheck), or None."""
    if dst.pool == vm.pool:
        return str(vgpu.get("GPU_group"))
    types = _gpu_group_types(vm.inv, vgpu.get("GPU_group"))
    return next((ref for ref, g in dst.inv.all("GPU_group") if list(g.get("GPU_types") or []) == types),
                None)


def _destination_type(vm: Obj, dst: Obj, type_ref: str) -> str | None:
    """The vGPU type in the destination pool: itself inside the pool; across pools the type
    with the same identifier, else the same vendor and model (import.ml VGPUType.precheck)."""
    if dst.pool == vm.pool:
        return type_ref
    vgpu_type = vm.inv.get("VGPU_type", type_ref) or {}
    for keys in (("identifier",), ("vendor_name", "model_name")):
        wanted = [vgpu_type.get(k) for k in keys]
        found = next((ref for ref, t in dst.inv.all("VGPU_type")
                      if all(wanted) and [t.get(k) for k in keys] == wanted), None)
        if found:
            return found
    return None


def _pgpu_room(dst: Obj, pgpu_ref: str, pgpu: Record, type_ref: str) -> int | None:
    """How many more vGPUs of the type the pGPU takes (xapi_pgpu_helpers.ml
    get_remaining_capacity), None when the inventory cannot say.

    The type must be supported and enabled. A passthrough type takes the whole GPU: room 1
    when no vGPU is resident or scheduled and no VM has its PCI attached. Other types fill
    the GPU by size: with k vGPUs of the same type allocated, capacity − k. A pGPU holding
    other types admits the type only if XAPI's internal compatible_types_on_pgpu says so:
    unknown.
    """
    if type_ref not in (pgpu.get("supported_VGPU_types") or []) or \
            type_ref not in (pgpu.get("enabled_VGPU_types") or []):
        return 0
    allocated = [v for ref, v in dst.inv.all("VGPU")
                 if v.get("scheduled_to_be_resident_on") == pgpu_ref
                 or ref in (pgpu.get("resident_VGPUs") or [])]
    implementation = (dst.inv.get("VGPU_type", type_ref) or {}).get("implementation")
    if implementation == "passthrough":
        pci = pgpu.get("PCI")
        attached = is_ref(pci) and any(pci in (vm.get("attached_PCIs") or []) for _, vm in dst.inv.all("VM"))
        return 0 if allocated or attached else 1
    if any(v.get("type") != type_ref for v in allocated):
        return None
    capacity = (pgpu.get("supported_VGPU_max_capacities") or {}).get(type_ref)
    if capacity is None:
        return None
    return max(0, as_int(capacity, "PGPU.supported_VGPU_max_capacities") - len(allocated))


def _pgpu_name(dst: Obj, ref: str, pgpu: Record) -> str:
    """A pGPU by its PCI address (it has no name), else its uuid."""
    pci = dst.inv.get("PCI", pgpu.get("PCI")) or {}
    return str(pci.get("pci_id") or dst.world.obj(dst.pool, "PGPU", ref).name)


def _place(vm: Obj, dst: Obj, vgpu: Record, taken: dict[str, int]) -> dict[str, Any]:
    """One vGPU's place on the destination host, as Vgpuops.allocate_vgpu_to_gpu (dry run)
    chooses it: a pGPU of the group on that host with room (depth-first: the fullest)."""
    type_ref = str(vgpu.get("type"))
    vgpu_type = vm.inv.get("VGPU_type", type_ref)
    if vgpu_type is None:
        raise Missing(f"VGPU.type {type_ref} is not in the inventory")
    if "implementation" not in vgpu_type:
        raise Missing("VGPU_type.implementation is not in the inventory")
    entry: dict[str, Any] = {"vgpu": vgpu_type.get("model_name") or type_ref,
                             "implementation": vgpu_type["implementation"],
                             "pgpu": None, "room": 0, "nvidia_metadata": False}
    group = _destination_group(vm, dst, vgpu)
    dst_type = _destination_type(vm, dst, type_ref)
    if group is None or dst_type is None:
        return entry
    rooms: list[tuple[int, str, Record]] = []
    undecided: list[str] = []
    for ref, pgpu in dst.inv.all("PGPU"):
        if pgpu.get("host") != dst.ref or pgpu.get("GPU_group") != group:
            continue
        room = _pgpu_room(dst, ref, pgpu, dst_type)
        if room is None:
            undecided.append(_pgpu_name(dst, ref, pgpu))
        elif room - taken.get(ref, 0) > 0:
            rooms.append((room - taken.get(ref, 0), ref, pgpu))
    if not rooms:
        if undecided:
            raise Missing(f"pGPU {undecided[0]} of host '{dst.name}' holds vGPUs of other types: "
                          f"whether {entry['vgpu']} may join them is recorded only inside XAPI "
                          "(VGPU_type.compatible_types_on_pgpu)")
        return entry
    breadth = (dst.inv.get("GPU_group", group) or {}).get("allocation_algorithm") == "breadth_first"
    room, ref, pgpu = sorted(rooms, key=lambda r: r[0], reverse=breadth)[0]
    taken[ref] = taken.get(ref, 0) + 1
    entry.update(pgpu=_pgpu_name(dst, ref, pgpu), room=room,
                 nvidia_metadata="nvidia" in (pgpu.get("compatibility_metadata") or {}))
    return entry


def vgpu_placement(vm: Obj, dst: Obj) -> list[dict[str, Any]]:
    """Where XAPI would put each of the VM's vGPUs on host `dst`: VM_REQUIRES_VGPU (or
    VM_REQUIRES_GPU for passthrough) when an entry has no pGPU (xapi_vm_helpers.ml
    assert_gpus_available, import.ml assert_can_live_import_vgpu across pools).

    A live VM's NVIDIA vGPU then needs NVIDIA compatibility metadata on the destination pGPU
    (else NVIDIA_TOOLS_ERROR; xapi_pgpu_helpers.ml assert_destination_pgpu_is_compatible_
    with_vm), and NVIDIA's gpumon decides from it at migration time: that cannot be judged
    offline, so the placement is Missing (unknown) with what to check.
    """
    if any(g.get("class") == "PGPU" for g in dst.inv.gaps):
        raise Missing(f"the inventory of host '{dst.name}' lacks its pGPUs (a recorded gap)")
    taken: dict[str, int] = {}
    refs = [r for r in vm.record.get("VGPUs") or [] if is_ref(r)]
    entries = []
    for ref in refs:
        vgpu = vm.inv.get("VGPU", ref)
        if vgpu is None:
            raise Missing(f"VM.VGPUs names VGPU {ref}, which is not in the inventory")
        entries.append(_place(vm, dst, vgpu, taken))
    live = vm.record.get("power_state") in {"Running", "Paused"}
    nvidia = [e for e in entries if live and e["implementation"] in NVIDIA]
    for e in entries:
        needs_metadata = live and e["implementation"] in NVIDIA
        e["ok"] = bool(e["pgpu"]) and (e["nvidia_metadata"] or not needs_metadata)
    if all(e["pgpu"] for e in entries) and nvidia and all(e["nvidia_metadata"] for e in nvidia):
        placed = "; ".join(f"{e['vgpu']} on pGPU {e['pgpu']} (room for {e['room']})" for e in nvidia)
        raise Missing(f"host '{dst.name}' has room ({placed}), but whether its NVIDIA driver "
                      "accepts this VM's running vGPU is decided by NVIDIA's gpumon from the "
                      "pGPU's compatibility metadata at migration time, which cannot be judged "
                      "offline: check that both hosts run NVIDIA vGPU software of a release "
                      "that supports migration between them, then waive this finding")
    return entries
