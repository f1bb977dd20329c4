"""Waivers: reviewed, expiring exceptions that turn a `fail` or `unknown` into `waived`.

Every waiver needs a rule, subjects, a reason, an approver, a ticket and an expiry at
most 180 days ahead. An expired waiver waives nothing and is reported; so is one that
matched nothing. A waived finding keeps its original status beside the new one.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evaluate import Evaluation, Finding, Operation
from checker.facts import Obj
from checker.yamlsrc import YamlError
from checker.yamlsrc import load as load_yaml

MAX_DAYS = 180
REQUIRED = ("rule", "subjects", "reason", "approved_by", "ticket", "expires")
KEYS = {*REQUIRED, "pool", "targets"}


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
    #: Audit: the destination hosts it covers (None: all); a grouped finding it covers in
    #: part is split into a waived and an unwaived finding.
    targets: list[str] | None = None
    matched: list[str] = field(default_factory=list)

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
                "expires": self.expires.isoformat(), "pool": self.pool,
                **({"targets": self.targets} if self.targets is not None else {}), "state": state,
                "matched": sorted(set(self.matched))}


def load_waivers(path: str | Path, *, today: dt.date | None = None,
                 known_rules: set[str] | None = None) -> list[Waiver]:
    """Parse and validate a waivers file; every problem is reported with file:line:col."""
    today = today or dt.date.today()
    try:
        doc = load_yaml(path)
    except YamlError as exc:
        raise WaiverError(str(exc)) from None
    errors: list[tuple[int, int, str]] = []

    def error(where: tuple[Any, ...], message: str) -> None:
        line, col = doc.where(where)
        dotted = ".".join(str(p) for p in where)
        errors.append((line, col, f"{doc.file}:{line}:{col}: {dotted}: {message}"))

    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("waivers"), list):
        raise WaiverError(f"{path}:1:1: expected `waivers:` with a list of waivers")
    for key in data:
        if key != "waivers":
            error((key,), "unknown key")
    out: list[Waiver] = []
    for i, raw in enumerate(data["waivers"]):
        where = ("waivers", i)
        if not isinstance(raw, dict):
            error(where, "a waiver is a mapping")
            continue
        for key in raw:
            if key not in KEYS:
                error((*where, key), f"unknown key (expected: {', '.join(sorted(KEYS))})")
        missing = [k for k in REQUIRED if not raw.get(k)]
        for key in missing:
            error(where, f"{key} is required")
        if missing:
            continue
        expires = raw["expires"]
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError as exc:
                error((*where, "expires"), f"{expires!r} is not a date YYYY-MM-DD ({exc})")
                continue
        if not isinstance(expires, dt.date):
            error((*where, "expires"), "expected a date YYYY-MM-DD")
            continue
        if expires > today + dt.timedelta(days=MAX_DAYS):
            error((*where, "expires"), f"{expires} is more than {MAX_DAYS} days ahead: "
                                       "waivers must be reviewed at least twice a year")
            continue
        subjects = raw["subjects"]
        if not isinstance(subjects, list) or not all(map(_is_selector, subjects)):
            error((*where, "subjects"), "expected a list of selectors (name, uuid:…, {tag: …})")
            continue
        if not isinstance(raw["rule"], str):
            error((*where, "rule"), "expected a rule id")
            continue
        if "*" in subjects and not raw.get("pool"):
            error((*where, "subjects"), '"*" waives every subject: it needs `pool:` to limit it')
            continue
        if known_rules is not None and raw["rule"] not in known_rules:
            error((*where, "rule"), f"no rule {raw['rule']} is loaded")
            continue
        out.append(Waiver(str(raw["rule"]), subjects, str(raw["reason"]), str(raw["approved_by"]),
                          str(raw["ticket"]), expires, raw.get("pool"), doc.where(where)[0],
                          [str(t) for t in raw["targets"]] if isinstance(raw.get("targets"), list) else None))
    if errors:
        raise WaiverError(f"{path}: invalid waivers", details=[text for *_, text in sorted(errors)])
    return out


def _is_selector(value: Any) -> bool:
    """A name, `uuid:…` or `{tag: …}`: what `Waiver.covers` can compare (a list would not hash)."""
    return isinstance(value, str) or (isinstance(value, dict) and set(value) == {"tag"}
                                      and isinstance(value["tag"], str))


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
    for name in part.targets:
        found_there = op.destinations[name]
        found_there[found_there.index(finding)] = part
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
