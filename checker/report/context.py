"""The report's template context: a documented contract, built from a results document.

Templates only display what is here. Every count, sort, label, date and size is decided
in this module, so the HTML and the PDF (the same template with a print stylesheet) say
the same thing, and a test can check the numbers without parsing HTML.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from checker.report.i18n import (
    NOTES,
    counted,
    format_bytes,
    format_date,
    format_datetime,
    format_duration,
    label,
    translate_assumption,
)
from checker.results import UNKNOWN_REMEDIATION, VERDICTS, basis_note, is_advice, natural_order
from checker.triage import (
    Gap,
    Group,
    Problem,
    Triage,
    build_triage,
    name_order,
    short_destinations,
    short_list,
)

STATUS_ORDER = {"fail": 0, "unknown": 1, "waived": 2, "advice": 3, "pass": 4, "not_applicable": 5}
SEVERITY_ORDER = {"blocker": 0, "warning": 1, "info": 2}
#: How many operations get a full card in the PDF; beyond that, ready ones are a table row.
FULL_CARDS_LIMIT = 60


@dataclass
class PoolInfo:
    name: str
    versions: str
    snapshot: str
    inventory_file: str
    inventory_sha256: str


@dataclass
class Bar:
    """One bar of an inline SVG chart; geometry computed here, not in the template."""

    label: str
    value: int
    width: float          # 0..100, share of the widest bar
    css: str              # verdict or severity class for the colour
    text: str


@dataclass
class CapacityRow:
    kind: str             # host_memory | sr_space
    pool: str
    name: str
    total: str
    free_before: str
    free_after: str
    planned: str
    used_before_pct: float    # of total, for the bar
    planned_pct: float
    overcommitted: bool


@dataclass
class FindingRow:
    rule: str
    title: str
    severity: str
    severity_label: str
    status: str
    status_label: str
    original_status: str | None
    subject: str
    message: str
    basis_kind: str       # xapi | documentation ("" for a pass)
    basis: str            # "XAPI will refuse this move (…)" or the documentation's sentence
    remediation: str
    command: str | None
    evidence: list[tuple[str, str]]
    waiver: dict[str, Any] | None
    seed: str
    targets: str


@dataclass
class OperationCard:
    id: str
    kind: str
    kind_label: str
    title: str
    verdict: str
    verdict_label: str
    wave: int
    source: str
    destination: str
    estimate: str
    vm: str
    host: str
    problems: list[FindingRow]          # fail / unknown / waived, worst first
    passes: list[FindingRow]            # pass (and grouped passes), collapsed in HTML
    children: list[OperationCard] = field(default_factory=list)
    search: str = ""                    # lower-case words for the HTML filter
    hosts: str = ""                     # the hosts it and its moves touch, for the host filter


@dataclass
class ProblemCard:
    """One triage problem (checker.triage.Problem): a rule's findings about one VM or host,
    what a person fixes once. Its data attributes drive the HTML filters."""

    key: str                  # unique in the page: rule, status and holder
    rule: str
    holder: str
    holder_class: str
    verdict: str              # the worst verdict of its operations, for the verdict filter
    verdict_label: str
    operations: str           # "op-4 and op-9.3"
    subjects: str             # "vm-00010 disk 0, vm-00010 disk 1 and 2 more"
    destinations: str         # "all 63 other hosts", "xs01, xs02 and 9 more"
    messages: list[str]       # the first few, in the report's language
    more_messages: int
    commands: list[str]
    more_commands: int
    evidence: list[tuple[str, str]]
    evidence_by_target: list[tuple[str, list[tuple[str, str]]]]
    waiver: dict[str, Any] | None
    original_status: str | None
    hosts: str                # the hosts its moves touch, space-separated, for the host filter
    search: str               # lower-case words for the search filter


@dataclass
class GroupSection:
    """A triage group: one rule's problems, its basis and remedy said once."""

    rule: str
    title: str
    severity: str
    severity_label: str
    status: str
    status_label: str
    count: str                # "508 VMs", "32 hosts"
    basis_kind: str
    basis: str
    remediation: str
    cards: list[ProblemCard]
    compact: bool             # many problems: the PDF gives one table row to each
    pdf_rows: int             # of which the PDF gives rows to this many, names the rest


@dataclass
class GapRow:
    rule: str
    severity_label: str
    field: str
    reason: str
    scope: str                # "8 VMs × 2 hosts"
    vms: str
    hosts: str


@dataclass
class EvacuationRow:
    id: str
    host: str
    verdict: str
    verdict_label: str
    vms: int                  # VMs to move off the host
    estimate: str
    rules: str                # the rules that block or warn, its own and its moves'


@dataclass
class WaiverRow:
    rule: str
    subjects: str
    state: str
    state_label: str
    reason: str
    approved_by: str
    ticket: str
    expires: str
    matched: str


@dataclass
class SinceSection:
    previous_generated: str
    previous_verdict: str
    new_failures: list[dict[str, Any]]        # the first SINCE_ROWS of each
    resolved: list[dict[str, Any]]
    persisting: list[dict[str, Any]]
    group_changes: list[dict[str, Any]]       # a group's destinations joined or left
    counts: dict[str, int]                    # how many of each there are


#: Rows per list of the "since the last run" section; the diff and results have them all.
SINCE_ROWS = 200


@dataclass
class RuleRow:
    id: str
    title: str
    severity: str
    kinds: str
    seed: str
    seed_text: str
    description: str


@dataclass
class SignOff:
    prepared_by: str = ""
    reviewed_by: str = ""
    approved_by: str = ""
    decision: str = ""
    date: str = ""


@dataclass
class ReportContext:
    """Everything the report template shows (see templates/report.html)."""

    lang: str
    labels: dict[str, str]
    title: str
    plan_id: str | None
    verdict: str
    verdict_label: str
    generated_at: str
    results_generated_at: str
    tool_version: str
    policy_sha256: str
    rule_count: int
    pools: list[PoolInfo]
    summary: list[tuple[str, str, int]]           # (verdict, label, count)
    operation_bars: list[Bar]
    rule_bars: list[Bar]
    capacity: list[CapacityRow]
    affected: str                                 # "508 VMs, 32 hosts to evacuate"
    blocker_groups: list[GroupSection]            # checker.triage's groups, worst first
    warning_groups: list[GroupSection]
    waived_groups: list[GroupSection]
    gaps: list[GapRow]                            # unknowns, by rule and missing fact
    evacuations: list[EvacuationRow]
    pass_counts: list[tuple[str, str, int]]       # (rule, title, passing findings)
    blocker_cards: list[OperationCard]            # a card per operation (full_cards): blocked
    warning_cards: list[OperationCard]            # and undecided, then with warnings, then
    ready_rows: list[OperationCard]               # ready ones (table rows in a long plan)
    full_cards: bool                              # a plan of few operations: every card
    waivers: list[WaiverRow]
    since: SinceSection | None
    rules: list[RuleRow]
    notes: list[str]
    assumptions: list[str]
    signoff: SignOff
    hosts: list[str]                              # for the HTML filter
    rule_ids: list[str]
    unknown_remediation: str


def _rules_by_id(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in results.get("rules", [])}


def _text(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("en") or "")
    return str(value or "")


def _evidence(evidence: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    out = []
    for key, value in evidence.items():
        if isinstance(value, int) and not isinstance(value, bool) and value > 1024 ** 2 and any(
                word in key for word in ("memory", "free", "size", "needed", "total")):
            shown = format_bytes(value, lang)
        elif isinstance(value, list):
            shown = ", ".join(map(str, value)) or label(lang, "none")
        elif value is None:
            shown = label(lang, "unknown")
        else:
            shown = str(value)
        out.append((key, shown))
    return out


def finding_row(f: dict[str, Any], rules: dict[str, dict[str, Any]], lang: str) -> FindingRow:
    rule = rules.get(f["rule"], {})
    # An audit's pass carries no message or seed: its rule's title and seed say it.
    message = (f.get("messages") or {}).get(lang) or f.get("message") or _text(rule.get("title"), lang)
    advice = is_advice(f)
    return FindingRow(
        rule=f["rule"], title=_text(rule.get("title"), lang), severity=f["severity"],
        severity_label=label(lang, f["severity"]), status="advice" if advice else f["status"],
        status_label=label(lang, "advice" if advice else f["status"]),
        original_status=f.get("original_status"),
        subject=(f.get("subject") or {}).get("name", ""), message=message,
        basis_kind=f.get("basis", ""),
        basis=basis_note(f["basis"], f.get("xapi_errors", []), lang) if "basis" in f else "",
        remediation=(UNKNOWN_REMEDIATION[lang] if f["status"] == "unknown"
                     else _text(rule.get("remediation"), lang) or f.get("remediation", "")),
        command=f.get("command"), evidence=_evidence(f.get("evidence") or {}, lang),
        waiver=f.get("waiver"), seed=f.get("seed") or rule.get("seed", ""),
        targets=", ".join(f.get("targets") or []),
    )


def _describe(op: dict[str, Any], lang: str) -> tuple[str, str, str]:
    src, dst = op.get("source") or {}, op.get("destination") or {}
    source = " / ".join(str(x) for x in (src.get("pool"), src.get("host")) if x)
    destination = " / ".join(str(x) for x in (dst.get("pool"), dst.get("host"), dst.get("sr")) if x)
    if "hosts" in dst:  # the audit: one VM tried against every other host of its pool
        ready = sorted(h for h, v in dst["hosts"].items() if v in {"ready", "ready_with_warnings"})
        destination = (f"{dst.get('pool')}: {len(ready)}/{len(dst['hosts'])} "
                       f"{label(lang, 'host_ready' if len(dst['hosts']) == 1 else 'hosts_ready')}")
    if op["kind"] == "evacuate" and "host" in op:
        title = f"{label(lang, 'evacuate')}: {op['host']['name']}"
    elif op["kind"] == "vdi":
        title = f"{(op.get('vdi') or {}).get('name')} → {dst.get('sr')}"
    else:
        title = f"{(op.get('vm') or {}).get('name')} → {destination}"
    return title, source, destination


def _card(op: dict[str, Any], findings: list[dict[str, Any]], rules: dict[str, dict[str, Any]],
          lang: str) -> OperationCard:
    shown = [f for f in findings if f["status"] not in {"not_applicable", "pass"}]
    passed = [f for f in findings if f["status"] == "pass"]
    rows = [finding_row(f, rules, lang) for f in shown + passed]
    rows.sort(key=lambda r: (STATUS_ORDER[r.status], SEVERITY_ORDER[r.severity], r.rule, r.subject))
    problems = [r for r in rows if r.status in {"fail", "unknown", "waived", "advice"}]
    passes = [r for r in rows if r.status == "pass"]
    title, source, destination = _describe(op, lang)
    vm = (op.get("vm") or {}).get("name", "")
    host = (op.get("host") or {}).get("name", "") or (op.get("source") or {}).get("host") or ""
    words = " ".join([title, vm, host, destination, *(r.rule for r in problems)]).lower()
    return OperationCard(
        id=op["id"], kind=op["kind"], kind_label=label(lang, op["kind"]), title=title,
        verdict=op["verdict"], verdict_label=label(lang, op["verdict"]), wave=op.get("wave", 1),
        source=source, destination=destination,
        estimate=format_duration(op.get("estimate_seconds"), lang) if op.get("estimate_seconds") else "—",
        vm=vm, host=host, problems=problems, passes=passes, search=words,
        hosts=" ".join(_hosts_of(op)),
    )


def _bars(counts: list[tuple[str, int, str, str]]) -> list[Bar]:
    top = max((c for _, c, _, _ in counts), default=0) or 1
    return [Bar(text, count, round(100 * count / top, 1), css, f"{count}")
            for text, count, css, _ in counts]


def build_context(results: dict[str, Any], *, lang: str = "en", since: dict[str, Any] | None = None,
                  signoff: dict[str, Any] | None = None, now: str | None = None) -> ReportContext:
    """The context for `templates/report.html` from a results document. `since`: its
    `diff_results` from the previous run's, for the "since the last run" section.

    What is wrong comes from checker.triage, grouped as the text output groups it; a plan
    of few operations also gets a card per operation with every finding (an audit never
    does: its passes are counts per rule)."""
    rules = _rules_by_id(results)
    ops = results["operations"]
    by_id = {o["id"]: o for o in ops}
    audit = results.get("mode") == "audit"
    top = [o for o in ops if not o.get("parent")]
    full_cards = not audit and len(top) <= FULL_CARDS_LIMIT
    cards = [] if audit else _operation_cards(results, rules, lang)
    rank = {v: i for i, v in enumerate(VERDICTS)}
    worst_first = sorted(cards, key=lambda c: (rank.get(c.verdict, 9), c.wave, natural_order(c.id)))
    t = build_triage(results)
    sections = {kind: [_group_section(g, by_id, rules, lang) for g in groups]
                for kind, groups in (("blocker", t.blockers), ("warning", t.warnings),
                                     ("waived", t.waived))}
    by_verdict = Counter(o["verdict"] for o in top)
    summary = [(v, label(lang, v), by_verdict.get(v, 0)) for v in VERDICTS]
    width = 22 if lang == "ja" else 40  # label characters that fit beside the bar
    rule_bars = _bars([(_shorten(f"{g.rule} {_text(rules.get(g.rule, {}).get('title'), lang)}", width),
                        len(g.problems), "blocked", g.rule) for g in t.blockers[:12]])
    plan_id = (results["inputs"].get("plan") or {}).get("plan")
    inventories = results["inputs"]["inventories"]
    capacity = [_capacity_row(c, lang) for c in results.get("capacity", [])]
    signoff = signoff or {}
    groups = [g for kind in sections.values() for g in kind]
    rules_by_op = _rules_by_operation(t)
    return ReportContext(
        lang=lang, labels=dict(_all_labels(lang)),
        title=label(lang, "doc_title" if not audit else "audit_title"),
        plan_id=plan_id, verdict=results["verdict"], verdict_label=label(lang, results["verdict"]),
        generated_at=format_datetime(now or results["generated_at"], lang),
        results_generated_at=format_datetime(results["generated_at"], lang),
        tool_version=results["tool"]["version"],
        policy_sha256=results["inputs"]["policies"]["sha256"],
        rule_count=len(results.get("rules", [])),
        pools=[PoolInfo(i["pool"], ", ".join(i.get("versions") or []) or "—",
                        format_datetime(i.get("collected_at"), lang), i["file"], i["sha256"])
               for i in inventories],
        summary=summary,
        operation_bars=_bars([(lbl, n, v, v) for v, lbl, n in summary]),
        rule_bars=rule_bars, capacity=capacity,
        affected=counted(len(t.vms_affected), "vm", lang) + ", "
        + counted(len(t.hosts_affected), "host_to_evacuate", lang),
        blocker_groups=sections["blocker"], warning_groups=sections["warning"],
        waived_groups=sections["waived"],
        gaps=[gap_row(g, lang) for g in t.gaps],
        evacuations=[_evacuation_row(o, rules_by_op, lang) for o in top if o["kind"] == "evacuate"],
        pass_counts=[(rid, _text(rules.get(rid, {}).get("title"), lang), n)
                     for rid, n in sorted(t.passes.items(), key=lambda kv: natural_order(kv[0]))],
        blocker_cards=[c for c in worst_first if c.verdict in {"blocked", "undecided"}],
        warning_cards=[c for c in worst_first if c.verdict == "ready_with_warnings"],
        ready_rows=[c for c in worst_first if c.verdict == "ready"], full_cards=full_cards,
        waivers=[_waiver_row(w, lang) for w in results.get("waivers", [])],
        since=_since(since, lang) if since else None,
        rules=[RuleRow(r["id"], _text(r["title"], lang), label(lang, r["severity"]),
                       ", ".join(label(lang, k) for k in r["kinds"]), r.get("seed", ""),
                       r.get("seed_text") or r.get("reference") or "",
                       _text(r.get("description"), lang)) for r in results.get("rules", [])],
        notes=NOTES[lang],
        assumptions=[translate_assumption(a, lang) for a in results.get("assumptions", [])],
        signoff=SignOff(**{k: str(signoff.get(k, "")) for k in
                           ("prepared_by", "reviewed_by", "approved_by", "decision", "date")}),
        hosts=sorted({h for op in ops for h in _hosts_of(op)}, key=natural_order),
        rule_ids=sorted({g.rule for g in groups}, key=natural_order),
        unknown_remediation=UNKNOWN_REMEDIATION[lang],
    )


def _operation_cards(results: dict[str, Any], rules: dict[str, dict[str, Any]],
                     lang: str) -> list[OperationCard]:
    """A card per top-level operation, its moves as children, every finding listed."""
    findings_by_op: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in results["findings"]:
        for op_id in f.get("operations") or [f["operation"]]:
            findings_by_op[op_id].append(f)
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for op in results["operations"]:
        if op.get("parent"):
            children[op["parent"]].append(op)
    cards = []
    for op in results["operations"]:
        if op.get("parent"):
            continue
        card = _card(op, findings_by_op[op["id"]], rules, lang)
        card.children = [_card(c, findings_by_op[c["id"]], rules, lang) for c in children[op["id"]]]
        card.search += " " + " ".join(c.search for c in card.children)
        card.hosts = " ".join(sorted({h for c in [card, *card.children] for h in c.hosts.split()},
                                     key=natural_order))
        cards.append(card)
    return cards


#: How many of a problem's messages and commands a card shows (the results keep them all).
CARD_MESSAGES = 3
CARD_COMMANDS = 5
#: A group of more problems than this is a table in the PDF, a row each.
COMPACT_FROM = 12
#: Rows a group gets in the PDF: every blocker; warnings' other VMs by name only (a 5,000-VM
#: audit warns about 1,667 VMs: a page of names, not 70 pages of rows).
PDF_ROWS = {"blocker": 2000, "warning": 60, "info": 60}


def _group_section(g: Group, ops: dict[str, dict[str, Any]], rules: dict[str, dict[str, Any]],
                   lang: str) -> GroupSection:
    rule = rules.get(g.rule, {})
    first = g.problems[0].findings[0]
    return GroupSection(
        rule=g.rule, title=_text(rule.get("title"), lang), severity=g.severity,
        severity_label=label(lang, g.severity), status=g.status, status_label=label(lang, g.status),
        count=group_count(g, lang), basis_kind=first.get("basis", ""),
        basis=basis_note(first["basis"], first.get("xapi_errors", []), lang) if "basis" in first else "",
        remediation=_text(rule.get("remediation"), lang) or first.get("remediation", ""),
        cards=[_problem_card(p, ops, lang) for p in g.problems],
        compact=len(g.problems) > COMPACT_FROM, pdf_rows=PDF_ROWS.get(g.severity, 100),
    )


def group_count(g: Group, lang: str) -> str:
    """'500 VMs', '32 hosts', '1 VM, 2 hosts': what a group is about."""
    return ", ".join(counted(n, word, lang) for n, word in ((g.vms, "vm"), (g.hosts, "host")) if n)


def _problem_card(p: Problem, ops: dict[str, dict[str, Any]], lang: str) -> ProblemCard:
    rank = {v: i for i, v in enumerate(VERDICTS)}
    moves = [ops[i] for i in p.operations if i in ops]
    verdict = min((o["verdict"] for o in moves), key=lambda v: rank.get(v, 9), default="ready")
    hosts = sorted({h for o in moves for h in _hosts_of(o)} | set(p.destinations), key=name_order)
    messages = p.messages(lang)
    commands = p.commands
    first = p.findings[0]
    by_target = first.get("evidence_by_target") or {}
    words = " ".join([p.rule, p.holder, *p.subjects, *p.operations, *hosts]).lower()
    return ProblemCard(
        key=f"{p.rule}/{p.status}/{p.holder}", rule=p.rule, holder=p.holder,
        holder_class=p.holder_class, verdict=verdict, verdict_label=label(lang, verdict),
        operations=short_list(p.operations, lang, 4), subjects=short_list(p.subjects, lang, 4),
        destinations=short_destinations(p, lang), messages=messages[:CARD_MESSAGES],
        more_messages=max(0, len(messages) - CARD_MESSAGES), commands=commands[:CARD_COMMANDS],
        more_commands=max(0, len(commands) - CARD_COMMANDS),
        evidence=_evidence(first.get("evidence") or {}, lang),
        evidence_by_target=[(host, _evidence(values, lang))
                            for host, values in list(by_target.items())[:CARD_MESSAGES]],
        waiver=p.waiver, original_status=first.get("original_status"), hosts=" ".join(hosts),
        search=words,
    )


def _rules_by_operation(t: Triage) -> dict[str, set[str]]:
    """The rules that block or warn about each operation."""
    out: dict[str, set[str]] = defaultdict(set)
    for g in [*t.blockers, *t.warnings]:
        for p in g.problems:
            for op_id in p.operations:
                out[op_id].add(g.rule)
    return out


def gap_row(g: Gap, lang: str) -> GapRow:
    """A data gap as the report and the e-mail say it: '8 VMs × 2 hosts', the fact, the reason."""
    scope = " × ".join(part for part in (counted(len(g.vms), "vm", lang) if g.vms else "",
                                         counted(len(g.hosts), "host", lang) if g.hosts else "") if part)
    # gap.reason is English: in another language, the findings' own messages say it.
    translated = lang != "en" and g.messages.get(lang)
    reason = "; ".join(translated) if translated else g.reason if g.field else "; ".join(g.messages["en"])
    return GapRow(g.rule, label(lang, g.severity), "" if translated else g.field, reason,
                  scope or counted(g.findings, "finding", lang), short_list(g.vms, lang, 5),
                  short_list(g.hosts, lang, 5))


def _evacuation_row(op: dict[str, Any], rules_by_op: dict[str, set[str]], lang: str) -> EvacuationRow:
    problems = sorted(set().union(*(rules_by_op.get(i, set()) for i in [op["id"], *op.get("children", [])])),
                      key=natural_order)
    return EvacuationRow(
        id=op["id"], host=(op.get("host") or {}).get("name", ""), verdict=op["verdict"],
        verdict_label=label(lang, op["verdict"]), vms=len(op.get("children", [])),
        estimate=format_duration(op.get("estimate_seconds"), lang) if op.get("estimate_seconds") else "—",
        rules=", ".join(problems))


def _hosts_of(op: dict[str, Any]) -> Iterator[str]:
    """The hosts an operation moves from, to or off: what the HTML filter offers. Not the
    last part of its destination, which names a pool (the audit, an evacuation) or an SR."""
    for host in ((op.get("source") or {}).get("host"), (op.get("destination") or {}).get("host"),
                 (op.get("host") or {}).get("name")):
        if host:
            yield host


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _all_labels(lang: str) -> dict[str, str]:
    from checker.report.i18n import LABELS

    return {**LABELS["en"], **LABELS[lang]}


def _capacity_row(c: dict[str, Any], lang: str) -> CapacityRow:
    total, before, planned = c.get("total"), c.get("free_before"), c.get("planned") or 0
    used_pct = planned_pct = 0.0
    if total and before is not None:
        used_pct = round(100 * max(0, total - before) / total, 1)
        planned_pct = round(min(100 - used_pct, 100 * planned / total), 1)
    after = c.get("free_after")
    return CapacityRow(
        kind=c["kind"], pool=c["pool"], name=c["name"], total=format_bytes(total, lang),
        free_before=format_bytes(before, lang), free_after=format_bytes(after, lang),
        planned=format_bytes(planned, lang), used_before_pct=used_pct, planned_pct=planned_pct,
        overcommitted=after is not None and after < 0,
    )


def _waiver_row(w: dict[str, Any], lang: str) -> WaiverRow:
    subjects = ", ".join(s if isinstance(s, str) else f"tag:{s.get('tag')}" for s in w.get("subjects", []))
    return WaiverRow(w["rule"], subjects, w["state"], label(lang, w["state"]), w.get("reason", ""),
                     w.get("approved_by", ""), w.get("ticket", ""), format_date(w.get("expires"), lang),
                     ", ".join(w.get("matched", [])))


def _since(d: dict[str, Any], lang: str) -> SinceSection:
    keys = ("new_failures", "resolved", "persisting", "group_changes")
    every = label(lang, "every_host")
    rows = {key: [{**row, "destination": every if row.get("destination") == "*" else row.get("destination")}
                  for row in d.get(key, [])[:SINCE_ROWS]] for key in keys}
    return SinceSection(format_datetime(d["old"]["generated_at"], lang),
                        label(lang, d["old"]["verdict"] or ""), **rows,
                        counts={key: len(d.get(key, [])) for key in keys})
