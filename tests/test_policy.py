"""The rule loader: the built-in set loads, and each malformed policy gives its exact error."""

from pathlib import Path

import pytest
from conftest import PROD

from checker.cli import main
from checker.evaluate import evaluate
from checker.facts import World
from checker.fixtures import load_inventories
from checker.plan import load_plan
from checker.policy import PolicyError, load_rule_file, load_rules
from checker.yamlsrc import load as load_yaml

BAD = Path(__file__).parent / "data" / "bad-policies"
CASES = sorted(p.name for p in BAD.iterdir() if p.is_dir())


def test_builtin_rules_load_and_compile():
    rules = load_rules()
    assert rules.rules, "no built-in rules"
    for rule in rules.rules:
        assert rule.file.endswith(f"{rule.id}.yaml")
        assert rule.title["en"] and rule.title["ja"]


@pytest.mark.parametrize("case", CASES)
def test_malformed_policy_gives_exact_errors(case, monkeypatch):
    # Paths in messages are as given, so run from the repository root.
    monkeypatch.chdir(Path(__file__).parent.parent)
    folder = Path("tests/data/bad-policies") / case
    expected = (folder / "expected.txt").read_text(encoding="utf-8").splitlines()
    with pytest.raises(PolicyError) as exc:
        load_rules([str(folder) + "/"], builtin=case == "duplicate-id")
    assert exc.value.details == expected


def test_validate_command_prints_every_error_and_exits_2(capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)
    code = main(["validate", "--policies", "tests/data/bad-policies/unknown-fact/"])
    assert code == 2
    err = capsys.readouterr().err
    assert "USR-004.yaml:8:9: USR-004: assert: unknown fact VM.memory_footprnt" in err
    assert "USR-004.yaml:9:15: USR-004: message.en: unknown fact VM.nam" in err
    assert "Traceback" not in err


def test_unreadable_policy_file_is_an_error_naming_it(tmp_path, capsys):
    (tmp_path / "USR-009.yaml").mkdir()  # a directory where a rule file should be
    assert main(["validate", "--policies", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}/USR-009.yaml:0:0: USR-009: cannot read: Is a directory\n" in err
    assert "Traceback" not in err


def test_override_replaces_a_builtin_rule(tmp_path):
    source = (load_rules().get("MEM-001").file)
    text = Path(source).read_text(encoding="utf-8").replace("severity: blocker", "severity: warning")
    (tmp_path / "MEM-001.yaml").write_text("overrides: MEM-001\n" + text, encoding="utf-8")
    rules = load_rules([tmp_path])
    assert rules.get("MEM-001").severity == "warning"
    assert rules.get("MEM-001").builtin is False


def test_sandbox_refuses_internals_at_run_time_too():
    # The loader refuses `__class__`; the sandbox is the second wall, for filters the
    # name check cannot see through.
    from checker.policy import ENV, check_names

    assert ENV.compile_expression("x | attr('__class__')")(x=1) is None  # not <class 'int'>
    tree = ENV.parse("{{ vm | attr('__class__') }}")
    assert check_names(tree, {"vm": "VM"}) == [
        "'__class__': access to internal attributes is not allowed"]


def test_rule_reads_are_recorded_for_caching():
    rule, problems = load_rule_file(Path("policies/MEM-001.yaml").resolve(), builtin=True)
    assert not problems
    assert rule.reads == {"op", "vm", "dst_host"}


XAPI_ERRORS = Path(__file__).parent / "data" / "xapi_errors.txt"


def xapi_error_names() -> set[str]:
    """The API errors xen-api declares (its datamodel, at the commit the file's first line
    names), one per line."""
    lines = XAPI_ERRORS.read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def test_every_builtin_rule_states_its_basis():
    assert [rule.id for rule in load_rules().rules if "basis" not in rule.raw] == []


def test_xapi_basis_names_errors_xen_api_declares():
    known = xapi_error_names()
    assert {"LICENCE_RESTRICTION", "VM_REQUIRES_NETWORK", "VDI_CBT_ENABLED"} <= known
    unknown = {rule.id: sorted(set(rule.basis.errors) - known) for rule in load_rules().rules}
    assert {rule_id: names for rule_id, names in unknown.items() if names} == {}


def test_lim007_says_xapi_does_not_check_the_failover_plan_of_a_storage_migration():
    # LIM-007's fixture, with HA on in dr-xs8 too: db-01, HA-protected, goes there by
    # storage migration, which VM.migrate_send does not check against the plan.
    folder = Path(__file__).parent / "policies" / "LIM-007"
    spec = load_yaml(folder / "fixture.yaml").data
    spec["patches"].append({"pool": "dr-xs8", "class": "pool", "name": "dr-xs8", "set": {
        "ha_enabled": True, "ha_host_failures_to_tolerate": "1", "ha_plan_exists_for": "1"}})
    world = World(load_inventories(folder, spec))
    results = evaluate(world, load_rules().only(["LIM-007"]), load_plan(folder / "plan.yaml", world))
    messages = {f.subject.name: (f.status, f.messages["en"])
                for op in results.operations for f in op.findings}
    status, message = messages["db-01"]
    assert status == "fail"
    assert "XAPI does not check the failover plan for a storage migration" in message
    assert "XAPI refuses" not in message
    assert "XAPI refuses the move (HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN)" in messages["web-01"][1]


USER_RULE = """id: USR-011
title: {{en: Asks for too much, ja: 過大な式}}
description: {{en: d, ja: d}}
remediation: {{en: r, ja: r}}
severity: blocker
kinds: [live, evacuate]
source: xapi
assert: "{assert_}"
message: {{en: "{message}", ja: m}}
"""


@pytest.mark.parametrize(("assert_", "message", "where", "made"), [
    ("((vm.name ~ 'x') * 1000000000) | length > 0", "m", "8:9: USR-011: assert",
     "a repetition of"),
    ("(2 ** vm.name | length) ** 1000 > 0", "m", "8:9: USR-011: assert", "a power of more than 256 bits"),
    ("vm.name | center(1000000000) | length > 0", "m", "8:9: USR-011: assert",
     "a size given to `center` of 1,000,000,000"),
    ("(vm.name ~ '').ljust(1000000000) | length > 0", "m", "8:9: USR-011: assert",
     "a size given to ljust of 1,000,000,000"),
    ("false", "{{ '%1000000000s' % vm.name }}", "9:15: USR-011: message.en",
     "a format width of 1,000,000,000"),
    ("false", "{% set s = vm.name %}" + "{% set s = s ~ s %}" * 40 + "{{ s }}", "9:15: USR-011: message.en",
     "a string of"),
    ("false", "{% set s = vm.name %}" + "{% set s = [s, s] | join %}" * 40 + "{{ s }}",
     "9:15: USR-011: message.en", "a result of `join` of"),
], ids=["repeat", "power", "filter", "method", "message", "doubling-concat", "doubling-join"])
def test_a_rule_that_asks_for_too_much_is_a_policy_error_naming_it(tmp_path, capsys, assert_, message,
                                                                   where, made):
    rule = tmp_path / "USR-011.yaml"
    rule.write_text(USER_RULE.format(assert_=assert_, message=message), encoding="utf-8")
    code = main(["check", str(PROD), "--policies", str(tmp_path), "--only", "USR-011"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"migready: invalid policy: 1 problem\n{rule}:{where}: stopped: "
                          f"the expression tried to make {made}")


def test_small_amounts_pass_the_sandbox_limits():
    from checker.policy import ENV

    assert ENV.compile_expression("('ab' * 3) ~ ('%5s' % 'x') ~ ('x' | center(3))")() == "ababab    x x "
    assert ENV.compile_expression("2 ** 64 * 3 + 7 % 3")() == 2 ** 64 * 3 + 1
