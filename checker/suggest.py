"""Suggest a plan that passes: where each VM can go, in waves, checked by the ordinary
evaluator before it is written. No I/O but the temporary plan file the check reads.

An evacuation or a set of moves inside a pool becomes live moves placed by migready: each
VM on a host every blocker rule accepts (the readiness audit's sweep asks them all, so
nothing is placed that `check` would refuse), never an older one, with room for its
footprint after what earlier moves booked there (as MEM-001 counts it: memory a live move
frees is not credited), biggest first onto the host with the most room left. A rolling
upgrade is XAPI's own host evacuations, master first: host.evacuate places the VMs itself,
so each step's placement is the evaluator's XAPI planner's, reported per step.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from checker import __version__
from checker.errors import InputError
from checker.evaluate import Evaluation, Finding, evaluate
from checker.facts import Missing, Obj, World, is_real_vm
from checker.facts.versions import not_older
from checker.inventory import Inventory
from checker.plan import Move, Plan, Settings, distinct_pools, load_plan, parse_duration, select, select_pool
from checker.policy import RuleSet, load_rules
from checker.profile import apply_profile
from checker.results import operation_verdict, overall_verdict

GIB = 1 << 30
#: What suggest places itself, so the audit sweep's verdict on it is not asked.
_PLACED_BY_SUGGEST = frozenset({"MEM-001"})
#: GEN-009's (live) and GEN-003's (storage) limit of moves from one pool in one wave.
DEFAULT_PER_WAVE = 3
READY = ("ready", "ready_with_warnings")


@dataclass
class Request:
    """What to suggest a plan for (the command line of `migready suggest`)."""

    inventories: Sequence[str | Path]
    evacuate: str | None = None
    rolling_upgrade: str | None = None
    moves: Sequence[str] = ()
    to: str | None = None
    keep_free: str | None = None
    window: str | None = None
    max_per_wave: int = DEFAULT_PER_WAVE
    avoid: Sequence[str] = ()
    profile: str | Path | None = None
    #: How the plan was asked for, for its header comment.
    command: str = "migready suggest"


@dataclass
class Suggestion:
    """A plan that passes (`text`, None when nothing can move), what rules out the rest."""

    text: str | None
    blockers: list[str]
    #: The verdict `check` gives the written plan.
    verdict: str | None = None
    moves: int = 0
    #: Rolling upgrade: each step's host and where XAPI's evacuation sends each VM.
    steps: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def suggest(request: Request, rules: RuleSet | None = None) -> Suggestion:
    """The suggested plan for `request`; InputError on bad input (exit 2). `rules`: the rule
    set with its profile applied, when the caller has it (else the built-in, per --profile)."""
    _one_goal(request)
    if request.max_per_wave < 1:
        raise InputError("--max-per-wave: expected a whole number ≥ 1")
    world = World([Inventory.load(p) for p in request.inventories])
    distinct_pools(world)
    if rules is None:
        rules, _ = apply_profile(load_rules(), request.profile)
    window = _window(request.window)
    if request.rolling_upgrade is not None:
        if request.keep_free or request.avoid:
            raise InputError("--rolling-upgrade: XAPI's host evacuation places the VMs itself, so "
                             "--keep-free and --avoid cannot be honoured; use --evacuate per host")
        return _rolling_upgrade(world, rules, request, window)
    if request.evacuate is not None:
        host = select(world, "host", request.evacuate, "--evacuate")[0]
        vms = world.value(host, "resident_vms")
        pool, fixed = host.pool, None
        goal = f"evacuate host {host.name}"
        leaving: Obj | None = host
    else:
        vms = _selected_vms(world, request.moves)
        pool, fixed = _destination(world, request.to, vms)
        goal = f"move {len(vms)} VM(s) to {fixed.name if fixed else world.inventories[pool].name}"
        leaving = None
    avoid = {select(world, "host", a, "--avoid", pool=pool)[0] for a in request.avoid}
    hosts = [fixed] if fixed is not None else [
        h for h in world.value(world.pool(pool), "hosts") if h != leaving and h not in avoid]
    placer = _Placer(world, rules, hosts, request.keep_free)
    placement, blockers = placer.place(vms)
    return _finish(world, rules, request, window, goal, placement, blockers, leaving)


# ---------------------------------------------------------------------------------
# The request
# ---------------------------------------------------------------------------------

def _one_goal(request: Request) -> None:
    goals = [request.evacuate is not None, request.rolling_upgrade is not None, bool(request.moves)]
    if sum(goals) != 1:
        raise InputError("give one of --evacuate HOST, --rolling-upgrade POOL or --move SELECTOR")
    if request.moves and not request.to:
        raise InputError("--move needs --to POOL/HOST or --to POOL")
    if request.to and not request.moves:
        raise InputError("--to goes with --move")


def _selector(text: str) -> Any:
    """A command-line selector: a name, uuid:…, or tag:NAME (a plan's {tag: NAME})."""
    return {"tag": text[4:]} if text.startswith("tag:") else text


def _selected_vms(world: World, selectors: Sequence[str]) -> list[Obj]:
    out: list[Obj] = []
    for text in selectors:
        out += [vm for vm in select(world, "VM", _selector(text), "--move") if vm not in out]
    return out


def _destination(world: World, to: str | None, vms: list[Obj]) -> tuple[int, Obj | None]:
    """--to POOL or POOL/HOST: the pool's index and the host, if one is named."""
    assert to is not None
    pool_name, _, host_name = to.partition("/")
    pool = select_pool(world, pool_name, "--to")
    other = sorted({world.inventories[vm.pool].name for vm in vms if vm.pool != pool})
    if other:
        raise InputError(f"--to {to}: the VMs are in pool {', '.join(other)}; suggestions across "
                         "pools (storage and network maps) are not implemented yet")
    return pool, select(world, "host", host_name, "--to", pool=pool)[0] if host_name else None


def _window(text: str | None) -> int | None:
    if text is None:
        return None
    seconds = parse_duration(text)
    if seconds is None:
        raise InputError(f"--window {text}: expected a duration such as 4h or 90m")
    return seconds


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

class _Placer:
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
            self.room[target] -= sizes[vm]
            if self._has_vgpus(vm):
                self.gpu_taken.add(target)
            placement.append((vm, target))
        blockers += _refusals(self.world, refused)
        blockers += short
        return placement, blockers

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
        return {op.move.vm: {by_name[name]: [f for f in found if _blocks(f)]
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


def _blocks(finding: Finding) -> bool:
    return _blocks_plan(finding) and finding.rule.id not in _PLACED_BY_SUGGEST


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
    out += [_local(sr, host, names) for (sr, host), names in sorted(local.items())]
    if alone:
        out.append(f"{len(alone)} VM(s) have no other host to go to (the pool's others are left "
                   f"out or avoided): {', '.join(alone)}")
    return out


def _local(sr: str, host: str, vms: list[str]) -> str:
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


# ---------------------------------------------------------------------------------
# Waves, the plan, and its check
# ---------------------------------------------------------------------------------

def _finish(world: World, rules: RuleSet, request: Request, window: int | None, goal: str,
            placement: list[tuple[Obj, Obj]], blockers: list[str], closing: Obj | None) -> Suggestion:
    """Waves of at most --max-per-wave moves, then (when every VM has a place) the host's
    evacuation, which finds it empty: the plan checked by the evaluator; moves the check
    still refuses left out with its words, and waves past the window left out (and said)."""
    per = request.max_per_wave
    closing = closing if not blockers else None
    while placement or closing is not None:
        waves = {vm: i // per + 1 for i, (vm, _) in enumerate(placement)}
        operations = _live_operations(world, placement, waves)
        if closing is not None:
            operations.append({"kind": "evacuate", "host": _name(world, closing),
                               "wave": max(waves.values(), default=0) + 1})
        text = _plan_text(world, request, goal, operations, window)
        ev, verdict = _check(world, rules, text)
        refused = _refused_moves(ev)
        late = [move for move in _past_window(ev, window) if move.vm is not None]
        if refused:
            blockers += [f"VM '{vm.name}' to {dst.name}: {message}" for vm, dst, message in refused]
            gone = {vm for vm, _, _ in refused}
        elif late:
            gone = {move.vm for move in late}
            blockers.append(f"{len(gone)} move(s) do not fit the {request.window} window at "
                            f"{per} per wave: {', '.join(sorted(vm.name for vm in gone))}")
        elif closing is not None and verdict not in READY:
            blockers += [f"host {host.name} cannot be evacuated once its VMs have moved: "
                         + "; ".join(reasons) for host, reasons in _blocked_steps(world, ev).items()]
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
    return [{"kind": "live", "vms": [_name(world, vm) for vm in vms],
             "destination": {"host": _name(world, host)}, "wave": wave}
            for (wave, host), vms in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1].name))]


def _name(world: World, obj: Obj) -> str:
    """The plan's selector for an object: its name when no other object of its class in the
    given pools has it, else uuid:…."""
    return obj.name if _name_counts(world, obj.cls)[obj.name] == 1 else f"uuid:{obj.uuid}"


@lru_cache(maxsize=4)
def _name_counts(world: World, cls: str) -> Counter[str]:
    """How many objects of `cls` (real VMs only) bear each name in the world's pools; counted
    once per world and class (a plan can name thousands of VMs)."""
    return Counter(rec.get("name_label") for inv in world.inventories
                   for _, rec in inv.all(cls) if cls != "VM" or is_real_vm(rec))


def _plan_text(world: World, request: Request, goal: str, operations: list[dict[str, Any]],
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


def _check(world: World, rules: RuleSet, text: str) -> tuple[Evaluation, str]:
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
    """Live moves the check blocks or cannot decide: (VM, host, the first blocker's words)."""
    out = []
    for op in ev.operations:
        move = op.move
        if move.kind != "live" or move.vm is None or move.dst_host is None:
            continue
        if operation_verdict(op.findings) not in READY:
            worst = next(f for f in op.findings if _blocks_plan(f))
            out.append((move.vm, move.dst_host, f"{worst.rule.id}: {worst.messages['en']}"))
    return out


def _past_window(ev: Evaluation, window: int | None) -> list[Move]:
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


# ---------------------------------------------------------------------------------
# Rolling pool upgrade
# ---------------------------------------------------------------------------------

def _rolling_upgrade(world: World, rules: RuleSet, request: Request, window: int | None) -> Suggestion:
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
        operations = [{"kind": "evacuate", "host": _name(world, h), "wave": i + 1}
                      for i, h in enumerate(hosts)]
        ev, verdict = _check(world, rules, _plan_text(world, request, goal, operations, window))
        blocked = _blocked_steps(world, ev)
        late = {move.host for move in _past_window(ev, window) if move.host is not None}
        if not blocked and not late:
            steps = _steps(ev)
            notes = [f"Step {i + 1}: evacuate {host} (then upgrade it): " +
                     (", ".join(f"{vm} -> {dst}" for vm, dst in sorted(placed.items())) or "no VMs")
                     for i, (host, placed) in enumerate(steps)]
            text = _plan_text(world, request, goal, operations, window, [
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
            out[host] = [_local(sr, host.name, names) for sr, names in sorted(local.items())]
    return out


def _blocked_steps(world: World, ev: Evaluation) -> dict[Obj, list[str]]:
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
            bad = [f for f in child.findings if _blocks_plan(f)]
            vm = child.move.vm
            disk = next((f for f in bad if f.rule.id == "LIVE-001" and f.status == "fail"
                         and isinstance(f.subject, Obj)), None)
            if disk is not None and vm is not None:
                local[world.value(disk.subject, "sr").name].append(vm.name)
            elif any(not _consequence(f) for f in bad):
                first = min((f for f in bad if not _consequence(f)), key=lambda f: f.status != "fail")
                words.append(f"{first.rule.id}: {first.messages['en']}")
        own = [f"{f.rule.id}: {f.messages['en']}" for f in op.findings if _blocks_plan(f)]
        reasons = [_local(sr, host.name, names) for sr, names in sorted(local.items())] + words
        reasons += [w for w in own if not (reasons and w.startswith("EVAC-001"))]
        if reasons:
            out[host] = reasons
    return out


def _consequence(finding: Finding) -> bool:
    """An unknown that only follows from an evacuated VM having no target (MISSING's words,
    or the evaluator's for a move without a destination host)."""
    return any(words in (finding.unknown or "") for words in ("no destination host", "not established"))


def _blocks_plan(finding: Finding) -> bool:
    return finding.rule.severity == "blocker" and finding.status in {"fail", "unknown"}


def _steps(ev: Evaluation) -> list[tuple[str, dict[str, str]]]:
    """Each evacuation's host and its placement (VM name -> target name), in plan order."""
    return [(op.move.host.name, dict(op.facts.values.get("placement") or {}) if op.facts else {})
            for op in ev.operations if op.move.kind == "evacuate" and op.move.host is not None]
