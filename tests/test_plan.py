"""Plans: selectors, errors with file:line, expansion of rolling upgrades, the audit."""

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import by_name, derived, real_inventory
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.bundled import schema
from checker.errors import InputError
from checker.facts import World
from checker.inventory import Inventory
from checker.plan import (
    RANKED_MISSES,
    PlanError,
    audit_plan,
    load_plan,
    parse_duration,
    parse_size_rate,
)

BASE = Path(__file__).parent / "policies" / "_base"
TAMPA, STATE4 = "xenadmin/tampa-db_inc_snapshots.xml", "xenadmin/state4.xml"


@pytest.fixture(scope="module")
def world():
    return World([Inventory.load(BASE / "prod-ch82.json"), Inventory.load(BASE / "dr-xs8.json")])


def write(tmp_path, text):
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_selectors_by_name_uuid_and_tag(tmp_path, world):
    db = next(rec for _, rec in world.inventories[0].all("VM") if rec["name_label"] == "db-01")
    tagged = next(rec for _, rec in world.inventories[0].all("VM") if rec["name_label"] == "app-01")
    tagged["tags"] = ["tier-1"]
    plan = load_plan(write(tmp_path, f"""
plan: CHG-1
operations:
  - kind: live
    vms: [web-01, "uuid:{db['uuid']}", {{tag: tier-1}}]
    destination: {{host: ch82-h2}}
"""), world)
    tagged["tags"] = []
    assert plan.change_id == "CHG-1"
    assert [m.vm.name for m in plan.moves] == ["web-01", "db-01", "app-01"]
    assert {m.dst_host.name for m in plan.moves} == {"ch82-h2"}


def test_every_error_has_file_line_and_meaning(tmp_path, world):
    path = write(tmp_path, """plan: CHG-2
operations:
  - kind: live
    vms: [no-such-vm]
    destination: {host: ch82-h2}
  - kind: storage
    vms: [db-01]
    destination: {pool: nowhere, host: xs8-h1}
  - kind: teleport
  - kind: vdi
    vdi: db-01/7
    destination: {sr: DR iSCSI}
    colour: blue
""")
    with pytest.raises(PlanError) as exc:
        load_plan(path, world)
    details = exc.value.details
    assert details == [
        f"{path}:4:11: operations.0.vms.0: no VM matches 'no-such-vm'; the VMs of the "
        "inventories, closest first: 'build-01' in prod-ch82, 'db-01' in prod-ch82, 'app-01' in "
        "prod-ch82, 'web-01' in prod-ch82, 'web-02' in prod-ch82",
        f"{path}:8:19: operations.1.destination.pool: no inventory given is the pool 'nowhere' "
        "(pools: 'prod-ch82', 'dr-xs8')",
        f"{path}:9:5: operations.2.kind: 'teleport': expected one of live, storage, vdi, evacuate, "
        "rolling-upgrade",
        f"{path}:11:5: operations.3.vdi: VM 'db-01' has no disk at userdevice 7 (its disks "
        "are at 0, 1)",
        f"{path}:13:5: operations.3.colour: unknown key (expected one of: destination, kind, vdi, wave)",
    ]


def test_a_whole_float_wave_is_that_wave_as_json_schemas_integer_has_it(tmp_path, world):
    text = "operations:\n  - {kind: live, vms: [web-01], destination: {host: ch82-h2}, wave: 2.0}\n"
    plan = load_plan(write(tmp_path, text), world)
    assert [(m.wave, type(m.wave)) for m in plan.moves] == [(2, int)]


def test_a_name_matching_two_objects_names_each_by_its_uuid_and_host(tmp_path):
    def twins(objects):
        by_name(objects, "VM", "web-02")["name_label"] = "web-01"

    world = World([Inventory.load(derived(tmp_path, twins, BASE / "prod-ch82.json"))])
    with pytest.raises(PlanError) as exc:
        load_plan(write(tmp_path, "operations:\n  - kind: live\n    vms: [web-01]\n"
                                  "    destination: {host: ch82-h2}\n"), world)
    inv = world.inventories[0]
    uuids = {inv.get("host", rec["resident_on"])["name_label"]: rec["uuid"]
             for _, rec in inv.all("VM") if rec["name_label"] == "web-01"}
    assert set(uuids) == {"ch82-h1", "ch82-h2"}
    detail = exc.value.details[0]
    assert ":3:11: operations.0.vms.0: 'web-01' names 2 VMs: " in detail
    assert f"uuid:{uuids['ch82-h1']} (web-01, on ch82-h1)" in detail
    assert f"uuid:{uuids['ch82-h2']} (web-01, on ch82-h2)" in detail
    assert detail.endswith("; give one of these")


def vdi_plan(tmp_path, vdi, sr):
    return write(tmp_path, f"operations:\n  - kind: vdi\n    vdi: {json.dumps(vdi)}\n"
                           f"    destination: {{sr: {json.dumps(sr)}}}\n")


def test_a_local_sr_is_named_by_the_label_migready_prints(tmp_path):
    world = World([real_inventory(TAMPA)])
    plan = load_plan(vdi_plan(tmp_path, "dlvm_shared/xvda", "Local storage (dt23)"), world)
    assert (plan.moves[0].dst_sr.name, plan.moves[0].dst_sr.uuid) == (
        "Local storage (dt23)", "b35b9c60-004b-cfee-a383-8e6a0db87ff0")
    # a plain name_label that is unique is still a name
    plan = load_plan(vdi_plan(tmp_path, "dlvm_local/xvda", "iSCSI virtual disk storage"), world)
    assert plan.moves[0].dst_sr.name == "iSCSI virtual disk storage"


def test_a_repeated_sr_name_lists_each_local_sr_by_its_label(tmp_path):
    with pytest.raises(PlanError) as exc:
        load_plan(vdi_plan(tmp_path, "dlvm_shared/xvda", "Local storage"), World([real_inventory(TAMPA)]))
    assert exc.value.details == [
        f"{tmp_path / 'plan.yaml'}:4:19: operations.0.destination.sr: 'Local storage' names 2 SRs: "
        "'Local storage (dt16)', 'Local storage (dt23)'; give one of these"]


def test_a_selector_matching_nothing_lists_the_candidates_closest_first(tmp_path):
    """Hottub (state4) has 11 SRs: ten are listed, closest to 'NetApp storage' first."""
    with pytest.raises(PlanError) as exc:
        load_plan(vdi_plan(tmp_path, "Windows XP SP2 (1)/0", "NetApp storage"),
                  World([real_inventory(STATE4)]))
    detail = exc.value.details[0]
    assert detail.startswith(f"{tmp_path / 'plan.yaml'}:4:19: operations.0.destination.sr: no SR "
                             "matches 'NetApp storage'; the SRs of pool 'Hottub', closest first: "
                             "'NetApp virtual disk storage', ")
    assert "'Local storage (incubus)'" in detail and "'Removable storage (inflames)'" in detail
    assert detail.endswith(" and 1 more")
    assert detail.count("', '") == 9


def test_after_the_first_misses_candidates_are_listed_in_name_order(tmp_path, world):
    """Ranking by closeness costs about 0.2 s a miss among 5,000 VMs: a plan given the wrong
    pool would take minutes. The first RANKED_MISSES misses are ranked, the rest are not."""
    vms = ", ".join(f"web-{n}x" for n in range(RANKED_MISSES + 1))
    with pytest.raises(PlanError) as exc:
        load_plan(write(tmp_path, f"operations:\n  - kind: live\n    vms: [{vms}]\n"
                                  "    destination: {host: ch82-h2}\n"), world)
    ranked, unranked = exc.value.details[RANKED_MISSES - 1], exc.value.details[RANKED_MISSES]
    assert "closest first: 'web-01' in prod-ch82" in ranked
    assert unranked.endswith(f"no VM matches 'web-{RANKED_MISSES}x'; the VMs of the inventories: "
                             "'app-01' in prod-ch82, 'build-01' in prod-ch82, 'db-01' in prod-ch82, "
                             "'web-01' in prod-ch82, 'web-02' in prod-ch82")


def test_a_uuid_or_tag_matching_nothing_lists_uuids_or_tags(tmp_path, world):
    db = next(rec for _, rec in world.inventories[0].all("VM") if rec["name_label"] == "db-01")
    db["tags"] = ["tier-1"]
    try:
        with pytest.raises(PlanError) as exc:
            load_plan(write(tmp_path, f"""operations:
  - kind: live
    vms: ["uuid:{db['uuid'][:8]}", {{tag: tier1}}]
    destination: {{host: ch82-h2}}
"""), world)
    finally:
        db["tags"] = []
    by_uuid, by_tag = exc.value.details
    assert f"no VM matches 'uuid:{db['uuid'][:8]}'; the VMs of the inventories, closest first: " \
           f"uuid:{db['uuid']} (db-01 in prod-ch82), " in by_uuid
    assert by_tag.endswith("no VM matches tag 'tier1'; the tags of VMs of the inventories, "
                           "closest first: 'tier-1'")


def test_rolling_upgrade_evacuates_every_host_master_first(tmp_path, world):
    plan = load_plan(write(tmp_path, "operations:\n  - kind: rolling-upgrade\n    pool: prod-ch82\n"),
                     world)
    assert [(m.kind, m.host.name, m.wave) for m in plan.moves] == [
        ("evacuate", "ch82-h1", 1), ("evacuate", "ch82-h2", 2)]


def test_audit_tries_every_running_vm_on_every_other_host(world):
    plan = audit_plan(world)
    live = sorted((m.vm.name, host.name) for m in plan.moves if m.kind == "live"
                  for host in m.sweep)
    assert live == [("app-01", "ch82-h2"), ("db-01", "ch82-h2"), ("web-01", "ch82-h2"),
                    ("web-02", "ch82-h1")]
    assert sorted(m.host.name for m in plan.moves if m.kind == "evacuate") == [
        "ch82-h1", "ch82-h2", "xs8-h1", "xs8-h2"]
    storage = sorted((m.vm.name, m.dst_host.name) for m in plan.moves if m.kind == "storage")
    assert storage == [("app-01", "xs8-h1"), ("db-01", "xs8-h1"), ("web-01", "xs8-h1"),
                       ("web-02", "xs8-h1")]


@pytest.mark.parametrize(("text", "bits"), [("10Gbit", 10_000_000_000), ("500Mbit/s", 500_000_000),
                                             ("1.5 Gbps", 1_500_000_000), ("fast", None)])
def test_bandwidth(text, bits):
    assert parse_size_rate(text) == bits


@pytest.mark.parametrize(("text", "seconds"), [("4h", 14400), ("1h30m", 5400), ("45s", 45),
                                                ("soon", None), ("4x", None)])
def test_window(text, seconds):
    assert parse_duration(text) == seconds


REPEATS = {
    "same-operation-twice": ("""plan: CHG-3
operations:
  - kind: live
    vms: [web-01]
    destination: {host: ch82-h2}
  - kind: evacuate
    host: ch82-h2
  - kind: live
    vms: [web-01]
    destination: {host: ch82-h2}
    wave: 2
  - kind: rolling-upgrade
    pool: prod-ch82
""", ["8:5: operations.2: the same live move as operations.0 (web-01 to ch82-h2): give each operation once",
      "12:5: operations.3: the same evacuate move as operations.1 (ch82-h2): give each operation once"]),
    # web-01 moving back to ch82-h1 in wave 3 is fine: wave 1 took it away from there; a
    # storage move to the host a VM is on is how its disks change SR while it runs.
    "live-move-to-the-host-it-is-on": ("""plan: CHG-4
operations:
  - kind: live
    vms: [web-02, web-01]
    destination: {host: ch82-h2}
  - kind: storage
    vms: [web-01]
    destination: {pool: prod-ch82, host: ch82-h2}
    wave: 2
  - kind: live
    vms: [web-01]
    destination: {host: ch82-h1}
    wave: 3
  - kind: live
    vms: [db-01]
    destination: {host: ch82-h1}
""", ["5:19: operations.0.destination.host: VM 'web-02' is on ch82-h2 already at this point of the plan: "
      "a live move to the host it is on",
      "16:19: operations.3.destination.host: VM 'db-01' is on ch82-h1 already at this point of the plan: "
      "a live move to the host it is on"]),
}


@pytest.mark.parametrize("case", REPEATS)
def test_a_repeated_move_is_an_error_where_it_repeats(tmp_path, world, case):
    text, expected = REPEATS[case]
    path = write(tmp_path, text)
    with pytest.raises(PlanError) as exc:
        load_plan(path, world)
    assert exc.value.details == [f"{path}:{detail}" for detail in expected]


def test_a_vm_moved_twice_is_a_warning_stating_the_order_assumed(tmp_path, world):
    path = write(tmp_path, """plan: CHG-5
operations:
  - {kind: storage, vms: [web-01], destination: {pool: dr-xs8, host: xs8-h1}, wave: 2}
  - {kind: live, vms: [web-01], destination: {host: ch82-h2}, wave: 1}
""")
    plan = load_plan(path, world)
    assert plan.warnings == [
        f"{path}: VM 'web-01' is moved more than once: operations.1 (op-2, live to ch82-h2, wave 1), "
        "then operations.0 (op-1, storage to xs8-h1, wave 2). The moves are assumed to run in this "
        "order (by wave, then as written), each checked from where the VM is now."]


def test_the_same_pool_given_twice_is_an_error(world):
    twice = World([world.inventories[0], Inventory.load(BASE / "prod-ch82.json")])
    with pytest.raises(PlanError) as exc:
        audit_plan(twice)
    uuid = world.inventories[0].pool["uuid"]
    assert str(exc.value) == (f"{BASE / 'prod-ch82.json'}: the same pool as {BASE / 'prod-ch82.json'} "
                              f"(prod-ch82, uuid {uuid}): give each pool once")


def test_the_warning_is_printed_by_validate_and_kept_in_the_results(tmp_path, capsys):
    from checker.cli import main

    path = write(tmp_path, """plan: CHG-6
operations:
  - kind: live
    vms: [web-01]
    destination: {host: ch82-h2}
  - kind: storage
    vms: [web-01]
    destination: {pool: dr-xs8, host: xs8-h1}
""")
    pools = [str(BASE / "prod-ch82.json"), str(BASE / "dr-xs8.json")]
    assert main(["validate", "--plan", str(path), *(a for p in pools for a in ("--inventory", p))]) == 0
    captured = capsys.readouterr()
    assert captured.out.endswith("plan: 2 moves ok\n")
    assert captured.err.startswith(f"migready: warning: {path}: VM 'web-01' is moved more than once")
    main(["check", *pools, "--plan", str(path), "--only", "MEM-001", "--format", "json"])
    assumptions = json.loads(capsys.readouterr().out)["assumptions"]
    assert assumptions[-1].startswith(f"{path}: VM 'web-01' is moved more than once")


# ---------------------------------------------------------------------------------
# Property: whatever the file holds, a plan or a located error (exit 2), never a crash
# ---------------------------------------------------------------------------------

KINDS = schema("plan")["$defs"]["operation"]["properties"]["kind"]["enum"]
SETTINGS_KEYS = set(schema("plan")["$defs"]["settings"]["properties"])
SCALARS = (st.none() | st.booleans() | st.integers(-10, 10**12) | st.text(max_size=12)
           | st.sampled_from(["web-01", "db-01", "ch82-h2", "xs8-h1", "dr-xs8", "prod-ch82", "DR iSCSI",
                              "db-01/0", "uuid:x", "*", "10Gbit", "4h", "live", "storage"])
           | st.dates())
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(["tag", "host", "pool", "sr", "map", "default",
                                                         "x"]), inner, max_size=3), max_leaves=12)
OPERATION = st.fixed_dictionaries(
    {"kind": st.sampled_from([*KINDS, "teleport", 5])},
    optional={"vms": st.lists(SCALARS, max_size=3) | VALUES, "destination": VALUES, "host": VALUES,
              "pool": VALUES, "vdi": VALUES, "wave": VALUES, "storage": VALUES, "networks": VALUES,
              "migration_network": VALUES, "compress": VALUES, "batch_size": VALUES, "colour": VALUES})
PLAN = st.fixed_dictionaries(
    {"operations": st.lists(OPERATION, max_size=4) | VALUES},
    optional={"plan": VALUES, "settings": st.dictionaries(st.sampled_from(sorted(SETTINGS_KEYS)), VALUES,
                                                          max_size=4) | VALUES, "extra": VALUES})
LOCATED = r":\d+:\d+: "


def loads_or_located_error(path: Path, content: bytes, world: World) -> None:
    path.write_bytes(content)
    try:
        load_plan(path, world)
    except InputError as exc:  # exit 2: it must say where
        assert re.search(re.escape(str(path)) + LOCATED, str(exc)), str(exc)


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory):
    return tmp_path_factory.mktemp("property") / "plan.yaml"


@settings(max_examples=150, deadline=None)
@given(content=st.binary(max_size=600))
def test_arbitrary_bytes_give_a_plan_or_a_located_error(plan_file, world, content):
    loads_or_located_error(plan_file, content, world)


@settings(max_examples=150, deadline=None)
@given(doc=PLAN)
def test_near_valid_plans_give_a_plan_or_a_located_error(plan_file, world, doc):
    loads_or_located_error(plan_file, yaml.safe_dump(doc, allow_unicode=True).encode(), world)


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(0, 200), length=st.integers(0, 20), insert=st.text(max_size=20))
def test_a_damaged_plan_gives_a_plan_or_a_located_error(plan_file, world, cut, length, insert):
    text = (Path(__file__).parent.parent / "samples" / "demo-plan.yaml").read_text(encoding="utf-8")
    cut = cut * len(text) // 200
    loads_or_located_error(plan_file, (text[:cut] + insert + text[cut + length:]).encode(), world)


def test_check_syntax_judges_each_operation_by_its_kind_and_names_nothing(tmp_path):
    from checker.plan import check_syntax

    assert check_syntax(write(tmp_path, "operations:\n  - kind: evacuate\n    host: anything\n")) == 1
    path = write(tmp_path, """operations:
  - kind: vdi
    vdi: db-01/1
    destination: {sr: x}
    wave: 0
    vms: [db-01]
  - kind: storage
    vms: [db-01, {tag: 7}, 42]
    destination: {host: xs8-h1}
    migration_bandwidth: 10Gbit
  - 42
settings:
  migration_bandwidth: fast
""")
    with pytest.raises(PlanError) as exc:
        check_syntax(path)
    assert exc.value.details == [
        f"{path}:5:5: operations.0.wave: expected a whole number ≥ 1",
        f"{path}:6:5: operations.0.vms: unknown key (expected one of: destination, kind, vdi, wave)",
        f"{path}:8:18: operations.1.vms.1: expected a selector: a name, uuid:UUID or {{tag: TAG}}",
        f"{path}:8:28: operations.1.vms.2: expected a selector: a name, uuid:UUID or {{tag: TAG}}",
        f"{path}:10:5: operations.1.migration_bandwidth: unknown key (expected one of: compress, "
        "destination, kind, migration_network, networks, storage, vms, wave)",
        f"{path}:11:5: operations.2: expected a mapping",
        f"{path}:13:3: settings.migration_bandwidth: expected a rate such as 10Gbit",
    ]


def test_docs_plan_md_documents_every_key_the_parser_and_the_schema_know():
    from checker.bundled import schema

    doc = (Path(__file__).resolve().parents[1] / "docs" / "plan.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", doc, re.M))
    defs = schema("plan")["$defs"]
    nested = {f"{parent}.{key}" for kind in KINDS for parent in ("destination", "storage", "networks")
              for key in _properties(defs, defs[kind]["properties"].get(parent))}
    top = set(schema("plan")["properties"])
    of_kinds = set().union(*(defs[kind]["properties"] for kind in KINDS))
    assert top | SETTINGS_KEYS | of_kinds | nested <= documented
    assert set(KINDS) <= set(re.findall(r"`([a-z-]+)`", doc))


def _properties(defs, spec):
    """The keys a schema node allows (following a $ref)."""
    if not spec:
        return set()
    spec = defs[spec["$ref"].rsplit("/", 1)[1]] if "$ref" in spec else spec
    return set(spec.get("properties", {}))


HOSTILE_PLANS = sorted(p for p in (Path(__file__).parent / "hostile").glob("plan-*/*.yaml")
                       if p.name != "case.yaml")


@pytest.mark.parametrize("path", HOSTILE_PLANS, ids=lambda p: p.parent.name)
def test_check_syntax_of_each_hostile_plan_is_an_answer_or_a_located_input_error(path):
    """The hostile corpus's plans (aliases, deep nesting, tags, binary), syntax alone: an
    operation count or an InputError starting with the file, never another exception."""
    from checker.plan import check_syntax

    try:
        assert check_syntax(path) >= 1
    except InputError as exc:
        assert str(exc).startswith(str(path)), str(exc)
