"""Facts about networks: management, SR-IOV, where a network has an IP address."""

from __future__ import annotations

from checker.facts.core import Obj, as_bool, fact


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
