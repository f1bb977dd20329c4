"""`migready demo`: the bundled samples, checked and reported into the folder the user chooses.

The PDFs are stubbed here (test_report renders real ones); what matters is where files go.
"""

import json

import pytest

from checker import demo
from checker.cli import main

WRITTEN = ["demo-results.json", "demo-report.en.html", "demo-report.en.pdf",
           "demo-report.ja.html", "demo-report.ja.pdf"]


@pytest.fixture(autouse=True)
def stub_pdf(monkeypatch):
    monkeypatch.setattr(demo, "render_pdf", lambda context: b"%PDF-1.7 stub " + context.lang.encode())


def test_demo_writes_into_the_folder_given_and_nowhere_else(tmp_path, monkeypatch, capsys):
    cwd, out = tmp_path / "cwd", tmp_path / "chosen" / "out"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert main(["demo", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(WRITTEN)
    assert list(cwd.iterdir()) == []
    results = json.loads((out / "demo-results.json").read_text(encoding="utf-8"))
    assert results["verdict"] == "blocked"
    assert "Demo plan CHG-2026-1204: BLOCKED" in capsys.readouterr().out


def test_demo_writes_into_reports_when_the_current_folder_has_one(tmp_path, monkeypatch):
    (tmp_path / "reports").mkdir()
    monkeypatch.chdir(tmp_path)
    outcome = demo.run_demo()
    assert {p.name for p in (tmp_path / "reports").iterdir()} == set(WRITTEN)
    assert str(outcome.files[0]) == "reports/demo-results.json"


def test_demo_writes_into_the_current_folder_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outcome = demo.run_demo(pdf=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n in WRITTEN if not n.endswith(".pdf"))
    assert outcome.verdict == "blocked"
