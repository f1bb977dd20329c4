"""Text and Markdown output: the order operations are listed in, counts in words."""

from conftest import one_host_audit, renumbered
from test_report import demo_results

from checker.output import format_markdown, format_text


def test_text_lists_operations_by_number_not_by_character():
    text = format_text(renumbered(demo_results(), {"op-3": "op-10"}))
    listed = [line.split()[1] for line in text.splitlines() if line.startswith("BLOCKED  ")]
    assert listed == ["op-4", "op-5", "op-6", "op-7", "op-8", "op-10"]


def test_markdown_findings_follow_operation_numbers():
    text = format_markdown(renumbered(demo_results(), {"op-3": "op-10"}))
    fails = [line.split(" | ")[0].strip("| ") for line in text.splitlines() if " | fail | " in line]
    assert fails.index("op-4") < fails.index("op-10") and fails == sorted(
        fails, key=lambda o: int(o.split("-")[1].split(".")[0]))


def test_counts_of_one_are_singular():
    text = format_text(one_host_audit(demo_results()), verbose=True)
    assert "1 of 1 host ready" in text and "host(s)" not in text and "1 of 1 hosts" not in text
