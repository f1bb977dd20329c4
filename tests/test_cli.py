"""checker/cli.py as a user meets it: internal errors are one line (exit 5), signals and
bad output paths fail closed, `-o -` is stdout, and nothing is left half-written."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DR, PROD

from checker import check as check_mod
from checker.cli import main

ROOT = Path(__file__).resolve().parent.parent


def boom(*args, **kwargs):
    raise RuntimeError("injected failure\nsecond line")


@pytest.mark.parametrize("debug", ["", "--debug", "MIGREADY_DEBUG=1"])
def test_an_internal_error_is_exit_5_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys, debug):
    monkeypatch.setattr(check_mod, "run_check", boom)
    if debug.startswith("MIGREADY_DEBUG"):
        monkeypatch.setenv("MIGREADY_DEBUG", "1")
    else:
        monkeypatch.delenv("MIGREADY_DEBUG", raising=False)
    out = tmp_path / "results.json"
    args = [*(["--debug"] if debug == "--debug" else []), "check", str(PROD), "-o", str(out)]
    assert main(args) == 5
    err = capsys.readouterr().err
    last = "migready: internal error (a bug in migready): RuntimeError: injected failure; " \
           "run with --debug for the traceback\n"
    assert err.endswith(last)
    if debug:
        assert err.startswith("Traceback (most recent call last):") and "in boom" in err
    else:
        assert err == last
    assert list(tmp_path.iterdir()) == []


def test_sigterm_exits_143_like_an_interrupt(tmp_path):
    fifo = tmp_path / "inventory.json"
    os.mkfifo(fifo)  # reading it blocks until the writer closes: the command waits there
    proc = subprocess.Popen([sys.executable, "-m", "checker", "check", str(fifo)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while True:  # the write end opens once the command has opened the read end
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    os.close(writer)
    assert (proc.returncode, out, err) == (143, "", "migready: terminated\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.json"]


def test_dash_is_stdout_for_check_and_import(tmp_path, capsys):
    assert main(["check", str(PROD), "--only", "MEM-001", "--format", "json", "-o", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "ready"
    records = tmp_path / "records.json"
    records.write_text(json.dumps(json.loads(DR.read_text())["objects"]))
    assert main(["import", str(records), "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["pool"]["name_label"] == "dr-xs8"
    assert captured.err.startswith("<stdout>: pool 'dr-xs8'")
    assert [p.name for p in tmp_path.iterdir()] == ["records.json"]


def test_output_onto_an_input_is_refused_before_any_work(tmp_path, capsys):
    copy = tmp_path / "prod.json"
    copy.write_bytes(PROD.read_bytes())
    assert main(["import", str(copy), "-o", str(copy)]) == 2
    assert capsys.readouterr().err == (
        f"migready: {copy}: is also an input ({copy}): refusing to overwrite it\n")
    assert copy.read_bytes() == PROD.read_bytes()


def test_collect_checks_its_arguments_and_output_before_connecting(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PW", "secret")
    assert main(["collect", "--server", "not a url", "--password-env", "PW",
                 "-o", str(tmp_path / "p.json")]) == 2
    assert capsys.readouterr().err == ("migready: --server 'not a url': not a host name or "
                                       "address; expected https://HOST[:PORT]\n")
    # Port 9 on 127.0.0.1 has no XenServer: reaching it would be exit 4, not 2.
    missing = tmp_path / "no-such-folder" / "p.json"
    assert main(["collect", "--server", "https://127.0.0.1:9", "--password-env", "PW",
                 "-o", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"migready: {missing}: no such folder {missing.parent} (create it first)\n")
    assert list(tmp_path.iterdir()) == []


def test_report_refuses_a_device_before_rendering(tmp_path, capsys):
    results = tmp_path / "results.json"
    assert main(["check", str(PROD), "--only", "MEM-001", "--format", "json", "-o", str(results)]) == 0
    capsys.readouterr()
    assert main(["report", str(results), "-o", "/dev/full"]) == 2
    assert capsys.readouterr().err == "migready: /dev/full: is a device: refusing to write to it\n"
    assert main(["report", str(results), "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


ANSI = "\x1b["


@pytest.mark.parametrize(("args", "tty", "no_color", "coloured"), [
    (["--color", "always"], False, None, True),      # a pager or a CI log that shows colour
    (["--color", "always"], True, "1", True),        # the flag beats NO_COLOR (no-color.org)
    (["--color", "never"], True, None, False),
    ([], True, None, True),                          # auto: a terminal
    ([], False, None, False),                        # auto: a pipe or a file
    ([], True, "1", False),                          # auto: NO_COLOR set
    ([], True, "", True),                            # auto: NO_COLOR empty is unset
], ids=["always-pipe", "always-beats-NO_COLOR", "never-terminal", "auto-terminal", "auto-pipe",
        "auto-NO_COLOR", "auto-empty-NO_COLOR"])
def test_color_option_and_no_color_decide_the_text_colours(monkeypatch, capsys, args, tty, no_color,
                                                          coloured):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert main([*args, "check", str(PROD), "--only", "MEM-001"]) == 0
    out = capsys.readouterr().out
    assert "READY" in out
    assert (ANSI in out) is coloured


def test_a_file_gets_no_colour_even_with_color_always(tmp_path, capsys):
    target = tmp_path / "check.txt"
    assert main(["--color", "always", "check", str(PROD), "--only", "MEM-001", "-o", str(target)]) == 0
    assert "READY" in target.read_text(encoding="utf-8")
    assert ANSI not in target.read_text(encoding="utf-8")


def test_import_summary_counts_one_host_in_the_singular(tmp_path, capsys):
    dump = Path(__file__).parent / "data" / "realdata" / "xenadmin" / "Cowley-db.xml"
    assert main(["import", str(dump), "-o", str(tmp_path / "cowley.json")]) == 0
    out = capsys.readouterr()
    assert "— 1 host, 8 VMs" in out.out + out.err


def test_rules_list_as_json_names_each_rule_with_both_titles(capsys):
    from checker.policy import load_rules

    assert main(["rules", "list", "--format", "json"]) == 0
    listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    catalogue = load_rules(()).rules
    assert list(listed) == [r.id for r in catalogue]
    lim005 = listed["LIM-005"]
    assert (lim005["severity"], lim005["basis"], lim005["kinds"]) == ("blocker", "xapi", ["storage", "vdi"])
    assert lim005["titles"] == {"en": "Changed block tracking is off on every disk that moves",
                                "ja": "移行する仮想ディスクで変更ブロック追跡が無効になっている"}
    assert {r["basis"] for r in listed.values()} == {"xapi", "documentation"}


@pytest.mark.parametrize("lang, seed_label, description", [
    ("en", "seed §3 (Japanese original): 変更ブロック追跡", "XAPI refuses to mirror a disk"),
    ("ja", "seed §3: 変更ブロック追跡", None),
])
def test_rules_show_labels_the_seed_as_the_japanese_original_in_english(capsys, lang, seed_label,
                                                                        description):
    assert main(["rules", "show", "LIM-005", "--lang", lang]) == 0
    out = capsys.readouterr().out
    assert seed_label in out
    assert description is None or description in out


def test_the_readme_s_shell_completion_lines_give_a_script_for_each_shell():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    shells = re.findall(r"_MIGREADY_COMPLETE=(\w+)_source migready", readme)
    assert {"bash", "zsh", "fish"} <= set(shells)
    for shell, marker in (("bash", "complete -o nosort -F _migready_completion migready"),
                          ("zsh", "compdef _migready_completion migready"),
                          ("fish", "complete --no-files --command migready")):
        out = subprocess.run([sys.executable, "-m", "checker"], capture_output=True, text=True,
                             env={**os.environ, "_MIGREADY_COMPLETE": f"{shell}_source"}, check=True)
        assert marker in out.stdout, shell


SAMPLE_PLAN = ROOT / "samples" / "demo-plan.yaml"


def test_validate_a_plan_alone_checks_its_syntax_not_its_names(tmp_path, capsys):
    assert main(["validate", "--plan", str(SAMPLE_PLAN)]) == 0
    assert "plan: 6 operations ok (syntax only: give the inventories with --inventory" in \
        capsys.readouterr().out
    # a name no pool has: fine alone, an error once the inventories are given
    unknown = tmp_path / "plan.yaml"
    unknown.write_text("operations:\n  - kind: evacuate\n    host: xs99\n")
    assert main(["validate", "--plan", str(unknown)]) == 0
    capsys.readouterr()
    assert main(["validate", "--plan", str(unknown), "--inventory", str(PROD)]) == 2
    assert f"{unknown}:3:5: operations.0.host: no host matches 'xs99'" in capsys.readouterr().err


def test_validate_a_bad_plan_alone_is_exit_2_with_every_error_located(tmp_path, capsys):
    bad = tmp_path / "plan.yaml"
    bad.write_text("plan: CHG-9\nsettings:\n  window: soon\noperations:\n"
                   "  - kind: live\n    vms: [web-01]\n    destination: {host: xs02, cluster: c1}\n"
                   "  - kind: teleport\n")
    assert main(["validate", "--plan", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[1:] == [
        f"{bad}:3:3: settings.window: expected a duration such as 4h or 90m",
        f"{bad}:7:31: operations.0.destination.cluster: unknown key (expected one of: host, pool)",
        f"{bad}:8:5: operations.1.kind: 'teleport': expected one of live, storage, vdi, evacuate, "
        "rolling-upgrade",
    ]
