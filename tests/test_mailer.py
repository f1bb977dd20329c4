"""SMTP delivery against a real server (aiosmtpd on 127.0.0.1): plain, STARTTLS with a
self-signed certificate, a refused login, a server that is down. No test waits on a clock."""

from __future__ import annotations

import pytest
from certs import make_self_signed
from smtp_server import SmtpServer, free_port

from checker import mailer
from checker.errors import ExternalError
from checker.mailer import Attachment, SmtpSettings, build_message, send_report

PASSWORD = "smtp-Pw!9c2e-unique"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def message(**kw):
    args = {"sender": "migready@example.com", "to": ["ops@example.com", "cab@example.com"],
            "subject": "BLOCKED: 2 new blockers since 2026-11-18", "text": "plain body\n",
            "html": "<p>html body</p>", "cc": ["audit@example.com"],
            "attachments": [Attachment.pdf("r.pdf", b"%PDF-1.7 fake"),
                            Attachment.csv("r.csv", b"a,b\n1,2\n")]}
    args.update(kw)
    return build_message(**args)


def test_message_has_both_alternatives_then_the_attachments():
    msg = message()
    assert msg.get_content_type() == "multipart/mixed"
    alternative, pdf, csv = msg.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert pdf.get_filename() == "r.pdf" and pdf.get_content() == b"%PDF-1.7 fake"
    assert csv.get_content_type() == "text/csv" and csv.get_filename() == "r.csv"
    assert msg["Auto-Submitted"] == "auto-generated"


def test_the_bodies_language_is_declared_and_survives_the_wire():
    """Content-Language names the bodies' language; Japanese text arrives as sent."""
    text, html = "総合判定: 移行不可\n", "<p>新たな阻害要因</p>"
    assert message()["Content-Language"] == "en"
    with SmtpServer() as server:
        send_report(SmtpSettings(host="127.0.0.1", port=server.port, security="none"),
                    message(text=text, html=html, lang="ja"))
        received = server.parsed()
    assert received["Content-Language"] == "ja"
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    assert html in received.get_body(("html",)).get_content()


def test_plain_delivery_to_every_recipient():
    with SmtpServer() as server:
        delivery = send_report(SmtpSettings(host="127.0.0.1", port=server.port, security="none"),
                               message())
        (envelope,) = server.envelopes
    assert envelope.rcpt_tos == ["ops@example.com", "cab@example.com", "audit@example.com"]
    assert envelope.mail_from == "migready@example.com"
    assert delivery.refused == {} and delivery.attempts == 1
    got = server.parsed()
    assert got["Subject"] == "BLOCKED: 2 new blockers since 2026-11-18"
    assert got.get_body(("plain",)).get_content().strip() == "plain body"
    assert got.get_body(("html",)).get_content().strip() == "<p>html body</p>"


def test_starttls_with_login(tmp_path):
    cert = make_self_signed(tmp_path, "smtp")
    with SmtpServer(username="migready", password=PASSWORD, tls=cert) as server:
        settings = SmtpSettings(host="127.0.0.1", port=server.port, security="starttls",
                                username="migready", password=PASSWORD, ca_bundle=cert.cert)
        send_report(settings, message())
        assert len(server.envelopes) == 1
        assert server.logins == [(b"migready", PASSWORD.encode())]
    assert PASSWORD not in repr(settings)


def test_untrusted_certificate_is_not_retried(tmp_path):
    cert = make_self_signed(tmp_path, "smtp")
    sleeps = Sleeps()
    with SmtpServer(tls=cert) as server:
        settings = SmtpSettings(host="127.0.0.1", port=server.port, security="starttls")
        with pytest.raises(ExternalError) as info:
            send_report(settings, message(), sleep=sleeps)
        assert server.envelopes == []
    assert "cannot verify the TLS certificate of 127.0.0.1" in str(info.value)
    assert "ca_bundle" in str(info.value) and sleeps == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_refused_login_is_reported_once_without_the_password():
    sleeps = Sleeps()
    with SmtpServer(username="migready", password="the-right-one") as server:
        settings = SmtpSettings(host="127.0.0.1", port=server.port, security="none",
                                username="migready", password=PASSWORD, retries=3)
        with pytest.raises(ExternalError) as info:
            send_report(settings, message(), sleep=sleeps)
        assert server.envelopes == []
        # one login() call (smtplib tries PLAIN, then LOGIN), never a retry: repeated bad
        # logins can lock an account
        assert 1 <= len(server.logins) <= 2
    text = str(info.value)
    assert f"127.0.0.1:{server.port}" in text and "refused the login of 'migready'" in text
    assert "535" in text and PASSWORD not in text
    assert info.value.exit_code == 4 and sleeps == []


def test_server_down_is_retried_then_reported():
    sleeps = Sleeps()
    port = free_port()
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", retries=3,
                            retry_delay=2, timeout=2)
    with pytest.raises(ExternalError) as info:
        send_report(settings, message(), sleep=sleeps)
    assert sleeps == [2, 4]
    assert f"127.0.0.1:{port}" in str(info.value) and "after 3 attempts" in str(info.value)
    assert "connection refused" in str(info.value)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_no_password_in_clear_across_a_network(monkeypatch):
    # As if the server were on another machine: the connection is not encrypted, so no login.
    monkeypatch.setattr(mailer, "_peer_is_loopback", lambda smtp: False)
    with SmtpServer(username="migready", password=PASSWORD) as server:
        settings = SmtpSettings(host="127.0.0.1", port=server.port, security="none",
                                username="migready", password=PASSWORD, retries=3)
        with pytest.raises(ExternalError) as info:
            send_report(settings, message(), sleep=Sleeps())
        assert server.logins == [] and server.envelopes == []
    assert "unencrypted" in str(info.value) and PASSWORD not in str(info.value)
