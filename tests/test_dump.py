"""checker.dump: XAPI database dumps and record files → inventories.

Facts asserted below were read off the files in tests/data/realdata by hand (see its
README); the secret test re-reads the raw files independently of checker.dump.
"""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest
from conftest import REALDATA, TEST_DATA, read_or_exit_2
from hypothesis import given, settings
from hypothesis import strategies as st

from checker import dump, inventory
from checker.cli import main
from checker.errors import InputError
from checker.facts import is_real_vm
from checker.inventory import CLASSES, ClassGap, Inventory, validate_document

XML_FILES = sorted((REALDATA / "xenadmin").glob("*.xml"))
JSON_FILES = [*sorted((REALDATA / "community.general").glob("*.json")),
              REALDATA / "xen-api" / "vm_get_all_records.json"]
ALL_FILES = XML_FILES + JSON_FILES


@cache
def imported(name: str) -> dict:
    path = next(p for p in ALL_FILES if p.name == name)
    return dump.import_file(path, partial=path in JSON_FILES)  # one VM's records each


def inv(name: str) -> Inventory:
    return Inventory(imported(name), name)


def real_vms(name: str) -> dict[str, dict]:
    return {ref: vm for ref, vm in inv(name).all("VM") if is_real_vm(vm)}


def host_names(name: str) -> list[str]:
    return sorted(h["name_label"] for _, h in inv(name).all("host"))


def sr_types(name: str) -> set[str]:
    return {sr["type"] for _, sr in inv(name).all("SR")}


def guest_metrics_of(name: str, vm_name: str) -> dict:
    i = inv(name)
    vm = next(vm for vm in real_vms(name).values() if vm["name_label"] == vm_name)
    gm = i.get("VM_guest_metrics", vm["guest_metrics"])
    assert gm is not None
    return gm


# -- every real file imports, with the facts read off it ---------------------------------------

def test_realdata_is_there():
    assert len(XML_FILES) == 5 and all(p.exists() for p in JSON_FILES), REALDATA


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_realdata_file_imports_valid(path):
    doc = imported(path.name)
    validate_document(doc, path.name, partial=path in JSON_FILES)
    assert doc["source"]["file"] == path.name
    assert doc["source"]["kind"] == ("xapi-db-dump" if path.suffix == ".xml" else "records")
    assert set(doc["objects"]) <= set(CLASSES)
    for cls in CLASSES:  # a class is either held or named as a gap
        assert cls in doc["objects"] or {"class": cls, "reason": (
            "not present in this dump" if path.suffix == ".xml" else
            "not present in this file")} in doc["gaps"]
    assert "pool_token" not in json.dumps(doc["source"])


@pytest.mark.parametrize(("path", "missing"), [
    (JSON_FILES[0], "pool"), (JSON_FILES[1], "pool"), (JSON_FILES[2], "pool or host")],
    ids=lambda p: getattr(p, "name", p))
def test_records_without_pool_host_or_vm_are_invalid_input(path, missing):
    # community.general's captures hold a VM and its host, the SDK spec only VMs: read
    # as they are they could only ever say "ready"
    with pytest.raises(InputError) as info:
        dump.import_file(path)
    assert info.value.exit_code == 2
    assert str(info.value).startswith(f"{path}: no {missing} records: a records file without "
                                      "pool, host, VM records")
    doc = imported(path.name)
    with pytest.raises(InputError, match=r"\$\.objects: 'pool' is a required property"):
        validate_document(doc, path.name)
    assert {"class": "pool", "reason": "not present in this file"} in doc["gaps"]


@pytest.mark.parametrize("name, hosts, vms, srs", [  # real VMs named, not counted
    ("Cowley-db.xml", ["berlin"],
     ['CCNET', 'Citrix XenServer Web Self Service v1.0 (Build 9057)', 'OpenStack Jenkins',
      'SCOM 2003r2 AD controller', 'SCVMM', 'Win2k3-LicDev', 'jarvis', 'silver'],
     {"lvm", "lvmoiscsi", "cslg", "iso", "udev"}),
    ("cowley1.xml", ["chester", "grimsby"],
     ['DVS-Controller-build2750', 'Demo Linux VM (1)', 'Windows 2000 SP4 (32-bit) (1)', 'Windows Vista JA'],
     {"lvm", "lvmoiscsi", "iso", "udev"}),
    ("state2.xml", ["chester", "grimsby"],
     ['Debian Etch 4.0 (1)', 'Debian Etch 4.0 (2)', 'Debian Etch 4.0 (3)', 'Debian Etch 4.0 (4)'],
     {"lvm", "lvmoiscsi", "iso", "udev"}),
    ("state4.xml", ["incubus", "inflames"],
     ['Iscsi Box', 'Windows Server 2003 x64 (1)', 'Windows Server 2008 (1)',
      'Windows XP SP2 (1)', 'Windows XP SP2 (2)'],
     {"lvm", "lvmoiscsi", "netapp", "iso", "udev"}),
    ("tampa-db_inc_snapshots.xml", ["dt16", "dt23"],
     ['dlvm_local', 'dlvm_shared'],
     {"lvm", "lvmoiscsi", "iso", "udev"}),
    ("ansible-test-vm-1-params.json", ["ansible-test-host-1"],
     ['ansible-test-vm-1'],
     {"lvmohba"}),
    ("ansible-test-vm-2-params.json", ["ansible-test-host-2"],
     ['ansible-test-vm-2'],
     {"lvmohba"}),
    ("vm_get_all_records.json", None,  # VMs only: hosts and SRs are unknown, not none
     ['win11-x64'],
     None),
])
def test_hosts_vms_and_sr_types(name, hosts, vms, srs):
    assert sorted(v["name_label"] for v in real_vms(name).values()) == vms
    if hosts is None:
        for cls, listing in (("host", host_names), ("SR", sr_types)):
            with pytest.raises(ClassGap, match=f"{cls} was not collected"):
                listing(name)
        return
    assert host_names(name) == hosts
    assert sr_types(name) == srs


def test_cowley_vms_and_versions():
    names = sorted(vm["name_label"] for vm in real_vms("Cowley-db.xml").values())
    assert names == ["CCNET", "Citrix XenServer Web Self Service v1.0 (Build 9057)",
                     "OpenStack Jenkins", "SCOM 2003r2 AD controller", "SCVMM",
                     "Win2k3-LicDev", "jarvis", "silver"]
    assert all(vm["power_state"] == "Running" for vm in real_vms("Cowley-db.xml").values())
    doc = imported("Cowley-db.xml")
    assert doc["source"]["schema"] == "5.61"
    assert doc["source"]["generation_count"] == "66796"
    assert doc["pool"]["name_label"] == "GUI team permanent 5.6 FP1 (Cowley)"
    host = next(h for _, h in inv("Cowley-db.xml").all("host"))
    assert host["software_version"]["product_version"] == "5.6.100"
    assert host["software_version"]["build_number"] == "39265c"


def test_double_space_escape_in_cowley_cpu_model():
    host = next(h for _, h in inv("Cowley-db.xml").all("host"))
    # raw: 'Intel(R) Xeon(R) CPU%_%_%_%_%_ X5650%_@ 2.67GHz'
    assert host["cpu_info"]["modelname"] == "Intel(R) Xeon(R) CPU" + " " * 11 + "X5650  @ 2.67GHz"
    assert host["cpu_info"]["vendor"] == "GenuineIntel"
    assert host["cpu_info"]["cpu_count"] == "24"


def test_windows_tools_versions_and_backslash_paths():
    old = guest_metrics_of("Cowley-db.xml", "Win2k3-LicDev")
    assert old["PV_drivers_version"] == {"major": "5", "minor": "0", "micro": "0",
                                         "build": "10918", "xennet": "1.0",
                                         "xenvbd": "1.0boot"}
    scvmm = guest_metrics_of("Cowley-db.xml", "SCVMM")
    assert scvmm["PV_drivers_version"]["micro"] == "100"
    assert scvmm["os_version"]["name"] == (
        "Microsoft Windows Server 2008 R2 Enterprise |C:\\Windows|"
        "\\Device\\Harddisk0\\Partition1")
    assert scvmm["os_version"]["distro"] == "windows"
    assert scvmm["PV_drivers_up_to_date"] is True
    w2k3 = guest_metrics_of("state4.xml", "Windows Server 2003 x64 (1)")
    assert w2k3["PV_drivers_version"]["build"] == "14395"
    ansible = guest_metrics_of("ansible-test-vm-1-params.json", "ansible-test-vm-1")
    assert ansible["PV_drivers_version"] == {"build": "1020", "major": "7", "micro": "0",
                                             "minor": "1"}


def test_types_as_xmlrpc_gives_them():
    vm = next(vm for vm in real_vms("Cowley-db.xml").values() if vm["name_label"] == "CCNET")
    assert vm["is_a_template"] is False and vm["ha_always_run"] is True
    assert vm["ha_restart_priority"] == "best-effort"
    assert vm["memory_static_max"] == "1610612736"  # int64 stays a decimal string
    assert vm["HVM_shadow_multiplier"] == 1.0
    assert vm["platform"]["viridian"] == "true"  # map values stay strings
    assert vm["tags"] == ["Javier"]
    assert vm["blocked_operations"] == {} and vm["last_boot_CPU_flags"] == {}
    assert isinstance(vm["last_booted_record"], str)  # a serialised blob, not a map
    assert "name__label" not in vm and "_ref" not in vm and "ref" not in vm
    metrics = inv("tampa-db_inc_snapshots.xml").get("VM_metrics", vm_by("tampa", "dlvm_local")[
        "metrics"])
    assert metrics["VCPUs_utilisation"] == {"0": 0.0}
    cpu = next(c for _, c in inv("cowley1.xml").all("host_cpu"))
    assert cpu["utilisation"] == 0.0
    sm = next(s for _, s in inv("Cowley-db.xml").all("SM"))
    assert sm["copyright"].startswith("(C) ")  # "(C) 2008 …" is not an S-expression
    snap = next(v for _, v in inv("Cowley-db.xml").all("VM") if v["is_a_snapshot"])
    assert isinstance(snap["snapshot_metadata"], str)


def vm_by(prefix: str, name: str) -> dict:
    file = next(p.name for p in ALL_FILES if p.name.startswith(prefix))
    return next(vm for vm in real_vms(file).values() if vm["name_label"] == name)


def test_json_rpc_ints_become_strings():
    vm = vm_by("vm_get_all_records", "win11-x64")
    assert vm["memory_static_max"] == "8589934592" and vm["VCPUs_max"] == "2"
    assert vm["HVM_shadow_multiplier"] == 1.0 and vm["is_a_template"] is False
    assert vm["domain_type"] == "hvm"
    gaps = imported("vm_get_all_records.json")["gaps"]
    # the deliberately partial record has no power_state: left out, and said so
    assert {"class": "VM", "ref": "OpaqueRef:7cdfad16-7e0e-411f-1b6c-4308fd33b164",
            "reason": "incomplete record left out: no power_state"} in gaps


def test_ha_state2():
    i = inv("state2.xml")
    assert i.pool["ha_enabled"] is True
    assert i.pool["ha_statefiles"]
    vms = real_vms("state2.xml").values()
    assert all(vm["ha_always_run"] is True and vm["ha_restart_priority"] == "1" for vm in vms)
    assert inv("Cowley-db.xml").pool["ha_enabled"] is False


@pytest.mark.parametrize("name", [p.name for p in XML_FILES])
def test_back_references_rebuilt(name):
    # (tampa's dump stores some of these sets itself, in xapi's order: compare as sets)
    i = inv(name)
    for vm_ref, vm in i.all("VM"):
        assert set(vm["VBDs"]) == {r for r, vbd in i.all("VBD") if vbd["VM"] == vm_ref}
        assert set(vm["VIFs"]) == {r for r, vif in i.all("VIF") if vif["VM"] == vm_ref}
    for sr_ref, sr in i.all("SR"):
        assert set(sr["VDIs"]) == {r for r, vdi in i.all("VDI") if vdi["SR"] == sr_ref}
        assert set(sr["PBDs"]) == {r for r, pbd in i.all("PBD") if pbd["SR"] == sr_ref}


def test_back_references_concrete():
    i = inv("Cowley-db.xml")
    ccnet_ref, ccnet = next((r, v) for r, v in real_vms("Cowley-db.xml").items()
                            if v["name_label"] == "CCNET")
    # VM.VBDs / VM.VIFs are not stored in a dump: rebuilt from the children's VM field.
    assert sorted(ccnet["VBDs"]) == sorted(r for r, b in i.all("VBD") if b["VM"] == ccnet_ref)
    assert sorted(ccnet["VIFs"]) == sorted(r for r, f in i.all("VIF") if f["VM"] == ccnet_ref)
    assert sorted(i.get("VBD", r)["userdevice"] for r in ccnet["VBDs"]) == ["0", "1", "3"]
    assert sorted(r for r, v in i.all("VM") if v.get("snapshot_of") == ccnet_ref) == sorted(
        ccnet["snapshots"])
    _, host = next(iter(i.all("host")))
    assert ccnet_ref in host["resident_VMs"]
    assert sorted(i.get("SR", i.get("PBD", p)["SR"])["name_label"] for p in host["PBDs"]) == [
        "Auto install library", "Berlin_storage", "CIFS ISO library", "DVD drives",
        "Local storage", "Non-auto Install ISOs", "Removable storage",
        "Rob borrowing this SR from Javi", "XenServer Tools"]
    # Every VDI (196) is in its SR's rebuilt set, once.
    assert sorted(r for _, sr in i.all("SR") for r in sr["VDIs"]) == sorted(r for r, _ in i.all("VDI"))


def test_gaps_missing_tables_and_dangling_refs():
    gaps = imported("state2.xml")["gaps"]
    classes_absent = {g["class"] for g in gaps if g["reason"] == "not present in this dump"}
    assert {"PCI", "PGPU", "VGPU", "VUSB"} <= classes_absent
    # state2 has no host_metrics rows: both host.metrics refs dangle
    i = inv("state2.xml")
    assert dict(i.all("host_metrics")) == {}
    metrics_gaps = [g for g in gaps if g["class"] == "host" and g.get("field") == "metrics"]
    assert sorted(g["ref"] for g in metrics_gaps) == sorted(r for r, _ in i.all("host"))
    # the empty CD whose VBD.VDI reads "cd" (not a ref): NULL plus a gap
    cd = [g for g in gaps if g["class"] == "VBD" and g.get("field") == "VDI"
          and "'cd'" in g["reason"]]
    assert len(cd) == 1 and i.get("VBD", cd[0]["ref"]) is not None
    assert i.get("VBD", cd[0]["ref"])["VDI"] == "OpaqueRef:NULL"
    # tampa has PCI/PGPU/GPU_group tables, so no gap for them
    tampa = {g["class"] for g in imported("tampa-db_inc_snapshots.xml")["gaps"]
             if g["reason"] == "not present in this dump"}
    assert not {"PCI", "PGPU", "GPU_group"} & tampa
    # Cowley: a snapshot of a VM that no longer exists
    cowley = imported("Cowley-db.xml")["gaps"]
    assert any(g["class"] == "VDI" and g.get("field") == "snapshot_of" for g in cowley)
    # refs into tables the inventory does not keep (console, VMPP) are not gaps
    assert not any(g.get("field") in ("consoles", "protection_policy") for g in cowley)


def test_many_dangling_refs_are_summarised():
    objects = {"VM": {f"OpaqueRef:{i}": {"uuid": str(i), "metrics": f"OpaqueRef:m{i}"}
                      for i in range(50)}}
    gaps = inventory.dangling_gaps(objects)
    assert len(gaps) == 1
    assert gaps[0].field == "metrics" and gaps[0].reason.startswith("50 dangling references")
    few = inventory.dangling_gaps({"VM": dict(list(objects["VM"].items())[:3])})
    assert len(few) == 3 and all(g.ref and g.reason.startswith("dangling reference") for g in few)


# -- secrets -----------------------------------------------------------------------------------

SECRET_KEY = re.compile(r"password|passwd|secret", re.IGNORECASE)
_PAIR = re.compile(r"\('((?:[^'\\]|\\.)*)' '((?:[^'\\]|\\.)*)'\)")


def raw_secrets(path: Path) -> tuple[set[str], set[str]]:
    """(secret values, ordinary values) read straight from the file, not through checker."""
    secrets: set[str] = set()
    ordinary: set[str] = set()
    if path.suffix == ".json":
        text = path.read_text()
        for key, value in re.findall(r'"([^"]*)":\s*"([^"]*)"', text):
            (secrets if SECRET_KEY.search(key) else ordinary).add(value)
        return secrets, ordinary
    root = ET.parse(path).getroot()
    for pair in root.iter("pair"):
        if pair.get("key") == "pool_token":
            token = pair.get("value", "")
            secrets.add(token)
            secrets.update(token.split("/"))
    for table in root.iter("table"):
        is_secret = table.get("name", "").lower() == "secret"
        for row in table:
            for attr, value in row.attrib.items():
                if is_secret or attr == "wlb_password":
                    secrets.add(value)
                elif value.startswith("(("):
                    text = value.replace("%_", "  ").replace("%.", " ")
                    for k, v in _PAIR.findall(text):
                        if SECRET_KEY.search(k) and table.get("name") != "SM":
                            secrets.add(v)
                        else:
                            ordinary.add(v)
                else:
                    ordinary.add(value)
    return secrets, ordinary


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_no_secret_reaches_the_inventory(path):
    secrets, ordinary = raw_secrets(path)
    secrets -= {"", "OpaqueRef:NULL"}
    text = json.dumps(imported(path.name), ensure_ascii=False)
    # A value that the file also uses as an ordinary value cannot be tested by its
    # absence (state4's placeholder secret "bla" is also a secret uuid and the
    # storagelink_user); those are checked by position below.
    for value in sorted(secrets - ordinary):
        assert json.dumps(value, ensure_ascii=False) not in text, value
        if len(value) >= 8:
            assert value not in text, value
    doc = imported(path.name)
    assert not any(cls.lower() == "secret" for cls in doc["objects"])
    for cls, table in doc["objects"].items():
        for rec in table.values():
            for name, value in rec.items():
                if SECRET_KEY.search(name):
                    assert value in ("", "OpaqueRef:NULL", "(redacted)"), (cls, name)
                if isinstance(value, dict) and cls != "SM":
                    for k, v in value.items():
                        if SECRET_KEY.search(k):
                            assert v in ("", "(redacted)"), (cls, name, k)


def test_secret_facts_kept_as_redacted_keys():
    i = inv("state4.xml")
    pbds = [p for _, p in i.all("PBD") if "password_transformed" in p["device_config"]]
    assert sorted((i.get("SR", p["SR"])["name_label"], i.get("host", p["host"])["name_label"])
                  for p in pbds) == [("NetApp virtual disk storage", "incubus"),
                                     ("NetApp virtual disk storage", "inflames")]
    assert all(p["device_config"]["password_transformed"] == "(redacted)" for p in pbds)
    assert all(p["device_config"]["username"] == "root" for p in pbds)
    assert i.pool["wlb_password"] == "(redacted)"
    assert i.pool["wlb_username"] == "Administrator"
    chap = [p for _, p in inv("Cowley-db.xml").all("PBD")
            if "chappassword_secret" in p["device_config"]]
    assert chap and chap[0]["device_config"]["chappassword_secret"] == "(redacted)"
    assert chap[0]["device_config"]["chapuser"] == "root"
    sm = next(s for _, s in inv("Cowley-db.xml").all("SM") if "chappassword" in
              s.get("configuration", {}))
    assert sm["configuration"]["chappassword"] != "(redacted)"  # prose, not a secret


def test_redact_secrets_directly():
    objects = {
        "secret": {"OpaqueRef:s": {"uuid": "sec-uuid", "value": "hunter2"}},
        "pool": {"OpaqueRef:p": {"wlb_password": "pw", "other_config": {
            "x_secret": "sec-uuid", "api_token": "t", "folder": "/a"},
            "ref_list": ["OpaqueRef:s", "OpaqueRef:q"], "holder": "OpaqueRef:s"}},
        "PBD": {"OpaqueRef:b": {"device_config": {"chappassword": "c", "target": "t",
                                                  "other": "sec-uuid", "passwd": ""}}},
    }
    dump.redact_secrets(objects)
    assert "secret" not in objects
    pool = objects["pool"]["OpaqueRef:p"]
    assert pool["wlb_password"] == "(redacted)"
    assert pool["other_config"] == {"x_secret": "(redacted)", "api_token": "(redacted)",
                                    "folder": "/a"}
    assert pool["ref_list"] == ["(redacted)", "OpaqueRef:q"] and pool["holder"] == "(redacted)"
    assert objects["PBD"]["OpaqueRef:b"]["device_config"] == {
        "chappassword": "(redacted)", "target": "t", "other": "(redacted)", "passwd": ""}
    assert "hunter2" not in json.dumps(objects)


def test_redact_secrets_directly_finds_the_secret_value_itself():
    objects = {
        "Secret": {"OpaqueRef:s": {"uuid": "sec-uuid", "value": "hunter2"}},
        "host": {"OpaqueRef:h": {"name_label": "xs01", "other_config": {
            "hunter2": "as a key", "note": "hunter2"}, "tags": ["hunter2", "a"],
            "iscsi_iqn": "hunter2", "hostname": "hunter2.example"}},
    }
    dump.redact_secrets(objects)
    host = objects["host"]["OpaqueRef:h"]
    assert host["other_config"] == {"(redacted)": "as a key", "note": "(redacted)"}
    assert host["tags"] == ["(redacted)", "a"] and host["iscsi_iqn"] == "(redacted)"
    assert host["hostname"] == "hunter2.example"  # equal strings only


# -- decoding ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("a%.b", "a b"), ("a%_b", "a  b"), ("a%tb", "a\tb"), ("a%nb", "a\nb"), ("a%rb", "a\rb"),
    ("100%%", "100%"), ("%%.", "%."), ("%%_%.", "%_ "), ("plain", "plain"), ("50%", "50%"),
])
def test_unescape_spaces(raw, expected):
    assert dump.unescape_spaces(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("('a' 'b')", ["a", "b"]),
    ("(('k' 'v') ('k2' 'v2'))", {"k": "v", "k2": "v2"}),
    ("(('k' 'v'))", {"k": "v"}),
    ("('only')", ["only"]),
    ("('it\\'s' 'C:\\\\Windows')", ["it's", "C:\\Windows"]),
    ("(('path' 'C:\\\\W|\\\\Device') ('q' 'a \\'b\\''))", {"path": "C:\\W|\\Device",
                                                          "q": "a 'b'"}),
    ("(('k' ('a' 'b')) ('k2' ()))", {"k": ["a", "b"], "k2": []}),
    # the double-quoted style of other XAPI versions, and both mixed
    ('("a" "b")', ["a", "b"]),
    ('(("k" "v") ("q" "say \\"hi\\" \'x\'"))', {"k": "v", "q": "say \"hi\" 'x'"}),
    ("(('k' \"v\") (\"k2\" ('a' \"b\")))", {"k": "v", "k2": ["a", "b"]}),
    (" ( 'a'\n'b' ) ", ["a", "b"]),
])
def test_decode_sexpr(raw, expected):
    assert dump.decode_sexpr(raw) == expected


@pytest.mark.parametrize("raw, reason, offset", [
    ("(backup copy)", "unexpected 'b', expected a quoted string, '(' or ')'", 1),
    ("(C) 2008 Citrix", "unexpected 'C'", 1),
    ("('unterminated)", "unterminated string", 1),
    ('("unterminated)', "unterminated string", 1),
    ("('a') trailing", "text after the closing ')'", 6),
    ("('a'))", "text after the closing ')'", 5),
    ("(('k' 'v')", "unclosed '(' (1 open)", 10),
    ("", "expected '(' and found nothing", 0),
    ("'a'", "a string outside parentheses", 0),
    (")", "unbalanced ')'", 0),
    ("('struct' ('uuid' 'x'))", "neither a set of strings nor a map", 0),
    ("(('k' (('a' 'b'))))", "the value of 'k' is nested more than a set deep", 0),
])
def test_not_an_sexpr_says_where(raw, reason, offset):
    with pytest.raises(dump.SexprError) as info:
        dump.decode_sexpr(raw)
    assert info.value.reason.startswith(reason) and info.value.offset == offset


def test_empty_sexpr_map_or_set():
    assert dump.decode_sexpr("()", empty_map=True) == {}
    assert dump.decode_sexpr("()") == []
    rec = dump.decode_row("VM", {"other_config": "()", "tags": "()", "platform": "()",
                                 "VBDs": "()", "blocked_operations": "()"})
    assert rec == {"other_config": {}, "tags": [], "platform": {}, "VBDs": [],
                   "blocked_operations": {}}
    assert dump.decode_row("SM", {"features": "()", "capabilities": "()"}) == {
        "features": {}, "capabilities": []}


def test_decode_row():
    rec = dump.decode_row("VM", {
        "ref": "OpaqueRef:1", "_ref": "OpaqueRef:1", "__ctime": "1", "__mtime": "2",
        "name__label": "true", "name__description": "(backup%.copy)", "is_a_template": "false",
        "memory__static_max": "1024", "HVM__shadow_multiplier": "4",
        "other_config": "(('folder'%.'/a%.b'))", "tags": "('x'%.'y')",
        "PV__args": "(('not' 'a map'))"})
    assert rec == {"name_label": "true", "name_description": "(backup copy)",
                   "is_a_template": False, "memory_static_max": "1024",
                   "HVM_shadow_multiplier": 4.0, "other_config": {"folder": "/a b"},
                   "tags": ["x", "y"], "PV_args": "(('not' 'a map'))"}


SMALL = ("<database><manifest><pair key='schema_major_vsn' value='5'/>"
         "<pair key='schema_minor_vsn' value='66'/><pair key='pool_token' value='tok-123456'/>"
         "</manifest><table name='pool'><row ref='OpaqueRef:p' uuid='p-1' "
         "name__label='small&amp;pool' other_config='()' ha_enabled='false'/></table>"
         "<table name='host'><row ref='OpaqueRef:h' uuid='h-1' name__label='xs01' "
         "enabled='true' metrics='OpaqueRef:m' "
         "software_version=\"(('product_version'%.'8.4.0'))\"/></table>"
         "<table name='host_metrics'><row ref='OpaqueRef:m' uuid='m-1' "
         "memory__total='1073741824' live='true'/></table>"
         "<table name='VM'><row ref='OpaqueRef:v' uuid='v-1' name__label='Control domain' "
         "power_state='Running' is_control_domain='true' resident_on='OpaqueRef:h'/></table>"
         "<table name='console'><row ref='OpaqueRef:c' uuid='c-1'/></table></database>")


def test_a_dump_without_srs_is_written_and_says_so(tmp_path, capsys):
    # SMALL has pool, host and VM but no SR or VDI table: imported, with the gaps named
    src, out = tmp_path / "d.xml", tmp_path / "inv.json"
    src.write_text(SMALL)
    assert main(["import", str(src), "-o", str(out)]) == 0
    assert f"{out}: pool 'small&pool' — SR was not collected (not present in this dump)" in (
        capsys.readouterr().out)
    assert {"class": "SR", "reason": "not present in this dump"} in json.loads(
        out.read_text())["gaps"]


def _pretty(text: str) -> str:
    return text.replace("><", ">\n  <")


@pytest.mark.parametrize("variant", ["plain", "declaration", "pretty", "gzip", "gz-no-suffix",
                                     "bom"])
def test_small_dump_forms(tmp_path, variant):
    text = SMALL
    if variant == "declaration":
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + text
    if variant == "pretty":
        text = '<?xml version="1.0"?>\n' + _pretty(text) + "\n"
    data = text.encode()
    if variant == "bom":
        data = b"\xef\xbb\xbf" + data
    name = {"gzip": "d.xml.gz", "gz-no-suffix": "d.xml"}.get(variant, "d.xml")
    if variant.startswith("gz"):
        data = gzip.compress(data, mtime=0)
    path = tmp_path / name
    path.write_bytes(data)
    doc = dump.import_file(path)
    assert doc["source"]["schema"] == "5.66" and doc["source"]["file"] == name
    assert len(doc["source"]["sha256"]) == 64
    import hashlib
    assert doc["source"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["pool"]["name_label"] == "small&pool"
    host = doc["objects"]["host"]["OpaqueRef:h"]
    assert host["software_version"] == {"product_version": "8.4.0"}
    assert host["enabled"] is True
    assert "console" not in doc["objects"]
    assert "tok-123456" not in json.dumps(doc)
    assert not [g for g in doc["gaps"] if "dangling" in g["reason"]]


# -- bad input through the CLI -----------------------------------------------------------------

BAD = TEST_DATA / "bad"


@pytest.mark.parametrize("name, problem", [
    ("not_xml.txt", "not XML or JSON"),
    ("not_a_dump.xml", "not a XAPI database dump"),
    ("truncated.xml", "truncated XML"),
    ("truncated.json", "not JSON"),
    ("billion_laughs.xml", "refused: the XML declares entities"),
    ("external_entity.xml", "refused: the XML declares entities"),
    ("corrupt.xml.gz", "corrupt gzip"),
    ("empty.xml", "empty file"),
    ("does-not-exist.xml", "no such file"),
    ("duplicate_ref.xml", "duplicate_ref.xml:16: duplicate row ref OpaqueRef:v1: the VM row on "
                          "line 16 and the VM row on line 15 have the same ref"),
    ("duplicate_ref_across_tables.xml", "duplicate_ref_across_tables.xml:16: duplicate row ref "
     "OpaqueRef:v1: the VM row on line 16 and the host row on line 12"),
    ("bad_map.xml", "bad_map.xml:15: VM OpaqueRef:v1: other_config: not a map S-expression: "
                    "unclosed '(' (1 open) at character 19"),
    ("bad_set.xml", "bad_set.xml:15: VM OpaqueRef:v1: tags: not a set S-expression: "
                    "unexpected 't', expected a quoted string, '(' or ')' at character 11"),
    ("map_holds_a_set.xml", "map_holds_a_set.xml:15: VM OpaqueRef:v1: platform: not a map "
                            "S-expression: a set where a map of (key value) pairs is expected"),
    ("map_not_an_sexpr.xml", "map_not_an_sexpr.xml:15: VM OpaqueRef:v1: platform: not a map "
                             "S-expression: unexpected 'n'"),
    ("no_host.xml", "no_host.xml: no host records: a XAPI database dump without pool, host, VM "
                    "records"),
    ("empty_vm_table.xml", "empty_vm_table.xml: no VM records"),
    ("records_without_pool.json", "records_without_pool.json: no pool records: a records file"),
    ("unknown_encoding.xml", "unknown_encoding.xml:1: malformed XML: unknown encoding: "
                             "no-such-encoding"),  # found by the near-valid dumps property
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, name, problem):
    bad = BAD / name
    out = tmp_path / "inv.json"
    assert main(["import", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert problem in err and name in err
    assert "Traceback" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    keep = tmp_path / "keep.json"
    keep.write_text("previous inventory\n")
    assert main(["import", str(bad), "-o", str(keep)]) == 2
    assert keep.read_text() == "previous inventory\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]


def test_gzip_magic_with_garbage(tmp_path):
    bad = tmp_path / "garbage.xml"
    bad.write_bytes(b"\x1f\x8b" + b"\x00" * 40)
    with pytest.raises(InputError, match="corrupt gzip"):
        dump.import_file(bad)


def test_truncated_error_has_line_and_column(tmp_path):
    bad = tmp_path / "t.xml"
    bad.write_text(_pretty(SMALL)[:-40])
    with pytest.raises(InputError, match=r"t\.xml:\d+:\d+: truncated XML"):
        dump.import_file(bad)


def test_good_import_through_cli(tmp_path, capsys):
    out = tmp_path / "inv.json.gz"
    assert main(["import", str(REALDATA / "xenadmin" / "state4.xml"), "-o", str(out)]) == 0
    assert "Hottub" in capsys.readouterr().out
    loaded = Inventory.load(out)
    assert sorted(h["name_label"] for _, h in loaded.all("host")) == ["incubus", "inflames"]


# -- properties: whatever the bytes, an inventory or exit 2 with a located message -------------

SEXPR_TEXT = st.text(st.sampled_from(list("()'\"\\ ak%\n")), max_size=40) | st.text(max_size=30)
STRINGS = st.text(max_size=12)


def _quoted(value: str, quote: str) -> str:
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


@given(SEXPR_TEXT)
@settings(max_examples=300, deadline=None)
def test_any_text_decodes_or_says_where_it_stops(text):
    try:
        value = dump.decode_sexpr(text)
    except dump.SexprError as exc:
        assert 0 <= exc.offset <= len(text) and str(exc).endswith(f"at character {exc.offset + 1}")
        return
    assert isinstance(value, dict | list)


@given(st.one_of(st.lists(STRINGS, max_size=5),
                 st.dictionaries(STRINGS, STRINGS | st.lists(STRINGS, max_size=3), max_size=5)),
       st.lists(st.sampled_from(["'", '"']), min_size=1, max_size=1))
@settings(max_examples=300, deadline=None)
def test_sets_and_maps_read_back_in_both_quoting_styles(value, quotes):
    quote = quotes[0]

    def encode(v):
        if isinstance(v, str):
            return _quoted(v, quote)
        if isinstance(v, list):
            return "(" + " ".join(map(encode, v)) + ")"
        return "(" + " ".join(f"({encode(k)} {encode(x)})" for k, x in v.items()) + ")"

    decoded = dump.decode_sexpr(encode(value), empty_map=isinstance(value, dict))
    assert decoded == value


def _import_bytes(data: bytes, name: str = "d.xml") -> dict | InputError:
    return read_or_exit_2(dump.import_file, data, name)


@given(st.binary(max_size=300))
@settings(max_examples=150, deadline=None)
def test_arbitrary_bytes_import_or_exit_2(data):
    _import_bytes(data)
    _import_bytes(b"<database>" + data)


GOOD = (BAD / "bad_set.xml").read_text().replace("tags=\"('tier-1' tier-2)\"", "tags=\"('tier-1')\"")
ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_near_valid_dumps_import_or_exit_2_with_the_line(data):
    # the small good dump with one attribute value replaced, or a slice cut out of it
    spots = list(ATTRIBUTE.finditer(GOOD))
    spot = data.draw(st.sampled_from(spots))
    junk = data.draw(SEXPR_TEXT.map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;")
                                    .replace('"', "&quot;")))
    text = GOOD[:spot.start(2)] + junk + GOOD[spot.end(2):]
    if data.draw(st.booleans()):
        start = data.draw(st.integers(0, len(GOOD)))
        text = GOOD[:start] + GOOD[start + data.draw(st.integers(1, 40)):]
    out = _import_bytes(text.encode())
    if isinstance(out, dict):
        validate_document(out, "near-valid")
    elif "S-expression" in str(out) or "duplicate" in str(out):
        assert re.match(r".*d\.xml:\d+(:\d+)?: ", str(out)), str(out)


def test_a_string_equal_to_a_secret_value_is_redacted_anywhere(tmp_path):
    # the small good dump, with a secret table (as XAPI keeps CHAP and WLB passwords) whose
    # value an admin also copied into a VM's other_config, its tags, a description, a map
    # key and a user name field
    secret = "s3cret pass"
    escaped = "s3cret%.pass"
    text = GOOD.replace(
        "other_config=\"(('folder' '/web'))\" tags=\"('tier-1')\"",
        f"other_config=\"(('folder' '/web') ('note' '{escaped}') ('{escaped}' 'k') "
        f"('user' 'root'))\" tags=\"('tier-1' '{escaped}')\" name__description=\"{escaped}\" "
        f"wlb_username=\"{escaped}\"").replace(
        "</database>", f'  <table name="secret">\n    <row ref="OpaqueRef:s1" uuid="s-1" '
                       f'value="{escaped}"/>\n  </table>\n</database>')
    path = tmp_path / "d.xml"
    path.write_text(text)
    doc = dump.import_file(path)
    assert secret not in json.dumps(doc)
    vm = doc["objects"]["VM"]["OpaqueRef:v1"]
    assert vm["other_config"] == {"folder": "/web", "note": "(redacted)", "(redacted)": "k",
                                  "user": "root"}
    assert vm["tags"] == ["tier-1", "(redacted)"]
    assert vm["name_description"] == "(redacted)" and vm["wlb_username"] == "(redacted)"
    assert vm["name_label"] == "web-01"  # only equal strings: a name is not a secret
