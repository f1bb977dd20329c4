"""Facts about a host: liveness, memory as XAPI counts it, CPU, NICs, what it can see."""

from __future__ import annotations

from typing import Any

from checker.facts.core import Missing, Obj, as_bool, as_int, fact, is_real_vm
from checker.inventory import is_ref


@fact("host")
def live(o: Obj) -> bool:
    """The host is alive (`host_metrics.live`)."""
    metrics = o.target("host_metrics", "metrics")
    return as_bool(metrics.field("live"))


@fact("host")
def enabled(o: Obj) -> bool:
    """The host accepts VMs (`host.enabled`; false while in maintenance mode)."""
    return as_bool(o.field("enabled"))


@fact("host")
def memory_total(o: Obj) -> int:
    """`host_metrics.memory_total` in bytes."""
    metrics = o.target("host_metrics", "metrics")
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


@fact("host", "list:SR")
def pluggable_srs(o: Obj) -> list[Obj]:
    """SRs with a PBD on this host, plugged or not: a storage migration plugs an unplugged
    PBD of its destination SR itself (xapi_vm_migrate.ml vdi_copy_fun)."""
    return [o.world.obj(o.pool, "SR", pbd["SR"]) for _, pbd in o.inv.all("PBD")
            if pbd.get("host") == o.ref and o.inv.get("SR", pbd.get("SR")) is not None]


@fact("host", "list:network")
def networks(o: Obj) -> list[Obj]:
    """Networks a VM can bring to this host, as xapi_network_attach_helpers.ml
    assert_can_see_named_networks decides (B8), so LIVE-003 and SXM-005 refuse what it refuses.

    A network with PIFs needs one on this host (else VM_REQUIRES_NETWORK) that is not a
    bond member (assert_can_attach_network_on_host: HOST_CANNOT_ATTACH_NETWORK). One without
    PIFs: other_config:assume_network_is_shared "true", or unmanaged, or an internal network
    that no running VM uses or that a running VM on this host uses (the others pin it).
    """
    out = []
    for net_ref, net in o.inv.all("network"):
        pifs = o.inv.get_many("PIF", net.get("PIFs", []))
        if pifs:
            local = [ref for ref, p in pifs if p.get("host") == o.ref]
            usable = bool(local) and not any(
                is_ref(o.world.obj(o.pool, "PIF", ref).field("bond_slave_of")) for ref in local)
        else:
            usable = ((net.get("other_config") or {}).get("assume_network_is_shared") == "true"
                      or net.get("managed") is False or _internal_reachable(o, net))
        if usable:
            out.append(o.world.obj(o.pool, "network", net_ref))
    return out


def _internal_reachable(o: Obj, net: dict[str, Any]) -> bool:
    """No running VM uses the internal network, or one of them runs on this host."""
    hosts = [vm.get("resident_on") for _, vif in o.inv.get_many("VIF", net.get("VIFs", []))
             if (vm := o.inv.get("VM", vif.get("VM"))) and vm.get("power_state") == "Running"]
    return not hosts or o.ref in hosts


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
# Added 2026-11-26 (issue 10): GEN-011, CPU-003
# ---------------------------------------------------------------------------------

@fact("host")
def virtual_hardware_platform_versions(o: Obj) -> list[int]:
    """`host.virtual_hardware_platform_versions`: the virtual hardware platforms the host
    offers its guests (xapi_vm_helpers.ml assert_hardware_platform_support; XenServer 6.5
    SP1 "Cream" and later, XAPI treating a host from before as offering [0])."""
    versions = o.field("virtual_hardware_platform_versions")
    return sorted(as_int(v, "host.virtual_hardware_platform_versions") for v in versions or [])


@fact("host")
def cpu_count(o: Obj) -> int:
    """`cpu_info.cpu_count`: the pCPUs xapi_vm_helpers.ml assert_enough_pcpus counts."""
    info = o.field("cpu_info")
    if "cpu_count" not in info:
        raise Missing("host.cpu_info has no cpu_count")
    return as_int(info["cpu_count"], "host.cpu_info.cpu_count")
