"""Each row of xapi-fidelity.md, both ways: a pool derived by changing only the fields the
case is about, the verdict of the move, and the rule and API error that decide it.

A rule with `basis: xapi` must block exactly what XAPI refuses; these tests pin the cases
where migready and XAPI's code once disagreed (xen-api file and function in each docstring).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import DR, PROD, Objects, derived

from checker.check import CheckOptions, run_check


def check(tmp_path: Path, plan: str, *changes: Any, dr_changes: tuple[Any, ...] = ()) -> dict[str, Any]:
    """Results of `plan` on the sample pools, each changed by its functions."""
    def change_all(fns: tuple[Any, ...]) -> Any:
        def apply(objects: Objects) -> None:
            for fn in fns:
                fn(objects)
        apply.__name__ = "_".join(fn.__name__ for fn in fns) or "same"
        return apply

    prod = derived(tmp_path, change_all(changes), PROD)
    dr = derived(tmp_path, change_all(dr_changes), DR)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(plan)
    return run_check(CheckOptions([prod, dr], plan=plan_file))


def statuses(results: dict[str, Any], rule: str) -> dict[str, str]:
    """subject name -> status of `rule`'s findings."""
    return {f["subject"]["name"]: f["status"] for f in results["findings"] if f["rule"] == rule}


def xapi_errors(results: dict[str, Any], rule: str) -> list[str]:
    basis = next(r["basis"] for r in results["rules"] if r["id"] == rule)
    return basis["xapi"] if isinstance(basis, dict) else []


def op_verdict(results: dict[str, Any], op_id: str = "op-1") -> str:
    return next(op["verdict"] for op in results["operations"] if op["id"] == op_id)


# -- GEN-004: power states (xapi_vm_lifecycle.ml allowed_power_states) ----------------------

VDI_OF_HALTED = """plan: CHG-VDI
operations:
  - kind: vdi
    vdi: build-01/0
    destination: {sr: Local storage ch82-h2}
"""


def pre_dundee(objects: Objects) -> None:
    """Every host reports XenAPI 2.4 (XenServer 6.5 "Creedence"), the last before Dundee."""
    for host in objects["host"].values():
        host["API_version_major"], host["API_version_minor"] = "2", "4"


def test_gen004_a_halted_vms_disk_moves_since_dundee(tmp_path):
    """VDI.pool_migrate runs as migrate_send, whose states include Halted (message_forwarding.ml)."""
    results = check(tmp_path, VDI_OF_HALTED)
    assert statuses(results, "GEN-004") == {"build-01": "pass"}
    finding = next(f for f in results["findings"] if f["rule"] == "GEN-004")
    assert "copied offline" in finding["message"]


def test_gen004_before_dundee_a_disk_moves_only_while_its_vm_runs(tmp_path):
    results = check(tmp_path, VDI_OF_HALTED, pre_dundee)
    assert statuses(results, "GEN-004") == {"build-01": "fail"}
    assert op_verdict(results) == "blocked"
    assert xapi_errors(results, "GEN-004") == ["VM_BAD_POWER_STATE"]


# -- DISK-001: the seed's 3x, storage live migration only (documentation) ----------------

DB01_TO_NFS = """plan: CHG-NFS
operations:
  - kind: storage
    vms: [db-01]
    destination: {pool: dr-xs8, host: xs8-h1}
    storage: {default: DR NFS}
  - kind: vdi
    vdi: web-02/0
    destination: {sr: Local storage ch82-h2}
"""


def nfs_free_400g(objects: Objects) -> None:
    """DR NFS keeps 400 GiB free: 3x db-01's physical 250 GiB (750) does not fit, nor 3x virtual."""
    sr = next(s for s in objects["SR"].values() if s["name_label"] == "DR NFS")
    sr["physical_utilisation"] = str(int(sr["physical_size"]) - 400 * 1024**3)


def nfs_free_800g(objects: Objects) -> None:
    """DR NFS keeps 800 GiB free: 3x physical (750) fits, 3x virtual (1,200) would not."""
    sr = next(s for s in objects["SR"].values() if s["name_label"] == "DR NFS")
    sr["physical_utilisation"] = str(int(sr["physical_size"]) - 800 * 1024**3)


def test_disk001_counts_physical_size_on_a_thin_sr(tmp_path):
    results = check(tmp_path, DB01_TO_NFS, dr_changes=(nfs_free_800g,))
    assert statuses(results, "DISK-001") == {"DR NFS": "pass"}
    assert not [f for f in results["findings"] if f["rule"] == "DISK-001" and f["operation"] == "op-2"]
    assert xapi_errors(results, "DISK-001") == []


def test_disk001_fails_when_three_times_the_physical_size_does_not_fit(tmp_path):
    results = check(tmp_path, DB01_TO_NFS, dr_changes=(nfs_free_400g,))
    finding = next(f for f in results["findings"] if f["rule"] == "DISK-001" and f["status"] == "fail")
    assert finding["subject"]["name"] == "DR NFS"
    assert "physical size" in finding["message"]
    assert (finding["basis"], "xapi_errors" in finding) == ("documentation", False)


# -- GEN-002: check_op_for_feature, every HVM guest (xapi_vm_lifecycle.ml) ---------------

WEB01_LIVE = """plan: CHG-LIVE
operations:
  - kind: live
    vms: [web-01]
    destination: {host: ch82-h2}
"""


def _web01_guest(objects: Objects) -> dict[str, Any]:
    vm = next(v for v in objects["VM"].values() if v["name_label"] == "web-01")
    return objects["VM_guest_metrics"][vm["guest_metrics"]]


def linux_hvm_without_drivers(objects: Objects) -> None:
    """web-01 is a Debian HVM guest with no PV drivers reported and no feature-suspend."""
    gm = _web01_guest(objects)
    gm["os_version"] = {"distro": "debian", "name": "Debian 12", "uname": "6.1.0-13-amd64"}
    gm["PV_drivers_version"] = {}
    gm["other"] = {**gm.get("other", {}), "feature-suspend": "0"}


def windows_without_agent(objects: Objects) -> None:
    """web-01 is Windows with the I/O drivers but no management agent."""
    gm = _web01_guest(objects)
    gm["os_version"] = {"distro": "windows", "name": "Microsoft Windows Server 2022"}
    gm["other"] = {k: v for k, v in gm.get("other", {}).items() if k != "feature-static-ip-setting"}


def test_gen002_a_linux_hvm_guest_without_drivers_is_refused(tmp_path):
    """The old rule judged Windows VMs only; XAPI refuses any HVM guest lacking the feature."""
    results = check(tmp_path, WEB01_LIVE, linux_hvm_without_drivers)
    assert statuses(results, "GEN-002") == {"web-01": "fail"}
    assert op_verdict(results) == "blocked"
    assert xapi_errors(results, "GEN-002") == ["VM_LACKS_FEATURE"]


def test_gen002_a_windows_guest_needs_no_management_agent(tmp_path):
    """XAPI does not ask for the agent: GEN-002 passes (GEN-012 is the documentation's warning)."""
    results = check(tmp_path, WEB01_LIVE, windows_without_agent)
    assert statuses(results, "GEN-002") == {"web-01": "pass"}
    assert op_verdict(results) != "blocked"


# -- GEN-001: versions (helpers.ml host_versions_not_decreasing, VM.pool_migrate) ---------

def _host(objects: Objects, name: str) -> dict[str, Any]:
    return next(h for h in objects["host"].values() if h["name_label"] == name)


def xapi_25_33_with_older_xen_on_h2(objects: Objects) -> None:
    """Both hosts run xapi 25.33 (which compares xapi_build and xen too); ch82-h2's Xen is an
    older build. Platform and xapi versions are equal, so no rolling upgrade is detected."""
    for host in objects["host"].values():
        host["software_version"] = {**host["software_version"], "xapi": "25.33", "xapi_build": "25.33.0"}
    _host(objects, "ch82-h2")["software_version"]["xen"] = "4.13.4-1"


WEB01_STORAGE_H2 = """plan: CHG-SXM
operations:
  - kind: storage
    vms: [web-01]
    destination: {host: ch82-h2}
    storage: {default: Shared iSCSI}
"""


def test_gen001_live_to_an_older_hotfix_level_outside_a_rolling_upgrade_passes(tmp_path):
    """VM.pool_migrate compares versions only during a rolling pool upgrade."""
    results = check(tmp_path, WEB01_LIVE, xapi_25_33_with_older_xen_on_h2)
    assert statuses(results, "GEN-001") == {"web-01": "pass"}


def test_gen001_storage_to_an_older_xen_is_refused_by_xapi_25_31_and_later(tmp_path):
    results = check(tmp_path, WEB01_STORAGE_H2, xapi_25_33_with_older_xen_on_h2)
    assert statuses(results, "GEN-001") == {"web-01": "fail"}
    assert op_verdict(results) == "blocked"
    assert "NOT_SUPPORTED_DURING_UPGRADE" in xapi_errors(results, "GEN-001")


def rolling_upgrade_flag_and_older_xen(objects: Objects) -> None:
    """As above, with the pool flagged as in a rolling upgrade (pool.other_config)."""
    xapi_25_33_with_older_xen_on_h2(objects)
    pool = next(iter(objects["pool"].values()))
    pool["other_config"] = {**pool.get("other_config", {}), "rolling_upgrade_in_progress": "true"}


def test_gen001_live_to_an_older_host_during_a_rolling_upgrade_is_refused(tmp_path):
    results = check(tmp_path, WEB01_LIVE, rolling_upgrade_flag_and_older_xen)
    assert statuses(results, "GEN-001") == {"web-01": "fail"}
    assert op_verdict(results) == "blocked"


# -- SXM-003: port 80, Citrix's hotfix, XCP-ng ---------------------------------------------

def https_only_destination(objects: Objects) -> None:
    """Both dr-xs8 hosts have port 80 closed (as the sample pool has it)."""
    for host in objects["host"].values():
        host["https_only"] = True


def port80_open_destination(objects: Objects) -> None:
    """Both dr-xs8 hosts have port 80 open."""
    for host in objects["host"].values():
        host["https_only"] = False


def source_xcp_ng_82(objects: Objects) -> None:
    """prod-ch82's hosts say XCP-ng (the same numbers: 8.2.1 / 3.2.1)."""
    for host in objects["host"].values():
        host["software_version"] = {**host["software_version"], "product_brand": "XCP-ng"}


def source_with_later_hotfix(objects: Objects) -> None:
    """Each prod-ch82 host has XS82ECU1041, a later cumulative hotfix than 1033."""
    objects.setdefault("pool_update", {})["OpaqueRef:ecu1041"] = {
        "uuid": "ecu1041", "name_label": "XS82ECU1041", "hosts": list(objects["host"])}
    for host in objects["host"].values():
        host["updates"] = ["OpaqueRef:ecu1041"]


def test_sxm003_a_later_cumulative_hotfix_passes(tmp_path):
    results = check(tmp_path, STORAGE_TO_DR, source_with_later_hotfix, dr_changes=(https_only_destination,))
    assert statuses(results, "SXM-003") == {"web-01": "pass"}
    assert "XS82ECU1041" in next(f["message"] for f in results["findings"] if f["rule"] == "SXM-003")


def test_sxm003_without_the_hotfix_fails(tmp_path):
    results = check(tmp_path, STORAGE_TO_DR, dr_changes=(https_only_destination,))
    assert statuses(results, "SXM-003") == {"web-01": "fail"}


def test_sxm003_an_xcp_ng_source_is_never_asked_for_citrix_hotfix(tmp_path):
    """Unknown, naming what to check, when port 80 is closed; pass when it is open."""
    results = check(tmp_path, STORAGE_TO_DR, source_xcp_ng_82, dr_changes=(https_only_destination,))
    assert statuses(results, "SXM-003") == {"web-01": "unknown"}
    message = next(f["message"] for f in results["findings"] if f["rule"] == "SXM-003")
    assert "XCP-ng 8.2" in message and "XS82ECU1033" in message
    results = check(tmp_path, STORAGE_TO_DR, source_xcp_ng_82, dr_changes=(port80_open_destination,))
    assert statuses(results, "SXM-003") == {"web-01": "pass"}


STORAGE_TO_DR = """plan: CHG-DR
operations:
  - kind: storage
    vms: [web-01]
    destination: {pool: dr-xs8, host: xs8-h1}
    storage: {default: DR iSCSI}
"""


# -- EVAC-001: XAPI's planner (xapi_host.ml compute_evacuation_plan_no_wlb) ----------------

from conftest import add_host, by_name, drop_h2_metrics  # noqa: E402

EVACUATE_H1 = """plan: CHG-EVAC
operations:
  - kind: evacuate
    host: ch82-h1
"""

EVACUATE_H2 = EVACUATE_H1.replace("ch82-h1", "ch82-h2")


def _footprint(vm: dict[str, Any]) -> int:
    mib = 1024 * 1024
    return sum(-(-int(vm[f]) // mib) * mib for f in ("memory_dynamic_min", "memory_overhead"))


def _set_free(objects: Objects, host_name: str, free: int) -> None:
    """host_metrics.memory_total such that XAPI's free-memory figure is `free` bytes."""
    ref, host = next((r, h) for r, h in objects["host"].items() if h["name_label"] == host_name)
    used = sum(_footprint(vm) for vm in objects["VM"].values()
               if vm.get("resident_on") == ref or vm.get("scheduled_to_be_resident_on") == ref)
    objects["host_metrics"][host["metrics"]]["memory_total"] = str(int(host["memory_overhead"]) + used + free)


def three_hosts_for_bfd(objects: Objects) -> None:
    """db-01 halted (off ch82-h1); a third host ch82-h3 made like ch82-h2 with no VMs;
    ch82-h2 keeps app-01 + web-01 + 2 MiB free, ch82-h3 the same + 1 MiB. First-fit would
    put both VMs on ch82-h2; biggest-fit-decreasing puts app-01 there (the emptiest host) and
    web-01 on ch82-h3, which then has the most room."""
    db01_halted(objects)
    add_host(objects, "ch82-h2", "ch82-h3")
    both = _footprint(by_name(objects, "VM", "app-01")) + _footprint(by_name(objects, "VM", "web-01"))
    _set_free(objects, "ch82-h2", both + 2 * 1024 * 1024)
    _set_free(objects, "ch82-h3", both + 1024 * 1024)


def test_evac001_places_biggest_first_on_the_emptiest_host(tmp_path):
    results = check(tmp_path, EVACUATE_H1, three_hosts_for_bfd)
    placed = {op["vm"]["name"]: op["destination"]["host"] for op in results["operations"] if op.get("vm")}
    assert placed == {"app-01": "ch82-h2", "web-01": "ch82-h3"}
    assert statuses(results, "EVAC-001") == {"ch82-h1": "pass"}


def h2_down_but_enabled(objects: Objects) -> None:
    """ch82-h2's host_metrics.live is false; the host is still enabled."""
    host = by_name(objects, "host", "ch82-h2")
    objects["host_metrics"][host["metrics"]]["live"] = False


def test_evac001_targets_are_not_filtered_by_liveness(tmp_path):
    """A down but enabled host stays a target, so XAPI refuses the VMs there (HOST_NOT_LIVE)."""
    results = check(tmp_path, EVACUATE_H1, h2_down_but_enabled)
    assert statuses(results, "EVAC-001") == {"ch82-h1": "fail"}
    assert op_verdict(results) == "blocked"
    evidence = next(f["evidence"] for f in results["findings"] if f["rule"] == "EVAC-001")
    assert evidence["op.evacuation_targets"] == ["ch82-h2"]
    assert "NO_HOSTS_AVAILABLE" in xapi_errors(results, "EVAC-001")


def empty_and_alone(objects: Objects) -> None:
    """ch82-h2's VMs halted (nothing resident) and ch82-h1 disabled: no target at all."""
    ref = next(r for r, h in objects["host"].items() if h["name_label"] == "ch82-h2")
    for vm in objects["VM"].values():
        if vm.get("resident_on") == ref and not vm.get("is_control_domain"):
            vm["power_state"], vm["resident_on"] = "Halted", "OpaqueRef:NULL"
    by_name(objects, "host", "ch82-h1")["enabled"] = False


def test_evac001_an_empty_host_evacuates_with_no_other_host(tmp_path):
    results = check(tmp_path, EVACUATE_H2, empty_and_alone)
    assert statuses(results, "EVAC-001") == {"ch82-h2": "pass"}
    assert op_verdict(results) == "ready"


def db01_halted(objects: Objects) -> None:
    """db-01 (whose local disks no other host sees) is halted: ch82-h1 keeps shared-storage VMs."""
    db = by_name(objects, "VM", "db-01")
    db["power_state"], db["resident_on"] = "Halted", "OpaqueRef:NULL"


def test_evac001_a_missing_host_metrics_row_is_unknown_not_fail(tmp_path):
    """ch82-h2's metrics dangle: its free memory cannot be read, so placement is undecided."""
    results = check(tmp_path, EVACUATE_H1, db01_halted, drop_h2_metrics)
    assert statuses(results, "EVAC-001") == {"ch82-h1": "unknown"}
    message = next(f["message"] for f in results["findings"] if f["rule"] == "EVAC-001")
    assert "free memory" in message and "None" not in message


# -- Versions: a field the pool's XAPI predates reads as its default -----------------------

import json  # noqa: E402
import re  # noqa: E402
import uuid  # noqa: E402

from checker import releases  # noqa: E402

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def xenserver_71_cu2_copy(tmp_path: Path) -> Path:
    """prod-ch82 as a XenServer 7.1 CU2 pool "prod-71": every uuid renewed (another pool),
    the hosts' versions set to 7.1 CU2's, and every field XenServer 7.1 (ely) lacks removed
    from every record, as its XAPI would have written them."""
    text = _UUID.sub(lambda m: str(uuid.uuid5(uuid.NAMESPACE_OID, m.group(0))), PROD.read_text())
    doc = json.loads(text)
    ely = releases.release("ely")
    for cls, records in doc["objects"].items():
        for rec in records.values():
            for name in [n for n in rec if releases.predates(ely, cls, n)]:
                del rec[name]
    for host in doc["objects"]["host"].values():
        host["software_version"] = {
            "product_brand": "XenServer", "product_version": "7.1.2", "platform_version": "2.2.2",
            "product_version_text": "7.1", "product_version_text_short": "7.1 CU2",
            "xapi": "1.9", "xen": "4.7.6-6.9", "build_number": "9"}
        host["API_version_major"], host["API_version_minor"] = "2", "6"
    for vm in doc["objects"]["VM"].values():
        vm["name_label"] = f"{vm['name_label']}-71"
    pool = next(iter(doc["objects"]["pool"].values()))
    pool["name_label"] = doc["pool"]["name_label"] = "prod-71"
    doc["pool"]["uuid"] = pool["uuid"]
    path = tmp_path / "prod-71.json"
    path.write_text(json.dumps(doc))
    return path


FROM_71 = """plan: CHG-71
operations:
  - kind: storage
    vms: [web-01-71, app-01-71, db-01-71]
    destination: {pool: prod-ch82, host: ch82-h1}
    storage: {default: Shared iSCSI}
"""


def test_a_71_cu2_pool_moving_to_82_cu1_is_decided(tmp_path):
    """The seed's own case (POST-001): fields 7.1 never had read as their defaults, so no
    blocker is left undecided for want of them; the evidence says which were defaulted."""
    src = xenserver_71_cu2_copy(tmp_path)
    removed = json.loads(src.read_text())["objects"]["VDI"]
    assert all("cbt_enabled" not in vdi for vdi in removed.values())
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(FROM_71)
    results = run_check(CheckOptions([src, PROD], plan=plan_file))
    undecided = sorted({(f["rule"], f["message"]) for f in results["findings"]
                        if f["status"] == "unknown" and f["severity"] == "blocker"})
    assert undecided == []
    assert results["verdict"] != "undecided"
    cbt = next(f for f in results["findings"] if f["rule"] == "LIM-005")
    because = cbt["evidence"]["defaults"]["VDI.cbt_enabled"]["because"]
    assert "VDI.cbt_enabled was introduced in XenServer 7.3" in because
    post = {f["subject"]["name"]: f["status"] for f in results["findings"] if f["rule"] == "POST-001"}
    assert post == {"web-01-71": "fail", "app-01-71": "fail", "db-01-71": "fail"}


# -- Every blocker's fail says its basis: XAPI's refusal or the documentation's --------------

def test_findings_say_whether_xapi_refuses_or_only_the_documentation_requires(tmp_path):
    from checker.output import format_text
    from checker.report import render_html
    from checker.report.context import build_context

    results = check(tmp_path, VDI_OF_HALTED + DB01_TO_NFS.split("operations:\n")[1], pre_dundee,
                    dr_changes=(nfs_free_400g,))
    text = format_text(results)
    assert "XAPI will refuse this move (VM_BAD_POWER_STATE)" in text
    assert "Documented requirement; XAPI will not stop the move" in text
    html = render_html(build_context(results, lang="ja"))
    assert "XAPIはこの移行を拒否します(VM_BAD_POWER_STATE)" in html
    assert "ドキュメント上の要件です。XAPIは移行を止めません" in html


def test_an_unknown_says_how_to_get_the_data_not_the_fails_remedy(tmp_path):
    """MEM-001 on ch82-h2, whose metrics dangle: no `fix:` command, no memory remedy."""
    from checker.report.context import build_context
    from checker.results import UNKNOWN_REMEDIATION

    results = check(tmp_path, WEB01_LIVE, drop_h2_metrics)
    unknown = next(f for f in results["findings"] if f["rule"] == "MEM-001")
    assert unknown["status"] == "unknown"
    assert "command" not in unknown
    assert unknown["remediation"] == UNKNOWN_REMEDIATION["en"]
    context = build_context(results, lang="ja")
    rows = [f for op in context.blocker_cards + context.warning_cards for f in op.problems
            if f.rule == "MEM-001"]
    assert rows and rows[0].remediation == UNKNOWN_REMEDIATION["ja"]


def test_a_rolling_upgrade_states_its_order_in_both_languages(tmp_path):
    from checker.report.i18n import translate_assumption

    results = check(tmp_path, "plan: RPU\noperations:\n  - kind: rolling-upgrade\n    pool: prod-ch82\n")
    order = next(a for a in results["assumptions"] if a.startswith("Host evacuations in this order"))
    master_first = order.index("ch82-h1 (wave 1)") < order.index("ch82-h2 (wave 2)")
    assert master_first
    ja = translate_assumption(order, "ja")
    assert ja.startswith("ホストの退避の順序: ch82-h1 (ウェーブ 1)")


# -- LIVE-003: xapi_network_attach_helpers.ml assert_can_see_named_networks -----------------

def agrees(results: dict[str, Any], rule: str, expected: dict[str, str], error: str | None = None) -> None:
    """`rule` gives `expected`, and the move is blocked naming `error` among the API errors
    of the rule's basis, or (no `error`) not blocked: XAPI's answer both ways."""
    assert statuses(results, rule) == expected
    if error is None:
        assert op_verdict(results) != "blocked"
    else:
        assert op_verdict(results) == "blocked"
        assert error in xapi_errors(results, rule)


def _pif_on(objects: Objects, network: str, host: str) -> dict[str, Any]:
    net, host_ref = by_name(objects, "network", network), _host_ref(objects, host)
    return next(p for ref, p in objects["PIF"].items() if ref in net["PIFs"] and p["host"] == host_ref)


def _host_ref(objects: Objects, name: str) -> str:
    return next(ref for ref, h in objects["host"].items() if h["name_label"] == name)


def vm_network_internal(objects: Objects) -> None:
    """"VM Network" has no PIFs (an internal network); web-02, on it, runs on ch82-h2."""
    by_name(objects, "network", "VM Network")["PIFs"] = []


def web02_halted(objects: Objects) -> None:
    """web-02 (the one VM of ch82-h2 on "VM Network") is halted."""
    vm = by_name(objects, "VM", "web-02")
    vm["power_state"], vm["resident_on"] = "Halted", "OpaqueRef:NULL"


def h2_vm_network_pif_in_a_bond(objects: Objects) -> None:
    """ch82-h2's PIF of "VM Network" is a bond member (PIF.bond_slave_of set)."""
    _pif_on(objects, "VM Network", "ch82-h2")["bond_slave_of"] = "OpaqueRef:bond-h2"


def test_live003_an_internal_network_goes_where_a_running_vm_on_it_runs(tmp_path):
    """XAPI passes an internal network when a running VM on it is resident on the destination."""
    results = check(tmp_path, WEB01_LIVE, vm_network_internal)
    agrees(results, "LIVE-003", {"web-01": "pass"})


def test_live003_an_internal_network_pinned_to_another_host_is_refused(tmp_path):
    """Every running VM on the internal network is on ch82-h1: XAPI says VM_REQUIRES_NETWORK."""
    results = check(tmp_path, WEB01_LIVE, vm_network_internal, web02_halted)
    agrees(results, "LIVE-003", {"web-01": "fail"}, "VM_REQUIRES_NETWORK")


def test_live003_a_bond_member_pif_on_the_destination_is_refused(tmp_path):
    """assert_can_attach_network_on_host: a local PIF that is a bond member cannot be plugged."""
    results = check(tmp_path, WEB01_LIVE, h2_vm_network_pif_in_a_bond)
    agrees(results, "LIVE-003", {"web-01": "fail"}, "HOST_CANNOT_ATTACH_NETWORK")


# -- SXM-005: xapi_vm_migrate.ml assert_can_migrate, infer_vif_map --------------------------

def dr_vm_network_only_on_h2(objects: Objects) -> None:
    """dr-xs8's "VM Network" keeps only its PIF on xs8-h2 (none on xs8-h1)."""
    net = by_name(objects, "network", "VM Network")
    net["PIFs"] = [ref for ref in net["PIFs"] if objects["PIF"][ref]["host"] != _host_ref(objects, "xs8-h1")]


def _web01_snapshot_on_old_vlan(objects: Objects, mac: str) -> None:
    """web-01 gets a snapshot whose one VIF (MAC `mac`) is on "Old VLAN", a network
    dr-xs8 has no namesake of (the VLAN was retired after the snapshot)."""
    vm_ref = next(r for r, v in objects["VM"].items() if v["name_label"] == "web-01")
    snap_ref, vif_ref, net_ref = "OpaqueRef:web01-snap", "OpaqueRef:web01-snap-vif", "OpaqueRef:old-vlan"

    def new_uuid(ref: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, ref))

    objects["network"][net_ref] = {**by_name(objects, "network", "VM Network"), "uuid": new_uuid(net_ref),
                                   "name_label": "Old VLAN", "PIFs": [], "VIFs": [vif_ref], "bridge": "xapi9"}
    objects["VIF"][vif_ref] = {**objects["VIF"][objects["VM"][vm_ref]["VIFs"][0]], "uuid": new_uuid(vif_ref),
                               "VM": snap_ref, "network": net_ref, "MAC": mac}
    objects["VM"][snap_ref] = {
        **objects["VM"][vm_ref], "uuid": new_uuid(snap_ref), "name_label": "web-01 before upgrade",
        "is_a_snapshot": True, "snapshot_of": vm_ref, "power_state": "Halted",
        "resident_on": "OpaqueRef:NULL", "VIFs": [vif_ref], "VBDs": [], "snapshots": []}
    objects["VM"][vm_ref]["snapshots"] = [snap_ref]


def web01_snapshot_vif_with_its_own_mac(objects: Objects) -> None:
    _web01_snapshot_on_old_vlan(objects, "16:3e:00:99:00:00")


def web01_snapshot_vif_with_the_vms_mac(objects: Objects) -> None:
    vm = by_name(objects, "VM", "web-01")
    _web01_snapshot_on_old_vlan(objects, objects["VIF"][vm["VIFs"][0]]["MAC"])


def test_sxm005_across_pools_xapi_does_not_ask_for_a_pif_on_the_destination_host(tmp_path):
    """The VIF is mapped ("VM Network" by name); XAPI attaches it to that network on xs8-h1
    though xs8-h1 has no PIF on it: no refusal."""
    results = check(tmp_path, STORAGE_TO_DR, dr_changes=(dr_vm_network_only_on_h2, port80_open_destination))
    agrees(results, "SXM-005", {"VM Network": "pass"})


def test_sxm005_a_snapshots_vif_on_a_network_the_destination_lacks_is_not_in_the_map(tmp_path):
    results = check(tmp_path, STORAGE_TO_DR, web01_snapshot_vif_with_its_own_mac,
                    dr_changes=(port80_open_destination,))
    agrees(results, "SXM-005", {"VM Network": "pass", "Old VLAN": "fail"}, "VIF_NOT_IN_MAP")
    message = next(f["message"] for f in results["findings"]
                   if f["rule"] == "SXM-005" and f["status"] == "fail")
    assert "snapshot 'web-01 before upgrade'" in message


def test_sxm005_a_snapshots_vif_with_a_mapped_vifs_mac_is_inferred(tmp_path):
    """infer_vif_map: an unmapped VIF takes the network of a mapped VIF with its MAC."""
    results = check(tmp_path, STORAGE_TO_DR, web01_snapshot_vif_with_the_vms_mac,
                    dr_changes=(port80_open_destination,))
    agrees(results, "SXM-005", {"VM Network": "pass", "Old VLAN": "pass"})


# -- SXM-007: xapi_host.ml migrate_receive ---------------------------------------------------

STORAGE_NETWORK_TO_DR = STORAGE_TO_DR + "    migration_network: Storage network\n"


def _h1_storage_pif(objects: Objects) -> dict[str, Any]:
    return _pif_on(objects, "Storage network", "xs8-h1")


def h1_storage_pif_link_local_only(objects: Objects) -> None:
    """xs8-h1's "Storage network" PIF (primary address type IPv4) has no IP, mode None, and
    only the link-local IPv6 address fe80::10/64."""
    pif = _h1_storage_pif(objects)
    pif.update(IP="", netmask="", ip_configuration_mode="None", IPv6=["fe80::10/64"])


def h1_storage_pif_unplugged(objects: Objects) -> None:
    """xs8-h1's "Storage network" PIF keeps its IP address but is unplugged."""
    _h1_storage_pif(objects)["currently_attached"] = False


def h1_storage_pif_ipv6_primary(objects: Objects) -> None:
    """xs8-h1's "Storage network" PIF is IPv6-primary with a global address, and no IPv4."""
    _h1_storage_pif(objects).update(primary_address_type="IPv6", IP="", ip_configuration_mode="None",
                                    ipv6_configuration_mode="Static", IPv6=["fe80::10/64", "2001:db8::10/64"])


def test_sxm007_a_link_local_address_on_an_ipv4_pif_is_no_address(tmp_path):
    """migrate_receive reads PIF.IP of an IPv4-primary PIF: "" with mode None is
    PIF_HAS_NO_NETWORK_CONFIGURATION, whatever IPv6 holds."""
    results = check(tmp_path, STORAGE_NETWORK_TO_DR, dr_changes=(h1_storage_pif_link_local_only,
                                                                 port80_open_destination))
    agrees(results, "SXM-007", {"web-01": "fail"}, "PIF_HAS_NO_NETWORK_CONFIGURATION")


def test_sxm007_an_unplugged_pif_with_an_address_is_accepted(tmp_path):
    """migrate_receive does not look at PIF.currently_attached."""
    results = check(tmp_path, STORAGE_NETWORK_TO_DR, dr_changes=(h1_storage_pif_unplugged,
                                                                 port80_open_destination))
    agrees(results, "SXM-007", {"web-01": "pass"})


def test_sxm007_an_ipv6_primary_pif_is_judged_by_its_non_link_local_address(tmp_path):
    results = check(tmp_path, STORAGE_NETWORK_TO_DR, dr_changes=(h1_storage_pif_ipv6_primary,
                                                                 port80_open_destination))
    assert statuses(results, "SXM-007") == {"web-01": "pass"}


def h1_storage_pif_ipv6_primary_link_local_only(objects: Objects) -> None:
    """xs8-h1's "Storage network" PIF is IPv6-primary (mode Static) with only a link-local
    IPv6 address; its IPv4 address stays."""
    _h1_storage_pif(objects).update(primary_address_type="IPv6", ipv6_configuration_mode="Static",
                                    IPv6=["fe80::10/64"])


def test_sxm007_an_ipv6_primary_pif_ignores_its_ipv4_address(tmp_path):
    """No non-link-local IPv6 address on a configured IPv6-primary PIF: INTERFACE_HAS_NO_IP."""
    results = check(tmp_path, STORAGE_NETWORK_TO_DR, dr_changes=(h1_storage_pif_ipv6_primary_link_local_only,
                                                                 port80_open_destination))
    agrees(results, "SXM-007", {"web-01": "fail"}, "INTERFACE_HAS_NO_IP")


# -- GEN-006: features.ml of_assoc_list (a flag missing from pool.restrictions) -------------

def _pool_restrictions(objects: Objects) -> dict[str, str]:
    return next(iter(objects["pool"].values()))["restrictions"]


def no_xen_motion_flag(objects: Objects) -> None:
    """pool.restrictions and every host's license_params lack restrict_xen_motion."""
    del _pool_restrictions(objects)["restrict_xen_motion"]
    for host in objects["host"].values():
        host["license_params"].pop("restrict_xen_motion", None)


def no_storage_motion_flag(objects: Objects) -> None:
    """pool.restrictions lacks restrict_storage_xen_motion."""
    del _pool_restrictions(objects)["restrict_storage_xen_motion"]


def xenserver_70(objects: Objects) -> None:
    """Every host reports XenServer 7.0 (Dundee, XenAPI 2.5)."""
    for host in objects["host"].values():
        host["software_version"] = {**host["software_version"], "product_version": "7.0.0",
                                    "platform_version": "2.1.0", "xencenter_max": "2.5"}
        host["API_version_major"], host["API_version_minor"] = "2", "5"


def test_gen006_a_missing_live_migration_flag_is_allowed_since_71(tmp_path):
    """enabled_when_unknown (xapi 1.9.92, CA-212079) has Xen_motion on without its flag."""
    results = check(tmp_path, WEB01_LIVE, no_xen_motion_flag)
    agrees(results, "GEN-006", {"web-01": "pass"})


def test_gen006_a_missing_live_migration_flag_on_70_is_unknown(tmp_path):
    """XenServer 7.0's XAPI refused it until the fix, which a 7.0 pool may or may not have."""
    results = check(tmp_path, WEB01_LIVE, no_xen_motion_flag, xenserver_70)
    assert statuses(results, "GEN-006") == {"web-01": "unknown"}
    message = next(f["message"] for f in results["findings"] if f["rule"] == "GEN-006")
    assert "restrict_xen_motion" in message


def test_gen006_a_missing_storage_migration_flag_is_restricted(tmp_path):
    """Storage_motion is not in enabled_when_unknown: assert_licensed_storage_motion refuses."""
    results = check(tmp_path, WEB01_STORAGE_H2, no_storage_motion_flag)
    agrees(results, "GEN-006", {"web-01": "fail"}, "LICENCE_RESTRICTION")
