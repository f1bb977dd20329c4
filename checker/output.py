"""Results as text, JSON, JUnit XML, CSV and Markdown (HTML and PDF are in report/).

Every formatter takes the results document and returns a string; none prints.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree as ET

from checker.results import (
    UNKNOWN_REMEDIATION,
    basis_note,
    is_advice,
    natural_order,
    plural,
    rule_titles,
    shown_message,
)
from checker.triage import Group, build_triage, short_destinations, short_list

VERDICT_RANK = {"blocked": 0, "undecided": 1, "ready_with_warnings": 2, "ready": 3}
STATUS_RANK = {"fail": 0, "unknown": 1, "waived": 2, "pass": 3, "not_applicable": 4}
COLOURS = {"blocked": "red", "undecided": "yellow", "ready_with_warnings": "yellow", "ready": "green",
           "fail": "red", "unknown": "yellow", "waived": "cyan", "pass": "green"}

Style = Callable[[str, str], str]


def _plain(text: str, _key: str) -> str:
    return text


def _findings_by_operation(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in results["findings"]:
        for op in f.get("operations") or [f["operation"]]:
            out[op].append(f)
    return out


def _describe(op: dict[str, Any]) -> str:
    src, dst = op.get("source") or {}, op.get("destination") or {}
    if op["kind"] == "evacuate" and "host" in op:
        return f"evacuate host {op['host']['name']} ({src.get('pool')})"
    what = (op.get("vm") or {}).get("name", "?")
    if op["kind"] == "vdi":
        return f"vdi {(op.get('vdi') or {}).get('name')} of {what} -> SR {dst.get('sr')}"
    target = dst.get("host")
    if "hosts" in dst:  # the audit: every other host of the VM's pool
        ready = sum(v in {"ready", "ready_with_warnings"} for v in dst["hosts"].values())
        target = f"{ready} of {plural(len(dst['hosts']), 'host')} ready"
    if src.get("pool") != dst.get("pool"):
        target = f"{dst.get('pool')}/{target}"
    return f"{op['kind']} {what}: {src.get('host') or 'halted'} -> {target}"


def _title(results: dict[str, Any]) -> str:
    plan = (results["inputs"].get("plan") or {}).get("plan")
    pools = ", ".join(f"{i['pool']} ({', '.join(i.get('versions', []))})"
                      for i in results["inputs"]["inventories"])
    return f"{f'Plan {plan}' if plan else 'Readiness audit'} — pools: {pools}"


def verdict_line(results: dict[str, Any], style: Style = _plain) -> str:
    """'Verdict: BLOCKED — 8 operations: 6 blocked, 2 ready' (all `check --quiet` prints)."""
    s = results["summary"]
    counts = ", ".join(f"{n:,} {v.replace('_', ' ')}" for v, n in sorted(
        s["by_verdict"].items(), key=lambda kv: VERDICT_RANK.get(kv[0], 9)))
    return (f"Verdict: {style(results['verdict'].upper().replace('_', ' '), results['verdict'])}"
            f" — {_many(s['operations'], 'operation')}: {counts or 'none'}")


def _many(n: int, word: str) -> str:
    """plural() with thousands separated: '5,064 operations'."""
    return plural(n, word).replace(str(n), f"{n:,}", 1)


def _waiver_notes(results: dict[str, Any]) -> list[str]:
    return [f"waiver {w['state']}: {w['rule']} {w['subjects']} ({w['ticket']}, expires {w['expires']})"
            for w in results.get("waivers", []) if w["state"] in {"expired", "unused"}]


#: How many problems of one rule the default text shows; the rest are named in one line.
SHOWN_PER_GROUP = {"blocker": 5, "warning": 3, "waived": 3}


def format_text(results: dict[str, Any], style: Style = _plain) -> str:
    """Triage first (`check`'s default): the verdict, the summary, each blocker group once
    with its remedy, the warnings, the data gaps; passes as counts. A 5,000-VM audit's
    text fits in a few screens; `--detail` lists every finding."""
    t = build_triage(results)
    lines = [_title(results), verdict_line(results, style), "", "Summary"]
    if t.blockers:
        lines.append("  blockers: " + ", ".join(_count(g) for g in t.blockers))
        lines.append(f"  affected: {plural(len(t.vms_affected), 'VM')}, "
                     f"{plural(len(t.hosts_affected), 'host')} to evacuate")
    else:
        lines.append("  blockers: none")
    if t.warnings:
        lines.append("  warnings: " + ", ".join(_count(g) for g in t.warnings))
    if t.gaps:
        lines.append(f"  data gaps: {plural(len(t.gaps), 'gap')} "
                     f"({plural(sum(g.findings for g in t.gaps), 'unknown finding')})")
    if t.waived:
        lines.append("  waived: " + ", ".join(_count(g) for g in t.waived))
    if t.advice:
        lines.append(f"  advice: {', '.join(g.rule for g in t.advice)} (--detail lists it)")
    lines.append(f"  passed: {_many(sum(t.passes.values()), 'finding')} of {plural(len(t.passes), 'rule')}"
                 if t.passes else "  passed: none")
    for title, groups in (("Blockers", t.blockers), ("Warnings", t.warnings), ("Waived", t.waived)):
        if groups:
            lines += ["", title]
            for g in groups:
                lines += _group_lines(g, style)
    if t.gaps:
        lines += ["", "Data gaps"]
        for gap in t.gaps:
            scope = plural(len(gap.vms), "VM") if gap.vms else ""
            if gap.hosts:
                scope += f"{' × ' if scope else ''}{plural(len(gap.hosts), 'host')}"
            what = f"{gap.field}: {gap.reason}" if gap.field else gap.reason
            lines.append(f"  {style(gap.rule, 'unknown')} [{gap.severity}] undecidable for "
                         f"{scope or plural(gap.findings, 'finding')}: {what}")
        lines.append(f"  → {UNKNOWN_REMEDIATION['en']}")
    notes = _waiver_notes(results)
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _count(g: Group) -> str:
    what = [_many(n, word) for n, word in ((g.vms, "VM"), (g.hosts, "host")) if n]
    return f"{g.rule} {' + '.join(what) or _many(len(g.problems), 'finding')}"


def _group_lines(g: Group, style: Style) -> list[str]:
    """A rule's problems: its basis once, the first few problems with their commands, the
    others by name, and the rule's remedy once."""
    first = g.problems[0].findings[0]
    lines = [f"{style(g.rule, g.status)} [{g.severity}] {_count(g).split(' ', 1)[1]}"]
    if g.status == "fail" and g.severity == "blocker" and "basis" in first:
        lines.append(f"    {basis_note(first['basis'], first.get('xapi_errors', []), 'en')}")
    shown = SHOWN_PER_GROUP.get(g.severity if g.status != "waived" else "waived", 3)
    for p in g.problems[:shown]:
        where = short_destinations(p)
        subjects = f" ({short_list(p.subjects)})" if p.subjects else ""
        lines.append(f"  {p.holder}{subjects} [{short_list(p.operations)}]"
                     + (f" → {where}" if where else ""))
        messages = p.messages("en")
        extra = f" (and {plural(len(messages) - 1, 'other message')})" if len(messages) > 1 else ""
        lines.append(f"      {messages[0]}{extra}")
        if p.waiver:
            w = p.waiver
            lines.append(f"      waived: {w['reason']} — {w['approved_by']}, {w['ticket']}, "
                         f"until {w['expires']}")
        commands = p.commands
        lines += [f"      → {c}" for c in commands[:2]]
        if len(commands) > 2:
            lines.append(f"      → … and {plural(len(commands) - 2, 'more command')} (--detail)")
    rest = g.problems[shown:]
    if rest:
        lines.append(f"  … and {len(rest):,} more: {short_list([p.holder for p in rest])} "
                     f"(--detail or the report lists them)")
    remedy = first.get("remediation")
    if remedy and g.status == "fail":
        lines.append(f"  → {remedy}")
    return lines


def format_detail(results: dict[str, Any], style: Style = _plain) -> str:
    """Every finding, operation by operation, blockers first (`check --detail`)."""
    lines = [_title(results)]
    by_op = _findings_by_operation(results)
    titles = rule_titles(results)
    ops = [o for o in results["operations"] if "parent" not in o]
    children = defaultdict(list)
    for o in results["operations"]:
        if "parent" in o:
            children[o["parent"]].append(o)
    ops.sort(key=lambda o: (VERDICT_RANK.get(o["verdict"], 9), natural_order(o["id"])))
    for op in ops:
        lines.append("")
        verdict = style(op["verdict"].upper().replace("_", " "), op["verdict"])
        est = f"  ~{op['estimate_seconds']} s" if op.get("estimate_seconds") else ""
        lines.append(f"{verdict}  {op['id']} (wave {op['wave']}): {_describe(op)}{est}")
        for sub in [op, *children.get(op["id"], [])]:
            prefix = "    " if sub is op else f"    {sub['id']} {(sub.get('vm') or {}).get('name')}: "
            for f in sorted(by_op.get(sub["id"], []), key=lambda f: STATUS_RANK[f["status"]]):
                tag = style(f"{f['status']:<7}", f["status"])
                lines.append(f"{prefix}{tag} {f['rule']} [{f['severity']}] {shown_message(f, titles)}")
                if f["status"] == "fail" and f["severity"] == "blocker" and "basis" in f:
                    lines.append(f"{' ' * 12}{basis_note(f['basis'], f.get('xapi_errors', []), 'en')}")
                if f.get("waiver"):
                    w = f["waiver"]
                    lines.append(f"{' ' * 12}waived ({f.get('original_status')}): {w['reason']} — "
                                 f"{w['approved_by']}, {w['ticket']}, until {w['expires']}")
                if f.get("command") and f["status"] == "fail":
                    lines.append(f"{' ' * 12}fix: {f['command']}")
    if not ops:
        lines += ["", "No operations to check."]
    lines += _waiver_notes(results)
    lines.append("")
    lines.append(verdict_line(results, style))
    return "\n".join(lines) + "\n"


#: Compact separators: an audit's results are mostly punctuation between short values.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def iter_json(results: dict[str, Any]) -> Iterator[str]:
    """The results as JSON text in pieces: one line per top-level key, and per operation and
    finding, so a 5,000-VM audit streams to a file in seconds (json's C encoder does each
    piece; a pretty-printed whole would take the pure-Python one) and stays greppable."""
    encode = _JSON.encode
    keys = list(results)
    yield "{\n"
    for index, key in enumerate(keys):
        value = results[key]
        end = ",\n" if index < len(keys) - 1 else "\n"
        if key in {"operations", "findings"} and isinstance(value, list):
            yield f"{encode(key)}:[\n"
            for start in range(0, len(value), 2000):
                chunk = value[start:start + 2000]
                text = ",\n".join(map(encode, chunk))
                yield text + (",\n" if start + 2000 < len(value) else "\n")
            yield "]" + end
        else:
            yield f"{encode(key)}:{encode(value)}{end}"
    yield "}\n"


def format_json(results: dict[str, Any]) -> str:
    return "".join(iter_json(results))


def format_junit(results: dict[str, Any]) -> str:
    """One testsuite per operation, one testcase per rule and subject."""
    by_op = _findings_by_operation(results)
    suites = ET.Element("testsuites", name="migready", tests="0", failures="0", errors="0")
    total = failures = errors = 0
    for op in results["operations"]:
        cases = [f for f in by_op.get(op["id"], []) if f["status"] != "not_applicable"]
        suite = ET.SubElement(suites, "testsuite", name=f"{op['id']} {_describe(op)}",
                              tests=str(len(cases)))
        s_fail = s_err = 0
        for f in cases:
            subject = (f.get("subject") or {}).get("name", "")
            case = ET.SubElement(suite, "testcase", classname=f"migready.{op['kind']}",
                                 name=f"{f['rule']} {subject}".strip())
            if f["status"] == "fail" and not is_advice(f):
                s_fail += 1
                node = ET.SubElement(case, "failure", type=f["severity"], message=f["message"])
                node.text = f.get("remediation", "")
            elif f["status"] == "unknown" and f["severity"] == "blocker":
                s_err += 1
                ET.SubElement(case, "error", type="unknown", message=f["message"])
            elif f["status"] in {"waived", "fail", "unknown"}:
                ET.SubElement(case, "skipped", message=f"{f['status']}: {f['message']}")
        suite.set("failures", str(s_fail))
        suite.set("errors", str(s_err))
        total, failures, errors = total + len(cases), failures + s_fail, errors + s_err
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


CSV_COLUMNS = ("operation", "kind", "vm", "source_host", "destination_pool", "destination_host",
               "rule", "severity", "status", "original_status", "subject_class", "subject",
               "message", "waiver_ticket", "targets")


def format_csv(results: dict[str, Any]) -> str:
    ops = {o["id"]: o for o in results["operations"]}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    titles = rule_titles(results)
    for f in results["findings"]:
        op = ops.get(f["operation"], {})
        subject = f.get("subject") or {}
        writer.writerow([
            f["operation"], op.get("kind", ""), (op.get("vm") or {}).get("name", ""),
            (op.get("source") or {}).get("host", ""), (op.get("destination") or {}).get("pool", ""),
            (op.get("destination") or {}).get("host", ""), f["rule"], f["severity"], f["status"],
            f.get("original_status", ""), subject.get("class", ""), subject.get("name", ""),
            shown_message(f, titles), (f.get("waiver") or {}).get("ticket", ""),
            " ".join(f.get("targets", [])),
        ])
    return buf.getvalue()


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def format_markdown(results: dict[str, Any]) -> str:
    plan = (results["inputs"].get("plan") or {}).get("plan")
    lines = [f"# migready: {'plan ' + plan if plan else 'readiness audit'}", "",
             f"**Verdict: {results['verdict'].replace('_', ' ')}**", "",
             "| operation | kind | what | verdict |", "|---|---|---|---|"]
    for op in results["operations"]:
        if "parent" not in op:
            lines.append(f"| {op['id']} | {op['kind']} | {_md(_describe(op))} | {op['verdict']} |")
    problems = [f for f in results["findings"] if f["status"] in {"fail", "unknown", "waived"}]
    if problems:
        lines += ["", "## Findings", "", "| operation | rule | severity | status | subject | message |",
                  "|---|---|---|---|---|---|"]
        problems.sort(key=lambda f: (STATUS_RANK[f["status"]], natural_order(f["operation"])))
        lines += [f"| {f['operation']} | {f['rule']} | {f['severity']} | {f['status']} | "
                  f"{_md((f.get('subject') or {}).get('name', ''))} | {_md(f['message'])} |"
                  for f in problems]
    return "\n".join(lines) + "\n"


FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "json": format_json, "junit": format_junit, "csv": format_csv, "markdown": format_markdown,
}
