"""Policy profiles: documented (default), xapi, and profile files (severity, disable)."""

from __future__ import annotations

import hashlib

import pytest
from conftest import DR, PROD
from test_fidelity import DB01_TO_NFS, check, nfs_free_400g

from checker.check import CheckOptions, run_check
from checker.cli import main
from checker.errors import InputError


def _results(tmp_path, profile):
    plan = tmp_path / "plan.yaml"
    plan.write_text(DB01_TO_NFS)
    base = check(tmp_path, DB01_TO_NFS, dr_changes=(nfs_free_400g,))
    dr = tmp_path / "dr-xs8-nfs_free_400g.json"
    assert dr.exists(), "test_fidelity.check wrote the derived DR pool there"
    return base, run_check(CheckOptions([PROD, dr], plan=plan, profile=profile))


def _disk001(results):
    return next(f for f in results["findings"] if f["rule"] == "DISK-001" and f["status"] == "fail")


def test_documented_is_the_default_and_keeps_the_documentations_blockers(tmp_path):
    base, documented = _results(tmp_path, "documented")
    assert _disk001(base)["severity"] == _disk001(documented)["severity"] == "blocker"
    assert next(o["verdict"] for o in documented["operations"] if o["id"] == "op-1") == "blocked"
    assert documented["inputs"]["profile"] == {"name": "documented", "extends": "documented",
                                               "severity": {}, "disabled": []}


def test_xapi_profile_makes_documentation_blockers_warnings(tmp_path):
    _, results = _results(tmp_path, "xapi")
    assert _disk001(results)["severity"] == "warning"
    assert results["inputs"]["profile"]["severity"]["DISK-001"] == {"from": "blocker", "to": "warning"}
    # An XAPI-basis blocker stays one.
    assert results["inputs"]["profile"]["severity"].get("GEN-004") is None
    blockers = sorted({f["rule"] for f in results["findings"]
                       if f["operation"] == "op-1" and f["severity"] == "blocker" and f["status"] == "fail"})
    assert blockers == []
    # The same move under the documented profile is blocked by DISK-001 alone.
    assert next(o["verdict"] for o in results["operations"] if o["id"] == "op-1") == "ready_with_warnings"


def test_a_profile_file_overrides_and_disables_and_is_recorded(tmp_path):
    profile = tmp_path / "site.yaml"
    profile.write_text("profile: site-2026\nextends: documented\n"
                       "severity: {DISK-001: info}\ndisable: [POST-001]\n")
    _, results = _results(tmp_path, profile)
    assert _disk001(results)["severity"] == "info"
    assert not [f for f in results["findings"] if f["rule"] == "POST-001"]
    recorded = results["inputs"]["profile"]
    assert recorded["name"] == "site-2026" and recorded["disabled"] == ["POST-001"]
    assert recorded["sha256"] == hashlib.sha256(profile.read_bytes()).hexdigest()


@pytest.mark.parametrize(("text", "fragment"), [
    ("profile: x\nseverity: {DISK-001: fatal}\n", "site.yaml:2:12: severity.DISK-001"),
    ("profile: x\ndisable: [NOPE-001]\n", "no rule NOPE-001"),
    ("profile: x\nsevirity: {}\n", "sevirity"),
])
def test_a_bad_profile_file_is_invalid_input_with_its_line(tmp_path, text, fragment):
    profile = tmp_path / "site.yaml"
    profile.write_text(text)
    with pytest.raises(InputError) as exc:
        run_check(CheckOptions([PROD, DR], profile=profile))
    assert fragment in str(exc.value)


def test_the_cli_takes_a_profile(tmp_path, capsys):
    profile = tmp_path / "site.yaml"
    profile.write_text("profile: x\ndisable: [NOPE-001]\n")
    assert main(["check", str(PROD), "--profile", str(profile)]) == 2
    assert "no rule NOPE-001" in capsys.readouterr().err
