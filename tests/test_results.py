"""checker/results.py: results read back (report, diff, the job's last results) are
validated; a document missing findings or with an unknown status or verdict is exit 2."""

from __future__ import annotations

import json

import pytest
from conftest import PROD

from checker.check import CheckOptions, run_check
from checker.cli import main
from checker.errors import InputError
from checker.results import validate_results


@pytest.fixture(scope="module")
def results():
    return run_check(CheckOptions(inventories=[PROD], only=["MEM-001"]))


def broken(results, change):
    doc = json.loads(json.dumps(results))
    change(doc)
    return doc


CASES = {
    "no-findings": (lambda d: d.pop("findings"), "  $: 'findings' is a required property"),
    "unknown-status": (lambda d: d["findings"][3].update(status="fine"),
                       "  $.findings[3].status: 'fine' is not one of"),
    "unknown-verdict": (lambda d: d.update(verdict="probably"), "  $.verdict: 'probably' is not one of"),
    "operation-verdict": (lambda d: d["operations"][0].update(verdict="maybe"),
                          "  $.operations[0].verdict: 'maybe' is not one of"),
    "finding-not-object": (lambda d: d["findings"].append([]), "is not of type 'object'"),
    "evidence-not-object": (lambda d: d["findings"][0].update(evidence="none"),
                            "  $.findings[0].evidence: 'none' is not of type 'object'"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_broken_results_document_is_refused_with_its_json_path(results, case):
    change, detail = CASES[case]
    with pytest.raises(InputError) as caught:
        validate_results(broken(results, change), "r.json")
    assert caught.value.message == "r.json: not a valid migready results file"
    assert any(line.startswith(detail) or detail in line for line in caught.value.details), \
        caught.value.details


def test_a_valid_document_passes(results):
    validate_results(json.loads(json.dumps(results)), "r.json")


@pytest.mark.parametrize("command", ["report", "diff"])
def test_report_and_diff_exit_2_on_unknown_status(results, tmp_path, capsys, command):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(results))
    bad.write_text(json.dumps(broken(results, CASES["unknown-status"][0])))
    args = ["report", str(bad)] if command == "report" else ["diff", str(good), str(bad)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"migready: {bad}: not a valid migready results file\n"
                          "  $.findings[3].status: 'fine' is not one of")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "good.json"]
