"""What a person triages, from a results document: the one place that turns findings into
a summary, blocker groups, warning groups, data gaps and passes as counts.

The text output, the HTML and PDF report and the e-mail body all read this, so they group
alike. An audit of 5,000 VMs holds hundreds of thousands of findings; a person acts on a
few hundred problems ("vm-00880: 4 disks on Local storage (xs17): cannot live-migrate to
any of the 63 other hosts"), so findings are merged per (rule, status, VM or host), with
their subjects (disks, SRs…) and destinations, and problems of one rule form a group.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from checker.results import SHORT, is_advice, natural_order, short_list

SEVERITY_RANK = {"blocker": 0, "warning": 1, "info": 2}
#: natural_order, remembered: a pool's few hundred host names are sorted thousands of times.
name_order = lru_cache(maxsize=1 << 16)(natural_order)


@dataclass
class Problem:
    """One rule's findings about one VM or host (the holder): what a person fixes once."""

    rule: str
    status: str
    severity: str
    holder: str                      # the VM's or the host's name
    holder_class: str                # "VM" or "host"
    operations: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)       # disks, SRs… other than the holder
    destinations: list[str] = field(default_factory=list)   # hosts, natural order
    all_destinations: bool = False   # every host the audit tried the VM on
    sweep_size: int = 0              # how many hosts the audit tried (0: not an audit sweep)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def messages(self, lang: str) -> list[str]:
        """The distinct messages in `lang` (English where there is no translation)."""
        out: dict[str, None] = {}
        for f in self.findings:
            out[(f.get("messages") or {}).get(lang) or f.get("message", "")] = None
        return list(out)

    @property
    def commands(self) -> list[str]:
        return list(dict.fromkeys(f["command"] for f in self.findings if f.get("command")))

    @property
    def waiver(self) -> dict[str, Any] | None:
        return next((f["waiver"] for f in self.findings if f.get("waiver")), None)


@dataclass
class Group:
    """The problems of one rule with one status: a rule's line in the summary."""

    rule: str
    status: str
    severity: str
    problems: list[Problem]

    @property
    def vms(self) -> int:
        return sum(p.holder_class == "VM" for p in self.problems)

    @property
    def hosts(self) -> int:
        return sum(p.holder_class == "host" for p in self.problems)


@dataclass
class Gap:
    """Unknowns of one rule for want of the same fact: what to collect, once."""

    rule: str
    severity: str
    field: str                       # the fact path, or "" when the results do not say
    reason: str                      # English (gap.reason, else the first message)
    vms: list[str]
    hosts: list[str]                 # destinations tried, or hosts the unknown is about
    findings: int
    messages: dict[str, list[str]]   # per language, the first GAP_MESSAGES distinct messages


@dataclass
class Triage:
    """What the triage-first outputs show besides the verdicts (the results' summary has
    those), worst first."""

    blockers: list[Group]            # unwaived blocker failures
    warnings: list[Group]            # unwaived warning failures
    advice: list[Group]              # info rules' failures: never block
    waived: list[Group]
    gaps: list[Gap]                  # unknowns, any severity
    passes: dict[str, int]           # rule -> passing findings
    vms_affected: list[str]          # VMs named by a blocker problem
    hosts_affected: list[str]        # hosts whose evacuation a blocker problem names


def _holder(f: dict[str, Any], op: dict[str, Any]) -> tuple[str, str]:
    if op.get("vm"):
        return op["vm"].get("name", ""), "VM"
    if op.get("host"):
        return op["host"].get("name", ""), "host"
    subject = f.get("subject") or {}
    return subject.get("name", ""), subject.get("class", "")


def _destinations(f: dict[str, Any], op: dict[str, Any]) -> tuple[list[str], bool, int]:
    """The hosts a finding holds for, whether that is every host of the sweep, and the
    sweep's size (0 outside an audit sweep)."""
    dst = op.get("destination") or {}
    if "hosts" in dst:
        sweep = list(dst["hosts"])
        if f.get("all_targets"):
            return [], True, len(sweep)
        targets = f.get("targets") or [*f.get("evidence_by_target", {})]
        return list(targets), False, len(sweep)
    host = dst.get("host") or dst.get("sr")
    return ([host] if host else []), False, 0


def build_triage(results: dict[str, Any]) -> Triage:
    """The triage of a results document (`migready.results/1` or `/2`)."""
    ops = {o["id"]: o for o in results.get("operations", [])}
    problems: dict[tuple[str, str, str, str], Problem] = {}
    dests: dict[tuple[str, str, str, str], set[str]] = {}
    passes: Counter[str] = Counter()
    gaps: dict[tuple[str, str, str], tuple[Gap, set[str], set[str]]] = {}
    by_rule = (results.get("summary") or {}).get("by_rule")
    count_passes = not isinstance(by_rule, dict)  # the summary counts them (contracts.md)
    if not count_passes:
        passes.update({rule: n["pass"] for rule, n in by_rule.items() if n.get("pass")})
    for f in results.get("findings", []):
        status = f["status"]
        if status == "pass" or status == "not_applicable":
            if count_passes and status == "pass":
                passes[f["rule"]] += 1
            continue
        op = ops.get(f["operation"], {})
        holder, cls = _holder(f, op)
        hosts, every, sweep = _destinations(f, op)
        if status == "unknown":
            _add_gap(gaps, f, holder, cls, hosts)
            continue
        key = (f["rule"], status, cls, holder)
        p = problems.get(key)
        if p is None:
            p = problems[key] = Problem(f["rule"], status, f["severity"], holder, cls)
        p.findings.append(f)
        if f["operation"] not in p.operations:
            p.operations.append(f["operation"])
        name = (f.get("subject") or {}).get("name")
        if name and name != holder and name not in p.subjects:
            p.subjects.append(name)
        p.sweep_size = max(p.sweep_size, sweep)
        p.all_destinations = p.all_destinations or every
        if not every:
            seen = dests.setdefault(key, set())
            seen.update(hosts)
    sweeps: dict[str, list[str]] = {}  # each sweep's hosts in order, shared by its problems
    for key, p in problems.items():
        if p.all_destinations or (p.sweep_size and len(dests.get(key, ())) >= p.sweep_size):
            p.all_destinations = True  # /1 lists a sweep's hosts one finding at a time
            p.destinations = _sweep(ops, p, sweeps)
        else:
            p.destinations = sorted(dests.get(key, ()), key=name_order)
    grouped: dict[tuple[str, str, str], list[Problem]] = defaultdict(list)
    for p in problems.values():
        kind = ("advice" if is_advice({"status": p.status, "severity": p.severity})
                else p.status if p.status == "waived" else p.severity)
        grouped[(kind, p.rule, p.status)].append(p)
    sections: dict[str, list[Group]] = defaultdict(list)
    for (kind, rule, status), items in grouped.items():
        items.sort(key=lambda p: name_order(p.holder))
        sections[kind].append(Group(rule, status, items[0].severity, items))
    for groups in sections.values():
        groups.sort(key=lambda g: (SEVERITY_RANK.get(g.severity, 9), -len(g.problems), g.rule))
    blockers = sections["blocker"]
    return Triage(
        blockers=blockers, warnings=sections["warning"], advice=sections["advice"],
        waived=sections["waived"],
        gaps=sorted((g for g, _, _ in gaps.values()),
                    key=lambda g: (SEVERITY_RANK.get(g.severity, 9), -g.findings, g.rule)),
        passes=dict(sorted(passes.items())),
        vms_affected=sorted({p.holder for g in blockers for p in g.problems if p.holder_class == "VM"},
                            key=natural_order),
        hosts_affected=sorted({p.holder for g in blockers for p in g.problems
                               if p.holder_class == "host"}, key=natural_order),
    )


def _sweep(ops: dict[str, dict[str, Any]], p: Problem, sweeps: dict[str, list[str]]) -> list[str]:
    """The hosts of the audit sweeps among a problem's operations, in order."""
    lists = []
    for op_id in p.operations:
        if op_id not in sweeps:
            hosts = ((ops.get(op_id) or {}).get("destination") or {}).get("hosts")
            sweeps[op_id] = sorted(hosts, key=name_order) if hosts else []
        if sweeps[op_id]:
            lists.append(sweeps[op_id])
    if len(lists) == 1:
        return lists[0]
    return sorted({h for hosts in lists for h in hosts}, key=name_order)


#: How many distinct messages a data gap keeps per language (they differ by the names in them).
GAP_MESSAGES = 5


def _add_gap(gaps: dict[tuple[str, str, str], tuple[Gap, set[str], set[str]]],
             f: dict[str, Any], holder: str, cls: str, hosts: list[str]) -> None:
    gap = f.get("gap") or {}
    # Every unknown's message starts so; the section's heading says it once.
    fact = gap.get("field", "")
    reason = gap.get("reason") or f.get("message", "").removeprefix("Could not be decided: ")
    key = (f["rule"], fact, reason)
    entry = gaps.get(key)
    if entry is None:
        entry = gaps[key] = (Gap(f["rule"], f["severity"], fact, reason, [], [], 0, {}), set(), set())
    g, vms, host_set = entry
    g.findings += 1
    for lang, text in {"en": f.get("message", ""), **(f.get("messages") or {})}.items():
        said = g.messages.setdefault(lang, [])
        if len(said) < GAP_MESSAGES and text not in said:
            said.append(text)
    if cls == "VM" and holder not in vms:
        vms.add(holder)
        g.vms.append(holder)
    for host in hosts if cls == "VM" else [holder]:
        if host and host not in host_set:
            host_set.add(host)
            g.hosts.append(host)


#: Destinations in short form, per language.
def short_destinations(p: Problem, lang: str = "en") -> str:
    """Where a problem holds: 'all 63 other hosts', 'xs01, xs02 and 9 more', or the plan's
    destination; '' when it is about no destination (a VM's own state)."""
    if p.all_destinations and p.sweep_size:
        words = SHORT[lang]
        return words["all_one"] if p.sweep_size == 1 else words["all"].format(n=p.sweep_size)
    return short_list(p.destinations, lang)
