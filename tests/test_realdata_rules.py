"""Every rule of the catalogue on real records: the pools in tests/data/realdata.

The rule fixtures under tests/policies/ use the project's own sample pools. Here each rule
is run on real XAPI dumps (imported once per module, deep-copied per test) and on copies
in which the ONE field the rule is about was changed (or the one record it needs was
added); every derivation says which field of which real record it changed. Each case
asserts the named subject's status on both sides of the flip, so each can fail.

The real pools (see tests/data/realdata/README.md):
- Tampa (`tampa-db_inc_snapshots.xml`, XenServer 6.1, pool "TampaPool"): hosts dt16
  (master) and dt23; dlvm_local (disk on dt16's "Local storage") and dlvm_shared (disk
  on the shared "iSCSI virtual disk storage"), both CentOS 5.7 PV, Running on dt16. Both
  disks are named "vdi_xvda", so disk subjects are told apart by the VM of the move.
- Cowley-db (5.6 FP1, one host berlin, 8 VMs, Windows), cowley1 (5.6.900, grimsby and
  chester, a Halted VM), state2 (HA enabled, no host_metrics, schema 5.57: no
  VM.memory_overhead, no VDI.on_boot), state4 (Windows without tools).

Cross-pool moves need a second pool: `second_pool` deep-copies a real pool and replaces
every uuid-shaped string in it (record uuids and the uuid part of every OpaqueRef) by
uuid5 of itself, and renames the pool, so pool uuid, pool name, VM uuids and refs all
differ from the source's. VMs are then selected by `uuid:` (both pools hold a
"dlvm_shared"); hosts are resolved inside the destination pool, so names suffice.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REALDATA

from checker.dump import import_file
from checker.evaluate import evaluate
from checker.facts import World, is_real_vm
from checker.inventory import Inventory
from checker.plan import load_plan
from checker.policy import load_rules

TAMPA = "xenadmin/tampa-db_inc_snapshots.xml"
COWLEY = "xenadmin/Cowley-db.xml"
COWLEY1 = "xenadmin/cowley1.xml"
STATE2 = "xenadmin/state2.xml"
STATE4 = "xenadmin/state4.xml"

S, L = "dlvm_shared", "dlvm_local"        # Tampa's two VMs
DISK = "vdi_xvda"                          # the name of each one's disk
ISCSI = "iSCSI virtual disk storage"       # Tampa's shared SR (the pool default SR)
ETH0 = "Pool-wide network associated with eth0"   # management network (PIF.management)
ETH1 = "Pool-wide network associated with eth1"   # no IP on either host
STATE2_VM = "Debian Etch 4.0 (1)"          # HA-protected in 5.5's terms (priority "1")
DEMO = "Demo Linux VM (1)"                 # cowley1's Halted VM
GiB = 1024 ** 3

RULES = load_rules()

Doc = dict[str, Any]


# ---------------------------------------------------------------------------------
# Real pools and derived copies
# ---------------------------------------------------------------------------------

@cache
def _imported(name: str) -> Doc:
    return import_file(REALDATA / name)


def pool(name: str) -> Doc:
    """A fresh deep copy of a real pool's inventory document, free to change."""
    return copy.deepcopy(_imported(name))


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def second_pool(doc: Doc, name: str) -> Doc:
    """Another pool made from a real one: every uuid-shaped string (record uuids, the uuid
    part of OpaqueRefs) replaced by uuid5 of itself, and the pool renamed `name`."""
    text = _UUID.sub(lambda m: str(uuid.uuid5(uuid.NAMESPACE_OID, m.group(0).lower())),
                     json.dumps(doc))
    new = json.loads(text)
    record = the_pool(new)
    record["name_label"] = name
    new["pool"] = {"uuid": record["uuid"], "name_label": name}
    return new


def make_xenserver8(doc: Doc) -> None:
    """Upgrade every host's version fields to XenServer 8 (what a current dump reports),
    with port 80 closed (https_only, a field xapi 22.27 added)."""
    for host in doc["objects"]["host"].values():
        host["software_version"].update({
            "product_version": "8.4.0", "platform_version": "3.4.0", "product_brand": "XenServer",
            "product_version_text": "8", "product_version_text_short": "8",
            "xapi": "24.19.2", "xen": "4.17.5-13"})
        host["https_only"] = True


def the_pool(doc: Doc) -> dict[str, Any]:
    return next(iter(doc["objects"]["pool"].values()))


def rec(doc: Doc, cls: str, name: str) -> dict[str, Any]:
    """The one record of `cls` named `name` (VMs: guest VMs only)."""
    found = [r for r in doc["objects"].get(cls, {}).values()
             if r.get("name_label") == name and (cls != "VM" or is_real_vm(r))]
    assert len(found) == 1, f"{cls} {name!r}: {len(found)} records"
    return found[0]


def ref(doc: Doc, cls: str, record: dict[str, Any]) -> str:
    return next(r for r, v in doc["objects"][cls].items() if v is record)


def uuid_of(record: dict[str, Any]) -> str:
    return f"uuid:{record['uuid']}"


def host_ref(doc: Doc, name: str) -> str:
    return ref(doc, "host", rec(doc, "host", name))


def metrics(doc: Doc, host: str) -> dict[str, Any]:
    return doc["objects"]["host_metrics"][rec(doc, "host", host)["metrics"]]


def disk(doc: Doc, vm: str, device: str = "xvda") -> dict[str, Any]:
    """The VDI in the VM's disk slot `device` (Tampa's VBDs say "xvda", not "0")."""
    objects = doc["objects"]
    for vbd_ref in rec(doc, "VM", vm)["VBDs"]:
        vbd = objects["VBD"][vbd_ref]
        if vbd["userdevice"] == device and vbd["type"] != "CD":
            return objects["VDI"][vbd["VDI"]]
    raise AssertionError(f"{vm} has no disk {device}")


def guest_metrics(doc: Doc, vm: str) -> dict[str, Any]:
    return doc["objects"]["VM_guest_metrics"][rec(doc, "VM", vm)["guest_metrics"]]


def local_sr(doc: Doc, host: str) -> dict[str, Any]:
    """The host's own "Local storage" SR (every host's local SR has that name)."""
    objects = doc["objects"]
    h = host_ref(doc, host)
    for pbd in objects["PBD"].values():
        sr = objects["SR"].get(pbd["SR"])
        if pbd["host"] == h and sr and sr["name_label"] == "Local storage":
            return sr
    raise AssertionError(f"{host} has no Local storage")


def sr(doc: Doc, name: str) -> dict[str, Any]:
    return rec(doc, "SR", name)


def network(doc: Doc, name: str) -> dict[str, Any]:
    return rec(doc, "network", name)


def pif(doc: Doc, host: str, device: str) -> dict[str, Any]:
    h = host_ref(doc, host)
    return next(p for p in doc["objects"]["PIF"].values() if p["host"] == h and p["device"] == device)


def sm(doc: Doc, sr_type: str) -> dict[str, Any]:
    return next(s for s in doc["objects"]["SM"].values() if s["type"] == sr_type)


def add(doc: Doc, cls: str, name: str, record: dict[str, Any]) -> str:
    """Add a record the real pool lacks; returns its ref."""
    new_ref = f"OpaqueRef:{uuid.uuid5(uuid.NAMESPACE_OID, 'realdata-rules-' + name)}"
    record.setdefault("uuid", str(uuid.uuid5(uuid.NAMESPACE_URL, "realdata-rules-" + name)))
    doc["objects"].setdefault(cls, {})[new_ref] = record
    return new_ref


def add_vgpu(doc: Doc, vm: str, host: str, implementation: str) -> tuple[str, str]:
    """Give `vm` a vGPU on `host`'s real pGPU (Tampa's onboard Matrox, in its real GPU
    group). Tampa predates vGPU types (6.2), so the VGPU_type record is added and the
    VGPU record links VM, group, type and pGPU; the VM's VGPUs lists it."""
    objects = doc["objects"]
    h = host_ref(doc, host)
    pgpu_ref = next(r for r, p in objects["PGPU"].items() if p["host"] == h)
    type_ref = add(doc, "VGPU_type", f"type-{implementation}", {
        "model_name": implementation, "implementation": implementation,
        "framebuffer_size": "0", "max_heads": "0", "vendor_name": "", "other_config": {}})
    vgpu_ref = add(doc, "VGPU", f"vgpu-{vm}", {
        "VM": ref(doc, "VM", rec(doc, "VM", vm)), "GPU_group": objects["PGPU"][pgpu_ref]["GPU_group"],
        "type": type_ref, "resident_on": pgpu_ref, "device": "0", "currently_attached": True,
        "other_config": {}})
    rec(doc, "VM", vm)["VGPUs"] = [vgpu_ref]
    return vgpu_ref, type_ref


def set_caps(doc: Doc, sr_type: str, *extra: str) -> None:
    """Add SM capabilities (the `capabilities` list of the SM record of `sr_type`)."""
    sm(doc, sr_type)["capabilities"] = [*sm(doc, sr_type)["capabilities"], *extra]


# ---------------------------------------------------------------------------------
# Plans and findings
# ---------------------------------------------------------------------------------

def live(vms: list[str], host: str, pool_name: str | None = None, **extra: Any) -> dict[str, Any]:
    dest = {"pool": pool_name, "host": host} if pool_name else {"host": host}
    return {"kind": "live", "vms": vms, "destination": dest, **extra}


def storage(vms: list[str], host: str, pool_name: str | None = None, **extra: Any) -> dict[str, Any]:
    dest = {"pool": pool_name, "host": host} if pool_name else {"host": host}
    return {"kind": "storage", "vms": vms, "destination": dest, **extra}


def vdi(selector: str, sr_selector: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "vdi", "vdi": selector, "destination": {"sr": sr_selector}, **extra}


def evacuate(host: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "evacuate", "host": host, **extra}


class Results(list):
    """(who, subject, status) per finding: who is the moved VM (or the evacuated host, or
    the disk of a VDI move whose disk no VM uses)."""

    why: dict[tuple[str, str], str]


class Check:
    """Runs one rule on real (or derived) pools with a plan written to a YAML file."""

    def __init__(self, rule_id: str, tmp_path: Path) -> None:
        self.rule_id = rule_id
        self.tmp_path = tmp_path
        self.count = 0

    def __call__(self, docs: Doc | list[Doc], *operations: dict[str, Any],
                 settings: dict[str, Any] | None = None) -> Results:
        docs = docs if isinstance(docs, list) else [docs]
        world = World([Inventory(d, d["pool"]["name_label"]) for d in docs])
        self.count += 1
        plan: dict[str, Any] = {"plan": f"REALDATA-{self.rule_id}-{self.count}"}
        if settings:
            plan["settings"] = settings
        plan["operations"] = list(operations)
        path = self.tmp_path / f"plan-{self.count}.yaml"
        path.write_text(yaml.safe_dump(plan, sort_keys=False, allow_unicode=True), encoding="utf-8")
        evaluation = evaluate(world, RULES.only([self.rule_id]), load_plan(path, world))
        out = Results()
        out.why = {}
        for op in evaluation.operations:
            who = (op.move.vm or op.move.host or op.move.vdi).name
            for f in op.findings:
                assert f.rule.id == self.rule_id
                subject = getattr(f.subject, "name", str(f.subject))
                out.append((who, subject, f.status))
                if f.unknown:
                    out.why[(who, subject)] = f.unknown
        return out


CASES: dict[str, Callable[[Check], None]] = {}


def case(rule_id: str) -> Callable[[Callable[[Check], None]], Callable[[Check], None]]:
    def register(fn: Callable[[Check], None]) -> Callable[[Check], None]:
        CASES[rule_id] = fn
        return fn
    return register


@pytest.mark.parametrize("rule_id", [r.id for r in RULES.rules])
def test_rule_on_real_records(rule_id, tmp_path):
    CASES[rule_id](Check(rule_id, tmp_path))


def test_every_rule_has_a_real_data_case():
    assert sorted(CASES) == sorted(r.id for r in RULES.rules)
    assert len(CASES) == 54


# ---------------------------------------------------------------------------------
# GEN
# ---------------------------------------------------------------------------------

@case("GEN-001")
def _gen_001(check: Check) -> None:
    src = pool(TAMPA)
    # The destination: a copy of Tampa (uuids changed, pool "TampaPool-DR"): same 6.1
    # versions as the source, which GEN-001 accepts ("same or newer").
    dst = second_pool(src, "TampaPool-DR")
    move = storage([uuid_of(rec(src, "VM", S))], "dt23", "TampaPool-DR")
    assert check([src, dst], move) == [(S, S, "pass")]
    # Derived from the copy's dt23: software_version.platform_version 1.6.10 -> 1.6.0
    # (an older build than the source's): the move goes to an older host.
    older = copy.deepcopy(dst)
    rec(older, "host", "dt23")["software_version"]["platform_version"] = "1.6.0"
    assert check([src, older], move) == [(S, S, "fail")]
    # The copy upgraded to XenServer 8 (platform 3.4.0, xapi 24.19.2, Xen 4.17.5) as the
    # destination passes; as the SOURCE, its dlvm_shared may not go back to real Tampa.
    xs8 = copy.deepcopy(dst)
    make_xenserver8(xs8)
    assert check([src, xs8], move) == [(S, S, "pass")]
    back = storage([uuid_of(rec(xs8, "VM", S))], "dt23", "TampaPool")
    assert check([src, xs8], back) == [(S, S, "fail")]
    # Real data: Cowley (5.6 FP1) reports no software_version.platform_version, which
    # XAPI reads as 0.0.0 (helpers.ml version_of): Tampa refuses to move a VM there.
    cowley = pool(COWLEY)
    got = check([src, cowley], storage([uuid_of(rec(src, "VM", S))], "berlin",
                                       the_pool(cowley)["name_label"]))
    assert got == [(S, S, "fail")]
    # Derived from Cowley: berlin's software_version record deleted: unknown.
    del rec(cowley, "host", "berlin")["software_version"]
    got = check([src, cowley], storage([uuid_of(rec(src, "VM", S))], "berlin",
                                       the_pool(cowley)["name_label"]))
    assert got == [(S, S, "unknown")]
    assert "software_version" in got.why[(S, S)]


@case("GEN-002")
def _gen_002(check: Check) -> None:
    # state4 (Hottub): real Windows guests, with and without tools, live to incubus.
    xp, w2003, linux = "Windows XP SP2 (1)", "Windows Server 2003 x64 (1)", "Iscsi Box"
    plan = (live([xp, w2003], "incubus"), live([linux], "inflames"))
    real = check(pool(STATE4), *plan)
    # Real: XP runs without guest metrics (no tools, HVM): fail; 2003 has tools 5.5.0 and
    # the Linux VM reports PV drivers too: pass (XAPI asks every HVM guest, not only Windows).
    assert sorted(real) == [(linux, linux, "pass"), (w2003, w2003, "pass"),
                            (xp, xp, "fail")]
    # Derived from 2003's VM_guest_metrics: PV_drivers_version emptied (tools removed).
    doc = pool(STATE4)
    # Still pass: the guest advertises feature-suspend, which is all XAPI asks for.
    guest_metrics(doc, w2003)["PV_drivers_version"] = {}
    assert (w2003, w2003, "pass") in check(doc, *plan)
    # And without feature-suspend: an HVM guest XAPI refuses (VM_LACKS_FEATURE).
    guest_metrics(doc, w2003)["other"].pop("feature-suspend")
    assert (w2003, w2003, "fail") in check(doc, *plan)


@case("GEN-003")
def _gen_003(check: Check) -> None:
    # Plan-only rule (storage/vdi moves of one pool in one wave); real Cowley VMs, moved
    # by storage migration inside their one-host pool.
    four = ["silver", "CCNET", "jarvis", "SCVMM"]
    got = check(pool(COWLEY), storage(four, "berlin", wave=1),
                storage(["OpenStack Jenkins"], "berlin", wave=2))
    assert sorted(got) == sorted([(v, v, "fail") for v in four]
                                 + [("OpenStack Jenkins", "OpenStack Jenkins", "pass")])
    # Three in the wave (XAPI's limit): silver passes.
    got = check(pool(COWLEY), storage(four[:3], "berlin", wave=1))
    assert sorted(got) == sorted((v, v, "pass") for v in four[:3])


@case("GEN-004")
def _gen_004(check: Check) -> None:
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived from Tampa's dlvm_shared: power_state Running -> Paused.
    doc = pool(TAMPA)
    rec(doc, "VM", S)["power_state"] = "Paused"
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]
    # Real: cowley1's Demo Linux VM is Halted: no live move, a storage move is fine.
    got = check(pool(COWLEY1), live([DEMO], "grimsby"), storage([DEMO], "grimsby"))
    assert got == [(DEMO, DEMO, "fail"), (DEMO, DEMO, "pass")]


@case("GEN-005")
def _gen_005(check: Check) -> None:
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived from Tampa's dt23: host.enabled true -> false (maintenance mode).
    doc = pool(TAMPA)
    rec(doc, "host", "dt23")["enabled"] = False
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]
    # Real: state2's host.metrics refs dangle (no host_metrics table): liveness unknown.
    got = check(pool(STATE2), live([STATE2_VM], "grimsby"))
    assert got == [(STATE2_VM, STATE2_VM, "unknown")]
    assert "host_metrics" in got.why[(STATE2_VM, STATE2_VM)]


@case("GEN-006")
def _gen_006(check: Check) -> None:
    doc = pool(TAMPA)
    move_disk = vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16")))
    got = check(doc, live([S], "dt23"), move_disk)
    # Real Tampa (6.1): pool.restrictions has restrict_storage_xen_motion "false" (live VDI
    # migration allowed) and no restrict_xen_motion: XAPI checked no licence for live
    # migration before XenServer 7.0 (xapi_vm_migrate.ml pool_migrate), so it passes.
    assert got == [(S, S, "pass"), (S, S, "pass")]
    # Derived from Tampa's pool: restrictions.restrict_storage_xen_motion "false" -> "true".
    the_pool(doc)["restrictions"]["restrict_storage_xen_motion"] = "true"
    assert check(doc, move_disk) == [(S, S, "fail")]
    # Derived from state4's incubus (XenServer 5.5): license_params.restrict_xen_motion
    # "true" does not stop a live migration on a release that never checked it.
    xp = "Windows XP SP2 (1)"
    doc = pool(STATE4)
    rec(doc, "host", "incubus")["license_params"]["restrict_xen_motion"] = "true"
    assert check(doc, live([xp], "incubus")) == [(xp, xp, "pass")]


@case("GEN-007")
def _gen_007(check: Check) -> None:
    doc = pool(TAMPA)
    plan = (live([S], "dt23"), vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16"))))
    assert check(doc, *plan) == [(S, S, "pass"), (S, S, "pass")]
    # Derived from Tampa's dlvm_shared: blocked_operations {} -> {pool_migrate: reason}.
    # The live move is blocked; the live VDI move (migrate_send) is not.
    rec(doc, "VM", S)["blocked_operations"] = {"pool_migrate": "pinned to dt16 by its owner"}
    assert check(doc, *plan) == [(S, S, "fail"), (S, S, "pass")]


@case("GEN-008")
def _gen_008(check: Check) -> None:
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived from Tampa's dlvm_shared: current_operations {} -> a snapshot in progress.
    doc = pool(TAMPA)
    rec(doc, "VM", S)["current_operations"] = {
        "OpaqueRef:5e1f3c2a-0000-4000-8000-000000000001": "snapshot"}
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]
    # Real records, plan side: dlvm_local moved twice in one wave (live, then its disk).
    doc = pool(TAMPA)
    got = check(doc, live([L], "dt23", wave=1),
                vdi(f"{L}/xvda", uuid_of(sr(doc, ISCSI)), wave=1))
    assert got == [(L, L, "fail"), (L, L, "fail")]


@case("GEN-009")
def _gen_009(check: Check) -> None:
    # Plan-only rule (live moves of one pool in one wave); cowley1's four real VMs.
    grimsby = ["Windows 2000 SP4 (32-bit) (1)", "DVS-Controller-build2750"]
    chester = ["Windows Vista JA", DEMO]
    got = check(pool(COWLEY1), live(grimsby, "chester", wave=1), live(chester, "grimsby", wave=1))
    assert sorted(got) == sorted((v, v, "fail") for v in grimsby + chester)
    # The Demo VM moved to wave 2: three moves in wave 1, one in wave 2: all pass.
    got = check(pool(COWLEY1), live(grimsby, "chester", wave=1),
                live(chester[:1], "grimsby", wave=1), live([DEMO], "grimsby", wave=2))
    assert sorted(got) == sorted((v, v, "pass") for v in grimsby + chester)


# ---------------------------------------------------------------------------------
# LIVE, EVAC, CPU, MEM, DISK
# ---------------------------------------------------------------------------------

@case("LIVE-001")
def _live_001(check: Check) -> None:
    # Real Tampa: dlvm_local's disk is on dt16's Local storage, which dt23 cannot see;
    # dlvm_shared's is on the shared iSCSI SR.
    assert check(pool(TAMPA), live([L, S], "dt23")) == [(L, DISK, "fail"), (S, DISK, "pass")]
    # Derived from dlvm_shared's VDI: SR iSCSI -> dt16's Local storage.
    doc = pool(TAMPA)
    disk(doc, S)["SR"] = ref(doc, "SR", local_sr(doc, "dt16"))
    assert check(doc, live([S], "dt23")) == [(S, DISK, "fail")]


@case("LIVE-002")
def _live_002(check: Check) -> None:
    src = pool(TAMPA)
    dst = second_pool(src, "TampaPool-DR")
    vm = uuid_of(rec(src, "VM", S))
    # Real Tampa, inside the pool: pass; to the copy "TampaPool-DR": live migration
    # does not cross pools (storage is shared only within one).
    got = check([src, dst], live([vm], "dt23"), live([vm], "dt23", "TampaPool-DR", wave=2))
    assert got == [(S, S, "pass"), (S, S, "fail")]


@case("LIVE-003")
def _live_003(check: Check) -> None:
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived from Tampa's eth0 network: PIFs loses dt23's PIF (no PIF of it on dt23).
    doc = pool(TAMPA)
    net = network(doc, ETH0)
    net["PIFs"] = [p for p in net["PIFs"] if doc["objects"]["PIF"][p]["host"] != host_ref(doc, "dt23")]
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]


@case("LIVE-004")
def _live_004(check: Check) -> None:
    # Real Tampa: dt23's management NIC reports 1000 Mbit/s (below 10 Gbit/s) and the
    # pool has no migration_compression: a field of xapi 22.33, which Tampa's XAPI
    # predates, so it reads as its default, off: the advice is given.
    got = check(pool(TAMPA), live([S], "dt23"))
    assert got == [(S, S, "fail")]
    # The move asks for compression itself: pass, on the real records.
    assert check(pool(TAMPA), live([S], "dt23", compress=True)) == [(S, S, "pass")]
    # Derived from Tampa's pool: migration_compression added, true then false.
    for value, status in ((True, "pass"), (False, "fail")):
        doc = pool(TAMPA)
        the_pool(doc)["migration_compression"] = value
        assert check(doc, live([S], "dt23")) == [(S, S, status)]


@case("EVAC-001")
def _evac_001(check: Check) -> None:
    # Real Tampa: dt16's two VMs (about 647 MiB each) fit on dt23 (7.4 GiB free); dt23
    # holds no guest VM.
    plan = (evacuate("dt16", wave=1), evacuate("dt23", wave=2))
    assert check(pool(TAMPA), *plan) == [("dt16", "dt16", "pass"), ("dt23", "dt23", "pass")]
    # Derived from dt23's host_metrics: memory_total 8 GiB -> 1 GiB, nothing fits there.
    doc = pool(TAMPA)
    metrics(doc, "dt23")["memory_total"] = str(1 * GiB)
    assert check(doc, evacuate("dt16")) == [("dt16", "dt16", "fail")]


@case("EVAC-002")
def _evac_002(check: Check) -> None:
    # Real Tampa: dt16's two VMs go in one batch of 10, estimated from dt23's NIC: pass.
    assert check(pool(TAMPA), evacuate("dt16")) == [("dt16", "dt16", "pass")]
    # The rule is about the batch size (a plan setting, xapi.conf has no XenAPI field):
    # a batch size of 1 needs two batches: the info finding.
    got = check(pool(TAMPA), evacuate("dt16"), settings={"evacuation_batch_size": 1})
    assert got == [("dt16", "dt16", "fail")]
    # Real state2 (schema 5.57): VM.memory_overhead does not exist, so the VMs'
    # footprints and the duration of chester's evacuation are unknown.
    # (The reason given is only "op.estimate_seconds: not established": see
    # test_evacuation_estimate_unknown_names_its_reason.)
    got = check(pool(STATE2), evacuate("chester"))
    assert got == [("chester", "chester", "unknown")]
    assert "estimate_seconds" in got.why[("chester", "chester")]


@case("EVAC-003")
def _evac_003(check: Check) -> None:
    # Real Tampa: HA disabled: not applicable to either VM.
    assert sorted(check(pool(TAMPA), evacuate("dt16"))) == [(L, L, "not_applicable"),
                                                            (S, S, "not_applicable")]
    # state2 has HA enabled; its VMs have the 5.5 restart priority "1" (see
    # test_legacy_ha_priority_counts_as_protected). Derived from two of them:
    # ha_restart_priority "1" -> "restart" (protected: pass) and "1" -> "best-effort"
    # (not protected: fail). ha_always_run stays true, as in the dump.
    doc = pool(STATE2)
    rec(doc, "VM", "Debian Etch 4.0 (1)")["ha_restart_priority"] = "restart"
    rec(doc, "VM", "Debian Etch 4.0 (2)")["ha_restart_priority"] = "best-effort"
    got = check(doc, evacuate("chester"))
    assert ("Debian Etch 4.0 (1)", "Debian Etch 4.0 (1)", "pass") in got
    assert ("Debian Etch 4.0 (2)", "Debian Etch 4.0 (2)", "fail") in got


@case("CPU-001")
def _cpu_001(check: Check) -> None:
    src = pool(TAMPA)
    dst = second_pool(src, "TampaPool-DR")
    move = storage([uuid_of(rec(src, "VM", S))], "dt23", "TampaPool-DR")
    assert check([src, dst], move) == [(S, S, "pass")]
    # Derived from the copy's dt23: cpu_info.vendor GenuineIntel -> AuthenticAMD.
    rec(dst, "host", "dt23")["cpu_info"]["vendor"] = "AuthenticAMD"
    assert check([src, dst], move) == [(S, S, "fail")]
    # Real state2 (a 5.5 dump): VM.last_boot_CPU_flags has no vendor, so XAPI does not
    # compare vendors (cpuid_helpers.ml assert_vm_is_compatible): pass, saying so.
    got = check(pool(STATE2), live([STATE2_VM], "grimsby"))
    assert got == [(STATE2_VM, STATE2_VM, "pass")]


@case("CPU-002")
def _cpu_002(check: Check) -> None:
    src = pool(TAMPA)
    dst = second_pool(src, "TampaPool-DR")
    move = storage([uuid_of(rec(src, "VM", S))], "dt23", "TampaPool-DR")
    # Real: a 6.1 host reports only cpu_info.features, not features_pv/features_hvm: unknown.
    got = check([src, dst], move)
    assert got == [(S, S, "unknown")]
    assert "features_pv" in got.why[(S, S)]
    # Derived from the copy's dt23: cpu_info.features_pv added with the value of its own
    # cpu_info.features (the X3450 the VM booted on): pass.
    info = rec(dst, "host", "dt23")["cpu_info"]
    info["features_pv"] = info["features"]  # 0098e3fd-bfebfbff-00000001-28100800
    assert check([src, dst], move) == [(S, S, "pass")]
    # ... and without bit 0x4 of the first word, which the PV VM booted with: fail.
    info["features_pv"] = "0098e3f9-bfebfbff-00000001-28100800"
    assert check([src, dst], move) == [(S, S, "fail")]


@case("MEM-001")
def _mem_001(check: Check) -> None:
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived from dt23's host_metrics: memory_total 8 GiB -> 1 GiB.
    doc = pool(TAMPA)
    metrics(doc, "dt23")["memory_total"] = str(1 * GiB)
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]
    # Real state2: host.metrics dangles (no host_metrics table): unknown.
    got = check(pool(STATE2), live([STATE2_VM], "grimsby"))
    assert got == [(STATE2_VM, STATE2_VM, "unknown")]
    assert "host_metrics" in got.why[(STATE2_VM, STATE2_VM)]


@case("MEM-002")
def _mem_002(check: Check) -> None:
    # Real cowley1: the Halted Demo VM (257 MiB footprint) fits on a host of its pool;
    # the running DVS-Controller is not concerned.
    dvs = "DVS-Controller-build2750"
    plan = (storage([DEMO], "chester"), storage([dvs], "chester"))
    assert check(pool(COWLEY1), *plan) == [(DEMO, DEMO, "pass"), (dvs, dvs, "not_applicable")]
    # Derived from the Demo VM: memory_dynamic_min 256 MiB -> 8 GiB, more than either host.
    doc = pool(COWLEY1)
    rec(doc, "VM", DEMO)["memory_dynamic_min"] = str(8 * GiB)
    assert check(doc, *plan)[0] == (DEMO, DEMO, "fail")


@case("DISK-001")
def _disk_001(check: Check) -> None:
    doc = pool(TAMPA)
    local = local_sr(doc, "dt16")
    move = storage([S], "dt16", storage={"default": uuid_of(local)})
    # Real: dt16's Local storage (lvm, thick: virtual sizes) has 220 GiB free for 3 x 4 GiB.
    # (dt23's local SR has the same name: findings name the host.)
    assert check(doc, move) == [(S, "Local storage (dt16)", "pass")]
    # Derived from that SR: physical_utilisation = physical_size - 8 GiB (12 GiB needed).
    local["physical_utilisation"] = str(int(local["physical_size"]) - 8 * GiB)
    assert check(doc, move) == [(S, "Local storage (dt16)", "fail")]
    # Real: the "XenServer Tools" ISO SR reports physical_size 0: its room is unknown.
    doc = pool(TAMPA)
    got = check(doc, storage([S], "dt16", storage={"default": uuid_of(sr(doc, "XenServer Tools"))}))
    assert got == [(S, "XenServer Tools", "unknown")]
    assert "physical_size" in got.why[(S, "XenServer Tools")]
    # A live VDI move is outside the seed's 3x figure: no DISK-001 finding.
    assert check(doc, vdi(f"{S}/xvda", uuid_of(local))) == []


@case("DISK-002")
def _disk_002(check: Check) -> None:
    doc = pool(TAMPA)
    move = vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16")))
    # Real: the iSCSI SR the disk leaves has 144 GiB free for 2 x 4 GiB.
    assert check(doc, move) == [(S, ISCSI, "pass")]
    # Derived from the iSCSI SR: physical_utilisation = physical_size - 4 GiB.
    iscsi = sr(doc, ISCSI)
    iscsi["physical_utilisation"] = str(int(iscsi["physical_size"]) - 4 * GiB)
    assert check(doc, move) == [(S, ISCSI, "fail")]


# ---------------------------------------------------------------------------------
# LIM
# ---------------------------------------------------------------------------------

@case("LIM-001")
def _lim_001(check: Check) -> None:
    doc = pool(TAMPA)
    plan = (vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16"))),
            vdi(f"{L}/xvda", uuid_of(sr(doc, ISCSI))))
    assert check(doc, *plan) == [(S, S, "pass"), (L, L, "pass")]
    # Derived from dlvm_shared: tags [] -> the MCS marker; dlvm_local is declared in the plan.
    rec(doc, "VM", S)["tags"] = ["CitrixProvisioningSchemeId:6f0c2b1e-8a4d-4e59-9c3b-2d7e1f0a5b48"]
    assert check(doc, *plan, settings={"mcs_vms": [L]}) == [(S, S, "fail"), (L, L, "fail")]


@case("LIM-002")
def _lim_002(check: Check) -> None:
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived from dlvm_shared: attached_PCIs [] -> [dt16's real PCI device] (the onboard
    # Matrox MGA G200eW, pci_id 0000:01:03.0, a PCI row of the dump).
    doc = pool(TAMPA)
    matrox = next(r for r, p in doc["objects"]["PCI"].items() if p["host"] == host_ref(doc, "dt16"))
    rec(doc, "VM", S)["attached_PCIs"] = [matrox]
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]


@case("LIM-003")
def _lim_003(check: Check) -> None:
    # Real Tampa (6.1) has no VUSB class (vUSB is 7.3): there can be none: pass.
    assert check(pool(TAMPA), live([S, L], "dt23")) == [(S, S, "pass"), (L, L, "pass")]
    # Derived: a USB group and a virtual USB device of dlvm_shared added (records the
    # version lacks), and dlvm_shared's VUSBs [] -> [it].
    doc = pool(TAMPA)
    group = add(doc, "USB_group", "usb-group", {"name_label": "Group of SafeNet USB token",
                                                "PUSBs": [], "VUSBs": [], "other_config": {}})
    vusb = add(doc, "VUSB", "vusb", {"VM": ref(doc, "VM", rec(doc, "VM", S)), "USB_group": group,
                                     "currently_attached": True, "other_config": {}})
    rec(doc, "VM", S)["VUSBs"] = [vusb]
    rec(doc, "VM", L)["VUSBs"] = []  # a version with vUSB lists every VM's, none for this one
    assert check(doc, live([S, L], "dt23")) == [(S, S, "fail"), (L, L, "pass")]


@case("LIM-004")
def _lim_004(check: Check) -> None:
    # Real: 6.1's VM_metrics has no nomigrate/nested_virt, and VM.platform has no
    # nomigrate: pass.
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived from dlvm_shared: platform.nomigrate "true" added.
    doc = pool(TAMPA)
    rec(doc, "VM", S)["platform"]["nomigrate"] = "true"
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]


@case("LIM-005")
def _lim_005(check: Check) -> None:
    doc = pool(TAMPA)
    move = vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16")))
    # Real: VDI.cbt_enabled does not exist in 6.1; CBT came with 7.3, so Tampa's XAPI had
    # none: the field reads as its default, false (pass, the evidence saying why).
    got = check(doc, move)
    assert got == [(S, DISK, "pass")]
    # Derived from dlvm_shared's VDI: cbt_enabled added, false then true.
    for value, status in ((False, "pass"), (True, "fail")):
        disk(doc, S)["cbt_enabled"] = value
        assert check(doc, move) == [(S, DISK, status)]


@case("LIM-006")
def _lim_006(check: Check) -> None:
    doc = pool(TAMPA)
    plan = (live([S], "dt23"), vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16"))))
    # Real: on_boot "persist", no IntelliCache keys in sm_config.
    assert check(doc, *plan) == [(S, DISK, "pass"), (S, DISK, "pass")]
    # Derived from dlvm_shared's VDI: on_boot persist -> reset. The VDI move fails (XAPI
    # D8); the live move passes (XAPI's live test reads sm_config; LIM-013 warns).
    disk(doc, S)["on_boot"] = "reset"
    assert check(doc, *plan) == [(S, DISK, "pass"), (S, DISK, "fail")]
    # ... and sm_config on_boot=reset with caching=true (IntelliCache): the live move fails.
    disk(doc, S)["sm_config"].update({"on_boot": "reset", "caching": "true"})
    assert check(doc, *plan) == [(S, DISK, "fail"), (S, DISK, "fail")]
    # Real state2 (schema 5.57): VDI.on_boot came with 5.6 FP1, so these disks are
    # "persist", the field's default: pass for both.
    doc = pool(STATE2)
    got = check(doc, vdi(f"{STATE2_VM}/0", uuid_of(local_sr(doc, "grimsby"))))
    assert got == [(STATE2_VM, "0", "pass"), (STATE2_VM, "1", "pass")]
    # Derived: the pool made a 5.6 FP1 one (API 1.8), whose VDIs would carry on_boot: unknown.
    for host in doc["objects"]["host"].values():
        host["API_version_major"], host["API_version_minor"] = "1", "8"
        host["software_version"] = {**host["software_version"], "product_version": "5.6.100",
                                    "xencenter_max": "1.8"}
    got = check(doc, vdi(f"{STATE2_VM}/0", uuid_of(local_sr(doc, "grimsby"))))
    assert got == [(STATE2_VM, "0", "unknown"), (STATE2_VM, "1", "unknown")]
    assert "VDI.on_boot" in got.why[(STATE2_VM, "0")]


@case("LIM-007")
def _lim_007(check: Check) -> None:
    # Real Tampa: HA disabled: pass.
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived from state2's Debian Etch 4.0 (1): ha_restart_priority "1" -> "restart"
    # (protected in current XAPI's terms) in a pool with HA enabled: the warning.
    doc = pool(STATE2)
    rec(doc, "VM", STATE2_VM)["ha_restart_priority"] = "restart"
    assert check(doc, live([STATE2_VM], "grimsby")) == [(STATE2_VM, STATE2_VM, "fail")]
    # ... and "best-effort" (not protected): pass.
    rec(doc, "VM", STATE2_VM)["ha_restart_priority"] = "best-effort"
    assert check(doc, live([STATE2_VM], "grimsby")) == [(STATE2_VM, STATE2_VM, "pass")]


@case("LIM-008")
def _lim_008(check: Check) -> None:
    # Real: the running dlvm_shared is slowed by its move: the info finding.
    assert check(pool(TAMPA), storage([S], "dt23")) == [(S, S, "fail")]
    # Derived from dlvm_shared: power_state Running -> Halted.
    doc = pool(TAMPA)
    rec(doc, "VM", S)["power_state"] = "Halted"
    assert check(doc, storage([S], "dt23")) == [(S, S, "pass")]
    # Real: cowley1's Demo VM is Halted.
    assert check(pool(COWLEY1), storage([DEMO], "grimsby")) == [(DEMO, DEMO, "pass")]


@case("LIM-009")
def _lim_009(check: Check) -> None:
    window = {"window": "1m"}
    # Real: 647 MiB of memory over dt23's 1 Gbit/s NIC: about 6 s, inside one minute.
    assert check(pool(TAMPA), live([S], "dt23"), settings=window) == [(S, S, "pass")]
    # Derived from dlvm_shared: memory_dynamic_min 640 MiB -> 16 GiB (about 2.3 min).
    doc = pool(TAMPA)
    rec(doc, "VM", S)["memory_dynamic_min"] = str(16 * GiB)
    assert check(doc, live([S], "dt23"), settings=window) == [(S, S, "fail")]
    # Real state2: no VM.memory_overhead (schema 5.57): the estimate is unknown.
    got = check(pool(STATE2), live([STATE2_VM], "grimsby"), settings=window)
    assert got == [(STATE2_VM, STATE2_VM, "unknown")]
    assert "memory_overhead" in got.why[(STATE2_VM, STATE2_VM)]


@case("LIM-010")
def _lim_010(check: Check) -> None:
    # Real: Tampa has GPU rows (PGPU, GPU_group) but no vGPU: pass.
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived: dlvm_shared gets a passthrough vGPU on dt16's real pGPU (records added:
    # VGPU_type implementation passthrough, VGPU; VM.VGPUs [] -> [it]).
    doc = pool(TAMPA)
    add_vgpu(doc, S, "dt16", "passthrough")
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]


@case("LIM-011")
def _lim_011(check: Check) -> None:
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived: the same added vGPU as LIM-010; dt23's management NIC is 1 Gbit/s (real).
    doc = pool(TAMPA)
    add_vgpu(doc, S, "dt16", "passthrough")
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]
    # With the plan's bandwidth at 10 Gbit/s: pass.
    got = check(doc, live([S], "dt23"), settings={"migration_bandwidth": "10Gbit"})
    assert got == [(S, S, "pass")]


@case("LIM-012")
def _lim_012(check: Check) -> None:
    # Real state2: HA enabled, restart priority "1" with ha_always_run: HA restarts it.
    assert check(pool(STATE2), live([STATE2_VM], "grimsby")) == [(STATE2_VM, STATE2_VM, "pass")]
    # Derived from that VM: ha_always_run true -> false.
    doc = pool(STATE2)
    rec(doc, "VM", STATE2_VM)["ha_always_run"] = False
    assert check(doc, live([STATE2_VM], "grimsby")) == [(STATE2_VM, STATE2_VM, "fail")]
    # Real Tampa: HA disabled: the info finding.
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "fail")]


@case("LIM-013")
def _lim_013(check: Check) -> None:
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, DISK, "pass")]
    # Derived from dlvm_shared's VDI: on_boot persist -> reset (no IntelliCache caching).
    doc = pool(TAMPA)
    disk(doc, S)["on_boot"] = "reset"
    assert check(doc, live([S], "dt23")) == [(S, DISK, "fail")]
    # ... with sm_config on_boot=reset and caching=true it is IntelliCache: LIM-006's case.
    disk(doc, S)["sm_config"].update({"on_boot": "reset", "caching": "true"})
    assert check(doc, live([S], "dt23")) == [(S, DISK, "pass")]
    # Real state2: VDI.on_boot came with 5.6 FP1, after this 5.5 pool: "persist", pass.
    got = check(pool(STATE2), live([STATE2_VM], "grimsby"))
    assert got == [(STATE2_VM, "0", "pass"), (STATE2_VM, "1", "pass")]


# ---------------------------------------------------------------------------------
# SXM, POST
# ---------------------------------------------------------------------------------

@case("SXM-001")
def _sxm_001(check: Check) -> None:
    doc = pool(TAMPA)
    move = vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16")))
    assert check(doc, move) == [(S, S, "pass")]
    # Derived from dlvm_shared: tags [] -> ["XenDesktop"] (a Citrix Virtual Desktops marker).
    rec(doc, "VM", S)["tags"] = ["XenDesktop"]
    assert check(doc, move) == [(S, S, "fail")]


@case("SXM-002")
def _sxm_002(check: Check) -> None:
    doc = pool(TAMPA)
    plan = (vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16"))), vdi(f"{L}/xvda", uuid_of(sr(doc, ISCSI))))
    # Findings are per disk that moves: each VM's xvda.
    got = check(doc, *plan)
    assert [(vm, status) for vm, _, status in got] == [(S, "pass"), (L, "pass")]
    # Derived from the iSCSI SR: type lvmoiscsi -> gfs2. dlvm_shared's disk leaves it
    # (fail); dlvm_local's disk goes to it, which SXM-004's driver test judges (pass here).
    sr(doc, ISCSI)["type"] = "gfs2"
    got = check(doc, *plan)
    assert [(vm, status) for vm, _, status in got] == [(S, "fail"), (L, "pass")]


@case("SXM-003")
def _sxm_003(check: Check) -> None:
    src = pool(TAMPA)
    dst = second_pool(src, "TampaPool-DR")
    make_xenserver8(dst)        # the destination: XenServer 8, port 80 closed
    cross = storage([uuid_of(rec(src, "VM", S))], "dt23", "TampaPool-DR")
    inside = storage([uuid_of(rec(src, "VM", S))], "dt23")
    # Real source (6.1, not Citrix Hypervisor 8.2 CU1): pass; inside the pool: n/a.
    assert check([src, dst], cross, inside) == [(S, S, "pass"), (S, S, "not_applicable")]
    # Derived from Tampa's dt16 (dlvm_shared's host): software_version.product_version
    # 6.1.0 -> 8.2.1 (Citrix Hypervisor 8.2 CU1), without XS82ECU1033.
    rec(src, "host", "dt16")["software_version"]["product_version"] = "8.2.1"
    src["objects"]["pool_update"] = {}  # collected, as 8.2.1 has the class: no update at all
    src["gaps"] = [g for g in src["gaps"] if g["class"] != "pool_update"]
    assert check([src, dst], cross) == [(S, S, "fail")]
    # ... with the hotfix: a pool_update XS82ECU1033 record added, listed in dt16.updates.
    update = add(src, "pool_update", "xs82ecu1033", {"name_label": "XS82ECU1033", "hosts": []})
    rec(src, "host", "dt16")["updates"] = [update]
    assert check([src, dst], cross) == [(S, S, "pass")]


@case("SXM-004")
def _sxm_004(check: Check) -> None:
    src = pool(TAMPA)
    dst = second_pool(src, "TampaPool-DR")
    vm = uuid_of(rec(src, "VM", S))
    cross = storage([vm], "dt23", "TampaPool-DR")     # to the pool default SR: DR's iSCSI
    inside = storage([vm], "dt23")                   # the disk stays on the shared iSCSI SR
    # Real: the 6.1 SM records list no VDI_MIRROR capability, so the disk that changes
    # SR cannot be mirrored out; the disk that stays put passes.
    assert check([src, dst], cross, inside) == [(S, DISK, "fail"), (S, DISK, "pass")]
    # Derived from the lvmoiscsi SM record of both pools: capabilities + VDI_MIRROR.
    set_caps(src, "lvmoiscsi", "VDI_MIRROR")
    set_caps(dst, "lvmoiscsi", "VDI_MIRROR")
    assert check([src, dst], cross) == [(S, DISK, "pass")]
    # Mapped to the DR copy's dt16 Local storage while the VM goes to dt23: not attached there.
    to_local = storage([vm], "dt23", "TampaPool-DR",
                       storage={"map": {uuid_of(disk(src, S)): uuid_of(local_sr(dst, "dt16"))}})
    assert check([src, dst], to_local) == [(S, DISK, "fail")]


@case("SXM-005")
def _sxm_005(check: Check) -> None:
    src = pool(TAMPA)
    dst = second_pool(src, "TampaPool-DR")
    move = storage([uuid_of(rec(src, "VM", S))], "dt23", "TampaPool-DR")
    # Real: the VIF's network maps to the DR network of the same name, which has a PIF on dt23.
    assert check([src, dst], move) == [(S, ETH0, "pass")]
    # Derived from the DR copy's eth0 network: name_label renamed, so nothing maps.
    network(dst, ETH0)["name_label"] = "Management"
    assert check([src, dst], move) == [(S, ETH0, "fail")]
    # The plan maps it explicitly to the DR eth1 network: pass.
    mapped = storage([uuid_of(rec(src, "VM", S))], "dt23", "TampaPool-DR",
                     networks={"map": {ETH0: ETH1}})
    assert check([src, dst], mapped) == [(S, ETH0, "pass")]


@case("SXM-006")
def _sxm_006(check: Check) -> None:
    # The plan's choice of storage network, read against the real PIF.management flags.
    src = pool(TAMPA)
    dst = second_pool(src, "TampaPool-DR")
    vm = uuid_of(rec(src, "VM", S))
    got = check([src, dst], storage([vm], "dt23", "TampaPool-DR", migration_network=ETH1),
                storage([vm], "dt23", "TampaPool-DR", wave=2),
                storage([vm], "dt23", "TampaPool-DR", migration_network=ETH0, wave=3))
    assert got == [(S, S, "pass"), (S, S, "fail"), (S, S, "fail")]
    # Derived from the DR copy's eth1 PIF on dt23: management false -> true.
    pif(dst, "dt23", "eth1")["management"] = True
    got = check([src, dst], storage([vm], "dt23", "TampaPool-DR", migration_network=ETH1))
    assert got == [(S, S, "fail")]


@case("SXM-007")
def _sxm_007(check: Check) -> None:
    src = pool(TAMPA)
    dst = second_pool(src, "TampaPool-DR")
    vm = uuid_of(rec(src, "VM", S))
    over_eth1 = storage([vm], "dt23", "TampaPool-DR", migration_network=ETH1)
    # Real: the eth1 PIFs have no IP on either host: fail; no network chosen: pass.
    got = check([src, dst], over_eth1, storage([vm], "dt23", "TampaPool-DR", wave=2))
    assert got == [(S, S, "fail"), (S, S, "pass")]
    # Derived from the DR copy's eth1 PIF on dt23: IP "" -> 10.80.227.200.
    pif(dst, "dt23", "eth1")["IP"] = "10.80.227.200"
    assert check([src, dst], over_eth1) == [(S, S, "pass")]


@case("POST-001")
def _post_001(check: Check) -> None:
    src = pool(TAMPA)
    dst = second_pool(src, "TampaPool-DR")
    move = storage([uuid_of(rec(src, "VM", S))], "dt23", "TampaPool-DR")
    assert check([src, dst], move) == [(S, S, "pass")]
    # The rule is about a pair of versions, so one field on each side: Tampa's dt16
    # software_version.product_version 6.1.0 -> 7.1.2 (XenServer 7.1 CU2) and the DR
    # copy's dt23 6.1.0 -> 8.2.1 (Citrix Hypervisor 8.2 CU1).
    rec(src, "host", "dt16")["software_version"]["product_version"] = "7.1.2"
    assert check([src, dst], move) == [(S, S, "pass")]
    rec(dst, "host", "dt23")["software_version"]["product_version"] = "8.2.1"
    assert check([src, dst], move) == [(S, S, "fail")]


# ---------------------------------------------------------------------------------
# VDI (live VDI migration)
# ---------------------------------------------------------------------------------

@case("VDI-001")
def _vdi_001(check: Check) -> None:
    doc = pool(TAMPA)
    move = vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16")))
    # Real: CentOS 5.7 (kernel 2.6.18) whose agent reports the link-local IPv6 address
    # fe80::ac37:99ff:fed3:8c09 (networks 0/ipv6/0): fail.
    assert check(doc, move) == [(S, S, "fail")]
    # Derived from its VM_guest_metrics: os_version.uname 2.6.18-274.7.1.el5xen ->
    # 3.10.0-1160.el7.x86_64.
    guest_metrics(doc, S)["os_version"]["uname"] = "3.10.0-1160.el7.x86_64"
    assert check(doc, move) == [(S, S, "pass")]
    # Real Cowley: a Windows VM is not concerned.
    cowley = pool(COWLEY)
    win = "SCOM 2003r2 AD controller"
    got = check(cowley, vdi(f"{win}/0", uuid_of(local_sr(cowley, "berlin"))))
    assert got == [(win, win, "not_applicable")]


@case("VDI-002")
def _vdi_002(check: Check) -> None:
    doc = pool(TAMPA)
    move = vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16")))
    # Real: no vGPU: not applicable.
    assert check(doc, move) == [(S, S, "not_applicable")]
    # Derived: dlvm_shared gets a vGPU on dt16's real pGPU (records added as in LIM-010);
    # that pGPU (6.1 has no vGPU fields) gets enabled_VGPU_types [the type],
    # supported_VGPU_max_capacities {type: 1} and resident_VGPUs [the vGPU]: full.
    vgpu, gtype = add_vgpu(doc, S, "dt16", "nvidia")
    pgpu = doc["objects"]["PGPU"][doc["objects"]["VGPU"][vgpu]["resident_on"]]
    pgpu.update({"enabled_VGPU_types": [gtype], "supported_VGPU_max_capacities": {gtype: "1"},
                 "resident_VGPUs": [vgpu]})
    assert check(doc, move) == [(S, S, "fail")]
    # ... room for two of that type: a copy fits.
    pgpu["supported_VGPU_max_capacities"] = {gtype: "2"}
    assert check(doc, move) == [(S, S, "pass")]


@case("VDI-003")
def _vdi_003(check: Check) -> None:
    doc = pool(TAMPA)
    move = vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16")))
    # Real: dt16 has 6.1 GiB free by XAPI's count; dlvm_shared needs another 647 MiB.
    assert check(doc, move) == [(S, S, "pass")]
    # Derived from dt16's host_metrics: memory_total 8 GiB -> 2 GiB.
    metrics(doc, "dt16")["memory_total"] = str(2 * GiB)
    assert check(doc, move) == [(S, S, "fail")]
    # Real state2: host.metrics dangles: unknown.
    doc = pool(STATE2)
    got = check(doc, vdi(f"{STATE2_VM}/0", uuid_of(local_sr(doc, "grimsby"))))
    assert got == [(STATE2_VM, STATE2_VM, "unknown")]
    assert "host_metrics" in got.why[(STATE2_VM, STATE2_VM)]


@case("VDI-004")
def _vdi_004(check: Check) -> None:
    doc = pool(TAMPA)
    move = vdi(f"{S}/xvda", uuid_of(local_sr(doc, "dt16")))
    # Real: 6.1's SM records (lvmoiscsi, lvm) list no VDI_MIRROR: cannot be mirrored: fail.
    assert check(doc, move) == [(S, DISK, "fail")]
    # Derived from the lvmoiscsi and lvm SM records: capabilities + VDI_MIRROR.
    set_caps(doc, "lvmoiscsi", "VDI_MIRROR")
    set_caps(doc, "lvm", "VDI_MIRROR")
    assert check(doc, move) == [(S, DISK, "pass")]
    # ... "moved" to the SR it is on: fail.
    assert check(doc, vdi(f"{S}/xvda", uuid_of(sr(doc, ISCSI)))) == [(S, DISK, "fail")]
    # Derived from dlvm_shared's VDI: sm_config.key_hash added (an encrypted disk): fail.
    disk(doc, S)["sm_config"]["key_hash"] = "sha256:5f2b9c0d"
    assert check(doc, move) == [(S, DISK, "fail")]


# ---------------------------------------------------------------------------------
# Added 2026-11-26 (issue 10): XAPI refusals the catalogue lacked
# ---------------------------------------------------------------------------------

NVME = "State blocked by non-migratable device '0000:00:07.0/nvme'"


@case("GEN-010")
def _gen_010(check: Check) -> None:
    # Real: Tampa's guests report no data-cant-suspend-reason: pass.
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived from dlvm_shared's VM_guest_metrics: other gains data-cant-suspend-reason.
    # Tampa's xapi (1.3) predates VM_NON_SUSPENDABLE (25.24.0): still pass.
    doc = pool(TAMPA)
    guest_metrics(doc, S)["other"]["data-cant-suspend-reason"] = NVME
    assert check(doc, live([S], "dt23")) == [(S, S, "pass")]
    # ... and the master dt16's software_version.xapi 1.3 -> 25.30: fail.
    rec(doc, "host", "dt16")["software_version"]["xapi"] = "25.30"
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]
    # ... the master's software_version without xapi: which XAPI it is is unknown.
    del rec(doc, "host", "dt16")["software_version"]["xapi"]
    got = check(doc, live([S], "dt23"))
    assert got == [(S, S, "unknown")]
    assert "xapi_build" in got.why[(S, S)]


@case("GEN-011")
def _gen_011(check: Check) -> None:
    # Real: Tampa (6.1) predates VM.hardware_platform_version (6.5 SP1): both sides read
    # as the datamodel's defaults (VM 0, host [0]), as that XAPI behaved: pass.
    got = check(pool(TAMPA), live([S], "dt23"))
    assert got == [(S, S, "pass")]
    # Derived: dlvm_shared's hardware_platform_version "0" and dt23's
    # virtual_hardware_platform_versions ["0"] (XAPI's values for records from before).
    doc = pool(TAMPA)
    rec(doc, "VM", S)["hardware_platform_version"] = "0"
    rec(doc, "host", "dt23")["virtual_hardware_platform_versions"] = ["0"]
    assert check(doc, live([S], "dt23")) == [(S, S, "pass")]
    # ... the VM's version "2" (as after the vendor device is added): fail.
    rec(doc, "VM", S)["hardware_platform_version"] = "2"
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]


@case("GEN-012")
def _gen_012(check: Check) -> None:
    # state4: Windows XP runs without guest metrics, Windows 2003 with 5.5 tools whose
    # guest metrics lack feature-static-ip-setting: both warn; the Linux VM is not concerned.
    xp, w2003, linux = "Windows XP SP2 (1)", "Windows Server 2003 x64 (1)", "Iscsi Box"
    plan = (live([xp, w2003], "incubus"), live([linux], "inflames"))
    assert sorted(check(pool(STATE4), *plan)) == [
        (linux, linux, "not_applicable"), (w2003, w2003, "fail"), (xp, xp, "fail")]
    # Derived from 2003's VM_guest_metrics: other gains feature-static-ip-setting "1".
    doc = pool(STATE4)
    guest_metrics(doc, w2003)["other"]["feature-static-ip-setting"] = "1"
    assert (w2003, w2003, "pass") in check(doc, *plan)


@case("CPU-003")
def _cpu_003(check: Check) -> None:
    # Real: dlvm_shared has 1 vCPU, dt23 8 pCPUs (cpu_info.cpu_count): pass.
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "pass")]
    # Derived from dlvm_shared: VCPUs_max 1 -> 9: fail.
    doc = pool(TAMPA)
    rec(doc, "VM", S)["VCPUs_max"] = "9"
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]
    # ... with platform vcpu-unrestricted "true": XAPI lets it through.
    rec(doc, "VM", S)["platform"]["vcpu-unrestricted"] = "true"
    assert check(doc, live([S], "dt23")) == [(S, S, "pass")]
    # Real state4 (6.0): host.cpu_info has no cpu_count: unknown.
    got = check(pool(STATE4), live(["Iscsi Box"], "inflames"))
    assert got == [("Iscsi Box", "Iscsi Box", "unknown")]
    assert "cpu_count" in got.why[("Iscsi Box", "Iscsi Box")]


@case("LIM-014")
def _lim_014(check: Check) -> None:
    # Real: Tampa has GPU rows (a pGPU per host, one group) but no vGPU: not applicable.
    assert check(pool(TAMPA), live([S], "dt23")) == [(S, S, "not_applicable")]
    # Derived: dlvm_shared gets a passthrough vGPU on dt16's real pGPU (records added as
    # in LIM-010). dt23's real pGPU (6.1 has no vGPU fields) supports no type: fail.
    doc = pool(TAMPA)
    _, gtype = add_vgpu(doc, S, "dt16", "passthrough")
    assert check(doc, live([S], "dt23")) == [(S, S, "fail")]
    # ... dt23's pGPU gets supported_VGPU_types and enabled_VGPU_types [the type]; it is
    # free (no vGPU, its PCI attached to no VM): pass.
    h = host_ref(doc, "dt23")
    pgpu = next(p for p in doc["objects"]["PGPU"].values() if p["host"] == h)
    pgpu.update({"supported_VGPU_types": [gtype], "enabled_VGPU_types": [gtype]})
    assert check(doc, live([S], "dt23")) == [(S, S, "pass")]


@case("SXM-008")
def _sxm_008(check: Check) -> None:
    src = pool(TAMPA)
    dst = second_pool(src, "TampaPool-DR")
    move = storage([uuid_of(rec(src, "VM", S))], "dt23", "TampaPool-DR")
    # Real: the disk changes SR (another pool) and its sm_config has no key_hash: pass.
    assert check([src, dst], move) == [(S, DISK, "pass")]
    # Derived from dlvm_shared's VDI: sm_config.key_hash added (an encrypted disk): fail.
    disk(src, S)["sm_config"]["key_hash"] = "sha256:5f2b9c0d"
    assert check([src, dst], move) == [(S, DISK, "fail")]


@case("SXM-009")
def _sxm_009(check: Check) -> None:
    # Real state4: the two Windows XP VMs share other_config:mac_seed 4d186f4f-… (a copy
    # made without a new seed); inside the pool nothing is imported: not applicable.
    xp, xp2 = "Windows XP SP2 (1)", "Windows XP SP2 (2)"
    src = pool(STATE4)
    assert check(src, storage([xp], "inflames")) == [(xp, xp, "not_applicable")]
    # To a copy of state4 ("Hottub-DR", every uuid-shaped string renewed, the seeds too): pass.
    dst = second_pool(src, "Hottub-DR")
    move = storage([uuid_of(rec(src, "VM", xp))], "inflames", "Hottub-DR")
    assert check([src, dst], move) == [(xp, xp, "pass")]
    # Derived from the copy's Windows XP SP2 (2): other_config.mac_seed back to the real
    # seed, which XP (1) holds: DUPLICATE_MAC_SEED.
    rec(dst, "VM", xp2)["other_config"]["mac_seed"] = rec(src, "VM", xp)["other_config"]["mac_seed"]
    assert check([src, dst], move) == [(xp, xp, "fail")]


# ---------------------------------------------------------------------------------
# Real-data behaviour this suite found wrong, and that was fixed (kept as regressions)
# ---------------------------------------------------------------------------------

def test_legacy_ha_priority_counts_as_protected(tmp_path):
    # A 5.x dump writes protected priorities as "1".."3"; XAPI upgrades them to "restart".
    got = Check("EVAC-003", tmp_path)(pool(STATE2), evacuate("chester"))
    assert got and all(status == "pass" for _, _, status in got), got


def test_vdi_move_of_an_unattached_disk_is_judged(tmp_path):
    # A disk no VM uses has no VM and no host: it is still judged (VDI-004 refuses it).
    doc = pool(STATE2)
    statefile = next(v for v in doc["objects"]["VDI"].values() if v["type"] == "ha_statefile")
    got = Check("VDI-004", tmp_path)(doc, vdi(uuid_of(statefile), uuid_of(sr(doc, ISCSI))))
    assert ("Statefile for HA", "fail") in {(subject, status) for _, subject, status in got}


def test_evacuation_estimate_unknown_names_its_reason(tmp_path):
    # The host's estimate is unknown because a VM's is: the reason names the missing field.
    got = Check("EVAC-002", tmp_path)(pool(STATE2), evacuate("chester"))
    assert "memory_overhead" in got.why[("chester", "chester")]
