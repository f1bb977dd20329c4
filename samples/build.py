"""Build the project's own sample pools: inventories in the record shape of real XenAPI data.

Two pools, made up but shaped like the realdata captures (field names, XML-RPC value
types, maps and refs as `get_all_records` returns them):
  - prod-ch82: Citrix Hypervisor 8.2 CU1 (product 8.2.1, platform 3.2.1), 2 hosts,
    shared iSCSI + local SRs, no XS82ECU1033 hotfix;
  - dr-xs8:    XenServer 8 (product 8.4.0, platform 3.4.0), 2 hosts, port 80 closed.
The rule fixtures (tests/policies/_base/) and the demo (samples/pools/) both come from
here; the demo pools add the deviations that make each rule family fail somewhere.

    python samples/build.py            # writes samples/pools/*.json and tests/policies/_base/*.json
"""

from __future__ import annotations

import json
import sys
import uuid as uuidlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GiB = 1024 ** 3
MiB = 1024 ** 2
INTEL_HVM = "1fcbfbff-f7fa3203-2c100800-00000021-00000001-000007ab-00000000-00000000-00101000-bc000400"
INTEL_PV = "1fc9cbf5-f6f83203-2991cbf5-00000021-00000001-00000329-00000000-00000000-00101000-bc000400"
VM_FLAGS = "1fcbfbff-f7fa3203-2c100800-00000021-00000001-000007ab-00000000-00000000-00001000-0c000000"


class PoolBuilder:
    def __init__(self, name: str, seed: str) -> None:
        self.name = name
        self.seed = seed
        self.n = 0
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}

    def _id(self) -> tuple[str, str]:
        self.n += 1
        u = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"{self.seed}/{self.n}"))
        return f"OpaqueRef:{u}", str(uuidlib.uuid5(uuidlib.NAMESPACE_DNS, f"{self.seed}/{self.n}"))

    def add(self, cls: str, **fields: Any) -> str:
        ref, uuid = self._id()
        record = {"uuid": uuid, **fields}
        self.objects.setdefault(cls, {})[ref] = record
        return ref

    def rec(self, cls: str, ref: str) -> dict[str, Any]:
        return self.objects[cls][ref]

    # -- objects ------------------------------------------------------------------
    def host(self, name: str, *, product: str, platform: str, xapi: str, xen: str,
             memory_gib: int, https_only: bool | None, updates: list[str]) -> str:
        metrics = self.add("host_metrics", live=True, memory_total=str(memory_gib * GiB),
                           memory_free=str(memory_gib * GiB // 2), last_updated="20261120T09:00:00Z",
                           other_config={})
        fields: dict[str, Any] = dict(
            name_label=name, name_description="", hostname=name, address=f"192.0.2.{self.n}",
            enabled=True, metrics=metrics, memory_overhead=str(600 * MiB),
            software_version={
                "product_brand": "XenServer" if product.startswith("8.4") else "Citrix Hypervisor",
                "product_version": product, "platform_version": platform, "platform_name": "XCP",
                "xapi": xapi.rsplit(".", 1)[0], "xapi_build": xapi, "xen": xen,
                "product_version_text": "8" if product.startswith("8.4") else "8.2",
                "product_version_text_short": "8" if product.startswith("8.4") else "8.2 CU1",
                "build_number": "release/yangtze/master/58" if product.startswith("8.2") else "stream",
            },
            cpu_info={"cpu_count": "32", "socket_count": "2", "vendor": "GenuineIntel",
                      "modelname": "Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz",
                      "features_hvm": INTEL_HVM, "features_pv": INTEL_PV,
                      "features_hvm_host": INTEL_HVM, "features_pv_host": INTEL_PV},
            capabilities=["xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_32p", "hvm-3.0-x86_64", ""],
            license_params={"restrict_xen_motion": "false", "restrict_storage_xen_motion": "false"},
            edition="standard", allowed_operations=["vm_migrate", "evacuate", "provision"],
            current_operations={}, updates=[], patches=[], PIFs=[], PBDs=[], resident_VMs=[],
            virtual_hardware_platform_versions=["0", "1", "2"], chipset_info={"iommu": "true"},
            other_config={}, tags=[],
        )
        if https_only is not None:
            fields["https_only"] = https_only
        ref = self.add("host", **fields)
        for update in updates:
            self.add("pool_update", name_label=update, name_description="Hotfix", version="1.0",
                     hosts=[ref], after_apply_guidance=[], enforce_homogeneity=False, other_config={})
            self.rec("host", ref)["updates"].append(next(reversed(self.objects["pool_update"])))
        dom0 = self.vm(f"Control domain on host: {name}", host=ref, memory_mib=4096,
                       control_domain=True)
        self.rec("host", ref)["control_domain"] = dom0
        return ref

    def sm(self, sr_type: str, mirror: bool) -> None:
        features = {"SR_PROBE": "1", "VDI_CREATE": "1", "VDI_SNAPSHOT": "1", "VDI_CLONE": "1"}
        if mirror:
            features["VDI_MIRROR"] = "1"
        if sr_type == "iso":
            features = {"VDI_CREATE": "1"}
        self.add("SM", name_label=f"{sr_type} driver", type=sr_type, features=features,
                 capabilities=sorted(features), configuration={}, other_config={})

    def sr(self, name: str, sr_type: str, *, size_gib: int, used_gib: int, shared: bool,
           hosts: list[str]) -> str:
        ref = self.add("SR", name_label=name, name_description="", type=sr_type,
                       content_type="iso" if sr_type == "iso" else "user", shared=shared,
                       clustered=sr_type == "gfs2", physical_size=str(size_gib * GiB),
                       physical_utilisation=str(used_gib * GiB), virtual_allocation=str(used_gib * GiB),
                       sm_config={}, other_config={}, tags=[], is_tools_sr=False, VDIs=[], PBDs=[])
        for host in hosts:
            device_config = {"SCSIid": "36001405a1b2c3d4"} if shared else {"device": "/dev/sda3"}
            pbd = self.add("PBD", host=host, SR=ref, currently_attached=True,
                           device_config=device_config, other_config={})
            self.rec("SR", ref)["PBDs"].append(pbd)
            self.rec("host", host)["PBDs"].append(pbd)
        return ref

    def network(self, name: str, hosts: list[str], *, management: bool = False, ip: bool = False,
                speed_mbit: int = 10000) -> str:
        ref = self.add("network", name_label=name, name_description="", bridge=f"xenbr{self.n}",
                       MTU="1500", managed=True, other_config={}, tags=[], PIFs=[], VIFs=[],
                       purpose=[])
        for i, host in enumerate(hosts):
            metrics = self.add("PIF_metrics", speed=str(speed_mbit), duplex=True, carrier=True,
                               vendor_name="Intel Corporation", device_name="Ethernet 10G 2P X520")
            pif = self.add("PIF", host=host, network=ref, device=f"eth{len(self.rec('host', host)['PIFs'])}",
                           management=management, physical=True, currently_attached=True,
                           IP=f"198.51.100.{10 + self.n % 200 + i}" if (management or ip) else "",
                           netmask="255.255.255.0" if (management or ip) else "",
                           ip_configuration_mode="Static" if (management or ip) else "None",
                           IPv6=[], primary_address_type="IPv4", VLAN="-1", metrics=metrics,
                           bond_slave_of="OpaqueRef:NULL", sriov_logical_PIF_of=[], other_config={})
            self.rec("network", ref)["PIFs"].append(pif)
            self.rec("host", host)["PIFs"].append(pif)
        return ref

    def vm(self, name: str, *, host: str | None, memory_mib: int, power: str = "Running",
           control_domain: bool = False, windows: bool = False, tools: bool = True,
           disks: list[tuple[str, int, int]] | None = None, networks: list[str] | None = None,
           ha: str = "", tags: list[str] | None = None) -> str:
        metrics = self.add("VM_metrics", memory_actual=str(memory_mib * MiB), VCPUs_number="2",
                           start_time="20261101T08:00:00Z", install_time="20260301T08:00:00Z",
                           last_updated="19700101T00:00:00Z", hvm=not control_domain,
                           nomigrate=False, nested_virt=False,
                           current_domain_type="pv" if control_domain else "hvm", other_config={})
        guest = "OpaqueRef:NULL"
        if not control_domain and tools and power == "Running":
            windows_name = ("Microsoft Windows Server 2019 Standard|C:\\Windows|"
                            "\\Device\\Harddisk0\\Partition2")
            os_version = ({"name": windows_name, "distro": "windows", "major": "10", "minor": "0"}
                          if windows else
                          {"name": "Rocky Linux 9.4 (Blue Onyx)", "uname": "5.14.0-427.13.1.el9_4.x86_64",
                           "distro": "rocky", "major": "9", "minor": "4"})
            other = {"feature-suspend": "1", "feature-poweroff": "1", "feature-reboot": "1"}
            if windows:
                other["feature-static-ip-setting"] = "1"
            guest = self.add("VM_guest_metrics", os_version=os_version,
                             PV_drivers_version={"major": "9", "minor": "4", "micro": "0", "build": "146"},
                             PV_drivers_up_to_date=True, PV_drivers_detected=True,
                             networks={"0/ip": "203.0.113.20", "0/ipv4/0": "203.0.113.20",
                                       "0/ipv6/0": "2001:db8::20"},
                             other=other, disks={}, memory={}, live=True, can_use_hotplug_vbd="yes",
                             can_use_hotplug_vif="yes", last_updated="20261120T09:00:00Z",
                             other_config={})
        running = power in {"Running", "Paused"}
        ref = self.add(
            "VM", name_label=name, name_description="", power_state=power,
            is_a_template=False, is_default_template=False, is_a_snapshot=False,
            is_control_domain=control_domain, resident_on=host if running else "OpaqueRef:NULL",
            affinity=host or "OpaqueRef:NULL", scheduled_to_be_resident_on="OpaqueRef:NULL",
            memory_static_max=str(memory_mib * MiB), memory_dynamic_max=str(memory_mib * MiB),
            memory_dynamic_min=str(memory_mib * MiB), memory_static_min=str(min(memory_mib, 512) * MiB),
            memory_target=str(memory_mib * MiB), memory_overhead=str(max(memory_mib // 100, 8) * MiB),
            VCPUs_max="2", VCPUs_at_startup="2", VCPUs_params={},
            HVM_boot_policy="" if control_domain else "BIOS order", HVM_shadow_multiplier=1.0,
            domain_type="pv" if control_domain else "hvm",
            platform={"viridian": "true" if windows else "false", "nx": "true", "acpi": "1",
                      "apic": "true", "pae": "true", "device-model": "qemu-upstream-compat"},
            other_config={}, blocked_operations={}, allowed_operations=["pool_migrate", "migrate_send"],
            current_operations={}, last_boot_CPU_flags={} if not running else
            {"vendor": "GenuineIntel", "features": VM_FLAGS},
            metrics=metrics, guest_metrics=guest, VBDs=[], VIFs=[], VGPUs=[], VUSBs=[],
            attached_PCIs=[], snapshots=[], snapshot_of="OpaqueRef:NULL",
            suspend_VDI="OpaqueRef:NULL", suspend_SR="OpaqueRef:NULL",
            ha_restart_priority=ha, ha_always_run=bool(ha), tags=tags or [],
            hardware_platform_version="2", has_vendor_device=windows, requires_reboot=False,
        )
        if host and running:
            self.rec("host", host)["resident_VMs"].append(ref)
        for userdevice, (sr, size_gib, used_gib) in enumerate(disks or []):
            self.disk(ref, name, userdevice, sr, size_gib, used_gib)
        if disks is not None:
            cd = self.add("VBD", VM=ref, VDI="OpaqueRef:NULL", type="CD", mode="RO", empty=True,
                          userdevice="3", device="xvdd", bootable=False, currently_attached=running,
                          other_config={})
            self.rec("VM", ref)["VBDs"].append(cd)
        for i, net in enumerate(networks or []):
            mac = f"16:3e:00:{self.n % 256:02x}:00:{i:02x}"
            vif = self.add("VIF", VM=ref, network=net, device=str(i), MAC=mac, MTU="1500",
                           currently_attached=running, locking_mode="network_default",
                           other_config={})
            self.rec("VM", ref)["VIFs"].append(vif)
            self.rec("network", net)["VIFs"].append(vif)
        return ref

    def disk(self, vm: str, vm_name: str, userdevice: int, sr: str, size_gib: int, used_gib: int) -> str:
        vdi = self.add("VDI", name_label=f"{vm_name} disk {userdevice}", name_description="",
                       SR=sr, virtual_size=str(size_gib * GiB), physical_utilisation=str(used_gib * GiB),
                       type="user" if userdevice else "system", sharable=False, read_only=False,
                       is_a_snapshot=False, snapshot_of="OpaqueRef:NULL", snapshots=[],
                       on_boot="persist", allow_caching=False, cbt_enabled=False, missing=False,
                       managed=True, is_tools_iso=False, sm_config={"vdi_type": "vhd"},
                       other_config={}, tags=[], VBDs=[])
        vbd = self.add("VBD", VM=vm, VDI=vdi, type="Disk", mode="RW", empty=False,
                       userdevice=str(userdevice), device=f"xvd{'abcdefgh'[userdevice]}",
                       bootable=userdevice == 0, currently_attached=True, other_config={})
        self.rec("VDI", vdi)["VBDs"].append(vbd)
        self.rec("SR", sr)["VDIs"].append(vdi)
        self.rec("VM", vm)["VBDs"].append(vbd)
        return vdi

    def pool(self, master: str, default_sr: str, *, compression: bool | None) -> str:
        fields: dict[str, Any] = dict(
            name_label=self.name, name_description="", master=master, default_SR=default_sr,
            suspend_image_SR=default_sr, crash_dump_SR=default_sr, ha_enabled=False,
            ha_allow_overcommit=False, ha_overcommitted=False, ha_host_failures_to_tolerate="0",
            ha_plan_exists_for="0", ha_statefiles=[], wlb_enabled=False, wlb_url="",
            restrictions={"restrict_xen_motion": "false", "restrict_storage_xen_motion": "false"},
            other_config={}, tags=[], cpu_info={"vendor": "GenuineIntel", "cpu_count": "64"},
        )
        if compression is not None:
            fields["migration_compression"] = compression
        return self.add("pool", **fields)

    def document(self, collected_at: str) -> dict[str, Any]:
        pool = next(iter(self.objects["pool"].values()))
        return {
            "format": "migready.inventory/1", "collected_at": collected_at,
            "collector": {"name": "migready", "version": "0.1.0"},
            "source": {"kind": "records", "file": f"{self.name}.json"},
            "pool": {"uuid": pool["uuid"], "name_label": self.name},
            "gaps": [], "objects": self.objects,
        }


def build_source(demo: bool = False) -> PoolBuilder:
    """prod-ch82: Citrix Hypervisor 8.2 CU1, two hosts, no XS82ECU1033.

    demo: ch82-h1 has XS82ECU1033, and three more VMs show problems: app-02 (Windows
    without VM Tools), legacy-01 (CentOS 6 kernel 2.6 with IPv6, local disk) and
    big-01 (192 GiB: no other host can take it when ch82-h1 is evacuated); db-01's
    second disk has changed block tracking on.
    """
    b = PoolBuilder("prod-ch82", "migready-sample-prod-ch82")
    common = dict(product="8.2.1", platform="3.2.1", xapi="1.249.32", xen="4.13.5-9.40",
                  https_only=False, updates=["XS82ECU1026", "XS82ECU1030"])
    h1 = b.host("ch82-h1", memory_gib=256, **common)
    h2 = b.host("ch82-h2", memory_gib=128, **common)
    for sr_type, mirror in (("lvmoiscsi", True), ("lvm", True), ("iso", False)):
        b.sm(sr_type, mirror)
    shared = b.sr("Shared iSCSI", "lvmoiscsi", size_gib=4096, used_gib=2048, shared=True, hosts=[h1, h2])
    local1 = b.sr("Local storage ch82-h1", "lvm", size_gib=900, used_gib=400, shared=False, hosts=[h1])
    b.sr("Local storage ch82-h2", "lvm", size_gib=900, used_gib=300, shared=False, hosts=[h2])
    b.sr("ISO library", "iso", size_gib=500, used_gib=200, shared=True, hosts=[h1, h2])
    mgmt = b.network("Pool-wide network associated with eth0", [h1, h2], management=True)
    vmnet = b.network("VM Network", [h1, h2])
    storage_net = b.network("Storage network", [h1, h2], ip=True)
    del storage_net
    b.vm("web-01", host=h1, memory_mib=8192, disks=[(shared, 40, 22)], networks=[vmnet])
    b.vm("web-02", host=h2, memory_mib=8192, disks=[(shared, 40, 20)], networks=[vmnet])
    b.vm("app-01", host=h1, memory_mib=16384, windows=True, disks=[(shared, 80, 50), (shared, 200, 120)],
         networks=[vmnet, mgmt])
    b.vm("db-01", host=h1, memory_mib=32768, disks=[(local1, 100, 70), (local1, 300, 180)], networks=[vmnet])
    b.vm("build-01", host=h2, memory_mib=4096, power="Halted", disks=[(shared, 60, 30)], networks=[vmnet])
    b.pool(h1, shared, compression=False)
    if demo:
        _demo_source(b, h1, h2, shared, vmnet)
    return b


def _demo_source(b: PoolBuilder, h1: str, h2: str, shared: str, vmnet: str) -> None:
    hotfix = b.add("pool_update", name_label="XS82ECU1033", name_description="Hotfix XS82ECU1033",
                   version="1.0", hosts=[h1], after_apply_guidance=[], enforce_homogeneity=False,
                   other_config={})
    b.rec("host", h1)["updates"].append(hotfix)
    b.vm("app-02", host=h2, memory_mib=8192, windows=True, tools=False, disks=[(shared, 60, 40)],
         networks=[vmnet])
    local2 = next(ref for ref, sr in b.objects["SR"].items() if sr["name_label"] == "Local storage ch82-h2")
    legacy = b.vm("legacy-01", host=h2, memory_mib=4096, disks=[(local2, 20, 12)], networks=[vmnet])
    guest = b.rec("VM_guest_metrics", b.rec("VM", legacy)["guest_metrics"])
    guest["os_version"] = {"name": "CentOS release 6.10 (Final)", "uname": "2.6.32-754.35.1.el6.x86_64",
                           "distro": "centos", "major": "6", "minor": "10"}
    b.vm("big-01", host=h1, memory_mib=196608, disks=[(shared, 500, 300)], networks=[vmnet],
         ha="restart")
    for vdi in b.objects["VDI"].values():
        if vdi["name_label"] == "db-01 disk 1":
            vdi["cbt_enabled"] = True


def build_destination(demo: bool = False) -> PoolBuilder:
    """dr-xs8: XenServer 8, two hosts, port 80 closed. demo: xs8-h2 has AMD CPUs."""
    b = PoolBuilder("dr-xs8", "migready-sample-dr-xs8")
    common = dict(product="8.4.0", platform="3.4.0", xapi="25.6.0", xen="4.17.5-5", https_only=True,
                  updates=[])
    h1 = b.host("xs8-h1", memory_gib=384, **common)
    h2 = b.host("xs8-h2", memory_gib=384, **common)
    for sr_type, mirror in (("lvmoiscsi", True), ("nfs", True), ("iso", False)):
        b.sm(sr_type, mirror)
    shared = b.sr("DR iSCSI", "lvmoiscsi", size_gib=8192, used_gib=1024, shared=True, hosts=[h1, h2])
    b.sr("DR NFS", "nfs", size_gib=2048, used_gib=1900, shared=True, hosts=[h1, h2])
    b.network("Pool-wide network associated with eth0", [h1, h2], management=True)
    b.network("VM Network", [h1, h2])
    b.network("Storage network", [h1, h2], ip=True, speed_mbit=25000)
    b.pool(h1, shared, compression=False)
    if demo:
        info = b.rec("host", h2)["cpu_info"]
        info.update(vendor="AuthenticAMD", modelname="AMD EPYC 7313 16-Core Processor")
    return b


def write(doc: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> int:
    for folder, demo in ((ROOT / "samples" / "pools", True), (ROOT / "tests" / "policies" / "_base", False)):
        write(build_source(demo).document("2026-11-20T09:00:00Z"), folder / "prod-ch82.json")
        write(build_destination(demo).document("2026-11-20T09:05:00Z"), folder / "dr-xs8.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
