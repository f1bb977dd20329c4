"""Benchmark: `migready import` of a 64-host / 5,000-VM / 20,000-VDI dump.

Targets: import within 3x the time of a bare `xml.etree.ElementTree.iterparse` pass over
the same file, and a peak resident memory under 1 GiB. Each measurement runs in a fresh
subprocess (best of 3) so that `ru_maxrss` is that measurement's own peak.

    .venv/bin/python bench/bench_import.py [--hosts 64 --vms 5000 --vdis 20000 --runs 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import harness

HERE = Path(__file__).resolve().parent
ROOT, OUT, GiB = harness.ROOT, harness.OUT, harness.GiB

_BODY = """
if what == "iterparse":
    import xml.etree.ElementTree as ET
    for _, elem in ET.iterparse(src):
        elem.clear()
else:
    from checker import dump
    from checker.inventory import save_document
    doc = dump.import_file(src)
    phases["import"] = time.perf_counter() - t0
    if what == "import+write":
        save_document(doc, out)
"""


def measure(what: str, dump: Path, out: Path, runs: int) -> dict[str, float]:
    return harness.measure(_BODY, what, dump, out, runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--vms", type=int, default=5000)
    ap.add_argument("--vdis", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    from bench.synth import write_dump

    dump = OUT / f"pool-{args.hosts}h-{args.vms}vm-{args.vdis}vdi-s{args.seed}.xml"
    if not dump.exists():
        write_dump(dump, hosts=args.hosts, vms=args.vms, vdis=args.vdis, seed=args.seed)
    inv = OUT / "bench-inventory.json"
    print(f"dump: {dump.name}, {dump.stat().st_size / 1e6:.1f} MB; best of {args.runs}, "
          "each run in a fresh process")

    base = measure("iterparse", dump, inv, args.runs)
    imp = measure("import", dump, inv, args.runs)
    full = measure("import+write", dump, inv, args.runs)

    rows = [("ElementTree.iterparse (baseline)", base), ("import_file", imp),
            ("import_file + save_document", full)]
    print(f"{'measurement':34} {'seconds':>8} {'x base':>7} {'peak RSS':>9}")
    for name, r in rows:
        print(f"{name:34} {r['seconds']:8.2f} {r['seconds'] / base['seconds']:7.2f} "
              f"{r['rss'] / 2**20:7.0f} MB")
    ratio = imp["seconds"] / base["seconds"]
    ok_time = ratio <= 3.0
    ok_mem = full["rss"] < GiB
    print(f"import time  {ratio:.2f}x baseline (target <= 3x): {'PASS' if ok_time else 'FAIL'}")
    print(f"with writing {full['seconds'] / base['seconds']:.2f}x baseline (reported only)")
    print(f"peak memory  {full['rss'] / 2**20:.0f} MB (target < 1024 MB): "
          f"{'PASS' if ok_mem else 'FAIL'}")
    return 0 if ok_time and ok_mem else 1


if __name__ == "__main__":
    raise SystemExit(main())
