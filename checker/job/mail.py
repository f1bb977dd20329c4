"""The e-mail of a run: when it is due, its subject, its plain-text and HTML bodies, the
attachments, and its delivery (saved as message.eml whatever happens)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.errors import MigreadyError
from checker.results import VERDICTS, plural
from checker.results import overall_verdict as worst_verdict

if TYPE_CHECKING:
    from checker.job.config import Job
    from checker.job.run import CheckOutcome, PoolOutcome

#: How many new blockers the e-mail lists before pointing at the reports.
MAIL_LIST_LIMIT = 40


@dataclass
class MailOutcome:
    status: str  # sent | not_due | not_configured | failed | not_reached (the run ended first)
    reason: str = ""
    recipients: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    subject: str | None = None
    message_path: Path | None = None


def overall_verdict(checks: list[CheckOutcome]) -> str | None:
    """The worst verdict of the checks that ran (None if none ran)."""
    verdicts = [c.verdict for c in checks if c.verdict]
    return worst_verdict(verdicts) if verdicts else None


def _day(stamp: str | None) -> str:
    return (stamp or "")[:10] or "the last run"


def mail_subject(job_name: str, pools: list[PoolOutcome], checks: list[CheckOutcome]) -> str:
    """Verdict first, then what changed: `[nightly] BLOCKED: 2 new blockers since 2026-11-18`."""
    parts: list[str] = []
    failed_pools = [p.name for p in pools if p.error]
    if failed_pools:
        parts.append(f"COLLECTION FAILED ({', '.join(failed_pools)})")
    broken = [c.name for c in checks if c.error and not c.error.startswith("not run")]
    if broken:
        parts.append(f"ERROR ({', '.join(broken)})")
    ran = [c for c in checks if c.ran]
    verdict = overall_verdict(ran)
    if verdict is not None:
        compared = [c for c in ran if c.previous_at]
        new = sum(len(c.blockers("new_failures")) for c in compared)
        resolved = sum(len(c.blockers("resolved")) for c in compared)
        since = _day(min((c.previous_at or "" for c in compared), default=None))
        if not compared:
            change = "first run"
        elif new and resolved:
            change = f"{plural(new, 'new blocker')}, {resolved} resolved since {since}"
        elif new:
            change = f"{plural(new, 'new blocker')} since {since}"
        elif resolved:
            change = f"{plural(resolved, 'blocker')} resolved since {since}"
        elif any(c.changed for c in compared):
            was = {c.previous_verdict for c in compared if c.changed} - {None}
            change = (f"was {next(iter(was)).replace('_', ' ').upper()} on {since}"
                      if len(ran) == 1 and was else f"findings changed since {since}")
        else:
            change = f"no change since {since}"
        head = f"{verdict.replace('_', ' ').upper()}: {change}"
        if len(checks) > 1:
            counts = {v: sum(c.verdict == v for c in ran) for v in VERDICTS}
            head += " (" + ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in counts.items() if n) + ")"
        parts.append(head)
    return f"[{job_name}] " + "; ".join(parts or ["nothing was checked"])


#: The body's words, in each report language (the subject stays English: mail filters and
#: pagers match on it). `{s}` is an English plural ending; Japanese has none.
BODY_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "run_at": "migready run '{job}' at {when}", "overall": "overall",
        "not_checked": "NOT CHECKED", "collection_failed": "Collection failed",
        "kept_short": "the last results of these pools are kept",
        "kept": "The last results of these pools are kept; their checks were not run.",
        "fleet": "Fleet ({n} check{s})", "fleet_summary": "Fleet summary", "check": "Check",
        "pools": "Pools", "verdict": "Verdict", "operations": "Operations",
        "since": "Since last run", "detail": "{blocked} of {n} operation{s} blocked",
        "first_run": "first run", "no_change": "no change",
        "change": "{new} new, {resolved} resolved blockers", "new_blockers": "New blockers",
        "rule": "Rule",
        "status": "Status", "move": "Move", "subject": "Subject", "destination": "Destination",
        "message": "Message", "more": "… and {more} more: see the reports",
        "resolved": "Resolved blockers", "reports": "Reports", "attached": "Attached",
        "blockers": "Blockers", "warnings": "Warnings", "gaps": "Data gaps",
        "undecidable": "undecidable for", "groups_note": "one line per rule; the reports list "
        "every VM and host",
    },
    "ja": {
        "run_at": "migreadyの定期実行「{job}」 {when}", "overall": "総合判定",
        "not_checked": "未チェック", "collection_failed": "情報を収集できなかったプール",
        "kept_short": "これらのプールの前回の結果は保持されます",
        "kept": "これらのプールの前回の結果は保持され、そのチェックは実行されていません。",
        "fleet": "全体の状況(チェック{n}件)", "fleet_summary": "全体の状況", "check": "チェック",
        "pools": "プール", "verdict": "判定", "operations": "操作", "since": "前回の実行から",
        "detail": "{n}件中{blocked}件が移行不可", "first_run": "初回の実行", "no_change": "変化なし",
        "change": "新たな阻害要因{new}件、解消{resolved}件", "new_blockers": "新たな阻害要因",
        "rule": "規則",
        "status": "結果", "move": "移行の種類", "subject": "対象", "destination": "移行先",
        "message": "内容", "more": "… ほか{more}件(レポートを参照してください)",
        "resolved": "解消した阻害要因", "reports": "レポート", "attached": "添付ファイル",
        "blockers": "阻害要因", "warnings": "警告", "gaps": "データの不足", "undecidable": "判定不能の範囲:",
        "groups_note": "規則ごとに1行。すべての仮想マシンとホストはレポートを参照してください",
    },
}


def _say(lang: str, key: str, **values: Any) -> str:
    """A body label with its values filled in; `n` also sets the English plural `s`."""
    if "n" in values:
        values["s"] = "" if values["n"] == 1 else "s"
    return BODY_LABELS[lang][key].format(**values)


def _verdict_label(verdict: str | None, lang: str) -> str:
    from checker.report.i18n import label

    return label(lang, verdict) if verdict else BODY_LABELS[lang]["not_checked"]


def _fleet_rows(checks: list[CheckOutcome], lang: str) -> list[dict[str, Any]]:
    rows = []
    for c in checks:
        s = c.summary
        if c.ran:
            detail = _say(lang, "detail", blocked=s.get("blocked", 0), n=s.get("operations", 0))
            change = (_say(lang, "first_run") if not c.previous_at else
                      _say(lang, "change", new=len(c.blockers("new_failures")),
                           resolved=len(c.blockers("resolved"))) if c.changed else
                      _say(lang, "no_change"))
        else:
            detail, change = c.error or "", ""
        rows.append({"name": c.name, "pools": ", ".join(c.pools),
                     "verdict": c.verdict or "error", "label": _verdict_label(c.verdict, lang),
                     "detail": detail.splitlines()[0] if detail else "", "change": change})
    return rows


def _blocker_rows(checks: list[CheckOutcome], key: str,
                  lang: str) -> tuple[list[dict[str, Any]], int]:
    """The first MAIL_LIST_LIMIT of a diff's new or resolved blockers in the body's language
    (resolved ones only of checks that had a previous run to compare with), and how many
    there are in all (a first audit of 5,000 VMs has over 100,000)."""
    from checker.report.i18n import label

    found = [(c.name, f) for c in checks if c.ran and (key == "new_failures" or c.previous_at)
             for f in c.blockers(key)]
    return [{"check": name, **f, "status": label(lang, f["status"]),
             "kind": label(lang, f["kind"]) if f["kind"] else "",
             "message": (f.get("messages") or {}).get(lang) or f["message"]}
            for name, f in found[:MAIL_LIST_LIMIT]], len(found)


def _triage_rows(checks: list[CheckOutcome], lang: str) -> dict[str, list[dict[str, Any]]]:
    """Each check's triage (checker.triage), as the report groups it: a line per blocker
    and warning rule (how many VMs or hosts, the first few, where, the first message) and
    per data gap; at most MAIL_LIST_LIMIT lines of each."""
    from checker.report.context import gap_row, group_count
    from checker.report.i18n import label
    from checker.triage import build_triage, short_destinations, short_list

    rows: dict[str, list[dict[str, Any]]] = {"blockers": [], "warnings": [], "gaps": []}
    for c in checks:
        if not c.ran or c.results is None:
            continue
        t = build_triage(c.results)
        for key, groups in (("blockers", t.blockers), ("warnings", t.warnings)):
            for g in groups:
                first = g.problems[0]
                rows[key].append({
                    "check": c.name, "rule": g.rule, "severity": label(lang, g.severity),
                    "count": group_count(g, lang),
                    "holders": short_list([p.holder for p in g.problems], lang),
                    "destinations": short_destinations(first, lang),
                    "message": first.messages(lang)[0]})
        rows["gaps"] += [{"check": c.name, **vars(gap_row(g, lang))} for g in t.gaps]
    return {key: items[:MAIL_LIST_LIMIT] for key, items in rows.items()}


def body_context(job_name: str, now: dt.datetime, run_dir: Path, pools: list[PoolOutcome],
                 checks: list[CheckOutcome], attached: list[str], lang: str) -> dict[str, Any]:
    """What both bodies say, worded in `lang`: the template's context, and the text's."""
    from checker.report import COLOURS

    # A first run's new blockers are all its blockers: the triage lines say them.
    new, new_count = _blocker_rows([c for c in checks if c.previous_at], "new_failures", lang)
    verdict = overall_verdict(checks)
    return {
        "lang": lang, "t": BODY_LABELS[lang], "colours": COLOURS,
        "heading": _say(lang, "run_at", job=job_name, when=f"{now:%Y-%m-%d %H:%M %Z}".rstrip()),
        "job": job_name, "verdict": verdict or "error",
        "verdict_label": _verdict_label(verdict, lang),
        "failed_pools": [p for p in pools if p.error], "fleet": _fleet_rows(checks, lang),
        "fleet_title": _say(lang, "fleet", n=len(checks)),
        "new_blockers": new,
        "more": _say(lang, "more", more=new_count - len(new)) if new_count > len(new) else "",
        "resolved": _blocker_rows(checks, "resolved", lang)[0],
        **_triage_rows(checks, lang),
        "run_dir": str(run_dir), "attached": attached,
    }


def mail_text(body: dict[str, Any]) -> str:
    """The plain-text alternative: everything the HTML says, for any client or a pager."""
    t = body["t"]
    lines = [body["heading"], f"{t['overall']}: {body['verdict_label']}", ""]
    if body["failed_pools"]:
        lines.append(f"{t['collection_failed']} ({t['kept_short']}):")
        lines += [f"  {p.name}: {line}" for p in body["failed_pools"]
                  for line in (p.error or "").splitlines()[:3]]
        lines.append("")
    lines.append(body["fleet_title"] + ":")
    width = max((len(r["name"]) for r in body["fleet"]), default=4)
    for row in body["fleet"]:
        lines.append(f"  {row['name']:<{width}}  {row['label']:<19}  {row['detail']}"
                     + (f"  ({row['change']})" if row["change"] else ""))
    for key in ("blockers", "warnings"):
        if body[key]:
            lines += ["", f"{t[key]} ({t['groups_note']}):"]
            lines += [f"  [{r['check']}] {r['rule']} [{r['severity']}] {r['count']}: {r['holders']}"
                      + (f" -> {r['destinations']}" if r["destinations"] else "") + f": {r['message']}"
                      for r in body[key]]
    if body["gaps"]:
        lines += ["", t["gaps"] + ":"]
        lines += [f"  [{r['check']}] {r['rule']} {t['undecidable']} {r['scope']}: "
                  + (f"{r['field']}: " if r["field"] else "") + r["reason"] for r in body["gaps"]]
    if body["new_blockers"]:
        lines += ["", t["new_blockers"] + ":"]
        lines += [f"  [{r['check']}] {r['rule']} {r['status']} {r['kind']} {r['subject']}"
                  + (f" -> {r['destination']}" if r["destination"] else "") + f": {r['message']}"
                  for r in body["new_blockers"]]
        if body["more"]:
            lines.append(f"  {body['more']}")
    if body["resolved"]:
        lines += ["", t["resolved"] + ":"]
        lines += [f"  [{r['check']}] {r['rule']} {r['kind']} {r['subject']}"
                  for r in body["resolved"]]
    lines += ["", f"{t['reports']}: {body['run_dir']}"]
    if body["attached"]:
        lines.append(f"{t['attached']}: {', '.join(body['attached'])}")
    return "\n".join(lines) + "\n"


def mail_html(body: dict[str, Any]) -> str:
    """The HTML body: the fleet table, the triage's groups, the new blockers; autoescaped
    (names come from pools)."""
    from checker.report import environment

    return environment().get_template("mail.html").render(**body)


def send_mail(job: Job, now: dt.datetime, run_dir: Path, pools: list[PoolOutcome],
          checks: list[CheckOutcome], sleep: Callable[[float], None],
          say: Callable[[str], None]) -> MailOutcome:
    from dataclasses import replace

    from checker import mailer
    from checker.atomic import atomic_writer

    if job.email is None:
        return MailOutcome("not_configured", "no email: section in the job")
    e = job.email
    failures = any(p.error for p in pools) or any(c.error for c in checks)
    if e.only_on_change and not failures and not any(c.changed for c in checks):
        since = _day(min((c.previous_at or "" for c in checks), default=None))
        return MailOutcome("not_due", f"only_on_change: nothing changed since {since}")
    attachments: list[mailer.Attachment] = []
    for check in checks:
        folder = run_dir / check.name
        if "pdf" in e.attach and (folder / f"report.{e.lang}.pdf") in check.reports:
            attachments.append(mailer.Attachment.pdf(
                f"{check.name}.report.{e.lang}.pdf", (folder / f"report.{e.lang}.pdf").read_bytes()))
        if "csv" in e.attach and (folder / "results.csv") in check.reports:
            attachments.append(mailer.Attachment.csv(
                f"{check.name}.results.csv", (folder / "results.csv").read_bytes()))
    body = body_context(job.name, now, run_dir, pools, checks,
                        [a.filename for a in attachments], e.lang)
    subject = mail_subject(job.name, pools, checks)
    message = mailer.build_message(
        sender=e.sender, to=e.to, cc=e.cc, subject=subject,
        text=mail_text(body), html=mail_html(body), lang=e.lang,
        attachments=attachments, date=now.timestamp())
    eml = run_dir / "message.eml"
    with atomic_writer(eml, binary=True) as handle:
        handle.write(bytes(message))
    outcome = MailOutcome("failed", subject=subject, message_path=eml)
    try:
        password = e.password.read() if e.password is not None else None
        settings = replace(e.smtp, password=password)
        say(f"e-mail: sending to {', '.join(e.to + e.cc)} through {settings.label}")
        delivery = mailer.send_report(settings, message, sleep=sleep)
    except MigreadyError as exc:
        outcome.reason = f"{exc} (the message is saved as {eml})"
        return outcome
    outcome.status = "sent"
    outcome.recipients = delivery.recipients
    outcome.refused = delivery.refused
    outcome.reason = f"to {', '.join(delivery.recipients)}"
    return outcome

