"""SMTP delivery of a report: build a multipart message, send it with bounded retries.

    message = build_message(sender="migready@example.com", to=["ops@example.com"],
                            subject="BLOCKED: 2 new blockers since 2026-11-18",
                            text=plain, html=page, attachments=[Attachment.pdf("r.pdf", data)])
    send_report(SmtpSettings(host="mail.example.com", security="starttls",
                             username="migready", password=secret), message)

Why it is shaped like this:
- **One message, every reader**: `multipart/mixed` holding a `multipart/alternative`
  (plain text first, HTML last, so clients show the richest part they can) and the
  attachments. A mail client that renders no HTML, or a pager gateway, still gets the verdict.
- **Security is explicit**: `starttls` (port 587), `tls` (implicit TLS, port 465) or `none`
  (a local relay on port 25). Certificates are verified (system CAs or `ca_bundle`); a
  login is refused over a connection that is not encrypted unless its peer is a loopback
  address, so a password never crosses a network in clear.
- **Bounded retries** for what may pass (connection refused or dropped, timeouts, 4xx
  "try again later" answers), `retries` attempts with `retry_delay × 2^n` between them
  (`checker.retry.RetryPolicy`, the collector's too); `sleep` is injectable so tests never
  wait. A refused login, a refused sender or
  recipients, or a certificate that does not verify are not retried: repeating them
  changes nothing (and repeated bad logins can lock an account).
- **The password** is only given to `smtplib.SMTP.login`. It is not in `repr(settings)`, and
  any text from the server or the library is scrubbed of it before it reaches a message.
- Failures raise `ExternalError` (exit 4) naming the server and what to try.
"""

from __future__ import annotations

import email.utils
import ipaddress
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from checker.errors import ExternalError
from checker.retry import GaveUp, RetryPolicy

SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to deliver; the password is resolved by the caller, never logged."""

    host: str
    port: int | None = None  # None: 587 / 465 / 25 by `security`
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    retries: int = 3  # attempts in all, at least 1
    retry_delay: float = 5.0  # seconds before the 2nd attempt; doubles after that
    ca_bundle: Path | None = None
    local_hostname: str | None = None  # what EHLO says; None: this host's FQDN

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def label(self) -> str:
        return f"{self.host}:{self.effective_port} ({self.security})"

    def context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(
                cafile=str(self.ca_bundle) if self.ca_bundle is not None else None)
        except (OSError, ssl.SSLError) as exc:
            raise ExternalError(f"SMTP: cannot load the CA bundle {self.ca_bundle} ({exc}): it "
                                f"must be a PEM file") from None


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"

    @classmethod
    def pdf(cls, filename: str, data: bytes) -> Attachment:
        return cls(filename, data, "application", "pdf")

    @classmethod
    def csv(cls, filename: str, data: bytes) -> Attachment:
        return cls(filename, data, "text", "csv")


def build_message(*, sender: str, to: Sequence[str], subject: str, text: str, html: str,
                  cc: Sequence[str] = (), attachments: Sequence[Attachment] = (),
                  date: float | None = None, lang: str = "en") -> EmailMessage:
    """A message every client can read: text and HTML alternatives, then the attachments.
    `lang` is the bodies' language (Content-Language, RFC 3282): clients pick fonts and
    screen readers a voice by it."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Date"] = email.utils.formatdate(date, localtime=True)
    domain = sender.rpartition("@")[2] or None
    msg["Message-ID"] = email.utils.make_msgid("migready", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to a cron job
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    for item in attachments:
        if item.maintype == "text":
            msg.add_attachment(item.data.decode("utf-8"), subtype=item.subtype,
                               filename=item.filename)
        else:
            msg.add_attachment(item.data, maintype=item.maintype, subtype=item.subtype,
                               filename=item.filename)
    msg["Content-Language"] = lang  # last: making a multipart moves Content-* headers inside
    return msg


@dataclass
class Delivery:
    """What the server accepted: every recipient but `refused`, after `attempts` tries."""

    recipients: list[str]
    refused: dict[str, str]
    attempts: int


class _Permanent(Exception):
    """Not worth retrying; carries the finished user message."""


def send_report(settings: SmtpSettings, message: EmailMessage, *,
                sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Deliver `message` to its To and Cc recipients; raise ExternalError when it cannot."""
    if settings.security not in SECURITY:
        raise ExternalError(f"SMTP: security must be one of {', '.join(SECURITY)}")
    recipients = [addr for _, addr in email.utils.getaddresses(
        message.get_all("To", []) + message.get_all("Cc", []))]
    if not recipients:
        raise ExternalError("SMTP: the message has no recipients")
    policy = RetryPolicy(attempts=settings.retries, base_delay=settings.retry_delay,
                         sleep=sleep)
    tries: list[int] = []

    def attempt() -> dict[str, str]:
        tries.append(1)
        try:
            return _send_once(settings, message, recipients)
        except _Permanent as exc:
            raise ExternalError(str(exc)) from None
        except smtplib.SMTPResponseException as exc:
            if not 400 <= exc.smtp_code < 500:
                raise ExternalError(_refused(settings, exc)) from None
            raise

    try:
        refused = policy.run(attempt, lambda exc: _transient_reason(settings, exc))
    except GaveUp as exc:
        raise ExternalError(
            f"SMTP: could not deliver through {settings.label} after {exc.attempts} "
            f"attempt{'s' if exc.attempts != 1 else ''} ({exc.reason}): check that the server "
            f"is up and reachable from here, its port and `security` setting; the report "
            f"stays on disk") from None
    return Delivery(recipients=[r for r in recipients if r not in refused],
                    refused=refused, attempts=len(tries))


def _send_once(settings: SmtpSettings, message: EmailMessage,
               recipients: list[str]) -> dict[str, str]:
    host, port = settings.host, settings.effective_port
    encrypted = settings.security in ("starttls", "tls")
    smtp: smtplib.SMTP
    try:
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(host, port, timeout=settings.timeout,
                                    local_hostname=settings.local_hostname,
                                    context=settings.context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=settings.timeout,
                                local_hostname=settings.local_hostname)
    except ssl.SSLCertVerificationError as exc:
        raise _Permanent(_cert_error(settings, exc)) from None
    with smtp:
        try:
            smtp.ehlo()
            if settings.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise _Permanent(
                        f"SMTP: {settings.label} does not offer STARTTLS: use `security: tls` "
                        f"(usually port 465) if it speaks implicit TLS, or `security: none` for a "
                        f"local relay that needs no encryption")
                smtp.starttls(context=settings.context())
                smtp.ehlo()
            if settings.username:
                if not encrypted and not _peer_is_loopback(smtp):
                    raise _Permanent(
                        f"SMTP: refusing to send the password for '{settings.username}' to "
                        f"{settings.label} unencrypted: use `security: starttls` or `tls`")
                try:
                    smtp.login(settings.username, settings.password or "")
                except smtplib.SMTPAuthenticationError as exc:
                    raise _Permanent(
                        f"SMTP: {settings.label} refused the login of '{settings.username}' "
                        f"({exc.smtp_code} {_scrub(settings, exc.smtp_error)}): check the user "
                        f"name and the password (email.password_env / password_file)") from None
                except smtplib.SMTPNotSupportedError:
                    raise _Permanent(
                        f"SMTP: {settings.label} offers no login (AUTH) on this connection: "
                        f"remove `username` if it is a relay that needs none, or use "
                        f"`security: starttls` (many servers offer AUTH only after "
                        f"STARTTLS)") from None
            return smtp.send_message(message, to_addrs=recipients)
        except ssl.SSLCertVerificationError as exc:
            raise _Permanent(_cert_error(settings, exc)) from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused = "; ".join(f"{addr}: {code} {_scrub(settings, text)}"
                                for addr, (code, text) in exc.recipients.items())
            raise _Permanent(f"SMTP: {settings.label} refused every recipient ({refused}): "
                             f"check email.to / email.cc") from None
        except smtplib.SMTPSenderRefused as exc:
            if 400 <= exc.smtp_code < 500:
                raise
            raise _Permanent(
                f"SMTP: {settings.label} refused the sender {exc.sender} ({exc.smtp_code} "
                f"{_scrub(settings, exc.smtp_error)}): check email.from (many servers accept only "
                f"their own domains, or the address of the account that logs in)") from None


def _peer_is_loopback(smtp: smtplib.SMTP) -> bool:
    """Whether the connection goes to this machine, judged by the address actually connected
    to (a name can resolve anywhere): only then may a password go unencrypted."""
    try:
        return ipaddress.ip_address(smtp.sock.getpeername()[0]).is_loopback
    except (AttributeError, OSError, ValueError):
        return False


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _scrub(settings: SmtpSettings, value: bytes | str | BaseException) -> str:
    """Server and library text, with the password taken out whatever the other side sent."""
    text = _text(value) if isinstance(value, bytes | str) else str(value)
    return text.replace(settings.password, "***") if settings.password else text


def _refused(settings: SmtpSettings, exc: smtplib.SMTPResponseException) -> str:
    return (f"SMTP: {settings.label} answered {exc.smtp_code} "
            f"{_scrub(settings, exc.smtp_error)}: a permanent refusal, not retried; the report "
            f"stays on disk")


def _cert_error(settings: SmtpSettings, exc: ssl.SSLCertVerificationError) -> str:
    why = _scrub(settings, exc.verify_message or exc.reason or "verification failed")
    return (f"SMTP: cannot verify the TLS certificate of {settings.label}: {why}: give the CA "
            f"that signed it as email.ca_bundle, or use the name in its certificate as email.host")


def _transient_reason(settings: SmtpSettings, exc: BaseException) -> str | None:
    """Why a failed attempt may pass when tried again; None: it will not (not retried)."""
    if isinstance(exc, smtplib.SMTPResponseException):  # only 4xx get here
        return f"{exc.smtp_code} {_scrub(settings, exc.smtp_error)}"
    if not isinstance(exc, OSError | smtplib.SMTPException):
        return None
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {settings.timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {settings.host}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {_scrub(settings, exc.reason or exc)}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {_scrub(settings, exc)}"
