"""The collector against a real XML-RPC/HTTPS server, through the real `XenAPI` client.

The server (tests/xapi_server.py) answers from the real pools under tests/data/realdata,
imported with checker.dump. Retry delays are made tiny here; nothing waits on a clock.
"""

from __future__ import annotations

import copy
import functools
import json
import socket
from pathlib import Path

import pytest
import XenAPI
from certs import make_self_signed
from conftest import REALDATA
from xapi_server import XapiServer, free_port_pair

from checker import collector, dump
from checker.collector import RetryPolicy, TlsOptions, collect
from checker.errors import ExternalError, InputError
from checker.facts import Missing, World
from checker.inventory import CLASSES, ClassGap, Inventory, validate_document

POOL_FILES = [
    "xenadmin/Cowley-db.xml",
    "xenadmin/cowley1.xml",
    "xenadmin/state2.xml",
    "xenadmin/state4.xml",
    "xenadmin/tampa-db_inc_snapshots.xml",
]
#: one VM's records each, with its host but no pool record
PARTIAL_FILES = [
    "community.general/ansible-test-vm-1-params.json",
    "community.general/ansible-test-vm-2-params.json",
]
# a unique string: if it shows up anywhere it can only have come from the login
PASSWORD = "pw-Zq8!uniq-7f3c9e"
USER = "root"
LOGIN = "session.login_with_password"
LOGOUT = "session.logout"
ALL_CALLS = [LOGIN, *(f"{cls}.get_all_records" for cls in CLASSES), LOGOUT]



@functools.cache
def _imported(name: str) -> dict:
    return dump.import_file(REALDATA / name, partial=name in PARTIAL_FILES)


def imported(name: str = "xenadmin/tampa-db_inc_snapshots.xml") -> dict:
    """A fresh copy of the imported document (tests may change it)."""
    return copy.deepcopy(_imported(name))


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    base = tmp_path_factory.mktemp("certs")
    return {
        "a": make_self_signed(base, "a"),
        "b": make_self_signed(base, "b"),
        "other-name": make_self_signed(base, "other", sans=("DNS:xs99.example.com",)),
    }


class Sleeps(list):
    """A RetryPolicy.sleep that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def retry(sleeps):
    return RetryPolicy(attempts=3, base_delay=0.001, sleep=sleeps)


@pytest.fixture
def server(certs):
    with XapiServer(imported()["objects"], certs["a"], username=USER,
                    password=PASSWORD) as srv:
        yield srv


def run(srv, *, tls=None, password=PASSWORD, progress=None, **kwargs):
    kwargs.setdefault("retry", RetryPolicy(attempts=3, base_delay=0.001, sleep=Sleeps()))
    kwargs.setdefault("timeout", 5)
    return collect(srv.url, USER, password, tls=tls or TlsOptions(ca_bundle=srv.ca_pem),
                   progress=progress, **kwargs)


def assert_no_password(*texts):
    for text in texts:
        assert PASSWORD not in text


def assert_error_clean(exc: BaseException):
    assert_no_password(str(exc), repr(exc), repr(exc.args), *getattr(exc, "details", []))


# -- the data ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", POOL_FILES)
def test_collect_gives_the_records_of_the_imported_pool(certs, name):
    expected = imported(name)
    with XapiServer(expected["objects"], certs["a"], password=PASSWORD) as srv:
        doc = run(srv)
    validate_document(doc, name)
    assert doc["objects"] == expected["objects"]
    assert doc["source"] == {"kind": "xapi", "address": srv.url}
    absent = {g["class"] for g in doc["gaps"]
              if g["reason"] == "not present in this XenServer version"}
    assert absent == set(CLASSES) - set(expected["objects"])
    assert doc["pool"] == expected["pool"]
    assert srv.calls == ALL_CALLS


def test_dates_come_back_as_xapi_date_strings(server):
    # the server sends dates as XML-RPC dateTime (as xapi does); the inventory keeps strings
    doc = run(server)
    metrics = next(iter(doc["objects"]["host_metrics"].values()))
    assert isinstance(metrics["last_updated"], str)
    assert metrics["last_updated"].endswith("Z")
    json.dumps(doc)  # nothing but JSON types


def test_progress_reports_counts(server):
    lines: list[str] = []
    doc = run(server, progress=lines.append)
    assert f"VM: {len(doc['objects']['VM'])} records" in lines
    assert "VUSB: not present in this XenServer version" in lines
    assert_no_password(*lines)


# -- read-only, and a constant number of calls -----------------------------------------------


def test_exact_calls_do_not_depend_on_pool_size(certs):
    one_host = imported("xenadmin/Cowley-db.xml")
    two_hosts = imported("xenadmin/cowley1.xml")
    # derived: Cowley's VMs ten times over (new refs), to be sure size does not matter
    big = imported("xenadmin/Cowley-db.xml")
    vms = big["objects"]["VM"]
    for n in range(9):
        vms.update({f"{ref}-copy{n}": dict(rec) for ref, rec in list(vms.items())
                    if "-copy" not in ref})
    seen = []
    for doc in (one_host, two_hosts, big):
        with XapiServer(doc["objects"], certs["a"], password=PASSWORD) as srv:
            run(srv)
        seen.append(srv.calls)
    assert len(big["objects"]["VM"]) == 10 * len(one_host["objects"]["VM"])
    assert seen == [ALL_CALLS, ALL_CALLS, ALL_CALLS]


def test_allow_list():
    for ok in (LOGIN, LOGOUT, "VM.get_all_records", "host.get_record", "pool.get_all",
               "event.from", "VGPU_type.get_all_records"):
        assert collector.is_allowed(ok), ok
    for bad in ("VM.destroy", "VM.start", "pool.set_name_label", "host.get_all", "VM.get_all",
                "secret.get_all_records", "Secret.get_record", "session.get_all_records",
                "host.call_plugin", "event.register", "VM.get_all_records.x",
                "session.login_with_password_x", "", "get_all_records"):
        assert not collector.is_allowed(bad), bad
    with pytest.raises(collector.ReadOnlyViolation):
        collector.check_allowed("VM.destroy")


def test_transport_refuses_writes_even_from_the_xenapi_package(server):
    # The guard sits in the transport, under XenAPI.Session: whatever builds the request
    # (our code, or the package's own helpers), a write never reaches the wire.
    transport = collector._GuardedTransport(TlsOptions(ca_bundle=server.ca_pem), timeout=5)
    session = XenAPI.Session(server.url, transport=transport)
    session.xenapi.login_with_password(USER, PASSWORD, "1.0", "test")
    with pytest.raises(collector.ReadOnlyViolation, match=r"VM\.destroy"):
        session.xenapi.VM.destroy("OpaqueRef:x")
    with pytest.raises(collector.ReadOnlyViolation, match=r"pool\.get_master"):
        _ = session.API_version  # pool.get_all (allowed), then pool.get_master (refused)
    session.xenapi.session.logout()
    assert server.calls == [LOGIN, "pool.get_all", LOGOUT]


# -- TLS -----------------------------------------------------------------------------------


def test_ca_bundle_verifies(server):
    assert run(server, tls=TlsOptions.from_cli(ca_bundle=server.ca_pem))["objects"]


def test_system_cas_refuse_a_self_signed_certificate(server, certs, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(ExternalError) as info:
        run(server, tls=TlsOptions())
    text = str(info.value)
    assert "--ca-bundle" in text and "--fingerprint" in text
    assert f"127.0.0.1:{server.port}" in text
    assert certs["a"].fingerprint_colons in text  # so the user can pin it after checking
    assert server.calls == []
    assert info.value.exit_code == 4
    assert_error_clean(info.value)


def test_host_name_is_checked(certs):
    with XapiServer(imported()["objects"], certs["other-name"], password=PASSWORD) as srv, \
            pytest.raises(ExternalError, match="cannot verify") as info:
        run(srv, tls=TlsOptions(ca_bundle=srv.ca_pem))
    assert "127.0.0.1" in str(info.value)
    assert srv.calls == []


@pytest.mark.parametrize("spelling", ["colons", "lower", "openssl"])
def test_right_fingerprint_works(server, certs, spelling):
    pin = {"colons": certs["a"].fingerprint_colons,
           "lower": certs["a"].fingerprint,
           "openssl": f"sha256 Fingerprint={certs['a'].fingerprint_colons}"}[spelling]
    doc = run(server, tls=TlsOptions.from_cli(fingerprint=pin))
    assert server.calls == ALL_CALLS
    assert doc["objects"]["VM"]


def test_wrong_fingerprint_sends_nothing(server, certs):
    with pytest.raises(ExternalError) as info:
        run(server, tls=TlsOptions.from_cli(fingerprint=certs["b"].fingerprint))
    text = str(info.value)
    assert f"127.0.0.1:{server.port}" in text
    assert certs["b"].fingerprint_colons in text  # expected
    assert certs["a"].fingerprint_colons in text  # actual
    assert "no login" in text
    assert server.calls == []  # the password never left
    assert server.connections >= 1  # it did connect (and hung up after the handshake)
    assert_error_clean(info.value)


def test_insecure_works(server):
    assert run(server, tls=TlsOptions.from_cli(insecure=True))["objects"]
    assert server.calls == ALL_CALLS


@pytest.mark.parametrize("kwargs", [
    {"insecure": True, "fingerprint": "ab" * 32},
    {"insecure": True, "ca_bundle": Path("x.pem")},
    {"fingerprint": "ab" * 32, "ca_bundle": Path("x.pem")},
])
def test_contradictory_tls_options(kwargs):
    with pytest.raises(InputError, match="cannot be used together"):
        TlsOptions.from_cli(**kwargs)


@pytest.mark.parametrize("value", ["", "abc", "ab" * 20, "zz" * 32, "ab" * 33])
def test_malformed_fingerprint(value):
    with pytest.raises(InputError, match="--fingerprint"):
        TlsOptions.from_cli(fingerprint=value)


def test_fingerprint_normalised():
    fp = "AB:cd " * 16
    assert TlsOptions.from_cli(fingerprint=fp).fingerprint == "abcd" * 16


def test_bad_ca_bundle(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        TlsOptions.from_cli(ca_bundle=tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(InputError, match="PEM"):
        TlsOptions.from_cli(ca_bundle=junk)


# -- pool members --------------------------------------------------------------------------


def _member_and_master(certs, member_cert, master_cert):
    """A pool member on 127.0.0.1 and its master on 127.0.0.2, on the same port."""
    objects = imported("xenadmin/cowley1.xml")["objects"]
    port = free_port_pair("127.0.0.1", "127.0.0.2")
    master = XapiServer(objects, master_cert, password=PASSWORD, host="127.0.0.2", port=port)
    member = XapiServer(objects, member_cert, password=PASSWORD, host="127.0.0.1", port=port,
                        slave_of="127.0.0.2")
    return member, master


def test_pool_member_redirects_to_master(certs):
    member, master = _member_and_master(certs, certs["a"], certs["a"])
    lines: list[str] = []
    with member, master:
        doc = run(member, progress=lines.append)
    assert member.calls == [LOGIN]
    assert master.calls == ALL_CALLS
    assert doc["source"] == {"kind": "xapi", "address": master.url,
                             "redirected_from": member.url}
    assert any("pool member" in line and "127.0.0.2" in line for line in lines)


def test_pool_member_with_pin_stops_before_the_master_login(certs):
    member, master = _member_and_master(certs, certs["a"], certs["b"])
    with member, master, pytest.raises(ExternalError) as info:
        run(member, tls=TlsOptions.from_cli(fingerprint=certs["a"].fingerprint))
    text = str(info.value)
    assert "pool member" in text and "127.0.0.2" in text
    assert f"--server {master.url}" in text
    assert certs["b"].fingerprint_colons in text  # what the master presented
    assert member.calls == [LOGIN]
    assert master.calls == []
    assert_error_clean(info.value)


# -- sessions and connections ---------------------------------------------------------------


def test_session_invalid_midway_logs_in_again(server):
    server.session_invalid_on = {5}  # the 5th call: host_cpu.get_all_records
    doc = run(server)
    assert server.calls == [LOGIN, "pool.get_all_records", "host.get_all_records",
                            "host_metrics.get_all_records", "host_cpu.get_all_records",
                            LOGIN, "host_cpu.get_all_records", *ALL_CALLS[5:]]
    assert doc["objects"]["host_cpu"]


def test_session_invalid_forever_gives_up(server):
    server.session_invalid_on = set(range(3, 100))
    with pytest.raises(ExternalError, match="SESSION_INVALID") as info:
        run(server)
    # XenAPI.Session logs in again at most 3 times per call
    assert server.calls.count(LOGIN) == 4
    assert server.calls[-1] == LOGOUT
    assert_error_clean(info.value)


def test_dropped_connections_are_retried(server, retry, sleeps):
    # each of our attempts is two connections: http.client retries a dropped one once itself
    server.drop_connections = 4
    doc = run(server, retry=retry)
    assert doc["objects"]["VM"]
    assert server.dropped == 4
    assert server.calls == ALL_CALLS  # dropped requests were never answered
    assert sleeps == [0.001, 0.002]  # third attempt succeeded


def test_retries_are_bounded(server, retry, sleeps):
    server.drop_connections = 1000
    with pytest.raises(ExternalError) as info:
        run(server, retry=retry)
    assert sleeps == [0.001, 0.002]  # 3 attempts
    assert server.connections == 6  # each attempt: one try, one retry inside http.client
    assert f"127.0.0.1:{server.port}" in str(info.value)
    assert "3 attempts" in str(info.value)
    assert_error_clean(info.value)


def test_nothing_listening(retry, sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    lines: list[str] = []
    with pytest.raises(ExternalError) as info:
        collect(f"https://127.0.0.1:{port}", USER, PASSWORD, tls=TlsOptions(insecure=True),
                retry=retry, progress=lines.append)
    text = str(info.value)
    assert f"cannot reach 127.0.0.1:{port} (connection refused, 3 attempts)" in text
    assert "--server" in text and "management interface" in text
    assert sleeps == [0.001, 0.002]
    assert len([line for line in lines if "retrying" in line]) == 2
    assert_error_clean(info.value)
    assert_no_password(*lines)


def test_timeout_is_per_call_and_retried(server, retry, sleeps):
    server.delay = 1.0
    server.delay_methods = {"VM.get_all_records"}
    with pytest.raises(ExternalError) as info:
        run(server, retry=retry, timeout=0.2)
    text = str(info.value)
    assert "did not answer VM.get_all_records within 0.2 s (3 attempts)" in text
    assert "--timeout" in text
    assert sleeps == [0.001, 0.002]
    assert server.calls.count("VM.get_all_records") == 3
    assert server.calls[-1] == LOGOUT  # logged out after all


def test_unknown_class_is_a_gap(server):
    server.hidden_classes = {"VM_guest_metrics"}
    doc = run(server)
    assert "VM_guest_metrics" not in doc["objects"]
    assert {"class": "VM_guest_metrics",
            "reason": "not present in this XenServer version"} in doc["gaps"]
    assert server.calls == ALL_CALLS


def test_class_a_server_lacks_fills_no_back_reference(server):
    # Tampa (6.1) has no vUSB: VMs served without VUSBs, and the VUSB class unknown. The
    # collection must not claim "no vUSB devices" with VUSBs: [] on every VM.
    server.hidden_classes = {"VUSB"}
    doc = run(server)
    assert not [vm for vm in doc["objects"]["VM"].values() if "VUSBs" in vm]
    inv = Inventory.from_document(doc)
    vm_ref = next(iter(doc["objects"]["VM"]))
    with pytest.raises(ClassGap, match="VUSB was not collected"):
        inv.get_many("VUSB", doc["objects"]["VM"][vm_ref].get("VUSBs"))


@pytest.mark.parametrize("name", PARTIAL_FILES)
def test_a_server_without_pool_records_fails_the_collection(certs, name):
    # community.general's captures: a VM and its host, no pool: nothing can be decided
    with XapiServer(imported(name)["objects"], certs["a"], password=PASSWORD) as srv:
        with pytest.raises(ExternalError) as info:
            run(srv)
        assert srv.calls[-1] == LOGOUT
    assert info.value.exit_code == 4
    assert str(info.value).startswith(
        f"127.0.0.1:{srv.port}: not present in this XenServer version: without pool, host, VM "
        f"records nothing can be decided")


@pytest.mark.parametrize("cls", ["pool", "host", "VM"])
def test_required_class_empty_or_refused_fails_the_collection(certs, cls):
    doc = imported()
    doc["objects"][cls] = {}
    with XapiServer(doc["objects"], certs["a"], password=PASSWORD) as srv, \
            pytest.raises(ExternalError, match=f"{cls}.get_all_records returned no records"):
        run(srv)
    with XapiServer(imported()["objects"], certs["a"], password=PASSWORD,
                    fail_calls={f"{cls}.get_all_records": ["RBAC_PERMISSION_DENIED", "x"]}) as srv:
        with pytest.raises(ExternalError, match=f"{cls}.get_all_records failed: RBAC_PERM"):
            run(srv)
        assert srv.calls[-1] == LOGOUT


def test_a_class_the_server_refuses_is_a_gap_read_as_unknown(server):
    # Tampa served, PIF refused as xapi refuses a role that may not read it: the collection
    # goes on; the class is a gap naming the refusal, and a rule that reads PIFs is unknown
    server.fail_calls = {"PIF.get_all_records": ["RBAC_PERMISSION_DENIED", "PIF.get_all_records"]}
    doc = run(server)
    assert "PIF" not in doc["objects"] and server.calls == ALL_CALLS
    reason = "PIF.get_all_records failed: RBAC_PERMISSION_DENIED PIF.get_all_records"
    assert {"class": "PIF", "reason": reason} in doc["gaps"]
    world = World([Inventory.from_document(doc)])
    host = world.objects(0, "host")[0]
    with pytest.raises(Missing, match=f"PIF was not collected \\({reason}\\)"):
        world.value(host, "networks")


def test_logout_even_when_a_call_fails(server):
    server.fail_calls = {"VM.get_all_records": ["INTERNAL_ERROR", "database locked"]}
    with pytest.raises(ExternalError) as info:
        run(server)
    assert "VM.get_all_records" in str(info.value)
    assert "INTERNAL_ERROR" in str(info.value)
    assert f"127.0.0.1:{server.port}" in str(info.value)
    upto_vm = ALL_CALLS[:ALL_CALLS.index("VM.get_all_records") + 1]
    assert server.calls == [*upto_vm, LOGOUT]
    assert server.sessions == set()


def test_bad_password(server):
    with pytest.raises(ExternalError) as info:
        run(server, password=PASSWORD + "-wrong")
    text = str(info.value)
    assert f"user '{USER}'" in text and f"127.0.0.1:{server.port}" in text
    assert "SESSION_AUTHENTICATION_FAILED" in text
    assert info.value.exit_code == 4
    assert server.calls == [LOGIN]  # no logout: there was no session
    assert_error_clean(info.value)


# -- the password ------------------------------------------------------------------------------


def test_password_never_in_the_inventory(certs):
    # derived from Tampa: an admin left the root password in a VM's other_config note
    doc = imported()
    vm_ref = next(iter(doc["objects"]["VM"]))
    doc["objects"]["VM"][vm_ref]["other_config"]["note"] = f"root pw is {PASSWORD}"
    lines: list[str] = []
    with XapiServer(doc["objects"], certs["a"], password=PASSWORD) as srv:
        out = run(srv, progress=lines.append)
    assert PASSWORD not in json.dumps(out)
    assert out["objects"]["VM"][vm_ref]["other_config"]["note"] == "root pw is (redacted)"
    assert {"class": "VM", "ref": vm_ref, "field": "other_config",
            "reason": "value contained the login password: redacted"} in out["gaps"]
    assert_no_password(*lines)


@pytest.mark.parametrize("password", ["pw-Zq8!uniq-7f3c9e", "root"])
def test_a_string_equal_to_the_password_is_redacted_anywhere(certs, password):
    # derived from Tampa: the password is the user name of a VM's other_config, a map key,
    # a tag, and a whole description; "root" is too short to be searched for inside text,
    # but a string equal to it is still the password
    doc = imported()
    vm_ref, vm = next(iter(doc["objects"]["VM"].items()))
    vm["other_config"].update({"user": password, password: "x"})
    vm["tags"] = [password, "web"]
    vm["name_description"] = password
    vm["name_label"] = f"{password} box"
    with XapiServer(doc["objects"], certs["a"], password=password) as srv:
        out = run(srv, password=password)
    got = out["objects"]["VM"][vm_ref]
    assert got["other_config"]["user"] == "(redacted)" and password not in got["other_config"]
    assert got["other_config"]["(redacted)"] == "x"
    assert got["tags"] == ["(redacted)", "web"] and got["name_description"] == "(redacted)"
    assert got["name_label"] == ("(redacted) box" if len(password) >= 6 else "root box")
    fields = {g["field"] for g in out["gaps"] if g.get("ref") == vm_ref}
    assert {"other_config", "tags", "name_description"} <= fields


def test_server_url_must_be_https_without_credentials():
    with pytest.raises(InputError, match="HTTPS only"):
        collect("http://xs01.example.com", USER, PASSWORD)
    with pytest.raises(InputError, match="must not contain") as info:
        collect(f"https://root:{PASSWORD}@xs01.example.com", USER, PASSWORD)
    assert_error_clean(info.value)
    assert collector.parse_server("xs01:8443").url == "https://xs01:8443"
    assert collector.parse_server("https://[fe80::1]/x").label == "[fe80::1]:443"


# -- through the command line ----------------------------------------------------------------


def test_cli_bad_password_exit_4(server, tmp_path, monkeypatch, capsys):
    from checker.cli import main

    wrong = PASSWORD + "-but-wrong"
    monkeypatch.setenv("MIGREADY_TEST_PASSWORD", wrong)
    out = tmp_path / "inv.json"
    code = main(["collect", "--server", server.url, "--password-env", "MIGREADY_TEST_PASSWORD",
                 "--ca-bundle", str(server.ca_pem), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 4
    assert "root" in captured.err and f"127.0.0.1:{server.port}" in captured.err
    assert_no_password(captured.out, captured.err)  # PASSWORD is a prefix of `wrong`
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either


def test_cli_password_file(server, tmp_path, capsys):
    from checker.cli import main

    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    out = tmp_path / "inv.json.gz"
    code = main(["collect", "--server", server.url, "--password-file", str(secret),
                 "--fingerprint", server.fingerprint, "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert server.params[0][:2] == (USER, PASSWORD)  # it was the password that logged in
    import gzip
    text = gzip.decompress(out.read_bytes()).decode()
    assert PASSWORD not in text
    assert json.loads(text)["source"]["address"] == server.url
    assert_no_password(captured.out, captured.err)
    assert "pool 'TampaPool'" in captured.out


def test_server_text_is_scrubbed_of_the_password(server):
    # a (misbehaving) server echoing the password in an error: it is not shown
    server.fail_calls = {"VM.get_all_records": ["INTERNAL_ERROR", f"bad input {PASSWORD}"]}
    with pytest.raises(ExternalError, match=r"INTERNAL_ERROR bad input \*\*\*") as info:
        run(server)
    assert_error_clean(info.value)


def test_short_password_leaves_messages_readable(server, certs):
    # scrubbing applies to what servers and libraries say, never to our own wording
    with pytest.raises(ExternalError) as info:
        run(server, password="p", tls=TlsOptions.from_cli(fingerprint=certs["b"].fingerprint))
    assert "pinned:" in str(info.value) and "presented:" in str(info.value)


def test_member_whose_master_says_it_is_a_member_too(certs):
    member, master = _member_and_master(certs, certs["a"], certs["a"])
    master.slave_of = "127.0.0.1"
    with member, master, pytest.raises(ExternalError, match="pool member too") as info:
        run(member)
    assert member.calls == [LOGIN] and master.calls == [LOGIN]  # one hop, no loop
    assert_error_clean(info.value)
