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
    format_bytes,
    format_date,
    format_datetime,
    format_duration,
    label,
    translate_assumption,
)
from checker.results import UNKNOWN_REMEDIATION, VERDICTS, basis_note, is_advice, natural_order

STATUS_ORDER = {"fail": 0, "unknown": 1, "waived": 2, "advice": 3, "pass": 4, "not_applicable": 5}
SEVERITY_ORDER = {"blocker": 0, "warning": 1, "info": 2}
#: How many operations get a full card in the PDF; beyond that, ready ones are a table row.
FULL_CARDS_LIMIT = 60
#: Beyond this many findings the report lists failures only and counts the passes (the
#: results file keeps every one): a 5,000-VM audit has hundreds of thousands.
PASS_ROWS_LIMIT = 20_000


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
    pass_count: int = 0                 # passes, also when they are not listed
    children: list[OperationCard] = field(default_factory=list)
    search: str = ""                    # lower-case words for the HTML filter


@dataclass
class VmCard:
    name: str
    uuid: str
    verdict: str
    verdict_label: str
    operations: list[OperationCard]


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
    new_failures: list[dict[str, Any]]
    resolved: list[dict[str, Any]]
    persisting: list[dict[str, Any]]


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
class Remedy:
    id: str
    title: str
    remediation: str


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
    blocker_cards: list[OperationCard]            # blocked and undecided, worst first
    blocker_remedies: list[Remedy]                # the remedy of each rule that blocks, once
    warning_cards: list[OperationCard]
    vm_cards: list[VmCard]
    host_cards: list[OperationCard]
    ready_rows: list[OperationCard]               # summarised when there are many operations
    full_cards: bool
    list_passes: bool                             # False for very large audits: counts only
    waivers: list[WaiverRow]
    since: SinceSection | None
    rules: list[RuleRow]
    notes: list[str]
    assumptions: list[str]
    signoff: SignOff
    hosts: list[str]                              # for the HTML filter
    rule_ids: list[str]


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
    message = (f.get("messages") or {}).get(lang) or f.get("message", "")
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
        waiver=f.get("waiver"), seed=f.get("seed", ""),
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
          lang: str, list_passes: bool = True) -> OperationCard:
    shown = [f for f in findings if f["status"] not in {"not_applicable", "pass"}]
    passed = [f for f in findings if f["status"] == "pass"]
    rows = [finding_row(f, rules, lang) for f in shown + (passed if list_passes else [])]
    rows.sort(key=lambda r: (STATUS_ORDER[r.status], SEVERITY_ORDER[r.severity], r.rule, r.subject))
    problems = [r for r in rows if r.status in {"fail", "unknown", "waived", "advice"}]
    passes = [r for r in rows if r.status == "pass"]
    if "hosts" in (op.get("destination") or {}):
        problems = _merge_destinations(problems)
    title, source, destination = _describe(op, lang)
    vm = (op.get("vm") or {}).get("name", "")
    host = (op.get("host") or {}).get("name", "") or (op.get("source") or {}).get("host") or ""
    words = " ".join([title, vm, host, destination, *(r.rule for r in problems)]).lower()
    return OperationCard(
        id=op["id"], kind=op["kind"], kind_label=label(lang, op["kind"]), title=title,
        verdict=op["verdict"], verdict_label=label(lang, op["verdict"]), wave=op.get("wave", 1),
        source=source, destination=destination,
        estimate=format_duration(op.get("estimate_seconds"), lang) if op.get("estimate_seconds") else "—",
        vm=vm, host=host, problems=problems, passes=passes, search=words, pass_count=len(passed),
    )


def _merge_destinations(rows: list[FindingRow]) -> list[FindingRow]:
    """The audit tries a VM against every host: show one row per (rule, status, subject)
    naming the destinations, with the first one's message (the results keep them all)."""
    merged: dict[tuple[str, str, str], FindingRow] = {}
    for row in rows:
        key = (row.rule, row.status, row.subject)
        if key in merged:
            first = merged[key]
            first.targets = ", ".join(filter(None, [first.targets, row.targets]))
        else:
            merged[key] = row
    return list(merged.values())


def _bars(counts: list[tuple[str, int, str, str]]) -> list[Bar]:
    top = max((c for _, c, _, _ in counts), default=0) or 1
    return [Bar(text, count, round(100 * count / top, 1), css, f"{count}")
            for text, count, css, _ in counts]


def build_context(results: dict[str, Any], *, lang: str = "en", since: dict[str, Any] | None = None,
                  signoff: dict[str, Any] | None = None, now: str | None = None) -> ReportContext:
    """The context for `templates/report.html` from a results document. `since`: its
    `diff_results` from the previous run's, for the "since the last run" section."""
    rules = _rules_by_id(results)
    findings_by_op: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in results["findings"]:
        for op_id in f.get("operations") or [f["operation"]]:
            findings_by_op[op_id].append(f)
    ops = results["operations"]
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for op in ops:
        if op.get("parent"):
            children[op["parent"]].append(op)
    cards: list[OperationCard] = []
    list_passes = len(results["findings"]) <= PASS_ROWS_LIMIT
    for op in ops:
        if op.get("parent"):
            continue
        card = _card(op, findings_by_op[op["id"]], rules, lang, list_passes)
        card.children = [_card(c, findings_by_op[c["id"]], rules, lang, list_passes)
                         for c in children[op["id"]]]
        card.search += " " + " ".join(c.search for c in card.children)
        cards.append(card)
    rank = {v: i for i, v in enumerate(VERDICTS)}
    worst_first = sorted(cards, key=lambda c: (rank.get(c.verdict, 9), c.wave, natural_order(c.id)))
    blocker_cards = [c for c in worst_first if c.verdict in {"blocked", "undecided"}]
    warning_cards = [c for c in worst_first if c.verdict == "ready_with_warnings"]
    ready = [c for c in worst_first if c.verdict == "ready"]
    vm_groups: dict[str, list[OperationCard]] = defaultdict(list)
    vm_uuid: dict[str, str] = {}
    for op, card in zip([o for o in ops if not o.get("parent")], cards, strict=True):
        if op.get("vm"):
            vm_groups[op["vm"]["name"]].append(card)
            vm_uuid[op["vm"]["name"]] = op["vm"].get("uuid", "")
    vm_cards = []
    for name in sorted(vm_groups):
        verdict = min((c.verdict for c in vm_groups[name]), key=lambda v: rank.get(v, 9))
        vm_cards.append(VmCard(name, vm_uuid[name], verdict, label(lang, verdict), vm_groups[name]))
    vm_cards.sort(key=lambda v: (rank.get(v.verdict, 9), v.name))
    host_cards = [c for c in worst_first if c.kind == "evacuate"]
    by_verdict = Counter(c.verdict for c in cards)
    summary = [(v, label(lang, v), by_verdict.get(v, 0)) for v in VERDICTS]
    blockers_by_rule = Counter(f["rule"] for f in results["findings"]
                               if f["status"] == "fail" and f["severity"] == "blocker")
    width = 22 if lang == "ja" else 40  # label characters that fit beside the bar
    rule_bars = _bars([(_shorten(f"{rid} {_text(rules.get(rid, {}).get('title'), lang)}", width),
                        n, "blocked", rid) for rid, n in blockers_by_rule.most_common(12)])
    plan_id = (results["inputs"].get("plan") or {}).get("plan")
    inventories = results["inputs"]["inventories"]
    capacity = [_capacity_row(c, lang) for c in results.get("capacity", [])]
    signoff = signoff or {}
    return ReportContext(
        lang=lang, labels=dict(_all_labels(lang)),
        title=label(lang, "doc_title" if results.get("mode") != "audit" else "audit_title"),
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
        blocker_cards=blocker_cards, warning_cards=warning_cards, vm_cards=vm_cards,
        blocker_remedies=[Remedy(rid, _text(rules[rid]["title"], lang),
                                 _text(rules[rid].get("remediation"), lang))
                          for rid in sorted({f.rule for c in blocker_cards for f in c.problems}
                                            | {f.rule for c in blocker_cards for ch in c.children
                                               for f in ch.problems}) if rid in rules],
        host_cards=host_cards, ready_rows=ready, full_cards=len(cards) <= FULL_CARDS_LIMIT,
        list_passes=list_passes,
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
        rule_ids=sorted({r.rule for c in cards for r in c.problems}),
    )


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
    return SinceSection(format_datetime(d["old"]["generated_at"], lang),
                        label(lang, d["old"]["verdict"] or ""),
                        d["new_failures"], d["resolved"], d["persisting"])
