"""checker/inventory.py: what the loader refuses, with an address, rather than crash."""

from __future__ import annotations

from checker.cli import main


def test_json_nested_deeper_than_the_decoder_goes_is_exit_2(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["check", str(deep)]) == 2
    assert capsys.readouterr().err.startswith(
        f"migready: {deep}: not an inventory: JSON nested too deeply (more than ")
