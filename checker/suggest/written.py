"""The suggested plan as written (waves, selectors, header) and its check by the ordinary
evaluator: what the check refuses or the window cannot hold is left out, and said."""

from __future__ import annotations

import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from checker import __version__
from checker.evaluate import Evaluation, Finding, evaluate
from checker.facts import Obj, World, is_real_vm
from checker.plan import Move, load_plan
from checker.policy import RuleSet
from checker.results import operation_verdict, overall_verdict
from checker.suggest.placement import blocks_plan, on_local_storage
from checker.suggest.request import Request, Suggestion

READY = ("ready", "ready_with_warnings")
#: The plan's operations for (VM, host) pairs in placement order and each VM's wave.
Operations = Callable[[World, list[tuple[Obj, Obj]], dict[Obj, int]], list[dict[str, Any]]]


def finish(world: World, rules: RuleSet, request: Request, window: int | None, goal: str,
            placement: list[tuple[Obj, Obj]], blockers: list[str], closing: Obj | None,
            build: Operations | None = None) -> Suggestion:
    """Waves of at most --max-per-wave moves (live ones unless `build` writes them), then
    (when every VM has a place) the host's evacuation, which finds it empty: the plan checked
    by the evaluator; moves the check still refuses left out with its words, and waves past
    the window left out (and said)."""
    per = request.max_per_wave
    closing = closing if not blockers else None
    while placement or closing is not None:
        waves = {vm: i // per + 1 for i, (vm, _) in enumerate(placement)}
        operations = (build or _live_operations)(world, placement, waves)
        if closing is not None:
            operations.append({"kind": "evacuate", "host": selector_of(world, closing),
                               "wave": max(waves.values(), default=0) + 1})
        text = plan_text(world, request, goal, operations, window)
        ev, verdict = check_plan(world, rules, text)
        refused = _refused_moves(ev)
        late = [move for move in past_window(ev, window) if move.vm is not None]
        if refused:
            blockers += [f"VM '{vm.name}' to {dst.name}: {message}" for vm, dst, message in refused]
            gone = {vm for vm, _, _ in refused}
        elif late:
            gone = {move.vm for move in late}
            blockers.append(f"{len(gone)} move(s) do not fit the {request.window} window at "
                            f"{per} per wave: {', '.join(sorted(vm.name for vm in gone))}")
        elif closing is not None and verdict not in READY:
            blockers += [f"host {host.name} cannot be evacuated once its VMs have moved: "
                         + "; ".join(reasons) for host, reasons in blocked_evacuations(world, ev).items()]
            closing, gone = None, set()
        else:
            return Suggestion(text, blockers, verdict, len(placement))
        placement = [(vm, host) for vm, host in placement if vm not in gone]
        closing = closing if not gone else None
    return Suggestion(None, blockers)


def _live_operations(world: World, placement: list[tuple[Obj, Obj]],
                     waves: dict[Obj, int]) -> list[dict[str, Any]]:
    """One live operation per (wave, destination host), VMs in placement order."""
    grouped: dict[tuple[int, Obj], list[Obj]] = defaultdict(list)
    for vm, host in placement:
        grouped[(waves[vm], host)].append(vm)
    return [{"kind": "live", "vms": [selector_of(world, vm) for vm in vms],
             "destination": {"host": selector_of(world, host)}, "wave": wave}
            for (wave, host), vms in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1].name))]


def selector_of(world: World, obj: Obj) -> str:
    """The plan's selector for an object: its name when no other object of its class in the
    given pools has it, else uuid:…."""
    return obj.name if _name_counts(world, obj.cls)[obj.name] == 1 else f"uuid:{obj.uuid}"


@lru_cache(maxsize=4)
def _name_counts(world: World, cls: str) -> Counter[str]:
    """How many objects of `cls` (real VMs only) bear each name in the world's pools; counted
    once per world and class (a plan can name thousands of VMs)."""
    return Counter(rec.get("name_label") for inv in world.inventories
                   for _, rec in inv.all(cls) if cls != "VM" or is_real_vm(rec))


def plan_text(world: World, request: Request, goal: str, operations: list[dict[str, Any]],
               window: int | None, notes: Sequence[str] = ()) -> str:
    inputs = ", ".join(f"{Path(p).name} (sha256 {inv.sha256[:12]})"
                       for p, inv in zip(request.inventories, world.inventories, strict=True))
    header = [f"Suggested by migready {__version__}: {request.command}",
              f"Goal: {goal}. Inventories: {inputs}.",
              "Checked with the ordinary evaluator (migready check --plan) before this file was",
              "written: every operation is ready.",
              *notes]
    doc: dict[str, Any] = {"plan": f"SUGGEST-{_slug(goal)}"}
    if window is not None:
        doc["settings"] = {"window": request.window}
    doc["operations"] = operations
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    return "".join(f"# {line}\n" for line in header) + body


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60]


def check_plan(world: World, rules: RuleSet, text: str) -> tuple[Evaluation, str]:
    """The plan as `migready check --plan` evaluates it, on the same pools."""
    with tempfile.TemporaryDirectory(prefix="migready-suggest-") as tmp:
        path = Path(tmp) / "plan.yaml"
        path.write_text(text, encoding="utf-8")
        plan = load_plan(path, world)
    ev = evaluate(world, rules, plan)
    verdicts = {op.move.id: operation_verdict(op.findings) for op in ev.operations}
    for op in ev.operations:
        if op.children:
            verdicts[op.move.id] = overall_verdict([verdicts[op.move.id],
                                                    *(verdicts[c] for c in op.children)])
    return ev, overall_verdict(list(verdicts.values()))


def _refused_moves(ev: Evaluation) -> list[tuple[Obj, Obj, str]]:
    """Moves of a VM to a host (live, or storage across pools) the check blocks or cannot
    decide: (VM, host, the first blocker's words)."""
    out = []
    for op in ev.operations:
        move = op.move
        if move.kind not in {"live", "storage"} or move.vm is None or move.dst_host is None:
            continue
        if operation_verdict(op.findings) not in READY:
            worst = next(f for f in op.findings if blocks_plan(f))
            out.append((move.vm, move.dst_host, f"{worst.rule.id}: {worst.messages['en']}"))
    return out


def past_window(ev: Evaluation, window: int | None) -> list[Move]:
    """The plan's moves (a VM's, or a host's evacuation) in the waves that end after the
    window: waves run one after another, each as long as its longest move (the evaluator's
    estimate; an unknown one counts as past the window)."""
    if window is None:
        return []
    longest: dict[int, float] = defaultdict(float)
    moves: dict[int, list[Move]] = defaultdict(list)
    for op in ev.operations:
        if op.move.parent is None:
            estimate = op.estimate_seconds
            longest[op.move.wave] = max(longest[op.move.wave],
                                        float("inf") if estimate is None else estimate)
            moves[op.move.wave].append(op.move)
    late: list[Move] = []
    elapsed = 0.0
    for wave in sorted(longest):
        elapsed += longest[wave]
        if elapsed > window:
            late += moves[wave]
    return late


def blocked_evacuations(world: World, ev: Evaluation) -> dict[Obj, list[str]]:
    """Each evacuation the check does not pass, and why, fewest words first: VMs whose disks
    no target sees counted by SR; each other VM by its first blocker (a failure before an
    unknown; an unknown that only follows from the VM having no target says nothing); the
    host's own blockers, its summary (EVAC-001) only when no VM says more."""
    by_id = {op.move.id: op for op in ev.operations}
    out: dict[Obj, list[str]] = {}
    for op in ev.operations:
        host = op.move.host
        if op.move.kind != "evacuate" or host is None:
            continue
        local: dict[str, list[str]] = defaultdict(list)
        words: list[str] = []
        for child in (by_id[c] for c in op.children):
            bad = [f for f in child.findings if blocks_plan(f)]
            vm = child.move.vm
            disk = next((f for f in bad if f.rule.id == "LIVE-001" and f.status == "fail"
                         and isinstance(f.subject, Obj)), None)
            if disk is not None and vm is not None:
                local[world.value(disk.subject, "sr").name].append(vm.name)
            elif any(not _consequence(f) for f in bad):
                first = min((f for f in bad if not _consequence(f)), key=lambda f: f.status != "fail")
                words.append(f"{first.rule.id}: {first.messages['en']}")
        own = [f"{f.rule.id}: {f.messages['en']}" for f in op.findings if blocks_plan(f)]
        reasons = [on_local_storage(sr, host.name, names) for sr, names in sorted(local.items())] + words
        reasons += [w for w in own if not (reasons and w.startswith("EVAC-001"))]
        if reasons:
            out[host] = reasons
    return out


def _consequence(finding: Finding) -> bool:
    """An unknown that only follows from an evacuated VM having no target (MISSING's words,
    or the evaluator's for a move without a destination host)."""
    return any(words in (finding.unknown or "") for words in ("no destination host", "not established"))
