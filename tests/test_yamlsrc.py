"""checker/yamlsrc.py: every YAML input fails closed at file:line:col: impossible dates,
unknown tags, alias bombs, recursive aliases and deep nesting included."""

from __future__ import annotations

import time

import pytest

from checker.yamlsrc import MAX_ALIAS_NODES, MAX_DEPTH, YamlError, loads


def error(text: str, **options) -> str:
    with pytest.raises(YamlError) as caught:
        loads(text, "f.yaml", **options)
    return str(caught.value)


def laughs(levels: int, width: int) -> str:
    """Each level an anchored list of `width` aliases to the one before: width**levels values."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_impossible_date_is_an_error_at_its_place():
    assert error("waivers:\n  - expires: 2026-02-30\n") == (
        "f.yaml:2:14: '2026-02-30' is not a valid date: day is out of range for month")


def test_values_python_cannot_hold_are_errors_not_exceptions():
    assert error("a: !!python/name:os.system x\n").startswith("f.yaml:1:4: cannot read the value")
    assert error("a: !!python/object/apply:os.system [ls]\n") == (
        "f.yaml:1:4: unknown tag 'tag:yaml.org,2002:python/object/apply:os.system'")
    assert "Exceeds the limit" in error("a: 1" + "0" * 5000 + "\n")


def test_aliases_within_the_budget_are_expanded():
    assert loads("a: &x [web-01, db-01]\nb: *x\n").data == {"a": ["web-01", "db-01"],
                                                            "b": ["web-01", "db-01"]}


@pytest.mark.parametrize(("levels", "width"), [(9, 9), (30, 2), (3, 200)],
                         ids=["billion-laughs", "deep-narrow", "shallow-wide"])
def test_an_alias_bomb_is_refused_at_once_whatever_its_shape(levels, width):
    start = time.monotonic()
    assert f"aliases expand to more than {MAX_ALIAS_NODES:,} values" in error(laughs(levels, width))
    assert time.monotonic() - start < 2


def test_aliases_are_refused_where_the_format_has_no_use_for_them():
    assert error("a: &x 1\nb: *x\n", aliases=False) == (
        "f.yaml:2:4: aliases (*name) are not allowed in this file")


def test_nesting_is_limited_in_block_flow_and_recursive_aliases():
    deep = "[" * 100_000 + "]" * 100_000
    assert error(deep) == f"f.yaml:1:{MAX_DEPTH + 1}: nested deeper than {MAX_DEPTH} levels"
    assert error("a: &a [*a]\n") == f"f.yaml:1:4: nested deeper than {MAX_DEPTH} levels"
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH).data is not None
