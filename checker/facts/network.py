"""Facts about networks: management, SR-IOV, where a network has an IP address, the
VIFs a storage migration maps to networks."""

from __future__ import annotations

import contextlib
import ipaddress

from checker.facts.core import Missing, Obj, as_bool, fact
from checker.inventory import is_ref


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
    """Hosts where host.migrate_receive finds this network an address to receive a storage
    migration on (xapi_host.ml migrate_receive, D17): the host's PIF of the network has an
    address of its primary_address_type, `IP` for IPv4 or a non-link-local `IPv6` entry
    (else PIF_HAS_NO_NETWORK_CONFIGURATION or INTERFACE_HAS_NO_IP). XAPI does not ask
    whether the PIF is plugged, so neither does this."""
    first: dict[str, str] = {}  # host -> its first PIF of network.PIFs, the one XAPI takes
    for ref, pif in o.inv.get_many("PIF", o.record.get("PIFs", [])):
        first.setdefault(pif.get("host") or "", ref)
    return [o.world.obj(o.pool, "host", host) for host, pif in first.items()
            if o.inv.get("host", host) and _primary_address(o.world.obj(o.pool, "PIF", pif))]


def _primary_address(pif: Obj) -> str:
    """The address migrate_receive reads, or "" (Xapi_pif_helpers.get_non_link_ipv6 keeps the
    CIDR entries whose address is not link-local)."""
    kind = pif.field("primary_address_type")
    if kind == "IPv4":
        return str(pif.field("IP") or "")
    if kind == "IPv6":
        for entry in pif.field("IPv6") or []:
            with contextlib.suppress(ValueError):
                if "/" in entry and not (address := ipaddress.IPv6Interface(entry).ip).is_link_local:
                    return str(address)
        return ""
    raise Missing(f"PIF {pif.name} has primary_address_type {kind!r}, neither IPv4 nor IPv6")


@fact("VM")
def migrated_vifs(o: Obj) -> list[tuple[Obj | None, str, Obj]]:
    """(snapshot or None, MAC, network) of each VIF of the VM and of its snapshots: a
    cross-pool migration sends the snapshots too, and XAPI wants every one of these VIFs
    mapped, inferring a VIF's network from a mapped VIF of the same MAC
    (xapi_vm_migrate.ml assert_can_migrate, infer_vif_map)."""
    records = [(None, o.field("VIFs"))] + [
        (o.world.obj(o.pool, "VM", ref), rec.get("VIFs") or [])
        for ref, rec in o.inv.get_many("VM", o.field("snapshots") or [])]
    out: list[tuple[Obj | None, str, Obj]] = []
    for snapshot, vifs in records:
        for ref in filter(is_ref, vifs):
            vif = o.inv.get("VIF", ref)
            net = o.inv.get("network", vif.get("network")) if vif else None
            if vif is None or net is None:
                owner = f"snapshot {snapshot.name}" if snapshot else "the VM"
                raise Missing(f"VIF {ref} of {owner} or its network is not in the inventory")
            out.append((snapshot, str(vif.get("MAC", "")),
                        o.world.obj(o.pool, "network", vif["network"], f"network[{net.get('name_label')}]")))
    return out
