"""Benchmark: the readiness audit of a synthetic 64-host pool (every running VM to every
other host, every host evacuated), against a plain `json.load` of its inventory.

Targets (issue 13): the audit within 10x the `json.load` time, linear from 2,500 to 10,000
VMs (doubling the VMs at most doubles the time); a results file at most 2x the inventory at
5,000 VMs; peak memory < 1 GiB at every size, 10,000 VMs included. Each measurement runs in
a fresh subprocess.

    .venv/bin/python bench/bench_audit.py [--hosts 64 --sizes 2500,5000,10000 --runs 1]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import harness

HERE = Path(__file__).resolve().parent
ROOT, OUT, GiB = harness.ROOT, harness.OUT, harness.GiB

_BODY = """
if what == "json.load":
    with open(src) as f:
        json.load(f)
else:
    from checker.check import CheckOptions, run_check
    from checker.output import iter_json
    results = run_check(CheckOptions(inventories=[src]))
    with open(out, "w", encoding="utf-8") as f:  # as `migready check --format json -o` does
        f.writelines(iter_json(results))
"""


def measure(what: str, inventory: Path, out: Path, runs: int) -> dict[str, float]:
    return harness.measure(_BODY, what, inventory, out, runs)


def inventory_for(hosts: int, vms: int) -> Path:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    from synth import write_dump

    from checker.dump import import_file
    from checker.inventory import save_document

    OUT.mkdir(exist_ok=True)
    import hashlib  # the cached inventory is only reused while the generator is unchanged

    version = hashlib.sha256((HERE / "synth.py").read_bytes()).hexdigest()[:8]
    path = OUT / f"audit-{hosts}h-{vms}vm-{version}.json"
    if not path.exists():
        dump = OUT / f"audit-{hosts}h-{vms}vm.xml"
        write_dump(dump, hosts=hosts, vms=vms, vdis=vms * 4, seed=1)
        save_document(import_file(dump), path)
        dump.unlink()
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--sizes", default="2500,5000,10000")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for vms in sizes:
        inventory = inventory_for(args.hosts, vms)
        results = OUT / f"audit-{args.hosts}h-{vms}vm.results.json"
        load = measure("json.load", inventory, results, args.runs)
        audit = measure("audit", inventory, results, args.runs)
        rows.append((vms, load, audit, inventory.stat().st_size, results.stat().st_size))
    print(f"{'VMs':>6} {'json.load s':>12} {'audit s':>9} {'ratio':>6} {'peak MiB':>9} "
          f"{'inventory MB':>13} {'results MB':>11} {'size x':>7}")
    ok = True
    for vms, load, audit, inv_size, res_size in rows:
        ratio = audit["seconds"] / load["seconds"]
        size_x = res_size / inv_size
        print(f"{vms:>6} {load['seconds']:>12.2f} {audit['seconds']:>9.2f} {ratio:>6.1f} "
              f"{audit['rss'] / 2**20:>9.0f} {inv_size / 1e6:>13.1f} {res_size / 1e6:>11.1f} {size_x:>7.2f}")
        ok &= ratio <= 10 and audit["rss"] < GiB and (size_x <= 2 or vms != 5000)
    for (v1, _, a1, _, _), (v2, _, a2, _, _) in itertools.pairwise(rows):
        growth = a2["seconds"] / a1["seconds"]
        scale = v2 / v1
        print(f"{v1} -> {v2} VMs: time x{growth:.2f} for x{scale:g} VMs")
        ok &= growth <= scale * 1.1  # 10% measurement noise allowed
    print("targets:", "PASS" if ok else "FAIL",
          "(audit <= 10x json.load and < 1 GiB at every size, results <= 2x inventory at 5,000 "
          "VMs; linear growth)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
