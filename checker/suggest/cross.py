"""Moves to another pool: storage live migrations, each disk onto an SR of the destination
host with room for the 3x rule (DISK-001, counting what the plan's earlier disks take), each
VIF's network onto the destination pool's network of the same name. The rules are asked of
the storage move with those choices (every blocker rule but memory, which the Placer counts),
so a host is accepted only with an SR for every disk."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from checker.errors import InputError
from checker.evaluate import Finding, evaluate
from checker.facts import Missing, Obj, World
from checker.plan import Move, Plan, Settings
from checker.policy import RuleSet
from checker.suggest.placement import Placer, blocks_placement, gib
from checker.suggest.written import selector_of

#: DISK-001: storage live migration needs three times the disk's size free on its SR.
SPACE_FACTOR = 3


class CrossPlacer(Placer):
    """Places VMs on the hosts of another pool, with an SR per disk and a network per VIF."""

    def __init__(self, world: World, rules: RuleSet, hosts: list[Obj], keep_free: str | None,
                 pool: int) -> None:
        super().__init__(world, rules, hosts, keep_free)
        self.pool = pool
        #: Bytes the plan's placed disks take on each SR (3x their size, as DISK-001 counts).
        self.sr_used: dict[Obj, int] = defaultdict(int)
        #: (VM, host) -> each disk's SR, for the hosts that have one for every disk.
        self.storage: dict[tuple[Obj, Obj], dict[Obj, Obj]] = {}
        self.networks: dict[Obj, dict[Obj, Obj]] = {}

    def place(self, vms: list[Obj]) -> tuple[list[tuple[Obj, Obj]], list[str]]:
        self.networks = {vm: self._networks(vm) for vm in vms}
        return super().place(vms)

    def _networks(self, vm: Obj) -> dict[Obj, Obj]:
        """Each network of the VM's VIFs -> the destination pool's network of the same name
        (the migration wizard's proposal); InputError with the candidates when there is none.
        Snapshots' VIFs are left to the evaluator's defaults (by name, else by MAC)."""
        by_name = {net.name: net for net in self._all("network")}
        out: dict[Obj, Obj] = {}
        try:
            vifs = self.world.value(vm, "migrated_vifs")
        except Missing:
            return out  # SXM-005 says it, undecided, when the rules are asked
        for snapshot, _, net in vifs:
            if snapshot is not None or net in out:
                continue
            if net.name not in by_name:
                raise InputError(
                    f"--to {self.world.inventories[self.pool].name}: VM '{vm.name}' has a VIF on "
                    f"network '{net.name}', and the pool has no network of that name; its networks: "
                    + ", ".join(sorted(by_name)))
            out[net] = by_name[net.name]
        return out

    def _all(self, cls: str) -> list[Obj]:
        inv = self.world.inventories[self.pool]
        return [self.world.obj(self.pool, cls, ref) for ref, _ in inv.all(cls)]

    def _problems(self, vms: list[Obj]) -> dict[Obj, dict[Obj, list[Finding]]]:
        """Nothing up front: the rules are asked per VM, once its disks have SRs (_accepting)."""
        return {}

    def _accepting(self, vm: Obj, problems: dict[Obj, list[Finding]]
                   ) -> tuple[list[Obj], dict[Obj, dict[str, str]]]:
        no_sr: dict[Obj, str] = {}
        for host in self.hosts:
            choice = self._disks_onto(vm, host)
            if isinstance(choice, str):
                no_sr[host] = choice
            else:
                self.storage[(vm, host)] = choice
        accepting, why = super()._accepting(vm, self._probe(vm, [h for h in self.hosts if h not in no_sr]))
        for host, words in no_sr.items():
            why.setdefault(host, {})["no SR"] = words
        return [h for h in accepting if h not in no_sr], why

    def _disks_onto(self, vm: Obj, host: Obj) -> dict[Obj, Obj] | str:
        """Each disk of the VM -> the SR attached to `host` that takes storage migration and has
        the most room left for it (3x its size, after the plan's earlier disks), biggest disk
        first, ties by name; or why some disk has none."""
        srs = [sr for sr in self.world.value(host, "attached_srs") if self._takes_disks(sr)]
        if not srs:
            return f"no SR attached to host '{host.name}' takes storage migration"
        room = {sr: self.world.value(sr, "free") - self.sr_used[sr] for sr in srs}
        choice: dict[Obj, Obj] = {}
        try:
            needs = {disk: {sr: self._need(disk, sr) for sr in srs}
                     for disk in self.world.value(vm, "disks")}
        except Missing as exc:
            return f"the VM's disks or their sizes are unknown ({exc.reason})"
        for disk in sorted(needs, key=lambda d: (-max(needs[d].values()), d.name, d.uuid)):
            fits = [sr for sr in srs if room[sr] >= needs[disk][sr]]
            if not fits:
                best = min(srs, key=lambda sr: (-room[sr], sr.name))
                return (f"disk '{disk.name}' needs {gib(needs[disk][best], down=False)} "
                        f"({SPACE_FACTOR} x its size) on an SR of host '{host.name}': largest free "
                        f"{gib(max(room[best], 0), down=True)} on {best.name}")
            sr = min(fits, key=lambda s: (-(room[s] - needs[disk][s]), s.name))
            room[sr] -= needs[disk][sr]
            choice[disk] = sr
        return choice

    def _takes_disks(self, sr: Obj) -> bool:
        """An SR that can receive a mirrored disk (SXM-004) and whose free space is known."""
        try:
            return (not self.world.value(sr, "is_iso") and not self.world.value(sr, "read_only")
                    and bool(self.world.value(sr, "accepts_migration"))
                    and self.world.value(sr, "free") >= 0)
        except Missing:
            return False

    def _need(self, disk: Obj, sr: Obj) -> int:
        """DISK-001's figure: 3x what the SR allocates (physical size on a thin SR, else virtual)."""
        thin = self.world.value(sr, "thin_provisioned")
        return SPACE_FACTOR * self.world.value(disk, "physical_size" if thin else "virtual_size")

    def _probe(self, vm: Obj, hosts: list[Obj]) -> dict[Obj, list[Finding]]:
        """The blockers of the storage move of `vm` to each host with its SR choice, each move
        judged alone (an audit: it books nothing), memory aside."""
        moves = [self.move(vm, host, f"probe-{i + 1}", 1, audit=True) for i, host in enumerate(hosts)]
        if not moves:
            return {}
        ev = evaluate(self.world, self.rules, Plan(None, moves, Settings(), audit=True))
        return {op.move.dst_host: [f for f in op.findings if blocks_placement(f)]
                for op in ev.operations if op.move.dst_host is not None}

    def move(self, vm: Obj, host: Obj, move_id: str, wave: int, *, audit: bool = False) -> Move:
        return Move(move_id, "storage", wave, vm=vm, dst_pool=self.pool, dst_host=host,
                    storage_map={disk.ref: sr for disk, sr in self.storage[(vm, host)].items()},
                    network_map={net.ref: dst for net, dst in self.networks[vm].items()},
                    audit=audit)

    def _take(self, vm: Obj, host: Obj, size: int) -> None:
        super()._take(vm, host, size)
        for disk, sr in self.storage[(vm, host)].items():
            self.sr_used[sr] += self._need(disk, sr)

    def operations(self, world: World, placement: list[tuple[Obj, Obj]],
                   waves: dict[Obj, int]) -> list[dict[str, Any]]:
        """One storage operation per VM, in placement order: its host, its disks' SRs and its
        networks named as the plan names them (in their own pool)."""
        pool = world.inventories[self.pool].name
        return [{"kind": "storage", "vms": [selector_of(world, vm)],
                 "destination": {"pool": pool, "host": _in_pool(world, host)},
                 "storage": {"map": {_in_pool(world, disk): _in_pool(world, sr)
                                     for disk, sr in sorted(self.storage[(vm, host)].items(),
                                                            key=lambda item: item[0].name)}},
                 "networks": {"map": {_in_pool(world, net): _in_pool(world, dst)
                                      for net, dst in sorted(self.networks[vm].items(),
                                                             key=lambda item: item[0].name)}},
                 "wave": waves[vm]}
                for vm, host in placement]


def _in_pool(world: World, obj: Obj) -> str:
    """A plan selector searched in the object's own pool: its name when no other object of its
    class there has it, else uuid:…."""
    names = [rec.get("name_label") for _, rec in world.inventories[obj.pool].all(obj.cls)]
    return obj.name if names.count(obj.name) == 1 else f"uuid:{obj.uuid}"
