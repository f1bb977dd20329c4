"""`migready run`: the job file, one run end to end, the e-mail a real SMTP server receives
(aiosmtpd), only_on_change across runs, a refused SMTP login, a failed collection, the lock.

PDF rendering takes seconds: only the e-mail content test renders one; the others use html.
"""

from __future__ import annotations

import dataclasses
import datetime
import fcntl
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pypdf
import pytest
import yaml
from certs import make_self_signed
from smtp_server import SmtpServer
from xapi_server import XapiServer

from checker.cli import main
from checker.errors import InputError
from checker.job import LockedError, load_job, run_job
from checker.job import mail as job_mail
from checker.job import run as job_run
from checker.job import state as job_state

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
PROD = SAMPLES / "pools" / "prod-ch82.json"
DR = SAMPLES / "pools" / "dr-xs8.json"
XS_PASSWORD = "xs-Pw!4f1a-unique"
SMTP_PASSWORD = "smtp-Pw!7b3d-unique"


def no_sleep(_seconds: float) -> None:
    pass


def write_job(folder: Path, doc: dict) -> Path:
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def base_job(port: int | None = None, **extra) -> dict:
    doc = {"name": "nightly", "output": "out", "state": "state",
           "pools": [{"name": "dr", "inventory": str(DR)}],
           "report": {"formats": ["html"]}}
    if port is not None:
        doc["email"] = {"host": "127.0.0.1", "port": port, "security": "none",
                        "from": "migready@example.com", "to": ["ops@example.com", "cab@example.com"]}
    doc.update(extra)
    return doc


def every_file_text(*folders: Path) -> str:
    out = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                if path.suffix == ".gz":
                    import gzip

                    data = gzip.decompress(data)
                out.append(data.decode("utf-8", "replace"))
    return "\n".join(out)


# -- the job file ---------------------------------------------------------------------------


def test_sample_job_is_valid_and_dry_run_shows_it(capsys):
    job = load_job(SAMPLES / "job.yaml")
    assert [p.name for p in job.pools] == ["prod-ch82", "dr-xs8"]
    assert [c.name for c in job.checks] == ["prod-ch82", "dr-xs8", "dr-move"]
    assert job.checks[2].plan == SAMPLES / "demo-plan.yaml"  # relative to the job file
    assert job.output == ROOT / "reports" / "job"
    assert main(["run", str(SAMPLES / "job.yaml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dr-move: prod-ch82, dr-xs8" in out and "127.0.0.1:8025" in out


def test_every_error_has_an_address(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    text = """\
output: out
state: state
colour: blue
pools:
  - name: prod
    collect:
      server: https://xs01.example.com
      password_env: NO_SUCH_VAR
      fingerprint: "12:34"
  - name: dr
    inventory: missing.json
  - name: bad/name
    import: x.xml
    inventory: y.json
checks:
  - name: move
    pools: [prod, nowhere]
report:
  formats: [html, docx]
email:
  host: 127.0.0.1
  from: not-an-address
  to: [ops@example.com]
  attach: [pdf, csv]
"""
    path = tmp_path / "job.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_job(path)
    lines = info.value.details
    expect = [
        ":3:1: colour: unknown key",
        ":6:5: pools.0.collect: fingerprint: expected the certificate's SHA-256",
        ":8:7: pools.0.collect.password_env: environment variable NO_SUCH_VAR is not set",
        ":11:5: pools.1.inventory: " + str(tmp_path / "missing.json") + ": no such file",
        ":12:5: pools.2.name: expected a name",
        ":12:5: pools.2: give exactly one of collect, import or inventory",
        ":17:19: checks.0.pools.1: no pool named nowhere",
        ":10:5: pools.1.name: pool dr is in no check",
        ":19:19: report.formats.1: 'docx': expected one of html, pdf, csv",
        ":22:3: email.from: 'not-an-address' is not an e-mail address",
        ":24:12: email.attach.0: pdf is not in report.formats",
        ":24:17: email.attach.1: csv is not in report.formats",
    ]
    assert not any("no pool named prod" in line for line in lines)  # prod has its own error
    joined = "\n".join(lines)
    for fragment in expect:
        assert any(fragment in line for line in lines), f"{fragment!r} not in\n{joined}"
    assert all(line.startswith(f"{path}:") for line in lines)


@pytest.mark.parametrize(("extra", "problem"), [
    ({"sate": "s"}, ":10:1: sate: unknown key (did you mean state? expected one of: checks, "),
    ({"email": {"host": "h", "from": "a@b.c", "to": "d@e.f", "port": 0}},
     ":14:3: email.port: expected a port number 1-65535"),
    ({"email": {"host": "h", "from": "a@b.c", "to": "d@e.f", "password_env": "X"}},
     ":10:1: email: a password is given but no username to log in with"),
    ({"checks": [{"name": "inventories", "pools": ["dr"]}]},
     ":11:3: checks.0.name: inventories is reserved (the run's inventories folder)"),
    ({"pools": [{"name": "dr", "collect": {"server": "x", "password_env": "X", "password_file": "f"}}]},
     ":6:3: pools.0.collect: give password_env or password_file, not both"),
])
def test_the_schema_words_each_problem_with_its_address(tmp_path, extra, problem):
    """The job schema is the one check of keys and values; its problems read like the rest."""
    path = write_job(tmp_path, base_job(**extra))
    with pytest.raises(InputError) as info:
        load_job(path)
    assert any(line.startswith(f"{path}{problem}") for line in info.value.details), info.value.details


def test_default_is_one_audit_per_pool(tmp_path):
    doc = base_job(pools=[{"name": "prod", "inventory": str(PROD)},
                          {"name": "dr", "inventory": str(DR)}])
    job = load_job(write_job(tmp_path, doc))
    assert [(c.name, c.pools, c.plan) for c in job.checks] == [("prod", ("prod",), None),
                                                              ("dr", ("dr",), None)]


def test_the_job_name_survives_checks(tmp_path):
    """The name was overwritten by the last pool's name when `checks:` was given, so the
    e-mail subject named a pool, not the job."""
    doc = base_job(pools=[{"name": "prod", "inventory": str(PROD)},
                          {"name": "dr", "inventory": str(DR)}],
                   checks=[{"name": "move", "pools": ["prod", "dr"]}])
    job = load_job(write_job(tmp_path, doc))
    assert job.name == "nightly"
    assert job_mail.mail_subject(job.name, [], []) == "[nightly] nothing was checked"


def test_the_policy_profile_is_a_builtin_name_or_a_file_next_to_the_job(tmp_path, capsys):
    assert load_job(write_job(tmp_path, base_job(profile="xapi"))).profile == "xapi"
    (tmp_path / "site.yaml").write_text("profile: site\nextends: documented\n")
    path = write_job(tmp_path, base_job(profile="site.yaml"))
    assert load_job(path).profile == tmp_path / "site.yaml"
    assert main(["run", str(path), "--dry-run"]) == 0
    assert f"policy profile: {tmp_path / 'site.yaml'}" in capsys.readouterr().out
    with pytest.raises(InputError) as info:
        load_job(write_job(tmp_path, base_job(profile="strict")))
    assert info.value.details == [f"{tmp_path / 'job.yaml'}:10:1: profile: expected documented "
                                  f"or xapi, or a profile file: {tmp_path / 'strict'}: no such file"]


def test_the_jobs_profile_reaches_the_check(tmp_path):
    """The job's `profile:` is what each check runs under (recorded in its results)."""
    job = load_job(write_job(tmp_path, base_job(
        profile="xapi", pools=[{"name": "prod", "inventory": str(PROD)}],
        checks=[{"name": "audit", "pools": ["prod"]}])))
    pools = {"prod": job_run.PoolOutcome("prod", "inventory", inventory=PROD)}
    options = job_run._check_options(job, job.checks[0], pools)
    assert options.profile == "xapi"


def test_an_impossible_date_is_an_input_error_with_its_address(tmp_path, capsys):
    path = tmp_path / "job.yaml"
    path.write_text("output: out\nstate: state\nname: 2026-02-30\npools: []\n")
    assert main(["run", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3:7: '2026-02-30' is not a valid date" in err and "Traceback" not in err


# -- runs -----------------------------------------------------------------------------------


def test_email_content_pdf_and_fleet_summary(tmp_path, monkeypatch):
    real_render = job_run._render_reports

    def one_pdf_only(job, results, previous, folder):
        """Only the prod audit renders a PDF (seconds each); dr gets html and csv."""
        if folder.name == "dr":
            job = dataclasses.replace(job, report=dataclasses.replace(
                job.report, formats=("html", "csv")))
        return real_render(job, results, previous, folder)

    monkeypatch.setattr(job_run, "_render_reports", one_pdf_only)
    with SmtpServer() as server:
        doc = base_job(server.port, pools=[{"name": "prod", "inventory": str(PROD)},
                                           {"name": "dr", "inventory": str(DR)}],
                       report={"formats": ["html", "pdf", "csv"]})
        doc["email"]["attach"] = ["pdf", "csv"]
        outcome = run_job(load_job(write_job(tmp_path, doc)), sleep=no_sleep)
        (envelope,) = server.envelopes
        msg = server.parsed()
    assert outcome.exit_code == 1 and outcome.mail.status == "sent"
    assert envelope.rcpt_tos == ["ops@example.com", "cab@example.com"]
    assert msg["Subject"] == "[nightly] BLOCKED: first run (1 blocked, 1 ready)"
    assert msg["To"] == "ops@example.com, cab@example.com"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for body in (text, html):
        assert "prod" in body and "dr" in body and "BLOCKED" in body and "READY" in body
        assert "MEM-001" in body  # a blocker rule, its line of the triage
    assert "<table" in html and "Blockers" in html
    attachments = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert set(attachments) == {"prod.report.en.pdf", "prod.results.csv", "dr.results.csv"}
    pdf = attachments["prod.report.en.pdf"]
    assert pdf[:5] == b"%PDF-"
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) >= 2
    assert pdf == (outcome.run_dir / "prod" / "report.en.pdf").read_bytes()
    # the layout on disk, the state, the run record
    assert (outcome.run_dir / "prod" / "results.json").is_file()
    assert (outcome.run_dir / "dr" / "report.en.html").is_file()
    assert (outcome.run_dir / "message.eml").is_file()
    assert (tmp_path / "state" / "prod" / "last-results.json").is_file()
    assert (tmp_path / "state" / "prod" / "last-results.json").read_bytes() == (
        outcome.run_dir / "prod" / "results.json").read_bytes()
    record = json.loads((outcome.run_dir / "run.json").read_text())
    assert [c["verdict"] for c in record["checks"]] == ["blocked", "ready"]


def test_the_body_follows_the_job_language(tmp_path):
    """email.lang: ja gives a Japanese body (verdicts, headings, the findings' Japanese
    messages); the subject stays English for mail filters."""
    with SmtpServer() as server:
        doc = base_job(server.port, pools=[{"name": "prod", "inventory": str(PROD)}],
                       report={"formats": ["html"], "languages": ["en", "ja"]})
        doc["email"]["lang"] = "ja"
        outcome = run_job(load_job(write_job(tmp_path, doc)), sleep=no_sleep)
        msg = server.parsed()
    assert msg["Subject"] == "[nightly] BLOCKED: first run" and msg["Content-Language"] == "ja"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    mem = next(f for f in outcome.checks[0].blockers("new_failures") if f["rule"] == "MEM-001")
    assert mem["messages"]["ja"] != mem["message"]
    for body in (text, html):
        assert "移行不可" in body and "阻害要因" in body and "初回の実行" in body
        assert "BLOCKED" not in body and "Blockers" not in body
    assert "総合判定: 移行不可" in text and '<html lang="ja">' in html
    # The triage's line for MEM-001: its VMs, in Japanese.
    line = next(x for x in text.splitlines() if "] MEM-001 [阻害] 仮想マシン" in x)
    assert "仮想マシン「" in line and "VM '" not in line


def test_the_body_lists_the_first_blockers_and_counts_the_rest(tmp_path):
    blockers = [{"rule": "MEM-001", "severity": "blocker", "status": "fail", "kind": "live",
                 "subject": f"vm-{i:02d}", "destination": "xs02", "message": f"vm-{i:02d} short",
                 "messages": {"en": f"vm-{i:02d} short", "ja": f"vm-{i:02d} 不足"}}
                for i in range(45)]
    check = job_run.CheckOutcome("audit", ("prod",), verdict="blocked", previous_at="2026-11-25",
                                 diff={"new_failures": blockers, "resolved": []})
    body = job_mail.body_context("nightly", datetime.datetime(2026, 11, 26, 2, 30), tmp_path,
                                 [], [check], [], "ja")
    text = job_mail.mail_text(body)
    assert "vm-39 不足" in text and "vm-40" not in text and "… ほか5件" in text
    assert "vm-44" not in job_mail.mail_html(body) and "… ほか5件" in job_mail.mail_html(body)


def test_the_body_gives_the_triage_a_line_per_rule(tmp_path):
    """A first audit of 5,000 VMs: a line per blocker and warning rule, and the data gap,
    not 2,000 new blockers."""
    from test_triage import audit_results

    results = audit_results(5000, 64)
    check = job_run.CheckOutcome("audit", ("bench",), verdict="blocked", results=results,
                                 diff={"new_failures": [{"severity": "blocker"}] * 2000, "resolved": []})
    body = job_mail.body_context("nightly", datetime.datetime(2026, 11, 26, 2, 30), tmp_path,
                                 [], [check], [], "en")
    text = job_mail.mail_text(body)
    assert ("  [audit] LIVE-001 [blocker] 500 VMs: vm-00000, vm-00010, vm-00020 and 497 more "
            "-> all 63 other hosts: VM 'vm-00000'") in text
    assert "  [audit] EVAC-001 [blocker] 32 hosts: xs01, xs03, xs05 and 29 more" in text
    assert "  [audit] GEN-012 [warning] 1,667 VMs: " in text
    assert ("  [audit] CPU-002 undecidable for 8 VMs × 2 hosts: dst_host.cpu_features_pv: "
            "host.cpu_info has no features_pv") in text
    assert "New blockers" not in text and len(text.splitlines()) < 30
    html = job_mail.mail_html(body)
    assert "LIVE-001" in html and "all 63 other hosts" in html and "dst_host.cpu_features_pv" in html


def test_only_on_change_across_runs(tmp_path):
    pool_file = tmp_path / "pool.json"
    shutil.copy(DR, pool_file)
    with SmtpServer() as server:
        doc = base_job(server.port, pools=[{"name": "pool", "inventory": str(pool_file)}])
        doc["email"]["only_on_change"] = True
        job = load_job(write_job(tmp_path, doc))
        first = run_job(job, sleep=no_sleep)
        assert first.mail.status == "sent" and first.exit_code == 0
        assert server.parsed()["Subject"] == "[nightly] READY: first run"
        second = run_job(job, sleep=no_sleep)
        assert second.mail.status == "not_due" and "nothing changed since" in second.mail.reason
        assert len(server.envelopes) == 1
        assert second.run_dir != first.run_dir and (second.run_dir / "pool" / "results.json").exists()
        shutil.copy(PROD, pool_file)  # the pool changed: now it has blockers
        third = run_job(job, sleep=no_sleep)
        assert third.mail.status == "sent" and third.exit_code == 1
        subject = server.parsed()["Subject"]
    new = len(third.checks[0].blockers("new_failures"))
    day = first.checks[0].results["generated_at"][:10]
    assert new > 1 and subject == f"[nightly] BLOCKED: {new} new blockers since {day}"
    assert third.checks[0].previous_verdict == "ready"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_refused_keeps_report_and_state(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    with SmtpServer(username="migready", password="something-else") as server:
        doc = base_job(server.port)
        doc["email"].update(username="migready", password_env="SMTP_PW", retries=2)
        path = write_job(tmp_path, doc)
        code = main(["run", str(path)])
        assert server.envelopes == []
    captured = capsys.readouterr()
    assert code == 4
    assert "e-mail not sent" in captured.err and "refused the login of 'migready'" in captured.err
    assert f"127.0.0.1:{server.port}" in captured.err
    run_dir = next((tmp_path / "out").iterdir())
    assert (run_dir / "dr" / "report.en.html").is_file() and (run_dir / "message.eml").is_file()
    # the change was not mailed, so the baseline stays: the next run reports it again
    assert not (tmp_path / "state" / "dr" / "last-results.json").exists()
    assert SMTP_PASSWORD not in captured.out + captured.err
    assert SMTP_PASSWORD not in every_file_text(tmp_path / "out", tmp_path / "state")


@pytest.fixture(scope="module")
def xapi_cert(tmp_path_factory):
    return make_self_signed(tmp_path_factory.mktemp("certs"), "xapi")


def test_collection_failure_is_mailed_keeps_state_and_exits_4(tmp_path, monkeypatch, xapi_cert):
    monkeypatch.setenv("XS_PW", XS_PASSWORD)
    objects = json.loads(PROD.read_text())["objects"]
    with XapiServer(objects, xapi_cert, password=XS_PASSWORD) as xapi, SmtpServer() as smtp:
        doc = base_job(smtp.port, pools=[
            {"name": "live", "collect": {"server": xapi.url, "password_env": "XS_PW",
                                         "ca_bundle": str(xapi_cert.cert), "timeout": 5}},
            {"name": "dr", "inventory": str(DR)}])
        doc["email"]["only_on_change"] = True
        job = load_job(write_job(tmp_path, doc))
        first = run_job(job, sleep=no_sleep)
        assert first.pools[0].error is None and first.checks[0].verdict == "blocked"
        assert (first.run_dir / "inventories" / "live.json.gz").is_file()
        state_file = tmp_path / "state" / "live" / "last-results.json"
        kept = state_file.read_bytes()

        xapi.password = "changed-on-the-host"
        second = run_job(job, sleep=no_sleep)
        msg = smtp.parsed()
        assert len(smtp.envelopes) == 2  # sent although only_on_change: a failure is news
    assert second.exit_code == 4
    assert "SESSION_AUTHENTICATION_FAILED" in second.pools[0].error
    live, dr = second.checks
    assert live.error.startswith("not run: live could not be collected") and not live.ran
    assert dr.verdict == "ready"  # the other pool was still checked
    assert state_file.read_bytes() == kept  # nothing lost
    assert second.state_updated == ["dr"]
    assert msg["Subject"].startswith("[nightly] COLLECTION FAILED (live); READY: no change since")
    text = msg.get_body(("plain",)).get_content()
    assert "Collection failed" in text and "SESSION_AUTHENTICATION_FAILED" in text
    assert XS_PASSWORD not in every_file_text(tmp_path / "out", tmp_path / "state")
    assert XS_PASSWORD not in msg.as_string()


def test_a_second_run_finds_the_lock(tmp_path, capsys):
    job = load_job(write_job(tmp_path, base_job()))
    (tmp_path / "state").mkdir()
    fd = os.open(tmp_path / "state" / ".lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"pid 12345 since earlier\n")
        with pytest.raises(LockedError) as info:
            run_job(job)
        assert info.value.exit_code == 4 and "pid 12345" in str(info.value)
        assert main(["run", str(job.file)]) == 4
        assert "another migready run is in progress" in capsys.readouterr().err
        assert not (tmp_path / "out").exists()  # did nothing
    finally:
        os.close(fd)
    assert run_job(job).exit_code == 0  # released: the next run goes ahead


def test_pools_are_acquired_concurrently_but_bounded(tmp_path, monkeypatch):
    doc = base_job(pools=[{"name": f"p{i}", "inventory": str(DR)} for i in range(6)],
                   concurrency=2)
    job = load_job(write_job(tmp_path, doc))
    active, peak, lock = [0], [0], threading.Lock()
    real = job_run._acquire_one

    def slow(*args):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        try:
            return real(*args)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(job_run, "_acquire_one", slow)
    outcome = run_job(job)
    assert peak[0] == 2
    assert [c.verdict for c in outcome.checks] == ["ready"] * 6


def test_cli_summary_and_exit_code(tmp_path, capsys):
    doc = base_job(pools=[{"name": "prod", "inventory": str(PROD)}])
    assert main(["run", str(write_job(tmp_path, doc))]) == 1
    out = capsys.readouterr().out
    assert "prod: blocked (first run)" in out and "e-mail not sent: no email" in out
    assert "state updated: prod" in out


# -- all or nothing: writability first, the state in one step, interruptions ------------------


def two_check_job(tmp_path: Path, port: int | None = None) -> Path:
    return write_job(tmp_path, base_job(port, pools=[{"name": "prod", "inventory": str(PROD)},
                                                     {"name": "dr", "inventory": str(DR)}]))


def test_a_state_folder_in_the_way_stops_the_run_before_anything_is_collected(tmp_path, capsys):
    """A check's state folder that cannot be written (here a file stands where the folder
    goes: chmod does not stop root) is found first, not after the e-mail went out."""
    path = two_check_job(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "dr").write_text("not a folder")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: state: {tmp_path / 'state' / 'dr'}: cannot write there" in err
    assert not (tmp_path / "out").exists()


def test_an_output_folder_that_cannot_be_made_stops_the_run_first(tmp_path, capsys):
    path = two_check_job(tmp_path)
    (tmp_path / "out").write_text("a file where the output folder goes")
    assert main(["run", str(path)]) == 2
    assert f"{path}: output: {tmp_path / 'out'}: cannot write there: it is not a folder" in \
        capsys.readouterr().err
    assert not list((tmp_path / "state").glob("*/last-results.json"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_state_folder_stops_the_run_before_anything_is_collected(tmp_path, capsys):
    path = two_check_job(tmp_path)
    (tmp_path / "state" / "dr").mkdir(parents=True)
    (tmp_path / "state" / "dr").chmod(0o555)
    assert main(["run", str(path)]) == 2
    assert "cannot write there: Permission denied" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_state_is_replaced_for_every_check_or_for_none(tmp_path, monkeypatch):
    """The second check's new last results cannot be written (the disk filled up): the
    first check's stay as they were too, and no half-written file is left."""
    first = run_job(load_job(two_check_job(tmp_path)))
    assert first.state_updated == ["prod", "dr"] and first.status == "complete"
    before = {name: (tmp_path / "state" / name / "last-results.json").read_bytes()
              for name in ("prod", "dr")}
    real_copy = shutil.copyfileobj

    def full_disk_for_dr(source, target, *args):
        if source.name.endswith("/dr/results.json"):
            raise OSError(28, "No space left on device", target.name)
        return real_copy(source, target, *args)

    monkeypatch.setattr(job_state.shutil, "copyfileobj", full_disk_for_dr)
    with SmtpServer() as server:
        second = run_job(load_job(two_check_job(tmp_path, server.port)), sleep=no_sleep)
        assert len(server.envelopes) == 1  # the e-mail went out first
    assert second.exit_code == 4 and second.state_updated == []
    assert "No space left on device" in second.state_error and "none was replaced" in \
        second.state_error
    assert {name: (tmp_path / "state" / name / "last-results.json").read_bytes()
            for name in ("prod", "dr")} == before
    assert sorted(p.name for p in (tmp_path / "state").rglob("*")) == [
        ".lock", "dr", "last-results.json", "last-results.json", "prod"]
    record = json.loads((second.run_dir / "run.json").read_text())
    assert record["status"] == "failed" and record["state_error"] == second.state_error


def test_a_replacement_cut_short_after_its_commit_is_finished_by_the_next_run(tmp_path):
    """A run killed between `.commit` and the last rename: the next run puts the rest in
    place before it reads a baseline; new files never committed are dropped."""
    job = load_job(two_check_job(tmp_path))
    first = run_job(job)
    state = tmp_path / "state"
    (state / "prod" / "last-results.json.next").write_bytes(b"committed prod")
    (state / "dr" / "last-results.json.next").write_bytes(b"committed dr")
    (state / ".commit").write_text(json.dumps({"checks": ["prod", "dr"]}))
    assert job_state.recover(state) == ["prod", "dr"]
    assert (state / "dr" / "last-results.json").read_bytes() == b"committed dr"
    assert not (state / ".commit").exists()
    (state / "dr" / "last-results.json.next").write_bytes(b"never committed")
    shutil.copy(first.run_dir / "dr" / "results.json", state / "dr" / "last-results.json")
    second = run_job(job)
    assert not list(state.rglob("*.next"))
    assert second.checks[1].previous_at == first.checks[1].results["generated_at"]


def test_run_json_says_how_each_run_ended_and_keep_removes_the_oldest_complete(tmp_path):
    doc = base_job(keep=2)
    job = load_job(write_job(tmp_path, doc))
    other_job = tmp_path / "out" / "2000-01-01_000000"  # same output folder, another state
    other_job.mkdir(parents=True)
    (other_job / "run.json").write_text(json.dumps({
        "format": "migready.run/1", "status": "running", "state": str(tmp_path / "elsewhere"),
        "started_at": "2000-01-01T00:00:00+00:00"}))
    runs = [run_job(job) for _ in range(3)]
    assert [r.status for r in runs] == ["complete"] * 3
    assert not runs[0].run_dir.exists() and runs[1].run_dir.exists() and runs[2].run_dir.exists()
    # a run killed outright still says running; a failed run is kept whatever `keep` says
    killed = json.loads((runs[2].run_dir / "run.json").read_text()) | {"status": "running"}
    (runs[2].run_dir / "run.json").write_text(json.dumps(killed))
    broken = load_job(write_job(tmp_path, doc | {"pools": [{"name": "dr", "import": str(DR)}]}))
    failed = run_job(broken)
    assert failed.status == "failed" and failed.exit_code == 2
    assert json.loads((runs[2].run_dir / "run.json").read_text())["status"] == "interrupted"
    later = [run_job(job) for _ in range(2)]
    statuses = {p.name: json.loads((p / "run.json").read_text())["status"]
                for p in (tmp_path / "out").iterdir()}
    assert statuses == {runs[2].run_dir.name: "interrupted", failed.run_dir.name: "failed",
                        later[0].run_dir.name: "complete", later[1].run_dir.name: "complete",
                        other_job.name: "running"}


def test_signals_wait_for_the_end_of_a_deferred_block():
    with pytest.raises(KeyboardInterrupt), job_run._signals_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        reached = True  # the signal did not cut the block short
    assert reached


class SilentSmtp:
    """Accepts a connection and never says a word: the run hangs in its e-mail step, the last
    one before the state, until the test signals it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def wait_for_client(self, timeout: float) -> None:
        self.sock.settimeout(timeout)
        self.conn, _ = self.sock.accept()

    def close(self) -> None:
        self.sock.close()
        if hasattr(self, "conn"):
            self.conn.close()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_run_leaves_no_half_state(tmp_path, signum, code):
    smtp = SilentSmtp()
    try:
        path = two_check_job(tmp_path, smtp.port)
        proc = subprocess.Popen([sys.executable, "-m", "checker", "run", str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        smtp.wait_for_client(timeout=60)
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=60)
    finally:
        smtp.close()
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    (run_dir,) = (tmp_path / "out").iterdir()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted" and record["exit_code"] == code
    assert [c["verdict"] for c in record["checks"]] == ["blocked", "ready"]
    assert record["mail"]["status"] == "not_reached"
    assert (run_dir / "prod" / "report.en.html").is_file()
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith((".tmp", ".next"))]
    assert leftovers == [] and not (tmp_path / "state" / ".commit").exists()
    assert not list((tmp_path / "state").glob("*/last-results.json"))  # state as it was
