"""Benchmark: what a person reads of the synthetic 64-host / 5,000-VM pool's readiness audit
(its default text, HTML and PDF report, the HTML opened in Chromium), and HTML + PDF of a
1,000-operation plan on the same pool.

Targets (issue 13): the audit's default text at most 300 lines; its HTML rendered in at most
3 s, under 1 GiB, at most 5 MB, opened by Chromium in at most 2 s; its PDF in at most 60 s,
at most 150 pages, under 1 GiB. Each audit measurement runs as `migready report` does (the
results file read, then rendered) in a fresh process, so its peak memory is its own; the
render time excludes reading the file. The 1,000-operation plan (issue: reports): PDF under
60 s with fewer pages than operations / 4.

    .venv/bin/python bench/bench_report.py [--vms 5000 --ops 1000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import harness

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_audit import OUT, inventory_for  # noqa: E402
from bench_audit import measure as measure_audit  # noqa: E402

from checker.check import CheckOptions, run_check  # noqa: E402
from checker.inventory import Inventory  # noqa: E402
from checker.report import build_context, render_html, render_pdf  # noqa: E402

GiB = harness.GiB

#: One audit measurement, as `migready check` (text) or `migready report` (html, pdf) does it.
_BODY = """
from checker.results_read import load_results
results = load_results(src, lean="report")  # as `migready report` reads it
phases["load"] = time.perf_counter() - t0
phases["load_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t1 = time.perf_counter()
if what == "text":
    from checker.output import format_text
    data = format_text(results).encode()
else:
    from checker.report import build_context, render_html, render_pdf
    context = build_context(results, lang="en")
    data = render_html(context).encode() if what == "html" else render_pdf(context)
phases["render"] = time.perf_counter() - t1
with open(out, "wb") as f:
    f.write(data)
"""


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


def pdf_pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in out.splitlines() if line.startswith("Pages:")))


def open_in_chromium(html: Path) -> tuple[float, int]:
    """Seconds from navigation to the load event, best of three, and the page's elements."""
    from playwright.sync_api import sync_playwright

    best = float("inf")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        for _ in range(3):
            page = browser.new_page()
            start = time.perf_counter()
            page.goto(html.as_uri(), wait_until="load")
            best = min(best, time.perf_counter() - start)
            elements = page.evaluate("document.getElementsByTagName('*').length")
            page.close()
        browser.close()
    return best, elements


def audit_figures(hosts: int, vms: int) -> bool:
    inventory = inventory_for(hosts, vms)
    results = OUT / f"audit-{hosts}h-{vms}vm.results.json"
    if not results.exists() or results.stat().st_mtime < inventory.stat().st_mtime:
        measure_audit("audit", inventory, results, 1)
    size = results.stat().st_size
    print(f"audit results: {size / 1e6:.1f} MB ({size / inventory.stat().st_size:.2f}x the inventory)")
    ok = True
    for what, suffix in (("text", "txt"), ("html", "html"), ("pdf", "pdf")):
        out = OUT / f"audit-{hosts}h-{vms}vm.en.{suffix}"
        m = harness.measure(_BODY, what, results, out, 1)
        line = (f"audit {what}: read {m['load']:.1f} s, render {m['render']:.2f} s, "
                f"peak {m['rss'] / 2**20:,.0f} MiB ({m['load_rss'] / 2**20:,.0f} MiB after the read), "
                f"{out.stat().st_size / 1e6:.2f} MB")
        if what == "text":
            lines = out.read_text(encoding="utf-8").count("\n")
            line += f", {lines} lines"
            ok &= lines <= 300
        elif what == "html":
            seconds, elements = open_in_chromium(out)
            line += f"; Chromium opens it in {seconds:.2f} s, {elements:,} elements"
            ok &= m["render"] <= 3 and out.stat().st_size <= 5e6 and seconds <= 2
        else:
            pages = pdf_pages(out)
            line += f", {pages} pages"
            ok &= m["render"] <= 60 and pages <= 150
        ok &= m["rss"] < GiB
        print(line)
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--vms", type=int, default=5000)
    ap.add_argument("--ops", type=int, default=1000)
    args = ap.parse_args()
    ok = audit_figures(args.hosts, args.vms)
    print("audit targets:", "PASS" if ok else "FAIL",
          "(text <= 300 lines; HTML <= 3 s, <= 5 MB, opened <= 2 s; PDF <= 60 s, <= 150 pages; "
          "each < 1 GiB)")
    inventory = inventory_for(args.hosts, args.vms)
    plan = run_check(CheckOptions(inventories=[inventory], plan=write_plan(inventory, args.ops)))
    plan_html, plan_html_s = timed(lambda: render_html(build_context(plan, lang="en")))
    pdf, pdf_s = timed(lambda: render_pdf(build_context(plan, lang="ja")))
    out = OUT / "plan-1000.ja.pdf"
    out.write_bytes(pdf)
    pages = pdf_pages(out)
    print(f"plan ({len(plan['operations'])} operations): HTML {plan_html_s:.2f} s, "
          f"{len(plan_html) / 1e6:.1f} MB; PDF (ja) {pdf_s:.1f} s, {pages} pages")
    plan_ok = pdf_s < 60 and pages < args.ops / 4
    print("plan targets:", "PASS" if plan_ok else "FAIL",
          "(1,000-operation PDF < 60 s with fewer pages than operations / 4)")
    return 0 if ok and plan_ok else 1


if __name__ == "__main__":
    sys.exit(main())
