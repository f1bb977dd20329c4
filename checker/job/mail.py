"""The e-mail of a run: when it is due, its subject, its plain-text and HTML bodies, the
attachments, and its delivery (saved as message.eml whatever happens)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.errors import MigreadyError
from checker.results import VERDICTS
from checker.results import overall_verdict as worst_verdict

if TYPE_CHECKING:
    from checker.job.config import Job
    from checker.job.run import CheckOutcome, PoolOutcome

#: How many new blockers the e-mail lists before pointing at the reports.
MAIL_LIST_LIMIT = 40


@dataclass
class MailOutcome:
    status: str  # sent | not_due | not_configured | failed
    reason: str = ""
    recipients: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    subject: str | None = None
    message_path: Path | None = None


def overall_verdict(checks: list[CheckOutcome]) -> str | None:
    """The worst verdict of the checks that ran (None if none ran)."""
    verdicts = [c.verdict for c in checks if c.verdict]
    return worst_verdict(verdicts) if verdicts else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


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
            change = f"{_plural(new, 'new blocker')}, {resolved} resolved since {since}"
        elif new:
            change = f"{_plural(new, 'new blocker')} since {since}"
        elif resolved:
            change = f"{_plural(resolved, 'blocker')} resolved since {since}"
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


def _fleet_rows(checks: list[CheckOutcome]) -> list[dict[str, Any]]:
    rows = []
    for c in checks:
        s = c.summary
        if c.ran:
            detail = (f"{s.get('blocked', 0)} of {_plural(s.get('operations', 0), 'operation')} "
                      f"blocked")
            change = ("first run" if not c.previous_at else
                      f"{len(c.blockers('new_failures'))} new, {len(c.blockers('resolved'))} "
                      f"resolved blockers" if c.changed else "no change")
        else:
            detail, change = c.error or "", ""
        rows.append({"name": c.name, "pools": ", ".join(c.pools),
                     "verdict": c.verdict or "error",
                     "label": (c.verdict or "not checked").replace("_", " ").upper(),
                     "detail": detail.splitlines()[0] if detail else "", "change": change})
    return rows


def _new_blocker_rows(checks: list[CheckOutcome]) -> tuple[list[dict[str, Any]], int]:
    rows = [{"check": c.name, **f} for c in checks if c.ran for f in c.blockers("new_failures")]
    return rows[:MAIL_LIST_LIMIT], max(0, len(rows) - MAIL_LIST_LIMIT)


def mail_text(job_name: str, now: dt.datetime, run_dir: Path, pools: list[PoolOutcome],
              checks: list[CheckOutcome], attached: list[str]) -> str:
    """The plain-text alternative: everything the HTML says, for any client or a pager."""
    verdict = overall_verdict(checks)
    lines = [f"migready run '{job_name}' at {now:%Y-%m-%d %H:%M %Z}".rstrip(),
             f"overall: {(verdict or 'not checked').replace('_', ' ').upper()}", ""]
    failed = [p for p in pools if p.error]
    if failed:
        lines.append("Collection failed (the last results of these pools are kept):")
        lines += [f"  {p.name}: {line}" for p in failed for line in (p.error or "").splitlines()[:3]]
        lines.append("")
    lines.append(f"Fleet ({_plural(len(checks), 'check')}):")
    width = max((len(r["name"]) for r in _fleet_rows(checks)), default=4)
    for row in _fleet_rows(checks):
        lines.append(f"  {row['name']:<{width}}  {row['label']:<19}  {row['detail']}"
                     + (f"  ({row['change']})" if row["change"] else ""))
    rows, more = _new_blocker_rows(checks)
    if rows:
        lines += ["", "New blockers" + (" (a check's first run lists all its blockers)"
                                        if any(c.ran and not c.previous_at for c in checks) else "")
                  + ":"]
        lines += [f"  [{r['check']}] {r['rule']} {r['status']} {r['kind']} {r['subject']}"
                  + (f" -> {r['destination']}" if r["destination"] else "") + f": {r['message']}"
                  for r in rows]
        if more:
            lines.append(f"  … and {more} more: see the reports")
    resolved = [(c.name, f) for c in checks if c.ran and c.previous_at
                for f in c.blockers("resolved")]
    if resolved:
        lines += ["", "Resolved blockers:"]
        lines += [f"  [{name}] {f['rule']} {f['kind']} {f['subject']}" for name, f in
                  resolved[:MAIL_LIST_LIMIT]]
    lines += ["", f"Reports: {run_dir}"]
    if attached:
        lines.append(f"Attached: {', '.join(attached)}")
    return "\n".join(lines) + "\n"


def mail_html(job_name: str, now: dt.datetime, run_dir: Path, pools: list[PoolOutcome],
              checks: list[CheckOutcome], attached: list[str]) -> str:
    """The HTML body: the fleet table, the new blockers; autoescaped (names come from pools)."""
    from checker.report import COLOURS, environment

    rows, more = _new_blocker_rows(checks)
    verdict = overall_verdict(checks)
    return environment().get_template("mail.html").render(
        job=job_name, when=f"{now:%Y-%m-%d %H:%M %Z}".rstrip(),
        verdict=verdict or "error", verdict_label=(verdict or "not checked").replace("_", " ").upper(),
        failed_pools=[p for p in pools if p.error], fleet=_fleet_rows(checks), new_blockers=rows,
        first_runs=any(c.ran and not c.previous_at for c in checks),
        more=more, resolved=[{"check": c.name, **f} for c in checks if c.ran and c.previous_at
                             for f in c.blockers("resolved")][:MAIL_LIST_LIMIT],
        run_dir=str(run_dir), attached=attached, colours=COLOURS)


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
    names = [a.filename for a in attachments]
    subject = mail_subject(job.name, pools, checks)
    message = mailer.build_message(
        sender=e.sender, to=e.to, cc=e.cc, subject=subject,
        text=mail_text(job.name, now, run_dir, pools, checks, names),
        html=mail_html(job.name, now, run_dir, pools, checks, names),
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

