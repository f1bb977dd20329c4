"""Suggest a plan that passes: where each VM can go, in waves, checked by the ordinary
evaluator before it is written. No I/O but the temporary plan file the check reads.

An evacuation or a set of moves inside a pool becomes live moves placed by migready: each
VM on a host every blocker rule accepts (the readiness audit's sweep asks them all, so
nothing is placed that `check` would refuse), never an older one, with room for its
footprint after what earlier moves booked there (as MEM-001 counts it: memory a live move
frees is not credited), biggest first onto the host with the most room left. A rolling
upgrade is XAPI's own host evacuations, master first: host.evacuate places the VMs itself,
so each step's placement is the evaluator's XAPI planner's, reported per step. Moves to
another pool are storage moves with an SR per disk and a network per VIF (cross.py).
"""

from __future__ import annotations

from checker.errors import InputError
from checker.facts import Obj, World
from checker.inventory import Inventory
from checker.plan import distinct_pools, select
from checker.policy import RuleSet, load_rules
from checker.profile import apply_profile
from checker.suggest.cross import CrossPlacer
from checker.suggest.placement import Placer, gib
from checker.suggest.request import (
    Request,
    Suggestion,
    destination,
    one_goal,
    parse_window,
    selected_vms,
)
from checker.suggest.rolling import rolling_upgrade
from checker.suggest.written import finish

__all__ = ["Request", "Suggestion", "gib", "suggest"]


def suggest(request: Request, rules: RuleSet | None = None) -> Suggestion:
    """The suggested plan for `request`; InputError on bad input (exit 2). `rules`: the rule
    set with its profile applied, when the caller has it (else the built-in, per --profile)."""
    one_goal(request)
    if request.max_per_wave < 1:
        raise InputError("--max-per-wave: expected a whole number ≥ 1")
    world = World([Inventory.load(p) for p in request.inventories])
    distinct_pools(world)
    if rules is None:
        rules, _ = apply_profile(load_rules(), request.profile)
    window = parse_window(request.window)
    if request.rolling_upgrade is not None:
        if request.keep_free or request.avoid:
            raise InputError("--rolling-upgrade: XAPI's host evacuation places the VMs itself, so "
                             "--keep-free and --avoid cannot be honoured; use --evacuate per host")
        return rolling_upgrade(world, rules, request, window)
    if request.evacuate is not None:
        host = select(world, "host", request.evacuate, "--evacuate")[0]
        vms = world.value(host, "resident_vms")
        pool, fixed = host.pool, None
        goal = f"evacuate host {host.name}"
        leaving: Obj | None = host
    else:
        vms = selected_vms(world, request.moves)
        pool, fixed = destination(world, request.to, vms)
        goal = f"move {len(vms)} VM(s) to {fixed.name if fixed else world.inventories[pool].name}"
        leaving = None
    avoid = {select(world, "host", a, "--avoid", pool=pool)[0] for a in request.avoid}
    hosts = [fixed] if fixed is not None else [
        h for h in world.value(world.pool(pool), "hosts") if h != leaving and h not in avoid]
    if vms and vms[0].pool != pool:
        cross = CrossPlacer(world, rules, hosts, request.keep_free, pool)
        placement, blockers = cross.place(vms)
        return finish(world, rules, request, window, goal, placement, blockers, None, cross.operations)
    placement, blockers = Placer(world, rules, hosts, request.keep_free).place(vms)
    return finish(world, rules, request, window, goal, placement, blockers, leaving)
