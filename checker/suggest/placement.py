"""Where each VM goes inside its pool: the hosts every blocker rule accepts (the audit's
sweep), never an older one, with room for its footprint after the plan's earlier moves;
and, for what has no place, why in few words."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

from checker.errors import InputError
from checker.evaluate import Finding, evaluate
from checker.facts import Missing, Obj, World
from checker.facts.versions import not_older
from checker.plan import Move, Plan, Settings
from checker.policy import RuleSet

GIB = 1 << 30
#: What suggest places itself, so the audit sweep's verdict on it is not asked.
_PLACED_BY_SUGGEST = frozenset({"MEM-001"})


def _keep(world: World, host: Obj, text: str | None) -> int:
    """--keep-free on one host, in bytes: a share of its memory (10%) or a size (8GiB)."""
    if not text:
        return 0
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%|[KMGT]i?B?)?\s*", text, re.I)
    if not match:
        raise InputError(f"--keep-free {text}: expected a share such as 10% or a size such as 8GiB")
    number, unit = float(match.group(1)), (match.group(2) or "B").upper()
    if unit == "%":
        return int(world.value(host, "memory_total") * number / 100)
    return int(number * (1 << (10 * "BKMGT".index(unit[0]))))


# ---------------------------------------------------------------------------------
# Placement inside a pool
# ---------------------------------------------------------------------------------

class Placer:
    """Places VMs on hosts: what the rules accept, never older, memory as XAPI counts it."""

    def __init__(self, world: World, rules: RuleSet, hosts: list[Obj], keep_free: str | None) -> None:
        self.world = world
        self.rules = rules
        self.hosts = hosts
        self.keep_free = keep_free
        self.room: dict[Obj, int] = {}
        self.doubts: list[str] = []
        for host in hosts:
            try:
                self.room[host] = world.value(host, "free_memory") - _keep(world, host, keep_free)
            except Missing as exc:
                self.doubts.append(f"host '{host.name}' takes no VM: its free memory is unknown "
                                   f"({exc.reason})")
        #: Hosts that take a vGPU VM of this plan already: the evaluator checks each vGPU
        #: against the snapshot's GPUs, not against other moves', so one per host.
        self.gpu_taken: set[Obj] = set()

    def place(self, vms: list[Obj]) -> tuple[list[tuple[Obj, Obj]], list[str]]:
        """(VM, host) in placement order, and what rules out the VMs left over."""
        blockers = list(self.doubts)
        movable = []
        for vm in vms:
            state = vm.record.get("power_state")
            if state in {"Running", "Paused"}:
                movable.append(vm)
            else:
                blockers.append(f"VM '{vm.name}' is {str(state).lower()}: nothing to migrate live "
                                "(it starts on any host)")
        problems = self._problems(movable)
        sizes: dict[Obj, int] = {}
        for vm in movable:
            try:
                sizes[vm] = self.world.value(vm, "memory_footprint")
            except Missing as exc:
                blockers.append(f"VM '{vm.name}' cannot be placed: its memory footprint is "
                                f"unknown ({exc.reason})")
        placement: list[tuple[Obj, Obj]] = []
        refused: dict[Obj, dict[Obj, dict[str, str]]] = {}
        short: list[str] = []
        for vm in sorted(sizes, key=lambda v: (-sizes[v], v.name)):
            accepting, why = self._accepting(vm, problems.get(vm, {}))
            if not accepting:
                refused[vm] = why
                continue
            fits = [h for h in accepting if self.room.get(h, -1) >= sizes[vm]]
            if not fits:
                short.append(self._short(vm, sizes[vm], accepting))
                continue
            target = min(fits, key=lambda h: (-self.room[h], h.name))
            self._take(vm, target, sizes[vm])
            placement.append((vm, target))
        blockers += _refusals(self.world, refused)
        blockers += short
        return placement, blockers

    def _take(self, vm: Obj, host: Obj, size: int) -> None:
        """Book what the VM uses on its host, for the moves placed after it."""
        self.room[host] -= size
        if self._has_vgpus(vm):
            self.gpu_taken.add(host)

    def _problems(self, vms: list[Obj]) -> dict[Obj, dict[Obj, list[Finding]]]:
        """Each VM's blocking findings on each host it could go to: the audit's sweep of a live
        move to every one of them (every rule, with the audit's sharing), memory aside."""
        moves = []
        for i, vm in enumerate(vms):
            targets = [h for h in self.hosts if h.ref != vm.record.get("resident_on")]
            if targets:
                moves.append(Move(f"op-{i + 1}", "live", 1, vm=vm, dst_pool=vm.pool, audit=True,
                                  sweep=targets))
        ev = evaluate(self.world, self.rules, Plan(None, moves, Settings(), audit=True))
        by_name = {h.name: h for h in self.hosts}
        return {op.move.vm: {by_name[name]: [f for f in found if blocks_placement(f)]
                             for name, found in (op.destinations or {}).items()}
                for op in ev.operations if op.move.vm is not None}

    def _accepting(self, vm: Obj, problems: dict[Obj, list[Finding]]
                   ) -> tuple[list[Obj], dict[Obj, dict[str, str]]]:
        """The hosts the VM may go to, and why each other one is refused: a label (the rule,
        or what suggest itself checks) and its words."""
        home = vm.record.get("resident_on")
        accepting, why = [], {}
        for host in self.hosts:
            if host.ref == home:
                continue
            reasons = {(f.rule.id if f.status == "fail" else f"{f.rule.id} undecided"): f.messages["en"]
                       for f in reversed(problems.get(host, []))}
            newer = self._not_older(vm, host)
            if newer is not True:
                reasons["older version" if newer is False else "version unknown"] = (
                    f"host '{host.name}' runs an older version than the VM's host" if newer is False
                    else f"the versions of host '{host.name}' or of the VM's host are unknown")
            if host in self.gpu_taken and self._has_vgpus(vm):
                reasons["vGPU"] = f"host '{host.name}' takes another vGPU VM of this plan already"
            if host not in self.room:
                reasons["free memory unknown"] = f"the free memory of host '{host.name}' is unknown"
            if reasons:
                why[host] = reasons
            else:
                accepting.append(host)
        return accepting, why

    def _not_older(self, vm: Obj, host: Obj) -> bool | None:
        """Never to an older host: XAPI's version comparison against the VM's host (None when
        a version cannot be read)."""
        try:
            src = self.world.value(vm, "home_host")
            keys = self.world.value(self.world.pool(vm.pool), "migration_version_keys")
            return not_older(self.world.value(host, "migration_versions"),
                             self.world.value(src, "migration_versions"), keys)
        except Missing:
            return None

    def _has_vgpus(self, vm: Obj) -> bool:
        """The VM has vGPUs, or may have (unknown: LIM-014 has refused it anyway)."""
        try:
            return bool(self.world.value(vm, "vgpus"))
        except Missing:
            return True

    def _short(self, vm: Obj, size: int, accepting: list[Obj]) -> str:
        """The issue's words, with what is missing (rounded up: adding that much is enough).
        The VM then counts as placed there with exactly that added, so the host is full: the
        next VM short of room there is short of its whole size, and adding what each blocker
        says is missing makes room for all of them."""
        best = min(accepting, key=lambda h: (-self.room[h], h.name))
        room = self.room[best]
        self.room[best] = 0
        kept = f" after the {self.keep_free} kept free" if self.keep_free else ""
        return (f"{vm.name} ({gib(size)}) fits on no remaining host: largest free "
                f"{gib(max(room, 0), down=True)} on {best.name}{kept} ({gib(size - room, down=False)} short)")


def blocks_placement(finding: Finding) -> bool:
    """A blocker suggest has not already counted itself."""
    return blocks_plan(finding) and finding.rule.id not in _PLACED_BY_SUGGEST


def _refusals(world: World, refused: dict[Obj, dict[Obj, dict[str, str]]]) -> list[str]:
    """Why VMs can go to no host, fewest words first: VMs whose disks no other host sees are
    counted by SR; VMs with no other host at all are counted; each other VM names the reason
    most hosts give, in the rule's words for one of them."""
    local: dict[tuple[str, str], list[str]] = defaultdict(list)
    alone: list[str] = []
    out = []
    for vm, why in sorted(refused.items(), key=lambda item: item[0].name):
        if not why:
            alone.append(vm.name)
        elif all("LIVE-001" in reasons for reasons in why.values()):
            local[(_unseen_sr(world, vm, next(iter(why))), _host_name(world, vm))].append(vm.name)
        else:
            counts = Counter(label for reasons in why.values() for label in reasons)
            label, count = min(counts.items(), key=lambda item: (-item[1], item[0]))
            words = next(reasons[label] for reasons in why.values() if label in reasons)
            out.append(f"VM '{vm.name}' can go to no host: {label} on {count} of {len(why)} "
                       f"host(s) ({words})")
    out += [on_local_storage(sr, host, names) for (sr, host), names in sorted(local.items())]
    if alone:
        out.append(f"{len(alone)} VM(s) have no other host to go to (the pool's others are left "
                   f"out or avoided): {', '.join(alone)}")
    return out


def on_local_storage(sr: str, host: str, vms: list[str]) -> str:
    """The issue's words for VMs whose disks only their host sees."""
    where = sr if host in sr else f"{sr} ({host})"
    return f"{len(vms)} VM(s) have disks on {where}: storage-migrate them first ({', '.join(sorted(vms))})"


def _unseen_sr(world: World, vm: Obj, host: Obj) -> str:
    """The name of the first SR of the VM's that `host` does not see."""
    seen = set(world.value(host, "attached_srs"))
    for disk in world.value(vm, "storage"):
        sr = world.value(disk, "sr")
        if sr not in seen:
            return sr.name
    return "storage no other host sees"


def _host_name(world: World, vm: Obj) -> str:
    try:
        home = world.value(vm, "home_host")
    except Missing:
        return "no host"
    return home.name if home is not None else "no host"


def gib(size: int, *, down: bool | None = None) -> str:
    """Bytes as GiB to a tenth, whole when whole ('64 GiB', '1.5 GiB'); rounded down or up
    when the figure is a bound (what is free; what is missing)."""
    tenths = size * 10 / GIB
    value = (math.floor(tenths) if down else math.ceil(tenths) if down is False else round(tenths)) / 10
    return f"{int(value) if value == int(value) else value} GiB"


def blocks_plan(finding: Finding) -> bool:
    return finding.rule.severity == "blocker" and finding.status in {"fail", "unknown"}
