"""The differential test: the fast path (checker/evaluate.py) against the reference
evaluator (checker/reference.py) on every pool the tests know, audit and plans.

The two must give the same findings, one per (operation, destination, rule, subject):
same status, subject, messages (every language), evidence, command and destination; and
so the same verdict for each operation and destination. The fast path's sharing (caches
keyed by what a rule reads, host classes, one rendering for many hosts, grouped passes)
may change how much work is done, never what is found.

Two differences are deliberate, and reference._expand applies them to both sides: the
audit shows a pass (or not applicable) by its rule's title, and a finding grouped over
several hosts (a pass, advice) carries one host's evidence about the destination
(results/1 has no `evidence_by_target`), so those values are compared for that host only.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from conftest import DR, REAL_POOLS, Objects, add_host, by_name, derived, management_nic_at, real_inventory

from checker.dump import import_file
from checker.evaluate import Evaluation, evaluate
from checker.facts import Obj, World, is_real_vm
from checker.fixtures import fixture_dirs, load_inventories
from checker.inventory import Inventory
from checker.plan import Plan, audit_plan, load_plan
from checker.policy import load_rules
from checker.reference import Expanded, evaluate_reference, expand
from checker.results import operation_verdict

ROOT = Path(__file__).resolve().parents[1]
RULES = load_rules()
Pools = Callable[[], list[Inventory]]


# ---------------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------------

def assert_same(pools: Pools, plan_text: str | None, tmp_path: Path) -> None:
    """Both evaluators on the same inventories and plan, each in its own World (so neither
    sees facts the other computed); a mismatch lists the first differing findings."""
    def setting() -> tuple[World, Plan]:
        world = World(pools())
        if plan_text is None:
            return world, audit_plan(world)
        path = tmp_path / "plan.yaml"
        path.write_text(plan_text, encoding="utf-8")
        return world, load_plan(path, world)

    world, plan = setting()
    evaluation = evaluate(world, RULES, plan)
    fast = expand(evaluation)
    world, plan = setting()
    reference = evaluate_reference(world, RULES, plan)
    assert fast, "nothing was evaluated"
    if fast != reference:
        pytest.fail(_report(fast, reference), pytrace=False)
    for mine, theirs in zip(fast, reference, strict=True):  # grouped: its first host's
        assert mine.own_evidence in {None, theirs.own_evidence}, (
            f"{mine}\n  its own: {mine.own_evidence}\nreference: {theirs.own_evidence}")
    assert _verdicts(evaluation) == _verdicts_of(reference)


def _verdicts(evaluation: Evaluation) -> dict[tuple[str, str | None], str]:
    """The fast path's verdict of each operation, per destination in a sweep (the findings
    it keeps for each destination: results' per-host verdicts)."""
    return {(op.move.id, host): operation_verdict(findings) for op in evaluation.operations
            for host, findings in (op.destinations or {None: op.findings}).items()}


def _verdicts_of(expanded: list[Expanded]) -> dict[tuple[str, str | None], str]:
    """The same verdicts from every finding of each (operation, destination)."""
    found: dict[tuple[str, str | None], list[Any]] = {}
    for e in expanded:
        found.setdefault((e.operation, e.destination), []).append(
            SimpleNamespace(status=e.status, rule=RULES.get(e.rule)))
    return {where: operation_verdict(findings) for where, findings in found.items()}


def _report(fast: list[Expanded], reference: list[Expanded], limit: int = 5) -> str:
    """The first few findings that differ, fast and reference side by side by where they are."""
    only_fast = Counter(fast) - Counter(reference)
    only_ref = Counter(reference) - Counter(fast)

    def where(e: Expanded) -> tuple[Any, ...]:
        return (e.operation, e.destination or "", e.rule, e.subject)

    by_place: dict[tuple[Any, ...], list[str]] = {}
    for side, items in (("fast", only_fast), ("reference", only_ref)):
        for e in sorted(items.elements()):
            by_place.setdefault(where(e), []).append(f"{side}: {e}")
    lines = [f"{sum(only_fast.values())} findings only in the fast path, "
             f"{sum(only_ref.values())} only in the reference; the first {limit} places:"]
    for place in sorted(by_place)[:limit]:
        lines += ["---", *by_place[place]]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------
# Pools and plans
# ---------------------------------------------------------------------------------

def plan_of_everything(world: World) -> str:
    """A plan with every kind of move in every pool, selected by uuid: its real VMs live to
    its first host (wave 1: memory booked move after move), one disk of each VM to another
    SR of the pool (wave 2), the VMs storage-moved to the next pool's first host (wave 3,
    with two pools or more) and a rolling upgrade (wave 4)."""
    operations: list[dict[str, Any]] = []
    pools = range(len(world.inventories))
    for pool in pools:
        inv = world.inventories[pool]
        vms = [rec["uuid"] for _, rec in inv.all("VM") if is_real_vm(rec)]
        hosts = [(ref, rec["uuid"]) for ref, rec in inv.all("host")]
        if not vms or not hosts:
            continue
        selectors = [f"uuid:{u}" for u in vms]
        movers = [f"uuid:{rec['uuid']}" for _, rec in inv.all("VM")
                  if is_real_vm(rec) and rec.get("resident_on") != hosts[0][0]]  # not there already
        if movers:
            operations.append({"kind": "live", "vms": movers, "wave": 1,
                               "destination": {"host": f"uuid:{hosts[0][1]}"}})
        operations += _vdi_moves(world, pool)
        if len(world.inventories) > 1:
            other = world.inventories[(pool + 1) % len(world.inventories)]
            target = next(rec["uuid"] for _, rec in other.all("host"))
            operations.append({"kind": "storage", "vms": selectors, "wave": 3,
                               "destination": {"pool": f"uuid:{other.pool['uuid']}",
                                               "host": f"uuid:{target}"}})
        operations.append({"kind": "rolling-upgrade", "pool": f"uuid:{inv.pool['uuid']}", "wave": 4})
    return yaml.safe_dump({"plan": "EVERYTHING", "settings": {"window": "10m"},
                           "operations": operations}, sort_keys=False)


def _vdi_moves(world: World, pool: int) -> list[dict[str, Any]]:
    """Each VM's first disk to the pool's first disk SR it is not on."""
    inv = world.inventories[pool]
    srs = [ref for ref, rec in inv.all("SR") if rec.get("content_type") != "iso"]
    out = []
    for _, vm in inv.all("VM"):
        if not is_real_vm(vm):
            continue
        disks = [inv.get("VDI", vbd.get("VDI")) for _, vbd in inv.get_many("VBD", vm.get("VBDs"))
                 if vbd.get("type") == "Disk"]
        disk = next((d for d in disks if d is not None), None)
        other = next((sr for sr in srs if disk is not None and sr != disk.get("SR")), None)
        move = {"kind": "vdi", "vdi": f"uuid:{disk['uuid']}", "wave": 2,
                "destination": {"sr": f"uuid:{inv.get('SR', other)['uuid']}"}} if other else None
        if move is not None and move not in out:  # state4's VMs share a disk: one move of it
            out.append(move)
    return out


def real(*names: str) -> Pools:
    return lambda: [real_inventory(name) for name in names]


def files(*paths: Path) -> Pools:
    return lambda: [Inventory.load(path) for path in paths]


#: Worlds of real pools: each alone, and pairs for cross-pool storage moves.
REAL_WORLDS = [(n,) for n in REAL_POOLS] + [
    ("xenadmin/tampa-db_inc_snapshots.xml", "xenadmin/cowley1.xml"),
    ("xenadmin/state2.xml", "xenadmin/state4.xml"),
    ("xenadmin/Cowley-db.xml", "xenadmin/tampa-db_inc_snapshots.xml"),
]
SAMPLES = sorted((ROOT / "samples" / "pools").glob("*.json"))


@pytest.mark.parametrize("mode", ["audit", "plan"])
@pytest.mark.parametrize("names", REAL_WORLDS, ids=lambda names: "+".join(Path(n).stem for n in names))
def test_real_pools(names, mode, tmp_path):
    pools = real(*names)
    assert_same(pools, plan_of_everything(World(pools())) if mode == "plan" else None, tmp_path)


def test_samples_audit(tmp_path):
    assert_same(files(*SAMPLES), None, tmp_path)


def test_samples_demo_plan(tmp_path):
    assert_same(files(*SAMPLES), (ROOT / "samples" / "demo-plan.yaml").read_text(encoding="utf-8"),
                tmp_path)


def sample_with_more_hosts(objects: Objects) -> None:
    """prod-ch82 with ch82-h3 and ch82-h4 made like ch82-h2; ch82-h2's and ch82-h3's metrics
    then dangle alike (free memory unknown for the same reason), and ch82-h4 is shrunk to
    20 GiB free: three host classes for MEM-001, one of them two hosts missing a value.
    The management NICs of ch82-h3 and ch82-h4 run at 1 Gbit/s and 100 Mbit/s: LIVE-004's
    advice (below 10 Gbit/s) holds for both, each with its own bandwidth."""
    add_host(objects, "ch82-h2", "ch82-h3")
    add_host(objects, "ch82-h2", "ch82-h4")
    for name in ("ch82-h2", "ch82-h3"):
        by_name(objects, "host", name)["metrics"] = "OpaqueRef:gone"
    for name, mbits in (("ch82-h3", 1000), ("ch82-h4", 100)):
        management_nic_at(objects, name, mbits)
    host = by_name(objects, "host", "ch82-h4")
    objects["host_metrics"][host["metrics"]]["memory_total"] = str(int(host["memory_overhead"]) + 20 * 2**30)


@pytest.mark.parametrize("mode", ["audit", "plan"])
def test_samples_with_more_hosts(mode, tmp_path):
    pools = files(derived(tmp_path, sample_with_more_hosts), DR)
    assert_same(pools, plan_of_everything(World(pools())) if mode == "plan" else None, tmp_path)


@pytest.mark.parametrize("folder", fixture_dirs(ROOT / "tests" / "policies"), ids=lambda p: p.name)
def test_rule_fixtures(folder, tmp_path):
    """Each rule fixture's pools (patched) and plan, or the audit where it has none, with
    every rule, not only the fixture's own."""
    spec = yaml.safe_load((folder / "fixture.yaml").read_text(encoding="utf-8"))
    plan = folder / "plan.yaml"
    assert_same(lambda: load_inventories(folder, spec),
                plan.read_text(encoding="utf-8") if plan.exists() else None, tmp_path)


def _synth() -> Any:
    spec = importlib.util.spec_from_file_location("synth", ROOT / "bench" / "synth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Two small synthetic pools (bench/synth.py): 4 hosts × 40 VMs and 3 hosts × 24 VMs."""
    out = tmp_path_factory.mktemp("synth")
    write_dump = _synth().write_dump
    docs = [import_file(write_dump(out / f"pool{seed}.xml", hosts=hosts, vms=vms, vdis=vms * 2,
                                   seed=seed, templates=2))
            for seed, hosts, vms in ((1, 4, 40), (2, 3, 24))]
    for i, doc in enumerate(docs):  # the generator names every pool alike
        name = f"synthetic-{i + 1}"
        next(iter(doc["objects"]["pool"].values()))["name_label"] = name
    return [Inventory(doc, f"synthetic-{i + 1}") for i, doc in enumerate(docs)]


@pytest.mark.parametrize("mode", ["audit", "plan"])
def test_synthetic_pools(synthetic, mode, tmp_path):
    assert_same(lambda: synthetic, plan_of_everything(World(synthetic)) if mode == "plan" else None,
                tmp_path)


def test_a_cache_key_that_ignores_the_vm_is_caught(monkeypatch, tmp_path):
    """The comparison can fail: with missing facts keyed by their reason alone (the LIM-009
    bug), state2's sweeps share one VM's unknown estimate, and the report shows where."""
    import checker.evaluate_cache

    keyed = checker.evaluate_cache._fact_key

    def without_owner(owner: Any, attr: str, world: World) -> Any:
        key = keyed(owner, attr, world)
        return (attr, "missing", key[3]) if isinstance(owner, Obj) and len(key) == 4 else key

    monkeypatch.setattr(checker.evaluate_cache, "_fact_key", without_owner)
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_same(real("xenadmin/state2.xml"), None, tmp_path)
    report = str(failed.value)
    assert "only in the fast path" in report
    assert "\nfast: op-2@grimsby LIM-009 VM/Debian Etch 4.0 (3)/" in report
    assert "VM 'Debian Etch 4.0 (3)' memory_footprint" in report.split("reference: op-2@grimsby LIM-009")[1]
