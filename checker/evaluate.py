"""Evaluate rules against a plan: (world, rules, plan) -> operations and findings. No I/O.

For every move, plan-level facts (what earlier moves already send to the same host or
SR, wave counts, the evacuation placement) are computed first, in plan order; then each
rule of the move's kind gives one finding per subject. A rule whose expressions read
only the VM and its source (not the destination or the move) is evaluated once per VM
and reused: in the readiness audit, where one VM is tried against every host, that is
what keeps the work proportional to VMs + hosts rather than VMs × hosts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from jinja2.exceptions import UndefinedError

from checker.facts import Missing, Obj, UnknownFact, World, recording
from checker.plan import DEFAULT_BANDWIDTH, Move, Plan
from checker.policy import Rule, RuleSet
from checker.scope import MISSING, PlanFacts, Unestablished

STATUS_ORDER = ("fail", "unknown", "waived", "pass", "not_applicable")
#: Variables whose value is the same for every destination a VM is tried against.
SOURCE_SIDE = frozenset({"vm", "src_host", "src_pool", "settings", "host"})


@dataclass
class Finding:
    rule: Rule
    status: str
    operation: str
    subject: Obj | PlanFacts | None
    messages: dict[str, str]
    evidence: dict[str, Any]
    command: str | None = None
    unknown: str | None = None
    waiver: dict[str, Any] | None = None
    original_status: str | None = None
    targets: list[str] = field(default_factory=list)


@dataclass
class Operation:
    move: Move
    estimate_seconds: int | None = None
    findings: list[Finding] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    facts: PlanFacts | None = None


@dataclass
class Evaluation:
    operations: list[Operation]
    world: World
    plan: Plan
    rules: RuleSet


class _Ledger:
    """What the plan has consumed so far on each destination (host memory, SR space)."""

    def __init__(self) -> None:
        self.memory: dict[Obj, int] = defaultdict(int)
        self.freed: dict[Obj, int] = defaultdict(int)
        self.sr_space: dict[Obj, int] = defaultdict(int)
        #: Where the plan has put a VM so far (None: it left the pool).
        self.location: dict[Obj, Obj | None] = {}

    def residents(self, host: Obj, now: list[Obj]) -> list[Obj]:
        """The VMs on `host` at this point of the plan, given those on it at snapshot time."""
        here = [vm for vm in now if self.location.get(vm, host) == host]
        return here + [vm for vm, where in self.location.items() if where == host and vm not in here]


def evaluate(world: World, rules: RuleSet, plan: Plan) -> Evaluation:
    """Run every rule on every move of the plan (in wave order) and collect findings."""
    ledger = _Ledger()
    settings = PlanFacts("settings", {
        "fast_network": plan.settings.fast_network,
        "evacuation_batch_size": plan.settings.evacuation_batch_size,
    })
    waves = _wave_counts(plan)
    cache: dict[tuple[Any, ...], list[Finding]] = {}
    operations: list[Operation] = []
    ordered = sorted(plan.moves, key=lambda m: m.wave)
    for move in ordered:
        if move.kind == "evacuate" and move.host is not None:
            operations += _evacuate(world, rules, plan, move, ledger, settings, waves, cache)
        else:
            op_facts = _move_facts(world, plan, move, ledger, waves)
            operations.append(_run(world, rules, move, op_facts, settings, cache))
    order = {m.id: i for i, m in enumerate(plan.moves)}
    operations.sort(key=lambda o: (order.get(o.move.parent or o.move.id, 0), o.move.parent is not None))
    return Evaluation(operations, world, plan, rules)


# ---------------------------------------------------------------------------------
# Rule evaluation
# ---------------------------------------------------------------------------------

def _variables(move: Move, op: PlanFacts, settings: PlanFacts, world: World) -> dict[str, Any]:
    vm, host = move.vm, move.host
    src_host = None
    if vm is not None:
        try:
            src_host = world.value(vm, "home_host")
        except Missing:
            src_host = None
    elif host is not None:
        src_host = host
    return {
        "vm": vm.with_label("vm") if vm else None,
        "host": host.with_label("host") if host else None,
        "src_host": src_host.with_label("src_host") if src_host else None,
        "dst_host": move.dst_host.with_label("dst_host") if move.dst_host else None,
        "src_pool": world.pool(move.src_pool).with_label("src_pool"),
        "dst_pool": world.pool(move.dst_pool).with_label("dst_pool"),
        "vdi": move.vdi.with_label("vdi") if move.vdi else None,
        "dst_sr": move.dst_sr.with_label("dst_sr") if move.dst_sr else None,
        "op": op,
        "settings": settings,
    }


def _run(world: World, rules: RuleSet, move: Move, op: PlanFacts, settings: PlanFacts,
         cache: dict[tuple[Any, ...], list[Finding]]) -> Operation:
    operation = Operation(move, estimate_seconds=op.values.get("estimate_seconds"), facts=op)
    variables = _variables(move, op, settings, world)
    level = "host" if move.vm is None else "vm"
    for rule in rules.rules:
        if move.kind not in rule.kinds or rule.level != level:
            continue
        key = None
        if move.audit and rule.reads <= SOURCE_SIDE:
            key = (rule.id, move.kind, *(_identity(variables[v]) for v in sorted(rule.reads)))
            if key in cache:
                operation.findings += [_copy(f, move.id) for f in cache[key]]
                continue
        found = evaluate_rule(rule, variables, move.id)
        if key is not None:
            cache[key] = found
        operation.findings += found
    return operation


def _identity(value: Any) -> Any:
    return value.key if isinstance(value, Obj) else id(value)


def _copy(finding: Finding, operation: str) -> Finding:
    return Finding(finding.rule, finding.status, operation, finding.subject, finding.messages,
                   finding.evidence, finding.command, finding.unknown)


def evaluate_rule(rule: Rule, variables: dict[str, Any], operation: str) -> list[Finding]:
    """One rule on one move: a finding per subject (per item with for_each)."""
    with recording() as reads:
        try:
            if rule.applies_when is not None and not rule.applies_when(**variables):
                return [_finding(rule, "not_applicable", operation, variables, reads)]
            items = list(rule.for_each[1](**variables)) if rule.for_each else [None]
        except (UnknownFact, UndefinedError) as exc:
            return [_finding(rule, "unknown", operation, variables, reads, exc)]
    if not items:
        return []
    out = []
    for item in items:
        scoped = {**variables, rule.for_each[0]: item} if rule.for_each else variables
        with recording() as reads:
            try:
                status = "pass" if rule.check(**scoped) else "fail"
                out.append(_finding(rule, status, operation, scoped, reads))
            except (UnknownFact, UndefinedError) as exc:
                out.append(_finding(rule, "unknown", operation, scoped, reads, exc))
    return out


def _finding(rule: Rule, status: str, operation: str, variables: dict[str, Any],
             reads: dict[str, Any], exc: Exception | None = None) -> Finding:
    unknown = None
    if isinstance(exc, UnknownFact):
        unknown = f"{exc.path}: {exc.reason}"
    elif exc is not None:
        unknown = f"not established: {exc}"
    subject = variables.get(rule.subject)
    messages = {}
    for lang, template in rule.message.items():
        try:
            messages[lang] = template.render(status=status, **variables).strip()
        except (UnknownFact, UndefinedError, TypeError, ValueError):
            messages[lang] = ""
        if status == "unknown" and unknown:
            prefix = "Could not be decided" if lang == "en" else "判定できません"
            messages[lang] = f"{prefix}: {unknown}"
    command = None
    if rule.command is not None and status in {"fail", "unknown"}:
        try:
            command = rule.command.render(**variables).strip()
        except (UnknownFact, UndefinedError, TypeError):
            command = None
    return Finding(rule, status, operation, subject, messages, dict(reads), command, unknown)


# ---------------------------------------------------------------------------------
# Plan-level facts of one move
# ---------------------------------------------------------------------------------

def _value(world: World, obj: Obj | None, name: str) -> Any:
    """A fact for a plan computation, or Unestablished carrying why (reported by rules)."""
    if obj is None:
        return MISSING
    try:
        return world.value(obj, name)
    except Missing as exc:
        return Unestablished(f"{obj.cls} '{obj.name}' {name}: {exc.reason}")


def _wave_counts(plan: Plan) -> dict[tuple[Any, ...], int]:
    counts: dict[tuple[Any, ...], int] = defaultdict(int)
    if plan.audit:
        return counts
    for m in plan.moves:
        if m.kind in {"storage", "vdi"}:
            counts[("storage", m.wave, m.src_pool)] += 1
        elif m.kind == "live":
            counts[("live", m.wave, m.src_pool)] += 1
        if m.vm is not None:
            counts[("vm", m.wave, m.vm.key)] += 1
    return counts


def _move_facts(world: World, plan: Plan, move: Move, ledger: _Ledger,
                waves: dict[tuple[Any, ...], int]) -> PlanFacts:
    vm = move.vm
    values: dict[str, Any] = {
        "id": move.id, "kind": move.kind, "wave": move.wave, "compress": move.compress,
        "cross_pool": move.dst_pool != move.src_pool,
        "window_seconds": plan.settings.window_seconds,
        "cvd_declared": move.src_pool in plan.settings.cvd_pools,
        "mcs_declared": bool(vm and (vm.pool, vm.ref) in plan.settings.mcs_vms),
        "wave_storage_moves_from_pool": max(1, waves.get(("storage", move.wave, move.src_pool), 1)),
        "wave_live_moves_from_pool": max(1, waves.get(("live", move.wave, move.src_pool), 1)),
        "wave_moves_of_vm": max(1, waves.get(("vm", move.wave, vm.key), 1)) if vm else 1,
    }
    footprint = _value(world, vm, "memory_footprint")
    home = _value(world, vm, "home_host")
    values["same_host"] = move.dst_host is not None and move.dst_host == home
    # Memory on the destination, shared by every VM the plan sends there.
    dst = move.dst_host
    free = _value(world, dst, "free_memory")
    planned = 0 if move.audit or dst is None else ledger.memory[dst] - ledger.freed[dst]
    values["memory_planned_before"] = planned
    values["dst_free_memory"] = free if isinstance(free, Unestablished) else free - planned
    books = (vm is not None and dst is not None and not move.audit and move.parent is None
             and move.kind != "vdi" and vm.record.get("power_state") != "Halted")
    if books and not isinstance(footprint, Unestablished):  # evacuations book their own placement
        ledger.memory[dst] += footprint
        ledger.location[vm] = dst if move.dst_pool == vm.pool else None
    values["spare_host_for_halted"] = _spare_host(world, vm, footprint, ledger) if vm else None
    # Disks and SR space.
    disk_moves = _disk_moves(world, move)
    values["disk_moves"] = disk_moves
    values["dst_srs"], values["src_srs"] = _sr_demand(world, disk_moves, ledger, move.audit)
    values["network_map"] = _network_map(world, move)
    net = move.migration_network
    values["migration_network"] = net
    values["migration_network_is_management"] = True if net is None else _value(
        world, net, "is_management")
    bandwidth, source = _bandwidth(world, plan, move)
    values["bandwidth"], values["bandwidth_source"] = bandwidth, source
    values["estimate_seconds"] = _estimate(world, move, footprint, disk_moves, bandwidth)
    return PlanFacts("op", values, "op")


def _spare_host(world: World, vm: Obj, footprint: Any, ledger: _Ledger) -> Any:
    if isinstance(footprint, Unestablished):
        return footprint
    unknown = None
    for host in world.objects(vm.pool, "host"):
        free = _value(world, host, "free_memory")
        if isinstance(free, Unestablished):
            unknown = unknown or free
        elif free - ledger.memory[host] >= footprint:
            return host
    # No host is known to have room; one whose free memory is unknown might (MEM-002).
    return unknown


def _disk_moves(world: World, move: Move) -> list[PlanFacts]:
    if move.kind == "vdi" and move.vdi is not None:
        src = _value(world, move.vdi, "sr")
        return [PlanFacts("disk_move", {"vdi": move.vdi, "src_sr": src, "dst_sr": move.dst_sr,
                                        "moves": move.dst_sr != src}, f"disk[{move.vdi.name}]")]
    if move.kind != "storage" or move.vm is None:
        return []
    disks = _value(world, move.vm, "disks")
    if isinstance(disks, Unestablished):
        return disks  # type: ignore[return-value]
    default = move.storage_default
    if default is None:
        default = _value(world, world.pool(move.dst_pool), "default_sr")
        default = None if isinstance(default, Unestablished) else default
    out = []
    for vdi in disks:
        src = _value(world, vdi, "sr")
        dst = move.storage_map.get(vdi.ref, default)
        out.append(PlanFacts("disk_move", {"vdi": vdi, "src_sr": src, "dst_sr": dst,
                                           "moves": dst is not None and dst != src},
                             f"disk[{vdi.name}]"))
    return out


def _sr_demand(world: World, disk_moves: Any, ledger: _Ledger, audit: bool) -> tuple[Any, Any]:
    if isinstance(disk_moves, Unestablished):
        return disk_moves, disk_moves
    dst: dict[Obj, list[Obj]] = defaultdict(list)
    src: dict[Obj, list[Obj]] = defaultdict(list)
    for dm in disk_moves:
        if dm.values["moves"]:
            dst[dm.values["dst_sr"]].append(dm.values["vdi"])
            if not isinstance(dm.values["src_sr"], Unestablished):
                src[dm.values["src_sr"]].append(dm.values["vdi"])

    def size(vdis: list[Obj]) -> Any:
        sizes = [_value(world, v, "virtual_size") for v in vdis]
        return next((s for s in sizes if isinstance(s, Unestablished)), None) or sum(sizes)

    def demand(sr: Obj, vdis: list[Obj], factor: int, book: bool) -> PlanFacts:
        total = size(vdis)
        earlier = 0 if audit else ledger.sr_space[sr]
        needed = total if isinstance(total, Unestablished) else factor * total + earlier
        if book and not isinstance(total, Unestablished) and not audit:
            ledger.sr_space[sr] += factor * total
        snaps = any(not isinstance(n, Unestablished) and n > 0
                    for n in (_value(world, v, "snapshot_count") for v in vdis))
        return PlanFacts("sr_demand", {"sr": sr, "needed": needed, "disks": vdis,
                                       "with_snapshots": snaps}, f"sr[{sr.name}]")

    dst_list = [demand(sr, vdis, 3, True) for sr, vdis in dst.items()]
    src_list = [demand(sr, vdis, 2, False) for sr, vdis in src.items()]
    return dst_list, src_list


def _network_map(world: World, move: Move) -> Any:
    if move.vm is None or move.kind != "storage":
        return []
    networks = _value(world, move.vm, "networks")
    if isinstance(networks, Unestablished):
        return networks
    by_name = {rec.get("name_label"): ref for ref, rec in world.inventories[move.dst_pool].all("network")}
    out = []
    for net in networks:
        dst = move.network_map.get(net.ref)
        if dst is None:
            if move.dst_pool == net.pool:
                dst = net
            elif net.name in by_name:
                dst = world.obj(move.dst_pool, "network", by_name[net.name])
        out.append(PlanFacts("vif_map", {"network": net, "dst_network": dst}, f"vif[{net.name}]"))
    return out


def _bandwidth(world: World, plan: Plan, move: Move) -> tuple[int, str]:
    if plan.settings.migration_bandwidth:
        return plan.settings.migration_bandwidth, "plan"
    speed = _value(world, move.dst_host, "management_nic_speed")
    if speed is not None and not isinstance(speed, Unestablished):
        return speed, "nic"
    return DEFAULT_BANDWIDTH, "default"


def _estimate(world: World, move: Move, footprint: Any, disk_moves: Any, bandwidth: int) -> Any:
    if move.vm is None:
        return None
    if move.kind != "vdi" and isinstance(footprint, Unestablished):
        return footprint  # memory moves too: an unknown footprint is an unknown estimate
    data = 0 if move.kind == "vdi" else footprint
    if isinstance(disk_moves, Unestablished):
        return disk_moves
    for dm in disk_moves:
        if dm.values["moves"]:
            size = _value(world, dm.values["vdi"], "physical_size")
            if isinstance(size, Unestablished):
                return size
            data += size
    return int(data * 8 / bandwidth) + 1


# ---------------------------------------------------------------------------------
# Host evacuation (and each step of a rolling pool upgrade)
# ---------------------------------------------------------------------------------

def _evacuate(world: World, rules: RuleSet, plan: Plan, move: Move, ledger: _Ledger,
              settings: PlanFacts, waves: dict[tuple[Any, ...], int],
              cache: dict[tuple[Any, ...], list[Finding]]) -> list[Operation]:
    """Place the host's VMs first-fit-decreasing on the hosts XAPI would consider, evaluate
    each VM's move, then the host-level rules (EVAC-*) over the outcome."""
    host = move.host
    assert host is not None
    version = _value(world, host, "version")
    targets = [other for other in world.objects(host.pool, "host")
               if other != host and _eligible_target(world, other, version)]
    resident = _value(world, host, "resident_vms")
    if isinstance(resident, Unestablished):
        resident = []
    residents = ledger.residents(host, resident)
    residents.sort(key=lambda v: -_footprint(world, v))
    free = {t: _value(world, t, "free_memory") for t in targets}
    free = {t: f - ledger.memory[t] + ledger.freed[t] for t, f in free.items()
            if not isinstance(f, Unestablished)}
    operations, placement, unplaced = [], {}, []
    batch = plan.settings.evacuation_batch_size
    for index, vm in enumerate(residents):
        footprint = _value(world, vm, "memory_footprint")
        chosen = None
        if not isinstance(footprint, Unestablished):
            chosen = next((t for t in free if free[t] >= footprint), None)
        if chosen is None:
            unplaced.append(vm)
            best = max(free, key=free.get) if free else None
        else:
            free[chosen] -= footprint
            best = chosen
            placement[vm.name] = chosen.name
        child = Move(f"{move.id}.{index + 1}", "evacuate", move.wave, vm=vm, dst_pool=host.pool,
                     dst_host=best, parent=move.id, audit=move.audit)
        child_facts = _move_facts(world, plan, child, _Ledger() if move.audit else ledger, waves)
        child_facts.values["dst_free_memory"] = (
            MISSING if best is None or best not in free else free[best] + (footprint if chosen else 0))
        operations.append(_run(world, rules, child, child_facts, settings, cache))
        if not move.audit and chosen is not None:
            ledger.memory[chosen] += footprint
            ledger.location[vm] = chosen
    if not move.audit:
        ledger.freed[host] += sum(_footprint(world, vm) for vm in residents if vm.name in placement)
        ledger.memory[host] = 0
    blocked = [op.move.vm for op in operations
               if any(f.status == "fail" and f.rule.severity == "blocker" for f in op.findings)]
    estimates = [op.estimate_seconds for op in operations]
    batches = -(-len(residents) // batch) if residents else 0
    total = None if any(e is None or isinstance(e, Unestablished) for e in estimates) else sum(
        max(estimates[i:i + batch], default=0) for i in range(0, len(estimates), batch))
    host_facts = PlanFacts("op", {
        "id": move.id, "kind": "evacuate", "wave": move.wave, "cross_pool": False,
        "evacuation_targets": targets, "unplaced_vms": unplaced, "blocked_vms": blocked,
        "resident_vm_count": len(residents), "batch_size": batch, "batches": batches,
        "placement": placement,
        "estimate_seconds": total if total is not None else next(
            (e for e in estimates if isinstance(e, Unestablished)), MISSING),
        "window_seconds": plan.settings.window_seconds, "compress": move.compress,
    }, "op")
    host_op = _run(world, rules, move, host_facts, settings, cache)
    host_op.children = [op.move.id for op in operations]
    return [host_op, *operations]


def _eligible_target(world: World, host: Obj, source_version: Any) -> bool:
    """XAPI's evacuation targets: enabled, live, and not older than the evacuated host."""
    enabled, live, version = (_value(world, host, f) for f in ("enabled", "live", "version"))
    if isinstance(source_version, Unestablished) or isinstance(version, Unestablished):
        return False
    return enabled is True and live is True and version >= source_version


def _footprint(world: World, vm: Obj) -> int:
    value = _value(world, vm, "memory_footprint")
    return 0 if isinstance(value, Unestablished) else value
