"""The reference evaluator: the oracle the fast path (checker/evaluate.py) is tested against.

The fast path shares work: results cached by the values a rule reads, hosts grouped into
classes, one rendering with a stand-in host name, passes grouped per (rule, VM). Each of
those is a claim that two evaluations are equal, and a wrong claim shows up as another
VM's or host's name in a message. This module makes no such claim: every (operation,
destination, rule, subject) is evaluated on its own, from variables built afresh, and
every message is rendered from that move's own variables. It is slow and only for tests.

It shares with the fast path only what defines the semantics: the plan's moves and their
plan facts (`walk`, which also places evacuations), the rules' compiled expressions
(`evaluate_head`, `evaluate_assert`) and Finding's rendering. Both sides are brought to
one shape, `Expanded`: one entry per finding and destination, as a user reads it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checker.evaluate import (
    Evaluation,
    Finding,
    Operation,
    Outcome,
    boot_checks,
    evaluate_assert,
    evaluate_head,
    grouped,
    move_variables,
    plan_settings,
    sweep_pair,
    walk,
    worst_of,
)
from checker.evaluate_cache import destination_side
from checker.facts import Obj, World, evidence_value
from checker.plan import Move, Plan
from checker.policy import Rule, RuleSet
from checker.scope import PlanFacts


@dataclass(frozen=True, order=True)
class Expanded:
    """One finding on one destination (None outside an audit sweep), as a user reads it."""

    operation: str
    destination: str | None
    rule: str
    subject: tuple[str, ...]
    status: str
    messages: tuple[tuple[str, str], ...]
    evidence: str
    command: str | None
    #: The whole evidence, where it is known to be this destination's own (not compared
    #: with the rest: a grouped finding's is its first destination's, None on the others).
    own_evidence: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = f"{self.operation}@{self.destination}" if self.destination else self.operation
        lines = [f"{where} {self.rule} {'/'.join(self.subject)}: {self.status}",
                 *(f"  {lang}: {text}" for lang, text in self.messages),
                 f"  evidence: {self.evidence}"]
        return "\n".join(lines + ([f"  command: {self.command}"] if self.command else []))


def evaluate_reference(world: World, rules: RuleSet, plan: Plan) -> list[Expanded]:
    """Every finding of the plan, each evaluated on its own, sorted."""
    settings = plan_settings(plan)

    def run(move: Move, op: PlanFacts) -> Operation:
        level = "host" if move.host is not None else "vm"
        findings = [finding for rule in rules.rules if move.kind in rule.kinds and rule.level == level
                    for finding in _judge(world, rule, move, op, settings)]
        estimate = op.get("estimate_seconds")
        return Operation(move, estimate if isinstance(estimate, int) else None, findings, facts=op)

    def sweep(move: Move, make_facts: Callable[[Move], PlanFacts]) -> Operation:
        assert move.sweep is not None
        operation = Operation(move)
        for host in move.sweep:
            pair = sweep_pair(move, host)
            for finding in run(pair, make_facts(pair)).findings:
                finding.targets = [host.name]
                operation.findings.append(finding)
        return operation

    checks = boot_checks(rules)

    def refuses(probe: Move, op: PlanFacts) -> str | None:
        return worst_of(f.status for rule in checks for f in _judge(world, rule, probe, op, settings))

    audit = plan.audit
    return sorted(_expand(f, f.targets[0] if f.targets else None, audit, True)
                  for op in walk(world, plan, run, sweep, refuses) for f in op.findings)


def _judge(world: World, rule: Rule, move: Move, op: PlanFacts, settings: PlanFacts) -> list[Finding]:
    """The rule's findings on one move: its head once, then each subject from fresh variables."""
    def fresh() -> dict[str, Any]:
        return move_variables(move, op, settings, world)

    head = evaluate_head(rule, fresh())
    if isinstance(head, Outcome):  # not applicable, or undecided before any subject
        variables = fresh()
        subject = None if rule.for_each else variables[rule.subject]
        return [_finding(rule, move, subject, head, variables)]
    if rule.for_each is None:
        variables = fresh()
        return [_finding(rule, move, variables[rule.subject],
                         evaluate_assert(rule, variables, None, None), variables)]
    var = rule.for_each[0]
    return [_finding(rule, move, item, evaluate_assert(rule, fresh(), var, item),
                     {**fresh(), var: item}) for item in head]


def _finding(rule: Rule, move: Move, subject: Any, outcome: Outcome,
             variables: dict[str, Any]) -> Finding:
    return Finding(rule, outcome.status, move.id, subject, outcome.evidence, variables,
                   outcome.unknown)


def expand(evaluation: Evaluation) -> list[Expanded]:
    """The fast path's findings in the reference's shape, sorted: a sweep's finding for
    `all_targets` becomes one per destination of its sweep, a grouped one one per host of
    its `targets`: a failure or unknown with that host's own messages and evidence, a pass
    (or advice) as below."""
    audit = evaluation.plan.audit
    hosts = {op.move.id: list(op.destinations) for op in evaluation.operations
             if op.destinations is not None}
    findings = [f for op in evaluation.operations for f in op.findings] + evaluation.groups
    return sorted(_expand(f.for_destination(target) if f.target_evidence is not None else f,
                          target, audit, i == 0) for f in findings
                  for i, target in enumerate((hosts[f.operation] if f.all_targets else f.targets)
                                             or [None]))


def _expand(f: Finding, destination: str | None, audit: bool, own: bool) -> Expanded:
    """A finding as shown, with the two deliberate differences of grouping made explicit.
    One grouped finding of a sweep stands for many hosts: the audit shows a pass (or not
    applicable) by its rule's title, whatever its message (results.build_results), and
    its evidence is that of one of them (results/1 has no `evidence_by_target`): what it
    reads of the destination is shown as PER_DESTINATION on both sides, and its whole
    evidence kept (`own`) for its first destination, the one it was evaluated for."""
    shown = f.rule.title if audit and f.status in {"pass", "not_applicable"} else f.messages
    per_destination = destination is not None and grouped(f.rule, f.status)
    whole = {k: evidence_value(v) for k, v in f.evidence.items()}
    shared = {k: PER_DESTINATION if per_destination and _of_destination(k) else v
              for k, v in whole.items()}
    return Expanded(f.operation, destination, f.rule.id, _subject(f.subject), f.status,
                    tuple(sorted(shown.items())), _json(shared), f.command,
                    _json(whole) if own or not per_destination else None)


def _json(evidence: dict[str, Any]) -> str:
    return json.dumps(evidence, sort_keys=True, ensure_ascii=False, default=str)


#: A grouped finding's evidence about the destination: one host's, standing for all.
PER_DESTINATION = "(per destination)"


def _of_destination(path: str) -> bool:
    """An evidence path (`dst_host.free_memory`, `op.dst_free_memory`) about the destination."""
    var, _, attr = path.partition(".")
    return destination_side(var, attr.partition(".")[0] or None)


def _subject(subject: Any) -> tuple[str, ...]:
    """(class, name, uuid) of what the finding is about; a plan item by the object it is of."""
    if isinstance(subject, PlanFacts):
        inner = subject.values.get("sr") or subject.values.get("vdi") or subject.values.get("network")
        return _subject(inner) if inner is not None else (subject.cls, subject.name)
    if isinstance(subject, Obj):
        return (subject.cls, subject.name, subject.uuid)
    return ()
