"""Unit tests per fact of checker/facts.py, on the real XenServer records in tests/data/realdata.

Every expected value below was read off the raw file (the XML attribute or the JSON
field) and computed by hand; the arithmetic is in the comments. Tests that need a case
the real data lacks (AMD, GFS2, CBT, on_boot=reset, vUSB, PCI passthrough, vGPU…)
derive a record from a real one by changing the one field the fact is about, and say
which field of which record was changed. A fact that cannot be established must be
unknown (`Missing` / `UnknownFact`) with a reason naming the missing field or record.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from conftest import REALDATA

from checker.dump import import_file
from checker.facts import (
    FACTS,
    Missing,
    UnknownFact,
    World,
    features_subset,
    recording,
    version_tuple,
)
from checker.inventory import Inventory

MiB = 1024 * 1024

COWLEY = "xenadmin/Cowley-db.xml"
COWLEY1 = "xenadmin/cowley1.xml"
STATE2 = "xenadmin/state2.xml"
STATE4 = "xenadmin/state4.xml"
TAMPA = "xenadmin/tampa-db_inc_snapshots.xml"
CG1 = "community.general/ansible-test-vm-1-params.json"
CG2 = "community.general/ansible-test-vm-2-params.json"
XAPI24 = "xen-api/vm_get_all_records.json"

# Refs read off the files.
TAMPA_DT16 = "OpaqueRef:771506fe-1151-83de-0f8f-00a956178072"
TAMPA_DT23 = "OpaqueRef:492b0df7-b730-5857-6b8a-7beb9fbe3f53"
TAMPA_DLVM_LOCAL = "OpaqueRef:8152c901-64d3-eb64-9bd5-c97f825457f8"
TAMPA_DLVM_SHARED = "OpaqueRef:cccfdf72-9919-4eaa-4e4d-988a456c0268"
TAMPA_LOCALSNAP2FULL = "OpaqueRef:2b03a037-5bd4-0d5f-7724-3ad08fdf7852"  # Suspended checkpoint
TAMPA_ISCSI_SR = "OpaqueRef:26a8f552-f312-89df-497d-528217a0144e"
TAMPA_DT16_LOCAL_SR = "OpaqueRef:f2c2a0cc-e27d-dbe1-4848-21974ea44b11"
TAMPA_TOOLS_SR = "OpaqueRef:5a7930ec-bca7-0c0d-7223-b50c2a6396b8"
TAMPA_DLVM_LOCAL_DISK = "OpaqueRef:3d01ba87-3b07-4d39-7e32-6722af7fac27"
TAMPA_ETH0_NET = "OpaqueRef:405b5d7f-b808-a129-9794-ce6a0ef1fded"
TAMPA_ETH1_NET = "OpaqueRef:1adcfa79-6dd1-de33-fece-bcfee6dfac02"
TAMPA_DT16_PCI = "OpaqueRef:611cec7e-2c92-9bb6-3fb3-302333f2e7d3"  # Matrox, pci_id 0000:01:03.0
TAMPA_DT16_PGPU = "OpaqueRef:4ee45e83-3ae3-355e-4b2d-ba36149a58fb"
TAMPA_GPU_GROUP = "OpaqueRef:55e38083-dfa8-1384-a869-29502b5507e8"
COWLEY_BERLIN = "OpaqueRef:b42c3cef-ce0f-a41b-732d-c177862a91aa"
COWLEY_LOCAL_SR = "OpaqueRef:3ba4f8a1-d138-1eee-142e-43b694a8f3e2"
COWLEY_ISCSI_SR = "OpaqueRef:278b1925-5277-2a3b-e0f8-f86454b34b39"
COWLEY_MGMT_PIF_METRICS = "OpaqueRef:e92d5db6-007c-8a54-d946-81bcdac78ca8"
COWLEY1_GRIMSBY = "OpaqueRef:35ace7d6-a9bc-c897-cea5-5d4e2fa88b6b"
COWLEY1_CHESTER = "OpaqueRef:1ac6c07b-daa2-ea50-7f23-858cd7946e39"
COWLEY1_HOST_ONLY_NET = "OpaqueRef:dab981da-4e95-8e01-6188-0328aed491e6"
STATE2_HA_STATEFILE = "OpaqueRef:5d4b01e8-2b18-54c1-a926-6fb1f4537ada"
CG1_VM = "OpaqueRef:43a1b8d4-da96-cb08-10f5-fb368abed19c"
CG1_VM_METRICS = "OpaqueRef:6eede779-4e55-7cfb-8b8a-e4b9becf770b"
CG1_GUEST_METRICS = "OpaqueRef:453f21be-954d-2ca8-e38e-09741e91350c"
CG1_HOST = "OpaqueRef:07a8da76-f1cf-f3b5-a531-6b751384f770"
CG1_VDI = "OpaqueRef:fd20510d-e9ca-b966-3b98-4ae547dacf9a"
CG1_SR = "OpaqueRef:f746e964-e0fe-c36d-d60b-6897cfde583f"
CG2_VM = "OpaqueRef:08632af0-473e-5106-f400-7910229e49be"
XAPI24_VM = "OpaqueRef:6ef08bce-0bf0-30ff-804f-5f0ee4bbdd13"


# ---------------------------------------------------------------------------------
# Loading: each realdata file imported once per module; derived records on deep copies
# ---------------------------------------------------------------------------------

@cache
def _doc(name: str) -> dict[str, Any]:
    return import_file(REALDATA / name, partial=True)  # the records files hold a few classes


@cache
def _world(name: str) -> World:
    return World([Inventory(_doc(name), name)])


def world(name: str, derive: Callable[[dict[str, dict[str, dict[str, Any]]]], None] | None = None) -> World:
    """The real file's world, or one whose records `derive` changed (on a deep copy)."""
    if derive is None:
        return _world(name)
    doc = copy.deepcopy(_doc(name))
    derive(doc["objects"])
    return World([Inventory(doc, f"{name} (derived)")])


def ref_of(w: World, cls: str, name: str) -> str:
    matches = [ref for ref, rec in w.inventories[0].all(cls) if rec.get("name_label") == name]
    assert len(matches) == 1, f"{cls} {name!r}: {len(matches)} records"
    return matches[0]


def obj(w: World, cls: str, ref_or_name: str):
    ref = ref_or_name if ref_or_name.startswith("OpaqueRef:") else ref_of(w, cls, ref_or_name)
    return w.obj(0, cls, ref)


def value(name: str, cls: str, who: str, fact: str, derive=None) -> Any:
    w = world(name, derive)
    return w.value(obj(w, cls, who), fact)


def missing(name: str, cls: str, who: str, fact: str, derive=None) -> str:
    """The reason a fact is unknown; fails if the fact was established."""
    w = world(name, derive)
    o = obj(w, cls, who)
    with pytest.raises(Missing) as exc:
        w.value(o, fact)
    with pytest.raises(UnknownFact) as unknown:  # attribute access says the same thing
        getattr(o, fact)
    assert unknown.value.reason == exc.value.reason
    return exc.value.reason


def names(objs) -> list[str]:
    return [o.name for o in objs]


def vm_by_name(objects, name: str) -> dict[str, Any]:
    return next(v for v in objects["VM"].values() if v.get("name_label") == name)


# ---------------------------------------------------------------------------------
# Parsing helpers
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("4.17.3-4", (4, 17, 3, 4)),       # XAPI's example (helpers.ml): both '-' parts kept
    ("3.2.1", (3, 2, 1)),
    ("1.6.10", (1, 6, 10)),            # Tampa's platform_version: 10 > 6, not "1.6.1"+"0"
    ("4.7.5-2.12", (4, 7, 5, 2, 12)),  # community.general host's xen
    ("1.2-3-4", (1, 2, 3)),            # only the first two '-' parts
    ("1.249.32beta", (1, 249)),        # non-integer pieces dropped
    ("", ()),
])
def test_version_tuple(text, expected):
    assert version_tuple(text) == expected


def test_version_tuple_orders_like_xapi():
    assert version_tuple("1.6.10") > version_tuple("1.6.9")
    assert version_tuple("3.2") < version_tuple("3.2.0")  # a shorter list is smaller


TAMPA_FEATURES = "0098e3fd-bfebfbff-00000001-28100800"


def test_features_subset_edge_cases():
    assert features_subset(TAMPA_FEATURES, TAMPA_FEATURES)
    # A shorter VM array is zero-extended: the missing words ask for nothing.
    assert features_subset("0098e3fd-bfebfbff", TAMPA_FEATURES)
    # A longer VM array: the host's missing words are zero, so a set bit there fails…
    assert not features_subset(TAMPA_FEATURES + "-00000001", TAMPA_FEATURES)
    # …and zero words there pass.
    assert features_subset(TAMPA_FEATURES + "-00000000", TAMPA_FEATURES)
    # Bit 1 of word 0 (0x0098e3fd has it clear): the host lacks it.
    assert not features_subset("00000002-00000000-00000000-00000000", TAMPA_FEATURES)
    # A strict subset of the host's bits passes.
    assert features_subset("00000001-00000000-00000000-00000000", TAMPA_FEATURES)


def test_features_subset_on_a_real_vm_and_host():
    # ansible-test-vm-1 (HVM) booted with exactly its host's features_hvm.
    w = world(CG1)
    vm_features = w.value(obj(w, "VM", CG1_VM), "cpu_features")
    host = obj(w, "host", CG1_HOST)
    assert vm_features.startswith("17cbfbff-f7fa3223-")
    assert features_subset(vm_features, w.value(host, "cpu_features_hvm"))
    # features_pv word 1 is f6f83203: f7fa3223 & ~f6f83203 = 0x01020020 → not a subset.
    assert w.value(host, "cpu_features_pv").startswith("17c9cbf5-f6f83203-")
    assert not features_subset(vm_features, w.value(host, "cpu_features_pv"))


# ---------------------------------------------------------------------------------
# pool
# ---------------------------------------------------------------------------------

def test_pool_name_master_and_hosts_master_first():
    w = world(COWLEY1)
    pool = w.pool(0)
    assert w.value(pool, "name") == "Grimsby Pool"
    assert w.value(pool, "master").ref == COWLEY1_GRIMSBY
    # Master first even though "chester" sorts before "grimsby".
    assert names(w.value(pool, "hosts")) == ["grimsby", "chester"]


def test_pool_ha_flags():
    assert world(STATE2).value(world(STATE2).pool(0), "ha_enabled") is True
    w = world(COWLEY)
    pool = w.pool(0)
    assert w.value(pool, "ha_enabled") is False
    assert w.value(pool, "ha_allow_overcommit") is False
    assert w.value(pool, "ha_overcommitted") is False
    # Cowley: ha_host_failures_to_tolerate 1, ha_plan_exists_for 0 → no plan.
    assert w.value(pool, "ha_plan_exists") is False


def test_pool_ha_plan_exists_derived():
    # Derived from state2.xml: pool.ha_host_failures_to_tolerate and ha_plan_exists_for
    # changed from "0" to "1" (the plan covers one failure).
    def derive(objects):
        pool = next(iter(objects["pool"].values()))
        pool["ha_host_failures_to_tolerate"] = "1"
        pool["ha_plan_exists_for"] = "1"
    w = world(STATE2, derive)
    assert w.value(w.pool(0), "ha_plan_exists") is True


def test_pool_migration_compression_absent_before_xapi_22_33():
    # Tampa's XAPI predates the field: it behaved as the default, off; the evidence says why.
    w = world(TAMPA)
    with recording() as reads:
        assert w.pool(0).migration_compression is False
    assert "introduced in xapi 22.33.0" in reads["defaults"]["pool.migration_compression"]["because"]


def test_pool_default_sr_and_product():
    w = world(COWLEY)
    assert w.value(w.pool(0), "default_sr").ref == COWLEY_LOCAL_SR
    assert w.value(w.pool(0), "product") == "XenServer 5.6 FP1"
    assert world(TAMPA).value(world(TAMPA).pool(0), "product") == "XenServer 6.1"


def test_licence_flags_from_host_license_params():
    # state4.xml (XenServer 5.5) has no pool.restrictions: XAPI computes it from the hosts'
    # license_params, a feature on when it is on for every host. Their restrict_xen_motion
    # is "false" and they lack restrict_storage_xen_motion (restricted, as of_assoc_list
    # reads a missing flag).
    w = world(STATE4)
    assert w.value(w.pool(0), "restrict_xen_motion") is False
    assert w.value(w.pool(0), "restrict_storage_xen_motion") is True

    # Derived from state4.xml: restrict_storage_xen_motion "false" on both hosts, then
    # "true" on incubus.
    def derive(objects, incubus):
        for host in objects["host"].values():
            host["license_params"]["restrict_storage_xen_motion"] = "false"
        next(h for h in objects["host"].values() if h["name_label"] == "incubus")[
            "license_params"]["restrict_storage_xen_motion"] = incubus
    w = world(STATE4, lambda objects: derive(objects, "false"))
    assert w.value(w.pool(0), "restrict_storage_xen_motion") is False
    w = world(STATE4, lambda objects: derive(objects, "true"))
    assert w.value(w.pool(0), "restrict_storage_xen_motion") is True


def test_restrict_xen_motion_before_xenserver_70_is_never_restricted():
    # Tampa (6.1): no restrict_xen_motion, and XAPI checked no licence for live migration
    # before 7.0 (xapi_vm_migrate.ml pool_migrate, CP-14833).
    w = world(TAMPA)
    assert w.value(w.pool(0), "restrict_xen_motion") is False
    assert w.value(w.pool(0), "restrict_storage_xen_motion") is False

    # Derived from Tampa: pool.restrictions gains restrict_xen_motion "true"; 6.1 ignores it.
    def derive(objects):
        next(iter(objects["pool"].values()))["restrictions"]["restrict_xen_motion"] = "true"
    w = world(TAMPA, derive)
    assert w.value(w.pool(0), "restrict_xen_motion") is False


def test_pool_cvd_declared():
    w = world(TAMPA)
    assert w.value(w.pool(0), "cvd_declared") is False

    # Derived from Tampa: pool.tags set to ["XenDesktop"].
    def derive(objects):
        next(iter(objects["pool"].values()))["tags"] = ["XenDesktop"]
    w = world(TAMPA, derive)
    assert w.value(w.pool(0), "cvd_declared") is True


# ---------------------------------------------------------------------------------
# host: versions and product
# ---------------------------------------------------------------------------------

def test_host_versions_tampa():
    w = world(TAMPA)
    dt16 = obj(w, "host", TAMPA_DT16)
    assert w.value(dt16, "version") == (1, 6, 10)          # platform_version 1.6.10
    assert w.value(dt16, "product_version") == (6, 1, 0)
    assert w.value(dt16, "xapi_build") == (1, 3)           # no xapi_build: xapi "1.3"
    assert w.value(dt16, "xen") == (4, 1, 3)
    assert w.value(dt16, "product") == "XenServer 6.1"
    assert w.value(dt16, "is_ch82cu1") is False
    assert w.value(dt16, "is_xs71cu2") is False


def test_host_versions_xenserver_72():
    w = world(CG1)
    host = obj(w, "host", CG1_HOST)
    assert w.value(host, "version") == (2, 3, 0)
    assert w.value(host, "xen") == (4, 7, 5, 2, 12)        # "4.7.5-2.12"
    assert w.value(host, "product") == "XenServer 7.2"


def test_host_version_absent_before_platform_version():
    # XenServer 5.6 FP1 reports product_version 5.6.100 but no platform_version.
    reason = missing(COWLEY, "host", COWLEY_BERLIN, "version")
    assert "platform_version" in reason
    assert value(COWLEY, "host", COWLEY_BERLIN, "product_version") == (5, 6, 100)
    assert value(COWLEY, "host", COWLEY_BERLIN, "product") == "XenServer 5.6 FP1"


def test_host_product_without_text_fields_shows_the_number():
    # cowley1 (5.6 FP1 beta) has product_version 5.6.900 and no product_version_text*.
    assert value(COWLEY1, "host", COWLEY1_GRIMSBY, "product") == "XenServer 5.6.900"


def test_state2_trusts_the_edited_product_label():
    # state2's product_version was rewritten 5.5.0 → 6.0.0 by XenCenter's developers.
    assert value(STATE2, "host", "grimsby", "product_version") == (6, 0, 0)


def _software_version(**changes):
    """Derived from Tampa: host dt16's software_version keys changed as given (None drops)."""
    def derive(objects):
        sv = objects["host"][TAMPA_DT16]["software_version"]
        for key, val in changes.items():
            if val is None:
                sv.pop(key, None)
            else:
                sv[key] = val
    return derive


def test_ch82cu1_decided_on_version_numbers():
    derive = _software_version(product_version="8.2.1", platform_version="3.2.1",
                               product_brand="Citrix Hypervisor",
                               product_version_text="8.2", product_version_text_short="8.2")
    assert value(TAMPA, "host", TAMPA_DT16, "is_ch82cu1", derive) is True
    assert value(TAMPA, "host", TAMPA_DT16, "product", derive) == "Citrix Hypervisor 8.2 CU1"
    # Only platform_version 3.2.1 (product_version dropped): still CU1.
    derive = _software_version(product_version=None, platform_version="3.2.1")
    assert value(TAMPA, "host", TAMPA_DT16, "is_ch82cu1", derive) is True
    # CH 8.2 base: product 8.2.0 / platform 3.2.0.
    derive = _software_version(product_version="8.2.0", platform_version="3.2.0")
    assert value(TAMPA, "host", TAMPA_DT16, "is_ch82cu1", derive) is False
    assert value(TAMPA, "host", TAMPA_DT16, "product", derive) == "Citrix Hypervisor 8.2"


def test_ch81_is_not_labelled_82():
    # CH 8.1 is product 8.1.0 / platform 3.1.0: a (3, 1) platform prefix is not 8.2.
    derive = _software_version(product_version="8.1.0", platform_version="3.1.0",
                               product_brand="Citrix Hypervisor",
                               product_version_text="8.1", product_version_text_short="8.1")
    assert value(TAMPA, "host", TAMPA_DT16, "product", derive) == "Citrix Hypervisor 8.1"
    assert value(TAMPA, "host", TAMPA_DT16, "is_ch82cu1", derive) is False


def test_xenserver_8_and_71cu2():
    derive = _software_version(product_version="8.4.0", platform_version="3.4.0",
                               product_version_text_short="8")
    assert value(TAMPA, "host", TAMPA_DT16, "product", derive) == "XenServer 8"
    derive = _software_version(product_version="7.1.2", platform_version="2.1.4",
                               product_version_text_short="7.1 CU2")
    assert value(TAMPA, "host", TAMPA_DT16, "is_xs71cu2", derive) is True
    assert value(TAMPA, "host", TAMPA_DT16, "product", derive) == "XenServer 7.1 CU2"
    assert value(TAMPA, "host", TAMPA_DT16, "is_ch82cu1", derive) is False


# ---------------------------------------------------------------------------------
# host: updates, https_only
# ---------------------------------------------------------------------------------

def test_updates_on_old_dumps():
    # Tampa: host.patches "()" and empty host_patch/pool_patch tables; no host.updates,
    # and no pool_update class (a recorded gap): unknown, not "no updates".
    assert "pool_update was not collected" in missing(TAMPA, "host", TAMPA_DT16, "updates")
    # Derived: the pool_update class collected (empty), as a version that has it reports.
    def collected(objects):
        objects["pool_update"] = {}
    assert value(TAMPA, "host", TAMPA_DT16, "updates", collected) == []
    assert value(TAMPA, "host", TAMPA_DT16, "has_port80_hotfix", collected) is False


def test_updates_with_dangling_refs_are_unknown():
    # community.general host: 19 host.updates and 19 host.patches refs, but the file has
    # no pool_update / host_patch records: "no updates" would be a guess.
    reason = missing(CG1, "host", CG1_HOST, "updates")
    assert "pool_update was not collected" in reason
    missing(CG1, "host", CG1_HOST, "has_port80_hotfix")


def test_updates_from_legacy_patches_derived():
    # Derived from Tampa: a pool_patch and a host_patch record added for dt16 (the
    # legacy patch tables exist there but are empty), and dt16.patches set to it.
    def derive(objects, applied=True):
        objects["pool_patch"]["OpaqueRef:pp1"] = {"uuid": "pp1", "name_label": "XS61E009"}
        objects["host_patch"]["OpaqueRef:hp1"] = {
            "uuid": "hp1", "host": TAMPA_DT16, "pool_patch": "OpaqueRef:pp1", "applied": applied}
        objects["host"][TAMPA_DT16]["patches"] = ["OpaqueRef:hp1"]
        objects["pool_update"] = {}  # collected (Tampa's is a gap: unknown otherwise)
    assert value(TAMPA, "host", TAMPA_DT16, "updates", derive) == ["XS61E009"]
    # The same with host_patch.applied false: not installed.
    assert value(TAMPA, "host", TAMPA_DT16, "updates",
                 lambda o: derive(o, applied=False)) == []


def test_port80_hotfix_from_pool_update_derived():
    # Derived from Tampa: a pool_update XS82ECU1033 record added and dt16.updates set to it.
    def derive(objects):
        objects["pool_update"] = {"OpaqueRef:u1": {"uuid": "u1", "name_label": "XS82ECU1033"}}
        objects["host"][TAMPA_DT16]["updates"] = ["OpaqueRef:u1"]
    assert value(TAMPA, "host", TAMPA_DT16, "has_port80_hotfix", derive) is True
    assert value(TAMPA, "host", TAMPA_DT23, "has_port80_hotfix", derive) is False


def test_https_only_absent_in_old_dumps_is_none():
    for name, host in ((TAMPA, TAMPA_DT16), (COWLEY, COWLEY_BERLIN), (CG1, CG1_HOST)):
        assert value(name, "host", host, "https_only") is None

    # Derived from Tampa: host dt16 gains https_only true.
    def derive(objects):
        objects["host"][TAMPA_DT16]["https_only"] = True
    assert value(TAMPA, "host", TAMPA_DT16, "https_only", derive) is True


# ---------------------------------------------------------------------------------
# host: liveness and memory
# ---------------------------------------------------------------------------------

def test_live_enabled_memory_total():
    w = world(TAMPA)
    dt16 = obj(w, "host", TAMPA_DT16)
    assert w.value(dt16, "live") is True
    assert w.value(dt16, "enabled") is True
    assert w.value(dt16, "memory_total") == 8579674112


def test_free_memory_tampa_dt16_as_xapi_computes_it():
    # dt16: host_metrics.memory_total 8579674112, host.memory_overhead 193835008.
    # Resident: dom0 (dynamic_min 412090368 = 393 MiB, overhead 15728640 = 15 MiB),
    # dlvm_local and dlvm_shared (671088640 = 640 MiB + 7340032 = 7 MiB each).
    used = (393 + 15) * MiB + 2 * (640 + 7) * MiB
    assert used == 1784676352
    expected = 8579674112 - 193835008 - used
    assert expected == 6601162752
    free = value(TAMPA, "host", TAMPA_DT16, "free_memory")
    assert free == 6601162752
    assert free != 6265565184  # host_metrics.memory_free is not what XAPI uses
    # dt23 runs only its dom0: 8579674112 − 193835008 − 408 MiB.
    assert value(TAMPA, "host", TAMPA_DT23, "free_memory") == 7958020096


def test_free_memory_rounds_up_to_whole_mib_cowley():
    # berlin: total 34349355008 − overhead 462016512 − Σ footprints. dom0's dynamic_min
    # is 789839872 = 753.25 MiB → 754 MiB; its overhead 32505856 = 31 MiB. The eight
    # guests: silver 2048+19, Win2k3-LicDev 1024+11, CCNET 1536+18, jarvis 256+4,
    # SCVMM 2048+27, OpenStack Jenkins 512+7, Web Self Service 256+4, SCOM 2048+23 MiB.
    guests = (2048 + 19) + (1024 + 11) + (1536 + 18) + (256 + 4) + (2048 + 27) + (512 + 7) \
        + (256 + 4) + (2048 + 23)
    used = (754 + 31 + guests) * MiB
    assert 34349355008 - 462016512 - used == 22745169920
    free = value(COWLEY, "host", COWLEY_BERLIN, "free_memory")
    assert free == 22745169920
    assert free != 21724459008  # host_metrics.memory_free


def test_free_memory_rounding_derived():
    # Derived from Tampa: dlvm_local.memory_overhead 7340032 → 7340033 (one byte over
    # 7 MiB): its footprint rounds up to 8 MiB, so dt16 loses exactly one more MiB.
    def derive(objects):
        objects["VM"][TAMPA_DLVM_LOCAL]["memory_overhead"] = "7340033"
    assert value(TAMPA, "host", TAMPA_DT16, "free_memory", derive) == 6601162752 - MiB
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "memory_footprint", derive) == (640 + 8) * MiB


def test_free_memory_counts_scheduled_vms_derived():
    # Derived from Tampa: dlvm_local.scheduled_to_be_resident_on NULL → dt23 (a migration
    # in flight): dt23 reserves its 647 MiB footprint too.
    def derive(objects):
        objects["VM"][TAMPA_DLVM_LOCAL]["scheduled_to_be_resident_on"] = TAMPA_DT23
    assert value(TAMPA, "host", TAMPA_DT23, "free_memory", derive) == 7958020096 - 647 * MiB
    assert value(TAMPA, "host", TAMPA_DT16, "free_memory", derive) == 6601162752


def test_state2_dangling_host_metrics_is_unknown():
    # state2.xml has an empty host_metrics table: host.metrics dangles.
    for fact in ("live", "memory_total", "free_memory"):
        reason = missing(STATE2, "host", "grimsby", fact)
        assert "host.metrics" in reason, reason
    w = world(STATE2)
    with pytest.raises(UnknownFact) as exc:
        obj(w, "host", "chester").free_memory  # noqa: B018 - attribute access is the API
    assert exc.value.path == "host.free_memory"
    assert "host.metrics" in exc.value.reason


def test_vm_memory_overhead_absent_in_schema_557():
    reason = missing(STATE2, "VM", "Debian Etch 4.0 (1)", "memory_footprint")
    assert "VM.memory_overhead" in reason


# ---------------------------------------------------------------------------------
# host: CPU, NIC, SRs, networks
# ---------------------------------------------------------------------------------

def test_host_cpu_vendor_and_features():
    assert value(TAMPA, "host", TAMPA_DT16, "cpu_vendor") == "GenuineIntel"
    assert value(CG1, "host", CG1_HOST, "cpu_features_hvm") == (
        "17cbfbff-f7fa3223-2d93fbff-00000023-00000001-000007ab-00000000-00000000-00001000-0c000000")
    # 6.1 reports only cpu_info.features, not features_hvm/features_pv.
    assert "features_hvm" in missing(TAMPA, "host", TAMPA_DT16, "cpu_features_hvm")
    # The 5.57 dumps have no host.cpu_info at all.
    assert "host.cpu_info" in missing(STATE2, "host", "grimsby", "cpu_vendor")


def test_host_cpu_vendor_amd_derived():
    # Derived from Tampa: host dt23 cpu_info.vendor GenuineIntel → AuthenticAMD.
    def derive(objects):
        objects["host"][TAMPA_DT23]["cpu_info"]["vendor"] = "AuthenticAMD"
    w = world(TAMPA, derive)
    assert w.value(obj(w, "host", TAMPA_DT23), "cpu_vendor") == "AuthenticAMD"
    assert w.value(obj(w, "host", TAMPA_DT16), "cpu_vendor") == "GenuineIntel"
    assert w.value(obj(w, "VM", TAMPA_DLVM_LOCAL), "cpu_vendor") == "GenuineIntel"


def test_management_nic_speed():
    # berlin's management PIF eth0 → PIF_metrics.speed "1000" (Mbit/s).
    assert value(COWLEY, "host", COWLEY_BERLIN, "management_nic_speed") == 1_000_000_000
    assert value(TAMPA, "host", TAMPA_DT23, "management_nic_speed") == 1_000_000_000
    # state2's PIF_metrics table is empty.
    assert "PIF_metrics.speed" in missing(STATE2, "host", "grimsby", "management_nic_speed")
    # community.general has no PIF records at all.
    assert "PIF was not collected" in missing(CG1, "host", CG1_HOST, "management_nic_speed")


def test_management_nic_speed_unknown_value_derived():
    # Derived from Cowley: berlin's management PIF_metrics.speed "1000" → "65535", the
    # value Cowley's own eth1 (no carrier) reports: ethtool's "unknown", not 65 Gbit/s.
    def derive(objects):
        objects["PIF_metrics"][COWLEY_MGMT_PIF_METRICS]["speed"] = "65535"
    reason = missing(COWLEY, "host", COWLEY_BERLIN, "management_nic_speed", derive)
    assert "65535" in reason


def test_attached_srs_and_pgpus():
    w = world(TAMPA)
    dt16 = obj(w, "host", TAMPA_DT16)
    srs = {o.ref for o in w.value(dt16, "attached_srs")}
    # dt16's five attached PBDs: shared iSCSI, XenServer Tools, its Local storage,
    # its DVD drives and its Removable storage.
    assert srs == {TAMPA_ISCSI_SR, TAMPA_TOOLS_SR, TAMPA_DT16_LOCAL_SR,
                   "OpaqueRef:7312ab4c-a51e-a54b-fbc3-a9796d019244",
                   "OpaqueRef:f803f91c-c04c-695e-fd61-d6c0b9e9aa10"}
    assert [p.ref for p in w.value(dt16, "pgpus")] == [TAMPA_DT16_PGPU]


def test_sr_names_repeated_in_a_pool_name_their_host():
    # Real Cowley: the installer named both hosts' local SRs "Local storage" (and their
    # udev SRs "DVD drives", "Removable storage"); shared SRs keep their names.
    assert sorted(names(world(COWLEY1).objects(0, "SR"))) == [
        "DVD drives (chester)", "DVD drives (grimsby)",
        "Local storage (chester)", "Local storage (grimsby)",
        "Removable storage (chester)", "Removable storage (grimsby)",
        "XenServer Tools", "iSCSI virtual disk storage",
        "tund:/vol/linux_images/images", "tund:/vol/linux_images/images/autoinstall"]

    def rename(objects):  # derived: grimsby's local SR renamed, so "Local storage" is unique
        local = next(rec for rec in objects["SR"].values() if rec["name_label"] == "Local storage")
        local["name_label"] = "Local storage 2"
    assert {"Local storage", "Local storage 2"} <= set(names(world(COWLEY1, rename).objects(0, "SR")))


def test_host_is_master_and_resident_vms():
    w = world(TAMPA)
    assert w.value(obj(w, "host", TAMPA_DT16), "is_master") is True
    assert w.value(obj(w, "host", TAMPA_DT23), "is_master") is False
    # Largest footprint first, ties by name; the control domain is not listed.
    assert names(value(COWLEY, "host", COWLEY_BERLIN, "resident_vms")) == [
        "SCVMM",                                  # 2048 + 27 MiB
        "SCOM 2003r2 AD controller",              # 2048 + 23
        "silver",                                 # 2048 + 19
        "CCNET",                                  # 1536 + 18
        "Win2k3-LicDev",                          # 1024 + 11
        "OpenStack Jenkins",                      # 512 + 7
        "Citrix XenServer Web Self Service v1.0 (Build 9057)",  # 256 + 4
        "jarvis",                                 # 256 + 4
    ]


#: cowley1's networks: 8 with PIFs on both hosts, less eth3's and eth4's, whose PIFs are
#: members of "Bond 3+4" (XAPI cannot attach them: HOST_CANNOT_ATTACH_NETWORK); 3 with no
#: PIFs (a host-only private network and two guest installer networks) that no running VM uses.
COWLEY1_NETWORKS = sorted([
    "Bond 3+4", "New Private Network", "VLAN 2",
    *(f"Pool-wide network associated with eth{n}" for n in range(3)),
    "Guest installer network", "Guest installer network", "New Private Network (host only)"])


def test_host_networks_rule_b8():
    w = world(COWLEY1)
    for host in (COWLEY1_GRIMSBY, COWLEY1_CHESTER):
        assert sorted(names(w.value(obj(w, "host", host), "networks"))) == COWLEY1_NETWORKS


def _vista_on_host_only_network(objects):
    # Derived from cowley1: the VIF of "Windows Vista JA" (Running on chester) on the eth0
    # network has VIF.network changed to the PIF-less "New Private Network (host only)";
    # network.VIFs, XAPI's derived back-reference, is updated to match.
    vista = next(r for r, v in objects["VM"].items() if v["name_label"] == "Windows Vista JA")
    vif_ref, vif = next((r, v) for r, v in objects["VIF"].items()
                        if v["VM"] == vista and v["network"].startswith("OpaqueRef:454dc3a5"))
    objects["network"][vif["network"]]["VIFs"].remove(vif_ref)
    vif["network"] = COWLEY1_HOST_ONLY_NET
    objects["network"][COWLEY1_HOST_ONLY_NET]["VIFs"] = [vif_ref]


def test_host_networks_internal_network_pins_running_vms_derived():
    w = world(COWLEY1, _vista_on_host_only_network)
    grimsby = w.value(obj(w, "host", COWLEY1_GRIMSBY), "networks")
    chester = w.value(obj(w, "host", COWLEY1_CHESTER), "networks")
    assert COWLEY1_HOST_ONLY_NET not in {o.ref for o in grimsby}
    assert sorted(names(grimsby)) == [n for n in COWLEY1_NETWORKS if n != "New Private Network (host only)"]
    assert COWLEY1_HOST_ONLY_NET in {o.ref for o in chester}
    assert sorted(names(chester)) == COWLEY1_NETWORKS


def test_host_networks_assume_shared_derived():
    # As above, plus network.other_config.assume_network_is_shared "true" on that network.
    def derive(objects):
        _vista_on_host_only_network(objects)
        objects["network"][COWLEY1_HOST_ONLY_NET]["other_config"]["assume_network_is_shared"] = "true"
    w = world(COWLEY1, derive)
    grimsby = {o.ref for o in w.value(obj(w, "host", COWLEY1_GRIMSBY), "networks")}
    assert COWLEY1_HOST_ONLY_NET in grimsby


# ---------------------------------------------------------------------------------
# SR
# ---------------------------------------------------------------------------------

def test_sr_basic_facts():
    w = world(COWLEY)
    local = obj(w, "SR", COWLEY_LOCAL_SR)
    assert w.value(local, "type") == "lvm"
    assert w.value(local, "shared") is False
    assert w.value(local, "free") == 491463376896 - 491224301568 == 239075328
    assert w.value(local, "is_iso") is False
    assert w.value(local, "is_gfs2") is False
    assert w.value(local, "read_only") is False
    assert w.value(obj(w, "SR", COWLEY_ISCSI_SR), "shared") is True
    assert w.value(obj(w, "SR", "DVD drives"), "is_iso") is True  # udev, content_type iso
    assert value(TAMPA, "SR", TAMPA_ISCSI_SR, "free") == 161048690688 - 6262095872


def test_sr_free_unknown_when_size_not_reported():
    # The XenServer Tools ISO SR reports physical_size -1.
    assert "physical_size" in missing(TAMPA, "SR", TAMPA_TOOLS_SR, "free")


def test_sr_attached_on():
    w = world(TAMPA)
    assert {h.ref for h in w.value(obj(w, "SR", TAMPA_ISCSI_SR), "attached_on")} == {
        TAMPA_DT16, TAMPA_DT23}
    assert [h.ref for h in w.value(obj(w, "SR", TAMPA_DT16_LOCAL_SR), "attached_on")] == [TAMPA_DT16]


def test_sr_migration_capabilities_old_sm():
    # Tampa's SM "lvm" capabilities have VDI_SNAPSHOT but no VDI_MIRROR.
    assert value(TAMPA, "SR", TAMPA_DT16_LOCAL_SR, "supports_migration") is False
    assert value(TAMPA, "SR", TAMPA_DT16_LOCAL_SR, "accepts_migration") is False
    assert value(TAMPA, "SR", TAMPA_TOOLS_SR, "supports_migration") is False  # ISO
    # community.general has no SM records at all.
    assert "SM" in missing(CG1, "SR", CG1_SR, "supports_migration")


def _sm_features(features):
    # Derived from Tampa: the SM "lvm" record gains a features map (as xapi ≥ 6.2 has).
    def derive(objects):
        sm = next(s for s in objects["SM"].values() if s["type"] == "lvm")
        sm["features"] = features
    return derive


def test_sr_migration_capabilities_from_sm_features_derived():
    derive = _sm_features({"VDI_SNAPSHOT": "1", "VDI_MIRROR": "1"})
    assert value(TAMPA, "SR", TAMPA_DT16_LOCAL_SR, "supports_migration", derive) is True
    assert value(TAMPA, "SR", TAMPA_DT16_LOCAL_SR, "accepts_migration", derive) is True
    derive = _sm_features({"VDI_SNAPSHOT": "1", "VDI_MIRROR_IN": "1"})
    assert value(TAMPA, "SR", TAMPA_DT16_LOCAL_SR, "supports_migration", derive) is False
    assert value(TAMPA, "SR", TAMPA_DT16_LOCAL_SR, "accepts_migration", derive) is True


def test_sr_gfs2_derived():
    # Derived from Tampa: the shared iSCSI SR's type lvmoiscsi → gfs2.
    def derive(objects):
        objects["SR"][TAMPA_ISCSI_SR]["type"] = "gfs2"
    assert value(TAMPA, "SR", TAMPA_ISCSI_SR, "is_gfs2", derive) is True
    # No SM record for gfs2 in a 6.1 pool: capability unknown, naming the type.
    assert "gfs2" in missing(TAMPA, "SR", TAMPA_ISCSI_SR, "supports_migration", derive)


# ---------------------------------------------------------------------------------
# VDI
# ---------------------------------------------------------------------------------

def test_vdi_sizes_sr_and_flags():
    w = world(TAMPA)
    disk = obj(w, "VDI", TAMPA_DLVM_LOCAL_DISK)
    assert w.value(disk, "virtual_size") == 4294967296
    assert w.value(disk, "physical_size") == 4311744512
    assert w.value(disk, "sr").ref == TAMPA_DT16_LOCAL_SR
    assert w.value(disk, "vdi_type") == "system"
    assert w.value(disk, "is_special") is False
    assert w.value(disk, "is_a_snapshot") is False
    assert w.value(disk, "snapshot_count") == 2   # localsnap1 and localsnap2full's disks
    assert w.value(disk, "attached") is True
    assert w.value(disk, "encrypted") is False
    assert w.value(disk, "mcs") is False
    assert w.value(disk, "on_boot_reset") is False  # on_boot "persist"
    assert w.value(disk, "on_boot_reset_cached") is False
    snap = obj(w, "VDI", "OpaqueRef:d344fa90-826b-aa25-37f2-03c0f994cbc7")
    assert w.value(snap, "is_a_snapshot") is True
    suspend = obj(w, "VDI", "OpaqueRef:c78a6bd9-3d4b-2287-b088-b2e5bb5348da")
    assert w.value(suspend, "vdi_type") == "suspend"
    assert w.value(suspend, "attached") is False  # no VBD holds a suspend image


def test_vdi_ha_statefile_is_special():
    assert value(STATE2, "VDI", STATE2_HA_STATEFILE, "is_special") is True


def test_cbt_enabled_absent_before_73_is_its_default():
    # No VDI record in these versions has cbt_enabled: CBT arrived in 7.3 (inverness), so
    # XenServer 5.6 FP1 and 7.2 had none: false, as the datamodel's default.
    for name, vdi in ((COWLEY, "OpaqueRef:5e655d9a-aa2a-6ce9-19f4-05ac8362232d"),
                      (CG1, CG1_VDI)):
        assert value(name, "VDI", vdi, "cbt_enabled") is False


def test_cbt_enabled_absent_on_a_release_that_has_it_is_unknown():
    # Derived from community.general vm-1 (7.2): its host made a 7.3 one, whose VDIs would
    # carry cbt_enabled; the record without it is incomplete: unknown.
    def derive(objects):
        for host in objects["host"].values():
            sv = {k: v for k, v in host["software_version"].items() if k != "xencenter_max"}
            host["software_version"] = {**sv, "product_version": "7.3.0"}
            host["API_version_minor"] = "8"
    assert "VDI.cbt_enabled" in missing(CG1, "VDI", CG1_VDI, "cbt_enabled", derive)


def test_cbt_enabled_derived():
    # Derived from community.general vm-1: its VDI gains cbt_enabled true.
    def derive(objects):
        objects["VDI"][CG1_VDI]["cbt_enabled"] = True
    assert value(CG1, "VDI", CG1_VDI, "cbt_enabled", derive) is True


def test_on_boot_absent_in_557_dumps_is_its_default():
    # VDI.on_boot came with 5.6 FP1 (cowley); these older dumps lack it: "persist", not reset.
    assert value(STATE2, "VDI", "OpaqueRef:acd34fab-422c-04dd-dd5a-e5c725fab7ab", "on_boot_reset") is False
    assert value(COWLEY1, "VDI", next(iter(_doc(COWLEY1)["objects"]["VDI"])), "on_boot_reset") is False


def test_on_boot_reset_field_derived():
    # Derived from Tampa: dlvm_local's disk VDI.on_boot persist → reset (D8 reads the field).
    def derive(objects):
        objects["VDI"][TAMPA_DLVM_LOCAL_DISK]["on_boot"] = "reset"
    assert value(TAMPA, "VDI", TAMPA_DLVM_LOCAL_DISK, "on_boot_reset", derive) is True
    # A9 reads sm_config, which still has no on_boot key.
    assert value(TAMPA, "VDI", TAMPA_DLVM_LOCAL_DISK, "on_boot_reset_cached", derive) is False


def test_on_boot_reset_with_and_without_caching_derived():
    # Derived from Tampa: dlvm_local's disk sm_config gains on_boot "reset" (and, in the
    # second case, caching "true"): A9 needs both.
    def reset_only(objects):
        objects["VDI"][TAMPA_DLVM_LOCAL_DISK]["sm_config"]["on_boot"] = "reset"

    def reset_cached(objects):
        reset_only(objects)
        objects["VDI"][TAMPA_DLVM_LOCAL_DISK]["sm_config"]["caching"] = "true"
    assert value(TAMPA, "VDI", TAMPA_DLVM_LOCAL_DISK, "on_boot_reset_cached", reset_only) is False
    assert value(TAMPA, "VDI", TAMPA_DLVM_LOCAL_DISK, "on_boot_reset_cached", reset_cached) is True


def test_vdi_encrypted_and_mcs_derived():
    # Derived from Tampa: dlvm_local's disk sm_config gains key_hash; then, separately,
    # its tags gain a CitrixProvisioningSchemeId marker.
    def key_hash(objects):
        objects["VDI"][TAMPA_DLVM_LOCAL_DISK]["sm_config"]["key_hash"] = "abc"

    def mcs_tag(objects):
        objects["VDI"][TAMPA_DLVM_LOCAL_DISK]["tags"] = ["CitrixProvisioningSchemeId:1234"]
    assert value(TAMPA, "VDI", TAMPA_DLVM_LOCAL_DISK, "encrypted", key_hash) is True
    assert value(TAMPA, "VDI", TAMPA_DLVM_LOCAL_DISK, "mcs", mcs_tag) is True
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "mcs", mcs_tag) is True
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "cvd", mcs_tag) is True
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "cvd") is False


# ---------------------------------------------------------------------------------
# network
# ---------------------------------------------------------------------------------

def test_network_facts():
    w = world(TAMPA)
    eth0 = obj(w, "network", TAMPA_ETH0_NET)
    eth1 = obj(w, "network", TAMPA_ETH1_NET)
    assert w.value(eth0, "is_management") is True
    assert w.value(eth1, "is_management") is False
    assert w.value(eth0, "is_sriov") is False
    # eth0 PIFs: 10.80.227.166 (dt16) and 10.80.227.184 (dt23), both attached; eth1: no IP.
    assert {h.ref for h in w.value(eth0, "hosts_with_ip")} == {TAMPA_DT16, TAMPA_DT23}
    assert w.value(eth1, "hosts_with_ip") == []


# ---------------------------------------------------------------------------------
# VM: guest OS, tools, kernel, IPv6
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "vm", "expected"), [
    (COWLEY, "Win2k3-LicDev", True),           # os_version.distro "windows"
    (COWLEY, "CCNET", True),
    (COWLEY, "silver", False),                 # distro debian (although viridian true)
    (COWLEY, "jarvis", False),                 # PV, no guest metrics
    (COWLEY1, "Windows 2000 SP4 (32-bit) (1)", True),  # no guest metrics: HVM + viridian
    (COWLEY1, "Windows Vista JA", True),
    (STATE4, "Windows XP SP2 (1)", True),
    (STATE4, "Iscsi Box", False),              # PV, empty os_version
    (CG1, "ansible-test-vm-1", True),
    (CG2, "ansible-test-vm-2", False),         # distro centos
])
def test_is_windows(name, vm, expected):
    assert value(name, "VM", vm, "is_windows") is expected


def test_is_windows_without_viridian_derived():
    # Derived from cowley1: "Windows 2000 SP4 (32-bit) (1)" platform.viridian true → false;
    # with no guest metrics nothing else says Windows.
    def derive(objects):
        vm_by_name(objects, "Windows 2000 SP4 (32-bit) (1)")["platform"]["viridian"] = "false"
    assert value(COWLEY1, "VM", "Windows 2000 SP4 (32-bit) (1)", "is_windows", derive) is False


@pytest.mark.parametrize(("name", "vm", "expected"), [
    # 5.x guest metrics: no PV_drivers_detected; XAPI's test is PV_drivers_version with
    # integer major and minor. Win2k3-LicDev runs tools 5.0.0 (out of date, but present).
    (COWLEY, "Win2k3-LicDev", True),
    (COWLEY, "SCVMM", True),
    (COWLEY, "jarvis", False),                 # Running, no guest metrics at all
    (COWLEY1, "Windows 2000 SP4 (32-bit) (1)", False),
    (COWLEY1, "Windows Vista JA", False),
    (STATE4, "Windows XP SP2 (1)", False),
    (STATE4, "Windows Server 2003 x64 (1)", True),
    # 7.2: PV_drivers_detected true and other.feature-static-ip-setting "1".
    (CG1, "ansible-test-vm-1", True),
    (CG2, "ansible-test-vm-2", True),
])
def test_tools_installed(name, vm, expected):
    assert value(name, "VM", vm, "tools_installed") is expected


def test_tools_installed_halted_without_metrics_is_unknown():
    # state4 "Windows Server 2008 (1)": Halted, guest_metrics NULL.
    reason = missing(STATE4, "VM", "Windows Server 2008 (1)", "tools_installed")
    assert "not running" in reason


def test_tools_installed_windows_needs_the_agent_derived():
    # Derived from community.general vm-1: VM_guest_metrics.other drops
    # feature-static-ip-setting (I/O drivers without the management agent).
    def no_agent(objects):
        del objects["VM_guest_metrics"][CG1_GUEST_METRICS]["other"]["feature-static-ip-setting"]
    assert value(CG1, "VM", CG1_VM, "tools_installed", no_agent) is False

    # Derived from community.general vm-1: PV_drivers_detected true → false.
    def no_drivers(objects):
        objects["VM_guest_metrics"][CG1_GUEST_METRICS]["PV_drivers_detected"] = False
    assert value(CG1, "VM", CG1_VM, "tools_installed", no_drivers) is False


def test_tools_installed_old_version_map_derived():
    # Derived from Cowley: Win2k3-LicDev's PV_drivers_version.minor "0" → "" (not an
    # integer: XAPI would not count the drivers).
    def derive(objects):
        vm = vm_by_name(objects, "Win2k3-LicDev")
        objects["VM_guest_metrics"][vm["guest_metrics"]]["PV_drivers_version"]["minor"] = ""
    assert value(COWLEY, "VM", "Win2k3-LicDev", "tools_installed", derive) is False


def test_tools_version():
    assert value(COWLEY, "VM", "Win2k3-LicDev", "tools_version") == "5.0.0"
    assert value(CG1, "VM", CG1_VM, "tools_version") == "7.1.0"
    assert "PV_drivers_version" in missing(COWLEY1, "VM", "Windows Vista JA", "tools_version")


def test_kernel_version_from_uname():
    assert value(COWLEY, "VM", "silver", "kernel_version") == (2, 6, 32)   # 2.6.32-5-686-bigmem
    assert value(COWLEY, "VM", "OpenStack Jenkins", "kernel_version") == (2, 6, 35)
    assert value(CG2, "VM", CG2_VM, "kernel_version") == (3, 10, 0)      # 3.10.0-327.22.2.el7
    # Windows guests report no uname.
    assert "uname" in missing(COWLEY, "VM", "Win2k3-LicDev", "kernel_version")


def test_ipv6_addresses():
    # vm-1 networks: {"0/ip": "10.0.0.2", "0/ipv6/0": "fe80:0000:0000:0000:11e1:12c9:ef3b:75a0"}.
    assert value(CG1, "VM", CG1_VM, "ipv6_addresses") == ["fe80:0000:0000:0000:11e1:12c9:ef3b:75a0"]
    assert value(CG2, "VM", CG2_VM, "ipv6_addresses") == []
    assert "guest metrics" in missing(COWLEY, "VM", "jarvis", "ipv6_addresses")


# ---------------------------------------------------------------------------------
# VM: memory, CPU, placement
# ---------------------------------------------------------------------------------

def test_memory_footprint():
    # vm-1: dynamic_min 2147483648 (2048 MiB) + overhead 20971520 (20 MiB).
    assert value(CG1, "VM", CG1_VM, "memory_footprint") == 2068 * MiB == 2168455168
    assert value(CG1, "VM", CG1_VM, "memory_static_max") == 2147483648
    # XAPI 24 win11: 8589934592 + 71303168 (68 MiB).
    assert value(XAPI24, "VM", XAPI24_VM, "memory_footprint") == 8589934592 + 68 * MiB


def test_memory_footprint_pv_in_pvh_derived():
    # Derived from Cowley: SCVMM (dynamic_min 2 GiB, static_max 3 GiB, overhead 27 MiB)
    # gains domain_type "pv_in_pvh". A host reserves dynamic_min for it as for any VM; only
    # the evacuation planner packs it at static_max (xapi_ha_vm_failover.ml vm_memory).
    def derive(objects):
        vm_by_name(objects, "SCVMM")["domain_type"] = "pv_in_pvh"
    assert value(COWLEY, "VM", "SCVMM", "memory_footprint") == (2048 + 27) * MiB
    assert value(COWLEY, "VM", "SCVMM", "memory_footprint", derive) == (2048 + 27) * MiB
    assert value(COWLEY, "VM", "SCVMM", "evacuation_memory") == (2048 + 27) * MiB
    assert value(COWLEY, "VM", "SCVMM", "evacuation_memory", derive) == (3072 + 27) * MiB


def test_domain_type_before_75():
    # No VM.domain_type before 7.5: HVM_boot_policy decides.
    assert value(CG1, "VM", CG1_VM, "domain_type") == "hvm"        # "BIOS order"
    assert value(COWLEY, "VM", "jarvis", "domain_type") == "pv"    # ""


def test_vm_cpu_vendor_and_features():
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "cpu_vendor") == "GenuineIntel"
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "cpu_features") == TAMPA_FEATURES
    # 5.6 VMs have an empty last_boot_CPU_flags: nothing recorded, which XAPI skips.
    assert value(COWLEY, "VM", "silver", "cpu_vendor") is None
    assert value(COWLEY, "VM", "silver", "cpu_features") is None


def test_resident_on_and_home_host():
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "resident_on").ref == TAMPA_DT16
    # cowley1 "Demo Linux VM (1)" is Halted: resident_on NULL, affinity chester.
    assert value(COWLEY1, "VM", "Demo Linux VM (1)", "resident_on") is None
    assert value(COWLEY1, "VM", "Demo Linux VM (1)", "home_host").ref == COWLEY1_CHESTER
    # XAPI 24 record: resident_on names a host the file does not hold.
    assert "host was not collected" in missing(XAPI24, "VM", XAPI24_VM, "resident_on")


# ---------------------------------------------------------------------------------
# VM: storage and networks
# ---------------------------------------------------------------------------------

def test_disks_cds_storage_sizes():
    w = world(COWLEY)
    jarvis = obj(w, "VM", "jarvis")
    # VBDs: userdevice "0" and "xvdc" disks, "3" a CD with xs-tools.iso inserted.
    assert [d.ref for d in w.value(jarvis, "disks")] == [
        "OpaqueRef:fdb6df6b-b1a5-f557-901f-523c8bfd0e12", "OpaqueRef:5e655d9a-aa2a-6ce9-19f4-05ac8362232d"]
    assert [d.ref for d in w.value(jarvis, "cds")] == ["OpaqueRef:e424c763-743d-47b4-9461-1f625d9d6bef"]
    assert [(d.name, d.ref) for d in w.value(jarvis, "storage")] == [  # its disks, then its CD
        ("0", "OpaqueRef:fdb6df6b-b1a5-f557-901f-523c8bfd0e12"),
        ("jarvis scratch", "OpaqueRef:5e655d9a-aa2a-6ce9-19f4-05ac8362232d"),
        ("xs-tools.iso", "OpaqueRef:e424c763-743d-47b4-9461-1f625d9d6bef")]
    assert w.value(jarvis, "suspend_vdi") is None
    assert w.value(jarvis, "disk_virtual_size") == 8589934592 + 53687091200
    assert w.value(jarvis, "disk_physical_size") == 8615100416 + 53800337408
    # SCVMM: one disk on Local storage, one on the shared iSCSI SR; its CD drive is empty.
    scvmm = obj(w, "VM", "SCVMM")
    assert [w.value(d, "sr").ref for d in w.value(scvmm, "disks")] == [COWLEY_LOCAL_SR, COWLEY_ISCSI_SR]
    assert w.value(scvmm, "cds") == []


def test_storage_of_a_suspended_checkpoint():
    # Tampa "localsnap2full": Suspended, disk on dt16's Local storage, suspend image on iSCSI.
    w = world(TAMPA)
    vm = obj(w, "VM", TAMPA_LOCALSNAP2FULL)
    assert w.value(vm, "power_state") == "Suspended"
    assert [v.ref for v in w.value(vm, "storage")] == [
        "OpaqueRef:d344fa90-826b-aa25-37f2-03c0f994cbc7", "OpaqueRef:c78a6bd9-3d4b-2287-b088-b2e5bb5348da"]
    assert w.value(w.value(vm, "suspend_vdi"), "sr").ref == TAMPA_ISCSI_SR


def test_dangling_vbds_and_vifs_are_unknown():
    # The XAPI 24 record lists 3 VBDs and a VIF the file does not hold (nor any VBD or
    # VIF): "no disks" would be a guess.
    assert "VBD was not collected" in missing(XAPI24, "VM", XAPI24_VM, "disks")
    assert "VBD was not collected" in missing(XAPI24, "VM", XAPI24_VM, "storage")
    assert "VIF was not collected" in missing(XAPI24, "VM", XAPI24_VM, "networks")


def test_empty_cd_with_dangling_vdi_is_ignored():
    # state2 "Debian Etch 4.0 (2)": an empty CD VBD whose VDI dangles; its two disks
    # (VDIs "0" and "1" on the shared iSCSI SR) are fine.
    w = world(STATE2)
    vm = obj(w, "VM", "Debian Etch 4.0 (2)")
    assert w.value(vm, "cds") == []
    assert names(w.value(vm, "disks")) == ["0", "1"]


def test_vm_networks():
    w = world(COWLEY)
    assert sorted(names(w.value(obj(w, "VM", "CCNET"), "networks"))) == [
        "Pool-wide network associated with eth0", "Pool-wide network associated with eth1"]
    assert value(CG2, "VM", CG2_VM, "networks")[0].name == "Host internal management network"
    assert w.value(obj(w, "VM", "CCNET"), "has_sriov_vif") is False


# ---------------------------------------------------------------------------------
# VM: PCI, vGPU, vUSB, immobility, HA, misc
# ---------------------------------------------------------------------------------

def test_pci_passthrough_none_on_real_data():
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "pci_passthrough") == []


def test_pci_passthrough_attached_derived():
    # Derived from Tampa: dlvm_local.attached_PCIs () → [dt16's Matrox PCI].
    def derive(objects):
        objects["VM"][TAMPA_DLVM_LOCAL]["attached_PCIs"] = [TAMPA_DT16_PCI]
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "pci_passthrough", derive) == ["0000:01:03.0"]


def test_pci_passthrough_halted_other_config_derived():
    # Derived from cowley1: the Halted "Demo Linux VM (1)" gains other_config.pci. XAPI reads
    # attached_PCIs only (empty while halted), so nothing stops the move; the VGPU class,
    # a gap in cowley1, is not read for a VM with nothing attached.
    def derive(objects):
        vm_by_name(objects, "Demo Linux VM (1)")["other_config"]["pci"] = "0/0000:04:00.0"
    assert value(COWLEY1, "VM", "Demo Linux VM (1)", "pci_passthrough", derive) == []


VGPU = "OpaqueRef:vgpu-derived"
VGPU_TYPE = "OpaqueRef:vgpu-type-derived"


def _vgpu(implementation: str, *, pci_attached: bool = False, nvidia_metadata: bool = False):
    """Derived from Tampa (the 6.1 pool with real PGPU/GPU_group rows and an empty VGPU
    table): a VGPU_type record of the given implementation and a VGPU of dlvm_local
    resident on dt16's real PGPU are added, dlvm_local.VGPUs set to it. With pci_attached
    the VGPU's PCI is dt16's Matrox and dlvm_local.attached_PCIs holds it (the SR-IOV VF
    case); with nvidia_metadata the PGPU's compatibility_metadata gains "nvidia"."""
    def derive(objects):
        objects["VGPU_type"] = {VGPU_TYPE: {
            "uuid": "t", "model_name": "GRID A16-2Q", "implementation": implementation,
            "framebuffer_size": "2147483648"}}
        objects["VGPU"][VGPU] = {
            "uuid": "g", "VM": TAMPA_DLVM_LOCAL, "type": VGPU_TYPE, "GPU_group": TAMPA_GPU_GROUP,
            "resident_on": TAMPA_DT16_PGPU, "PCI": TAMPA_DT16_PCI if pci_attached else "OpaqueRef:NULL"}
        objects["VM"][TAMPA_DLVM_LOCAL]["VGPUs"] = [VGPU]
        if pci_attached:
            objects["VM"][TAMPA_DLVM_LOCAL]["attached_PCIs"] = [TAMPA_DT16_PCI]
        pgpu = objects["PGPU"][TAMPA_DT16_PGPU]
        pgpu["resident_VGPUs"] = [VGPU]
        pgpu["enabled_VGPU_types"] = [VGPU_TYPE]
        pgpu["supported_VGPU_max_capacities"] = {VGPU_TYPE: "2"}
        if nvidia_metadata:
            pgpu["compatibility_metadata"] = {"nvidia": "base64"}
    return derive


def test_nvidia_sriov_vgpu_vf_is_not_pci_passthrough_derived():
    derive = _vgpu("nvidia_sriov", pci_attached=True)
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "pci_passthrough", derive) == []
    # The same VF under a passthrough-type vGPU stays a passed-through PCI.
    derive = _vgpu("passthrough", pci_attached=True)
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "pci_passthrough", derive) == ["0000:01:03.0"]


def test_vgpu_facts_derived():
    w = world(TAMPA, _vgpu("nvidia"))
    vm = obj(w, "VM", TAMPA_DLVM_LOCAL)
    assert [g.ref for g in w.value(vm, "vgpus")] == [VGPU]
    assert w.value(vm, "vgpu_framebuffer") == 2147483648
    g = obj(w, "VGPU", VGPU)
    assert w.value(g, "implementation") == "nvidia"
    assert w.value(g, "type_name") == "GRID A16-2Q"
    assert w.value(g, "migratable") is False        # the PGPU has no "nvidia" metadata
    assert w.value(g, "spare_capacity_on_host") is True  # capacity 2, 1 resident
    w = world(TAMPA, _vgpu("nvidia", nvidia_metadata=True))
    assert w.value(obj(w, "VGPU", VGPU), "migratable") is True
    w = world(TAMPA, _vgpu("passthrough", nvidia_metadata=True))
    assert w.value(obj(w, "VGPU", VGPU), "migratable") is False


def test_vgpus_and_vusbs_on_real_data():
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "vgpus") == []     # VGPUs "()"
    assert value(COWLEY, "VM", "silver", "vgpus") == []            # 5.6: no VGPU class
    assert value(COWLEY, "VM", "silver", "vusb_count") == 0        # 5.6: no VUSB class
    assert value(XAPI24, "VM", XAPI24_VM, "vusb_count") == 0       # VUSBs []


def test_vusb_derived():
    # Derived from the XAPI 24 record: VM.VUSBs [] → one VUSB ref (the file holds no VUSB
    # rows, so it dangles — the count is what A12 reads).
    def derive(objects):
        objects["VM"][XAPI24_VM]["VUSBs"] = ["OpaqueRef:vusb-derived"]
    assert value(XAPI24, "VM", XAPI24_VM, "vusb_count", derive) == 1


def test_immobile_from_platform_on_old_dumps():
    # 5.x VM_metrics have no nomigrate/nested_virt: VM.platform decides.
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "immobile") is False

    # Derived from Tampa: dlvm_local.platform gains nomigrate "true".
    def derive(objects):
        objects["VM"][TAMPA_DLVM_LOCAL]["platform"]["nomigrate"] = "true"
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "immobile", derive) is True


def test_immobile_vm_metrics_take_precedence():
    # vm-1's VM_metrics say nomigrate false / nested_virt false (captured at boot).
    assert value(CG1, "VM", CG1_VM, "immobile") is False

    # Derived from vm-1: platform.nomigrate "true" — ignored, VM_metrics.nomigrate wins.
    def platform_only(objects):
        objects["VM"][CG1_VM]["platform"]["nomigrate"] = "true"
    assert value(CG1, "VM", CG1_VM, "immobile", platform_only) is False

    # Derived from vm-1: VM_metrics.nomigrate false → true.
    def metrics(objects):
        objects["VM_metrics"][CG1_VM_METRICS]["nomigrate"] = True
    assert value(CG1, "VM", CG1_VM, "immobile", metrics) is True


def test_immobile_with_dangling_vm_metrics_is_unknown():
    # state4 template "Red Hat Enterprise Linux 5.3 (1)": VM.metrics names the one
    # VM_metrics row the dump lacks (58 rows for 59 VMs).
    assert "VM.metrics" in missing(STATE4, "VM", "Red Hat Enterprise Linux 5.3 (1)", "immobile")


def test_ha_protected_state2():
    # state2's four VMs have ha_restart_priority "1" and ha_always_run true: XenServer
    # 5.x's protected priorities, which XAPI's database upgrade turns into "restart".
    for vm in ("Debian Etch 4.0 (1)", "Debian Etch 4.0 (2)", "Debian Etch 4.0 (3)",
               "Debian Etch 4.0 (4)"):
        assert value(STATE2, "VM", vm, "ha_protected") is True
        assert value(STATE2, "VM", vm, "ha_restart") is True

    # Derived from state2: "Debian Etch 4.0 (1)" ha_always_run → false: not protected.
    def derive(objects):
        vm_by_name(objects, "Debian Etch 4.0 (1)")["ha_always_run"] = False
    assert value(STATE2, "VM", "Debian Etch 4.0 (1)", "ha_protected", derive) is False


def test_ha_best_effort_is_not_protected():
    # Cowley Win2k3-LicDev: best-effort + always_run → restarted but not protected.
    assert value(COWLEY, "VM", "Win2k3-LicDev", "ha_protected") is False
    assert value(COWLEY, "VM", "Win2k3-LicDev", "ha_restart") is True
    assert value(COWLEY, "VM", "silver", "ha_restart") is False


def test_vm_misc_facts():
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "snapshot_count") == 2
    assert value(TAMPA, "VM", TAMPA_DLVM_SHARED, "snapshot_count") == 3
    assert value(COWLEY, "VM", "OpenStack Jenkins", "snapshot_count") == 9
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "blocked_operations") == {}
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "current_operations") == []
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "power_state") == "Running"
    assert value(COWLEY1, "VM", "Demo Linux VM (1)", "power_state") == "Halted"

    # Derived from Tampa: dlvm_local.blocked_operations gains pool_migrate.
    def derive(objects):
        objects["VM"][TAMPA_DLVM_LOCAL]["blocked_operations"] = {"pool_migrate": "frozen"}
    assert value(TAMPA, "VM", TAMPA_DLVM_LOCAL, "blocked_operations", derive) == {
        "pool_migrate": "frozen"}


# ---------------------------------------------------------------------------------
# Registry-wide: no fact crashes on real data
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [COWLEY, COWLEY1, STATE2, STATE4, TAMPA, CG1, CG2, XAPI24])
def test_every_fact_on_every_real_object_is_a_value_or_missing(name):
    w = world(name)
    for cls, specs in FACTS.items():
        if cls in w.inventories[0].gap_classes:
            continue  # no objects to ask (World.objects raises ClassGap)
        for o in w.objects(0, cls):
            for fact in specs:
                try:
                    w.value(o, fact)
                except Missing as exc:
                    assert exc.reason, f"{cls}.{fact}: Missing without a reason"


def test_dangling_vgpu_ref_is_unknown_derived():
    # Derived from Tampa: dlvm_local.VGPUs () → one ref the (empty) VGPU table lacks.
    def derive(objects):
        objects["VM"][TAMPA_DLVM_LOCAL]["VGPUs"] = ["OpaqueRef:vgpu-dangling"]
    assert "VM.VGPUs" in missing(TAMPA, "VM", TAMPA_DLVM_LOCAL, "vgpus", derive)


def test_xcp_ng_is_told_apart_by_its_brand():
    # Derived from Tampa: dt16 made an XCP-ng 8.2 host, whose numbers are those of CH 8.2 CU1.
    derive = _software_version(product_brand="XCP-ng", product_version="8.2.1", platform_version="3.2.1",
                               product_version_text="8.2", product_version_text_short="8.2")
    assert value(TAMPA, "host", TAMPA_DT16, "is_ch82cu1", derive) is False
    assert value(TAMPA, "host", TAMPA_DT16, "is_xcp_ng", derive) is True
    assert value(TAMPA, "host", TAMPA_DT16, "product", derive) == "XCP-ng 8.2.1"
    # XCP-ng 8.3 shares XenServer 8's platform numbers: it is not called XenServer 8.
    derive = _software_version(product_brand="XCP-ng", product_version="8.3.0", platform_version="3.4.0")
    assert value(TAMPA, "host", TAMPA_DT16, "product", derive) == "XCP-ng 8.3.0"


def test_later_cumulative_hotfixes_carry_the_port80_fix():
    # Derived from Tampa: dt16 has XS82ECU1041 (cumulative, after 1033), dt23 XS82ECU1025.
    def derive(objects):
        objects["pool_update"] = {"OpaqueRef:u1": {"uuid": "u1", "name_label": "XS82ECU1041"},
                                  "OpaqueRef:u2": {"uuid": "u2", "name_label": "XS82ECU1025"}}
        objects["host"][TAMPA_DT16]["updates"] = ["OpaqueRef:u1"]
        objects["host"][TAMPA_DT23]["updates"] = ["OpaqueRef:u2"]
    assert value(TAMPA, "host", TAMPA_DT16, "port80_hotfix", derive) == "XS82ECU1041"
    assert value(TAMPA, "host", TAMPA_DT16, "has_port80_hotfix", derive) is True
    assert value(TAMPA, "host", TAMPA_DT23, "has_port80_hotfix", derive) is False


# ---------------------------------------------------------------------------------
# Added 2026-11-26 (issue 10): VM_NON_SUSPENDABLE by xapi version (GEN-010)
# ---------------------------------------------------------------------------------

def _ch82_web01(xapi_build: str | None, power_state: str, domain_type: str) -> tuple[World, Any]:
    """prod-ch82 (the rule fixtures' base pool) with web-01's guest reporting that it cannot
    suspend; the master's software_version.xapi_build, web-01's power_state and its
    VM_metrics.current_domain_type changed as given."""
    import json
    from pathlib import Path

    doc = json.loads((Path(__file__).parent / "policies" / "_base" / "prod-ch82.json").read_text())
    objects = doc["objects"]
    master = next(iter(objects["pool"].values()))["master"]
    sv = objects["host"][master]["software_version"]
    sv.pop("xapi", None)
    sv.pop("xapi_build", None)
    if xapi_build:
        sv["xapi_build"] = xapi_build
    ref, vm = next((r, v) for r, v in objects["VM"].items() if v["name_label"] == "web-01")
    vm["power_state"] = power_state
    objects["VM_metrics"][vm["metrics"]]["current_domain_type"] = domain_type
    objects["VM_guest_metrics"][vm["guest_metrics"]]["other"] = {
        "data-cant-suspend-reason": "State blocked by non-migratable device '0000:00:07.0/nvme'"}
    w = World([Inventory(doc, "prod-ch82 (derived)")])
    return w, w.obj(0, "VM", ref)


@pytest.mark.parametrize(("xapi_build", "power_state", "domain_type", "refused"), [
    ("1.249.32", "Running", "hvm", False),   # before 25.24.0: no VM_NON_SUSPENDABLE at all
    ("25.24.0", "Running", "hvm", True),
    ("25.24.0", "Running", "pv", False),     # 25.24-25.26: booted PV is implicit support
    ("25.26.1", "Paused", "hvm", False),     # ... and only Running counts
    ("25.27.0", "Running", "pv", True),      # 25.27 on: any domain type
    ("25.30.0", "Halted", "hvm", True),      # ... and any power state (stale metrics)
    ("26.1.9", "Halted", "hvm", True),
    ("26.1.12", "Halted", "hvm", False),     # the fix on the 26.1 branch: live VMs only
    ("26.12.0", "Suspended", "hvm", True),
    ("26.13.0", "Halted", "hvm", False),
    ("26.13.0", "Paused", "hvm", True),
])
def test_non_suspendable_follows_the_masters_xapi_version_derived(xapi_build, power_state,
                                                                  domain_type, refused):
    w, vm = _ch82_web01(xapi_build, power_state, domain_type)
    assert w.value(vm, "cant_suspend_reason").startswith("State blocked")
    assert w.value(vm, "non_suspendable") is refused


def test_non_suspendable_unknown_without_the_masters_xapi_version_derived():
    w, vm = _ch82_web01(None, "Running", "hvm")
    with pytest.raises(Missing, match="xapi_build"):
        w.value(vm, "non_suspendable")


# ---------------------------------------------------------------------------------
# Added 2026-11-26 (issue 10): MAC seeds across pools (SXM-009), vGPU placement (LIM-014)
# ---------------------------------------------------------------------------------

def _fixture_world(rule: str, *patches: dict[str, Any]) -> World:
    """The rule fixture's pools (tests/policies/<rule>), with more patches after its own."""
    from pathlib import Path

    from checker.fixtures import load_inventories
    from checker.yamlsrc import load as load_yaml

    folder = Path(__file__).parent / "policies" / rule
    spec = dict(load_yaml(folder / "fixture.yaml").data)
    spec["patches"] = [*spec["patches"], *patches]
    return World(load_inventories(folder, spec))


def _vm(w: World, pool: int, name: str):
    return next(o for o in w.objects(pool, "VM") if o.name == name)


DR_XS8_UUID = "946b1878-ba0e-5a74-8637-cc31ea2cbe72"


def test_mac_seed_of_a_destination_snapshot_of_the_same_vm_is_no_clash_derived():
    # Derived from SXM-009's fixture: dr-xs8's "build-01 (earlier copy)" becomes a snapshot
    # of a dr-xs8 VM record that has build-01's uuid (the same VM): compatible.
    w = _fixture_world("SXM-009",
                       {"pool": "dr-xs8", "class": "VM", "name": "build-01 (earlier copy)",
                        "set": {"is_a_snapshot": True,
                                "snapshot_of": "OpaqueRef:fixture-sxm009-web01-copy"}},
                       {"pool": "dr-xs8", "class": "VM", "name": "web-01 (restored copy)",
                        "set": {"uuid": _vm(_fixture_world("SXM-009"), 0, "build-01").uuid}})
    assert DR_XS8_UUID not in w.value(_vm(w, 0, "build-01"), "mac_seed_clashes")
    # ...whereas a snapshot whose VM is gone is never compatible (import.ml is_compatible).
    w = _fixture_world("SXM-009",
                       {"pool": "dr-xs8", "class": "VM", "name": "build-01 (earlier copy)",
                        "set": {"is_a_snapshot": True, "snapshot_of": "OpaqueRef:NULL"}})
    assert w.value(_vm(w, 0, "build-01"), "mac_seed_clashes") == {
        DR_XS8_UUID: ["build-01 (earlier copy)"]}


def test_mac_seeds_include_the_vms_snapshots_derived():
    # Derived from SXM-009's fixture: app-01 gets a snapshot (added) whose seed is the one
    # "web-01 (restored copy)" holds in dr-xs8: the cross-pool import of app-01 clashes.
    snapshot = {"ref": "OpaqueRef:fixture-app01-snap", "uuid": "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b",
                "name_label": "app-01 before patching", "power_state": "Halted",
                "is_a_snapshot": True, "is_a_template": False,
                "snapshot_of": "OpaqueRef:17f9dcdb-6ed3-5db3-8626-15662642a081",
                "other_config": {"mac_seed": "0d5e2b1a-6c4f-4e8a-9b37-2f1c8d9e6a50"}}
    w = _fixture_world("SXM-009",
                       {"pool": "prod-ch82", "class": "VM", "add": snapshot},
                       {"pool": "prod-ch82", "class": "VM", "name": "app-01",
                        "append": {"snapshots": "OpaqueRef:fixture-app01-snap"}})
    app = _vm(w, 0, "app-01")
    assert w.value(app, "mac_seeds") == ["0d5e2b1a-6c4f-4e8a-9b37-2f1c8d9e6a50",
                                         "7a3c9e15-2b6d-4f08-8e41-5c0b7d2f9a36"]
    assert w.value(app, "mac_seed_clashes") == {DR_XS8_UUID: ["web-01 (restored copy)"]}


def _placement(w: World, vm: str, host: str):
    from checker.facts.gpu import vgpu_placement

    dst = next(h for i in range(len(w.inventories)) for h in w.objects(i, "host") if h.name == host)
    return vgpu_placement(_vm(w, 0, vm), dst)


def test_vgpu_placement_counts_a_vms_own_vgpus_one_after_the_other_derived():
    # Derived from LIM-014's fixture: build-01 gets a second T4-2Q vGPU (added). ch82-h2's
    # pGPU has room for one, so the second finds none (XAPI's pre_allocate_list).
    second = {"ref": "OpaqueRef:fixture-build01-second", "uuid": "2f3e4d5c-6b7a-4989-8a7b-6c5d4e3f2a1b",
              "VM": "OpaqueRef:c8275444-7a73-55ef-8ded-5fc13908ae2d",
              "GPU_group": "OpaqueRef:fixture-lim014-group", "type": "OpaqueRef:fixture-lim014-t4-2q",
              "resident_on": "OpaqueRef:NULL", "scheduled_to_be_resident_on": "OpaqueRef:NULL"}
    w = _fixture_world("LIM-014",
                       {"pool": "prod-ch82", "class": "VGPU", "add": second},
                       {"pool": "prod-ch82", "class": "VM", "name": "build-01",
                        "append": {"VGPUs": "OpaqueRef:fixture-build01-second"}})
    assert [(e["room"], e["ok"]) for e in _placement(w, "build-01", "ch82-h2")] == [(1, True), (0, False)]
    # On ch82-h1 (capacity 8, two resident) both fit, the second with one place less.
    assert [(e["room"], e["ok"]) for e in _placement(w, "build-01", "ch82-h1")] == [(6, True), (5, True)]


def test_vgpu_placement_unknown_on_a_pgpu_holding_other_types_derived():
    # Derived from LIM-014's fixture: web-02's vGPU on ch82-h2's pGPU becomes a passthrough
    # one; whether T4-2Q may share that pGPU is XAPI-internal (compatible_types_on_pgpu).
    w = _fixture_world("LIM-014",
                       {"pool": "prod-ch82", "class": "VGPU", "name": "1a2b3c4d-0e14-4f00-8a00-0000000000c4",
                        "set": {"type": "OpaqueRef:fixture-lim014-passthrough"}})
    with pytest.raises(Missing, match="compatible_types_on_pgpu"):
        _placement(w, "build-01", "ch82-h2")
