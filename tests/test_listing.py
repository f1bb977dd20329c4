"""checker/listing.py and `migready ls`: the rows a user reads to find names and uuids, on
the sample pools and the real dumps (every value from the facts, local SRs under the labels
the checks print)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import by_name, derived, real_inventory

from checker.cli import main
from checker.facts import World
from checker.inventory import Inventory
from checker.listing import UNKNOWN, as_json, format_text, list_objects

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "pools"
PROD, DR = SAMPLES / "prod-ch82.json", SAMPLES / "dr-xs8.json"
TAMPA, STATE4 = "xenadmin/tampa-db_inc_snapshots.xml", "xenadmin/state4.xml"


@pytest.fixture(scope="module")
def samples() -> World:
    return World([Inventory.load(PROD), Inventory.load(DR)])


def rows_by(rows, key="name"):
    return {row[key]: row for row in rows}


def test_vms_show_power_state_host_memory_and_disks(samples):
    vms = rows_by(list_objects(samples, "vms"))
    assert sorted(vms) == ["app-01", "app-02", "big-01", "build-01", "db-01", "legacy-01",
                           "web-01", "web-02"]
    db = vms["db-01"]
    assert (db["pool"], db["power_state"], db["host"], db["memory"], db["disks"], db["disk_size"]) == (
        "prod-ch82", "Running", "ch82-h1", 32 * 1024**3, 2, 400 * 1024**3)
    assert (vms["build-01"]["power_state"], vms["build-01"]["host"]) == ("Halted", None)


def test_hosts_show_enabled_memory_vm_count_and_version(samples):
    hosts = rows_by(list_objects(samples, "hosts"))
    assert list(hosts) == ["ch82-h1", "ch82-h2", "xs8-h1", "xs8-h2"]
    h1 = hosts["ch82-h1"]
    assert (h1["enabled"], h1["master"], h1["memory_total"], h1["vms"], h1["version"]) == (
        True, True, 256 * 1024**3, 4, "Citrix Hypervisor 8.2 CU1")
    assert hosts["xs8-h2"]["master"] is False and hosts["xs8-h2"]["version"] == "XenServer 8"
    # XAPI's free memory (memory_check.ml), not host_metrics.memory_free
    assert 0 < h1["memory_free"] < 1024**3


def test_srs_are_shared_or_local_with_the_host_of_a_local_sr():
    srs = rows_by(list_objects(World([real_inventory(TAMPA)]), "srs"))
    local = srs["Local storage (dt16)"]
    assert (local["type"], local["shared"], local["hosts"]) == ("lvm", False, ["dt16"])
    iscsi = srs["iSCSI virtual disk storage"]
    assert (iscsi["type"], iscsi["shared"], iscsi["hosts"]) == ("lvmoiscsi", True, None)
    assert {"Local storage (dt23)", "DVD drives (dt16)", "XenServer Tools"} <= set(srs)


def test_disks_show_their_vm_drive_and_sr_label():
    disks = list_objects(World([real_inventory(TAMPA), real_inventory(STATE4)]), "disks")
    found = {(d["pool"], d["vm"], d["userdevice"], d["device"], d["sr"]) for d in disks}
    assert ("TampaPool", "dlvm_local", "xvda", "xvda", "Local storage (dt16)") in found
    assert ("TampaPool", "dlvm_shared", "xvda", "xvda", "iSCSI virtual disk storage") in found
    assert ("Hottub", "Windows XP SP2 (1)", "0", "hda", "Local storage (inflames)") in found
    # a halted VM without disks has no row; CDs are not disks
    assert "Windows Server 2008 (1)" not in {d["vm"] for d in disks}


def test_networks_show_the_hosts_they_reach(samples):
    networks = list_objects(samples, "networks")
    reach = {(n["pool"], n["name"]): (n["bridge"], n["hosts"]) for n in networks}
    assert reach[("prod-ch82", "VM Network")] == ("xenbr30", ["ch82-h1", "ch82-h2"])
    assert reach[("dr-xs8", "Storage network")] == ("xenbr27", ["xs8-h1", "xs8-h2"])


def test_a_host_whose_reach_is_unknown_is_listed_as_such(tmp_path):
    def no_bond_field(objects):
        """xs8-h2's PIFs lose bond_slave_of, which host.networks reads (a XenServer 8 has it)."""
        host = by_name(objects, "host", "xs8-h2")
        for ref in host["PIFs"]:
            del objects["PIF"][ref]["bond_slave_of"]

    world = World([Inventory.load(derived(tmp_path, no_bond_field, DR))])
    rows = rows_by(list_objects(world, "networks"))
    assert (rows["VM Network"]["hosts"], rows["VM Network"]["hosts_unknown"]) == (["xs8-h1"], ["xs8-h2"])
    text = format_text([rows["VM Network"]], "networks", pools=False)
    assert "xs8-h1, xs8-h2?" in text


def test_a_fact_the_inventory_lacks_is_unknown_not_a_guess():
    hosts = rows_by(list_objects(World([real_inventory(STATE4)]), "hosts"))
    assert hosts["incubus"]["memory_total"] is UNKNOWN  # state4 has no host_metrics rows
    assert as_json([hosts["incubus"]])[0]["memory_total"] is None
    text = format_text([hosts["incubus"]], "hosts", pools=False)
    assert text.splitlines()[1].split()[:5] == ["incubus", "yes", "no", "?", "?"]


def test_text_is_aligned_columns_in_natural_order_with_a_pool_column_for_several_pools(tmp_path):
    def numbered(objects):
        by_name(objects, "VM", "web-02")["name_label"] = "web-2"
        by_name(objects, "VM", "app-02")["name_label"] = "web-10"

    world = World([Inventory.load(derived(tmp_path, numbered, PROD)), Inventory.load(DR)])
    lines = format_text(list_objects(world, "vms"), "vms", pools=True).splitlines()
    assert lines[0].split()[:4] == ["POOL", "NAME", "POWER", "HOST"]
    names = [line.split()[1] for line in lines[1:]]
    assert names.index("web-01") < names.index("web-2") < names.index("web-10")
    # every column starts at the same place on every line
    starts = {line.index(line.split()[2], len(line.split()[0]) + len(line.split()[1]))
              for line in lines[1:]}
    assert starts == {lines[0].index("POWER")}
    single = format_text(list_objects(World([Inventory.load(DR)]), "hosts"), "hosts", pools=False)
    assert single.startswith("NAME ")


def test_japanese_names_keep_the_columns_aligned_and_a_newline_stays_on_its_row(tmp_path):
    def renamed(objects):
        by_name(objects, "VM", "web-01")["name_label"] = "ウェブ-01"
        by_name(objects, "VM", "web-02")["name_label"] = "web\n02"

    world = World([Inventory.load(derived(tmp_path, renamed, PROD))])
    lines = format_text(list_objects(world, "vms"), "vms", pools=False).splitlines()
    assert len(lines) == 1 + 8
    wide = next(line for line in lines if line.startswith("ウェブ-01"))
    escaped = next(line for line in lines if line.startswith("web\\x0a02"))
    # POWER starts in the same terminal column: each of the three katakana takes two
    assert wide.index("Running") + 3 == lines[0].index("POWER") == escaped.index("Running")


def test_cli_lists_vms_by_default_and_json_with_uuids(capsys):
    assert main(["ls", str(PROD)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("NAME ") and "web-01" in out and "ch82-h1" in out
    assert main(["ls", str(PROD), str(DR), "host", "--format", "json"]) == 0
    hosts = json.loads(capsys.readouterr().out)
    assert [(h["pool"], h["name"]) for h in hosts] == [
        ("prod-ch82", "ch82-h1"), ("prod-ch82", "ch82-h2"), ("dr-xs8", "xs8-h1"), ("dr-xs8", "xs8-h2")]
    assert all(len(h["uuid"]) == 36 for h in hosts)


def test_cli_lists_a_real_dump_s_local_srs(tmp_path, capsys):
    inventory = tmp_path / "tampa.json"
    inventory.write_text(json.dumps(real_inventory(TAMPA).doc))
    assert main(["ls", str(inventory), "srs"]) == 0
    rows = [line.split("  ") for line in capsys.readouterr().out.splitlines()]
    local = next(row for row in rows if row[0] == "Local storage (dt16)")
    assert [cell.strip() for cell in local if cell.strip()][1:4] == ["lvm", "no", "dt16"]


def test_cli_bad_inventory_or_none_is_exit_2_located(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": ')
    assert main(["ls", str(broken), "vms"]) == 2
    assert capsys.readouterr().err.startswith(f"migready: {broken}:1:12: not JSON")
    assert main(["ls", "srs"]) == 2
    assert "give an inventory" in capsys.readouterr().err
