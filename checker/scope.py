"""What a rule expression may read: its variables, and the plan-level facts of an operation.

Object facts (VM, host, SR…) are registered in `facts.py`. The facts here describe the
move itself (where the plan sends things, what else the plan sends there, waves) and
are computed by `evaluate.py`. The policy loader checks every name a rule reads
against these tables, so a typo is a load error, not a silent `pass`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checker.facts import UnknownFact, current_reads

#: Variable name -> the class of what it holds ("op", "settings" are pseudo-classes).
VARIABLES: dict[str, str] = {
    "vm": "VM",             # the VM being moved (every kind but the host-level evacuate op)
    "host": "host",         # evacuate: the host being evacuated
    "src_host": "host",     # where the VM runs now (its home host when halted)
    "dst_host": "host",     # where the plan sends it (None for a vdi move: it stays)
    "src_pool": "pool",
    "dst_pool": "pool",
    "vdi": "VDI",           # vdi: the disk being moved
    "dst_sr": "SR",         # vdi: where it goes
    "op": "op",
    "settings": "settings",
}

#: Pseudo-class -> attribute -> (returns, doc). "returns" as in facts.FactSpec.
PLAN_FACTS: dict[str, dict[str, tuple[str, str]]] = {
    "op": {
        "id": ("value", "Operation id (op-1, op-2…)."),
        "kind": ("value", "live, storage, vdi or evacuate."),
        "wave": ("value", "The plan wave (moves of one wave run at the same time)."),
        "cross_pool": ("value", "The destination is another pool."),
        "compress": ("value", "The move's explicit compress option (true/false), or None."),
        "dst_free_memory": ("value", "XAPI's free memory on dst_host minus what earlier moves of "
                                     "the plan send there."),
        "memory_planned_before": ("value", "Bytes earlier moves of the plan send to dst_host."),
        "spare_host_for_halted": ("host", "A source-pool host with room to start the halted VM "
                                          "(MEM-002), or None."),
        "disk_moves": ("list:disk_move", "Each disk of the VM with its source and destination SR."),
        "dst_srs": ("list:sr_demand", "Each destination SR with what the whole plan sends to it."),
        "src_srs": ("list:sr_demand", "Each source SR with room needed for temporary snapshots."),
        "network_map": ("list:vif_map", "Each VIF network with the network it maps to."),
        "migration_network": ("network", "The storage/migration network chosen, or None."),
        "migration_network_is_management": ("value", "The migration traffic uses the management "
                                                     "network (none was chosen, or it is it)."),
        "bandwidth": ("value", "Migration bandwidth in bit/s used for estimates."),
        "bandwidth_source": ("value", "Where the bandwidth came from: plan, nic or default."),
        "estimate_seconds": ("value", "Estimated duration of the move."),
        "window_seconds": ("value", "The plan's window in seconds, or None."),
        "wave_storage_moves_from_pool": ("value", "Storage/vdi moves of the same source pool in "
                                                  "this wave (GEN-003)."),
        "wave_live_moves_from_pool": ("value", "Live moves of the same source pool in this wave."),
        "wave_moves_of_vm": ("value", "Moves of this VM in this wave (GEN-008)."),
        "cvd_declared": ("value", "The plan declares a Citrix Virtual Desktops deployment."),
        "mcs_declared": ("value", "The plan lists this VM as created by MCS."),
        "same_host": ("value", "The destination host is the source host."),
        "evacuation_targets": ("list:host", "Hosts XAPI would place evacuated VMs on: the "
                                             "other enabled hosts, not older (evacuate)."),
        "unplaced_vms": ("list:VM", "Resident VMs that biggest-fit-decreasing could not place "
                                    "(evacuate)."),
        "refused_vms": ("list:VM", "Resident VMs some target refuses (assert_can_boot_here)."),
        "evacuation_decided": ("value", "True, or unknown: what the plan could not read."),
        "ha_plan_kept": ("value", "Disabling the host keeps HA's failover plan, or unknown."),
        "blocked_vms": ("list:VM", "Resident VMs whose own live-migration rules fail (evacuate)."),
        "resident_vm_count": ("value", "VMs to evacuate."),
        "batch_size": ("value", "Evacuation batch size (evacuate)."),
        "batches": ("value", "Number of evacuation batches."),
        "placement": ("value", "VM name -> host name chosen by the evacuation plan."),
        "vgpu_placement": ("value", "Each vGPU of the VM with the dst_host pGPU XAPI would give it "
                                    "(pgpu None: no room) and whether that passes (ok) (LIM-014)."),
    },
    "settings": {
        "fast_network": ("value", "Bandwidth in bit/s below which compression and a faster NIC "
                                  "are advised (default 10 Gbit/s)."),
        "evacuation_batch_size": ("value", "Default 10, as xapi.conf."),
    },
    "disk_move": {
        "vdi": ("VDI", "The disk."),
        "src_sr": ("SR", "Where it is."),
        "dst_sr": ("SR", "Where the plan maps it, or None when unmapped."),
        "moves": ("value", "It changes SR."),
    },
    "sr_demand": {
        "sr": ("SR", "The SR."),
        "needed": ("value", "Bytes needed on it by this and earlier moves of the plan."),
        "disks": ("list:VDI", "The disks counted."),
        "size": ("value", "Their size, as the SR allocates it: physical on a thin SR, else virtual."),
        "thin": ("value", "The SR is thin-provisioned, so the disks count at their physical size."),
        "with_snapshots": ("value", "Some counted disk has snapshots (more is needed)."),
    },
    "vif_map": {
        "network": ("network", "The VIF's network in the source pool."),
        "dst_network": ("network", "The mapped network, or None."),
        "snapshot": ("VM", "The snapshot whose VIF this is, or None for the VM's own."),
    },
}


@dataclass
class PlanFacts:
    """A bag of plan-level facts; reading one that was not set is an unknown, not an error."""

    cls: str
    values: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    #: Facts computed on first read (the audit tries thousands of moves; most rules
    #: read few of their facts).
    lazy: dict[str, Callable[[], Any]] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        """The value (computing a lazy one), or Unestablished; never raises."""
        if name not in self.values and name in self.lazy:
            self.values[name] = self.lazy.pop(name)()
        return self.values.get(name, MISSING)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in {"cls", "values", "label", "lazy"}:
            raise AttributeError(name)
        value = self.get(name)
        path = f"{self.label or self.cls}.{name}"
        if isinstance(value, Unestablished):
            raise UnknownFact(path, value.reason)
        reads = current_reads()
        if reads is not None and self.cls in {"op", "settings"}:
            reads[path] = value
        return value

    @property
    def name(self) -> str:
        inner = self.values.get("sr") or self.values.get("vdi") or self.values.get("network")
        return str(getattr(inner, "name", self.label or self.cls))


class Unestablished:
    """A plan-level fact that could not be computed, with the reason (an unknown fact)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<unestablished: {self.reason}>"


MISSING = Unestablished("not established for this move")
