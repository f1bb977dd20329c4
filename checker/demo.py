"""`migready demo`: the whole pipeline on the bundled sample pools.

A Citrix Hypervisor 8.2 CU1 pool (prod-ch82) moves to a XenServer 8 pool (dr-xs8) and is
then upgraded host by host (samples/demo-plan.yaml); every rule family fails somewhere
and passes elsewhere. The demo writes the results and the HTML and PDF reports in
English and Japanese: into the folder given, else reports/ when the current folder has one
(a checkout has), else the current folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from checker.atomic import atomic_writer
from checker.bundled import bundled
from checker.check import CheckOptions, run_check
from checker.report import build_context, load_signoff, render_html, render_pdf

SAMPLES = bundled("samples")


@dataclass
class DemoOutcome:
    verdict: str
    summary: dict[str, int]
    files: list[Path] = field(default_factory=list)


def default_out_dir() -> Path:
    """reports/ in a checkout (where `make demo` runs), else the current folder: never the
    installed package's folder."""
    reports = Path("reports")
    return reports if reports.is_dir() else Path(".")


def run_demo(out_dir: Path | None = None, *, pdf: bool = True) -> DemoOutcome:
    """Check the demo plan and write results.json plus reports; return what was written."""
    out_dir = out_dir or default_out_dir()
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
