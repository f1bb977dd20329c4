"""Reading results/1 (checker/results_v1.py): tests/data/results-v1/audit-three-hosts.json
was written by migready before results/2 (commit 531115c), from the audit of the sample
pool with a third host made like ch82-h2 whose host.metrics dangles. Upgraded, it must
read as today's check of the same pool writes it."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import add_host, by_name, derived

from checker.check import CheckOptions, run_check
from checker.cli import main
from checker.diff import diff_results
from checker.output import format_json
from checker.results_read import load_results

V1 = Path(__file__).parent / "data" / "results-v1" / "audit-three-hosts.json"


def three_hosts_one_without_metrics(objects):
    """As the /1 file's pool was made (see the module docstring)."""
    add_host(objects, "ch82-h2", "ch82-h3")
    by_name(objects, "host", "ch82-h3")["metrics"] = "OpaqueRef:gone"


def problems(results):
    """Failures and unknowns as a user reads them, in a comparable shape."""
    keep = ("rule", "status", "operation", "subject", "message", "messages", "evidence",
            "evidence_by_target", "targets", "all_targets", "command", "waiver")
    return sorted(json.dumps({k: f.get(k) for k in keep}, sort_keys=True, ensure_ascii=False)
                   for f in results["findings"] if f["status"] in {"fail", "unknown", "waived"})


def test_a_v1_file_reads_as_todays_results_of_the_same_pool(tmp_path):
    raw = json.loads(V1.read_text(encoding="utf-8"))
    assert raw["format"] == "migready.results/1"
    upgraded = load_results(V1)
    today = run_check(CheckOptions([derived(tmp_path, three_hosts_one_without_metrics)]))
    assert upgraded["format"] == today["format"] == "migready.results/2"
    assert upgraded["verdict"] == today["verdict"] == "blocked"
    assert problems(upgraded) == problems(today)
    # db-01's local disks failed LIVE-001 on each other host: two /1 findings, one now.
    live = [f for f in upgraded["findings"] if f["rule"] == "LIVE-001" and f["status"] == "fail"
            and f["subject"]["name"] == "db-01 disk 0" and "hosts" in next(
                o for o in upgraded["operations"] if o["id"] == f["operation"])["destination"]]
    assert [(f.get("all_targets"), f["message"]) for f in live] == [(True, (
        "VM 'db-01': disk 'db-01 disk 0' is on SR 'Local storage ch82-h1', which is not "
        "attached on each of the 2 other hosts"))]
    assert sorted(f["targets"] for f in raw["findings"] if f["rule"] == "LIVE-001"
                  and f["status"] == "fail" and f["subject"]["name"] == "db-01 disk 0"
                  and f.get("targets")) == [["ch82-h2"], ["ch82-h3"]]
    assert upgraded["summary"]["by_status"] == today["summary"]["by_status"]


def test_diff_and_report_read_a_v1_baseline(tmp_path, capsys):
    new = tmp_path / "new.json"
    new.write_text(format_json(run_check(CheckOptions(
        [derived(tmp_path, three_hosts_one_without_metrics)]))), encoding="utf-8")
    d = diff_results(load_results(V1), load_results(new))
    assert d["new_failures"] == d["resolved"] == d["group_changes"] == []
    assert main(["diff", str(V1), str(new)]) == 0
    assert main(["report", str(V1), "-o", str(tmp_path / "v1.html")]) == 0
    assert "each of the 2 other hosts" in (tmp_path / "v1.html").read_text(encoding="utf-8")
