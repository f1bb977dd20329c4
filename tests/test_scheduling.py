"""The scheduling files in docs/: the systemd unit pair parses and verifies, the crontab line
is a valid five-field entry that runs `migready run`."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "docs" / "systemd"
INSTALLED = "/usr/local/bin/migready"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((SYSTEMD / name).read_text(encoding="utf-8"))
    return parser


def test_units_parse_as_ini_with_the_expected_keys():
    service, timer = unit("migready.service"), unit("migready.timer")
    assert service.sections() == ["Unit", "Service"]
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].split()[1:3] == ["run", "/etc/migready/nightly.yaml"]
    assert service["Service"]["SuccessExitStatus"].split() == ["1", "3"]  # verdicts, not failures
    assert timer.sections() == ["Unit", "Timer", "Install"]
    assert timer["Timer"]["Unit"] == "migready.service"
    assert timer["Timer"]["Persistent"] == "true" and timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_analyze_verify(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here; the INI test above still ran")
    # verify checks that ExecStart exists: point it at this checkout's migready
    binary = Path(sys.executable).with_name("migready")
    if not binary.exists():
        pytest.skip(f"{binary} is not installed (pip install -e .)")
    for name in ("migready.service", "migready.timer"):
        text = (SYSTEMD / name).read_text(encoding="utf-8").replace(INSTALLED, str(binary))
        (tmp_path / name).write_text(text, encoding="utf-8")
    proc = subprocess.run([tool, "verify", str(tmp_path / "migready.service"),
                           str(tmp_path / "migready.timer")],
                          capture_output=True, text=True, check=False, timeout=60)
    ours = [line for line in (proc.stdout + proc.stderr).splitlines() if "migready" in line]
    assert proc.returncode == 0 and not ours, proc.stdout + proc.stderr


def test_crontab_lines_are_five_fields_and_run_a_job():
    text = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    block = re.search(r"## cron\n.*?```\n(.*?)```", text, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert lines
    field = r"(\*|\d+(-\d+)?(,\d+(-\d+)?)*)(/\d+)?"
    for line in lines:
        parts = line.split(None, 5)
        assert all(re.fullmatch(field, p) for p in parts[:5]), line
        assert "migready run /etc/migready/nightly.yaml" in parts[5]
