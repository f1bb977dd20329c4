"""Reports: the template context, escaping, self-containment, and the PDFs in both languages."""

import dataclasses
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from conftest import PROD, TWO_TO_ONE, derived, one_host_audit, renumbered, shrink_h2
from test_triage import audit_results

from checker.check import CheckOptions, run_check
from checker.cli import main
from checker.output import format_json
from checker.report import ReportContext, ReportError, build_context, render_html, render_pdf
from checker.report import context as context_mod

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
POOLS = [SAMPLES / "pools" / "prod-ch82.json", SAMPLES / "pools" / "dr-xs8.json"]
SIGNOFF = {"prepared_by": "Aiko Yamada", "reviewed_by": "Ben Carter",
           "approved_by": "Chieko Suzuki", "decision": "No-go", "date": "2026-11-26"}


@cache
def demo_results() -> dict:
    return run_check(CheckOptions(inventories=POOLS, plan=SAMPLES / "demo-plan.yaml",
                                  waivers=SAMPLES / "demo-waivers.yaml"))


def test_context_is_a_documented_dataclass_with_the_numbers():
    results = demo_results()
    ctx = build_context(results, lang="en")
    assert dataclasses.is_dataclass(ctx) and ReportContext.__doc__
    assert ctx.verdict == results["verdict"] == "blocked"
    counted = {v: n for v, _, n in ctx.summary}
    assert counted == {v: results["summary"]["by_verdict"].get(v, 0)
                       for v in ("blocked", "undecided", "ready_with_warnings", "ready")}
    # Blockers first, each card with its failing rules.
    assert ctx.blocker_cards and all(c.verdict in {"blocked", "undecided"} for c in ctx.blocker_cards)
    db01 = next(c for c in ctx.blocker_cards if c.vm == "db-01")
    assert {"CPU-001", "LIM-005", "DISK-001"} <= {f.rule for f in db01.problems}
    lim005 = next(f for f in db01.problems if f.rule == "LIM-005")
    assert lim005.command and lim005.command.startswith("xe vdi-disable-cbt uuid=")
    # Waiver register: the expired one is reported as such.
    states = {w.ticket: w.state for w in ctx.waivers}
    assert states["CHG-2026-1150"] == "expired"


def test_cards_of_a_wave_follow_operation_numbers():
    ctx = build_context(renumbered(demo_results(), {"op-5": "op-10"}), lang="en")
    assert [c.id for c in ctx.blocker_cards] == ["op-3", "op-4", "op-6", "op-10", "op-7", "op-8"]


def test_the_host_filter_lists_hosts_not_pools_or_srs():
    results = demo_results()
    ctx = build_context(results, lang="en")
    pools = {i["pool"] for i in results["inputs"]["inventories"]}
    srs = {(o.get("destination") or {}).get("sr") for o in results["operations"]} - {None}
    assert ctx.hosts and not (pools | srs) & set(ctx.hosts)
    assert not [h for h in ctx.hosts if "/" in h or ":" in h]


@pytest.mark.parametrize("lang, shown", [("en", "prod-ch82: 1/1 host ready"),
                                         ("ja", "prod-ch82: 1/1 台のホストに移行可能")])
def test_an_audit_of_one_host_reads_in_the_singular(lang, shown):
    ctx = build_context(one_host_audit(demo_results()), lang=lang)
    assert next(c for c in ctx.blocker_cards if c.id == "op-3").destination == shown


def test_japanese_context_uses_the_policy_texts():
    ctx = build_context(demo_results(), lang="ja")
    assert ctx.verdict_label == "移行不可"
    db01 = next(c for c in ctx.blocker_cards if c.vm == "db-01")
    lim005 = next(f for f in db01.problems if f.rule == "LIM-005")
    assert lim005.title == "移行する仮想ディスクで変更ブロック追跡が無効になっている"
    assert "変更ブロック追跡" in lim005.message
    assert "xe vdi-disable-cbt" in lim005.remediation


def test_html_is_self_contained_and_escapes_everything(tmp_path):
    doc = json.loads(POOLS[0].read_text())
    vm = next(v for v in doc["objects"]["VM"].values() if v["name_label"] == "web-02")
    vm["name_label"] = "<script>alert(1)</script>"
    src = tmp_path / "prod-ch82.json"
    src.write_text(json.dumps(doc))
    results = run_check(CheckOptions(inventories=[src, POOLS[1]]))
    html = render_html(build_context(results, lang="en"))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Only our own filter script: no external resource of any kind.
    assert len(re.findall(r"<script\b", html)) == 1
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html


@pytest.mark.parametrize("lang, new_failures, app_01", [
    ("en", "New failures (1)", "VM &#39;app-01&#39; needs 16.2 GiB"),
    ("ja", "新たな不合格 (1)", "仮想マシン「app-01」"),
])
def test_since_section_shows_what_changed(tmp_path, capsys, lang, new_failures, app_01):
    # The same plan before, then with ch82-h2 shrunk (one field): app-01 no longer fits.
    def results_of(pool, name):
        path = tmp_path / name
        path.write_text(format_json(run_check(CheckOptions(
            inventories=[pool], plan=plan, only=["MEM-001"]))), encoding="utf-8")
        return path

    plan = tmp_path / "plan.yaml"
    plan.write_text(TWO_TO_ONE, encoding="utf-8")
    old, new = results_of(PROD, "old.json"), results_of(derived(tmp_path, shrink_h2), "new.json")
    out = tmp_path / "report.html"
    assert main(["report", str(new), "--since", str(old), "--lang", lang, "-o", str(out)]) == 0
    since = re.search(r'<section id="since">(.*?)</section>', out.read_text(encoding="utf-8"), re.S)
    assert since, "no 'since the last run' section"
    rows = re.findall(r"<tr><td>(.*?)</td><td><span[^>]*>.*?</span></td>\s*"
                      r"<td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>",
                      re.sub(r"</?bdi>", "", since.group(1)))
    assert new_failures in since.group(1)
    assert [row[:3] for row in rows] == [("MEM-001", "app-01", "ch82-h2")]
    assert app_01 in rows[0][3]


def test_missing_japanese_font_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("checker.report.japanese_font", lambda: None)
    with pytest.raises(ReportError, match="fonts-ipaexfont"):
        render_pdf(build_context(demo_results(), lang="ja"))


def test_sign_off_file_is_validated(tmp_path, capsys):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(demo_results()))
    signoff = tmp_path / "signoff.yaml"
    signoff.write_text("prepared_by: A\napprover: B\n")
    assert main(["report", str(results), "--sign-off", str(signoff)]) == 2
    assert "signoff.yaml:2:1: approver: unknown key" in capsys.readouterr().err


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_pdf_of_the_demo_plan(tmp_path, lang):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(demo_results()))
    signoff = tmp_path / "signoff.yaml"
    signoff.write_text("\n".join(f"{k}: {v}" for k, v in SIGNOFF.items()) + "\n")
    out = tmp_path / f"report.{lang}.pdf"
    assert main(["report", str(results), "--format", "pdf", "--lang", lang,
                 "--sign-off", str(signoff), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
    from pypdf import PdfReader

    pages = len(PdfReader(out).pages)
    assert 4 <= pages <= 30
    text = pdf_text(out)
    flat = re.sub(r"\s+", "", text)
    assert ("移行不可" if lang == "ja" else "BLOCKED") in text
    assert "CPU-001" in text and "LIM-005" in text
    for name in ("Aiko Yamada", "Chieko Suzuki"):
        assert name in text
    if lang == "ja":
        assert re.sub(r"\s+", "", "移行する仮想ディスクで変更ブロック追跡が無効になっている") in flat
        fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
        assert "IPAexGothic" in fonts or "NotoSansCJK" in fonts
    # Pages turn into pictures (what a reviewer looks at).
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "2", str(out),
                        str(tmp_path / "page")], check=True)
        assert len(list(tmp_path.glob("page-*.png"))) == 2


def test_large_plans_summarise_ready_operations_in_the_pdf(monkeypatch):
    monkeypatch.setattr(context_mod, "FULL_CARDS_LIMIT", 2)
    ctx = build_context(demo_results(), lang="en")
    assert not ctx.full_cards
    html = render_html(ctx, pdf=True)
    assert "Operations ready" in html


def test_names_are_isolated_so_a_right_to_left_override_cannot_reorder_the_page():
    """A VM named with U+202E (RIGHT-TO-LEFT OVERRIDE): every place the name is shown is a
    <bdi> or a dir="auto" element, which ends the override where the name ends."""
    rlo = "db\u202e-01"
    results = json.loads(json.dumps(demo_results()).replace("db-01", rlo))
    page = render_html(build_context(results, lang="en", signoff={**SIGNOFF, "prepared_by": rlo}))
    assert f"<bdi>{rlo}</bdi>" in page
    body = re.sub(r"<head>.*?</head>", "", page, flags=re.S)
    body = re.sub(r"<bdi>.*?</bdi>", "", body, flags=re.S)
    body = re.sub(r'<(\w+)[^>]*dir="auto"[^>]*>.*?</\1>', "", body, flags=re.S)
    body = re.sub(r"<[^>]*>", "", body)  # attributes (data-search, values) are not shown
    assert "\u202e" not in body


def test_the_report_groups_problems_as_the_text_does():
    for lang, every, scope, fact in (
            ("en", "all 63 other hosts", "8 VMs × 2 hosts", "dst_host.cpu_features_pv"),
            ("ja", "他の63台すべて", "仮想マシン8台 × ホスト2台", "")):  # its messages say it
        ctx = build_context(audit_results(5000, 64), lang=lang)
        assert [(g.rule, len(g.cards)) for g in ctx.blocker_groups] == [("LIVE-001", 500), ("EVAC-001", 32)]
        live = ctx.blocker_groups[0].cards[0]
        assert (live.holder, live.destinations, len(live.commands)) == ("vm-00000", every, 4)
        assert [(g.rule, g.field, g.scope) for g in ctx.gaps] == [("CPU-002", fact, scope)]
        said = "host.cpu_info has no" if lang == "en" else "仮想マシン「vm-00000」"
        assert ctx.gaps[0].reason.startswith(said)
        assert len(ctx.evacuations) == 64 and ctx.pass_counts[0][::2] == ("MEM-001", 5000)
        assert not (ctx.blocker_cards or ctx.warning_cards or ctx.ready_rows)  # an audit: no card per move


def test_the_html_of_a_5000_vm_audit_is_a_few_megabytes_of_groups():
    html = render_html(build_context(audit_results(5000, 64), lang="en"))
    assert len(html.encode()) < 5_000_000
    assert html.count('<article class="card problem') == 500 + 32 + 1667
    assert 'class="card op' not in html
    assert "Passed checks by rule" in html and "Data gaps" in html and "Host evacuations" in html


@pytest.mark.slow
def test_the_pdf_of_a_5000_vm_audit_is_a_usable_document(tmp_path):
    """Blockers a row each, the other warned VMs by name, evacuations a row each: pages
    in tens, not a thousand (bench_report.py measures the real audit)."""
    out = tmp_path / "audit.pdf"
    out.write_bytes(render_pdf(build_context(audit_results(5000, 64), lang="en")))
    from pypdf import PdfReader

    assert len(PdfReader(out).pages) <= 150
    text = pdf_text(out)
    assert "vm-04990" in text and "vm-04998" in text    # the last local-disk VM; the last warned one


def test_the_since_section_lists_the_first_rows_and_counts_the_rest(monkeypatch):
    monkeypatch.setattr(context_mod, "SINCE_ROWS", 2)
    row = {"rule": "MEM-001", "status": "fail", "subject": "app-01", "destination": "*",
           "message": "no room", "messages": {}}
    grew = {**row, "destinations_added": ["xs03"], "destinations_removed": []}
    since = {"old": {"generated_at": "2026-11-25T10:00:00Z", "verdict": "ready"},
             "new_failures": [row] * 5, "resolved": [], "persisting": [], "group_changes": [grew]}
    ctx = build_context(demo_results(), lang="en", since=since)
    assert len(ctx.since.new_failures) == 2 and ctx.since.counts["new_failures"] == 5
    assert ctx.since.new_failures[0]["destination"] == "every other host"   # diff's "*"
    html = render_html(ctx)
    assert "New failures (5)" in html and "and 3 more" in html
    assert "Destinations changed (1)" in html and "added: <bdi>xs03</bdi>" in html
