"""`migready demo`: the whole pipeline on the bundled sample pools, into reports/.

A Citrix Hypervisor 8.2 CU1 pool (prod-ch82) moves to a XenServer 8 pool (dr-xs8) and is
then upgraded host by host (samples/demo-plan.yaml); every rule family fails somewhere
and passes elsewhere. The demo writes the results and the HTML and PDF reports in
English and Japanese.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from checker.atomic import atomic_writer
from checker.check import CheckOptions, run_check
from checker.report import build_context, load_signoff, render_html, render_pdf

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@dataclass
class DemoOutcome:
    verdict: str
    summary: dict[str, int]
    files: list[Path] = field(default_factory=list)


def run_demo(out_dir: Path = ROOT / "reports", *, pdf: bool = True) -> DemoOutcome:
    """Check the demo plan and write results.json plus reports; return what was written."""
    results = run_check(CheckOptions(
        inventories=[SAMPLES / "pools" / "prod-ch82.json", SAMPLES / "pools" / "dr-xs8.json"],
        plan=SAMPLES / "demo-plan.yaml", waivers=SAMPLES / "demo-waivers.yaml"))
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    results_path = out_dir / "demo-results.json"
    with atomic_writer(results_path) as handle:
        json.dump(results, handle, indent=1, ensure_ascii=False)
    files.append(results_path)
    signoff = load_signoff(SAMPLES / "demo-signoff.yaml")
    for lang in ("en", "ja"):
        context = build_context(results, lang=lang, signoff=signoff)
        html_path = out_dir / f"demo-report.{lang}.html"
        with atomic_writer(html_path) as handle:
            handle.write(render_html(context))
        files.append(html_path)
        if pdf:
            pdf_path = out_dir / f"demo-report.{lang}.pdf"
            data = render_pdf(context)
            with atomic_writer(pdf_path, binary=True) as handle:
                handle.write(data)
            files.append(pdf_path)
    return DemoOutcome(results["verdict"], results["summary"]["by_verdict"], files)
