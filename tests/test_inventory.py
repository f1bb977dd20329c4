"""Inventories never claim what they did not see: required classes, class gaps, validation."""

from __future__ import annotations

import copy
import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import REALDATA, TEST_DATA, read_or_exit_2
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.check import CheckOptions, run_check
from checker.cli import main
from checker.dump import import_file
from checker.errors import InputError
from checker.inventory import (
    ClassGap,
    Inventory,
    rebuild_back_references,
    required_classes,
    save_document,
    validate_document,
)

TAMPA = REALDATA / "xenadmin" / "tampa-db_inc_snapshots.xml"
NOT_COLLECTED = "not present in this XenServer version"


@cache
def _tampa() -> dict[str, Any]:
    return import_file(TAMPA)


def tampa() -> dict[str, Any]:
    return copy.deepcopy(_tampa())


def without(doc: dict[str, Any], *classes: str) -> dict[str, Any]:
    """`doc` as a server that refused `classes` gives it: no table, a class gap each, and
    no back-reference rebuilt from them (network.PIFs, host.PIFs)."""
    objects = doc["objects"]
    for cls in classes:
        objects.pop(cls)
        doc["gaps"].append({"class": cls, "reason": NOT_COLLECTED})
    for table, field in (("network", "PIFs"), ("host", "PIFs")):
        if "PIF" in classes:
            for rec in objects[table].values():
                rec.pop(field)
    return doc


def test_the_schema_names_the_required_classes():
    assert required_classes() == ["pool", "host", "VM"]


# -- lookups into a class that was not collected -------------------------------------------------

def test_every_lookup_into_a_class_gap_raises_naming_it():
    inv = Inventory.from_document(without(tampa(), "PIF", "host_metrics"), "tampa")
    host_ref, host = next(inv.all("host"))
    net_ref, net = next(inv.all("network"))
    for lookup in (lambda: inv.all("PIF"),
                   lambda: inv.get_many("PIF", net.get("PIFs")),  # absent: not "none"
                   lambda: inv.get_many("PIF", []),
                   lambda: inv.get("host_metrics", host["metrics"])):
        with pytest.raises(ClassGap) as info:
            lookup()
        assert info.value.exit_code == 2 and isinstance(info.value, LookupError)
        assert str(info.value) in ("tampa: PIF was not collected (not present in this XenServer "
                                   "version)", f"tampa: host_metrics was not collected ({NOT_COLLECTED})")
    # a null ref needs no table; collected classes answer as before
    assert inv.get("host_metrics", "OpaqueRef:NULL") is None
    assert inv.get("network", net_ref) is net and inv.get("host", host_ref) is host


def test_a_class_absent_without_a_recorded_gap_reads_as_empty():
    # hand-made fixtures (tests/policies/_base) hold only the classes a rule needs
    doc = tampa()
    del doc["objects"]["Bond"]
    doc["gaps"] = [g for g in doc["gaps"] if g["class"] != "Bond"]
    inv = Inventory.from_document(doc)
    assert list(inv.all("Bond")) == [] and inv.get_many("Bond", []) == []


def test_a_gap_on_a_record_or_field_is_not_a_class_gap():
    doc = tampa()
    vm_ref = next(iter(doc["objects"]["VM"]))
    doc["gaps"].append({"class": "VM", "ref": vm_ref, "reason": "dangling reference"})
    doc["gaps"].append({"class": "SR", "field": "PBDs", "reason": "30 dangling references"})
    inv = Inventory.from_document(doc)
    assert set(inv.gap_classes) == {"VGPU_type", "VUSB", "USB_group", "PUSB", "pool_update"}
    assert list(inv.all("SR")) and list(inv.all("VM"))


def test_back_references_are_not_rebuilt_from_a_class_not_collected():
    objects = {"VM": {"OpaqueRef:v": {"uuid": "v"}},
               "VBD": {"OpaqueRef:b": {"VM": "OpaqueRef:v"}}}
    rebuild_back_references(objects)
    assert objects["VM"]["OpaqueRef:v"] == {"uuid": "v", "VBDs": ["OpaqueRef:b"],
                                            "snapshots": []}  # VM.snapshot_of: collected
    # no VIF, VUSB or VGPU table: their lists stay absent rather than []
    assert "VIFs" not in objects["VM"]["OpaqueRef:v"] and "VUSBs" not in objects["VM"]["OpaqueRef:v"]


# -- a real pool whose PIF and host_metrics classes were not collected ---------------------------

def _statuses(results: dict[str, Any], rule: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in results["findings"]:
        if f["rule"] == rule:
            out.setdefault(f["status"], set()).add(f["message"])
    return out


@pytest.fixture
def tampa_gaps(tmp_path: Path) -> Path:
    path = tmp_path / "tampa-gaps.json"
    save_document(without(tampa(), "PIF", "host_metrics"), path)
    return path


def test_gap_classes_make_live_003_and_evac_001_unknown(tampa_gaps):
    # Real Tampa: LIVE-003 fails ("cannot reach network") when the network's PIFs are read
    # as none, EVAC-001 fails ("0 VMs to move to none") when no host's liveness is known.
    results = run_check(CheckOptions([tampa_gaps], only=["LIVE-003", "EVAC-001"]))
    live = _statuses(results, "LIVE-003")
    evac = {f["subject"]["name"]: (f["status"], f.get("message", "")) for f in results["findings"]
            if f["rule"] == "EVAC-001"}
    assert set(live) == {"unknown"}
    assert ("Could not be decided: dst_host.networks: PIF was not collected (not present in "
            "this XenServer version)") in live["unknown"]
    # dt16 holds both VMs: where they fit depends on dt23's free memory, which needs the
    # metrics. dt23 holds none, and an empty host evacuates whatever the others are.
    assert evac["dt16"][0] == "unknown"
    assert "the free memory of host 'dt23'" in evac["dt16"][1]
    assert "host_metrics was not collected" in evac["dt16"][1]
    assert evac["dt23"][0] == "pass"
    assert results["verdict"] == "undecided"


def test_gap_classes_through_the_cli(tampa_gaps, tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(["check", str(tampa_gaps), "--only", "LIVE-003,EVAC-001", "--format", "json",
                 "-o", str(out)])
    assert code == 3  # undecided, not blocked (and never ready)
    statuses = {(f["rule"], f["subject"]["name"], f["status"])
                for f in json.loads(out.read_text())["findings"] if f["status"] != "pass"}
    assert {s for r, _, s in statuses if r == "LIVE-003"} == {"unknown"}
    assert ("EVAC-001", "dt16", "unknown") in statuses
    # the same pool with both classes collected: decided
    save_document(tampa(), tampa_gaps)
    assert main(["check", str(tampa_gaps), "--only", "LIVE-003,EVAC-001"]) in (0, 1)


# -- inventories without pool, host or VM, and other broken inventories --------------------------

BAD_INVENTORIES = TEST_DATA / "bad" / "inventory"


@pytest.mark.parametrize(("name", "problem"), [
    ("no_host.json", "$.objects: 'host' is a required property"),
    ("no_pool.json", "$.objects: 'pool' is a required property"),
    ("empty_vm_table.json", "$.objects.VM: {} should be non-empty"),
    ("record_key_not_a_ref.json", "$.objects.VM: 'not-a-ref' does not match '^OpaqueRef:'"),
    ("wrong_format.json", "$.format: 'migready.inventory/1' was expected"),
    ("not_an_object.json", "$: [] is not of type 'object'"),
])
def test_bad_inventory_is_exit_2_with_its_json_path(name, problem, capsys):
    path = BAD_INVENTORIES / name
    with pytest.raises(InputError) as info:
        Inventory.load(path)
    assert info.value.exit_code == 2 and problem in str(info.value)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: not a valid migready inventory" in err and problem in err
    assert "Traceback" not in err


@pytest.mark.parametrize("table", ["VM", "host", "SR"])
def test_a_table_that_is_not_an_object_is_invalid(table):
    doc = tampa()
    doc["objects"][table] = []
    with pytest.raises(InputError, match=rf"\$\.objects\.{table}: \[\] is not of type 'object'"):
        validate_document(doc, "t")


def test_partial_documents_validate_only_when_asked():
    doc = tampa()
    del doc["objects"]["pool"]
    with pytest.raises(InputError, match="'pool' is a required property"):
        validate_document(doc, "t")
    validate_document(doc, "t", partial=True)
    doc["objects"]["VM"][next(iter(doc["objects"]["VM"]))]["power_state"] = "Sleeping"
    with pytest.raises(InputError, match="power_state: 'Sleeping' is not one of"):
        validate_document(doc, "t", partial=True)


# -- properties: whatever the file holds, an inventory or exit 2 with a located message ---------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=6)


def _load(data: bytes, name: str) -> Inventory | InputError:
    return read_or_exit_2(Inventory.load, data, name)


@given(st.binary(max_size=200), st.sampled_from(["i.json", "i.json.gz"]))
@settings(max_examples=150, deadline=None)
def test_arbitrary_bytes_load_or_exit_2(data, name):
    _load(data, name)
    _load(gzip.compress(data, mtime=0), name)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*path, i))
    return out


SMALL_INVENTORY = json.loads((BAD_INVENTORIES / "no_host.json").read_text())
SMALL_INVENTORY["objects"]["host"] = json.loads(
    (BAD_INVENTORIES / "no_pool.json").read_text())["objects"]["host"]


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_near_valid_inventories_load_or_name_the_json_path(data):
    # the small valid inventory with one value (anywhere) replaced or one key removed
    doc = copy.deepcopy(SMALL_INVENTORY)
    path = data.draw(st.sampled_from(_paths(doc)[1:]))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if data.draw(st.booleans()) or not isinstance(parent, dict):
        parent[path[-1]] = data.draw(JSON_VALUES)
    else:
        del parent[path[-1]]
    out = _load(json.dumps(doc).encode(), "near.json")
    if isinstance(out, InputError):
        assert out.details and all(d.strip().startswith("$") or "more" in d for d in out.details)


def test_json_nested_deeper_than_the_decoder_goes_is_exit_2(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["check", str(deep)]) == 2
    assert capsys.readouterr().err.startswith(
        f"migready: {deep}: not an inventory: JSON nested too deeply (more than ")
