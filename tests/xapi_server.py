"""A small XenAPI server for tests: XML-RPC over HTTPS on 127.0.0.1, answering from an inventory.

It speaks the XenAPI wire protocol as xapi does: every method returns
`{"Status": "Success", "Value": ...}` or `{"Status": "Failure", "ErrorDescription": [...]}`,
methods are named `<class>.<message>`, the first parameter of every call but the login is the
session reference, dates travel as `dateTime.iso8601`. The real `XenAPI` client talks to it
over a real TLS socket.

    with XapiServer(objects, password="pw") as server:
        collect(server.url, "root", "pw", tls=TlsOptions(ca_bundle=server.ca_pem))
        assert server.calls == ["session.login_with_password", ...]

Fault injection (plain attributes, may be changed while it runs):
- `delay`: seconds to wait before answering each call (or only `delay_methods`);
- `drop_connections`: close the first N connections after reading the request, no answer;
- `session_invalid_on`: call numbers (1-based, counting every call received) before which
  all sessions are invalidated, so that call fails with SESSION_INVALID;
- `slave_of`: act as a pool member: logins fail with HOST_IS_SLAVE [master address];
- `fail_calls`: {method: ErrorDescription} returned instead of the answer;
- `hidden_classes`: classes this "XenServer version" does not know (MESSAGE_METHOD_UNKNOWN);
- a wrong user name or password gives SESSION_AUTHENTICATION_FAILED, as in xapi.
"""

from __future__ import annotations

import copy
import re
import socket
import socketserver
import ssl
import threading
import time
import uuid
import xmlrpc.client
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

_DATE = re.compile(r"^\d{8}T\d{2}:\d{2}:\d{2}Z$")


def _success(value: Any) -> dict[str, Any]:
    return {"Status": "Success", "Value": value}


def _failure(*description: str) -> dict[str, Any]:
    return {"Status": "Failure", "ErrorDescription": list(description)}


def _wire(value: Any) -> Any:
    """Records as xapi sends them: dates as XML-RPC dateTime, everything else as is."""
    if isinstance(value, str) and _DATE.match(value):
        return xmlrpc.client.DateTime(value)
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ()  # xapi answers on any path ("/" and "/RPC2" alike)
    protocol_version = "HTTP/1.1"  # keep-alive, like xapi

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _TlsXmlRpcServer(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = False

    def __init__(self, owner: XapiServer, address: tuple[str, int]) -> None:
        self.owner = owner
        super().__init__(address, requestHandler=_Handler, logRequests=False, allow_none=True)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Runs in the connection's thread: TLS handshake here, not in the accept loop."""
        owner = self.owner
        request.settimeout(5)
        with owner.lock:
            owner.connections += 1
        try:
            conn = owner.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # client gave up during the handshake (e.g. fingerprint mismatch)
        try:
            with owner.lock:
                drop = owner.dropped < owner.drop_connections
                if drop:
                    owner.dropped += 1
            if drop:
                conn.recv(65536)  # read the request, then hang up without a word
                return
            self.RequestHandlerClass(conn, client_address, self)
        except OSError:
            pass
        finally:
            conn.close()

    def _dispatch(self, method: str, params: Any) -> Any:
        return self.owner.dispatch(method, tuple(params))


class XapiServer:
    """One fake xapi host. Use as a context manager, or call start() and stop()."""

    def __init__(
        self,
        objects: dict[str, dict[str, dict[str, Any]]],
        cert: Any,  # tests.certs.CertPair: .cert and .key PEM paths, .fingerprint
        *,
        username: str = "root",
        password: str = "xenroot",
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        delay_methods: Iterable[str] | None = None,
        drop_connections: int = 0,
        session_invalid_on: Iterable[int] = (),
        slave_of: str | None = None,
        fail_calls: dict[str, list[str]] | None = None,
        hidden_classes: Iterable[str] = (),
    ) -> None:
        self.objects = copy.deepcopy(objects)
        self.cert = cert
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.delay = delay
        self.delay_methods = set(delay_methods) if delay_methods is not None else None
        self.drop_connections = drop_connections
        self.session_invalid_on = set(session_invalid_on)
        self.slave_of = slave_of
        self.fail_calls = dict(fail_calls or {})
        self.hidden_classes = set(hidden_classes)

        self.lock = threading.Lock()
        self.calls: list[str] = []  # every method name received, in order
        self.params: list[tuple[Any, ...]] = []  # and its parameters (tests: secrets checks)
        self.connections = 0  # TCP connections accepted (dropped and failed handshakes included)
        self.dropped = 0
        self.sessions: set[str] = set()
        self.logged_out: list[str] = []

        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert.cert), str(cert.key))
        self._server: _TlsXmlRpcServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> XapiServer:
        self._server = _TlsXmlRpcServer(self, (self.host, self.port))
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> XapiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """What `XenAPI.Session` and `--server` take: https://127.0.0.1:PORT"""
        return f"https://{self.host}:{self.port}"

    @property
    def ca_pem(self) -> Path:
        """The certificate as PEM: give it as --ca-bundle."""
        return self.cert.cert

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the server certificate (DER), lowercase hex."""
        return self.cert.fingerprint

    # -- the XenAPI ------------------------------------------------------------------------

    def dispatch(self, method: str, params: tuple[Any, ...]) -> dict[str, Any]:
        with self.lock:
            self.calls.append(method)
            self.params.append(params)
            number = len(self.calls)
            if number in self.session_invalid_on:
                self.sessions.clear()
        if self.delay and (self.delay_methods is None or method in self.delay_methods):
            time.sleep(self.delay)
        if method in self.fail_calls:
            return _failure(*self.fail_calls[method])
        if method == "session.login_with_password":
            return self._login(params)
        session = params[0] if params else None
        if method == "session.logout":
            with self.lock:
                self.sessions.discard(session)
                self.logged_out.append(session)
            return _success("")
        cls, _, message = method.partition(".")
        if not self._known(cls) or message not in ("get_all_records", "get_record", "get_all",
                                                   "from"):
            return _failure("MESSAGE_METHOD_UNKNOWN", method)
        with self.lock:
            valid = session in self.sessions
        if not valid:
            return _failure("SESSION_INVALID", str(session))
        if message == "get_all_records":
            return _success(_wire(self.objects.get(cls, {})))
        if message == "get_all":
            return _success(sorted(self.objects.get(cls, {})))
        if message == "get_record":
            record = self.objects.get(cls, {}).get(params[1] if len(params) > 1 else "")
            if record is None:
                return _failure("HANDLE_INVALID", cls, str(params[1:2]))
            return _success(_wire(record))
        # event.from(session, classes, token, timeout): nothing changed since the token
        return _success({"events": [], "valid_ref_counts": {}, "token": f"{len(self.calls)}"})

    def _known(self, cls: str) -> bool:
        if cls == "event":
            return True
        return cls in self.objects and cls not in self.hidden_classes

    def _login(self, params: tuple[Any, ...]) -> dict[str, Any]:
        if self.slave_of is not None:
            return _failure("HOST_IS_SLAVE", self.slave_of)
        if len(params) < 2 or params[0] != self.username or params[1] != self.password:
            user = str(params[0]) if params else ""
            return _failure("SESSION_AUTHENTICATION_FAILED", user,
                            "Authentication failure")
        ref = f"OpaqueRef:{uuid.uuid4()}"
        with self.lock:
            self.sessions.add(ref)
        return _success(ref)


def free_port_pair(first: str, second: str, attempts: int = 20) -> int:
    """A TCP port free on both loopback addresses (for a slave and its master)."""
    for _ in range(attempts):
        with socket.socket() as a:
            a.bind((first, 0))
            port = a.getsockname()[1]
            with socket.socket() as b:
                try:
                    b.bind((second, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no port free on both {first} and {second}")
