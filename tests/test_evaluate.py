"""The evaluator's sharing of work in the readiness audit (checker/evaluate.py): what it
reuses across destinations must give exactly what evaluating each destination would."""

from __future__ import annotations

import pytest
from conftest import add_host, by_name, derived, management_nic_at, real_inventory

import checker.evaluate
from checker.check import CheckOptions, run_check
from checker.facts import World
from checker.plan import audit_plan
from checker.policy import load_rules


def three_hosts(objects):
    """ch82-h3, made like ch82-h2: db-01's disks on ch82-h1's local SR fail LIVE-001 twice."""
    add_host(objects, "ch82-h2", "ch82-h3")


@pytest.fixture
def pool(tmp_path):
    return derived(tmp_path, three_hosts)


def live_failures(results):
    """LIVE-001's failures by disk: one finding each, for every host it fails on."""
    return {f["subject"]["name"]: f for f in results["findings"]
            if f["rule"] == "LIVE-001" and f["status"] == "fail" and f["operation"] == "op-3"}


def test_a_failure_on_every_destination_is_one_finding_naming_them_all(pool):
    failures = live_failures(run_check(CheckOptions([pool], only=["LIVE-001"])))
    assert sorted(failures) == ["db-01 disk 0", "db-01 disk 1"]
    disk = failures["db-01 disk 1"]
    assert disk["all_targets"] and "targets" not in disk
    assert disk["message"] == ("VM 'db-01': disk 'db-01 disk 1' is on SR 'Local storage ch82-h1', "
                               "which is not attached on each of the 2 other hosts")
    assert disk["messages"]["ja"].endswith("移行先ホスト(他の2台すべて)に接続されていません")
    # What is the same on both hosts is the evidence; what differs is under its host.
    assert disk["evidence"] == {"disk.sr": "Local storage ch82-h1"}
    assert disk["evidence_by_target"] == {
        "ch82-h2": {"dst_host.attached_srs": ["Local storage ch82-h2", "Shared iSCSI", "ISO library"]},
        "ch82-h3": {"dst_host.attached_srs": ["Shared iSCSI", "ISO library"]}}


def test_messages_rendered_once_for_many_hosts_equal_each_hosts_own(pool, monkeypatch):
    shared = run_check(CheckOptions([pool], only=["LIVE-001", "LIVE-003"]))["findings"]
    monkeypatch.setattr(checker.evaluate, "names_destination_only", lambda rule: False)
    one_by_one = run_check(CheckOptions([pool], only=["LIVE-001", "LIVE-003"]))["findings"]
    assert live_failures({"findings": shared}) and shared == one_by_one


def test_which_rules_may_share_a_rendering():
    rules = {rule.id: rule for rule in load_rules().rules}
    # LIVE-001 names the destination only; LIVE-003 lists the networks it lacks.
    assert checker.evaluate.names_destination_only(rules["LIVE-001"])
    assert not checker.evaluate.names_destination_only(rules["LIVE-003"])
    assert not checker.evaluate.names_destination_only(rules["MEM-001"])  # its free memory
    # Advice grouped over hosts: LIM-008 reads nothing of the destination; LIVE-004 reads
    # the bandwidth its assertion reads (equal in a host class); LIVE-001 the host's name.
    shared_by = checker.evaluate.message_shared_by
    assert [shared_by(rules[r]) for r in ("LIM-008", "LIVE-004", "LIVE-001")] == ["sweep", "class", "host"]


def test_an_unknown_estimate_names_its_own_vm_in_every_sweep():
    """state2 (schema 5.57) has no VM.memory_overhead: every VM's footprint is unknown for
    the same reason. Each live sweep's LIM-009 finding must name that sweep's VM, not the
    first VM whose (missing) footprint filled the cache."""
    world = World([real_inventory("xenadmin/state2.xml")])
    evaluation = checker.evaluate.evaluate(world, load_rules().only(["LIM-009"]), audit_plan(world))
    named = {op.move.vm.name: [f.messages["en"] for f in op.findings]
             for op in evaluation.operations if op.move.sweep is not None}
    assert sorted(named) == [f"Debian Etch 4.0 ({n})" for n in range(1, 5)]
    for vm, messages in named.items():
        assert messages == [f"Could not be decided: op.estimate_seconds: VM '{vm}' memory_footprint: "
                            "VM.memory_overhead is not in the inventory"]


def h2_and_h3_without_metrics(objects):
    """ch82-h3 made like ch82-h2, then both hosts' host.metrics dangle alike: their free
    memory is unknown for the same reason, and MEM-001 must say which host's."""
    add_host(objects, "ch82-h2", "ch82-h3")
    for name in ("ch82-h2", "ch82-h3"):
        by_name(objects, "host", name)["metrics"] = "OpaqueRef:gone"


def test_an_unknown_free_memory_on_two_hosts_names_both_not_one(tmp_path):
    path = derived(tmp_path, h2_and_h3_without_metrics)
    findings = run_check(CheckOptions([path], only=["MEM-001"]))["findings"]
    unknown = [f for f in findings if f["status"] == "unknown" and f["subject"]["name"] == "web-01"
               and f.get("all_targets")]
    assert [f["gap"] for f in unknown] == [{
        "field": "op.dst_free_memory",
        "reason": "each of the 2 other hosts free_memory: host.metrics points at host_metrics "
                  "OpaqueRef:gone, which is not in the inventory"}]
    assert "ch82-h2" not in unknown[0]["message"] and "ch82-h3" not in unknown[0]["message"]
    # web-02 lives on ch82-h2: its one other host without metrics is named.
    web02 = [f for f in findings if f["status"] == "unknown" and f["subject"]["name"] == "web-02"
             and f.get("targets")]
    assert [(f["targets"], "host 'ch82-h3' free_memory" in f["message"]) for f in web02] == [
        (["ch82-h3"], True)]


def slower_nics(objects):
    """ch82-h3 and ch82-h4 made like ch82-h2, their management NICs at 1 Gbit/s and
    100 Mbit/s (PIF_metrics.speed): LIVE-004 advises on both, each at its own bandwidth."""
    for name, mbits in (("ch82-h3", 1000), ("ch82-h4", 100)):
        add_host(objects, "ch82-h2", name)
        management_nic_at(objects, name, mbits)


def test_advice_for_several_hosts_shows_each_ones_bandwidth(tmp_path):
    findings = run_check(CheckOptions([derived(tmp_path, slower_nics)], only=["LIVE-004"]))["findings"]
    advice = {tuple(f["targets"]): f["message"] for f in findings
              if f["subject"]["name"] == "web-01" and f["status"] == "fail" and "targets" in f}
    assert advice == {
        ("ch82-h3",): "VM 'web-01': migration bandwidth 1 Gbit/s (management NIC of the destination), "
                      "below 10 Gbit/s or unknown; compression is off in pool 'prod-ch82'",
        ("ch82-h4",): "VM 'web-01': migration bandwidth 100 Mbit/s (management NIC of the destination), "
                      "below 10 Gbit/s or unknown; compression is off in pool 'prod-ch82'",
    }
