"""`migready diff OLD NEW` (checker/diff.py and the command): results documents built by
`run_check` on the sample pools (tests/policies/_base) before and after changing one field,
then compared as files through the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    DR,
    PROD,
    SAMPLE_WAIVERS,
    STORAGE,
    TWO_TO_ONE,
    add_host,
    cbt_on,
    derived,
    drop_h2_metrics,
    nomigrate,
    shrink_h2,
)

from checker.check import CheckOptions, run_check
from checker.cli import main
from checker.diff import diff_results, failure_set
from checker.errors import InputError
from checker.output import format_json
from checker.results_read import load_results

TODAY = dt.date(2026, 11, 25)




WAIVERS = SAMPLE_WAIVERS.format(expires="2026-12-31")


# ---------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------

def text_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def results_file(tmp_path: Path, name: str, pools: list[Path], plan: str | None = None, *,
                 only: tuple[str, ...] = ("MEM-001",), waivers: Path | None = None,
                 today: dt.date = TODAY) -> Path:
    """Run the check and write its results (as `check --format json` does) to NAME.json."""
    plan_path = text_file(tmp_path, f"{name}.plan.yaml", plan) if plan else None
    results = run_check(CheckOptions(inventories=pools, plan=plan_path, waivers=waivers,
                                     only=list(only), today=today))
    path = tmp_path / f"{name}.json"
    path.write_text(format_json(results), encoding="utf-8")
    return path


def diff(capsys: pytest.CaptureFixture[str], old: Path, new: Path) -> dict[str, Any]:
    """`migready diff OLD NEW --format json`, parsed; checks it equals the library's answer."""
    code = main(["diff", str(old), str(new), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == (1 if out["new_failures"] or any(g["destinations_added"] for g in out["group_changes"])
                    else 0)
    assert out == diff_results(load_results(old), load_results(new))
    return out


def diff_text(capsys: pytest.CaptureFixture[str], old: Path, new: Path) -> str:
    main(["diff", str(old), str(new)])
    return capsys.readouterr().out


def brief(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((i["rule"], i["subject"], i["status"]) for i in items)


def changes(d: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted((c["rule"], c["subject"], c["from"], c["to"]) for c in d["status_changes"])


# ---------------------------------------------------------------------------------
# Failures: new, resolved, persisting, status changes
# ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def before_after(tmp_path_factory):
    """Two runs of the same plan: as is (ready), then with ch82-h2 shrunk (app-01 fails).
    Made once for the module (the tests only read them)."""
    tmp_path = tmp_path_factory.mktemp("before_after")
    old = results_file(tmp_path, "old", [PROD], TWO_TO_ONE)
    new = results_file(tmp_path, "new", [derived(tmp_path, shrink_h2)], TWO_TO_ONE)
    return old, new


def test_new_failure_and_status_change_pass_to_fail(before_after, capsys):
    old, new = before_after
    d = diff(capsys, old, new)
    assert (d["old"]["verdict"], d["new"]["verdict"], d["verdict_changed"]) == (
        "ready", "blocked", True)
    assert brief(d["new_failures"]) == [("MEM-001", "app-01", "fail")]
    (failure,) = d["new_failures"]
    assert (failure["kind"], failure["destination"], failure["severity"]) == (
        "live", "ch82-h2", "blocker")
    assert failure["message"] == ("host 'ch82-h2' has 11.9 GiB free after 8.1 GiB for earlier "
                                  "moves of the plan; VM 'app-01' needs 16.2 GiB")
    assert failure["messages"]["en"] == failure["message"] and failure["messages"]["ja"]
    assert d["resolved"] == [] and d["persisting"] == []
    assert changes(d) == [("MEM-001", "app-01", "pass", "fail")]
    assert d["waivers_added"] == d["waivers_expired"] == []
    assert d["rules_added"] == d["rules_removed"] == []


def test_exit_status_is_1_with_new_failures_0_without(before_after, capsys):
    old, new = before_after
    assert main(["diff", str(old), str(new)]) == 1
    assert main(["diff", str(new), str(old)]) == 0      # only resolved
    assert main(["diff", str(new), str(new)]) == 0      # only persisting


def test_results_of_different_pools_are_refused_unless_forced(tmp_path, capsys):
    prod = results_file(tmp_path, "prod", [PROD])
    dr = results_file(tmp_path, "dr", [DR])
    assert main(["diff", str(prod), str(dr)]) == 2
    err = capsys.readouterr().err
    assert f"{prod}, {dr}: results of different pools" in err and "--force" in err
    assert main(["diff", str(prod), str(dr), "--force"]) in {0, 1}
    assert "verdict:" in capsys.readouterr().out


def test_results_of_different_plans_are_refused_unless_forced(tmp_path, capsys):
    planned = results_file(tmp_path, "planned", [PROD], TWO_TO_ONE)
    other = results_file(tmp_path, "other", [PROD], TWO_TO_ONE.replace("plan: ", "plan: other-", 1))
    audit = results_file(tmp_path, "audit", [PROD])
    for left, right, named in ((planned, other, "other-"), (planned, audit, "audit")):
        assert main(["diff", str(left), str(right)]) == 2
        err = capsys.readouterr().err
        assert "results of different plans" in err and named in err
    assert main(["diff", str(planned), str(other), "--force"]) == 0


def test_resolved_and_status_change_fail_to_pass(before_after, capsys):
    old, new = before_after
    d = diff(capsys, new, old)   # the other way round: the failure is fixed
    assert (d["old"]["verdict"], d["new"]["verdict"]) == ("blocked", "ready")
    assert brief(d["resolved"]) == [("MEM-001", "app-01", "fail")]  # as it was
    assert d["new_failures"] == [] and d["persisting"] == []
    assert changes(d) == [("MEM-001", "app-01", "fail", "pass")]


def test_persisting_when_nothing_changed(before_after, capsys):
    _, new = before_after
    d = diff(capsys, new, new)
    assert brief(d["persisting"]) == [("MEM-001", "app-01", "fail")]
    assert d["new_failures"] == d["resolved"] == d["status_changes"] == []
    assert d["verdict_changed"] is False


def test_findings_are_matched_by_subject_not_operation_id(tmp_path, capsys):
    # An operation inserted first renumbers the others (app-01: op-2 -> op-3); web-02 goes
    # to the other host, so what happens on ch82-h2 is unchanged.
    src = derived(tmp_path, shrink_h2)
    old = results_file(tmp_path, "old", [src], TWO_TO_ONE)
    new = results_file(tmp_path, "new", [src], TWO_TO_ONE.replace("operations:\n", """operations:
  - kind: live
    vms: [web-02]
    destination: {host: ch82-h1}
"""))
    ops = {o["vm"]["name"]: o["id"] for o in load_results(new)["operations"]}
    assert ops["app-01"] == "op-3"
    d = diff(capsys, old, new)
    assert brief(d["persisting"]) == [("MEM-001", "app-01", "fail")]
    assert d["new_failures"] == d["resolved"] == d["status_changes"] == []


def test_unknown_to_fail_persists_and_is_a_json_status_change_only(tmp_path, capsys):
    # Both are problems: the failure persists; the change shows in JSON, not in the text.
    old = results_file(tmp_path, "old", [derived(tmp_path, drop_h2_metrics)], TWO_TO_ONE)
    new = results_file(tmp_path, "new", [derived(tmp_path, shrink_h2)], TWO_TO_ONE)
    d = diff(capsys, old, new)
    assert (d["old"]["verdict"], d["new"]["verdict"]) == ("undecided", "blocked")
    assert brief(d["persisting"]) == [("MEM-001", "app-01", "fail")]
    assert brief(d["new_failures"]) == []
    assert brief(d["resolved"]) == [("MEM-001", "web-01", "unknown")]
    assert changes(d) == [("MEM-001", "app-01", "unknown", "fail"),
                          ("MEM-001", "web-01", "unknown", "pass")]
    text = diff_text(capsys, old, new)
    assert "status changes: 1\n  MEM-001 web-01 -> ch82-h2: unknown -> pass\n" in text
    assert "app-01 -> ch82-h2: unknown -> fail" not in text


def test_audit_failures_are_matched_per_destination(tmp_path, capsys):
    # Readiness audit, ch82-h2 shrunk: db-01 (on ch82-h1) no longer fits there, live or
    # in ch82-h1's evacuation, where app-01 then takes the room web-01 needed.
    old = results_file(tmp_path, "old", [PROD])
    new = results_file(tmp_path, "new", [derived(tmp_path, shrink_h2)])
    d = diff(capsys, old, new)
    assert sorted((f["rule"], f["kind"], f["subject"], f["destination"])
                  for f in d["new_failures"]) == [
        ("MEM-001", "evacuate", "db-01", "ch82-h2"),
        ("MEM-001", "evacuate", "web-01", "ch82-h2"),
        ("MEM-001", "live", "db-01", "ch82-h2"),
    ]
    assert d["resolved"] == [] and d["persisting"] == []
    assert sorted((c["kind"], c["subject"], c["from"], c["to"]) for c in d["status_changes"]
                  if c["kind"] == "evacuate") == [
        ("evacuate", "db-01", "pass", "fail"), ("evacuate", "web-01", "pass", "fail")]


def test_audit_failure_for_every_destination_is_one_entry(tmp_path, capsys):
    # LIM-004 blocks web-02 whatever the host: one finding for every destination of its
    # sweep ("*"), and one in its host's evacuation (to ch82-h1).
    old = results_file(tmp_path, "old", [PROD], only=("LIM-004",))
    new = results_file(tmp_path, "new", [derived(tmp_path, nomigrate)], only=("LIM-004",))
    d = diff(capsys, old, new)
    assert sorted((f["kind"], f["subject"], f["destination"]) for f in d["new_failures"]) == [
        ("evacuate", "web-02", "ch82-h1"), ("live", "web-02", "*")]
    assert sorted((c["kind"], c["from"], c["to"]) for c in d["status_changes"]) == [
        ("evacuate", "pass", "fail"), ("live", "pass", "fail")]
    d = diff(capsys, new, old)
    assert sorted((f["kind"], f["destination"]) for f in d["resolved"]) == [
        ("evacuate", "ch82-h1"), ("live", "*")]


def third_host(objects):
    """ch82-h3, made like ch82-h2 (which sees no local SR of ch82-h1)."""
    add_host(objects, "ch82-h2", "ch82-h3")


def test_a_destination_joining_a_failure_is_a_group_change_not_new_failures(tmp_path, capsys):
    # db-01's disks are on ch82-h1's local SR: LIVE-001 fails on ch82-h2; a third host
    # joins the pool and the same failures now hold for it too.
    old = results_file(tmp_path, "old", [PROD], only=("LIVE-001",))
    new = results_file(tmp_path, "new", [derived(tmp_path, third_host)], only=("LIVE-001",))
    d = diff(capsys, old, new)
    live = [(g["subject"], g["destinations_added"], g["destinations_removed"], g["destination"])
            for g in d["group_changes"] if g["kind"] == "live"]
    assert sorted(live) == [("db-01 disk 0", ["ch82-h3"], [], "*"),
                            ("db-01 disk 1", ["ch82-h3"], [], "*")]
    assert not [f for f in d["new_failures"] if f["subject"].startswith("db-01 disk")]
    assert main(["diff", str(old), str(new)]) == 1
    assert "  LIVE-001 live db-01 disk 0: now also ch82-h3\n" in capsys.readouterr().out
    back = diff(capsys, new, old)
    assert sorted((g["subject"], g["destinations_removed"]) for g in back["group_changes"]
                  if g["kind"] == "live") == [("db-01 disk 0", ["ch82-h3"]), ("db-01 disk 1", ["ch82-h3"])]
    assert main(["diff", str(new), str(old)]) == 0


def test_advice_is_not_a_failure(tmp_path, capsys):
    # LIM-008 (info) "fails" for every running VM: advice, neither new nor persisting.
    old = results_file(tmp_path, "old", [PROD], only=("LIM-008",))
    assert any(f["status"] == "fail" for f in load_results(old)["findings"])
    d = diff(capsys, old, old)
    assert d["new_failures"] == d["persisting"] == d["resolved"] == d["status_changes"] == []
    assert failure_set(load_results(old)) == set()


# ---------------------------------------------------------------------------------
# Text output
# ---------------------------------------------------------------------------------

def test_text_output(before_after, capsys):
    old, new = before_after
    times = [load_results(p)["generated_at"] for p in (old, new)]
    assert diff_text(capsys, old, new) == (
        f"verdict: ready -> blocked ({times[0]} -> {times[1]})\n"
        "new failures: 1\n"
        "  MEM-001 [blocker] fail live app-01 -> ch82-h2: host 'ch82-h2' has 11.9 GiB free after "
        "8.1 GiB for earlier moves of the plan; VM 'app-01' needs 16.2 GiB\n"
        "resolved: 0\n"
        "persisting: 0\n"
        "status changes: 1\n"
        "  MEM-001 app-01 -> ch82-h2: pass -> fail\n")
    # Persisting failures are counted, not listed.
    text = diff_text(capsys, new, new)
    assert "persisting: 1\n" in text and "app-01" not in text and "status changes" not in text


# ---------------------------------------------------------------------------------
# Waivers and rule sets
# ---------------------------------------------------------------------------------

@pytest.fixture
def cbt(tmp_path):
    """db-01's disk 1 has CBT on (LIM-005 fails for it) in a storage move to dr-xs8."""
    return [derived(tmp_path, cbt_on), DR]


def test_waivers_added(tmp_path, cbt, capsys):
    only = ("LIM-005", "MEM-001")
    old = results_file(tmp_path, "old", cbt, STORAGE, only=only)
    new = results_file(tmp_path, "new", cbt, STORAGE, only=only,
                       waivers=text_file(tmp_path, "waivers.yaml", WAIVERS))
    d = diff(capsys, old, new)
    assert d["waivers_added"] == ["LIM-005 (CHG-2026-1204)", "MEM-001 (CHG-2026-1205)"]
    assert d["waivers_expired"] == []
    # A waived failure no longer counts as a problem: resolved, fail -> waived.
    assert brief(d["resolved"]) == [("LIM-005", "db-01 disk 1", "fail")]
    assert changes(d) == [("LIM-005", "db-01 disk 1", "fail", "waived")]
    assert (d["old"]["verdict"], d["new"]["verdict"]) == ("blocked", "ready")
    text = diff_text(capsys, old, new)
    assert "waivers added: LIM-005 (CHG-2026-1204), MEM-001 (CHG-2026-1205)\n" in text
    assert "  LIM-005 db-01 disk 1 -> xs8-h1: fail -> waived\n" in text


def test_waivers_expired(tmp_path, cbt, capsys):
    only = ("LIM-005", "MEM-001")
    waivers = text_file(tmp_path, "waivers.yaml", WAIVERS)
    old = results_file(tmp_path, "old", cbt, STORAGE, only=only, waivers=waivers)
    new = results_file(tmp_path, "new", cbt, STORAGE, only=only, waivers=waivers,
                       today=dt.date(2027, 1, 5))   # both waivers ended on 2026-12-31
    assert {w["ticket"]: w["state"] for w in load_results(old)["waivers"]} == {
        "CHG-2026-1204": "applied", "CHG-2026-1205": "unused"}
    d = diff(capsys, old, new)
    assert d["waivers_expired"] == ["LIM-005 (CHG-2026-1204)", "MEM-001 (CHG-2026-1205)"]
    assert d["waivers_added"] == []
    # The failure the waiver covered is back.
    assert brief(d["new_failures"]) == [("LIM-005", "db-01 disk 1", "fail")]
    assert changes(d) == [("LIM-005", "db-01 disk 1", "waived", "fail")]
    assert "waivers expired: LIM-005 (CHG-2026-1204), MEM-001 (CHG-2026-1205)\n" in diff_text(
        capsys, old, new)
    # Still expired next time: reported once, when it expires.
    assert diff(capsys, new, new)["waivers_expired"] == []


def test_rule_set_changes(tmp_path, cbt, capsys):
    old = results_file(tmp_path, "old", cbt, STORAGE, only=("MEM-001",))
    new = results_file(tmp_path, "new", cbt, STORAGE, only=("MEM-001", "LIM-005"))
    d = diff(capsys, old, new)
    assert (d["rules_added"], d["rules_removed"]) == (["LIM-005"], [])
    assert brief(d["new_failures"]) == [("LIM-005", "db-01 disk 1", "fail")]
    assert "rules added: LIM-005\n" in diff_text(capsys, old, new)

    d = diff(capsys, new, old)
    assert (d["rules_added"], d["rules_removed"]) == ([], ["LIM-005"])
    assert d["new_failures"] == [] and d["persisting"] == []
    assert "rules removed: LIM-005\n" in diff_text(capsys, new, old)


# ---------------------------------------------------------------------------------
# Bad input: exit 2, the file named
# ---------------------------------------------------------------------------------

NOT_RESULTS = ": not a migready results file (format migready.results/1 or migready.results/2)"


@pytest.mark.parametrize(("content", "error"), [
    ("verdict: ready\n", ":1:1: not JSON: Expecting value"),
    ('{"format": "migready.results/1",', ":1:33: not JSON: Expecting property name"),
    ("[]", NOT_RESULTS),
    ('{"format": "migready.inventory/1"}', NOT_RESULTS),
], ids=["yaml", "truncated", "list", "inventory"])
def test_bad_input_exits_2_naming_the_file(before_after, tmp_path, capsys, content, error):
    good, _ = before_after
    bad = text_file(tmp_path, "bad.json", content)
    for args in ([bad, good], [good, bad]):
        assert main(["diff", *map(str, args)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith(f"migready: {bad}{error}")
        assert str(good) not in captured.err


def test_a_real_inventory_is_not_a_results_file(before_after, capsys):
    good, _ = before_after
    assert main(["diff", str(good), str(PROD)]) == 2
    assert capsys.readouterr().err == (
        f"migready: {PROD}: not a migready results file (format migready.results/1 or migready.results/2)\n")


def test_missing_file(before_after, tmp_path, capsys):
    good, _ = before_after
    missing = tmp_path / "nowhere.json"
    assert main(["diff", str(good), str(missing)]) == 2
    assert capsys.readouterr().err == f"migready: {missing}: no such file\n"
    with pytest.raises(InputError, match="no such file"):
        load_results(missing)
