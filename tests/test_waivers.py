"""Waivers: validation with file:line, applying, expiry, unused, --no-waivers."""

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from conftest import DR, SAMPLE_WAIVERS, STORAGE, add_host, cbt_on, derived, nomigrate
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.bundled import schema
from checker.check import CheckOptions, run_check
from checker.waivers import WaiverError, load_waivers

TODAY = dt.date(2026, 11, 25)


@pytest.fixture
def cbt_pools(tmp_path):
    """The sample pools with CBT on db-01's second disk (LIM-005 fails for it), and a
    storage move of db-01 and web-01 to dr-xs8."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(STORAGE, encoding="utf-8")
    return [derived(tmp_path, cbt_on), DR], plan


def write_waivers(tmp_path, body):
    path = tmp_path / "waivers.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def run(pools, plan, waivers=None, **kw):
    return run_check(CheckOptions(inventories=pools, plan=plan, waivers=waivers, today=TODAY,
                                  only=["LIM-005", "MEM-001"], **kw))


def test_waiver_turns_fail_into_waived_and_keeps_the_original(tmp_path, cbt_pools):
    pools, plan = cbt_pools
    assert run(pools, plan)["verdict"] == "blocked"
    results = run(pools, plan, write_waivers(tmp_path, SAMPLE_WAIVERS.format(expires="2026-12-31")))
    waived = [f for f in results["findings"] if f["status"] == "waived"]
    assert [(f["rule"], f["subject"]["name"], f["original_status"]) for f in waived] == [
        ("LIM-005", "db-01 disk 1", "fail")]
    assert waived[0]["waiver"]["ticket"] == "CHG-2026-1204"
    assert results["verdict"] == "ready"
    states = {(w["rule"], w["ticket"]): w["state"] for w in results["waivers"]}
    assert states == {("LIM-005", "CHG-2026-1204"): "applied", ("MEM-001", "CHG-2026-1205"): "unused"}


def test_expired_waiver_waives_nothing_and_is_reported(tmp_path, cbt_pools):
    pools, plan = cbt_pools
    results = run(pools, plan, write_waivers(tmp_path, SAMPLE_WAIVERS.format(expires="2026-11-01")))
    assert results["verdict"] == "blocked"
    assert not [f for f in results["findings"] if f["status"] == "waived"]
    assert {w["ticket"]: w["state"] for w in results["waivers"]}["CHG-2026-1204"] == "expired"


def test_no_waivers_gives_the_raw_picture(tmp_path, cbt_pools):
    pools, plan = cbt_pools
    results = run(pools, plan, write_waivers(tmp_path, SAMPLE_WAIVERS.format(expires="2026-12-31")),
                  no_waivers=True)
    assert results["verdict"] == "blocked"
    assert results["waivers"] == []


def test_a_waiver_for_some_destinations_splits_the_grouped_finding(tmp_path):
    # Audit of three hosts: db-01's local disks fail LIVE-001 on ch82-h2 and ch82-h3; the
    # waiver covers ch82-h3 only.
    pool = derived(tmp_path, lambda objects: add_host(objects, "ch82-h2", "ch82-h3"))
    waivers = write_waivers(tmp_path, """waivers:
  - rule: LIVE-001
    subjects: [db-01]
    targets: [ch82-h3]
    reason: "moved by storage migration in the window"
    approved_by: ops lead
    ticket: CHG-7
    expires: 2026-12-31
""")
    results = run_check(CheckOptions(inventories=[pool], waivers=waivers, today=TODAY, only=["LIVE-001"]))
    sweep = next(o["id"] for o in results["operations"]
                 if o["kind"] == "live" and o["vm"]["name"] == "db-01")
    disk0 = sorted((f["status"], f.get("targets"), f["message"]) for f in results["findings"]
                   if f["operation"] == sweep and f["subject"]["name"] == "db-01 disk 0")
    assert disk0 == [
        ("fail", ["ch82-h2"], "VM 'db-01': disk 'db-01 disk 0' is on SR 'Local storage ch82-h1', "
                              "which is not attached on destination host 'ch82-h2'"),
        ("waived", ["ch82-h3"], "VM 'db-01': disk 'db-01 disk 0' is on SR 'Local storage ch82-h1', "
                                "which is not attached on destination host 'ch82-h3'")]
    sweep_op = next(o for o in results["operations"] if o["id"] == sweep)
    assert sweep_op["destination"]["hosts"] == {"ch82-h2": "blocked", "ch82-h3": "ready"}
    (register,) = results["waivers"]
    assert (register["state"], register["targets"]) == ("applied", ["ch82-h3"])


def test_a_waiver_for_one_destination_of_a_failure_everywhere_waives_it_there_only(tmp_path):
    # LIM-004 blocks web-02 whatever the host (one finding for all its destinations): waived
    # on ch82-h3 only, the other destinations stay blocked.
    def nomigrate_three_hosts(objects):
        nomigrate(objects)
        add_host(objects, "ch82-h2", "ch82-h3")

    pool = derived(tmp_path, nomigrate_three_hosts)
    waivers = write_waivers(tmp_path, """waivers:
  - rule: LIM-004
    subjects: [web-02]
    targets: [ch82-h3]
    reason: "moved in the window after the flag is cleared"
    approved_by: ops lead
    ticket: CHG-8
    expires: 2026-12-31
""")
    results = run_check(CheckOptions(inventories=[pool], waivers=waivers, today=TODAY, only=["LIM-004"]))
    sweep = next(o for o in results["operations"] if o["kind"] == "live" and o["vm"]["name"] == "web-02")
    found = sorted((f["status"], f.get("targets"), f.get("all_targets")) for f in results["findings"]
                   if f["operation"] == sweep["id"])
    others = sorted(h for h in sweep["destination"]["hosts"] if h != "ch82-h3")
    assert found == [("fail", others, None), ("waived", ["ch82-h3"], None)]
    assert sweep["destination"]["hosts"] == {**{h: "blocked" for h in others}, "ch82-h3": "ready"}


def test_invalid_waivers_are_listed_with_file_and_line(tmp_path):
    path = write_waivers(tmp_path, """waivers:
  - rule: LIM-007
    subjects: [web-01]
    reason: too far ahead
    approved_by: J. Sato
    ticket: CHG-1
    expires: 2027-12-31
  - rule: LIM-007
    subjects: ["*"]
    reason: everything
    approved_by: J. Sato
    ticket: CHG-2
    expires: 2026-12-01
  - rule: LIM-007
    subjects: [web-01]
    approved_by: J. Sato
    ticket: CHG-3
    expires: 2026-12-01
    colour: red
""")
    with pytest.raises(WaiverError) as exc:
        load_waivers(path, today=TODAY)
    assert exc.value.details == [
        f"{path}:7:5: waivers.0.expires: 2027-12-31 is more than 180 days ahead: "
        "waivers must be reviewed at least twice a year",
        f'{path}:8:5: waivers.1: "*" waives every subject: it needs `pool:` to limit it',
        f"{path}:14:5: waivers.2: reason is required",
        f"{path}:19:5: waivers.2.colour: unknown key (expected one of: approved_by, expires, pool, "
        "reason, rule, subjects, targets, ticket)",
    ]


def test_targets_are_kept_in_the_waiver_and_its_register_entry(tmp_path):
    path = write_waivers(tmp_path, """waivers:
  - rule: MEM-001
    subjects: [db-01]
    targets: [ch82-h2, ch82-h3]
    reason: r
    approved_by: J. Sato
    ticket: CHG-1
    expires: 2026-12-01
  - rule: MEM-001
    subjects: [web-01]
    reason: r
    approved_by: J. Sato
    ticket: CHG-2
    expires: 2026-12-01
""")
    with_targets, without = load_waivers(path, today=TODAY)
    assert with_targets.targets == ["ch82-h2", "ch82-h3"] and without.targets is None
    assert with_targets.as_json("unused")["targets"] == ["ch82-h2", "ch82-h3"]
    assert "targets" not in without.as_json("unused")


@pytest.mark.parametrize(("line", "message"), [
    ("targets: []", "waivers.0.targets: expected a list of destination host names"),
    ("targets: ch82-h2", "waivers.0.targets: expected a list of destination host names"),
    ("expire: 2026-12-01", "waivers.0.expire: unknown key (did you mean expires? expected one of: "),
])
def test_a_bad_waiver_key_is_named_with_what_was_expected(tmp_path, line, message):
    path = write_waivers(tmp_path, "waivers:\n  - rule: MEM-001\n    subjects: [db-01]\n    reason: r\n"
                                   "    approved_by: J. Sato\n    ticket: CHG-1\n    expires: 2026-12-01\n"
                                   f"    {line}\n")
    with pytest.raises(WaiverError) as exc:
        load_waivers(path, today=TODAY)
    assert exc.value.details[0].startswith(f"{path}:8:5: {message}")


# ---------------------------------------------------------------------------------
# Property: whatever the file holds, waivers or a located error (exit 2), never a crash
# ---------------------------------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers(-10, 10**9) | st.text(max_size=12) | st.dates()
           | st.sampled_from(["MEM-001", "LIM-005", "web-01", "*", "prod-ch82", "2026-12-01",
                              "2026-02-30", "uuid:x"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["tag", "x"]), inner, max_size=2), max_leaves=10)
KEYS = set(schema("waivers")["$defs"]["waiver"]["properties"])
WAIVER = st.fixed_dictionaries({}, optional={key: VALUES for key in sorted(KEYS | {"colour"})})
DOCUMENT = st.fixed_dictionaries({"waivers": st.lists(WAIVER | VALUES, max_size=3) | VALUES},
                                 optional={"extra": VALUES})


def waivers_or_located_error(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    try:
        load_waivers(path, today=TODAY, known_rules={"MEM-001", "LIM-005"})
    except WaiverError as exc:  # exit 2: it must say where
        assert re.search(re.escape(str(path)) + r":\d+:\d+: ", str(exc)), str(exc)


@pytest.fixture(scope="module")
def waivers_file(tmp_path_factory):
    return tmp_path_factory.mktemp("property") / "waivers.yaml"


@settings(max_examples=150, deadline=None)
@given(content=st.binary(max_size=600))
def test_arbitrary_bytes_give_waivers_or_a_located_error(waivers_file, content):
    waivers_or_located_error(waivers_file, content)


@settings(max_examples=200, deadline=None)
@given(doc=DOCUMENT)
def test_near_valid_waivers_give_waivers_or_a_located_error(waivers_file, doc):
    waivers_or_located_error(waivers_file, yaml.safe_dump(doc, allow_unicode=True).encode())
