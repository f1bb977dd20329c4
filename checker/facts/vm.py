"""Facts about a VM: guest, tools, memory, CPU, disks, networks, devices, markers."""

from __future__ import annotations

import re

from checker.facts.core import (
    CVD_MARKERS,
    MCS_MARKER,
    Missing,
    Obj,
    Record,
    _has_marker,
    as_bool,
    as_int,
    fact,
    is_ref,
    round_up_mib,
)

LINUX_DISTROS = frozenset({
    "centos", "rhel", "redhat", "debian", "ubuntu", "sles", "suse", "opensuse", "oracle",
    "oel", "fedora", "rocky", "almalinux", "alma", "coreos", "gentoo", "linux", "scientific",
    "xe-phy", "mandriva", "turbo", "asianux", "neokylin", "yinhe", "kylin",
})


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


def _booted_pv(o: Obj) -> bool:
    """The VM certainly booted PV, PVH or PV-in-PVH (VM_metrics.current_domain_type; before
    XenServer 7.5, VM_metrics.hvm false or a PV boot policy)."""
    metrics = _vm_metrics(o)
    current = (metrics or {}).get("current_domain_type")
    if current and current != "unspecified":
        return current in {"pv", "pvh", "pv_in_pvh"}
    if metrics is not None and "hvm" in metrics:
        return not as_bool(metrics["hvm"])
    return domain_type(o) in {"pv", "pvh", "pv_in_pvh"}


def _pv_drivers(gm: Record | None) -> bool:
    """XAPI's has_pv_drivers (xapi_pv_driver_version.ml): integer major and minor in
    PV_drivers_version."""
    version_map = (gm or {}).get("PV_drivers_version") or {}
    return str(version_map.get("major", "")).isdigit() and str(version_map.get("minor", "")).isdigit()


@fact("VM")
def pv_drivers(o: Obj) -> bool:
    """The guest reports PV driver versions (what XAPI takes for "drivers present")."""
    return _pv_drivers(_guest_metrics(o))


@fact("VM")
def feature_suspend(o: Obj) -> bool:
    """The guest advertises `feature-suspend` = 1 in its guest metrics."""
    return ((_guest_metrics(o) or {}).get("other") or {}).get("feature-suspend") == "1"


@fact("VM")
def booted_pv(o: Obj) -> bool:
    """The VM certainly booted PV, PVH or PV-in-PVH: PV guests support migration implicitly."""
    return _booted_pv(o)


@fact("VM")
def guest_can_migrate(o: Obj) -> bool:
    """XAPI's check_op_for_feature for pool_migrate / migrate_send of a live VM
    (xapi_vm_lifecycle.ml): allowed when the VM booted PV, or reports PV drivers, or
    advertises feature-suspend; otherwise VM_LACKS_FEATURE. The management agent is not
    asked for (GEN-012 warns about it)."""
    gm = _guest_metrics(o)
    if _pv_drivers(gm) or ((gm or {}).get("other") or {}).get("feature-suspend") == "1":
        return True
    return _booted_pv(o)


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
    """What XAPI reserves on a host for the VM: dynamic_min + overhead, each rounded up to
    a MiB (memory_check.ml, the free-memory figure migrations are checked against)."""
    base = as_int(o.field("memory_dynamic_min"), "VM.memory_dynamic_min")
    overhead = as_int(o.field("memory_overhead"), "VM.memory_overhead")
    return round_up_mib(base) + round_up_mib(overhead)


@fact("VM")
def evacuation_memory(o: Obj) -> int:
    """What XAPI's evacuation planner packs the VM by (xapi_ha_vm_failover.ml vm_memory):
    static_max for a PVH or PV-in-PVH guest, dynamic_min otherwise; plus overhead."""
    pvh = o.record.get("domain_type") in {"pvh", "pv_in_pvh"}
    field_name = "memory_static_max" if pvh else "memory_dynamic_min"
    base = as_int(o.field(field_name), f"VM.{field_name}")
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
def vm_cpu_vendor(o: Obj) -> str | None:
    """The CPU vendor the VM booted on (`last_boot_CPU_flags.vendor`); None when not
    recorded, and XAPI then skips the vendor check (cpuid_helpers.ml)."""
    return (o.record.get("last_boot_CPU_flags") or {}).get("vendor") or None


@fact("VM")
def cpu_features(o: Obj) -> str | None:
    """The CPU features the VM booted with (`last_boot_CPU_flags.features`); None when not
    recorded, and XAPI then skips the feature check (cpuid_helpers.ml)."""
    return (o.record.get("last_boot_CPU_flags") or {}).get("features") or None


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
    (XAPI A10). XAPI reads nothing else: a halted VM has none attached, so its
    `other_config.pci` does not stop a move (it matters when the VM next starts)."""
    rec = o.record
    attached = [r for r in rec.get("attached_PCIs") or [] if is_ref(r)]
    if not attached:
        return []
    sriov_vfs = {
        vgpu.get("PCI") for _, vgpu in o.inv.get_many("VGPU", rec.get("VGPUs", []))
        if (o.inv.get("VGPU_type", vgpu.get("type")) or {}).get("implementation") == "nvidia_sriov"
    }
    return [str((o.inv.get("PCI", r) or {}).get("pci_id", r)) for r in attached if r not in sriov_vfs]


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
# Added 2026-11-26 (issue 10, XAPI refusals the catalogue lacked): GEN-010, GEN-011,
# GEN-012, CPU-003, SXM-009
# ---------------------------------------------------------------------------------

#: xapi_vm_lifecycle.ml check_op_for_feature and VM_NON_SUSPENDABLE, by xapi version:
#: from 25.24.0 (c895469f54) for a Running VM not definitely booted PV; from 25.27.0
#: (6732c89702) for every VM whose guest metrics hold the key, in any power state; from
#: 26.13.0, and 26.1.12 on the 26.1 maintenance branch (3d4d26bbe0), for live VMs only.
NON_SUSPENDABLE_SINCE = (25, 24)
NON_SUSPENDABLE_ANY_STATE_SINCE = (25, 27)
NON_SUSPENDABLE_LIVE_ONLY_SINCE = ((26, 13), (26, 1, 12))
PV_DOMAIN_TYPES = frozenset({"pv", "pvh", "pv_in_pvh"})


def _guest_other(o: Obj) -> dict[str, str]:
    """`VM_guest_metrics.other`, empty when the guest agent never reported (null ref)."""
    gm = _guest_metrics(o)
    if gm is None:
        return {}
    if "other" not in gm:
        raise Missing("VM_guest_metrics.other is not in the inventory")
    return dict(gm["other"] or {})


@fact("VM")
def cant_suspend_reason(o: Obj) -> str | None:
    """Why the guest says it cannot be suspended (`VM_guest_metrics.other`
    `data-cant-suspend-reason`, which xapi_guest_agent.ml get_initial_guest_metrics copies
    from xenstore `data/cant_suspend_reason` in place of `feature-suspend`), or None."""
    return _guest_other(o).get("data-cant-suspend-reason")


def _refuses_non_suspendable(xapi: tuple[int, ...], power_state: str, booted_pv: bool) -> bool:
    """Whether the xapi of that version raises VM_NON_SUSPENDABLE for a migration of a VM in
    `power_state` whose guest metrics hold the key (the three forms listed above)."""
    if xapi[:2] < NON_SUSPENDABLE_SINCE:
        return False
    if xapi[:2] < NON_SUSPENDABLE_ANY_STATE_SINCE:
        return power_state == "Running" and not booted_pv
    fixed = xapi[:2] >= NON_SUSPENDABLE_LIVE_ONLY_SINCE[0] or (
        xapi[:2] == NON_SUSPENDABLE_LIVE_ONLY_SINCE[1][:2] and xapi >= NON_SUSPENDABLE_LIVE_ONLY_SINCE[1])
    return power_state in {"Running", "Paused"} or not fixed


@fact("VM")
def non_suspendable(o: Obj) -> bool:
    """XAPI refuses to migrate the VM with VM_NON_SUSPENDABLE (xapi_vm_lifecycle.ml
    check_op_for_feature, run by the source pool's master for pool_migrate and migrate_send).

    Only a guest reporting `data-cant-suspend-reason` can be refused; whether it is depends
    on the master's xapi version (see NON_SUSPENDABLE_SINCE): unknown when the master does
    not report it.
    """
    if cant_suspend_reason(o) is None:
        return False
    master = o.world.pool(o.pool).link("host", "master")
    xapi = o.world.value(master, "xapi_build") if master is not None else None
    if not xapi:
        raise Missing("the pool master reports no software_version.xapi_build or xapi: whether "
                      "its XAPI refuses a guest that cannot suspend depends on the version")
    booted = (_vm_metrics(o) or {}).get("current_domain_type")
    return _refuses_non_suspendable(xapi, power_state(o), booted in PV_DOMAIN_TYPES)


@fact("VM")
def management_agent(o: Obj) -> bool:
    """The guest's management agent runs: `VM_guest_metrics.other` `feature-static-ip-setting`
    is set and not "0" (XenCenter's VM.GetVirtualizationStatus). A running VM without guest
    metrics has no agent; a halted VM's metrics are not current (unknown)."""
    if _guest_metrics(o) is None and power_state(o) not in {"Running", "Paused"}:
        raise Missing("the VM is not running, so its guest agent does not report")
    return _guest_other(o).get("feature-static-ip-setting", "0") not in {"0", ""}


@fact("VM")
def hardware_platform_version(o: Obj) -> int:
    """`VM.hardware_platform_version`: the virtual hardware platform the VM needs, which
    xapi_vm_helpers.ml assert_hardware_platform_support looks up in the host's list
    (XenServer 6.5 SP1 "Cream" and later; the datamodel's default for a VM from before is 0)."""
    return as_int(o.field("hardware_platform_version"), "VM.hardware_platform_version")


@fact("VM")
def vcpus_max(o: Obj) -> int:
    """`VM.VCPUs_max`: what xapi_vm_helpers.ml assert_enough_pcpus compares with the host's
    pCPUs."""
    return as_int(o.field("VCPUs_max"), "VM.VCPUs_max")


@fact("VM")
def vcpu_unrestricted(o: Obj) -> bool:
    """`platform:vcpu-unrestricted` is "true" or "1" (any case; vm_platform.ml is_true):
    XAPI then lets the VM have more vCPUs than the host has pCPUs."""
    value = str(o.field("platform").get("vcpu-unrestricted", "")).lower()
    return value in {"true", "1"}


@fact("VM")
def mac_seeds(o: Obj) -> list[str]:
    """`other_config:mac_seed` of the VM and of its snapshots: a cross-pool migration sends
    them all to the destination's import (xapi_vm_migrate.ml send_snapshots)."""
    records = [o.record] + [rec for _, rec in o.inv.get_many("VM", o.record.get("snapshots", []))]
    seeds = set()
    for rec in records:
        if "other_config" not in rec:
            raise Missing("VM.other_config is not in the inventory")
        seed = (rec["other_config"] or {}).get("mac_seed")
        if seed:
            seeds.add(str(seed))
    return sorted(seeds)


@fact("VM")
def mac_seed_clashes(o: Obj) -> dict[str, list[str]]:
    """Per other pool (by uuid), the VMs, templates and snapshots there whose `mac_seed` is
    one of this VM's while they are not this VM or its snapshots: a cross-pool migration to
    that pool fails with DUPLICATE_MAC_SEED (import.ml assert_can_restore_backup; the VM and
    its snapshots all count as the VM's uuid, see pool.mac_seed_owners)."""
    seeds = mac_seeds(o)
    family = str(o.field("uuid"))
    out: dict[str, list[str]] = {}
    if not seeds:
        return out
    for index in range(len(o.world.inventories)):
        if index == o.pool:
            continue
        pool = o.world.pool(index)
        owners = o.world.value(pool, "mac_seed_owners")
        clashes = sorted({name for seed in seeds for uuid, name in owners.get(seed, [])
                          if uuid is None or uuid != family})
        if clashes:
            out[str(pool.record.get("uuid", index))] = clashes
    return out
