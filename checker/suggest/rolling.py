"""A rolling pool upgrade: XAPI's own host evacuations, master first, checked as a plan."""

from __future__ import annotations

from collections import defaultdict

from checker.evaluate import Evaluation
from checker.facts import Missing, Obj, World
from checker.plan import select_pool
from checker.policy import RuleSet
from checker.suggest.placement import on_local_storage
from checker.suggest.request import Request, Suggestion
from checker.suggest.written import blocked_evacuations, check_plan, past_window, plan_text, selector_of


def rolling_upgrade(world: World, rules: RuleSet, request: Request, window: int | None) -> Suggestion:
    """Each host evacuated in turn, master first (XAPI upgrades the master first), one wave
    each; a host whose evacuation the check refuses is left out with its blockers, and the
    others checked again without it (its VMs then stay where they are)."""
    assert request.rolling_upgrade is not None
    pool = select_pool(world, request.rolling_upgrade, "--rolling-upgrade")
    hosts: list[Obj] = list(world.value(world.pool(pool), "hosts"))
    goal = f"rolling upgrade of pool {world.inventories[pool].name}"
    stuck = _stuck(world, hosts)
    blockers = [f"host {host.name} cannot be evacuated: " + "; ".join(reasons)
                for host, reasons in stuck.items()]
    hosts = [h for h in hosts if h not in stuck]
    while hosts:
        operations = [{"kind": "evacuate", "host": selector_of(world, h), "wave": i + 1}
                      for i, h in enumerate(hosts)]
        ev, verdict = check_plan(world, rules, plan_text(world, request, goal, operations, window))
        blocked = blocked_evacuations(world, ev)
        late = {move.host for move in past_window(ev, window) if move.host is not None}
        if not blocked and not late:
            steps = _steps(ev)
            notes = [f"Step {i + 1}: evacuate {host} (then upgrade it): " +
                     (", ".join(f"{vm} -> {dst}" for vm, dst in sorted(placed.items())) or "no VMs")
                     for i, (host, placed) in enumerate(steps)]
            text = plan_text(world, request, goal, operations, window, [
                "XAPI's host.evacuate places each step's VMs; the evaluator's XAPI planner says "
                "where:", *notes])
            return Suggestion(text, blockers, verdict, len(hosts), steps)
        for host, reasons in blocked.items():
            blockers.append(f"host {host.name} cannot be evacuated: " + "; ".join(reasons))
        if not blocked:
            blockers.append(f"the evacuations of {', '.join(sorted(h.name for h in late))} do not "
                            f"fit the {request.window} window")
        hosts = [h for h in hosts if h not in (set(blocked) or late)]
    return Suggestion(None, blockers)


def _stuck(world: World, hosts: list[Obj]) -> dict[Obj, list[str]]:
    """Hosts no evacuation can empty, seen from the facts before any evaluation: a VM running
    there has a disk (or CD, or suspend image) on an SR no other host has attached, so
    LIVE-001 refuses it on every target and XAPI's planner places it nowhere. Leaving them
    out first spares an evaluation of the whole upgrade with them (the check of the plan
    without them is the same either way)."""
    attached: dict[Obj, set[Obj]] = {}
    for host in hosts:
        try:
            attached[host] = set(world.value(host, "attached_srs"))
        except Missing:
            return {}  # the evaluator says what it can
    out: dict[Obj, list[str]] = {}
    for host in hosts:
        seen = set().union(*(srs for other, srs in attached.items() if other != host))
        local: dict[str, list[str]] = defaultdict(list)
        try:
            for vm in world.value(host, "resident_vms"):
                sr = next((sr for sr in (world.value(d, "sr") for d in world.value(vm, "storage"))
                           if sr not in seen), None)
                if sr is not None:
                    local[sr.name].append(vm.name)
        except Missing:
            continue
        if local:
            out[host] = [on_local_storage(sr, host.name, names) for sr, names in sorted(local.items())]
    return out


def _steps(ev: Evaluation) -> list[tuple[str, dict[str, str]]]:
    """Each evacuation's host and its placement (VM name -> target name), in plan order."""
    return [(op.move.host.name, dict(op.facts.values.get("placement") or {}) if op.facts else {})
            for op in ev.operations if op.move.kind == "evacuate" and op.move.host is not None]
