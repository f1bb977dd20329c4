"""Triage: findings merged per (rule, VM or host), groups per rule, data gaps, passes as counts.

`audit_results` writes a `migready.results/2` readiness audit by hand, per the /2 contract
(targets, all_targets, evidence_by_target, gap), at any size: the text and report tests use
it for a 5,000-VM audit without computing one.
"""

from collections import Counter
from typing import Any

from conftest import PROD

from checker.check import CheckOptions, run_check
from checker.triage import Problem, build_triage, short_destinations, short_list


def _finding(rule: str, status: str, severity: str, op: str, subject: dict[str, Any], message: str,
             ja: str, **extra: Any) -> dict[str, Any]:
    out = {"rule": rule, "status": status, "severity": severity, "operation": op, "subject": subject,
           "message": message, "messages": {"ja": ja}, "evidence": {}, "seed": "§1", "waiver": None}
    if status in {"fail", "unknown", "waived"}:
        out.update(basis="xapi", xapi_errors=["VM_REQUIRES_SR"], remediation=f"fix {rule}")
    out.update(extra)
    return out


def audit_results(vms: int = 120, hosts: int = 8, *, local_every: int = 10,
                  windows_every: int = 3, gaps: int = 8) -> dict[str, Any]:
    """A /2 audit of `vms` VMs on `hosts` hosts: every `local_every`-th VM has 4 disks on its
    host's local SR (LIVE-001 fails for every other host), every `windows_every`-th lacks
    its management agent (GEN-012, a warning), the first `gaps` VMs cannot be decided on
    CPU-002 for the last two hosts; every host with a local-disk VM cannot be
    evacuated (EVAC-001); every other check passes, grouped."""
    names = [f"xs{h + 1:02d}" for h in range(hosts)]
    ops: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    blocked_hosts: set[str] = set()
    for i in range(vms):
        vm, home = f"vm-{i:05d}", names[i % hosts]
        others = [h for h in names if h != home]
        op = f"op-{i + 1}"
        subject = {"class": "VM", "uuid": f"u-{i}", "name": vm}
        verdict = "ready"
        if i % local_every == 0:
            verdict = "blocked"
            blocked_hosts.add(home)
            for d in range(4):
                findings.append(_finding(
                    "LIVE-001", "fail", "blocker", op,
                    {"class": "VDI", "uuid": f"d-{i}-{d}", "name": f"{vm} disk {d}"},
                    f"VM '{vm}': disk '{vm} disk {d}' is on SR 'Local storage ({home})', which is not "
                    f"attached on each of the {len(others)} other hosts",
                    f"仮想マシン「{vm}」の仮想ディスクはローカルSRにあります(他の{len(others)}台すべて)",
                    all_targets=True, command=f"xe vdi-pool-migrate uuid=d-{i}-{d} sr-uuid=shared"))
        if i % windows_every == 0:
            verdict = "blocked" if verdict == "blocked" else "ready_with_warnings"
            findings.append(_finding("GEN-012", "fail", "warning", op, subject,
                                     f"VM '{vm}': the management agent is not running",
                                     f"仮想マシン「{vm}」の管理エージェントは動作していません",
                                     all_targets=True))
        if i < gaps:
            verdict = "undecided" if verdict != "blocked" else verdict
            findings.append(_finding(
                "CPU-002", "unknown", "blocker", op, subject, f"VM '{vm}': CPU features unknown",
                f"仮想マシン「{vm}」のCPU機能は不明です", targets=names[-2:],
                gap={"field": "dst_host.cpu_features_pv", "reason": "host.cpu_info has no features_pv "
                                                                     "(XenServer before 7.0)"}))
        findings.append(_finding("MEM-001", "pass", "blocker", op, subject, "enough memory", "十分",
                                 all_targets=True))
        ops.append({"id": op, "kind": "live", "wave": 1, "verdict": verdict,
                    "vm": {"uuid": f"u-{i}", "name": vm}, "source": {"pool": "bench", "host": home},
                    "destination": {"pool": "bench", "hosts": {h: verdict for h in others}}})
    for h, host in enumerate(names):
        op = f"op-{vms + h + 1}"
        verdict = "blocked" if host in blocked_hosts else "ready"
        ops.append({"id": op, "kind": "evacuate", "wave": 1, "verdict": verdict,
                    "host": {"uuid": f"h-{h}", "name": host}, "source": {"pool": "bench", "host": host},
                    "destination": {"pool": "bench"}, "estimate_seconds": 60})
        if verdict == "blocked":
            findings.append(_finding("EVAC-001", "fail", "blocker", op,
                                     {"class": "host", "uuid": f"h-{h}", "name": host},
                                     f"host '{host}': a target refuses some VMs", f"ホスト「{host}」"))
    by_verdict: dict[str, int] = {}
    for o in ops:
        by_verdict[o["verdict"]] = by_verdict.get(o["verdict"], 0) + 1
    worst = next(v for v in ("blocked", "undecided", "ready_with_warnings", "ready") if v in by_verdict)
    return {
        "format": "migready.results/2", "generated_at": "2026-11-26T12:00:00Z",
        "tool": {"name": "migready", "version": "test"}, "mode": "audit",
        "inputs": {"inventories": [{"pool": "bench", "versions": ["XenServer 8"], "file": "bench.json",
                                    "sha256": "0" * 64, "collected_at": "2026-11-26T11:00:00Z"}],
                   "policies": {"sha256": "1" * 64}},
        "assumptions": [], "verdict": worst,
        "summary": {"operations": len(ops), "by_verdict": by_verdict},
        "operations": ops, "findings": findings, "waivers": [], "capacity": [],
        "rules": [{"id": r, "title": {"en": f"{r} title", "ja": f"{r}の題"}, "severity": s, "kinds": ["live"],
                   "remediation": {"en": f"fix {r}", "ja": f"{r}を直す"}}
                  for r, s in (("LIVE-001", "blocker"), ("GEN-012", "warning"), ("CPU-002", "blocker"),
                               ("EVAC-001", "blocker"), ("MEM-001", "blocker"))],
    }


def test_destinations_in_short_form_in_both_languages():
    hosts = [f"xs{n:02d}" for n in range(1, 13)]
    assert short_list(hosts[:1]) == "xs01"
    assert short_list(hosts[:3]) == "xs01, xs02 and xs03"
    assert short_list(hosts) == "xs01, xs02, xs03 and 9 more"
    assert short_list(hosts, "ja") == "xs01、xs02、xs03ほか9台"
    every = Problem("LIVE-001", "fail", "blocker", "vm-1", "VM", all_destinations=True, sweep_size=63)
    assert short_destinations(every) == "all 63 other hosts"
    assert short_destinations(every, "ja") == "他の63台すべて"


def test_a_vms_disks_and_moves_are_one_problem_for_every_other_host():
    """/1 results (one finding per disk and destination): db-01's two local disks fail
    LIVE-001 in its live move and in its host's evacuation: one problem."""
    audit = run_check(CheckOptions(inventories=[PROD]))
    t = build_triage(audit)
    live = next(g for g in t.blockers if g.rule == "LIVE-001")
    db01 = next(p for p in live.problems if p.holder == "db-01")
    assert db01.subjects == ["db-01 disk 0", "db-01 disk 1"]
    assert db01.operations == ["op-3", "op-6.2"]
    assert db01.all_destinations and short_destinations(db01) == "the other host"
    assert "ch82-h1" in t.hosts_affected and "db-01" in t.vms_affected
    # Passes are counted from the summary, as the findings count them.
    assert t.passes == Counter(f["rule"] for f in audit["findings"] if f["status"] == "pass")


def test_groups_of_a_5000_vm_audit_are_one_per_rule():
    t = build_triage(audit_results(5000, 64))
    assert [(g.rule, len(g.problems)) for g in t.blockers] == [("LIVE-001", 500), ("EVAC-001", 32)]
    assert [(g.rule, g.vms) for g in t.warnings] == [("GEN-012", 1667)]
    live = t.blockers[0].problems[0]
    assert live.holder == "vm-00000" and len(live.subjects) == 4 and len(live.commands) == 4
    assert short_destinations(live) == "all 63 other hosts"
    assert len(t.vms_affected) == 500 and len(t.hosts_affected) == 32
    assert t.passes == {"MEM-001": 5000}


def test_unknowns_are_data_gaps_by_rule_and_missing_fact():
    t = build_triage(audit_results(40, 10))
    [gap] = t.gaps
    assert (gap.rule, gap.field, len(gap.vms), len(gap.hosts), gap.findings) == (
        "CPU-002", "dst_host.cpu_features_pv", 8, 2, 8)
    assert gap.reason.startswith("host.cpu_info has no features_pv")
    assert not any(g.rule == "CPU-002" for g in t.blockers)   # undecided, not a blocker


def test_a_waived_finding_is_its_own_group():
    doc = audit_results(20, 4)
    waived = next(f for f in doc["findings"] if f["rule"] == "GEN-012")
    waived.update(status="waived", original_status="fail",
                  waiver={"reason": "agent later", "approved_by": "A", "ticket": "CHG-1",
                          "expires": "2027-01-01"})
    t = build_triage(doc)
    assert [(g.rule, len(g.problems)) for g in t.waived] == [("GEN-012", 1)]
    assert t.waived[0].problems[0].waiver["ticket"] == "CHG-1"
    assert len(t.warnings[0].problems) == 6


def test_a_plan_keeps_its_destination():
    from test_report import demo_results  # test_report imports this module

    t = build_triage(demo_results())
    cpu = next(g for g in t.blockers if g.rule == "CPU-001").problems[0]
    assert (cpu.holder, cpu.destinations, short_destinations(cpu)) == ("db-01", ["xs8-h2"], "xs8-h2")


def test_an_unknown_without_a_gap_is_grouped_by_its_message():
    doc = audit_results(10, 4, gaps=2)
    for f in doc["findings"]:
        if f["status"] == "unknown":
            del f["gap"]
            f["message"] = "Could not be decided: the move has no destination host"
    [gap] = build_triage(doc).gaps
    assert (gap.field, gap.reason) == ("", "the move has no destination host")
    assert gap.vms == ["vm-00000", "vm-00001"]
