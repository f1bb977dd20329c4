"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, on a free port, keeping what it gets.

    with SmtpServer(username="migready", password="pw") as server:
        send_report(SmtpSettings(host="127.0.0.1", port=server.port, security="none", ...), msg)
        envelope = server.messages[0]    # .mail_from, .rcpt_tos, .content (bytes)

`tls=CertPair` offers STARTTLS with that certificate; `username`/`password` make AUTH
required (over plain text too, on loopback only, so the refused-login test needs no TLS).
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Store:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, *, username: str | None = None, password: str | None = None,
                 tls: Any = None) -> None:
        self.store = _Store()
        self.port = free_port()
        self.logins: list[tuple[bytes, bytes]] = []
        kwargs: dict[str, Any] = {}
        if username is not None:
            kwargs.update(auth_required=True, auth_require_tls=tls is not None,
                          authenticator=self._authenticate)
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls.cert), str(tls.key))
            kwargs.update(tls_context=ctx, require_starttls=True)
        self.username, self.password = username, password
        self.controller = Controller(self.store, hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **kwargs)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login, auth_data.password))
            if auth_data.login.decode() == self.username \
                    and auth_data.password.decode() == self.password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    @property
    def envelopes(self) -> list[Any]:
        return self.store.envelopes

    def parsed(self, index: int = -1) -> EmailMessage:
        raw = self.store.envelopes[index].content
        return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
