"""`migready runbook` and `report --runbook`: ready plans of the sample pools as xe commands,
every command and parameter on the xe CLI's allow-list (tests/data/xe_commands.json), every
uuid one of the inventories', no password, and no runbook for what is not ready."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import DR, PROD, by_name, derived

from checker.cli import main
from checker.runbook import PASSWORD_VAR

ALLOW = json.loads((Path(__file__).parent / "data" / "xe_commands.json").read_text())

#: The ready plans of the sample pools, one per kind of move (each checked in `checked`).
PLANS = {
    "live": """plan: CHG-LIVE
operations:
  - kind: live
    vms: [web-01]
    destination: {host: ch82-h2}
""",
    "compressed": """plan: CHG-LIVE
operations:
  - kind: live
    vms: [web-01]
    destination: {host: ch82-h2}
    compress: true
""",
    # Storage live migration inside the pool: disk 1 moves, disk 0 stays on Shared iSCSI.
    "intra": """plan: CHG-SLM
operations:
  - kind: storage
    vms: [app-01]
    destination: {pool: prod-ch82, host: ch82-h2}
    storage: {map: {"app-01/1": "Local storage ch82-h2"}}
""",
    "vdi": """plan: CHG-VDI
operations:
  - kind: vdi
    vdi: db-01/0
    destination: {sr: Shared iSCSI}
""",
    "evacuate": """plan: CHG-EVAC
operations:
  - kind: evacuate
    host: ch82-h2
""",
    "rolling": """plan: CHG-RPU
operations:
  - kind: rolling-upgrade
    pool: dr-xs8
""",
    # Across pools, two waves; dr-xs8's port 80 is opened (`port80_open`) for SXM-003.
    "cross": """plan: CHG-XPOOL
operations:
  - kind: storage
    vms: [web-01, app-01]
    destination: {pool: dr-xs8, host: xs8-h1}
    storage: {default: DR iSCSI}
    migration_network: Storage network
    wave: 1
  - kind: storage
    vms: [db-01]
    destination: {pool: dr-xs8, host: xs8-h2}
    storage: {map: {"db-01/0": DR iSCSI, "db-01/1": DR iSCSI}}
    wave: 2
""",
}


def port80_open(objects: dict[str, Any]) -> None:
    """dr-xs8's hosts accept HTTP on port 80 (host.https_only false): SXM-003 then passes for
    CH 8.2 CU1 sources without hotfix XS82ECU1033."""
    for host in objects["host"].values():
        host["https_only"] = False


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each plan of PLANS checked (`migready check --format json`) into a results file."""
    folder = tmp_path_factory.mktemp("runbook")
    dr_open = derived(folder, port80_open, DR)
    out = {}
    for name, text in PLANS.items():
        plan = folder / f"{name}.yaml"
        plan.write_text(text)
        results = folder / f"{name}.json"
        code = main(["check", str(PROD), str(dr_open if name == "cross" else DR), "--plan", str(plan),
                     "--format", "json", "-o", str(results)])
        assert code == 0, name
        out[name] = results
    return out


def uuids() -> set[str]:
    """Every uuid of the sample pools' objects."""
    found = set()
    for path in (PROD, DR):
        for records in json.loads(path.read_text())["objects"].values():
            found |= {rec["uuid"] for rec in records.values() if "uuid" in rec}
    return found


def runbook(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    code = main(["runbook", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def xe_lines(text: str) -> list[list[str]]:
    """The xe commands of a runbook (continuation lines joined), as the shell splits them."""
    joined = text.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.startswith("xe ")]


def assert_allowed(command: list[str], known: set[str]) -> dict[str, str]:
    """The command's global options, name and parameters are on the allow-list; each uuid it
    names exists in the inventories. Returns its parameters."""
    assert command[0] == "xe"
    words = command[1:]
    options = {}
    while words[0].startswith("-"):
        assert words[0] in ALLOW["global_options"], words[0]
        options[words[0]] = words[1]
        words = words[2:]
    assert options["-pw"] == f"${PASSWORD_VAR}"  # the shell expands it; never a value
    name, params = words[0], dict(w.split("=", 1) for w in words[1:])
    spec = ALLOW["commands"][name]
    allowed = set(spec["selectors"]) | set(spec["reqd"]) | set(spec["optn"])
    for key, value in params.items():
        prefix = key.split(":", 1)[0] + ":" if ":" in key else key
        assert prefix in allowed, f"{name}: {key}"
        if prefix in spec["uuid_params"]:
            assert value in known, f"{name} {key}={value}: no such uuid"
        if prefix.endswith(":"):
            assert key.split(":", 1)[1] in known, f"{name} {key}: no such uuid"
    assert set(spec["reqd"]) <= params.keys(), name
    if name == "vm-param-get":
        assert params["param-name"] in spec["param_names"]
    return params


@pytest.mark.parametrize("name", sorted(PLANS))
def test_every_command_is_on_the_allow_list_with_existing_uuids(checked, capsys, name, monkeypatch):
    monkeypatch.setenv(PASSWORD_VAR, "s3cret-root-pw")
    code, out, _ = runbook(capsys, checked[name])
    assert code == 0
    commands = xe_lines(out)
    assert commands
    known = uuids()
    for command in commands:
        assert_allowed(command, known)
    assert "s3cret-root-pw" not in out
    assert "set -euo pipefail" in out
    results = json.loads(checked[name].read_text())
    digest = hashlib.sha256(checked[name].read_bytes()).hexdigest()
    waves = sorted({op["wave"] for op in results["operations"]})
    headings = [line for line in out.splitlines() if line.startswith("# ==== Wave")]
    assert [int(h.split()[3]) for h in headings] == waves
    assert all(f"plan {results['inputs']['plan']['plan']}, results sha256 {digest}" in h for h in headings)


def test_the_commands_of_each_kind(checked, capsys):
    """Intra-pool live, live VDI, evacuation and rolling upgrade: the xe commands as the
    brief names them, in wave order, each after its wave's re-checks."""
    vm = {n: by_name(json.loads(PROD.read_text())["objects"], "VM", n)["uuid"] for n in ("web-01", "web-02")}
    hosts = {h["name_label"]: h["uuid"] for p in (PROD, DR)
             for h in json.loads(p.read_text())["objects"]["host"].values()}
    _, out, _ = runbook(capsys, checked["live"])
    migrate = [c for c in xe_lines(out) if "vm-migrate" in c]
    assert [c[7:] for c in migrate] == [["vm-migrate", f"uuid={vm['web-01']}",
                                         f"host-uuid={hosts['ch82-h2']}", "live=true"]]
    _, out, _ = runbook(capsys, checked["compressed"])  # the plan's compress, as checked
    assert next(c[7:] for c in xe_lines(out) if "vm-migrate" in c)[-2:] == ["compress=true", "live=true"]
    _, out, _ = runbook(capsys, checked["vdi"])
    assert [c[7] for c in xe_lines(out)][-1] == "vdi-pool-migrate"
    _, out, _ = runbook(capsys, checked["evacuate"])
    steps = [(c[7], c[8]) for c in xe_lines(out) if c[7].startswith("host-") and "free" not in c[7]]
    h2 = f"uuid={hosts['ch82-h2']}"
    assert steps == [("host-disable", h2), ("host-evacuate", h2), ("host-enable", h2)]
    assert "# -- op-1: upgrade or service host ch82-h2" in out
    assert f"uuid={vm['web-02']}" in out  # its VM's power state is checked first
    _, out, _ = runbook(capsys, checked["rolling"])
    order = [(c[7], c[8]) for c in xe_lines(out) if c[7] in {"host-disable", "host-enable"}]
    master, other = f"uuid={hosts['xs8-h1']}", f"uuid={hosts['xs8-h2']}"  # master first
    assert order == [("host-disable", master), ("host-enable", master),
                     ("host-disable", other), ("host-enable", other)]


def test_cross_pool_moves_map_every_disk_and_vif(checked, capsys):
    _, out, _ = runbook(capsys, checked["cross"])
    prod = json.loads(PROD.read_text())["objects"]
    dr = json.loads(DR.read_text())["objects"]
    migrate = [assert_allowed(c, uuids()) for c in xe_lines(out) if "vm-migrate" in c]
    assert len(migrate) == 3
    db = migrate[2]
    vm = by_name(prod, "VM", "db-01")
    assert db["uuid"] == vm["uuid"]
    assert db["remote-master"] == by_name(dr, "host", "xs8-h1")["address"]
    assert db["remote-username"] == "root" and db["remote-password"] == f"${PASSWORD_VAR}"
    assert db["host-uuid"] == by_name(dr, "host", "xs8-h2")["uuid"]
    iscsi = by_name(dr, "SR", "DR iSCSI")["uuid"]
    disks = [prod["VDI"][prod["VBD"][v]["VDI"]]["uuid"] for v in vm["VBDs"]
             if prod["VBD"][v]["type"] == "Disk"]
    assert {k: v for k, v in db.items() if k.startswith("vdi:")} == {f"vdi:{d}": iscsi for d in disks}
    vifs = {f"vif:{prod['VIF'][v]['uuid']}": by_name(dr, "network", prod["network"][prod["VIF"][v]["network"]]
                                                      ["name_label"])["uuid"] for v in vm["VIFs"]}
    assert {k: v for k, v in db.items() if k.startswith("vif:")} == vifs
    assert db["live"] == "true"
    assert migrate[0]["remote-network"] == by_name(dr, "network", "Storage network")["uuid"]
    assert "remote-network" not in db  # wave 2 names no migration network
    assert out.index("vm-migrate") > out.index("migready check recheck/")


def test_the_runbook_is_a_valid_bash_script(checked, capsys):
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    _, out, _ = runbook(capsys, checked["cross"])
    assert out.startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n"], input=out, text=True, check=True)


def test_markdown_holds_the_same_commands(checked, capsys):
    _, sh, _ = runbook(capsys, checked["cross"])
    code, md, _ = runbook(capsys, checked["cross"], "--format", "md")
    assert code == 0
    assert md.startswith("# Runbook: plan CHG-XPOOL\n")
    assert "| Verdict | ready_with_warnings |" in md
    assert xe_lines(md) == xe_lines(sh)


def test_blocked_results_exit_1_and_write_nothing(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"  # SXM-003: dr-xs8's port 80 is closed
    plan.write_text(PLANS["cross"])
    results = tmp_path / "results.json"
    assert main(["check", str(PROD), str(DR), "--plan", str(plan), "--format", "json",
                 "-o", str(results)]) == 1
    capsys.readouterr()
    target = tmp_path / "change.sh"
    code, out, err = runbook(capsys, results, "-o", target)
    assert (code, out) == (1, "")
    assert not target.exists()
    assert "no runbook: the plan is blocked (3 blocker findings failed)" in err


def test_an_audit_has_no_runbook(tmp_path, capsys):
    results = tmp_path / "audit.json"
    main(["check", str(PROD), "--format", "json", "-o", str(results)])
    capsys.readouterr()
    code, _, err = runbook(capsys, results)
    assert code == 2
    assert "readiness audit, which has no plan to run" in err
    # ...so its results carry none of the runbook's uuids (an audit has thousands of moves).
    assert not any("master_address" in op.get("source", {}) or "disks" in op
                   for op in json.loads(results.read_text())["operations"])


def test_a_missing_uuid_is_refused_naming_the_field(checked, tmp_path, capsys):
    results = json.loads(checked["live"].read_text())
    del results["operations"][0]["destination"]["host_uuid"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(results))
    code, out, err = runbook(capsys, path)
    assert (code, out) == (2, "")
    assert "op-1: destination.host_uuid is missing" in err


def test_addresses_from_inventory_when_the_results_lack_them(checked, tmp_path, capsys):
    results = json.loads(checked["live"].read_text())
    for op in results["operations"]:
        op["source"].pop("master_address")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(results))
    code, _, err = runbook(capsys, path)
    assert code == 2
    assert "op-1: source.master_address is missing (pool prod-ch82)" in err
    code, out, _ = runbook(capsys, path, "--inventory", PROD)
    assert code == 0
    assert "xe -s 192.0.2.1 " in out


def test_a_name_with_a_newline_stays_inside_its_comment(tmp_path, capsys):
    def newline_name(objects: dict[str, Any]) -> None:
        by_name(objects, "VM", "web-01")["name_label"] = "web-01\nrm -rf /"

    prod = derived(tmp_path, newline_name)
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLANS["live"].replace("[web-01]", '["uuid:4f007258-14a9-5ed6-8b7e-1a8adf31fec5"]'))
    results = tmp_path / "results.json"
    assert main(["check", str(prod), "--plan", str(plan), "--format", "json", "-o", str(results)]) == 0
    capsys.readouterr()
    _, out, _ = runbook(capsys, results)
    assert "web-01\\x0arm -rf /" in out
    assert not any(line.startswith("rm ") for line in out.splitlines())


def test_report_runbook_appendix(checked, tmp_path, capsys):
    html = tmp_path / "report.html"
    assert main(["report", str(checked["cross"]), "--runbook", "-o", str(html)]) == 0
    text = html.read_text()
    assert 'id="runbook"' in text
    assert "Appendix: runbook" in text
    prod = json.loads(PROD.read_text())["objects"]
    assert f"vm-migrate uuid={by_name(prod, 'VM', 'db-01')['uuid']}" in text.replace("\n", " ")
    plain = tmp_path / "plain.html"
    assert main(["report", str(checked["cross"]), "-o", str(plain)]) == 0
    assert 'id="runbook"' not in plain.read_text()



def snapshots_with_vifs(objects: dict[str, Any]) -> None:
    """db-01 gets a snapshot with two VIFs on VM Network: one with db-01's own MAC (XAPI infers
    its network from db-01's VIF), one with a MAC of its own (which XAPI cannot infer, so the
    runbook must map it: VIF_NOT_IN_MAP otherwise)."""
    vm_ref, vm = next((r, v) for r, v in objects["VM"].items() if v["name_label"] == "db-01")
    own = objects["VIF"][vm["VIFs"][0]]
    snap_ref = "OpaqueRef:db-01-snapshot"
    objects["VM"][snap_ref] = {**vm, "uuid": "5a9e0000-0000-4000-8000-000000000001",
                               "name_label": "db-01 before patch", "is_a_snapshot": True,
                               "snapshot_of": vm_ref, "power_state": "Halted", "VBDs": [],
                               "VIFs": ["OpaqueRef:snap-vif-0", "OpaqueRef:snap-vif-1"],
                               "resident_on": "OpaqueRef:NULL"}
    vm["snapshots"] = [snap_ref]
    objects["VIF"]["OpaqueRef:snap-vif-0"] = {**own, "VM": snap_ref, "currently_attached": False,
                                              "uuid": "5a9e0000-0000-4000-8000-0000000000a0"}
    objects["VIF"]["OpaqueRef:snap-vif-1"] = {**own, "VM": snap_ref, "currently_attached": False,
                                              "device": "1", "MAC": "16:3e:00:48:00:99",
                                              "uuid": "5a9e0000-0000-4000-8000-0000000000a1"}


def test_storage_motion_inside_a_pool_names_every_disk(checked, capsys):
    """The xe CLI takes any vdi: as storage motion, which it will do only with remote-master
    and credentials (the pool's own master here), and sends a disk left out of the map to an
    SR of its choosing: the disk that stays is mapped to its own SR."""
    _, out, _ = runbook(capsys, checked["intra"])
    prod = json.loads(PROD.read_text())["objects"]
    (migrate,) = [assert_allowed(c, uuids()) for c in xe_lines(out) if "vm-migrate" in c]
    vm = by_name(prod, "VM", "app-01")
    vdis = [prod["VDI"][prod["VBD"][v]["VDI"]] for v in sorted(
        vm["VBDs"], key=lambda v: prod["VBD"][v]["userdevice"]) if prod["VBD"][v]["type"] == "Disk"]
    assert {k: v for k, v in migrate.items() if k.startswith("vdi:")} == {
        f"vdi:{vdis[0]['uuid']}": by_name(prod, "SR", "Shared iSCSI")["uuid"],
        f"vdi:{vdis[1]['uuid']}": by_name(prod, "SR", "Local storage ch82-h2")["uuid"]}
    assert migrate["remote-master"] == by_name(prod, "host", "ch82-h1")["address"]  # the master
    assert migrate["host-uuid"] == by_name(prod, "host", "ch82-h2")["uuid"]
    assert not any(k.startswith("vif:") for k in migrate)  # networks stay inside the pool
    assert "Disk app-01 disk 0 stays on SR Shared iSCSI." in out


def test_a_snapshot_vif_xapi_cannot_infer_is_mapped(tmp_path, capsys):
    prod = derived(tmp_path, snapshots_with_vifs)
    dr = derived(tmp_path, port80_open, DR)
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLANS["cross"].split("  - kind: storage\n    vms: [db-01]")[0].replace(
        "[web-01, app-01]", "[db-01]"))
    results = tmp_path / "results.json"
    assert main(["check", str(prod), str(dr), "--plan", str(plan), "--format", "json",
                 "-o", str(results)]) == 0
    capsys.readouterr()
    _, out, _ = runbook(capsys, results)
    (migrate,) = [c for c in xe_lines(out) if "vm-migrate" in c]
    network = by_name(json.loads(DR.read_text())["objects"], "network", "VM Network")["uuid"]
    vifs = {w.split("=")[0] for w in migrate if w.startswith("vif:")}
    assert vifs == {"vif:a16f56ef-9418-506f-a496-481a8801cfef",      # db-01's own
                    "vif:5a9e0000-0000-4000-8000-0000000000a1"}      # the snapshot's other MAC
    assert all(w.endswith(f"={network}") for w in migrate if w.startswith("vif:"))
    assert "VIF 1 of a snapshot -> network VM Network." in out


def test_undecided_results_exit_1_too(tmp_path, capsys):
    def no_h2_metrics(objects: dict[str, Any]) -> None:
        by_name(objects, "host", "ch82-h2")["metrics"] = "OpaqueRef:gone"

    plan = tmp_path / "plan.yaml"
    plan.write_text(PLANS["live"])
    results = tmp_path / "results.json"
    assert main(["check", str(derived(tmp_path, no_h2_metrics)), "--plan", str(plan),
                 "--format", "json", "-o", str(results)]) == 3
    capsys.readouterr()
    code, out, err = runbook(capsys, results)
    assert (code, out) == (1, "")
    assert "no runbook: the plan is undecided (" in err and "blocker findings unknown" in err


def test_results_of_format_2_are_read_too(checked, tmp_path, capsys):
    results = json.loads(checked["live"].read_text())
    results["format"] = "migready.results/2"
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(results))
    code, out, _ = runbook(capsys, path)
    assert code == 0
    assert len([c for c in xe_lines(out) if "vm-migrate" in c]) == 1


def test_report_runbook_of_blocked_results_writes_no_report(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLANS["cross"])
    results = tmp_path / "results.json"
    main(["check", str(PROD), str(DR), "--plan", str(plan), "--format", "json", "-o", str(results)])
    html = tmp_path / "report.html"
    assert main(["report", str(results), "--runbook", "-o", str(html)]) == 1
    assert not html.exists()


def test_the_recheck_uses_the_checks_waivers_profile_and_policies(checked, tmp_path, capsys):
    results = json.loads(checked["live"].read_text())
    results["inputs"].update({
        "waivers": {"file": "waivers.yaml", "sha256": "0" * 64, "disabled": False},
        "profile": {"name": "xapi", "extends": "xapi", "severity": {}, "disabled": []},
        "policies": {**results["inputs"]["policies"], "extra": ["site-rules"]}})
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    _, out, _ = runbook(capsys, path)
    (check,) = [line for line in out.splitlines() if line.startswith("migready check")]
    assert check == ("migready check recheck/prod-ch82.json dr-xs8.json --plan live.yaml "
                     "--waivers waivers.yaml --profile xapi --policies site-rules")
    collect = [line for line in out.splitlines() if line.startswith("migready collect")]
    assert collect == ["migready collect --server https://192.0.2.1 --password-env XS_PASSWORD "
                       "-o recheck/prod-ch82.json"]
