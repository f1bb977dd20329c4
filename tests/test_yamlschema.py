"""checker/yamlschema.py: a YAML input checked against its JSON Schema, every problem at
file:line:col with its key path and a sentence; and the compiled predicate (fastschema) that
answers "valid" for it agrees with jsonschema."""

from __future__ import annotations

import jsonschema
import pytest

from checker.bundled import schema
from checker.errors import InputError
from checker.fastschema import compile_predicate
from checker.yamlschema import check, load
from checker.yamlsrc import loads


def problems(text: str, name: str) -> list[str]:
    return check(loads(text, "f.yaml"), name).problems


def test_an_unknown_key_is_named_at_its_place_with_the_keys_allowed_and_the_closest():
    assert problems("profile: x\nsevirity: {}\n", "profile") == [
        "f.yaml:2:1: sevirity: unknown key (did you mean severity? expected one of: disable, extends, "
        "profile, severity)"]
    assert problems("profile: x\ncolour: red\n", "profile") == [
        "f.yaml:2:1: colour: unknown key (expected one of: disable, extends, profile, severity)"]


def test_a_wrong_value_says_what_was_expected_in_words():
    assert problems("profile: 5\nextends: strict\ndisable: [MEM-001, MEM-001]\n", "profile") == [
        "f.yaml:1:1: profile: expected a string",
        "f.yaml:2:1: extends: 'strict': expected one of documented, xapi",
        "f.yaml:3:1: disable: lists a value twice"]


def test_a_missing_key_is_reported_where_it_belongs():
    assert problems("extends: xapi\n", "profile") == ["f.yaml:1:1: profile is required"]


def test_a_schemas_own_error_message_is_used_for_its_keyword():
    assert problems("- a\n", "signoff") == [
        "f.yaml:1:1: expected a mapping of prepared_by, reviewed_by, approved_by, decision, date"]


def test_an_unquoted_yaml_date_is_checked_as_the_text_it_was_written_as():
    assert problems("date: 2026-11-26\n", "signoff") == []
    assert problems("date: '2026-02-30'\n", "signoff") == [
        "f.yaml:1:1: date: '2026-02-30' is not a date YYYY-MM-DD (day is out of range for month)"]


def test_usable_excludes_a_wrong_value_its_parents_and_children_not_its_neighbours():
    checked = check(loads("profile: x\nseverity: {MEM-001: fatal}\ncolour: 1\n", "f.yaml"), "profile")
    assert not checked.usable(("severity",)) and not checked.usable(("severity", "MEM-001"))
    assert not checked.usable(())
    assert checked.usable(("profile",)) and checked.usable(("disable",))
    assert checked.usable(("colour",))  # an unknown key spoils nothing beside it


def test_load_raises_a_yaml_syntax_error_as_the_callers_error(tmp_path):
    class PlanishError(InputError):
        pass

    path = tmp_path / "p.yaml"
    path.write_text("a: [\n")
    with pytest.raises(PlanishError, match=r"p.yaml:2:1: YAML syntax"):
        load(path, "plan", PlanishError)


#: Documents each schema's predicate and jsonschema must judge alike: valid ones, and ones
#: wrong in a way each compiled keyword catches.
AGREE = {
    "plan": [
        {"operations": [{"kind": "live", "vms": ["a"], "destination": {"host": "h"}}]},
        {"operations": [{"kind": "live", "vms": ["a"], "destination": {"host": "h"}, "wave": 1.0}]},
        {"operations": [{"kind": "live", "vms": ["a"], "destination": {"host": "h"}, "wave": True}]},
        {"operations": [{"kind": "live", "vms": [], "destination": {"host": "h"}}]},
        {"operations": [{"kind": "vdi", "vdi": "a/0", "destination": {"sr": "s"}, "colour": 1}]},
        {"operations": [{"kind": "teleport"}]},
        {"operations": []},
        {"operations": [{"kind": "evacuate", "host": {"tag": "x"}}],
         "settings": {"window": "1h30m", "migration_bandwidth": "10Gbit",
                      "citrix_virtual_desktops": {"p": True}}},
        {"operations": [{"kind": "evacuate", "host": {"tag": ["x"]}}]},
        {"operations": [{"kind": "evacuate", "host": "h"}], "settings": {"window": "soon"}},
        {"operations": [{"kind": "evacuate", "host": "h"}], "settings": {"evacuation_batch_size": 0}},
        [],
    ],
    "job": [
        {"output": "o", "state": "s", "pools": [{"name": "p", "inventory": "i.json"}]},
        {"output": "o", "state": "s", "pools": [{"name": "p", "inventory": "i", "import": "d"}]},
        {"output": "o", "state": "s", "pools": [{"name": "p", "collect": {
            "server": "x", "password_env": "E", "ca_bundle": "c", "insecure": True}}]},
        {"output": "o", "state": "s", "pools": [{"name": "p", "collect": {
            "server": "x", "password_env": "E", "ca_bundle": "c", "insecure": False}}]},
        {"output": "o", "state": "s", "pools": [{"name": "p", "inventory": "i"}],
         "checks": [{"name": "inventories", "pools": "p"}]},
        {"output": "o", "state": "s", "pools": [{"name": "p", "inventory": "i"}],
         "email": {"host": "h", "from": "f", "to": "t", "password_env": "E"}},
        {"output": "o", "state": "s", "pools": [{"name": "p", "inventory": "i"}],
         "email": {"host": "h", "from": "f", "to": ["t", "t"], "port": 70000}},
    ],
    "profile": [{"profile": "x", "severity": {"MEM-001": "info"}},
                {"profile": "x", "severity": {"m": "info"}}, {"profile": "", "disable": ["MEM-001"]}],
}


@pytest.mark.parametrize(("name", "doc"), [(n, d) for n, docs in AGREE.items() for d in docs])
def test_the_compiled_predicate_agrees_with_jsonschema(name, doc):
    predicate = compile_predicate(schema(name))
    assert predicate is not None
    assert predicate(doc) == jsonschema.Draft202012Validator(schema(name)).is_valid(doc)


def test_a_schema_with_a_keyword_not_compiled_gets_no_predicate():
    assert compile_predicate(schema("signoff")) is None  # format: date
