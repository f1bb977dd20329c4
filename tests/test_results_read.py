"""Reading a results file (checker/results_read.py): a lean read, for a comparison or a
report, gives what reading the file whole gives, checks as much and names the same finding."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest
from conftest import PROD, TWO_TO_ONE, add_host, derived, shrink_h2

from checker.check import CheckOptions, run_check
from checker.cli import main
from checker.diff import diff_results
from checker.errors import InputError
from checker.output import format_json
from checker.report import build_context
from checker.results_read import load_results


def written(tmp_path: Path, name: str, pools: list[Path], plan: str | None = None) -> Path:
    """`check --format json` of the pools (and plan), as NAME.json."""
    plan_path = None
    if plan:
        plan_path = tmp_path / f"{name}.plan.yaml"
        plan_path.write_text(plan, encoding="utf-8")
    path = tmp_path / f"{name}.json"
    path.write_text(format_json(run_check(CheckOptions(inventories=pools, plan=plan_path))),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("plans")
    new = written(tmp_path, "new", [derived(tmp_path, shrink_h2)], TWO_TO_ONE)
    return written(tmp_path, "old", [PROD], TWO_TO_ONE), new


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    """An audit of three hosts: db-01's local disks fail LIVE-001 on two of them."""
    tmp_path = tmp_path_factory.mktemp("audit")
    return written(tmp_path, "audit", [derived(tmp_path, lambda o: add_host(o, "ch82-h2", "ch82-h3"))])


def test_a_bad_finding_deep_in_the_file_is_named_at_its_own_index(plans, tmp_path):
    old, _ = plans
    lines = old.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index('"findings":[\n')
    lines[start + 2] = re.sub(r'"status":"[a-z_]+"', '"status":"passed"', lines[start + 2], count=1)
    bad = tmp_path / "bad.json"
    bad.write_text("".join(lines), encoding="utf-8")
    errors = []
    for lean in ("compare", "report", None):
        with pytest.raises(InputError) as exc:
            load_results(bad, lean=lean)
        errors.append((str(exc.value), exc.value.details))
    assert errors[0] == errors[1] == errors[2] and "findings[1].status" in str(errors[0][1])


def test_a_file_laid_out_otherwise_is_read_whole(plans, tmp_path):
    _, new = plans
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(load_results(new), indent=2), encoding="utf-8")
    assert load_results(pretty, lean="compare") == load_results(new)


def test_a_comparison_reads_less_and_finds_the_same(plans):
    old, new = plans
    lean = load_results(new, lean="compare")
    assert lean["findings"] and all("evidence" not in f for f in lean["findings"])
    assert diff_results(load_results(old, lean="compare"), lean) == diff_results(load_results(old),
                                                                                load_results(new))


def test_a_report_reads_an_audits_passes_lean_and_its_problems_whole(audit, plans, tmp_path):
    whole, lean = load_results(audit), load_results(audit, lean="report")
    def problems(results):
        return [f for f in results["findings"] if f["status"] in {"fail", "unknown", "waived"}]

    assert problems(whole) and problems(whole) == problems(lean)
    assert any("evidence_by_target" in f for f in problems(lean))
    assert all("evidence" not in f for f in lean["findings"] if f["status"] == "pass")
    _, plan = plans  # a plan's passes are shown one by one, with their evidence: read whole
    assert load_results(plan, lean="report") == load_results(plan)
    # The report of the lean read is the report of the whole one.
    for lang in ("en", "ja"):
        contexts = [asdict(build_context(doc, lang=lang)) for doc in (whole, lean)]
        for context in contexts:
            context.pop("generated_at")
        assert contexts[0] == contexts[1]
    assert main(["report", str(audit), "-o", str(tmp_path / "audit.html")]) == 0
