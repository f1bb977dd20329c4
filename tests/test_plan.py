"""Plans: selectors, errors with file:line, expansion of rolling upgrades, the audit."""

from pathlib import Path

import pytest

from checker.facts import World
from checker.inventory import Inventory
from checker.plan import PlanError, audit_plan, load_plan, parse_duration, parse_size_rate

BASE = Path(__file__).parent / "policies" / "_base"


@pytest.fixture(scope="module")
def world():
    return World([Inventory.load(BASE / "prod-ch82.json"), Inventory.load(BASE / "dr-xs8.json")])


def write(tmp_path, text):
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_selectors_by_name_uuid_and_tag(tmp_path, world):
    db = next(rec for _, rec in world.inventories[0].all("VM") if rec["name_label"] == "db-01")
    tagged = next(rec for _, rec in world.inventories[0].all("VM") if rec["name_label"] == "web-02")
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
    assert [m.vm.name for m in plan.moves] == ["web-01", "db-01", "web-02"]
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
        f"{path}:4:11: operations.0.vms.0: no VM matches 'no-such-vm'",
        f"{path}:8:19: operations.1.destination.pool: no inventory given is the pool 'nowhere' "
        "(pools: 'prod-ch82', 'dr-xs8')",
        f"{path}:9:5: operations.2.kind: kind must be one of: live, storage, vdi, evacuate, rolling-upgrade",
        f"{path}:11:5: operations.3.vdi: VM 'db-01' has no disk at userdevice 7",
        f"{path}:13:5: operations.3.colour: unknown key (expected one of: destination, kind, vdi, wave)",
    ]


def test_a_name_matching_two_objects_is_an_error(tmp_path, world):
    inv = world.inventories[0]
    twin = next(rec for _, rec in inv.all("VM") if rec["name_label"] == "web-02")
    twin["name_label"] = "web-01"
    try:
        with pytest.raises(PlanError) as exc:
            load_plan(write(tmp_path, "operations:\n  - kind: live\n    vms: [web-01]\n"
                                      "    destination: {host: ch82-h2}\n"), world)
    finally:
        twin["name_label"] = "web-02"
    assert "'web-01' names 2 VMs: use uuid:" in exc.value.details[0]
    assert ":3:11:" in exc.value.details[0]


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
