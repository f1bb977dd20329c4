"""Snapshot a live pool through the XenAPI: read-only calls, one bulk call per class.

    tls = TlsOptions.from_cli(ca_bundle=None, fingerprint="AB:CD:…", insecure=False)
    doc = collect("https://xs01.example.com", "root", password, tls=tls, timeout=60)

What is sent, and to whom:
- **Read-only by construction.** Every XML-RPC request leaves through `_GuardedTransport`,
  which decodes the request body and refuses any method not on the allow-list
  (`is_allowed`): `session.login_with_password`, `session.logout`,
  `<class>.get_all_records`, `<class>.get_record`, `pool.get_all`, `event.from`. This holds
  for the calls the `XenAPI` package makes on its own too (its re-login after
  SESSION_INVALID). A refused call raises `ReadOnlyViolation`: a bug, not a user error.
- **The number of calls does not depend on the pool's size**: one login, one
  `get_all_records` per class of `checker.inventory.CLASSES`, one logout.
- **TLS.** Verified by default (system CAs, or `--ca-bundle`; host name checked).
  `--fingerprint` skips CA verification but compares the SHA-256 of the server's DER
  certificate with the pin right after the TLS handshake, before a single byte of HTTP is
  sent: the password never reaches a server that does not match the pin. `--insecure`
  verifies nothing.
- **Pool members.** A member answers the login with HOST_IS_SLAVE [master address]; the
  collector reconnects to that address (same scheme and port, same TLS options) and logs in
  there, once. With `--fingerprint` the pin must match the master's certificate too; it
  normally does not (each host has its own certificate), and then the collector stops
  before logging in to the master and says which address and fingerprint to use instead.
  With CA verification the master's address as xapi gives it (usually an IP) must be in
  the master certificate's subjectAltName.
- **Timeout**: `timeout` seconds for each socket operation (connect, handshake, each read),
  so a large answer that keeps flowing is not cut off.
- **Retries.** Connection failures and timeouts are retried (3 attempts, 0.5 s × 2^n
  backoff; `checker.retry.RetryPolicy`, the mailer's too) and then reported naming host:port
  and what to try; below that,
  `http.client` itself re-sends once on a connection closed without an answer. SESSION_INVALID
  is handled by the `XenAPI` package: it logs in again and repeats the call (at most 3 times
  per call). TLS, login and protocol errors are not retried.
- **The password** is sent only in `session.login_with_password`. It is in no message (text
  that comes from a server or a library is scrubbed of it), no progress line, no inventory:
  a string equal to it anywhere (a field, a set member, a map key or value: say a user name
  that is the password) becomes "(redacted)", and so does the password inside a longer string
  when it has 6 characters or more; each such field is reported as a gap. `--server` is
  HTTPS only and may not carry credentials.
- **pool, host and VM** must come back non-empty: a server that does not know one of them,
  refuses it or has no record of it fails the collection (exit 4), since nothing could be
  decided without them. Another class that the XenServer version lacks, or whose call the
  server answers with an error (RBAC_PERMISSION_DENIED…), is a gap naming why: the rules
  that read it say unknown.
- The session is always logged out, even when the collection fails.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import http.client
import re
import socket
import ssl
import urllib.parse
import xmlrpc.client
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

import XenAPI

from checker.dump import REDACTED, redact_secrets
from checker.errors import ExternalError, InputError
from checker.inventory import (
    CLASSES,
    Gap,
    Record,
    dangling_gaps,
    envelope,
    rebuild_back_references,
    required_classes,
)
from checker.retry import GaveUp, RetryPolicy

#: Sent in login_with_password; xapi accepts any version string.
API_VERSION = "1.0"
ORIGINATOR = "migready"

#: Where XenServer keeps its API certificate; quoted in the "check it out of band" hints.
HOST_CERT_HINT = "openssl x509 -in /etc/xensource/xapi-ssl.pem -noout -fingerprint -sha256"

_ALLOWED_METHODS = frozenset({
    "session.login_with_password", "session.logout", "pool.get_all", "event.from",
})
_ALLOWED_MESSAGES = frozenset({"get_all_records", "get_record"})
#: Classes never read, even with an allowed message: secrets and other sessions.
_FORBIDDEN_CLASSES = frozenset({"secret", "Secret", "session"})
_CLASS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: What a HOST_IS_SLAVE answer may name as the master: a host name or an IP address.
_HOST_ADDRESS = re.compile(r"\[?[A-Za-z0-9][A-Za-z0-9.:%_-]*\]?")
#: The gap of a class the server does not know (MESSAGE_METHOD_UNKNOWN).
NOT_IN_VERSION = "not present in this XenServer version"
#: Shorter passwords are not searched for in the records (too many false matches).
_MIN_SCRUBBED_PASSWORD = 6


class ReadOnlyViolation(AssertionError):
    """A XenAPI call outside the read-only allow-list: a bug in migready, never a user error."""


def is_allowed(method: str) -> bool:
    """True for the methods the collector may send (see the module docstring)."""
    if method in _ALLOWED_METHODS:
        return True
    cls, dot, message = method.partition(".")
    return (bool(dot) and message in _ALLOWED_MESSAGES and cls not in _FORBIDDEN_CLASSES
            and _CLASS_NAME.fullmatch(cls) is not None)


def check_allowed(method: str) -> None:
    if not is_allowed(method):
        raise ReadOnlyViolation(
            f"migready tried to call {method!r}, which is not on the read-only allow-list")


# -- TLS ------------------------------------------------------------------------------------


def normalize_fingerprint(value: str) -> str:
    """64 lowercase hex digits from `AB:CD:…`, `ab cd …` or `sha256 Fingerprint=AB:…`."""
    text = re.sub(r"^\s*sha-?256(\s+fingerprint)?\s*[=:]?\s*", "", value, flags=re.IGNORECASE)
    digits = re.sub(r"[\s:]", "", text)
    if re.fullmatch(r"[0-9a-fA-F]{64}", digits):
        return digits.lower()
    hint = ""
    if re.fullmatch(r"[0-9a-fA-F]{40}", digits):
        hint = " (that is the length of a SHA-1 fingerprint)"
    raise InputError(
        f"--fingerprint: expected the certificate's SHA-256 fingerprint, 64 hex digits "
        f"(colons or spaces allowed), got {len(digits)} characters{hint}",
        details=[f"  on the host: {HOST_CERT_HINT}"],
    )


def format_fingerprint(hex_digits: str) -> str:
    """`AB:CD:…`, the spelling of `openssl x509 -fingerprint -sha256`."""
    up = hex_digits.upper()
    return ":".join(up[i:i + 2] for i in range(0, len(up), 2))


@dataclass(frozen=True)
class TlsOptions:
    """How to trust the server: a CA bundle, a pinned fingerprint, or not at all."""

    ca_bundle: Path | None = None
    fingerprint: str | None = None  # normalised: 64 lowercase hex digits
    insecure: bool = False

    @classmethod
    def from_cli(cls, *, ca_bundle: Path | str | None = None, fingerprint: str | None = None,
                 insecure: bool = False) -> TlsOptions:
        given = [name for name, present in (("--ca-bundle", ca_bundle is not None),
                                            ("--fingerprint", fingerprint is not None),
                                            ("--insecure", insecure)) if present]
        if len(given) > 1:
            raise InputError(f"{' and '.join(given)} cannot be used together: give one way to "
                             f"trust the server (--ca-bundle, --fingerprint or --insecure)")
        options = cls(
            ca_bundle=Path(ca_bundle) if ca_bundle is not None else None,
            fingerprint=normalize_fingerprint(fingerprint) if fingerprint is not None else None,
            insecure=insecure,
        )
        options.context()  # a missing or broken CA bundle is an input error, found now
        return options

    @property
    def verifies_chain(self) -> bool:
        return self.fingerprint is None and not self.insecure

    def context(self) -> ssl.SSLContext:
        if not self.verifies_chain:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # a pin is checked in _PinnedHTTPSConnection
            return ctx
        if self.ca_bundle is None:
            return ssl.create_default_context()
        try:
            return ssl.create_default_context(cafile=str(self.ca_bundle))
        except FileNotFoundError:
            raise InputError(f"--ca-bundle {self.ca_bundle}: no such file") from None
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
            raise InputError(f"--ca-bundle {self.ca_bundle}: cannot load CA certificates "
                             f"({reason}): it must be a PEM file") from None


class FingerprintMismatch(Exception):
    """The server's certificate is not the pinned one (raised before any request is sent)."""

    def __init__(self, actual: str) -> None:
        super().__init__(actual)
        self.actual = actual


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS with the per-call timeout, and the certificate pin checked right after the
    handshake: on a mismatch the socket is closed before the request is written."""

    def __init__(self, host: str, *, timeout: float, context: ssl.SSLContext,
                 pin: str | None) -> None:
        super().__init__(host, timeout=timeout, context=context)
        self._pin = pin

    def connect(self) -> None:
        super().connect()
        if self._pin is None:
            return
        der = self.sock.getpeercert(binary_form=True) or b""
        actual = hashlib.sha256(der).hexdigest()
        if not hmac.compare_digest(actual, self._pin):
            self.sock.close()
            self.sock = None
            raise FingerprintMismatch(actual)


class _GuardedTransport(xmlrpc.client.SafeTransport):
    """The only way to the wire: checks each request's method against the allow-list."""

    def __init__(self, tls: TlsOptions, timeout: float) -> None:
        super().__init__(context=tls.context())
        self._timeout = timeout
        self._pin = tls.fingerprint

    def request(self, host: Any, handler: str, request_body: bytes,
                verbose: bool = False) -> Any:
        _params, method = xmlrpc.client.loads(request_body)
        check_allowed(method or "")
        return super().request(host, handler, request_body, verbose)

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        chost, self._extra_headers, _x509 = self.get_host_info(host)
        conn = _PinnedHTTPSConnection(chost, timeout=self._timeout, context=self.context,
                                      pin=self._pin)
        self._connection = host, conn
        return conn


def peer_fingerprint(host: str, port: int, timeout: float) -> str | None:
    """The SHA-256 of the certificate a server presents (handshake only, nothing sent)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                ctx.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError):
        return None
    return hashlib.sha256(der).hexdigest() if der else None


# -- where to connect -----------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A XenServer management address: always HTTPS, credentials never part of it."""

    host: str  # name or IP address, IPv6 without brackets
    port: int | None = None

    @property
    def url(self) -> str:
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{netloc}" + (f":{self.port}" if self.port else "")

    @property
    def label(self) -> str:
        """`xs01.example.com:443`, for messages."""
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        return f"{netloc}:{self.port or 443}"

    def with_host(self, host: str) -> Endpoint:
        return Endpoint(host.strip().strip("[]"), self.port)


def parse_server(server: str) -> Endpoint:
    """`https://xs01[:port]`, or a bare `xs01[:port]`; plain http is refused."""
    text = server.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        raise InputError("--server: not a valid address; expected https://HOST[:PORT]") from None
    if parts.username is not None or parts.password is not None:
        raise InputError("--server: the address must not contain a user name or password; use "
                         "--username, and --password-env or --password-file")
    if parts.scheme.lower() != "https":
        raise InputError(f"--server: migready talks to XenServer over HTTPS only (the password "
                         f"must not cross the network in clear), not {parts.scheme}://")
    if not parts.hostname:
        raise InputError("--server: no host name; expected https://HOST[:PORT]")
    return Endpoint(parts.hostname, port)


# -- retries (the shared RetryPolicy decides when and how often) ---------------------------


_RETRYABLE_ERRNOS = frozenset({
    errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ETIMEDOUT, errno.ECONNREFUSED,
    errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ENETDOWN, errno.EHOSTDOWN,
})


def _transient(exc: BaseException) -> str | None:
    """A short reason when `exc` is worth retrying (connection trouble), else None."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed without an answer"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, xmlrpc.client.Fault) and exc.faultCode == 504:
        return "timed out"  # how XenAPI.Session reports ETIMEDOUT during login
    if isinstance(exc, ssl.SSLCertVerificationError):
        return None
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return "connection closed during the TLS handshake"
    if isinstance(exc, http.client.IncompleteRead | http.client.BadStatusLine):
        return "connection closed in the middle of an answer"
    if isinstance(exc, ConnectionError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, OSError) and not isinstance(exc, socket.gaierror | ssl.SSLError) \
            and exc.errno in _RETRYABLE_ERRNOS:
        return exc.strerror or type(exc).__name__
    return None


# -- the session ----------------------------------------------------------------------------


def _noop(_message: str) -> None:
    pass


@dataclass
class _Client:
    """One XenAPI session; every call goes through `call`."""

    endpoint: Endpoint
    username: str
    password: str = field(repr=False)
    tls: TlsOptions
    timeout: float
    retry: RetryPolicy
    progress: Callable[[str], None]
    redirected_from: Endpoint | None = None
    _session: Any = field(default=None, repr=False)

    def error(self, message: str, details: Iterable[str] = ()) -> ExternalError:
        return ExternalError(message, details=list(details))

    def scrub(self, text: object) -> str:
        """Text from a server or a library, made safe to show: the password is never in it,
        whatever the other side put there. (Our own message templates never include it.)"""
        out = str(text)
        return out.replace(self.password, "***") if self.password else out

    @property
    def where(self) -> str:
        if self.redirected_from is None:
            return self.endpoint.label
        return f"{self.endpoint.label} (the pool master, as {self.redirected_from.label} said)"

    def call(self, method: str, *args: Any, retry: bool = True) -> Any:
        """The one function that sends XenAPI requests (the transport checks them again)."""
        check_allowed(method)
        # XenAPI.Session handles the login and logout itself (it keeps the session handle)
        path = "login_with_password" if method == "session.login_with_password" else method
        func = self._session.xenapi
        for part in path.split("."):
            func = getattr(func, part)
        policy = self.retry if retry else RetryPolicy(attempts=1, sleep=self.retry.sleep)
        return self._with_retries(method, policy, lambda: func(*args))

    def _with_retries(self, method: str, policy: RetryPolicy, send: Callable[[], Any]) -> Any:
        """`send()` under the retry policy: connection trouble (`_transient`) is retried,
        any other failure becomes its message at once."""

        def attempt() -> Any:
            try:
                return send()
            except XenAPI.Failure:
                raise  # an answer: the caller decides
            except FingerprintMismatch as exc:
                raise self._pin_error(exc.actual) from None
            except ssl.SSLCertVerificationError as exc:
                raise self._verify_error(exc) from None
            except xmlrpc.client.ProtocolError as exc:
                status = f"HTTP {exc.errcode} {self.scrub(exc.errmsg)}"
                raise self.error(
                    f"{self.where} answered {method} with {status}: is this the management "
                    f"address of a XenServer host?") from None
            except socket.gaierror as exc:
                raise self.error(
                    f"cannot resolve {self.endpoint.host} ({self.scrub(exc.strerror)}): check "
                    f"the address given to --server") from None
            except (xmlrpc.client.ResponseError, ExpatError) as exc:
                raise self.error(f"{self.where} sent an answer to {method} that is not XML-RPC "
                                 f"({self.scrub(exc)}): is this a XenServer host?") from None

        def retrying(reason: str, delay: float) -> None:
            self.progress(f"{method}: {self.scrub(reason)}; retrying in {delay:g} s")

        try:
            return policy.run(attempt, _transient, retrying)
        except GaveUp as exc:
            raise self._unreachable(method, self.scrub(exc.reason), exc.attempts) from None
        except (OSError, http.client.HTTPException, xmlrpc.client.Fault) as exc:
            raise self._other_error(method, exc) from None

    # -- login and logout -------------------------------------------------------------------

    def login(self) -> None:
        self._session = XenAPI.Session(self.endpoint.url,
                                       transport=_GuardedTransport(self.tls, self.timeout))
        self.progress(f"connecting to {self.endpoint.url}")
        try:
            self.call("session.login_with_password", self.username, self.password,
                      API_VERSION, ORIGINATOR)
        except XenAPI.Failure as exc:
            details = [str(d) for d in exc.details] or ["UNKNOWN_ERROR"]
            if details[0] == "HOST_IS_SLAVE" and len(details) > 1 \
                    and self.redirected_from is None and _HOST_ADDRESS.fullmatch(details[1]):
                self._close()  # never logged in there: nothing to log out
                self.redirected_from = self.endpoint
                self.endpoint = self.endpoint.with_host(details[1])
                self.progress(f"{self.redirected_from.label} is a pool member; the master is "
                              f"{self.endpoint.host}: collecting from there")
                self.login()
                return
            raise self._login_error(details) from None
        self.progress(f"logged in to {self.where} as {self.username}")

    def logout(self) -> None:
        """Best effort, one attempt: never hides the error that ended the collection."""
        if self._session is None:
            return
        try:
            if self._session.handle is not None:  # None: the login never succeeded
                self.call("session.logout", retry=False)
        except (XenAPI.Failure, ExternalError, OSError, http.client.HTTPException,
                xmlrpc.client.Error):
            pass
        finally:
            self._close()

    def _close(self) -> None:
        """Drop the session object and its keep-alive connection."""
        if self._session is not None:
            self._session.transport.close()
            self._session = None

    # -- messages ---------------------------------------------------------------------------

    def _login_error(self, details: list[str]) -> ExternalError:
        details = [self.scrub(d) for d in details]
        code = details[0]
        user = self.username
        if code == "SESSION_AUTHENTICATION_FAILED":
            return self.error(f"{self.where} refused the login of user '{user}' "
                              f"(SESSION_AUTHENTICATION_FAILED): check the user name and "
                              f"password")
        if code == "HOST_IS_SLAVE":
            master = " ".join(details[1:2])
            if self.redirected_from is None:
                return self.error(
                    f"{self.where} is a pool member and named no usable master address "
                    f"(HOST_IS_SLAVE {master!r}): give the pool master to --server")
            return self.error(
                f"{self.where} is a pool member too (HOST_IS_SLAVE {master}): the pool may be "
                f"changing its master; try again, or give the current master to --server")
        if code in ("RBAC_PERMISSION_DENIED", "SESSION_AUTHORIZATION_FAILED"):
            return self.error(f"{self.where}: user '{user}' may not log in ({code}): use an "
                              f"account with at least the read-only role")
        if code == "HOST_STILL_BOOTING":
            return self.error(f"{self.where} is still starting up (HOST_STILL_BOOTING): try "
                              f"again in a few minutes")
        return self.error(f"login to {self.where} as '{user}' failed: "
                          f"{' '.join(details)}")

    def _pin_error(self, actual: str) -> ExternalError:
        expected = format_fingerprint(self.tls.fingerprint or "")
        presented = format_fingerprint(actual)
        if self.redirected_from is not None:
            return self.error(
                f"{self.redirected_from.label} is a pool member, not the master: the pool "
                f"master is {self.endpoint.host}, and its certificate does not match "
                f"--fingerprint (each host has its own certificate), so migready did not log "
                f"in there",
                details=[f"  pinned:                {expected}",
                         f"  the master presented:  {presented}",
                         f"  check the master's fingerprint out of band (on it: "
                         f"{HOST_CERT_HINT}), then run again with --server "
                         f"{self.endpoint.url} --fingerprint <it>"])
        return self.error(
            f"TLS: the certificate of {self.endpoint.label} does not match --fingerprint; "
            f"nothing was sent to it (no login)",
            details=[f"  pinned:     {expected}",
                     f"  presented:  {presented}",
                     f"  if the certificate was renewed on purpose, check the new fingerprint "
                     f"out of band (on the host: {HOST_CERT_HINT}) and pin that; otherwise "
                     f"something may be intercepting the connection"])

    def _verify_error(self, exc: ssl.SSLCertVerificationError) -> ExternalError:
        why = self.scrub(exc.verify_message or exc.reason or "verification failed")
        actual = peer_fingerprint(self.endpoint.host, self.endpoint.port or 443, self.timeout)
        details = ["  give the CA certificate that signed it with --ca-bundle FILE, or pin "
                   "the host's own certificate with --fingerprint"]
        if actual:
            fp = format_fingerprint(actual)
            details = [
                f"  the server presented the certificate with SHA-256 fingerprint {fp}",
                f"  after checking it out of band (on the host: {HOST_CERT_HINT}),",
                f"  pin it with --fingerprint {fp},",
                "  or give the CA certificate that signed it with --ca-bundle FILE",
            ]
        return self.error(f"TLS: cannot verify the certificate of {self.where}: {why}",
                          details=details)

    def _other_error(self, method: str, exc: BaseException) -> ExternalError:
        if isinstance(exc, xmlrpc.client.Fault):
            fault = self.scrub(exc.faultString)
            if "valid session" in fault:
                return self.error(f"{self.where} kept invalidating the session during {method} "
                                  f"(SESSION_INVALID after logging in again 3 times): try again")
            return self.error(f"{self.where}: {method} failed: {fault} "
                              f"(fault {exc.faultCode})")
        if isinstance(exc, ssl.SSLError):
            why = self.scrub(exc.reason or exc)
            return self.error(f"TLS handshake with {self.where} failed ({why}): is this the "
                              f"HTTPS management port of a XenServer host?")
        return self.error(f"{self.where}: {method} failed: {type(exc).__name__}: "
                          f"{self.scrub(exc)}")

    def _unreachable(self, method: str, reason: str, attempts: int) -> ExternalError:
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if reason == "timed out":
            return self.error(
                f"{self.where} did not answer {method} within {self.timeout:g} s ({tries}): "
                f"the host may be busy or the address wrong; check it, or try a longer "
                f"--timeout")
        if method == "session.login_with_password" or reason == "connection refused":
            return self.error(
                f"cannot reach {self.where} ({reason}, {tries}): check the address and port "
                f"given to --server and that the host's management interface is reachable "
                f"from here; try --timeout for a slow link")
        return self.error(
            f"lost the connection to {self.where} during {method} ({reason}, {tries}): check "
            f"the network path to the management interface, then run again; try --timeout "
            f"for a slow link")


# -- collection -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """XML-RPC values as JSON values: dates (xmlrpc DateTime) become xapi's date strings."""
    if isinstance(value, xmlrpc.client.DateTime):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _scrub_password(objects: dict[str, dict[str, Record]], password: str) -> list[Gap]:
    """Redact the login password wherever a record holds it (a user name that equals it, a
    note in other_config): a string equal to it, or containing it when it is long enough
    not to match by chance. Each field touched is a gap."""
    if not password:
        return []
    inside = len(password) >= _MIN_SCRUBBED_PASSWORD

    def clean(value: Any) -> tuple[Any, bool]:
        if isinstance(value, str):
            if value == password:
                return REDACTED, True
            if inside and password in value:
                return value.replace(password, REDACTED), True
            return value, False
        if isinstance(value, dict):
            out, hit = {}, False
            for key, item in value.items():
                (new_key, key_hit), (new_item, item_hit) = clean(key), clean(item)
                out[new_key] = new_item
                hit = hit or key_hit or item_hit
            return out, hit
        if isinstance(value, list):
            items = [clean(v) for v in value]
            return [v for v, _ in items], any(h for _, h in items)
        return value, False

    gaps: list[Gap] = []
    for cls, table in objects.items():
        for ref, rec in table.items():
            for name in list(rec):
                rec[name], hit = clean(rec[name])
                if hit:
                    gaps.append(Gap(cls, "value contained the login password: redacted",
                                    ref=ref, field=name))
    return gaps


def _records(client: _Client, cls: str) -> dict[str, Record] | str:
    """`<cls>.get_all_records`, or why there are none: the server does not know the class,
    or answered the call with an error (a role that may not read it, an internal error)."""
    method = f"{cls}.get_all_records"
    try:
        value = client.call(method)
    except XenAPI.Failure as exc:
        details = [client.scrub(d) for d in exc.details] or ["UNKNOWN_ERROR"]
        if details[0] == "MESSAGE_METHOD_UNKNOWN":
            return NOT_IN_VERSION
        return f"{method} failed: {' '.join(details)}"
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in value.items()):
        raise client.error(f"{client.where}: {method} did not return records "
                           f"(got {type(value).__name__}): is this a XenServer host?")
    return _plain(value)


def collect(
    server: str,
    username: str,
    password: str,
    *,
    tls: TlsOptions | None = None,
    timeout: float = 60.0,
    progress: Callable[[str], None] | None = None,
    retry: RetryPolicy | None = None,
    classes: Iterable[str] = CLASSES,
) -> dict[str, Any]:
    """Log in, read every class in one bulk call each, log out: the inventory document.

    Raises ExternalError (exit 4) for connection, TLS and login failures, InputError for a
    malformed --server; a class this XenServer does not know becomes a gap.
    """
    client = _Client(
        endpoint=parse_server(server), username=username, password=password,
        tls=tls or TlsOptions(), timeout=timeout, retry=retry or RetryPolicy(),
        progress=progress or _noop,
    )
    objects: dict[str, dict[str, Record]] = {}
    gaps: list[Gap] = []
    required = required_classes()
    try:
        client.login()
        for cls in classes:
            records = _records(client, cls)
            if cls in required and (isinstance(records, str) or not records):
                why = records if isinstance(records, str) else \
                    f"{cls}.get_all_records returned no records"
                raise client.error(
                    f"{client.where}: {why}: without {', '.join(required)} records nothing "
                    f"can be decided; check the account's role and that --server is a "
                    f"XenServer pool master")
            if isinstance(records, str):  # a gap: rules reading the class say unknown
                gaps.append(Gap(cls, records))
                client.progress(f"{cls}: {records}")
                continue
            objects[cls] = records
            client.progress(f"{cls}: {len(records)} records")
    finally:
        client.logout()

    redact_secrets(objects)
    gaps.extend(_scrub_password(objects, password))
    rebuild_back_references(objects)
    # refs into classes not collected (VBD_metrics, VMPP, console…) count as dangling here:
    # a live pool gives no list of them; dangling_gaps summarises a field's many into one
    gaps.extend(dangling_gaps(objects))
    source: dict[str, Any] = {"kind": "xapi", "address": client.endpoint.url}
    if client.redirected_from is not None:
        source["redirected_from"] = client.redirected_from.url
    return envelope(objects, source=source, gaps=gaps)
