"""checker.releases and the table behind it (scripts/datamodel_table.py).

Host records come from the real dumps in tests/data/realdata; where a test needs a
product the data lacks (7.1 CU2, CH 8.2 CU1, XCP-ng), it edits software_version (and
the API version that product reports) of a real record and says so.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import pytest
from conftest import REALDATA

from checker import dump, releases
from checker.inventory import BACK_REFERENCES
from checker.releases import Product, predates, product_of, release, release_of

ROOT = Path(__file__).resolve().parents[1]
#: A xen-api clone (work tree or bare, with its tags) to regenerate the table from.
XEN_API = Path(os.environ.get("XEN_API_REPO", "/nonexistent"))

#: Every real file with hosts, and the release its master runs.
REAL_HOSTS = {
    "xenadmin/Cowley-db.xml": ("cowley", "XenServer 5.6 FP1"),
    # A beta of 5.6 FP1: API 1.7, as 5.6 itself.
    "xenadmin/cowley1.xml": ("midnight-ride", "XenServer 5.6.900"),
    # API_version edited to 2.0 by XenCenter's developers; xencenter_max and 6.1.0 say Tampa.
    "xenadmin/tampa-db_inc_snapshots.xml": ("tampa", "XenServer 6.1"),
    # 5.5 dumps relabelled 6.0.0 and API 2.0; xencenter_max 1.6 is 5.5's API version.
    "xenadmin/state2.xml": ("george", "XenServer 6.0.0"),
    "community.general/ansible-test-vm-1-params.json": ("falcon", "XenServer 7.2"),
}


@cache
def objects(name: str) -> dict:
    return dump.import_file(REALDATA / name, partial=True)["objects"]


def master(name: str) -> dict:
    return copy.deepcopy(next(iter(objects(name)["host"].values())))


def falcon_host(api_minor: int, **software_version: str) -> dict:
    """The real XenServer 7.2 host record (community.general), re-labelled."""
    host = master("community.general/ansible-test-vm-1-params.json")
    host["API_version_minor"] = str(api_minor)
    host["software_version"].update(xencenter_min=f"2.{api_minor}", xencenter_max=f"2.{api_minor}",
                                    **software_version)
    return host


# -- the table ----------------------------------------------------------------------------------

def test_cbt_enabled_arrived_with_inverness_default_false():
    assert releases.introduced("VDI", "cbt_enabled") == release("inverness")
    assert release("inverness").branding == "XenServer 7.3"
    assert releases.default("VDI", "cbt_enabled") == (True, False)


def test_a_field_without_default_and_an_unknown_field():
    assert releases.default("VM", "uuid") == (False, None)
    assert releases.introduced("VM", "uuid") == release("rio")
    assert releases.introduced("VM", "no_such_field") is None
    assert releases.default("no_such_class", "uuid") == (False, None)


def test_namespaced_fields_are_spelled_as_get_all_records_does():
    for cls, name in [("VM", "name_label"), ("VM", "memory_static_max"), ("VM", "HVM_boot_policy"),
                      ("VM_guest_metrics", "PV_drivers_detected"), ("host", "API_version_major"),
                      ("VIF", "qos_algorithm_type")]:
        assert releases.introduced(cls, name) is not None, f"{cls}.{name}"


def test_a_field_of_a_numbered_xapi_release_belongs_to_the_next_named_one():
    # pool.migration_compression: ~lifecycle:[], prototyped in xapi 22.33.0 (XenServer 8 Preview).
    assert releases.introduced("pool", "migration_compression") == release("nile-preview")
    assert releases.default("pool", "migration_compression") == (True, False)


def test_releases_are_ordered_and_the_versioned_checks_name_dundee():
    assert release("ely") < release("inverness") < release("nile")
    assert release("stockholm").api_version == release("stockholm_psr").api_version == (2, 15)
    assert releases.VDI_MIRROR_CHECKED_SINCE == releases.HALTED_VDI_MOVE_SINCE == release("dundee")
    assert str(releases.VDI_MIRROR_CHECKED_SINCE) == "XenServer 7.0 (dundee)"
    with pytest.raises(KeyError):
        release("zurich")


def _facts_sources() -> list[Path]:
    package = ROOT / "checker" / "facts"
    return sorted(package.glob("*.py")) if package.is_dir() else [ROOT / "checker" / "facts.py"]


#: Names facts.py reads with .get / [...] that are not fields: keys of maps
#: (software_version, restrictions, platform, os_version, other_config) and class names.
NOT_FIELDS = {
    "PBD", "PIF_metrics", "VGPU", "VGPU_type", "assume_network_is_shared", "caching", "class",
    "distro", "mac_seed", "major", "minor", "platform_version", "product_brand", "product_version",
    "product_version_text",
    "product_version_text_short", "restrict_storage_xen_motion", "restrict_xen_motion", "uname",
    "viridian", "xapi", "xapi_build", "xen",
}


def test_every_field_facts_reads_is_in_the_table():
    source = "\n".join(p.read_text() for p in _facts_sources())
    patterns = [r'field\("(\w+)"\)', r'\.get\("(\w+)"', r'record\["(\w+)"\]', r'rec\["(\w+)"\]',
                r'links?\("\w+", "(\w+)"', r'_restriction\(o, "(\w+)"\)']
    read = {name for p in patterns for name in re.findall(p, source)}
    fields = {name for table in releases._table()["fields"].values() for name in table}
    assert {"cbt_enabled", "on_boot", "migration_compression", "software_version"} <= read
    assert read - fields == NOT_FIELDS


# -- which release a host runs --------------------------------------------------------------------

@pytest.mark.parametrize("name", REAL_HOSTS)
def test_real_hosts_release_and_label(name):
    code, label = REAL_HOSTS[name]
    host = master(name)
    assert release_of(host) == release(code)
    product = product_of(host["software_version"])
    assert product is not None and product.label == label


@pytest.mark.parametrize("name", REAL_HOSTS)
def test_no_field_a_real_host_has_is_said_to_be_newer_than_it(name):
    """The table against real records: fields present are not 'introduced later'.
    Back-references are left out: the importer rebuilds them whatever the version."""
    rel = release_of(master(name))
    assert rel is not None
    newer = {(cls, field) for cls, records in objects(name).items() for record in records.values()
             for field in record if (cls, field) not in BACK_REFERENCES and predates(rel, cls, field)}
    assert newer == set()


def test_xs71cu2_host_is_ely():
    # The real 7.2 host record with the numbers a 7.1 CU2 host reports (API 2.6).
    host = falcon_host(6, product_version="7.1.2", product_version_text="7.1",
                       product_version_text_short="7.1 CU2", platform_version="2.2.2")
    assert release_of(host) == release("ely")
    assert product_of(host["software_version"]) == Product("XenServer", (7, 1, 2), "XenServer 7.1 CU2")
    assert predates(release("ely"), "VDI", "cbt_enabled")
    assert not predates(release("ely"), "VDI", "on_boot")


def test_the_software_version_alone_places_a_host():
    host = falcon_host(6, product_version="7.1.2", product_version_text_short="7.1 CU2")
    for key in ("API_version_major", "API_version_minor"):
        del host[key]
    del host["software_version"]["xencenter_max"]
    assert release_of(host) == release("ely")
    assert release_of({"software_version": {"platform_version": "3.4.1"}}) == release("nile")
    assert release_of({"name_label": "no versions at all"}) is None


def test_xcp_ng_821_runs_citrix_82_xapi_but_is_labelled_xcp_ng():
    # XCP-ng 8.2.1 reports API 2.15, as Citrix Hypervisor 8.2 (hotfix 2 and CU1) does.
    xcp = falcon_host(15, product_brand="XCP-ng", product_version="8.2.1", platform_version="3.2.1",
                      product_version_text="8.2", product_version_text_short="8.2")
    ch = falcon_host(15, product_brand="Citrix Hypervisor", product_version="8.2.1",
                     platform_version="3.2.1", product_version_text_short="8.2 CU1")
    assert release_of(xcp) == release_of(ch) == release("stockholm_psr")
    assert product_of(xcp["software_version"]) == Product("XCP-ng", (8, 2, 1), "XCP-ng 8.2.1")
    assert product_of(ch["software_version"]) == Product("Citrix Hypervisor", (8, 2, 1),
                                                         "Citrix Hypervisor 8.2 CU1")


def test_xcp_ng_83_and_xenserver_8_run_nile():
    xcp = falcon_host(21, product_brand="XCP-ng", product_version="8.3.0", platform_version="3.4.0")
    xs8 = falcon_host(21, product_brand="XenServer", product_version="8.4.0", platform_version="3.4.0")
    assert release_of(xcp) == release_of(xs8) == release("nile")
    assert product_of(xcp["software_version"]).label == "XCP-ng 8.3.0"
    assert product_of(xs8["software_version"]).label == "XenServer 8"


# -- predates --------------------------------------------------------------------------------------

def test_predates_by_release_and_by_xapi_within_a_release():
    assert predates(release("stockholm_psr"), "pool", "migration_compression")
    assert not predates(release("nile"), "pool", "migration_compression")
    preview = release("nile-preview")
    # Within XenServer 8 Preview only the host's xapi version tells (22.33.0 added it).
    assert predates(preview, "pool", "migration_compression", xapi=(22, 20, 0))
    assert not predates(preview, "pool", "migration_compression", xapi=(23, 1, 0))
    assert not predates(preview, "pool", "migration_compression")
    assert not predates(release("rio"), "VM", "no_such_field")


def test_predated_reason_names_both_releases():
    assert releases.predated_reason(release("ely"), "VDI", "cbt_enabled", "XenServer 7.1 CU2") == (
        "VDI.cbt_enabled was introduced in XenServer 7.3 (inverness); "
        "this pool runs XenServer 7.1 CU2 (ely)")
    assert releases.predated_reason(release("stockholm_psr"), "pool", "migration_compression") == (
        "pool.migration_compression was introduced in xapi 22.33.0 (XenServer 8 Preview, "
        "nile-preview); this pool runs Citrix Hypervisor 8.2 Hotfix 2 (stockholm_psr)")


# -- the generator -----------------------------------------------------------------------------------

MINI_DATAMODEL = {
    "ocaml/idl/datamodel_types.ml": """
        let rel_rio = "rio"

        let rel_inverness = "inverness"

        let release_order_full =
          [
            {
              code_name= Some rel_rio
            ; version_major= 1
            ; version_minor= 1
            ; branding= "XenServer 4.0"
            ; release_date= Some "August 2007"
            }
          ; {
              code_name= None
            ; version_major= 1
            ; version_minor= 4
            ; branding= "Unreleased"
            ; release_date= None
            }
          ; {
              code_name= Some rel_inverness
            ; version_major= 2
            ; version_minor= 8
            ; branding= "XenServer 7.3"
            ; release_date= Some "December 2017"
            }
          ]

        let release_order = release_order_full
        """,
    "ocaml/idl/datamodel_common.ml": """
        open Datamodel_types

        let _vdi = "VDI"

        let names ?lifecycle qual =
          let field x y =
            field x y ~qualifier:qual ~default_value:(Some (VString "")) ?lifecycle
          in
          [field "label" "a label"; field "description" "a description"]
        """,
    "ocaml/idl/datamodel_lifecycle.ml": """
        let prototyped_of_field = function
          | "VDI", "other_config" ->
              Some "22.33.0"
          | _ ->
              None

        let prototyped_of_message = function _ -> None
        """,
    "ocaml/idl/api_version.ml": "let api_version_major = 2L\n\nlet api_version_minor = 8L\n",
    "ocaml/idl/datamodel.ml": """
        open Datamodel_types
        open Datamodel_common

        module VDI = struct
          let memory =
            let field = field ~ty:Int in
            [
              field "static_max" "max (* not a comment *)"
                ~lifecycle:[(Published, rel_rio, "")]
                ~default_value:(Some (VInt 0L))
            ]

          let t =
            create_obj ~name:_vdi ~descr:"A disk"
              ~messages:[never_evaluated]
              ~contents:
                ([uid _vdi ~lifecycle:[(Published, rel_rio, "")]]
                @ [
                    namespace ~name:"name"
                      ~contents:(names ~lifecycle:[(Published, rel_rio, "")] RW)
                      ()
                  ; namespace ~name:"memory" ~contents:memory ()
                  ; field ~ty:Bool (* CBT *)
                      ~lifecycle:[(Published, rel_inverness, "")]
                      ~default_value:(Some (VBool false)) "cbt_enabled" "tracked"
                  ; field ~lifecycle:[]
                      ~default_value:(Some (VMap [(VString "a", VString "b")]))
                      "other_config" "new"
                  ; field ~internal_only:true
                      ~lifecycle:
                        [(Published, rel_rio, ""); (Changed, "1.2.3", "new " ^ "default")]
                      ~default_value:(Some (VSet [VInt 1L])) "x" "y"
                  ; field ~persist:false ~lifecycle:[(Published, rel_rio, "")] "no_default" "-"
                  ])
              ()
        end

        let all_system = [VDI.t]
        """,
}


def test_generator_reads_a_datamodel(tmp_path):
    repo = tmp_path / "xen-api"
    for path, text in MINI_DATAMODEL.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(textwrap.dedent(text).lstrip())

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "mini")
    git("tag", "v22.33.0")
    out = tmp_path / "table.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "datamodel_table.py"), str(repo), "-o", str(out)],
                   check=True, capture_output=True)
    table = json.loads(out.read_text())
    assert table["unparsed"] == []
    assert [(r["code_name"], r["version_minor"], r.get("xapi_tags")) for r in table["releases"]] == [
        ("rio", 1, None), ("inverness", 8, {"first": "22.33.0", "last": "22.33.0"})]
    assert table["fields"] == {"VDI": {
        "cbt_enabled": {"introduced": "inverness", "default": False, "has_default": True},
        "memory_static_max": {"introduced": "rio", "default": 0, "has_default": True},
        "name_description": {"introduced": "rio", "default": "", "has_default": True},
        "name_label": {"introduced": "rio", "default": "", "has_default": True},
        "no_default": {"introduced": "rio", "default": None, "has_default": False, "persist": False},
        "other_config": {"introduced": "22.33.0", "default": {"a": "b"}, "has_default": True,
                         "introduced_release": "inverness"},
        "uuid": {"introduced": "rio", "default": None, "has_default": False},
        "x": {"introduced": "rio", "default": [1], "has_default": True,
              "changed": [{"release": "1.2.3", "note": "new default"}], "internal_only": True},
    }}


@pytest.mark.skipif(not XEN_API.is_dir(), reason="set XEN_API_REPO to a xen-api clone to run it")
def test_committed_table_is_what_the_generator_makes(tmp_path):
    committed = json.loads((ROOT / "checker" / "data" / "datamodel.json").read_text())
    out = tmp_path / "table.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "datamodel_table.py"), str(XEN_API),
                    "--commit", committed["source"]["commit"], "-o", str(out)],
                   check=True, capture_output=True)
    assert json.loads(out.read_text()) == committed
