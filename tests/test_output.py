"""Text and Markdown output: triage first by default, every finding with --detail, the verdict
alone with --quiet; the order operations are listed in, counts in words."""

from conftest import one_host_audit, renumbered
from test_report import POOLS, SAMPLES, demo_results
from test_triage import audit_results

from checker.cli import main
from checker.output import format_detail, format_markdown, format_text


def test_detail_lists_operations_by_number_not_by_character():
    text = format_detail(renumbered(demo_results(), {"op-3": "op-10"}))
    listed = [line.split()[1] for line in text.splitlines() if line.startswith("BLOCKED  ")]
    assert listed == ["op-4", "op-5", "op-6", "op-7", "op-8", "op-10"]


def test_markdown_findings_follow_operation_numbers():
    text = format_markdown(renumbered(demo_results(), {"op-3": "op-10"}))
    fails = [line.split(" | ")[0].strip("| ") for line in text.splitlines() if " | fail | " in line]
    assert fails.index("op-4") < fails.index("op-10") and fails == sorted(
        fails, key=lambda o: int(o.split("-")[1].split(".")[0]))


def test_counts_of_one_are_singular():
    text = format_detail(one_host_audit(demo_results()))
    assert "1 of 1 host ready" in text and "host(s)" not in text and "1 of 1 hosts" not in text


def test_text_gives_each_blocker_group_once_with_its_remedy_and_command():
    text = format_text(demo_results())
    lines = text.splitlines()
    assert lines[1] == "Verdict: BLOCKED — 8 operations: 6 blocked, 2 ready"
    assert "  affected: 5 VMs, 2 hosts to evacuate" in lines
    assert [line.split()[0] for line in lines if line.startswith("LIM-005 ")] == ["LIM-005"]
    lim005 = lines.index("LIM-005 [blocker] 1 VM")
    assert lines[lim005 + 1] == "    XAPI will refuse this move (VDI_CBT_ENABLED)"
    assert lines[lim005 + 2] == "  db-01 (db-01 disk 1) [op-3] → xs8-h2"
    assert lines[lim005 + 4].startswith("      → xe vdi-disable-cbt uuid=")
    assert lines[lim005 + 5].startswith("  → Disable changed block tracking")
    # Passes are a count; the waivers that did nothing are still said.
    assert "passed: 300 findings of 46 rules" in text and "pass " not in text
    assert "waiver expired: GEN-009" in text


def test_the_default_text_of_a_5000_vm_audit_fits_in_300_lines():
    text = format_text(audit_results(5000, 64))
    lines = text.splitlines()
    assert len(lines) <= 300
    assert "  blockers: LIVE-001 500 VMs, EVAC-001 32 hosts" in lines
    assert "  vm-00000 (vm-00000 disk 0, vm-00000 disk 1, vm-00000 disk 2 and 1 more) [op-1] → all 63 " \
           "other hosts" in lines
    assert "  … and 495 more: vm-00050, vm-00060, vm-00070 and 492 more (--detail or the report lists " \
           "them)" in lines
    assert ("  CPU-002 [blocker] undecidable for 8 VMs × 2 hosts: dst_host.cpu_features_pv: host.cpu_info "
            "has no features_pv (XenServer before 7.0)") in lines


def test_quiet_prints_the_verdict_line_and_detail_every_finding(tmp_path, capsys):
    plan, waivers = SAMPLES / "demo-plan.yaml", SAMPLES / "demo-waivers.yaml"
    args = ["check", *map(str, POOLS), "--plan", str(plan), "--waivers", str(waivers)]
    assert main([*args, "--quiet"]) == 1
    assert capsys.readouterr().out == "Verdict: BLOCKED — 8 operations: 6 blocked, 2 ready\n"
    assert main([*args, "--detail"]) == 1
    detail = capsys.readouterr().out
    assert "pass    CPU-001" in detail and "BLOCKED  op-3" in detail
    assert main([*args, "--detail", "--quiet"]) == 2
    assert "choose one" in capsys.readouterr().err

