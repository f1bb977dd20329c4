"""Deterministic synthetic XAPI database dump, shaped like the real ones in tests/data/realdata.

Same layout and encodings as `xe pool-dump-database` output (Cowley-db.xml, tampa):
`<database><manifest>…</manifest><table name=…><row …/></table>…</database>`, datamodel
dots as `__` in attribute names, maps and sets as S-expressions, and the current xapi
whitespace escaping (every space as `%.`, `%%` for `%`; free text also gets `%n`).
The pool is a XenServer 8 pool (platform_version 3.4.0) where every real VM is Running on
a host, with the records a readiness audit reads: memory fields, last_boot_CPU_flags,
cpu_info, software_version, host_metrics.memory_total, shared SRs plugged on every host,
a local SR per host, VBD/VDI/VIF/network/PIF chains, guest metrics, templates, dom0s.

    from bench.synth import write_dump
    write_dump("bench/out/pool.xml", hosts=64, vms=5000, vdis=20000, seed=1)

or `python bench/synth.py OUT.xml [--hosts N --vms M --vdis K --seed S]`.
"""

from __future__ import annotations

import argparse
import random
import uuid as uuidlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO

GiB = 1 << 30
MiB = 1 << 20
CPU_FLAGS = ("fpu de tsc msr pae mce cx8 apic sep mtrr mca cmov pat clflush acpi mmx fxsr sse "
             "sse2 ht syscall nx lm constant_tsc rep_good nopl nonstop_tsc pni pclmulqdq ssse3 "
             "fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm "
             "abm 3dnowprefetch fsgsbase bmi1 avx2 bmi2 erms rdseed adx clflushopt xsaveopt")
FEATURES = "1fcbfbff-f7fa3223-2d93fbff-00000523-0000000f-219c07a9-00000000-00000000"


# -- encodings --------------------------------------------------------------------------------

def sx_str(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sx_set(items: Iterable[str]) -> str:
    return "(" + " ".join(sx_str(i) for i in items) + ")"


def sx_map(d: dict[str, str]) -> str:
    return "(" + " ".join(f"({sx_str(k)} {sx_str(v)})" for k, v in d.items()) + ")"


def enc(value: str) -> str:
    """xapi's whitespace escaping, then XML attribute escaping."""
    v = (value.replace("%", "%%").replace(" ", "%.").replace("\t", "%t")
         .replace("\n", "%n").replace("\r", "%r"))
    return v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;")


def row(ref: str, fields: dict[str, str]) -> str:
    attrs = " ".join(f'{k}="{enc(v)}"' for k, v in fields.items())
    return f'<row ref="{ref}" {attrs} _ref="{ref}"/>'


def b(flag: bool) -> str:
    return "true" if flag else "false"


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def ref(self) -> str:
        return "OpaqueRef:" + self.uuid()


# -- the pool ---------------------------------------------------------------------------------

def write_dump(path: str | Path, hosts: int = 64, vms: int = 5000, vdis: int = 20000,
               seed: int = 1, templates: int = 60) -> Path:
    """Write the dump; returns its path. Same arguments, same bytes."""
    rng = random.Random(seed)
    ids = _Ids(rng)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t: dict[str, list[str]] = {name: [] for name in (
        "pool", "host", "host_metrics", "host_cpu", "VM", "VM_metrics", "VM_guest_metrics",
        "VBD", "VDI", "SR", "SM", "PBD", "VIF", "network", "PIF", "PIF_metrics", "Bond",
        "secret", "console", "message", "task", "session", "VBD_metrics", "VIF_metrics",
        "crashdump", "host_crashdump", "host_patch", "pool_patch", "VTPM", "PCI", "PGPU",
        "GPU_group", "VGPU", "VGPU_type")}

    host_refs = [ids.ref() for _ in range(hosts)]
    host_uuids = [ids.uuid() for _ in range(hosts)]
    pool_ref = ids.ref()
    dom0_refs = [ids.ref() for _ in range(hosts)]
    hm_refs = [ids.ref() for _ in range(hosts)]
    software_version = {
        "product_version": "8.4.0", "product_version_text": "8.4",
        "product_version_text_short": "8.4", "platform_name": "XCP",
        "platform_version": "3.4.0", "product_brand": "XenServer", "build_number": "8.4.0",
        "git_id": "0", "hostname": "localhost", "date": "2024-06-01", "dbv": "2024.0601",
        "xapi": "24.19", "xapi_build": "24.19.2", "xen": "4.17.4-3", "linux": "4.19.0+1",
        "xencenter_min": "2.21", "xencenter_max": "2.21", "network_backend": "openvswitch",
        "db_schema": "5.778"}
    cpu_info = {"cpu_count": "32", "socket_count": "2", "vendor": "GenuineIntel",
                "speed": "2394.454", "modelname": "Intel(R) Xeon(R) Gold 6240R CPU @ 2.40GHz",
                "family": "6", "model": "85", "stepping": "7", "flags": CPU_FLAGS,
                "features_pv": FEATURES, "features_hvm": FEATURES,
                "features_pv_host": FEATURES, "features_hvm_host": FEATURES}

    # networks: management + storage + 2 VM networks, one PIF per host each
    net_names = ["Pool-wide network associated with eth0", "Storage network",
                 "VM Network", "VM Network 2"]
    net_refs = [ids.ref() for _ in net_names]
    net_pifs: dict[str, list[str]] = {r: [] for r in net_refs}
    for h, href in enumerate(host_refs):
        for i, nref in enumerate(net_refs):
            pif, pm = ids.ref(), ids.ref()
            net_pifs[nref].append(pif)
            t["PIF"].append(row(pif, {
                "uuid": ids.uuid(), "device": f"eth{i}", "network": nref, "host": href,
                "MAC": f"a0:36:9f:{h:02x}:{i:02x}:01", "MTU": "1500", "VLAN": "-1",
                "metrics": pm, "physical": "true", "currently_attached": "true",
                "ip_configuration_mode": "Static" if i < 2 else "None",
                "IP": f"10.{i}.{h // 250}.{h % 250 + 1}" if i < 2 else "",
                "netmask": "255.255.0.0" if i < 2 else "", "gateway": "", "DNS": "",
                "bond_slave_of": "OpaqueRef:NULL", "VLAN_master_of": "OpaqueRef:NULL",
                "VLAN_slave_of": "()", "bond_master_of": "()", "management": b(i == 0),
                "other_config": "()", "disallow_unplug": b(i < 2), "tunnel_access_PIF_of": "()",
                "tunnel_transport_PIF_of": "()", "ipv6_configuration_mode": "None",
                "IPv6": "()", "ipv6_gateway": "", "primary_address_type": "IPv4",
                "managed": "true", "properties": "()", "capabilities": "()",
                "igmp_snooping_status": "unknown", "sriov_physical_PIF_of": "()",
                "sriov_logical_PIF_of": "()", "PCI": "OpaqueRef:NULL"}))
            t["PIF_metrics"].append(row(pm, {
                "uuid": ids.uuid(), "io__read_kbs": "0.", "io__write_kbs": "0.",
                "carrier": "true", "vendor_id": "8086", "vendor_name": "Intel Corporation",
                "device_id": "1572", "device_name": "Ethernet Controller X710 for 10GbE SFP+",
                "speed": "10000", "duplex": "true", "pci_bus_path": f"0000:3b:00.{i}",
                "last_updated": "20260101T00:00:00Z", "other_config": "()"}))
    for nref, name in zip(net_refs, net_names, strict=True):
        t["network"].append(row(nref, {
            "uuid": ids.uuid(), "name__label": name, "name__description": "",
            "allowed_operations": "()", "current_operations": "()", "MTU": "1500",
            "other_config": sx_map({"automatic": "true"}), "bridge": f"xenbr{len(t['network'])}",
            "managed": "true", "blobs": "()", "tags": "()",
            "default_locking_mode": "unlocked", "assigned_ips": "()", "purpose": "()"}))

    # storage: 3 shared SRs on every host, one local SR per host, an ISO SR
    secrets = []
    shared_srs = []
    for i, (stype, name) in enumerate([("lvmoiscsi", "Shared iSCSI"), ("nfs", "Shared NFS"),
                                       ("lvmohba", "Fast SSD SR")]):
        sr = ids.ref()
        shared_srs.append(sr)
        t["SR"].append(_sr(ids, sr, name, stype, shared=True, size=20 << 40))
        for href in host_refs:
            dc = {"target": f"10.1.0.{10 + i}", "port": "3260"}
            if stype == "lvmoiscsi":
                sec_ref, sec_uuid = ids.ref(), ids.uuid()
                secrets.append((sec_ref, sec_uuid))
                dc.update({"chapuser": "iscsi", "chappassword_secret": sec_uuid,
                           "targetIQN": "iqn.2026-01.example:storage", "SCSIid": "36001405" +
                           "0" * 24})
            elif stype == "nfs":
                dc = {"server": "nfs01.example", "serverpath": "/export/vms",
                      "nfsversion": "4.1"}
            else:
                dc = {"SCSIid": "3600a098038303053453f463045727036"}
            t["PBD"].append(_pbd(ids, sr, href, dc))
    local_srs = []
    for h, href in enumerate(host_refs):
        sr = ids.ref()
        local_srs.append(sr)
        t["SR"].append(_sr(ids, sr, "Local storage", "ext", shared=False, size=1 << 40))
        t["PBD"].append(_pbd(ids, sr, href, {"device": f"/dev/disk/by-id/nvme-host{h}-part3"}))
    iso = ids.ref()
    t["SR"].append(_sr(ids, iso, "XenServer Tools", "udev", shared=True, size=0,
                       content="iso"))
    for sec_ref, sec_uuid in secrets:
        t["secret"].append(row(sec_ref, {"uuid": sec_uuid, "value": "s3cr3t-chap-" +
                                         sec_uuid[:8], "other_config": "()"}))

    for stype in ("lvmoiscsi", "nfs", "lvmohba", "ext", "udev", "iso", "lvm", "gfs2"):
        t["SM"].append(row(ids.ref(), {
            "uuid": ids.uuid(), "name__label": stype, "name__description": f"SR plugin {stype}",
            "type": stype, "vendor": "Citrix Systems Inc", "copyright": "(C) 2024 Cloud Software Group",
            "version": "1.0", "required_api_version": "1.0",
            "configuration": sx_map({"chapuser": "CHAP username",
                                     "chappassword": "CHAP password"}),
            "capabilities": sx_set(["SR_PROBE", "VDI_CREATE", "VDI_SNAPSHOT", "VDI_MIRROR"]),
            "features": sx_map({"SR_PROBE": "1", "VDI_MIRROR": "1"}), "other_config": "()",
            "driver_filename": f"/opt/xensource/sm/{stype}SR", "required_cluster_stack": "()"}))

    # hosts, their metrics, CPUs, control domains. A real pool cannot hold more than its
    # memory: hosts are sized for their share of the VMs (7.5 GiB on average) at about 70%
    # use, and never below 512 GiB.
    host_gib = max(512, -(-int(vms / hosts * 7.5 * 1.4) // 128) * 128)
    for h, href in enumerate(host_refs):
        t["host"].append(row(href, {
            "uuid": host_uuids[h], "name__label": f"xs{h + 1:02d}", "name__description": "",
            "hostname": f"xs{h + 1:02d}.example", "address": f"10.0.{h // 250}.{h % 250 + 1}",
            "enabled": "true", "metrics": hm_refs[h], "software_version": sx_map(software_version),
            "cpu_info": sx_map(cpu_info), "API_version__major": "2", "API_version__minor": "21",
            "API_version__vendor": "XenSource", "API_version__vendor_implementation": "()",
            "memory__overhead": str(4 * GiB // 1000), "edition": "xenserver-premium",
            "license_params": sx_map({"sku_type": "xenserver-premium", "expiry": "20300101T00:00:00Z"}),
            "capabilities": sx_set(["xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_64"]),
            "other_config": sx_map({"iscsi_iqn": f"iqn.2026-01.example:xs{h + 1:02d}"}),
            "control_domain": dom0_refs[h], "suspend_image_sr": local_srs[h],
            "crash_dump_sr": local_srs[h], "local_cache_sr": "OpaqueRef:NULL",
            "sched_policy": "credit", "https_only": "false", "tags": "()", "blobs": "()",
            "allowed_operations": sx_set(["provision", "evacuate"]), "current_operations": "()",
            "ha_statefiles": "()", "ha_network_peers": "()", "external_auth_type": "",
            "external_auth_service_name": "", "external_auth_configuration": "()",
            "bios_strings": "()", "power_on_mode": "", "power_on_config": "()",
            "chipset_info": sx_map({"iommu": "true"}), "guest_VCPUs_params": "()",
            "virtual_hardware_platform_versions": sx_set(["0", "1", "2"]),
            "display": "enabled", "ssl_legacy": "false", "tls_verification_enabled": "true",
            "iscsi_iqn": f"iqn.2026-01.example:xs{h + 1:02d}", "multipathing": "true"}))
        t["host_metrics"].append(row(hm_refs[h], {
            "uuid": ids.uuid(), "memory__total": str(host_gib * GiB),
            "memory__free": str(host_gib * GiB * 3 // 10),
            "live": "true", "last_updated": "20260101T00:00:00Z", "other_config": "()"}))
        for c in range(16):
            t["host_cpu"].append(row(ids.ref(), {
                "uuid": ids.uuid(), "host": href, "number": str(c), "vendor": "GenuineIntel",
                "speed": "2394", "modelname": cpu_info["modelname"], "family": "6",
                "model": "85", "stepping": "7", "flags": CPU_FLAGS, "features": FEATURES,
                "utilisation": "0.", "other_config": "()"}))
        _vm(t, ids, rng, dom0_refs[h], name=f"Control domain on host: xs{h + 1:02d}",
            host=href, dom0=True, guest_metrics="OpaqueRef:NULL")

    for i in range(templates):
        _vm(t, ids, rng, ids.ref(), name=f"Template {i}", host="OpaqueRef:NULL", template=True,
            guest_metrics="OpaqueRef:NULL")

    # VMs with their disks and NICs; VDIs spread over VMs (all attached)
    vm_refs = [ids.ref() for _ in range(vms)]
    per_vm = [vdis // vms + (1 if i < vdis % vms else 0) for i in range(vms)]
    for v, vref in enumerate(vm_refs):
        host = host_refs[v % hosts]
        gm = ids.ref()
        windows = v % 3 == 0
        _vm(t, ids, rng, vref, name=f"vm-{v:05d}", host=host, guest_metrics=gm,
            windows=windows)
        os_version = ({"name": "Microsoft Windows Server 2022 Standard|C:\\Windows|"
                       "\\Device\\Harddisk0\\Partition2", "distro": "windows",
                       "major": "10", "minor": "0", "spmajor": "0", "spminor": "0"}
                      if windows else {"name": "Rocky Linux 9.4 (Blue Onyx)", "distro": "rhel",
                                       "major": "9", "minor": "4",
                                       "uname": "5.14.0-427.13.1.el9_4.x86_64"})
        t["VM_guest_metrics"].append(row(gm, {
            "uuid": ids.uuid(), "os_version": sx_map(os_version),
            "PV_drivers_version": sx_map({"major": "9", "minor": "3", "micro": "3",
                                          "build": "94"}),
            "PV_drivers_up_to_date": "true", "PV_drivers_detected": "true",
            "memory": "()", "disks": "()",
            "networks": sx_map({"0/ip": f"192.168.{v // 250 % 250}.{v % 250 + 1}",
                                "0/ipv4/0": f"192.168.{v // 250 % 250}.{v % 250 + 1}"}),
            "other": sx_map({"feature-suspend": "1", "has-vendor-device": "0",
                             "platform-feature-multiprocessor-suspend": "1"}),
            "last_updated": "20260101T00:00:00Z", "other_config": "()", "live": "true",
            "can_use_hotplug_vbd": "yes", "can_use_hotplug_vif": "yes", "netbios_name": "()"}))
        sr_choice = local_srs[v % hosts] if v % 10 == 0 else shared_srs[v % len(shared_srs)]
        for d in range(per_vm[v]):
            vdi = ids.ref()
            size = rng.choice((20, 40, 60, 100, 200)) * GiB
            t["VDI"].append(row(vdi, {
                "uuid": ids.uuid(), "name__label": f"vm-{v:05d} disk {d}",
                "name__description": "Created by template provisioner", "SR": sr_choice,
                "virtual_size": str(size), "physical_utilisation": str(size // 3),
                "type": "user", "sharable": "false", "read_only": "false",
                "storage_lock": "false", "managed": "true", "missing": "false",
                "parent": "OpaqueRef:NULL", "location": ids.uuid(),
                "xenstore_data": sx_map({"vdi-type": "user"}),
                "sm_config": sx_map({"vdi_type": "vhd", "host_OpaqueRef:x": "RW"}),
                "other_config": "()", "is_a_snapshot": "false", "snapshot_of": "OpaqueRef:NULL",
                "snapshot_time": "19700101T00:00:00Z", "tags": "()", "allow_caching": "false",
                "on_boot": "persist", "metadata_of_pool": "OpaqueRef:NULL",
                "metadata_latest": "false", "is_tools_iso": "false", "cbt_enabled": "false",
                "allowed_operations": sx_set(["snapshot", "clone", "copy", "mirror"]),
                "current_operations": "()"}))
            t["VBD"].append(_vbd(ids, vref, vdi, str(d), "Disk"))
        t["VBD"].append(_vbd(ids, vref, "OpaqueRef:NULL", "3", "CD", empty=True))
        for n in range(2):
            t["VIF"].append(row(ids.ref(), {
                "uuid": ids.uuid(), "device": str(n), "network": net_refs[2 + n], "VM": vref,
                "MAC": f"ee:{v >> 16 & 255:02x}:{v >> 8 & 255:02x}:{v & 255:02x}:00:{n:02x}",
                "MTU": "1500", "currently_attached": "true", "status_code": "0",
                "status_detail": "", "runtime_properties": "()", "other_config": "()",
                "qos__algorithm_type": "", "qos__algorithm_params": "()",
                "qos__supported_algorithms": "()", "metrics": "OpaqueRef:NULL",
                "MAC_autogenerated": "true", "locking_mode": "network_default",
                "ipv4_allowed": "()", "ipv6_allowed": "()", "ipv4_configuration_mode": "None",
                "ipv4_addresses": "()", "ipv4_gateway": "", "ipv6_configuration_mode": "None",
                "ipv6_addresses": "()", "ipv6_gateway": "", "reserved_pci": "OpaqueRef:NULL",
                "allowed_operations": sx_set(["attach", "unplug"]),
                "current_operations": "()"}))

    t["pool"].append(row(pool_ref, {
        "uuid": ids.uuid(), "name__label": "bench-pool", "name__description": "synthetic",
        "master": host_refs[0], "default_SR": shared_srs[0], "suspend_image_SR": shared_srs[0],
        "crash_dump_SR": shared_srs[0], "other_config": sx_map({"memory-ratio-hvm": "0.25"}),
        "ha_enabled": "false", "ha_configuration": "()", "ha_statefiles": "()",
        "ha_host_failures_to_tolerate": "0", "ha_plan_exists_for": "0",
        "ha_allow_overcommit": "false", "ha_overcommitted": "false", "blobs": "()",
        "tags": "()", "gui_config": "()", "wlb_url": "", "wlb_username": "",
        "wlb_password": "OpaqueRef:NULL", "wlb_enabled": "false", "wlb_verify_cert": "false",
        "redo_log_enabled": "false", "redo_log_vdi": "OpaqueRef:NULL",
        "vswitch_controller": "", "restrictions": sx_map({
            "restrict_vswitch_controller": "false", "restrict_xen_motion": "false",
            "restrict_storage_xen_motion": "false", "restrict_dmc": "false",
            "restrict_vgpu": "false", "enable_xha": "true"}),
        "metadata_VDIs": "()", "cpu_info": sx_map(cpu_info), "policy_no_vendor_device": "false",
        "live_patching_disabled": "false", "migration_compression": "false",
        "tls_verification_enabled": "true", "repositories": "()"}))
    t["message"].append(row(ids.ref(), {"uuid": ids.uuid(), "name": "HA_POOL_OVERCOMMITTED",
                                        "body": "x", "priority": "3"}))

    manifest = {"schema_major_vsn": "5", "schema_minor_vsn": "778",
                "generation_count": str(100000 + seed), "pool_token": ids.uuid() + "/" +
                ids.uuid() + "/" + ids.uuid(), "pool_conf": "master"}
    with path.open("w", encoding="utf-8") as out:
        _write(out, manifest, t)
    return path


def _write(out: IO[str], manifest: dict[str, str], tables: dict[str, list[str]]) -> None:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<database><manifest>')
    for k, v in manifest.items():
        out.write(f'<pair key="{k}" value="{enc(v)}"/>')
    out.write("</manifest>")
    for name, rows in tables.items():
        if not rows:
            out.write(f'<table name="{name}"/>')
            continue
        out.write(f'<table name="{name}">')
        for i in range(0, len(rows), 1000):
            out.write("".join(rows[i:i + 1000]))
        out.write("</table>")
    out.write("</database>\n")


def _sr(ids: _Ids, ref: str, name: str, stype: str, *, shared: bool, size: int,
        content: str = "user") -> str:
    return row(ref, {
        "uuid": ids.uuid(), "name__label": name, "name__description": f"{stype} SR",
        "type": stype, "content_type": content, "shared": b(shared),
        "physical_size": str(size), "physical_utilisation": str(size // 2),
        "virtual_allocation": str(size // 2), "sm_config": sx_map({"allocation": "thick"}),
        "other_config": sx_map({"auto-scan": "true"}), "allowed_operations":
        sx_set(["vdi_create", "vdi_snapshot", "vdi_mirror", "scan"]), "current_operations": "()",
        "tags": "()", "blobs": "()", "local_cache_enabled": "false",
        "introduced_by": "OpaqueRef:NULL", "clustered": "false", "is_tools_sr": "false"})


def _pbd(ids: _Ids, sr: str, host: str, device_config: dict[str, str]) -> str:
    return row(ids.ref(), {"uuid": ids.uuid(), "host": host, "SR": sr,
                           "device_config": sx_map(device_config), "currently_attached": "true",
                           "other_config": "()"})


def _vbd(ids: _Ids, vm: str, vdi: str, userdevice: str, kind: str, empty: bool = False) -> str:
    return row(ids.ref(), {
        "uuid": ids.uuid(), "VM": vm, "VDI": vdi, "device": "" if empty else f"xvd{userdevice}",
        "userdevice": userdevice, "bootable": b(userdevice == "0"), "mode": "RO" if empty else
        "RW", "type": kind, "unpluggable": "true", "storage_lock": "false", "empty": b(empty),
        "currently_attached": b(not empty), "status_code": "0", "status_detail": "",
        "runtime_properties": "()", "other_config": "()", "qos__algorithm_type": "",
        "qos__algorithm_params": "()", "qos__supported_algorithms": "()",
        "metrics": "OpaqueRef:NULL", "allowed_operations": sx_set(["attach", "unplug"]),
        "current_operations": "()"})


def _vm(t: dict[str, list[str]], ids: _Ids, rng: random.Random, ref: str, *, name: str,
        host: str, guest_metrics: str, dom0: bool = False, template: bool = False,
        windows: bool = False) -> None:
    metrics = ids.ref()
    running = not template
    mem = (4 * GiB if dom0 else rng.choice((2, 4, 8, 16)) * GiB)
    vcpus = "16" if dom0 else str(rng.choice((2, 4, 8)))
    uuid = ids.uuid()
    platform = {"timeoffset": "0", "device-model": "qemu-upstream-compat", "viridian": b(windows),
                "acpi": "1", "apic": "true", "pae": "true", "nx": "true", "vga": "std",
                "videoram": "8", "secureboot": "false"}
    last_boot_flags = {"vendor": "GenuineIntel", "features": FEATURES} if running else {}
    t["VM"].append(row(ref, {
        "uuid": uuid, "name__label": name, "name__description": "" if dom0 else
        "Created by bench/synth.py: a VM with 50% of its memory in use",
        "power_state": "Running" if running else "Halted", "user_version": "1",
        "is_a_template": b(template), "is_default_template": b(template),
        "is_a_snapshot": "false", "snapshot_of": "OpaqueRef:NULL",
        "snapshot_time": "19700101T00:00:00Z", "transportable_snapshot_id": "",
        "is_control_domain": b(dom0), "resident_on": host, "affinity": host,
        "scheduled_to_be_resident_on": "OpaqueRef:NULL", "suspend_VDI": "OpaqueRef:NULL",
        "suspend_SR": "OpaqueRef:NULL", "domid": "0" if dom0 else ("-1" if template else
                                                                       str(rng.randrange(1, 999))),
        "domarch": "", "memory__overhead": str(mem // 100), "memory__target": str(mem),
        "memory__static_max": str(mem), "memory__dynamic_max": str(mem),
        "memory__dynamic_min": str(mem), "memory__static_min": str(mem // 4),
        "VCPUs__params": sx_map({"weight": "256"}), "VCPUs__max": vcpus,
        "VCPUs__at_startup": vcpus, "actions__after_shutdown": "destroy",
        "actions__after_reboot": "restart", "actions__after_crash": "restart",
        "actions__after_softreboot": "soft_reboot",
        "PV__bootloader": "", "PV__kernel": "", "PV__ramdisk": "", "PV__args": "",
        "PV__bootloader_args": "", "PV__legacy_args": "",
        "HVM__boot_policy": "" if dom0 else "BIOS order",
        "HVM__boot_params": "()" if dom0 else sx_map({"order": "cdn", "firmware": "uefi"}),
        "HVM__shadow_multiplier": "1.", "platform": "()" if dom0 else sx_map(platform),
        "PCI_bus": "", "other_config": sx_map({"mac_seed": ids.uuid(), "base_template_name":
                                               "Rocky Linux 9", "import_task": ids.ref()}),
        "last_boot_CPU_flags": sx_map(last_boot_flags), "metrics": metrics,
        "guest_metrics": guest_metrics, "last_booted_record": "" if not running else
        "('struct' ('uuid' '" + uuid + "') ('power_state' 'Running') ('name_label' '" + name +
        "'))", "recommendations": '<restrictions><restriction field="memory-static-max" '
        'max="1649267441664"/><restriction field="vcpus-max" max="64"/></restrictions>',
        "xenstore_data": sx_map({"vm-data": "", "vm-data/mmio-hole-size": "268435456"}),
        "ha_always_run": "false", "ha_restart_priority": "", "tags": "()",
        "blocked_operations": "()", "snapshot_info": "()", "snapshot_metadata": "",
        "parent": "OpaqueRef:NULL", "bios_strings": sx_map({"bios-vendor": "Xen",
                                                             "system-manufacturer": "Xen"}),
        "protection_policy": "OpaqueRef:NULL", "is_snapshot_from_vmpp": "false",
        "snapshot_schedule": "OpaqueRef:NULL", "is_vmss_snapshot": "false",
        "appliance": "OpaqueRef:NULL", "start_delay": "0", "shutdown_delay": "0", "order": "0",
        "version": "0", "generation_id": "", "hardware_platform_version": "2",
        "has_vendor_device": b(windows), "requires_reboot": "false", "reference_label": "",
        "domain_type": "pv" if dom0 else "hvm", "NVRAM": "()",
        "allowed_operations": sx_set(["pool_migrate", "migrate_send", "snapshot",
                                      "clean_shutdown", "hard_shutdown", "suspend"]),
        "current_operations": "()", "blobs": "()", "pending_guidances": "()",
        "attached_PCIs": "()"}))
    t["VM_metrics"].append(row(metrics, {
        "uuid": ids.uuid(), "memory__actual": str(mem), "VCPUs__number": vcpus,
        "VCPUs__utilisation": sx_map({str(i): "0." for i in range(int(vcpus))}),
        "VCPUs__CPU": "()", "VCPUs__params": "()", "VCPUs__flags": "()", "state": "()",
        "start_time": "20260101T00:00:00Z", "install_time": "20250101T00:00:00Z",
        "last_updated": "19700101T00:00:00Z", "other_config": "()", "hvm": b(not dom0),
        "nested_virt": "false", "nomigrate": "false", "current_domain_type":
        "pv" if dom0 else ("unspecified" if template else "hvm")}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--vms", type=int, default=5000)
    ap.add_argument("--vdis", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    path = write_dump(args.out, hosts=args.hosts, vms=args.vms, vdis=args.vdis, seed=args.seed)
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
