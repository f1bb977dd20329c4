"""checker/results.py: results read back (report, diff, the job's last results) are
validated; a document missing findings or with an unknown status or verdict is exit 2."""

from __future__ import annotations

import json

import pytest
from conftest import PROD

from checker.check import CheckOptions, run_check
from checker.cli import main
from checker.errors import InputError
from checker.results_read import validate_results


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


def test_a_grouped_message_names_its_destinations_in_short():
    from checker.evaluate import DESTINATION
    from checker.results import name_targets

    en = f"disk 'd0' is not attached on destination host '{DESTINATION}'"
    ja = f"このSRは移行先ホスト「{DESTINATION}」に接続されていません"
    hosts = [f"xs{n:02}" for n in range(1, 13)]
    cases = [
        (en, ["xs05"], 63, False, "en", "on destination host 'xs05'"),
        (en, hosts, 12, True, "en", "on each of the 12 other hosts"),
        (en, hosts[:2], 63, False, "en", "on each of hosts 'xs01' and 'xs02'"),
        (en, hosts, 63, False, "en",
         "on each of 12 of the 63 other hosts ('xs01', 'xs02', 'xs03' and 9 more)"),
        (ja, hosts, 12, True, "ja", "移行先ホスト(他の12台すべて)に"),
        (ja, hosts[:3], 63, False, "ja", "移行先ホスト「xs01」「xs02」「xs03」に"),
        (ja, hosts, 63, False, "ja", "移行先ホスト(他の63台のうち12台:xs01、xs02、xs03ほか9台)に"),
    ]
    for text, targets, total, everywhere, lang, expected in cases:
        shown = name_targets(text, targets, total, everywhere, lang)
        assert expected in shown and DESTINATION not in shown, shown
