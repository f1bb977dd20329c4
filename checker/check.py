"""The check pipeline as a library call: inventories + rules + plan + waivers -> results."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.errors import ExitCode
from checker.evaluate import evaluate
from checker.facts import World
from checker.inventory import Inventory
from checker.plan import audit_plan, load_plan
from checker.policy import load_rules
from checker.profile import apply_profile
from checker.results import build_results, sha256_file
from checker.waivers import apply_waivers, load_waivers


@dataclass
class CheckOptions:
    inventories: Sequence[str | Path]
    plan: str | Path | None = None
    waivers: str | Path | None = None
    policies: Sequence[str | Path] = ()
    only: Sequence[str] = ()
    fail_on: str = "blocker"
    no_waivers: bool = False
    today: dt.date | None = None
    profile: str | Path | None = None   # documented (default), xapi, or a profile file
    extra_inputs: dict[str, Any] = field(default_factory=dict)


def run_check(opts: CheckOptions) -> dict[str, Any]:
    """Evaluate and return the results document (raises InputError on bad input)."""
    inventories = [Inventory.load(p) for p in opts.inventories]
    world = World(inventories)
    rules, profile = apply_profile(load_rules(opts.policies), opts.profile)
    if opts.only:
        rules = rules.only(opts.only)
    plan = load_plan(opts.plan, world) if opts.plan else audit_plan(world)
    waivers = []
    if opts.waivers and not opts.no_waivers:
        waivers = load_waivers(opts.waivers, today=opts.today, known_rules={r.id for r in rules.rules})
    ev = _with_frozen_heap(lambda: evaluate(world, rules, plan))
    register = apply_waivers(ev, waivers, today=opts.today) if waivers else []
    inputs: dict[str, Any] = {
        "inventories": [
            {"file": Path(p).name, "sha256": inv.sha256, "pool": inv.name,
             "collected_at": inv.doc.get("collected_at"), "uuid": (inv.pool or {}).get("uuid"),
             "versions": _versions(world, i)}
            for i, (p, inv) in enumerate(zip(opts.inventories, inventories, strict=True))
        ],
        "plan": ({"file": Path(opts.plan).name, "sha256": sha256_file(opts.plan), "plan": plan.change_id}
                 if opts.plan else None),
        "policies": {"sha256": rules.sha256, "rules": len(rules.rules),
                     "extra": [str(p) for p in opts.policies]},
        "profile": profile,
        "waivers": ({"file": Path(opts.waivers).name, "sha256": sha256_file(opts.waivers),
                     "disabled": opts.no_waivers} if opts.waivers else None),
        **opts.extra_inputs,
    }
    return _with_frozen_heap(lambda: build_results(ev, inputs=inputs, fail_on=opts.fail_on,
                                                   waivers=register, consume=True))


def _with_frozen_heap(work: Callable[[], Any]) -> Any:
    """Run with the cyclic garbage collector paused: an audit creates objects by the
    million and keeps most of them until its results are written, and each collection
    would walk them all again (about a third of the run time). The evaluator and the
    results builder create no reference cycles, so reference counting frees what they drop."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return work()
    finally:
        if enabled:
            gc.enable()


def _versions(world: World, pool: int) -> list[str]:
    from checker.facts import Missing

    out = set()
    for host in world.objects(pool, "host"):
        try:
            out.add(world.value(host, "product"))
        except Missing:
            out.add("unknown version")
    return sorted(out)


def exit_code(results: dict[str, Any]) -> ExitCode:
    return {"blocked": ExitCode.BLOCKED, "undecided": ExitCode.UNDECIDED}.get(
        results["verdict"], ExitCode.READY)
