"""`migready check` end to end through the CLI: verdicts, exit codes, output formats."""

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from conftest import PROD, TWO_TO_ONE, derived, drop_h2_metrics, nomigrate, shrink_h2

from checker.cli import main

HERE = Path(__file__).parent
SCHEMA = json.loads((HERE.parent / "checker" / "schemas" / "results.schema.json").read_text())


def plan_file(tmp_path, text):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


def test_two_vms_that_fit_alone_but_not_together_block(tmp_path, capsys):
    src = derived(tmp_path, shrink_h2)
    code = main(["check", str(src), "--plan", str(plan_file(tmp_path, TWO_TO_ONE)),
                 "--format", "json", "--only", "MEM-001"])
    results = json.loads(capsys.readouterr().out)
    jsonschema.validate(results, SCHEMA)
    assert code == 1
    mem = {f["subject"]["name"]: f["status"] for f in results["findings"]}
    assert mem == {"web-01": "pass", "app-01": "fail"}
    app = next(f for f in results["findings"] if f["subject"]["name"] == "app-01")
    assert "after 8.1 GiB for earlier moves of the plan" in app["message"]
    # Each alone fits: the same plan with one VM is ready.
    code = main(["check", str(src), "--plan", str(plan_file(tmp_path, TWO_TO_ONE.replace(
        "web-01, app-01", "app-01"))), "--only", "MEM-001"])
    assert code == 0


def test_missing_metrics_leave_the_verdict_undecided(tmp_path, capsys):
    src = derived(tmp_path, drop_h2_metrics)
    code = main(["check", str(src), "--plan", str(plan_file(tmp_path, TWO_TO_ONE)),
                 "--only", "MEM-001"])
    out = capsys.readouterr().out
    assert code == 3
    assert ("MEM-001 [blocker] undecidable for 2 VMs × 1 host: op.dst_free_memory: host 'ch82-h2' "
            "free_memory: host.metrics points at host_metrics OpaqueRef:gone, which is not in "
            "the inventory") in out
    assert "Verdict: UNDECIDED" in out


def test_invalid_plan_exits_2_without_evaluating(tmp_path, capsys):
    bad = plan_file(tmp_path, "operations:\n  - kind: live\n    vms: [nobody]\n"
                              "    destination: {host: ch82-h2}\n")
    assert main(["check", str(PROD), "--plan", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "no VM matches 'nobody'" in captured.err
    assert captured.out == ""


def test_invalid_inventory_names_the_json_path(tmp_path, capsys):
    doc = json.loads(PROD.read_text())
    vm_ref = next(iter(doc["objects"]["VM"]))
    doc["objects"]["VM"][vm_ref]["power_state"] = "Levitating"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f'$.objects.VM["{vm_ref}"].power_state: \'Levitating\' is not one of' in err


def test_interrupt_exits_130(monkeypatch, capsys):
    import checker.check

    def interrupted(_opts):
        raise KeyboardInterrupt

    monkeypatch.setattr(checker.check, "run_check", interrupted)
    assert main(["check", str(PROD)]) == 130


@pytest.mark.parametrize("fmt", ["json", "junit", "csv", "markdown", "text"])
def test_every_format_writes_atomically(tmp_path, fmt, capsys):
    src = derived(tmp_path, shrink_h2)
    out = tmp_path / f"results.{fmt}"
    code = main(["check", str(src), "--plan", str(plan_file(tmp_path, TWO_TO_ONE)), "--format", fmt,
                 "-o", str(out), "--only", "MEM-001"])
    assert code == 1
    text = out.read_text()
    assert not list(tmp_path.glob(".*.tmp"))
    if fmt == "json":
        jsonschema.validate(json.loads(text), SCHEMA)
    elif fmt == "junit":
        root = ET.fromstring(text)
        failures = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
        assert failures == ["MEM-001 app-01"]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {(r["vm"], r["status"]) for r in rows} == {("web-01", "pass"), ("app-01", "fail")}
    elif fmt == "markdown":
        assert "| op-2 | MEM-001 | blocker | fail | app-01 |" in text
    else:
        assert "MEM-001 [blocker] 1 VM\n" in text and "  app-01 [op-2] → ch82-h2\n" in text
        assert "\x1b[" not in text  # no colour when not a terminal


@pytest.mark.parametrize("name", ["prod.json", "prod.json.gz"])
def test_inputs_name_each_inventory_file_by_its_sha256(tmp_path, capsys, name):
    data = PROD.read_bytes()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    main(["check", str(path), "--format", "json", "--only", "MEM-001"])
    (entry,) = json.loads(capsys.readouterr().out)["inputs"]["inventories"]
    assert (entry["file"], entry["pool"]) == (name, "prod-ch82")
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()  # the file as stored


def test_audit_groups_passes_by_vm_with_targets(tmp_path, capsys):
    # ch82-h2 keeps room for web-01 but not db-01 (shrunk host_metrics: the one field).
    src = derived(tmp_path, shrink_h2)
    code = main(["check", str(src), "--format", "json", "--only", "MEM-001"])
    results = json.loads(capsys.readouterr().out)
    assert code == 1
    assert results["mode"] == "audit"
    live = {o["vm"]["name"]: o for o in results["operations"] if o["kind"] == "live"}
    assert live["db-01"]["destination"]["hosts"] == {"ch82-h2": "blocked"}
    assert live["web-01"]["destination"]["hosts"] == {"ch82-h2": "ready"}
    mem = {(f["subject"]["name"], f["status"]): f for f in results["findings"]
           if f["operation"] in {o["id"] for o in live.values()}}
    # A failure names its one destination; a pass for every destination says so.
    assert mem[("db-01", "fail")]["targets"] == ["ch82-h2"]
    assert mem[("web-01", "pass")]["all_targets"] is True
    assert "targets" not in mem[("web-01", "pass")]


def test_audit_failure_that_holds_for_every_destination(tmp_path, capsys):
    # web-02 gets the no-migrate flag (the one field LIM-004 reads): blocked to every host.
    src = derived(tmp_path, nomigrate)
    assert main(["check", str(src), "--format", "json", "--only", "LIM-004,MEM-001"]) == 1
    results = json.loads(capsys.readouterr().out)
    live = {o["vm"]["name"]: o for o in results["operations"] if o["kind"] == "live"}
    assert live["web-02"]["destination"]["hosts"] == {"ch82-h1": "blocked"}
    assert live["web-02"]["verdict"] == "blocked"
    lim = [f for f in results["findings"] if f["rule"] == "LIM-004" and f["status"] == "fail"
           and f["operation"] == live["web-02"]["id"]]
    assert [(f["subject"]["name"], f.get("all_targets")) for f in lim] == [("web-02", True)]
    assert live["web-01"]["destination"]["hosts"] == {"ch82-h2": "ready"}
