"""Benchmark: loading a 1,000-move plan (the report benchmark's plan: live moves round the
synthetic 64-host pool, in waves of three) against its inventory: YAML parsing, validation and
selector resolution, best of several loads in one process (the inventory loaded once).

Target (issue 12): validating plans with the JSON Schema must not make this more than 10 %
slower than the hand-written validator did.

    .venv/bin/python bench/bench_plan.py [--vms 1000 --ops 1000 --runs 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_audit import inventory_for  # noqa: E402
from bench_report import write_plan  # noqa: E402

from checker.facts import World  # noqa: E402
from checker.inventory import Inventory  # noqa: E402
from checker.plan import load_plan  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--ops", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    inventory = inventory_for(args.hosts, args.vms)
    path = write_plan(inventory, args.ops)
    world = World([Inventory.load(inventory)])
    times, cpu = [], []
    for _ in range(args.runs):
        world = World(world.inventories)  # no cache kept from the load before
        start, start_cpu = time.perf_counter(), time.process_time()
        plan = load_plan(path, world)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    # CPU time too: on a shared machine the wall clock measures the neighbours as well.
    print(f"load_plan, {len(plan.moves)} moves: best {min(times) * 1000:.1f} ms, "
          f"median {sorted(times)[len(times) // 2] * 1000:.1f} ms; CPU best "
          f"{min(cpu) * 1000:.1f} ms, median {sorted(cpu)[len(cpu) // 2] * 1000:.1f} ms (of {args.runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
