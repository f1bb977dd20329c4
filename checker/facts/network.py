"""Facts about networks: management, SR-IOV, where a network has an IP address, the
VIFs a storage migration maps to networks."""

from __future__ import annotations

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
    """Hosts where this network has an attached PIF with an IP address (XAPI C6/D17)."""
    out = []
    for _, pif in o.inv.get_many("PIF", o.record.get("PIFs", [])):
        has_ip = pif.get("IP") or [a for a in pif.get("IPv6", []) if a]
        if as_bool(pif.get("currently_attached", False)) and has_ip and o.inv.get("host", pif.get("host")):
            out.append(o.world.obj(o.pool, "host", pif["host"]))
    return out


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
