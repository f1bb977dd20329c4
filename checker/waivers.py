"""Waivers: reviewed, expiring exceptions that turn a `fail` or `unknown` into `waived`.

Every waiver needs a rule, subjects, a reason, an approver, a ticket and an expiry at
most 180 days ahead; `targets:` may limit it to some destination hosts of an audit. An
expired waiver waives nothing and is reported; so is one that matched nothing. A waived
finding keeps its original status beside the new one.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker import yamlschema
from checker.errors import InputError
from checker.evaluate import Evaluation, Finding, Operation
from checker.facts import Obj

MAX_DAYS = 180


class WaiverError(InputError):
    pass


@dataclass
class Waiver:
    rule: str
    subjects: list[Any]
    reason: str
    approved_by: str
    ticket: str
    expires: dt.date
    pool: str | None = None
    line: int = 0
    matched: list[str] = field(default_factory=list)
    #: Only these destination hosts of an audit's finding grouped over destinations (None:
    #: every destination). Kept here and in the register; results does the matching.
    targets: list[str] | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    def covers(self, finding: Finding, subject_names: set[str], pool_name: str) -> bool:
        if finding.rule.id != self.rule:
            return False
        if self.pool is not None and self.pool != pool_name:
            return False
        for selector in self.subjects:
            if selector == "*":
                return True
            if isinstance(selector, dict) and "tag" in selector:
                if selector["tag"] in subject_names:
                    return True
            elif str(selector) in subject_names:
                return True
        return False

    def as_json(self, state: str) -> dict[str, Any]:
        return {"rule": self.rule, "subjects": self.subjects, "reason": self.reason,
                "approved_by": self.approved_by, "ticket": self.ticket,
                "expires": self.expires.isoformat(), "pool": self.pool, "state": state,
                "matched": sorted(set(self.matched))} | ({"targets": self.targets} if self.targets else {})


def load_waivers(path: str | Path, *, today: dt.date | None = None,
                 known_rules: set[str] | None = None) -> list[Waiver]:
    """Parse and validate a waivers file; every problem is reported with file:line:col.
    The schema (schemas/waivers.schema.json) checks keys and values; beyond it, what it
    cannot know: that `expires` is at most 180 days after today, and that the rule is loaded."""
    today = today or dt.date.today()
    checked = yamlschema.load(path, "waivers", WaiverError)
    if not checked.readable(("waivers",)):
        checked.fail(WaiverError, "waivers")
    out: list[Waiver] = []
    for i, raw in enumerate(checked.data["waivers"]):
        where = ("waivers", i)
        if not checked.usable(where):
            continue
        expires = raw["expires"]
        if isinstance(expires, str):  # quoted: the schema made sure it is a date
            expires = dt.date.fromisoformat(expires)
        if expires > today + dt.timedelta(days=MAX_DAYS):
            checked.error((*where, "expires"), f"{expires} is more than {MAX_DAYS} days ahead: "
                                               "waivers must be reviewed at least twice a year")
        elif known_rules is not None and raw["rule"] not in known_rules:
            checked.error((*where, "rule"), f"no rule {raw['rule']} is loaded")
        else:
            out.append(Waiver(raw["rule"], raw["subjects"], str(raw["reason"]), str(raw["approved_by"]),
                              str(raw["ticket"]), expires, raw.get("pool"), checked.doc.where(where)[0],
                              targets=raw.get("targets")))
    checked.raise_problems(WaiverError, "waivers")
    return out


def _names(finding: Finding, op: Operation, ev: Evaluation) -> tuple[set[str], str]:
    """Names a waiver may use for the finding: the subject's and the moved VM's name (as
    findings show it), uuid, tags."""
    objs = [o for o in (finding.subject, op.move.vm, op.move.host) if isinstance(o, Obj)]
    names: set[str] = set()
    for obj in objs:
        rec = obj.inv.get(obj.cls, obj.ref) or {}
        names |= {obj.name, f"uuid:{obj.uuid}", *map(str, rec.get("tags") or [])}
    return names, ev.world.inventories[op.move.src_pool].name


def _targets(finding: Finding, op: Operation) -> list[str | None]:
    """The destination hosts a finding holds for: its sweep's, or its move's."""
    if op.destinations is not None:
        return list(op.destinations) if finding.all_targets else list(finding.targets)
    return [op.move.dst_host.name if op.move.dst_host is not None else None]


def _split(finding: Finding, op: Operation, covered: list[str | None]) -> Finding:
    """Take the `covered` destinations out of a grouped finding of an audit sweep into a
    finding of their own (added to the operation); the rest stay with `finding`."""
    assert op.destinations is not None
    part = copy.copy(finding)
    rest = [t for t in _targets(finding, op) if t not in covered]
    part.targets, part.all_targets = [str(t) for t in covered], False
    finding.targets, finding.all_targets = [str(t) for t in rest], False
    if finding.target_evidence is not None:
        part.target_evidence = {t: finding.target_evidence[t] for t in part.targets}
        finding.target_evidence = {t: finding.target_evidence[t] for t in finding.targets}
    op.findings.append(part)
    for name in part.targets:  # a new list: hosts may share one (evaluate.Operation)
        op.destinations[name] = [part if f is finding else f for f in op.destinations[name]]
    return part


def apply_waivers(ev: Evaluation, waivers: list[Waiver], *, today: dt.date | None = None,
                  ) -> list[dict[str, Any]]:
    """Waive covered fail/unknown findings in place; return the waiver register. A waiver
    naming `targets` waives a finding only on those destinations: a finding grouped over
    more is split, its waived part a finding of its own."""
    today = today or dt.date.today()
    for op in ev.operations:
        for finding in list(op.findings):
            if finding.status not in {"fail", "unknown"}:
                continue
            names, pool_name = _names(finding, op, ev)
            for waiver in waivers:
                if not waiver.covers(finding, names, pool_name):
                    continue
                held = _targets(finding, op)
                covered = held if waiver.targets is None else [t for t in held if t in waiver.targets]
                if not covered:
                    continue
                waiver.matched.append(getattr(finding.subject, "name", finding.operation))
                if waiver.expired(today):
                    continue
                waived = finding if covered == held else _split(finding, op, covered)
                waived.original_status = waived.status
                waived.status = "waived"
                waived.waiver = {"reason": waiver.reason, "approved_by": waiver.approved_by,
                                 "ticket": waiver.ticket, "expires": waiver.expires.isoformat()}
                if waived is finding:
                    break
    register = []
    for waiver in waivers:
        if waiver.expired(today):
            state = "expired"
        elif waiver.matched:
            state = "applied"
        else:
            state = "unused"
        register.append(waiver.as_json(state))
    return register
