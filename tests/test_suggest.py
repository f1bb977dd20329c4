"""`migready suggest`: the plan it writes is what `check` reports ready; when none exists, the
blockers it names are what rules it out (removing them lets it find one).

Cases on the sample pools (tests/policies/_base) name their VMs and hosts; the property tests
draw small synthetic pools (bench/synth.py, as tests/test_reference.py builds them) with their
hosts' free memory drawn; the real dumps (tests/data/realdata) give the blockers real pools have.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import PROD, Objects, add_host, by_name, derived, real_inventory, shrink_h2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.cli import cli
from checker.dump import import_file
from checker.errors import InputError
from checker.evaluate import evaluate
from checker.facts import World
from checker.inventory import Inventory
from checker.plan import PlanError, load_plan
from checker.policy import load_rules
from checker.results import build_results
from checker.suggest import Request, Suggestion, gib, suggest

ROOT = Path(__file__).resolve().parents[1]
GiB = 1 << 30
READY = ("ready", "ready_with_warnings")
RULES = load_rules()


def checked(tmp_path: Path, inventories: list[Path], found: Suggestion) -> dict[str, Any]:
    """The suggested plan written out and checked as `migready check --plan` does (run_check,
    but with the rules loaded once for the module: the CLI tests run the command itself)."""
    assert found.text is not None
    plan = tmp_path / "suggested.yaml"
    plan.write_text(found.text, encoding="utf-8")
    world = World([Inventory.load(p) for p in inventories])
    return build_results(evaluate(world, RULES, load_plan(plan, world)), inputs={})


def operations(found: Suggestion) -> list[dict[str, Any]]:
    assert found.text is not None
    return yaml.safe_load(found.text)["operations"]


def moves_of(found: Suggestion) -> dict[str, tuple[str, int]]:
    """VM -> (destination host, wave) of the suggested live moves."""
    return {vm: (op["destination"]["host"], op["wave"]) for op in operations(found)
            if op["kind"] == "live" for vm in op["vms"]}


# ---------------------------------------------------------------------------------
# The sample pools
# ---------------------------------------------------------------------------------

def test_evacuation_is_checked_ready_and_ends_with_the_empty_hosts_evacuation(tmp_path):
    found = suggest(Request([PROD], evacuate="ch82-h2"), RULES)
    assert found.blockers == []
    assert moves_of(found) == {"web-02": ("ch82-h1", 1)}
    assert operations(found)[-1] == {"kind": "evacuate", "host": "ch82-h2", "wave": 2}
    assert found.text.startswith("# Suggested by migready")
    assert checked(tmp_path, [PROD], found)["verdict"] in READY


def test_a_vm_on_local_storage_is_the_blocker_and_the_rest_is_the_partial_plan(tmp_path):
    found = suggest(Request([PROD], evacuate="ch82-h1"), RULES)
    assert found.blockers == ["1 VM(s) have disks on Local storage ch82-h1: storage-migrate them "
                              "first (db-01)"]
    assert moves_of(found) == {"app-01": ("ch82-h2", 1), "web-01": ("ch82-h2", 1)}
    assert all(op["kind"] == "live" for op in operations(found))  # ch82-h1 is not emptied
    assert checked(tmp_path, [PROD], found)["verdict"] in READY


#: web-01 once app-01 has taken 16 GiB of the 20 GiB shrink_h2 leaves on ch82-h2.
WEB_01_SHORT = ("web-01 (8.1 GiB) fits on no remaining host: largest free 3.8 GiB on ch82-h2 "
                "(4.3 GiB short)")


def test_memory_the_first_move_uses_is_not_offered_to_the_next(tmp_path):
    """shrink_h2 leaves ch82-h2 20 GiB: app-01 (16 GiB, the bigger) goes first; web-01 (8 GiB)
    then finds 4 GiB, and the blocker says so."""
    pool = derived(tmp_path, shrink_h2)
    found = suggest(Request([pool], moves=["web-01", "app-01"], to="prod-ch82"), RULES)
    assert moves_of(found) == {"app-01": ("ch82-h2", 1)}
    assert found.blockers == [WEB_01_SHORT]
    assert checked(tmp_path, [pool], found)["verdict"] in READY


def test_keep_free_is_headroom_the_plan_leaves(tmp_path):
    pool = derived(tmp_path, shrink_h2)
    found = suggest(Request([pool], moves=["web-01"], to="prod-ch82", keep_free="15GiB"), RULES)
    assert found.text is None
    assert found.blockers == ["web-01 (8.1 GiB) fits on no remaining host: largest free 5 GiB on ch82-h2 "
                              "after the 15GiB kept free (3.1 GiB short)"]
    assert moves_of(suggest(Request([pool], moves=["web-01"], to="prod-ch82", keep_free="10GiB"), RULES)) == {
        "web-01": ("ch82-h2", 1)}


def test_a_third_host_takes_what_the_second_cannot_and_avoid_keeps_vms_off_it(tmp_path):
    def three_hosts(objects: Objects) -> None:
        shrink_h2(objects)
        add_host(objects, "ch82-h2", "ch82-h3")

    pool = derived(tmp_path, three_hosts)
    found = suggest(Request([pool], evacuate="ch82-h1", max_per_wave=1), RULES)
    # Biggest first, each on the host with the most room left: h3 is empty, h2 kept 20 GiB.
    assert moves_of(found) == {"app-01": ("ch82-h3", 1), "web-01": ("ch82-h2", 2)}
    assert checked(tmp_path, [pool], found)["verdict"] in READY
    avoided = suggest(Request([pool], evacuate="ch82-h1", avoid=["ch82-h3"]), RULES)
    assert moves_of(avoided) == {"app-01": ("ch82-h2", 1)}
    assert WEB_01_SHORT in avoided.blockers


def test_never_to_an_older_host_even_where_xapi_would_allow_it(tmp_path):
    """Both hosts at xapi 25.31 (XAPI then compares xen too), ch82-h2 at an older xen: the
    pool is not in a rolling upgrade, so XAPI lets a VM go live there (GEN-001 passes), but
    suggest never sends a VM to an older host."""
    def older_h2(objects: Objects) -> None:
        for host in objects["host"].values():
            host["software_version"] = {**host["software_version"], "xapi_build": "25.31.0"}
        host = by_name(objects, "host", "ch82-h2")
        host["software_version"]["xen"] = "4.13.4"

    found = suggest(Request([derived(tmp_path, older_h2)], moves=["web-01"], to="prod-ch82"), RULES)
    assert found.text is None
    assert found.blockers == ["VM 'web-01' can go to no host: older version on 1 of 1 host(s) (host "
                              "'ch82-h2' runs an older version than the VM's host)"]


def test_waves_hold_at_most_max_per_wave_moves():
    found = suggest(Request([PROD], moves=["web-01", "app-01"], to="prod-ch82", max_per_wave=1), RULES)
    assert moves_of(found) == {"app-01": ("ch82-h2", 1), "web-01": ("ch82-h2", 2)}


def test_moves_past_the_window_are_left_out_and_said():
    found = suggest(Request([PROD], moves=["web-01", "app-01"], to="prod-ch82", window="1s"), RULES)
    assert found.text is None
    assert found.blockers == ["2 move(s) do not fit the 1s window at 3 per wave: app-01, web-01"]
    ample = suggest(Request([PROD], moves=["web-01", "app-01"], to="prod-ch82", window="4h"), RULES)
    assert yaml.safe_load(ample.text)["settings"] == {"window": "4h"}


def test_the_same_pools_give_the_same_plan():
    request = Request([PROD], evacuate="ch82-h1", command="migready suggest")
    assert suggest(request, RULES).text == suggest(request, RULES).text


def test_rolling_upgrade_is_xapis_evacuations_master_first(tmp_path):
    found = suggest(Request([PROD], rolling_upgrade="prod-ch82"), RULES)
    # ch82-h1 holds db-01, whose disk only it sees: left out, with its blocker.
    assert [op["host"] for op in operations(found)] == ["ch82-h2"]
    assert found.steps == [("ch82-h2", {"web-02": "ch82-h1"})]
    assert found.blockers == ["host ch82-h1 cannot be evacuated: 1 VM(s) have disks on Local storage "
                              "ch82-h1: storage-migrate them first (db-01)"]
    assert "# Step 1: evacuate ch82-h2 (then upgrade it): web-02 -> ch82-h1" in found.text
    assert checked(tmp_path, [PROD], found)["verdict"] in READY


@pytest.mark.parametrize(("request_", "message"), [
    (Request([PROD]), "give one of --evacuate HOST, --rolling-upgrade POOL or --move SELECTOR"),
    (Request([PROD], evacuate="ch82-h1", rolling_upgrade="prod-ch82"), "give one of"),
    (Request([PROD], moves=["web-01"]), "--move needs --to"),
    (Request([PROD], evacuate="ch82-h1", keep_free="lots"), "--keep-free lots: expected"),
    (Request([PROD], evacuate="ch82-h1", window="soon"), "--window soon: expected"),
    (Request([PROD], evacuate="ch82-h1", max_per_wave=0), "--max-per-wave"),
    (Request([PROD], rolling_upgrade="prod-ch82", avoid=["ch82-h1"]), "cannot be honoured"),
])
def test_bad_requests_are_input_errors(request_, message):
    with pytest.raises(InputError, match=re.escape(message)):
        suggest(request_, RULES)


def test_selectors_are_the_plans_with_their_errors():
    with pytest.raises(PlanError, match=re.escape("--evacuate: no host matches 'ch82-h9'")):
        suggest(Request([PROD], evacuate="ch82-h9"), RULES)
    with pytest.raises(PlanError, match=re.escape("--to: no inventory given is the pool 'nowhere'")):
        suggest(Request([PROD], moves=["web-01"], to="nowhere"), RULES)
    with pytest.raises(InputError, match=re.escape("--move: no VM matches tag 'none-such'")):
        suggest(Request([PROD], moves=["tag:none-such"], to="prod-ch82"), RULES)


# ---------------------------------------------------------------------------------
# Across pools (samples/pools: prod-ch82 -> dr-xs8, as test_check's storage plans)
# ---------------------------------------------------------------------------------

SAMPLE_PROD, SAMPLE_DR = ROOT / "samples/pools/prod-ch82.json", ROOT / "samples/pools/dr-xs8.json"


def dr_with(tmp_path: Path, *, iscsi_free_gib: int | None = None, rename: str | None = None) -> Path:
    """dr-xs8 with its DR iSCSI SR's free space set, or its 'VM Network' renamed."""
    def change(objects: Objects) -> None:
        if iscsi_free_gib is not None:
            sr = by_name(objects, "SR", "DR iSCSI")
            sr["physical_utilisation"] = str(int(sr["physical_size"]) - iscsi_free_gib * GiB)
        if rename is not None:
            by_name(objects, "network", "VM Network")["name_label"] = rename
    return derived(tmp_path, change, base=SAMPLE_DR)


def storage_ops(found: Suggestion) -> dict[str, dict[str, Any]]:
    """VM -> its suggested storage operation."""
    return {op["vms"][0]: op for op in operations(found) if op["kind"] == "storage"}


def test_a_cross_pool_move_is_a_storage_plan_check_reports_ready(tmp_path):
    pools = [SAMPLE_PROD, SAMPLE_DR]
    found = suggest(Request(pools, moves=["web-01", "app-01", "big-01"], to="dr-xs8"), RULES)
    assert found.blockers == []
    ops = storage_ops(found)
    assert {vm: op["destination"] for vm, op in ops.items()} == {
        vm: {"pool": "dr-xs8", "host": "xs8-h1"} for vm in ("big-01", "app-01", "web-01")}
    assert ops["app-01"]["storage"] == {"map": {"app-01 disk 0": "DR iSCSI", "app-01 disk 1": "DR iSCSI"}}
    assert ops["app-01"]["networks"] == {"map": {
        "Pool-wide network associated with eth0": "Pool-wide network associated with eth0",
        "VM Network": "VM Network"}}
    assert checked(tmp_path, pools, found)["verdict"] in READY


def test_a_cross_pool_disk_goes_where_earlier_disks_left_room(tmp_path):
    """big-01's disk (500 GiB, 1,500 GiB under the 3x rule) leaves DR iSCSI 40 GiB: web-01's
    disk then needs the thin NFS SR (3 x its 22 GiB physical size), not DR iSCSI."""
    pools = [SAMPLE_PROD, dr_with(tmp_path, iscsi_free_gib=1540)]
    found = suggest(Request(pools, moves=["web-01", "big-01"], to="dr-xs8"), RULES)
    assert found.blockers == []
    ops = storage_ops(found)
    assert ops["big-01"]["storage"] == {"map": {"big-01 disk 0": "DR iSCSI"}}
    assert ops["web-01"]["storage"] == {"map": {"web-01 disk 0": "DR NFS"}}
    assert checked(tmp_path, pools, found)["verdict"] in READY


def test_a_disk_too_big_for_every_sr_is_the_blocker_and_the_rest_moves(tmp_path):
    pools = [SAMPLE_PROD, dr_with(tmp_path, iscsi_free_gib=1024)]
    found = suggest(Request(pools, moves=["web-01", "big-01"], to="dr-xs8"), RULES)
    assert found.blockers == [
        "VM 'big-01' can go to no host: no SR on 2 of 2 host(s) (disk 'big-01 disk 0' needs "
        "1500 GiB (3 x its size) on an SR of host 'xs8-h1': largest free 1024 GiB on DR iSCSI)"]
    assert list(storage_ops(found)) == ["web-01"]
    assert checked(tmp_path, pools, found)["verdict"] in READY


def test_a_cross_pool_move_the_rules_refuse_names_the_rule():
    found = suggest(Request([SAMPLE_PROD, SAMPLE_DR], moves=["web-02"], to="dr-xs8"), RULES)
    assert found.text is None
    assert found.blockers[0].startswith("VM 'web-02' can go to no host: SXM-003 on 2 of 2 host(s)")


def test_avoid_and_keep_free_hold_across_pools():
    """xs8-h2 is AMD (CPU-001 refuses Intel-booted web-01): avoiding xs8-h1 leaves no host;
    keeping 99% free leaves xs8-h1 no room."""
    pools = [SAMPLE_PROD, SAMPLE_DR]
    avoided = suggest(Request(pools, moves=["web-01"], to="dr-xs8", avoid=["xs8-h1"]), RULES)
    assert avoided.text is None
    assert avoided.blockers[0].startswith("VM 'web-01' can go to no host: CPU-001 on 1 of 1 host(s)")
    kept = suggest(Request(pools, moves=["web-01"], to="dr-xs8", keep_free="99%"), RULES)
    assert kept.blockers == ["web-01 (8.1 GiB) fits on no remaining host: largest free 0 GiB on "
                             "xs8-h1 after the 99% kept free (8.9 GiB short)"]


def test_a_network_with_no_same_named_network_lists_the_candidates(tmp_path):
    pools = [SAMPLE_PROD, dr_with(tmp_path, rename="Guest Network")]
    with pytest.raises(InputError, match=re.escape(
            "--to dr-xs8: VM 'web-01' has a VIF on network 'VM Network', and the pool has no "
            "network of that name; its networks: Guest Network, Pool-wide network associated "
            "with eth0, Storage network")):
        suggest(Request(pools, moves=["web-01"], to="dr-xs8"), RULES)


def test_a_cross_pool_plan_is_the_same_each_time():
    request = Request([SAMPLE_PROD, SAMPLE_DR], moves=["web-01", "app-01", "big-01"], to="dr-xs8")
    assert suggest(request, RULES).text == suggest(request, RULES).text


def test_vms_inside_and_outside_the_pool_at_once_are_refused(tmp_path):
    """Two synthetic pools: a VM of each cannot go to the second in one suggestion."""
    docs = [json.loads(synthetic(seed)) for seed in (1, 2)]
    paths = [write(tmp_path, doc, f"pool-{i}.json") for i, doc in enumerate(docs)]
    vms = [f"uuid:{vm['uuid']}" for doc in docs for vm in doc["objects"]["VM"].values()
           if vm["name_label"] == "vm-00001"]
    pool = next(iter(docs[1]["objects"]["pool"].values()))["uuid"]
    with pytest.raises(InputError, match="some VMs are in that pool already"):
        suggest(Request(paths, moves=vms, to=pool), RULES)


# ---------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------

def test_cli_writes_the_plan_and_exits_0_when_everything_moves(tmp_path):
    out = tmp_path / "plan.yaml"
    result = CliRunner().invoke(cli, ["suggest", str(PROD), "--evacuate", "ch82-h2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "check says ready" in result.output
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith(f": migready suggest {PROD} --evacuate ch82-h2")  # how it was made
    check = CliRunner().invoke(cli, ["check", str(PROD), "--plan", str(out)])
    assert check.exit_code == 0, check.output


def test_cli_exits_1_with_the_blockers_and_the_partial_plan(tmp_path):
    out = tmp_path / "plan.yaml"
    result = CliRunner().invoke(cli, ["suggest", str(PROD), "--evacuate", "ch82-h1", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "(a partial plan)" in result.output
    assert ("  - 1 VM(s) have disks on Local storage ch82-h1: storage-migrate them first (db-01)"
            in result.output)
    assert CliRunner().invoke(cli, ["check", str(PROD), "--plan", str(out)]).exit_code == 0


def test_cli_cross_pool_plan_is_what_check_reports_ready(tmp_path):
    out, pools = tmp_path / "plan.yaml", [str(SAMPLE_PROD), str(SAMPLE_DR)]
    result = CliRunner().invoke(cli, ["suggest", *pools, "--move", "web-01", "--move", "app-01",
                                      "--to", "dr-xs8", "-o", str(out)])
    assert result.exit_code == 0, result.output
    check = CliRunner().invoke(cli, ["check", *pools, "--plan", str(out)])
    assert check.exit_code == 0, check.output


def test_cli_network_with_no_same_named_network_is_exit_2(tmp_path):
    out = tmp_path / "plan.yaml"
    pools = [str(SAMPLE_PROD), str(dr_with(tmp_path, rename="Guest Network"))]
    result = CliRunner().invoke(cli, ["suggest", *pools, "--move", "web-01", "--to", "dr-xs8",
                                      "-o", str(out)])
    assert result.exit_code == 2
    assert "its networks: Guest Network, " in result.output
    assert not out.exists()


def test_cli_bad_input_is_exit_2_without_a_file(tmp_path):
    out = tmp_path / "plan.yaml"
    result = CliRunner().invoke(cli, ["suggest", str(PROD), "--evacuate", "nobody", "-o", str(out)])
    assert result.exit_code == 2
    assert "no host matches 'nobody'" in result.output
    assert not out.exists()


def test_gib_is_whole_when_whole():
    assert (gib(64 * GiB), gib(int(1.5 * GiB))) == ("64 GiB", "1.5 GiB")
    assert (gib(int(3.97 * GiB), down=True), gib(int(3.91 * GiB), down=False)) == ("3.9 GiB", "4 GiB")


# ---------------------------------------------------------------------------------
# Properties, on small synthetic pools
# ---------------------------------------------------------------------------------

@cache
def synthetic(seed: int) -> str:
    """A 3-host, 12-VM pool from bench/synth.py as inventory JSON (every tenth VM's disks on
    its host's local SR)."""
    spec = importlib.util.spec_from_file_location("synth", ROOT / "bench" / "synth.py")
    assert spec is not None and spec.loader is not None
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        dump = synth.write_dump(Path(tmp) / "pool.xml", hosts=3, vms=12, vdis=24, seed=seed, templates=2)
        return json.dumps(import_file(dump))


def footprint(vm: dict[str, Any]) -> int:
    mib = 1 << 20
    return sum(-(-int(vm[f]) // mib) * mib for f in ("memory_dynamic_min", "memory_overhead"))


def with_free_memory(doc: dict[str, Any], free_gib: list[int]) -> None:
    """Each host keeps `free_gib` GiB free after its VMs (memory_total set to make it so)."""
    objects = doc["objects"]
    hosts = sorted(objects["host"].items(), key=lambda item: item[1]["name_label"])
    for (ref, host), free in zip(hosts, free_gib, strict=False):
        used = sum(footprint(vm) for vm in objects["VM"].values() if vm.get("resident_on") == ref)
        objects["host_metrics"][host["metrics"]]["memory_total"] = str(
            int(host["memory_overhead"]) + used + free * GiB)


def add_free_memory(doc: dict[str, Any], host_name: str, extra: int) -> None:
    metrics = doc["objects"]["host_metrics"][by_name(doc["objects"], "host", host_name)["metrics"]]
    metrics["memory_total"] = str(int(metrics["memory_total"]) + extra)


def onto_shared_storage(doc: dict[str, Any], vm_names: list[str]) -> None:
    """Every disk of these VMs moved to the pool's shared NFS SR (what storage-migrating them
    first would do)."""
    objects = doc["objects"]
    nfs_ref = next(ref for ref, sr in objects["SR"].items() if sr["name_label"] == "Shared NFS")
    for name in vm_names:
        for vbd in map(objects["VBD"].get, by_name(objects, "VM", name)["VBDs"]):
            vdi = objects["VDI"].get(vbd["VDI"])
            if vdi is not None and vdi["SR"] != nfs_ref:
                objects["SR"][vdi["SR"]]["VDIs"].remove(vbd["VDI"])
                vdi["SR"] = nfs_ref
                objects["SR"][nfs_ref]["VDIs"].append(vbd["VDI"])


MEMORY = re.compile(r"^(.+) \(.+ GiB\) fits on no remaining host: largest free .+ GiB on (\S+)"
                    r"(?: after the .+ kept free)? \((.+) GiB short\)$")
LOCAL = re.compile(r"^\d+ VM\(s\) have disks on .+: storage-migrate them first \((.+)\)$")


def write(tmp_path: Path, doc: dict[str, Any], name: str) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


pools = st.fixed_dictionaries({
    "seed": st.sampled_from([1, 2]),
    "free": st.lists(st.integers(0, 40), min_size=3, max_size=3),
    "host": st.integers(0, 2),
    "per_wave": st.integers(1, 4),
    "keep_free": st.sampled_from([None, "5%", "2GiB"]),
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pool=pools)
def test_a_written_plan_is_ready_and_removing_the_named_blockers_finds_one(tmp_path, pool):
    doc = json.loads(synthetic(pool["seed"]))
    with_free_memory(doc, pool["free"])
    host = sorted(h["name_label"] for h in doc["objects"]["host"].values())[pool["host"]]
    request = {"evacuate": host, "max_per_wave": pool["per_wave"], "keep_free": pool["keep_free"]}
    path = write(tmp_path, doc, "pool.json")
    found = suggest(Request([path], **request), RULES)
    if found.text is not None:
        assert checked(tmp_path, [path], found)["verdict"] in READY
        assert all(len(vms) <= pool["per_wave"] for vms in _waves(found).values())
    # Remove every blocker named: the missing memory added to the host named, the VMs on
    # local storage put on shared storage. Memory alone: then a plan moves everything. Moving
    # disks may show what they hid (those VMs need memory too): a few rounds, and a VM whose
    # disks were moved is never named for its storage again.
    only_memory = all(MEMORY.match(blocker) for blocker in found.blockers)
    moved: set[str] = set()
    for _ in range(3):
        if not found.blockers:
            break
        for blocker in found.blockers:
            if memory := MEMORY.match(blocker):
                # Free memory: with a share kept free, the host's total grows by more.
                share = 0.05 if pool["keep_free"] == "5%" else 0.0
                add_free_memory(doc, memory.group(2), int(float(memory.group(3)) * GiB / (1 - share)) + 1)
            elif local := LOCAL.match(blocker):
                names = local.group(1).split(", ")
                assert not moved & set(names), blocker
                moved.update(names)
                onto_shared_storage(doc, names)
            else:
                pytest.fail(f"a blocker the synthetic pools should not have: {blocker}")
        path = write(tmp_path, doc, "fixed.json")
        found = suggest(Request([path], **request), RULES)
        assert not (only_memory and found.blockers), found.blockers
    assert found.blockers == []
    assert checked(tmp_path, [path], found)["verdict"] in READY


def _waves(found: Suggestion) -> dict[int, list[str]]:
    waves: dict[int, list[str]] = {}
    for op in operations(found):
        if op["kind"] == "live":
            waves.setdefault(op["wave"], []).extend(op["vms"])
    return waves


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from([1, 2]), free=st.lists(st.integers(0, 60), min_size=3, max_size=3))
def test_a_rolling_upgrade_never_moves_a_vm_off_an_upgraded_host(tmp_path, seed, free):
    doc = json.loads(synthetic(seed))
    with_free_memory(doc, free)
    path = write(tmp_path, doc, "pool.json")
    found = suggest(Request([path], rolling_upgrade=doc["pool"]["name_label"]), RULES)
    if found.text is None:
        assert found.blockers
        return
    assert checked(tmp_path, [path], found)["verdict"] in READY
    master = doc["objects"]["host"][next(iter(doc["objects"]["pool"].values()))["master"]]["name_label"]
    evacuated = [host for host, _ in found.steps]
    assert evacuated[0] == master or master not in evacuated
    upgraded: set[str] = set()
    where: dict[str, str] = {}
    for host, placed in found.steps:
        for vm, target in placed.items():
            assert where.get(vm) not in upgraded, f"{vm} left upgraded host {where.get(vm)}"
            where[vm] = target
        upgraded.add(host)


# ---------------------------------------------------------------------------------
# The real dumps
# ---------------------------------------------------------------------------------

def real(tmp_path: Path, name: str, change: Any = None) -> Path:
    doc = json.loads(json.dumps(real_inventory(name).doc))
    if change is not None:
        change(doc["objects"])
    return write(tmp_path, doc, Path(name).stem + ".json")


def test_real_evacuation_names_each_vms_blocker(tmp_path):
    """cowley1 (XenServer 5.6 FP1 beta, 2 hosts): grimsby's VMs cannot leave it."""
    found = suggest(Request([real(tmp_path, "xenadmin/cowley1.xml")], evacuate="grimsby"), RULES)
    assert found.text is None
    assert found.blockers == [
        "VM 'Windows 2000 SP4 (32-bit) (1)' can go to no host: GEN-002 on 1 of 1 host(s) (VM 'Windows "
        "2000 SP4 (32-bit) (1)' (Running): an HVM guest with no PV drivers reported and no "
        "feature-suspend: XAPI refuses to migrate it (VM_LACKS_FEATURE))",
        "1 VM(s) have disks on Local storage (grimsby): storage-migrate them first "
        "(DVS-Controller-build2750)"]


def test_real_one_host_pool_has_nowhere_to_go(tmp_path):
    found = suggest(Request([real(tmp_path, "xenadmin/Cowley-db.xml")], evacuate="berlin"), RULES)
    assert found.text is None
    assert found.blockers[0].startswith("8 VM(s) have no other host to go to")


def test_real_rolling_upgrade_partial_plan_is_ready(tmp_path):
    """state2 (HA on): grimsby has no VMs and is evacuated; chester's evacuation cannot be
    decided (grimsby's metrics and the VMs' memory overhead are not in the dump)."""
    pool = real(tmp_path, "xenadmin/state2.xml")
    found = suggest(Request([pool], rolling_upgrade="Grimsby pool"), RULES)
    assert found.steps == [("grimsby", {})]
    assert len(found.blockers) == 1
    assert found.blockers[0].startswith("host chester cannot be evacuated: EVAC-001: Could not be decided")
    assert "could not establish the free memory of host 'grimsby'" in found.blockers[0]
    assert checked(tmp_path, [pool], found)["verdict"] in READY


def test_real_rolling_upgrade_blocked_by_local_storage(tmp_path):
    found = suggest(Request([real(tmp_path, "xenadmin/state4.xml")], rolling_upgrade="Hottub"), RULES)
    assert found.text is None
    assert found.blockers == [
        "host inflames cannot be evacuated: 3 VM(s) have disks on Local storage (inflames): "
        "storage-migrate them first (Windows Server 2003 x64 (1), Windows XP SP2 (1), Windows XP SP2 (2))",
        "host incubus cannot be evacuated: 1 VM(s) have disks on Local storage (incubus): "
        "storage-migrate them first (Iscsi Box)"]


def test_real_evacuation_once_the_cpu_features_are_known(tmp_path):
    """Tampa: dt23 reports only 'features' (XenServer 6.1), so CPU-002 cannot decide whether
    dlvm_shared may run there. Given dt23 the features dlvm_shared booted with (the one field
    CPU-002 reads), dlvm_shared moves; dlvm_local stays, its disk on dt16's local SR."""
    def features_pv(objects: Objects) -> None:
        vm = by_name(objects, "VM", "dlvm_shared")
        host = by_name(objects, "host", "dt23")
        host["cpu_info"] = {**host["cpu_info"], "features_pv": vm["last_boot_CPU_flags"]["features"]}

    tampa = real(tmp_path, "xenadmin/tampa-db_inc_snapshots.xml")
    undecided = suggest(Request([tampa], evacuate="dt16"), RULES)
    assert undecided.blockers[0].startswith("VM 'dlvm_shared' can go to no host: CPU-002 undecided")
    pool = real(tmp_path, "xenadmin/tampa-db_inc_snapshots.xml", features_pv)
    found = suggest(Request([pool], evacuate="dt16"), RULES)
    assert moves_of(found) == {"dlvm_shared": ("dt23", 1)}
    assert found.blockers == ["1 VM(s) have disks on Local storage (dt16): storage-migrate them first "
                              "(dlvm_local)"]
    assert checked(tmp_path, [pool], found)["verdict"] in READY
