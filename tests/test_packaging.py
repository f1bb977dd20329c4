"""The wheel is the product: it carries the rules, the report templates and the demo's samples.

The wheel is built here from the checkout (pip wheel, no dependencies); .ci/run installs it in
a throwaway venv and runs the commands from an empty folder.
"""

import re
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
from conftest import PROD

from checker import __version__
from checker.check import CheckOptions, run_check
from checker.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO_SAMPLES = ["demo-plan.yaml", "demo-waivers.yaml", "demo-signoff.yaml", "pools/prod-ch82.json",
                "pools/dr-xs8.json"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True)
    (path,) = out.glob("migready-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def test_the_wheel_packs_the_rules_templates_and_demo_samples_byte_identical(wheel):
    data = {f"policies/{p.name}": p for p in (ROOT / "policies").glob("*.yaml")}
    data |= {f"templates/{p.name}": p for p in (ROOT / "templates").iterdir()}
    data |= {f"samples/{name}": ROOT / "samples" / name for name in DEMO_SAMPLES}
    assert "policies/MEM-001.yaml" in data and "templates/report.css" in data
    for name, source in data.items():
        assert wheel.read(f"checker/{name}") == source.read_bytes(), name


def test_the_wheel_holds_the_package_and_its_metadata_only(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert tops == {"checker", f"migready-{__version__}.dist-info"}
    assert "checker/samples/build.py" not in wheel.namelist()   # makes the samples, not needed to run


def test_the_wheel_declares_the_licence_and_the_package_version(wheel):
    meta = HeaderParser().parsestr(wheel.read(f"migready-{__version__}.dist-info/METADATA").decode())
    assert meta["Version"] == __version__
    assert meta["License-Expression"] == "BSD-2-Clause"
    licence = wheel.read(f"migready-{__version__}.dist-info/licenses/LICENSE").decode()
    assert licence == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("BSD 2-Clause License")


def test_no_module_finds_files_relative_to_its_own_source():
    """Paths built from __file__ point into a checkout, and break in the installed wheel."""
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "checker").rglob("*.py"))
                 if "samples" not in p.parts
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if "__file__" in line]
    assert offenders == []


def test_version_names_the_release_and_the_policy_set_results_record(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    results = run_check(CheckOptions(inventories=[PROD]))
    assert out == (f"migready {__version__}\n"
                   f"policies sha256 {results['inputs']['policies']['sha256']}\n")
    assert re.fullmatch(r"[0-9a-f]{64}", results["inputs"]["policies"]["sha256"])
