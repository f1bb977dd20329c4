"""Benchmark: report rendering. HTML of the synthetic 64-host / 5,000-VM pool's readiness
audit, and HTML + PDF of a 1,000-operation plan on the same pool.

Targets (issue: reports): HTML under 5 s for the whole audit; PDF under 60 s for the
1,000-operation plan, with a sensible page count (ready operations summarised in a
table, not a page each). Rendering only is timed; the check runs beforehand.

    .venv/bin/python bench/bench_report.py [--vms 5000 --ops 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_audit import OUT, inventory_for  # noqa: E402

from checker.check import CheckOptions, run_check  # noqa: E402
from checker.inventory import Inventory  # noqa: E402
from checker.report import build_context, render_html, render_pdf  # noqa: E402


def write_plan(inventory: Path, ops: int) -> Path:
    """`ops` live moves, each VM to the next host round the pool, in waves of three."""
    inv = Inventory.load(inventory)
    vms = sorted((rec["name_label"], rec["resident_on"]) for _, rec in inv.all("VM")
                 if rec.get("power_state") == "Running" and not rec.get("is_control_domain")
                 and not rec.get("is_a_template") and not rec.get("is_a_snapshot"))[:ops]
    hosts = sorted((rec["name_label"], ref) for ref, rec in inv.all("host"))
    lines = ["plan: BENCH-1000", "operations:"]
    for i, (name, home) in enumerate(vms):
        index = next(j for j, (_, ref) in enumerate(hosts) if ref == home)
        target = hosts[(index + 1) % len(hosts)][0]
        lines += ["  - kind: live", f"    vms: [{name}]", f"    destination: {{host: {target}}}",
                  f"    wave: {i // 3 + 1}"]
    path = OUT / f"plan-{ops}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def timed(work):
    start = time.perf_counter()
    value = work()
    return value, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--vms", type=int, default=5000)
    ap.add_argument("--ops", type=int, default=1000)
    args = ap.parse_args()
    inventory = inventory_for(args.hosts, args.vms)
    audit = run_check(CheckOptions(inventories=[inventory]))
    html, html_s = timed(lambda: render_html(build_context(audit, lang="en")))
    print(f"audit ({args.vms} VMs, {len(audit['findings'])} findings): HTML {html_s:.2f} s, "
          f"{len(html) / 1e6:.1f} MB")
    plan = run_check(CheckOptions(inventories=[inventory], plan=write_plan(inventory, args.ops)))
    plan_html, plan_html_s = timed(lambda: render_html(build_context(plan, lang="en")))
    pdf, pdf_s = timed(lambda: render_pdf(build_context(plan, lang="ja")))
    out = OUT / "plan-1000.ja.pdf"
    out.write_bytes(pdf)
    from pypdf import PdfReader

    pages = len(PdfReader(out).pages)
    print(f"plan ({len(plan['operations'])} operations): HTML {plan_html_s:.2f} s, "
          f"{len(plan_html) / 1e6:.1f} MB; PDF (ja) {pdf_s:.1f} s, {pages} pages")
    ok = html_s < 5 and pdf_s < 60 and pages < args.ops / 4
    print("targets:", "PASS" if ok else "FAIL",
          "(audit HTML < 5 s; 1,000-operation PDF < 60 s with fewer pages than operations / 4)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
