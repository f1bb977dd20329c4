"""Every built-in rule against its fixtures, and the catalogue covered one-to-one."""

import re
from pathlib import Path

import pytest
from conftest import TEST_DATA

from checker.cli import main
from checker.fixtures import fixture_dirs, format_result, run_fixture
from checker.policy import load_rules

HERE = Path(__file__).parent
FIXTURES = HERE / "policies"
CATALOGUE = HERE.parent / "docs" / "policy-catalogue.md"
#: The design documents' catalogue, beside the repository in the development set-up only.
DESIGN_CATALOGUE = HERE.parents[1] / "shared" / "design" / "policy-catalogue.md"
SEED = TEST_DATA / "seed" / "000_0246df83edf5ddc2.txt"
RULES = load_rules()


def catalogue_ids() -> set[str]:
    text = CATALOGUE.read_text(encoding="utf-8")
    return set(re.findall(r"^\| ([A-Z]+-\d{3})\b", text, flags=re.M))


@pytest.mark.parametrize("folder", fixture_dirs(FIXTURES), ids=lambda p: p.name)
def test_rule_fixture(folder):
    result = run_fixture(folder, RULES)
    assert result.ok, "\n".join(format_result(result))


@pytest.mark.parametrize("folder", fixture_dirs(FIXTURES), ids=lambda p: p.name)
def test_fixture_names_a_failing_and_a_passing_subject(folder):
    import yaml

    expect = yaml.safe_load((folder / "fixture.yaml").read_text(encoding="utf-8"))["expect"]
    statuses = {e["status"] for e in expect}
    assert "fail" in statuses and "pass" in statuses, f"{folder.name}: needs a fail and a pass subject"
    assert all(e.get("subject") for e in expect), "subjects are named, not counted"


def test_catalogue_rules_and_fixtures_match_one_to_one():
    catalogue = catalogue_ids()
    rules = {r.id for r in RULES.rules}
    fixtures = {p.name for p in fixture_dirs(FIXTURES)}
    assert len(catalogue) > 40
    assert sorted(catalogue - rules) == [], "catalogue ids without a rule"
    assert sorted(rules - catalogue) == [], "rules without a catalogue entry"
    assert sorted(catalogue - fixtures) == [], "catalogue ids without fixtures"


@pytest.mark.skipif(not DESIGN_CATALOGUE.exists(), reason="no design documents beside the repository")
def test_the_catalogue_is_the_design_documents_copy():
    assert CATALOGUE.read_bytes() == DESIGN_CATALOGUE.read_bytes(), (
        f"docs/policy-catalogue.md differs from {DESIGN_CATALOGUE}: copy the new one in")


def test_every_rule_shows_its_seed_sentence(capsys):
    seed = SEED.read_text(encoding="utf-8")
    flat_seed = re.sub(r"\s+", "", seed)
    for rule in RULES.rules:
        assert main(["rules", "show", rule.id]) == 0
        out = capsys.readouterr().out
        if rule.seed:
            sentence = rule.seed["text"].strip()
            assert sentence in out
            for part in re.split(r"(?<=。)|\n", sentence):
                words = re.sub(r"\s+", "", part)
                assert words in flat_seed, f"{rule.id}: {part!r} is not the seed's words"
        else:
            assert "source: XAPI" in out


def test_policy_test_command_reports_a_broken_fixture(tmp_path, capsys):
    import shutil

    shutil.copytree(FIXTURES / "LIM-005", tmp_path / "LIM-005")
    shutil.copytree(FIXTURES / "_base", tmp_path / "_base")
    fixture = tmp_path / "LIM-005" / "fixture.yaml"
    fixture.write_text(fixture.read_text().replace("{subject: db-01 disk 1, status: fail}",
                                                   "{subject: db-01 disk 1, status: pass}"))
    assert main(["policy", "test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert 'missing:    ["db-01 disk 1", "pass", ""]' in out
    assert 'unexpected: ["db-01 disk 1", "fail", ""]' in out
    assert "0 passed, 1 failed" in out


CJK = r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]"


@pytest.mark.parametrize("rule", RULES.rules, ids=lambda r: r.id)
def test_japanese_texts_have_no_stray_spaces(rule):
    # Folded YAML (`>-`) joins lines with a space, which Japanese does not use.
    for section in ("title", "description", "remediation"):
        text = getattr(rule, section)["ja"]
        assert not re.search(rf"(?<={CJK}) (?={CJK})|(?<=[。、]) ", text), (section, text)
    assert rule.raw["message"]["ja"] and not re.search(rf"(?<={CJK}) (?={CJK})",
                                                       rule.raw["message"]["ja"])
