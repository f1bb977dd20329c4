"""Reports: results -> one self-contained HTML file, and a PDF of the same HTML (WeasyPrint).

`templates/` (package data, see checker/bundled.py) holds report.html and report.css. The
template receives a ReportContext (`context.py`), never raw results, and is autoescaped
everywhere.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from checker.bundled import bundled
from checker.errors import MigreadyError
from checker.report.context import ReportContext, build_context

TEMPLATES = bundled("templates")
#: Chart colours, given to the SVG as fill attributes (PDF renderers ignore CSS classes there).
COLOURS = {"blocked": "#b3261e", "undecided": "#b26a00", "ready_with_warnings": "#8a6d00",
           "ready": "#1e7b34", "used": "#9aa0a6", "planned": "#1565c0", "over": "#b3261e",
           "track": "#eceef1"}
JAPANESE_FONTS = ("IPAexGothic", "IPAGothic", "Noto Sans CJK JP", "Noto Sans JP", "TakaoGothic",
                  "VL Gothic")


class ReportError(MigreadyError):
    """The report cannot be made on this machine (a missing font or library)."""


@cache
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                       autoescape=select_autoescape(["html"], default=True))


def render_html(context: ReportContext, *, pdf: bool = False, runbook: Any = None) -> str:
    """The report; with `runbook` (checker.runbook.Runbook) its appendix of xe commands."""
    env = environment()
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html").render(r=context, css=css, pdf=pdf, colours=COLOURS,
                                                  runbook=runbook)


def load_signoff(path: str | Path) -> dict[str, str]:
    """The sign-off block: who prepared, reviewed and approved, the decision and the date
    (checked by schemas/signoff.schema.json alone: a YYYY-MM-DD date must be a real day)."""
    from checker import yamlschema
    from checker.errors import InputError

    checked = yamlschema.load(path, "signoff", aliases=False)
    checked.raise_problems(InputError, "sign-off")
    return {key: str(value) for key, value in checked.data.items()}


def japanese_font() -> str | None:
    """The first Japanese font fontconfig knows, or None."""
    if not shutil.which("fc-list"):
        return None
    out = subprocess.run(["fc-list", ":lang=ja", "family"], capture_output=True, text=True,
                         check=False).stdout
    families = {name.strip() for line in out.splitlines() for name in line.split(",")}
    return next((f for f in JAPANESE_FONTS if f in families), next(iter(sorted(families)), None))


def render_pdf(context: ReportContext, *, runbook: Any = None) -> bytes:
    """The PDF of the report; Japanese needs a Japanese font (never boxes)."""
    if context.lang == "ja" and japanese_font() is None:
        raise ReportError("no Japanese font is installed, so the PDF would show boxes: install "
                          "one (Debian/Ubuntu: apt-get install fonts-ipaexfont-gothic, or "
                          "fonts-noto-cjk) and run again")
    try:
        from weasyprint import HTML
    except OSError as exc:  # Pango missing
        raise ReportError(f"WeasyPrint cannot load its libraries ({exc}): install Pango "
                          "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0)") from None
    html = render_html(context, pdf=True, runbook=runbook)
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()


__all__ = ["ReportContext", "ReportError", "build_context", "load_signoff", "render_html",
           "render_pdf"]
