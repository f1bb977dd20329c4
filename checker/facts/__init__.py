"""Facts about XenAPI objects: the one package that knows XAPI's quirks.

Rules never read raw records; they read facts, computed here once per object and
cached. A fact that cannot be established (a field this XenServer version lacks, a
missing metrics row, a dangling reference) raises `Missing` with the reason; reading
it from a rule yields `unknown` naming the fact, never `pass`.

Where XAPI itself decides (free memory, CPU features, versions, on-boot=reset), the
computation follows XAPI's, with the xen-api file and function named in the docstring
(tests/test_fidelity.py pins each case against a derived pool). One module per XAPI
concept: `pool`, `host`, `versions`, `storage` (SR, VDI), `network`, `vm`, `gpu`;
`core` holds the machinery.
"""

from __future__ import annotations

from typing import Any

# Importing each concept's module registers its facts.
from checker.facts import gpu, host, network, pool, storage, versions, vm  # noqa: F401
from checker.facts.core import (
    FACTS,
    MiB,
    Missing,
    Obj,
    UnknownFact,
    World,
    _identity_facts,
    current_reads,
    evidence_value,
    features_subset,
    is_real_vm,
    recording,
    version_tuple,
)
from checker.inventory import Inventory

__all__ = ["FACTS", "MiB", "Missing", "Obj", "UnknownFact", "World", "current_reads",
           "evidence_value", "features_subset", "is_real_vm", "recording", "summarize",
           "version_tuple"]

for cls_ in ("pool", "host", "VM", "SR", "VDI", "network", "PCI", "VGPU", "PGPU"):
    _identity_facts(cls_)


def summarize(inv: Inventory) -> dict[str, Any]:
    """Counts for the one-line summary after import or collect (real VMs only)."""
    vms = [rec for _, rec in inv.all("VM") if is_real_vm(rec)]
    hosts_ = [h for _, h in inv.all("host")]
    world = World([inv])
    labels = []
    for ref, _ in inv.all("host"):
        member = world.obj(0, "host", ref)
        try:
            labels.append(f"{member.name}: {world.value(member, 'product')}")
        except Missing:
            labels.append(f"{member.name}: version unknown")
    return {
        "pool": inv.name,
        "hosts": len(hosts_),
        "vms": len(vms),
        "running": sum(rec.get("power_state") == "Running" for rec in vms),
        "srs": sum(1 for _ in inv.all("SR")),
        "vdis": sum(1 for _ in inv.all("VDI")),
        "gaps": len(inv.gaps),
        "host_versions": sorted(labels),
    }
