"""Benchmark: `migready suggest --rolling-upgrade` on the synthetic 64-host, 5,000-VM pool,
against a plain `json.load` of its inventory.

Target (issue 14): at most 30x the `json.load` time, peak memory < 1 GiB. Two pools: the
one bench_audit.py builds, where every tenth VM's disks are on its host's local SR (so every
host's evacuation is blocked, and the answer is the blockers), and the same pool with those
disks on the shared NFS SR (what storage-migrating them first would give: a full plan of 64
evacuations, master first). Each measurement runs in a fresh subprocess; `check s` is
`migready check --plan` of the plan suggest wrote, for scale (suggest checks it once, or
again without the hosts it had to leave out).

    .venv/bin/python bench/bench_suggest.py [--hosts 64 --vms 5000 --runs 1]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import harness
from bench_audit import inventory_for

OUT, GiB = harness.OUT, harness.GiB

_BODY = """
if what == "json.load":
    with open(src) as f:
        json.load(f)
elif what == "check":  # the written plan, as `migready check --plan` checks it
    from checker.check import CheckOptions, run_check
    run_check(CheckOptions(inventories=[src], plan=out))
else:
    from checker.suggest import Request, suggest
    found = suggest(Request([src], rolling_upgrade=what.split(":", 1)[1]))
    with open(out, "w", encoding="utf-8") as f:
        f.write(found.text or "")
        f.writelines(f"# blocker: {b}\\n" for b in found.blockers)
    phases["steps"] = len(found.steps)
    phases["blockers"] = len(found.blockers)
"""


def shared_disks(inventory: Path) -> Path:
    """The pool with every disk on a local SR moved to the shared NFS SR (cached)."""
    path = inventory.with_name(inventory.stem + "-shared.json")
    if path.exists():
        return path
    doc = json.loads(inventory.read_text())
    objects = doc["objects"]
    nfs = next(ref for ref, sr in objects["SR"].items() if sr["name_label"] == "Shared NFS")
    for ref, vdi in objects["VDI"].items():
        sr = objects["SR"].get(vdi["SR"])
        if sr is not None and sr["name_label"] == "Local storage" and vdi.get("VBDs"):
            sr["VDIs"].remove(ref)
            vdi["SR"] = nfs
            objects["SR"][nfs]["VDIs"].append(ref)
    path.write_text(json.dumps(doc))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--vms", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    generated = inventory_for(args.hosts, args.vms)
    pool = json.loads(generated.read_text())["pool"]["name_label"]
    ok = True
    print(f"{'pool':<28} {'json.load s':>12} {'suggest s':>10} {'ratio':>6} {'peak MiB':>9} "
          f"{'steps':>6} {'blockers':>9} {'check s':>8}")
    for label, inventory in (("as generated (local disks)", generated),
                             ("local disks moved to shared", shared_disks(generated))):
        out = OUT / f"suggest-{args.hosts}h-{args.vms}vm.yaml"
        load = harness.measure(_BODY, "json.load", inventory, out, args.runs)
        found = harness.measure(_BODY, f"suggest:{pool}", inventory, out, args.runs)
        check = harness.measure(_BODY, "check", inventory, out, args.runs)
        ratio = found["seconds"] / load["seconds"]
        print(f"{label:<28} {load['seconds']:>12.2f} {found['seconds']:>10.2f} {ratio:>6.1f} "
              f"{found['rss'] / 2**20:>9.0f} {found['steps']:>6.0f} {found['blockers']:>9.0f} "
              f"{check['seconds']:>8.2f}")
        ok &= ratio <= 30 and found["rss"] < GiB
    print("targets:", "PASS" if ok else "FAIL", "(suggest <= 30x json.load, < 1 GiB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
