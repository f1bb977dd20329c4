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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jinja2.exceptions import UndefinedError

from checker.evaluate_cache import (
    CacheKeys,
    HostClass,
    SweepParts,
    identity,
    message_shared_by,
    names_destination_only,
    source_only,
)
from checker.facts import Missing, Obj, UnknownFact, World, recording
from checker.facts.gpu import vgpu_placement
from checker.facts.versions import not_older
from checker.plan import DEFAULT_BANDWIDTH, Move, Plan
from checker.policy import Rule, RuleSet, render
from checker.reasons import translate
from checker.scope import MISSING, PlanFacts, Unestablished

#: Statuses an audit shows by their rule's title, not a message.
SHOWN_BY_TITLE = frozenset({"pass", "not_applicable"})


def grouped(rule: Rule, status: str) -> bool:
    """A sweep's finding with this status is grouped over the destinations it holds for
    (passes, not applicable, an info rule's advice); failures and unknowns are not."""
    return status in {"pass", "not_applicable"} or (status == "fail" and rule.severity == "info")


_UNSET = object()


@dataclass(slots=True)
class Finding:
    """One (rule, operation, subject) result. Messages render on demand, from the move's
    variables: a readiness audit evaluates millions of findings and prints few of them."""

    rule: Rule
    status: str
    operation: str
    subject: Any
    evidence: dict[str, Any]
    variables: dict[str, Any] | None = None
    unknown: str | None = None
    waiver: dict[str, Any] | None = None
    original_status: str | None = None
    #: Audit: the destinations a grouped finding stands for; `all_targets` when the rule
    #: does not depend on the destination at all.
    targets: list[str] = field(default_factory=list)
    all_targets: bool = False
    #: Audit: a grouped failure or unknown's evidence on each of its `targets`; its
    #: messages and command then hold the stand-in `DESTINATION` for the host's name.
    target_evidence: dict[str, dict[str, Any]] | None = None
    _messages: dict[str, str] | None = field(default=None, repr=False)
    _command: Any = field(default=_UNSET, repr=False)

    @property
    def messages(self) -> dict[str, str]:
        if self._messages is None:
            self._messages = self._render()
        return self._messages

    def _render(self) -> dict[str, str]:
        out = {}
        for lang, template in self.rule.message.items():
            if self.status == "unknown" and self.unknown:
                prefix = "Could not be decided" if lang == "en" else "判定できません"
                out[lang] = f"{prefix}: {translate(self.unknown, lang)}"
                continue
            try:
                out[lang] = render(template, self._scope()).strip()
            except (UnknownFact, UndefinedError, TypeError, ValueError):
                out[lang] = ""
            out[lang] = out[lang] or f"{self.rule.title[lang]}: {self.status}"
        return out

    def _scope(self) -> dict[str, Any]:
        """What the messages read: the move's variables (shared by its findings), the loop
        variable as this finding's subject, and the status."""
        loop = {self.rule.for_each[0]: self.subject} if self.rule.for_each else {}
        return {**(self.variables or {}), **loop, "status": self.status}

    def settle(self) -> None:
        """Render the messages and command now and let go of the move's variables (an
        audit keeps many thousands of findings; their moves need not stay in memory)."""
        self._messages = self._render()
        self._command = self.command
        self.variables = None

    def for_destination(self, name: str) -> Finding:
        """This grouped finding as the one result on destination `name`: its messages with
        the host's name for the stand-in, and that host's evidence."""
        assert self.target_evidence is not None
        twin = Finding(self.rule, self.status, self.operation, self.subject,
                       self.target_evidence[name], targets=[name],
                       unknown=self.unknown and self.unknown.replace(DESTINATION, name),
                       waiver=self.waiver, original_status=self.original_status)
        twin._messages = {lang: text.replace(DESTINATION, name) for lang, text in self.messages.items()}
        twin._command = self.command and self.command.replace(DESTINATION, name)
        return twin

    @property
    def command(self) -> str | None:
        if self._command is not _UNSET:
            return self._command
        if self.rule.command is None or self.status != "fail" or not self.variables:
            return None
        try:
            return render(self.rule.command, self._scope()).strip() or None
        except (UnknownFact, UndefinedError, TypeError):
            return None


@dataclass
class Operation:
    move: Move
    estimate_seconds: int | None = None
    findings: list[Finding] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    facts: PlanFacts | None = None
    #: Audit sweep: destination host name -> the problems of the move there (lists may be
    #: shared between hosts: replace one, never change it in place).
    destinations: dict[str, list[Finding]] | None = None


@dataclass
class Evaluation:
    operations: list[Operation]
    world: World
    plan: Plan
    rules: RuleSet
    #: Audit only: passes (and advice) of live moves, one per (rule, VM, subject) with the
    #: destinations they hold for; failures and unknowns stay with their operation.
    groups: list[Finding] = field(default_factory=list)


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


@dataclass(frozen=True)
class Outcome:
    """A rule's result for one subject, independent of which move produced it."""

    status: str
    unknown: str | None
    evidence: dict[str, Any]


class _Runner:
    """Evaluates rules on moves, reusing results whose inputs are equal: those whose keys
    (checker/evaluate_cache.py) are equal. In the readiness audit that is what makes pair
    rules cheap: VMs of equal footprint tried against hosts of equal free memory share one
    evaluation of MEM-001; a disk on a given SR tried against hosts that see the same SRs
    shares one of LIVE-001. Rules that read nothing of the destination run once per VM for
    all its destinations.
    """

    def __init__(self, world: World, rules: RuleSet, plan: Plan, settings: PlanFacts) -> None:
        self.world = world
        self.rules = rules
        self.plan = plan
        self.settings = settings
        self.head_cache: dict[tuple[Any, ...], Any] = {}
        self.assert_cache: dict[tuple[Any, ...], Outcome] = {}
        self.groups: dict[tuple[Any, ...], Finding] = {}
        #: The current sweep's new groups: those for every destination share one list of them.
        self.created: list[Finding] = []
        self.source_only = {rule.id: source_only(rule) for rule in rules.rules}
        self.applicable: dict[tuple[str, str], list[Rule]] = defaultdict(list)
        for rule in rules.rules:
            for kind in sorted(rule.kinds):
                self.applicable[(kind, rule.level)].append(rule)
        self.keys = CacheKeys(world, rules)
        self.home: dict[Any, Any] = {}
        self.names: dict[Any, str] = {}
        self.names_destination_only = {rule.id: names_destination_only(rule) for rule in rules.rules}
        self.message_shared_by = {rule.id: message_shared_by(rule) for rule in rules.rules}
        self.boot_checks = boot_checks(rules)
        self.boot_check_ids = frozenset(rule.id for rule in self.boot_checks)
        #: The boot checks are live-migration rules too, so an audit's sweeps answer them.
        self.boot_checks_live = all("live" in rule.kinds for rule in self.boot_checks)
        #: Audit: VM -> destination host name -> "fail" / "unknown" of its boot checks there.
        self.sweep_refusals: dict[tuple[int, str, str], dict[str, str]] = {}

    # -- one move ---------------------------------------------------------------------
    def run(self, move: Move, op: PlanFacts) -> Operation:
        """Every applicable rule on one move: its operation with all its findings."""
        operation = Operation(move, facts=op)
        context = _Context(self, move, op)
        level = "host" if move.host is not None else "vm"  # a vdi move of a lone disk: vm rules
        for rule in self.applicable[(move.kind, level)]:
            for subject, outcome in self.outcomes(rule, context):
                operation.findings.append(context.finding(rule, subject, outcome))
        estimate = op.get("estimate_seconds")
        operation.estimate_seconds = estimate if isinstance(estimate, int) else None
        return operation

    def refuses(self, probe: Move, op: PlanFacts) -> str | None:
        """An evacuation target's boot checks on one VM (RunProbe). In the audit, the VM's
        live sweep has judged the same rules on the same host already: its answer is
        reused (the differential test holds this to the reference evaluator)."""
        vm = probe.vm
        assert vm is not None and probe.dst_host is not None
        swept = self.sweep_refusals.get(vm.key) if probe.audit and self.boot_checks_live else None
        if swept is not None:
            return swept.get(self.name_of(probe.dst_host))
        context = _Context(self, probe, op)
        return worst_of(outcome.status for rule in self.boot_checks
                        for _, outcome in self.outcomes(rule, context))

    # -- the audit: one VM against every other host of its pool -------------------------
    def sweep(self, move: Move, make_facts: Any) -> Operation:
        """A live move of `move.vm` to each host of `move.sweep`, as one operation: a verdict
        per destination, and one finding per (rule, subject, reason) with the destinations
        it holds for (`targets`, or `all_targets`).

        Work is shared three ways. A rule that cannot depend on the destination
        (`source_only`) is judged once, with the first destination; what it finds wrong is
        wrong everywhere: one finding marked `all_targets`, counted in every destination's
        verdict. A rule that reads the destination is judged once per class of hosts that
        give it the same values (`host_classes`): one host stands for its class. And equal
        inputs share one evaluation across VMs (the caches in `outcomes`).
        """
        vm = move.vm
        assert vm is not None and move.sweep is not None
        operation = Operation(move)
        contexts: dict[tuple[int, str, str], _Context] = {}

        def context_for(host: Obj) -> _Context:
            context = contexts.get(host.key)
            if context is None:
                like = next(iter(contexts.values()), None)  # the same VM and source
                context = contexts[host.key] = _Context(self, sweep_pair(move, host), make_facts, like)
            return context

        sweep_id = self.keys.sweep_id(move.sweep)
        everywhere: list[Finding] = []
        problems: dict[tuple[Any, ...], Finding] = {}
        for rule in self.applicable[("live", "vm")]:
            once = self.source_only[rule.id]
            if once:
                classes = [(move.sweep[0], move.sweep, None, [])]
            else:
                classes = self.keys.host_classes(rule, move.sweep, sweep_id)
                vm_parts = self.keys.vm_parts(rule, context_for(move.sweep[0]))
            for representative, members, class_key, names in classes:
                if once or vm_parts is None:
                    found = self.outcomes(rule, context_for(representative))
                else:
                    found = self.outcomes(rule, context_for(representative),
                                          (vm_parts, class_key))
                for subject, outcome in found:
                    if grouped(rule, outcome.status):
                        self._group(rule, subject, outcome, context_for, (representative, members,
                                    class_key, names), once, vm)
                    elif once:
                        finding = context_for(representative).finding(rule, subject, outcome)
                        finding.all_targets = True
                        everywhere.append(finding)
                    else:
                        for host in members:
                            self._add_problem(rule, subject, outcome, host, context_for, problems)
        every = [self.name_of(h) for h in move.sweep]  # shared by the groups for every host
        for group in self.created:
            if not group.all_targets and len(group.targets) == len(every):
                group.targets = every
        self.created = []
        own: dict[str, list[Finding]] = {}
        for finding in problems.values():
            operation.findings.append(finding)
            for name in finding.targets:
                own.setdefault(name, []).append(finding)
        operation.findings += everywhere
        # Each destination's problems; the hosts with none of their own share one list.
        operation.destinations = {name: own[name] + everywhere if name in own else everywhere
                                  for name in every}
        if self.boot_checks_live:  # what the VM's evacuation will ask of each host (refuses)
            boot = self.boot_check_ids
            self.sweep_refusals[vm.key] = {
                name: worst for name, found_there in operation.destinations.items()
                if (worst := worst_of(f.status for f in found_there if f.rule.id in boot)) is not None}
        return operation

    def _add_problem(self, rule: Rule, subject: Any, outcome: Outcome, host: Obj,
                     context_for: Any, problems: dict[tuple[Any, ...], Finding]) -> None:
        """A sweep's failure or unknown on one destination, joined to the finding of the same
        (rule, subject, reason): the messages rendered with the destination's name replaced
        by a stand-in are the reason, so hosts are grouped only where nothing but their name
        differs. A VM with a local disk fails LIVE-001 on every other host: one finding.

        When the messages read nothing of the destination but its name, they are rendered
        once per (rule, subject, outcome), with the stand-in name; otherwise on each host
        and the host's quoted name is put back to the stand-in."""
        name = self.name_of(host)
        unknown = outcome.unknown and stand_in(outcome.unknown, name)
        name_only = self.names_destination_only[rule.id]
        key: tuple[Any, ...] = (rule.id, identity(subject), outcome.status, unknown)
        group = problems.get(key) if name_only else None
        if group is None:
            finding = context_for(host).finding(rule, subject, outcome)
            if name_only:
                finding.variables = {**(finding.variables or {}), "dst_host": _ANY_HOST}
            finding.settle()
            finding._messages = {lang: stand_in(text, name) for lang, text in finding.messages.items()}
            finding._command = finding.command and stand_in(finding.command, name)
            finding.unknown = unknown
            if not name_only:
                key += (tuple(sorted(finding.messages.items())), finding.command)
            group = problems.get(key)
            if group is None:
                group = problems[key] = finding
                group.target_evidence = {}
        group.targets.append(name)
        assert group.target_evidence is not None
        group.target_evidence[name] = outcome.evidence

    def name_of(self, obj: Obj) -> str:
        name = self.names.get(obj.key)
        if name is None:
            name = self.names[obj.key] = obj.name
        return name

    def _group(self, rule: Rule, subject: Any, outcome: Outcome, context_for: Any,
               host_class: HostClass, once: bool, vm: Obj) -> None:
        """Add a class of hosts to the (rule, VM, subject) group of this status. Advice (an
        info rule's fail) shows its message: hosts whose messages may differ (by class, or
        by host: `message_shared_by`) are kept in groups of their own."""
        representative, members, class_key, names = host_class
        key = (rule.id, outcome.status, vm.key, identity(subject))
        shared_by = "sweep" if once or outcome.status != "fail" else self.message_shared_by[rule.id]
        if shared_by == "host":
            for host, name in zip(members, names, strict=True):
                self._add_to_group((*key, host.key), rule, subject, outcome, context_for, host, [name])
            return
        key = (*key, class_key) if shared_by == "class" else key
        self._add_to_group(key, rule, subject, outcome, context_for, representative, names, once)

    def _add_to_group(self, key: tuple[Any, ...], rule: Rule, subject: Any, outcome: Outcome,
                      context_for: Any, host: Obj, names: list[str], once: bool = False) -> None:
        """The group's first finding is made with `host`'s context (built only then)."""
        group = self.groups.get(key)
        if group is None:
            group = context_for(host).finding(rule, subject, outcome)
            group.all_targets = once
            self.groups[key] = group
            self.created.append(group)
        if not once:
            group.targets += names

    # -- evaluation with reuse ----------------------------------------------------------
    def outcomes(self, rule: Rule, context: _Context,
                 parts: SweepParts | None = None) -> list[tuple[Any, Outcome]]:
        """(subject, outcome) for each subject of the rule on this move. `parts`, in a sweep:
        ((VM side of the head, VM side of the assertion), host class): the values the rule
        reads, computed once for all the sweep's moves instead of per move."""
        if rule.applies_when is None and rule.for_each is None:
            head: Any = _NO_LOOP
        else:
            head_key = self.keys.head(rule, context, parts)
            head = self.head_cache.get(head_key) if head_key is not None else None
        if head is None:
            head = evaluate_head(rule, context.variables())
            if head_key is not None:
                self.head_cache[head_key] = head
        if isinstance(head, Outcome):  # not applicable, or the head was undecided
            return [(context.subject(rule, None), head)]
        out = []
        var = rule.for_each[0] if rule.for_each else None
        for item in head:
            key = self.keys.assertion(rule, context, parts, var, item)
            outcome = self.assert_cache.get(key) if key is not None else None
            if outcome is None:
                outcome = evaluate_assert(rule, context.variables(), var, item)
                if key is not None:
                    self.assert_cache[key] = outcome
            out.append((context.subject(rule, item), outcome))
        return out

    def home_host(self, vm: Obj) -> Any:
        home = self.home.get(vm.key, _UNSET)
        if home is _UNSET:
            try:
                home = self.world.value(vm, "home_host")
            except Missing:
                home = None
            self.home[vm.key] = home
        return home


class _Context:
    """One move as the rules see it. Its plan facts and its variables are built only when
    a rule reads them: most of an audit's moves are answered from the caches."""

    __slots__ = ("_op", "_variables", "make_facts", "move", "objects", "runner")

    def __init__(self, runner: _Runner, move: Move, op: Any, like: _Context | None = None) -> None:
        self.runner = runner
        self.move = move
        #: The move's PlanFacts, or a callable making them on first use.
        self._op: PlanFacts | None = op if isinstance(op, PlanFacts) else None
        self.make_facts = None if self._op is not None else op
        self._variables: dict[str, Any] | None = None
        if like is not None:  # the same VM and source, another destination host
            self.objects = {**like.objects, "dst_host": move.dst_host}
            return
        world = runner.world
        self.objects = {
            "vm": move.vm, "dst_host": move.dst_host, "settings": runner.settings,
            "src_host": runner.home_host(move.vm) if move.vm is not None else move.host,
            "src_pool": world.pool(move.src_pool), "dst_pool": world.pool(move.dst_pool),
            "host": move.host, "vdi": move.vdi, "dst_sr": move.dst_sr,
        }

    @property
    def op(self) -> PlanFacts:
        if self._op is None:
            self._op = self.make_facts(self.move)
            self.make_facts = None
        return self._op

    def variables(self) -> dict[str, Any]:
        if self._variables is None:
            self._variables = move_variables(self.move, self.op, self.runner.settings, self.runner.world)
        return self._variables

    def var(self, name: str) -> Any:
        """A rule variable's object, without building the whole variable set."""
        return self.op if name == "op" else self.objects.get(name)

    def subject(self, rule: Rule, item: Any) -> Any:
        return item if rule.for_each else self.var(rule.subject)

    def finding(self, rule: Rule, subject: Any, outcome: Outcome) -> Finding:
        # An audit shows a pass by its rule's title (results.finding_json): it keeps no
        # variables, and its move's need not be built for it.
        shown = not (self.move.audit and outcome.status in SHOWN_BY_TITLE)
        return Finding(rule, outcome.status, self.move.id, subject, outcome.evidence,
                       self.variables() if shown else None, outcome.unknown)


#: A grouped finding's messages hold this where one host's held the destination's name.
DESTINATION = "\x00destination host\x00"


def stand_in(text: str, name: str) -> str:
    """One host's message with its name, where quoted as messages quote names ('xs54',
    「xs54」), replaced by the stand-in: equal results are equal messages then."""
    return text.replace(f"'{name}'", f"'{DESTINATION}'").replace(f"「{name}」", f"「{DESTINATION}」")


class _AnyHost:
    """The destination in a message rendered once for many hosts: only its name is read."""

    name = DESTINATION

    def __str__(self) -> str:
        return self.name


_ANY_HOST = _AnyHost()
_NO_LOOP = [None]  # the one "item" of a rule without for_each


def evaluate(world: World, rules: RuleSet, plan: Plan) -> Evaluation:
    """Run every rule on every move of the plan (in wave order) and collect findings."""
    runner = _Runner(world, rules, plan, plan_settings(plan))
    operations = walk(world, plan, runner.run, runner.sweep, runner.refuses)
    return Evaluation(operations, world, plan, rules, list(runner.groups.values()))


#: Evaluates every applicable rule on one move given its plan facts.
RunMove = Callable[[Move, PlanFacts], "Operation"]
#: Evaluates an audit sweep given a maker of each pair move's plan facts.
RunSweep = Callable[[Move, Callable[[Move], PlanFacts]], "Operation"]
#: Whether XAPI's assert_can_boot_here refuses a VM on an evacuation target ("fail"),
#: cannot be decided ("unknown"), or not (None): `boot_checks` on the probe move.
RunProbe = Callable[[Move, PlanFacts], "str | None"]


def plan_settings(plan: Plan) -> PlanFacts:
    """The plan's settings as rules read them (`settings.*`)."""
    return PlanFacts("settings", {
        "fast_network": plan.settings.fast_network,
        "evacuation_batch_size": plan.settings.evacuation_batch_size,
    })


def walk(world: World, plan: Plan, run: RunMove, sweep: RunSweep, refuses: RunProbe) -> list[Operation]:
    """The plan's moves in wave order, each with its plan facts (a plan books what each move
    uses, so later moves see it), evaluated by `run` or `sweep`; evacuations placed here,
    asking `refuses` whether a target would refuse a VM.
    What defines an evaluation apart from the rules themselves: the fast path and the
    reference evaluator (checker/reference.py) both walk a plan with it."""
    ledger = _Ledger()
    waves = _wave_counts(plan)
    operations: list[Operation] = []
    for move in sorted(plan.moves, key=lambda m: m.wave):
        if move.sweep is not None:
            operations.append(sweep(move, lambda pair: _move_facts(world, plan, pair, ledger, waves)))
        elif move.kind == "evacuate" and move.host is not None:
            operations += _evacuate(world, run, refuses, plan, move, ledger, waves)
        else:
            operations.append(run(move, _move_facts(world, plan, move, ledger, waves)))
    order = {m.id: i for i, m in enumerate(plan.moves)}
    operations.sort(key=lambda o: (order.get(o.move.parent or o.move.id, 0), o.move.parent is not None))
    return operations


def sweep_pair(move: Move, host: Obj) -> Move:
    """One move of an audit sweep: `move.vm` live to `host`."""
    return Move(move.id, "live", move.wave, vm=move.vm, dst_pool=move.dst_pool, dst_host=host,
                audit=True)


# ---------------------------------------------------------------------------------
# Rule evaluation
# ---------------------------------------------------------------------------------

def move_variables(move: Move, op: PlanFacts, settings: PlanFacts, world: World) -> dict[str, Any]:
    """What a rule's expressions and messages read of one move, each object labelled as the
    variable it is (so evidence reads `dst_host.free_memory`)."""
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


def evaluate_head(rule: Rule, variables: dict[str, Any]) -> list[Any] | Outcome:
    """applies_when and for_each: the items to check, or the outcome that ends it here."""
    with recording() as reads:
        try:
            if rule.applies_when is not None and not rule.applies_when(**variables):
                return Outcome("not_applicable", None, dict(reads))
            if not rule.for_each:
                return [None]
            var = rule.for_each[0]
            return [_as_loop_item(item, var) for item in rule.for_each[1](**variables)]
        except (UnknownFact, UndefinedError) as exc:
            return Outcome("unknown", _reason(exc, variables), dict(reads))


def evaluate_assert(rule: Rule, variables: dict[str, Any], var: str | None, item: Any) -> Outcome:
    """The rule's assertion on one subject (`item` as the loop variable `var`, if any)."""
    scoped = {**variables, var: item} if var else variables
    with recording() as reads:
        try:
            status = "pass" if rule.check(**scoped) else "fail"
            return Outcome(status, None, dict(reads))
        except (UnknownFact, UndefinedError) as exc:
            return Outcome("unknown", _reason(exc, scoped), dict(reads))


def _as_loop_item(item: Any, var: str) -> Any:
    """Loop items read as `<var>.fact` in evidence, so that equal items share results."""
    if isinstance(item, Obj):
        return item.with_label(var)
    if isinstance(item, PlanFacts):
        return PlanFacts(item.cls, item.values, var, item.lazy)
    return item


#: Words for a move variable that is None, when a rule reads through it.
_ABSENT = {
    "dst_host": "the move has no destination host (no host could be chosen for it)",
    "src_host": "the VM runs on no host (it is not running)",
    "dst_pool": "the move has no destination pool",
}


def _reason(exc: Exception, variables: dict[str, Any]) -> str:
    """Why a rule could not be decided, in words: the missing fact and its reason, or the
    object of the move that does not exist (never Python's "'None' has no attribute")."""
    if isinstance(exc, UnknownFact):
        return f"{exc.path}: {exc.reason}"
    absent = [name for name, value in variables.items() if value is None and name in _ABSENT]
    if absent:
        return "; ".join(_ABSENT[name] for name in absent)
    return f"not established: {exc}"


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
    """The plan-level facts of one move. A plan books what the move uses on its destination
    (so later moves see it); an audit move books nothing and computes its facts only when
    a rule reads them."""
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
        "migration_network": move.migration_network,
    }
    footprint = _value(world, vm, "memory_footprint")
    dst = move.dst_host
    planned = 0 if move.audit or dst is None else ledger.memory[dst] - ledger.freed[dst]
    values["memory_planned_before"] = planned
    books = (vm is not None and dst is not None and not move.audit and move.parent is None
             and move.kind != "vdi" and vm.record.get("power_state") != "Halted")
    if books and not isinstance(footprint, Unestablished):  # evacuations book their own placement
        ledger.memory[dst] += footprint
        ledger.location[vm] = dst if move.dst_pool == vm.pool else None
    facts = PlanFacts("op", values, "op")

    def dst_free_memory() -> Any:
        free = _value(world, dst, "free_memory")
        return free if isinstance(free, Unestablished) else free - planned

    # The closures below share `memo`, never `facts` itself: no reference cycle, so an
    # audit's thousands of moves are freed by reference counting as soon as they are done.
    memo: dict[str, Any] = {}

    def once(name: str, compute: Any) -> Any:
        if name not in memo:
            memo[name] = compute()
        return memo[name]

    def disk_moves() -> Any:
        return once("disk_moves", lambda: _disk_moves(world, move))

    def srs(which: int) -> Any:
        return once("srs", lambda: _sr_demand(world, disk_moves(), ledger, move.audit))[which]

    def bandwidth() -> tuple[int, str]:
        return once("bandwidth", lambda: _bandwidth(world, plan, move))

    net = move.migration_network
    lazy: dict[str, Any] = {
        "same_host": lambda: dst is not None and dst == _value(world, vm, "home_host"),
        "dst_free_memory": dst_free_memory,
        "spare_host_for_halted": lambda: _spare_host(world, vm, footprint, ledger) if vm else None,
        "disk_moves": disk_moves,
        "dst_srs": lambda: srs(0),
        "src_srs": lambda: srs(1),
        "network_map": lambda: _network_map(world, move),
        "migration_network_is_management":
            lambda: True if net is None else _value(world, net, "is_management"),
        "bandwidth": lambda: bandwidth()[0],
        "bandwidth_source": lambda: bandwidth()[1],
        "estimate_seconds": lambda: _estimate(world, move, footprint, disk_moves(), bandwidth()[0]),
        "vgpu_placement": lambda: _vgpu_placement(vm, dst),
    }
    facts.lazy.update(lazy)
    if not move.audit:  # in plan order: SR space is booked as each move is seen
        for name in list(lazy):
            facts.get(name)
    return facts


def _vgpu_placement(vm: Obj | None, dst: Obj | None) -> Any:
    """LIM-014: where XAPI would put the VM's vGPUs on the destination, or why it is unknown
    (a pair of objects, so not a fact of either)."""
    if vm is None or dst is None:
        return MISSING
    try:
        return vgpu_placement(vm, dst)
    except Missing as exc:
        return Unestablished(exc.reason)


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

    def size(vdis: list[Obj], measure: str) -> Any:
        sizes = [_value(world, v, measure) for v in vdis]
        return next((s for s in sizes if isinstance(s, Unestablished)), None) or sum(sizes)

    def demand(sr: Obj, vdis: list[Obj], factor: int, book: bool) -> PlanFacts:
        # A thin SR (file-based: ext, nfs, smb…) allocates what the disk holds, a thick
        # one (LVM) its whole virtual size.
        thin = _value(world, sr, "thin_provisioned")
        total = thin if isinstance(thin, Unestablished) else size(
            vdis, "physical_size" if thin else "virtual_size")
        earlier = 0 if audit else ledger.sr_space[sr]
        needed = total if isinstance(total, Unestablished) else factor * total + earlier
        if book and not isinstance(total, Unestablished) and not audit:
            ledger.sr_space[sr] += factor * total
        snaps = any(not isinstance(n, Unestablished) and n > 0
                    for n in (_value(world, v, "snapshot_count") for v in vdis))
        return PlanFacts("sr_demand", {"sr": sr, "needed": needed, "disks": vdis, "size": total,
                                       "thin": thin, "with_snapshots": snaps}, f"sr[{sr.name}]")

    dst_list = [demand(sr, vdis, 3, True) for sr, vdis in dst.items()]
    src_list = [demand(sr, vdis, 2, False) for sr, vdis in src.items()]
    return dst_list, src_list


def _network_map(world: World, move: Move) -> Any:
    """SXM-005's VIF -> network pairs. Inside the pool each VIF of the VM keeps its network
    (assert_can_boot_here checks the VM's own VIFs). Across pools XAPI checks only that every
    VIF of the VM and of its snapshots is mapped (xapi_vm_migrate.ml assert_can_migrate,
    infer_vif_map): by the plan, else to the network of the same name (the wizard's
    proposal), else to the network of a mapped VIF with its MAC. A snapshot's VIF is listed
    only when it maps otherwise than a VIF already listed."""
    if move.vm is None or move.kind != "storage":
        return []
    vifs = _value(world, move.vm, "migrated_vifs")
    if isinstance(vifs, Unestablished):
        return vifs
    cross = move.dst_pool != move.vm.pool
    by_name = {rec.get("name_label"): ref for ref, rec in world.inventories[move.dst_pool].all("network")}

    def target(net: Obj) -> Obj | None:
        if net.ref in move.network_map:
            return move.network_map[net.ref]
        if not cross:
            return net
        return world.obj(move.dst_pool, "network", by_name[net.name]) if net.name in by_name else None

    targets = [(snap, mac, net, target(net)) for snap, mac, net in vifs if cross or snap is None]
    by_mac: dict[str, Obj] = {}
    for _, mac, _, dst in targets:
        if dst is not None:
            by_mac.setdefault(mac, dst)
    out, seen = [], set()
    for snap, mac, net, dst in targets:
        dst = dst or (by_mac.get(mac) if cross else None)
        if snap is not None and (net, dst) in seen:
            continue
        seen.add((net, dst))
        out.append(PlanFacts("vif_map", {"network": net, "dst_network": dst, "snapshot": snap},
                             f"vif[{net.name}]"))
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
# Host evacuation (and each step of a rolling pool upgrade): XAPI's own planner
# ---------------------------------------------------------------------------------

def _evacuate(world: World, run: RunMove, refuses: RunProbe, plan: Plan, move: Move, ledger: _Ledger,
              waves: dict[tuple[Any, ...], int]) -> list[Operation]:
    """Plan the host's evacuation as XAPI's compute_evacuation_plan_no_wlb (xapi_host.ml)
    does, evaluate each VM's move, then the host-level rules (EVAC-*) over the outcome.

    Targets are the other enabled hosts whose versions are not older (liveness is not
    asked: an enabled host that is down refuses the VMs, which GEN-005 reports). With HA
    on, only protected VMs are placed (EVAC-003 reports the others). Every placed VM
    must be bootable on every target (`_refusal`), then biggest-fit-decreasing packs them
    by XAPI's vm_memory into the targets' free memory (binpack.ml)."""
    host = move.host
    assert host is not None
    resident = _value(world, host, "resident_vms")
    residents = ledger.residents(host, [] if isinstance(resident, Unestablished) else resident)
    residents.sort(key=lambda v: v.name)
    targets, doubts = _evacuation_targets(world, host)
    ha = _value(world, world.pool(host.pool), "ha_enabled")
    placeable = [vm for vm in residents if ha is not True or _value(world, vm, "ha_protected") is True]
    refused: dict[Obj, Obj] = {}  # VM -> the first target that refuses it
    for vm in placeable:
        for target in targets:
            probe = Move(f"{move.id}.probe", "evacuate", move.wave, vm=vm, dst_pool=target.pool,
                         dst_host=target, parent=move.id, audit=True)
            found = refuses(probe, _move_facts(world, plan, probe, _Ledger(), waves))
            if found == "fail":
                refused[vm] = target
                break
            if found == "unknown":
                doubts.append(f"whether VM '{vm.name}' can run on host '{target.name}'")
    free: dict[Obj, int] = {}
    for target in targets:
        room = _value(world, target, "free_memory")
        if isinstance(room, Unestablished):
            doubts.append(f"the free memory of host '{target.name}' ({room.reason})")
        else:
            free[target] = room - ledger.memory[target] + ledger.freed[target]
    sizes = {vm: _value(world, vm, "evacuation_memory") for vm in placeable if vm not in refused}
    doubts += [f"the memory of VM '{vm.name}' ({size.reason})" for vm, size in sizes.items()
               if isinstance(size, Unestablished)]
    placement, left = _biggest_fit_decreasing(
        [(vm, size) for vm, size in sizes.items() if not isinstance(size, Unestablished)], free)
    unplaced = [vm for vm in sizes if vm not in placement]
    operations = []
    batch = plan.settings.evacuation_batch_size
    for index, vm in enumerate(residents):
        dst = placement.get(vm) or refused.get(vm) or (max(free, key=free.__getitem__) if free else None)
        child = Move(f"{move.id}.{index + 1}", "evacuate", move.wave, vm=vm, dst_pool=host.pool,
                     dst_host=dst, parent=move.id, audit=move.audit, unplaced=vm not in placement)
        child_facts = _move_facts(world, plan, child, _Ledger() if move.audit else ledger, waves)
        # What the host has left once the others are placed (plus this VM's own share).
        child_facts.values["dst_free_memory"] = MISSING if dst not in left else (
            left[dst] + (sizes[vm] if vm in placement else 0))
        operations.append(run(child, child_facts))
    if not move.audit:
        for vm, target in placement.items():
            ledger.memory[target] += sizes[vm]
            ledger.location[vm] = target
        ledger.freed[host] += sum(sizes[vm] for vm in placement)
        ledger.memory[host] = 0
    # A VM blocked by its own rules (an unplaced one fails MEM-001 for want of room: that
    # is `unplaced`, not this).
    blocked = [op.move.vm for op in operations if op.move.vm not in unplaced
               and any(f.status == "fail" and f.rule.severity == "blocker" for f in op.findings)]
    # Each VM's estimate, or why it is unknown (the reason the host's estimate carries).
    estimates = [op.facts.get("estimate_seconds") if op.facts else MISSING for op in operations]
    batches = -(-len(residents) // batch) if residents else 0
    total = None if any(e is None or isinstance(e, Unestablished) for e in estimates) else sum(
        max(estimates[i:i + batch], default=0) for i in range(0, len(estimates), batch))
    host_facts = PlanFacts("op", {
        "id": move.id, "kind": "evacuate", "wave": move.wave, "cross_pool": False,
        "evacuation_targets": targets, "unplaced_vms": unplaced, "blocked_vms": blocked,
        "refused_vms": sorted(refused, key=lambda v: v.name),
        "evacuation_decided": True if not doubts or not residents else Unestablished(
            "could not establish " + "; ".join(sorted(set(doubts))[:5])),
        "ha_plan_kept": _ha_plan_kept(world, host),
        "resident_vm_count": len(residents), "batch_size": batch, "batches": batches,
        "placement": {vm.name: target.name for vm, target in placement.items()},
        "estimate_seconds": total if total is not None else next(
            (e for e in estimates if isinstance(e, Unestablished)), MISSING),
        "window_seconds": plan.settings.window_seconds, "compress": move.compress,
    }, "op")
    host_op = run(move, host_facts)
    host_op.children = [op.move.id for op in operations]
    return [host_op, *operations]


def _evacuation_targets(world: World, host: Obj) -> tuple[list[Obj], list[str]]:
    """XAPI's targets: the other hosts that are enabled and whose versions are not older
    (helpers.ml host_versions_not_decreasing); and what could not be read about the others.
    An earlier step's host counts as enabled again: its maintenance or upgrade is done."""
    keys = _value(world, world.pool(host.pool), "migration_version_keys")
    source = _value(world, host, "migration_versions")
    targets, doubts = [], []
    for other in world.objects(host.pool, "host"):
        if other == host:
            continue
        enabled, versions = _value(world, other, "enabled"), _value(world, other, "migration_versions")
        unknown = next((v for v in (enabled, versions, keys, source) if isinstance(v, Unestablished)), None)
        if unknown is not None:
            doubts.append(f"whether host '{other.name}' can take VMs ({unknown.reason})")
        elif enabled and not_older(versions, source, keys):
            targets.append(other)
    return targets, doubts


#: What XAPI's assert_can_boot_here checks of a target during evacuation planning: the
#: destination-dependent rules with an XAPI basis, memory aside (do_memory_check:false).
_NOT_BOOT_CHECKS = frozenset({"MEM-001"})


def boot_checks(rules: RuleSet) -> list[Rule]:
    """The rules that stand for XAPI's assert_can_boot_here on an evacuation target: XAPI
    blockers of evacuations that read the destination (a VM's own operation errors, such as
    no-migrate, leave it in the placement; XAPI reports them separately), memory aside."""
    return [rule for rule in rules.rules
            if "evacuate" in rule.kinds and rule.level == "vm" and rule.severity == "blocker"
            and rule.basis.errors and rule.id not in _NOT_BOOT_CHECKS and not source_only(rule)]


def worst_of(statuses: Iterable[str]) -> str | None:
    """"fail" if any status fails, else "unknown" if any is, else None."""
    seen = set(statuses)
    return "fail" if "fail" in seen else "unknown" if "unknown" in seen else None


def _biggest_fit_decreasing(things: list[tuple[Obj, int]],
                            bins: dict[Obj, int]) -> tuple[dict[Obj, Obj], dict[Obj, int]]:
    """binpack.ml biggest_fit_decreasing: the largest VM first, each onto the host with the
    most free memory, or nowhere if it does not fit there (ties by name: XAPI's order is the
    database's, which an inventory does not keep). The placement, and what each host has
    left after it."""
    free = sorted(bins.items(), key=lambda b: (-b[1], b[0].name))
    placement: dict[Obj, Obj] = {}
    for vm, size in sorted(things, key=lambda t: (-t[1], t[0].name)):
        if not free or free[0][1] < size:
            continue
        target, room = free.pop(0)
        placement[vm] = target
        free.append((target, room - size))
        free.sort(key=lambda b: (-b[1], b[0].name))
    return placement, dict(free)


def _ha_plan_kept(world: World, host: Obj) -> Any:
    """Host.evacuate first asserts that disabling the host keeps HA's failover plan
    (xapi_ha_vm_failover.ml assert_host_disable_preserves_ha_plan). That matters only with
    HA on, overcommitment not allowed and a plan in force; then it takes XAPI's failover
    planner, which migready does not reproduce: unknown, saying what to check."""
    pool = world.pool(host.pool)
    values = [_value(world, pool, f) for f in ("ha_enabled", "ha_allow_overcommit", "ha_plan_exists")]
    unknown = next((v for v in values if isinstance(v, Unestablished)), None)
    if values[0] is False or (unknown is None and (values[1] or not values[2])):
        return True
    if unknown is not None:
        return unknown
    return Unestablished(
        f"HA is on with a failover plan and overcommitment not allowed, so XAPI refuses the "
        f"evacuation if disabling host '{host.name}' would break the plan "
        f"(HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN); migready does not recompute XAPI's failover "
        f"plan: check that `xe pool-ha-compute-max-host-failures-to-tolerate` exceeds the pool's "
        f"ha-host-failures-to-tolerate, or allow overcommitment for the upgrade")
