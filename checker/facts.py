"""Facts about XenAPI objects: the one module that knows XAPI's quirks."""

from __future__ import annotations

from typing import Any


def summarize(inv: Any) -> dict[str, Any]:
    """Counts for the one-line summary after import or collect (real VMs only)."""
    vms = [vm for _, vm in inv.all("VM") if is_real_vm(vm)]
    hosts = [h for _, h in inv.all("host")]
    return {
        "pool": inv.name,
        "hosts": len(hosts),
        "vms": len(vms),
        "running": sum(vm.get("power_state") == "Running" for vm in vms),
        "srs": sum(1 for _ in inv.all("SR")),
        "vdis": sum(1 for _ in inv.all("VDI")),
        "gaps": len(inv.gaps),
        "host_versions": sorted(
            f"{h.get('name_label')}: "
            f"{(h.get('software_version') or {}).get('product_brand', 'XenServer')} "
            f"{(h.get('software_version') or {}).get('product_version', '?')}"
            for h in hosts
        ),
    }


def is_real_vm(vm: dict[str, Any]) -> bool:
    """A guest VM: not a template, snapshot or control domain."""
    return not (vm.get("is_a_template") or vm.get("is_a_snapshot") or vm.get("is_control_domain"))
