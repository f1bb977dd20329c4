"""`migready check` end to end through the CLI on pools derived at test time from the real
XAPI dumps in tests/data/realdata.

Each case imports a real dump with `checker.dump.import_file`, changes only the fields the
case is about (each change is commented with the reason), writes the derived inventories
to tmp_path with `checker.inventory.save_document`, runs `main(["check", ...])` and reads
the JSON results.

The real pools are from 2010–2012 (XenServer 5.6 FP1 beta, 6.1 "Tampa"): they lack fields
today's XAPI reports (`host.cpu_info.features_pv`, `VDI.cbt_enabled`, `pool.migration_compression`), so with
the whole rule set some blockers are `unknown` there. Cases about one rule run it alone
(`--only`) for their exit codes, and say so.

Exit codes covered here: 0, 1, 2, 3. The other two are covered elsewhere through the
CLI: 130 (interrupted) by tests/test_check.py::test_interrupt_exits_130, and 4 (an
external system failed) by tests/test_collector.py::test_cli_bad_password_exit_4 (and
tests/test_job.py).
"""

from __future__ import annotations

import copy
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import REALDATA

from checker.cli import main
from checker.dump import import_file
from checker.inventory import save_document

TAMPA = REALDATA / "xenadmin" / "tampa-db_inc_snapshots.xml"   # TampaPool: dt16 (master), dt23
COWLEY1 = REALDATA / "xenadmin" / "cowley1.xml"                # Grimsby Pool: grimsby (master), chester
STATE2 = REALDATA / "xenadmin" / "state2.xml"                  # HA pool; host.metrics dangle

MiB = 1024 * 1024
HOTFIX = "XS82ECU1033"
XS8_POOL = "Grimsby Pool"

Objects = dict[str, dict[str, dict[str, Any]]]


# ---------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------

@cache
def _imported(path: Path) -> dict[str, Any]:
    return import_file(path)


def real(path: Path) -> dict[str, Any]:
    """A fresh copy of the real dump's inventory document, to derive from."""
    return copy.deepcopy(_imported(path))


def named(objects: Objects, cls: str, name: str) -> tuple[str, dict[str, Any]]:
    matches = [(ref, rec) for ref, rec in objects[cls].items() if rec.get("name_label") == name]
    assert len(matches) == 1, f"{cls} {name!r}: {len(matches)} records"
    return matches[0]


def write(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp_path / name
    save_document(doc, path)
    return path


def plan_file(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, dict[str, Any]]:
    """`migready check ARGS --format json`: the exit code and the parsed results."""
    code = main(["check", *map(str, args), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def statuses(results: dict[str, Any], rule: str) -> dict[str, str]:
    """{subject name: status} of one rule's findings (the subjects must be distinct)."""
    found = [f for f in results["findings"] if f["rule"] == rule]
    out = {f["subject"]["name"]: f["status"] for f in found}
    assert len(out) == len(found), f"{rule}: subjects repeat: {found}"
    return out


def finding(results: dict[str, Any], rule: str, subject: str) -> dict[str, Any]:
    (found,) = [f for f in results["findings"]
                if f["rule"] == rule and f["subject"]["name"] == subject]
    return found


def footprint(vm: dict[str, Any]) -> int:
    """What XAPI reserves for a VM: memory_dynamic_min + memory_overhead, rounded up to MiB."""
    return -(-(int(vm["memory_dynamic_min"]) + int(vm["memory_overhead"])) // MiB) * MiB


def leave_room(objects: Objects, host_name: str, free: int) -> None:
    """Set the host's host_metrics.memory_total (the one field) so that XAPI's free memory
    (total − host overhead − footprints of the VMs resident, dom0 included) is `free`."""
    ref, host = named(objects, "host", host_name)
    used = sum(footprint(vm) for vm in objects["VM"].values() if vm.get("resident_on") == ref)
    metrics = objects["host_metrics"][host["metrics"]]
    metrics["memory_total"] = str(int(host["memory_overhead"]) + used + free)


def _new_ref(*parts: str) -> tuple[str, str]:
    """A deterministic (ref, uuid) pair for a derived record."""
    ident = str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))
    return f"OpaqueRef:{ident}", str(uuid.uuid5(uuid.NAMESPACE_DNS, ident))


def clone_vm(objects: Objects, name: str, new_name: str) -> str:
    """Test helper: a copy of a real VM with a new ref, uuid and name, its own VM_metrics,
    VM_guest_metrics, VIFs, VBDs and disk VDIs (new refs and uuids), resident on the same
    host; CD drives keep pointing at the same ISO. The back-reference sets the importer
    rebuilt (VM.VBDs/VIFs, VDI.VBDs, SR.VDIs, network.VIFs, host.resident_VMs) are
    updated so the derived pool stays consistent. Snapshots are not copied."""
    _, src = named(objects, "VM", name)
    ref, vm_uuid = _new_ref(new_name, "VM")
    vm = copy.deepcopy(src)
    vm.update(uuid=vm_uuid, name_label=new_name, VBDs=[], VIFs=[], snapshots=[])
    if "children" in vm:
        vm["children"] = []
    for field, cls in (("metrics", "VM_metrics"), ("guest_metrics", "VM_guest_metrics")):
        rec = objects.get(cls, {}).get(src.get(field))
        if rec is not None:
            new, new_uuid = _new_ref(new_name, cls)
            objects[cls][new] = {**copy.deepcopy(rec), "uuid": new_uuid}
            vm[field] = new
    for vbd_ref in src.get("VBDs", []):
        vbd = copy.deepcopy(objects["VBD"][vbd_ref])
        new_vbd, vbd_uuid = _new_ref(new_name, "VBD", vbd_ref)
        vbd.update(uuid=vbd_uuid, VM=ref)
        vdi = objects["VDI"].get(vbd["VDI"])
        if vdi is not None and vbd.get("type") == "Disk":
            new_vdi, vdi_uuid = _new_ref(new_name, "VDI", vbd["VDI"])
            objects["VDI"][new_vdi] = {**copy.deepcopy(vdi), "uuid": vdi_uuid, "VBDs": [new_vbd],
                                       "snapshots": []}
            objects["SR"][vdi["SR"]].setdefault("VDIs", []).append(new_vdi)
            vbd["VDI"] = new_vdi
        elif vdi is not None:
            vdi.setdefault("VBDs", []).append(new_vbd)
        objects["VBD"][new_vbd] = vbd
        vm["VBDs"].append(new_vbd)
    for vif_ref in src.get("VIFs", []):
        vif = copy.deepcopy(objects["VIF"][vif_ref])
        new_vif, vif_uuid = _new_ref(new_name, "VIF", vif_ref)
        vif.update(uuid=vif_uuid, VM=ref)
        objects["VIF"][new_vif] = vif
        objects["network"][vif["network"]].setdefault("VIFs", []).append(new_vif)
        vm["VIFs"].append(new_vif)
    host = objects["host"].get(src.get("resident_on"))
    if host is not None:
        host.setdefault("resident_VMs", []).append(ref)
    objects["VM"][ref] = vm
    return ref


# ---------------------------------------------------------------------------------
# The two pools of a cross-pool move: Citrix Hypervisor 8.2 CU1 -> XenServer 8
# ---------------------------------------------------------------------------------

def add_mirror(objects: Objects, *sr_types: str) -> None:
    """The 2010–2012 SM rows list no VDI_MIRROR (storage motion came later). The SM drivers
    of CH 8.2 and XenServer 8 have it, and SXM-004 needs VDI_SNAPSHOT + VDI_MIRROR to
    mirror a disk out of the source SR and into the destination SR."""
    for sm in objects["SM"].values():
        if sm.get("type") in sr_types:
            sm["capabilities"] = [*sm.get("capabilities", []), "VDI_MIRROR"]


def ch82cu1_pool(*, hotfix: bool, hotfix_host: str = "dt16") -> dict[str, Any]:
    """TampaPool (XenServer 6.1) relabelled as Citrix Hypervisor 8.2 CU1; with `hotfix`,
    XS82ECU1033 installed on `hotfix_host` (by default dt16, where dlvm_shared runs)."""
    doc = real(TAMPA)
    o = doc["objects"]
    for host in o["host"].values():
        # The version fields: 8.2.1 / 3.2.1 is 8.2 CU1; Xen 4.13 is what CH 8.2 ships
        # (the real 4.1.3 is older than any destination and would fail GEN-001).
        host["software_version"].update(product_brand="Citrix Hypervisor", product_version="8.2.1",
                                        platform_version="3.2.1", xen="4.13.5")
        # XenServer 6.1 predates pool_update: an 8.2 host lists its updates in host.updates.
        host["updates"] = []
    o["pool_update"] = {}
    doc["gaps"] = [g for g in doc["gaps"] if g["class"] != "pool_update"]
    # dlvm_shared's disk is on the shared lvmoiscsi SR; dlvm_local's on a local lvm SR.
    add_mirror(o, "lvmoiscsi", "lvm")
    if hotfix:
        # On one host only: the source host is the one that drives the move.
        host_ref, host = named(o, "host", hotfix_host)
        ref, update_uuid = _new_ref("pool_update", HOTFIX)
        o["pool_update"][ref] = {
            "uuid": update_uuid, "name_label": HOTFIX, "name_description": f"Hotfix {HOTFIX}",
            "version": "1.0", "installation_size": "0", "key": "", "after_apply_guidance": [],
            "vdi": "OpaqueRef:NULL", "hosts": [host_ref], "other_config": {},
            "enforce_homogeneity": False,
        }
        host["updates"] = [ref]
    return doc


def xs8_pool(*, https_only: dict[str, bool] | None = None) -> dict[str, Any]:
    """Grimsby Pool (XenServer 5.6 FP1 beta, a different real pool) relabelled as XenServer 8."""
    doc = real(COWLEY1)
    o = doc["objects"]
    closed = https_only if https_only is not None else {"grimsby": True, "chester": True}
    for host in o["host"].values():
        host["software_version"].update(product_brand="XenServer", product_version="8.4.0",
                                        platform_version="3.4.0", xen="4.17.5")
        # Port 80 closed (the field SXM-003 reads on the home host and the pool master).
        host["https_only"] = closed[host["name_label"]]
    # The pool's default SR ("iSCSI virtual disk storage", lvmoiscsi, shared) must take
    # mirrored disks in: XenServer 8's lvmoiscsi driver has VDI_MIRROR.
    add_mirror(o, "lvmoiscsi")
    # XenServer 8's XAPI writes every licence flag into pool.restrictions; 5.6 had no storage
    # migration flag, whose absence XAPI reads as restricted (features.ml of_assoc_list).
    next(iter(o["pool"].values()))["restrictions"]["restrict_storage_xen_motion"] = "false"
    return doc


def cross_pool(tmp_path: Path, *, hotfix: bool, https_only: dict[str, bool] | None = None,
               ) -> tuple[Path, Path]:
    return (write(tmp_path, "ch82cu1.json", ch82cu1_pool(hotfix=hotfix)),
            write(tmp_path, "xs8.json", xs8_pool(https_only=https_only)))


def storage_plan(tmp_path: Path, host: str = "grimsby") -> Path:
    # No storage map: the destination pool's default SR (the wizard's default).
    return plan_file(tmp_path, f"""plan: CHG-SXM
operations:
  - kind: storage
    vms: [dlvm_shared]
    destination: {{pool: {XS8_POOL}, host: {host}}}
""")


# ---------------------------------------------------------------------------------
# 1. SXM-003: CH 8.2 CU1 without XS82ECU1033 -> XenServer 8 with port 80 closed
# ---------------------------------------------------------------------------------

def test_sxm003_fails_without_the_hotfix_and_passes_with_it(tmp_path, capsys):
    src, dst = cross_pool(tmp_path, hotfix=False)
    plan = storage_plan(tmp_path)
    code, results = check(capsys, src, dst, "--plan", plan, "--only", "SXM-003")
    assert code == 1
    assert results["verdict"] == "blocked"
    found = finding(results, "SXM-003", "dlvm_shared")
    assert found["status"] == "fail"
    assert found["message"] == ("source host 'dt16' runs Citrix Hypervisor 8.2 CU1 without hotfix "
                                "XS82ECU1033 or a later one; port 80 is closed on destination host 'grimsby'")

    # The same move once XS82ECU1033 is installed on the source host.
    src, dst = cross_pool(tmp_path, hotfix=True)
    code, results = check(capsys, src, dst, "--plan", plan, "--only", "SXM-003")
    assert code == 0
    assert results["verdict"] == "ready"
    found = finding(results, "SXM-003", "dlvm_shared")
    assert found["status"] == "pass"
    assert "with hotfix XS82ECU1033" in found["message"]

    # Installed on the other host of the pool only: the source host still lacks it.
    src = write(tmp_path, "ch82cu1.json", ch82cu1_pool(hotfix=True, hotfix_host="dt23"))
    code, results = check(capsys, src, dst, "--plan", plan, "--only", "SXM-003")
    assert (code, statuses(results, "SXM-003")) == (1, {"dlvm_shared": "fail"})


@pytest.mark.parametrize(("host", "https_only", "status", "code"), [
    # Home host open, pool master closed: the source still talks to the master on port 80.
    ("chester", {"grimsby": True, "chester": False}, "fail", 1),
    # Port 80 open on both hosts the source connects to: no hotfix needed.
    ("chester", {"grimsby": False, "chester": False}, "pass", 0),
    # Home host closed, master open.
    ("chester", {"grimsby": False, "chester": True}, "fail", 1),
])
def test_sxm003_reads_the_home_host_and_the_pool_master(tmp_path, capsys, host, https_only,
                                                        status, code):
    src, dst = cross_pool(tmp_path, hotfix=False, https_only=https_only)
    got, results = check(capsys, src, dst, "--plan", storage_plan(tmp_path, host),
                         "--only", "SXM-003")
    assert (got, statuses(results, "SXM-003")) == (code, {"dlvm_shared": status})
    message = finding(results, "SXM-003", "dlvm_shared")["message"]
    assert (f"port 80 is {'closed' if https_only['chester'] else 'open'} on destination host "
            f"'chester' and {'closed' if https_only['grimsby'] else 'open'} on pool master "
            f"'grimsby'") in message


def test_cross_pool_move_with_every_rule(tmp_path, capsys):
    """The whole rule set on the same move: SXM-003 is its only failing blocker; with the
    hotfix none fails, and the verdict is undecided, not ready, because the 2010–2012
    dumps lack fields the remaining blockers read."""
    src, dst = cross_pool(tmp_path, hotfix=False)
    plan = storage_plan(tmp_path)
    code, results = check(capsys, src, dst, "--plan", plan)
    blockers = {(f["rule"], f["status"]) for f in results["findings"] if f["severity"] == "blocker"}
    assert code == 1
    assert {r for r, s in blockers if s == "fail"} == {"SXM-003"}
    # What the derivation made sensible: the default SR takes the disk, the memory and
    # the versions fit, the network maps by name.
    for rule in ("SXM-004", "MEM-001", "GEN-001", "SXM-005", "DISK-001", "CPU-001"):
        assert (rule, "pass") in blockers, rule
    assert "goes to SR 'iSCSI virtual disk storage' (lvmoiscsi)" in finding(
        results, "SXM-004", "vdi_xvda")["message"]

    src, dst = cross_pool(tmp_path, hotfix=True)
    code, results = check(capsys, src, dst, "--plan", plan)
    blockers = {(f["rule"], f["status"]) for f in results["findings"] if f["severity"] == "blocker"}
    assert ("SXM-003", "pass") in blockers
    assert not {r for r, s in blockers if s == "fail"}
    # Unknown, naming what is missing: host.cpu_info has no features_pv (CPU-002).
    # VDI.cbt_enabled (LIM-005) is not unknown: Tampa's XAPI predates CBT, so the field
    # reads as its default, false.
    unknown = {f["rule"]: f["message"] for f in results["findings"]
               if f["severity"] == "blocker" and f["status"] == "unknown"}
    assert sorted(unknown) == ["CPU-002"]
    assert "features_pv" in unknown["CPU-002"]
    cbt = next(f for f in results["findings"] if f["rule"] == "LIM-005")
    assert cbt["status"] == "pass"
    assert "XenServer 7.3" in cbt["evidence"]["defaults"]["VDI.cbt_enabled"]["because"]
    assert (code, results["verdict"]) == (3, "undecided")


# ---------------------------------------------------------------------------------
# 2. EVAC-001 in the readiness audit: a host that cannot be evacuated for lack of memory
# ---------------------------------------------------------------------------------

def test_audit_shows_a_host_that_cannot_be_evacuated(tmp_path, capsys):
    # Only the memory rules: with every rule, dlvm_local's local disk (LIVE-001) blocks
    # dt16's evacuation in the real pool already.
    only = ("--only", "EVAC-001,MEM-001")
    code, results = check(capsys, write(tmp_path, "tampa.json", real(TAMPA)), *only)
    assert (code, results["mode"]) == (0, "audit")
    assert statuses(results, "EVAC-001") == {"dt16": "pass", "dt23": "pass"}

    # dt23 keeps room for one of dt16's two VMs (647 MiB each), not both.
    doc = real(TAMPA)
    o = doc["objects"]
    one_vm = footprint(named(o, "VM", "dlvm_shared")[1])
    assert one_vm == footprint(named(o, "VM", "dlvm_local")[1]) == 647 * MiB
    leave_room(o, "dt23", one_vm + 100 * MiB)
    code, results = check(capsys, write(tmp_path, "tampa-small-dt23.json", doc), *only)
    assert code == 1
    assert results["verdict"] == "blocked"
    assert statuses(results, "EVAC-001") == {"dt16": "fail", "dt23": "pass"}

    evac = next(o for o in results["operations"]
                if o["kind"] == "evacuate" and o.get("host", {}).get("name") == "dt16")
    assert evac["verdict"] == "blocked"
    children = [o for o in results["operations"] if o.get("parent") == evac["id"]]
    memory = {c["vm"]["name"]: next(f["status"] for f in results["findings"]
                                    if f["operation"] == c["id"] and f["rule"] == "MEM-001")
              for c in children}
    # Biggest-fit-decreasing: one VM goes to dt23, the other finds no room.
    assert sorted(memory.values()) == ["fail", "pass"]
    (unplaced,) = [vm for vm, status in memory.items() if status == "fail"]
    assert unplaced in {"dlvm_local", "dlvm_shared"}

    evac001 = finding(results, "EVAC-001", "dt16")
    assert evac001["evidence"]["op.unplaced_vms"] == [unplaced]
    assert f"host 'dt16': 2 VMs to move to 'dt23'; no host has room for '{unplaced}'" in \
        evac001["message"]


# ---------------------------------------------------------------------------------
# 3. MEM-001: two VMs that each fit on a host, but not together
# ---------------------------------------------------------------------------------

TWO_TO_DT23 = """plan: CHG-MEM
operations:
  - kind: live
    vms: [{vms}]
    destination: {{host: dt23}}
"""


def test_two_vms_that_fit_alone_but_not_together(tmp_path, capsys):
    doc = real(TAMPA)
    leave_room(doc["objects"], "dt23", 1000 * MiB)   # 647 MiB each: one fits, two do not
    src = write(tmp_path, "tampa.json", doc)
    plan = plan_file(tmp_path, TWO_TO_DT23.format(vms="dlvm_local, dlvm_shared"))
    code, results = check(capsys, src, "--plan", plan, "--only", "MEM-001")
    assert code == 1
    assert statuses(results, "MEM-001") == {"dlvm_local": "pass", "dlvm_shared": "fail"}
    assert finding(results, "MEM-001", "dlvm_shared")["message"] == (
        "host 'dt23' has 0.3 GiB free after 0.6 GiB for earlier moves of the plan; "
        "VM 'dlvm_shared' needs 0.6 GiB")

    for vm in ("dlvm_local", "dlvm_shared"):
        alone = plan_file(tmp_path, TWO_TO_DT23.format(vms=vm), f"{vm}.yaml")
        code, results = check(capsys, src, "--plan", alone, "--only", "MEM-001")
        assert (code, statuses(results, "MEM-001")) == (0, {vm: "pass"})


# ---------------------------------------------------------------------------------
# 4. GEN-003: at most 3 storage migrations from one pool in a wave
# ---------------------------------------------------------------------------------

FOUR = ["dlvm_shared", "dlvm_shared-2", "dlvm_shared-3", "dlvm_shared-4"]


@pytest.mark.parametrize(("waves", "status", "code"), [
    ([1, 1, 1, 1], "fail", 1),
    ([1, 1, 2, 2], "pass", 0),
    ([1, 1, 1, 2], "pass", 0),
])
def test_four_storage_moves_in_one_wave(tmp_path, capsys, waves, status, code):
    # TampaPool has two real VMs; three clones of dlvm_shared (clone_vm above: own refs,
    # uuids, names, VBDs, VDIs, VIFs) make four.
    src_doc = ch82cu1_pool(hotfix=True)
    for name in FOUR[1:]:
        clone_vm(src_doc["objects"], "dlvm_shared", name)
    src = write(tmp_path, "ch82cu1.json", src_doc)
    dst = write(tmp_path, "xs8.json", xs8_pool())
    ops = "".join(f"""  - kind: storage
    vms: [{vm}]
    destination: {{pool: {XS8_POOL}, host: grimsby}}
    wave: {wave}
""" for vm, wave in zip(FOUR, waves, strict=True))
    plan = plan_file(tmp_path, f"plan: CHG-WAVES\noperations:\n{ops}")
    got, results = check(capsys, src, dst, "--plan", plan, "--only", "GEN-003")
    assert got == code
    assert statuses(results, "GEN-003") == dict.fromkeys(FOUR, status)
    if status == "fail":
        assert finding(results, "GEN-003", "dlvm_shared-4")["message"] == (
            "wave 1 runs 4 storage or live VDI migration(s) from pool 'TampaPool' at the same "
            "time, VM 'dlvm_shared-4' among them (at most 3)")


def test_cloned_vms_are_whole_vms(tmp_path, capsys):
    """The clones are real VMs to every rule that reads their disks, memory and networks."""
    src_doc = ch82cu1_pool(hotfix=True)
    clone_vm(src_doc["objects"], "dlvm_shared", "dlvm_shared-2")
    src = write(tmp_path, "ch82cu1.json", src_doc)
    dst = write(tmp_path, "xs8.json", xs8_pool())
    plan = plan_file(tmp_path, f"""plan: CHG-CLONE
operations:
  - kind: storage
    vms: [dlvm_shared-2]
    destination: {{pool: {XS8_POOL}, host: grimsby}}
""")
    code, results = check(capsys, src, dst, "--plan", plan,
                          "--only", "SXM-004,SXM-005,MEM-001,DISK-001,GEN-004")
    assert code == 0
    assert {f["rule"]: f["status"] for f in results["findings"]} == dict.fromkeys(
        ["SXM-004", "SXM-005", "MEM-001", "DISK-001", "GEN-004"], "pass")
    (op,) = results["operations"]
    assert op["vm"]["name"] == "dlvm_shared-2"
    assert op["vm"]["uuid"] != named(src_doc["objects"], "VM", "dlvm_shared")[1]["uuid"]


# ---------------------------------------------------------------------------------
# 5. Every exit code of `check` on real-derived data (130 and 4: see the docstring)
# ---------------------------------------------------------------------------------

LIVE_TO_DT23 = TWO_TO_DT23.format(vms="dlvm_shared")


def _tampa_with_room(room: int):
    def make(tmp_path: Path) -> list[Path]:
        doc = real(TAMPA)
        leave_room(doc["objects"], "dt23", room)
        return [write(tmp_path, "tampa.json", doc)]
    return make


def _state2(tmp_path: Path) -> list[Path]:
    # Real as is: state2.xml has no host_metrics table, so every host.metrics dangles.
    return [write(tmp_path, "state2.json", real(STATE2))]


STATE2_PLAN = """plan: CHG-HA
operations:
  - kind: live
    vms: ["Debian Etch 4.0 (1)"]
    destination: {host: grimsby}
"""


@pytest.mark.parametrize(("pools", "plan", "code", "verdict"), [
    (_tampa_with_room(1000 * MiB), LIVE_TO_DT23, 0, "ready"),
    (_tampa_with_room(500 * MiB), LIVE_TO_DT23, 1, "blocked"),
    (_state2, STATE2_PLAN, 3, "undecided"),
], ids=["0-ready", "1-blocked", "3-undecided"])
def test_exit_codes(tmp_path, capsys, pools, plan, code, verdict):
    got, results = check(capsys, *pools(tmp_path), "--plan", plan_file(tmp_path, plan),
                         "--only", "MEM-001")
    assert (got, results["verdict"]) == (code, verdict)
    (mem,) = [f for f in results["findings"] if f["rule"] == "MEM-001"]
    assert mem["status"] == {"ready": "pass", "blocked": "fail", "undecided": "unknown"}[verdict]
    if verdict == "undecided":
        host = named(_imported(STATE2)["objects"], "host", "grimsby")[1]
        assert mem["message"] == (
            f"Could not be decided: op.dst_free_memory: host 'grimsby' free_memory: "
            f"host.metrics points at host_metrics {host['metrics']}, which is not in the inventory")


@pytest.mark.parametrize(("plan", "error"), [
    (LIVE_TO_DT23.replace("dlvm_shared", "nobody"), "operations.0.vms.0: no VM matches 'nobody'"),
    (LIVE_TO_DT23.replace("{host: dt23}", "{pool: Atlantis, host: dt23}"),
     "operations.0.destination.pool: no inventory given is the pool 'Atlantis' (pools: 'TampaPool')"),
], ids=["no-such-vm", "no-such-pool"])
def test_exit_code_2_invalid_plan(tmp_path, capsys, plan, error):
    src = write(tmp_path, "tampa.json", real(TAMPA))
    path = plan_file(tmp_path, plan)
    assert main(["check", str(src), "--plan", str(path), "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing evaluated, nothing printed
    assert f"{path}:" in captured.err and error in captured.err
