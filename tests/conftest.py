"""Shared test settings.

The real pool data is in tests/data/realdata: byte-identical copies of other projects' files
(PROVENANCE.md there says where each comes from, under which licence), so the suite needs
nothing outside the repository.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import settings

from checker.dump import import_file
from checker.inventory import Inventory

Objects = dict[str, dict[str, dict[str, Any]]]

# Property tests explore at random on a developer's machine; in CI they replay the same
# examples every run, so a red CI always means the code, never the draw.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

TEST_DATA = Path(__file__).resolve().parent / "data"
REALDATA = TEST_DATA / "realdata"

#: The real pool dumps (tests/data/realdata/PROVENANCE.md says where each comes from).
REAL_POOLS = ("xenadmin/tampa-db_inc_snapshots.xml", "xenadmin/Cowley-db.xml",
              "xenadmin/cowley1.xml", "xenadmin/state2.xml", "xenadmin/state4.xml")


@cache
def real_inventory(name: str) -> Inventory:
    """A real dump (one of REAL_POOLS), imported once per session. Shared: for tests that
    only evaluate it; a test that changes a record derives its own copy."""
    doc = import_file(REALDATA / name)
    return Inventory(doc, name)


#: Waivers for the sample pools (tests/policies/_base): one that matches db-01's second
#: disk under LIM-005, one that matches nothing. Fill in the first one's `expires`.
SAMPLE_WAIVERS = """waivers:
  - rule: LIM-005
    subjects: ["db-01 disk 1"]
    reason: Backup vendor re-enables CBT after the move
    approved_by: J. Sato
    ticket: CHG-2026-1204
    expires: {expires}
  - rule: MEM-001
    subjects: [web-99]
    reason: never matches
    approved_by: J. Sato
    ticket: CHG-2026-1205
    expires: 2026-12-31
"""


# ---------------------------------------------------------------------------------
# The sample pools (tests/policies/_base) and the one-field changes tests make to them
# ---------------------------------------------------------------------------------

BASE = Path(__file__).resolve().parent / "policies" / "_base"
PROD, DR = BASE / "prod-ch82.json", BASE / "dr-xs8.json"

#: web-01 (8 GiB) and app-01 (16 GiB) to ch82-h2, which `shrink_h2` leaves room for one of.
TWO_TO_ONE = """plan: CHG-MEM
operations:
  - kind: live
    vms: [web-01, app-01]
    destination: {host: ch82-h2}
"""

#: db-01 and web-01 across to dr-xs8: a storage live migration.
STORAGE = """plan: CHG-W
operations:
  - kind: storage
    vms: [db-01, web-01]
    destination: {pool: dr-xs8, host: xs8-h1}
"""


def derived(tmp_path: Path, change: Callable[[Objects], None], base: Path = PROD) -> Path:
    """A copy of a sample pool with `change(objects)` applied: the one field a case is about."""
    doc = json.loads(base.read_text())
    change(doc["objects"])
    path = tmp_path / f"{base.stem}-{change.__name__.strip('<>')}.json"
    path.write_text(json.dumps(doc))
    return path


def by_name(objects: Objects, cls: str, name: str) -> dict[str, Any]:
    return next(rec for rec in objects[cls].values() if rec.get("name_label") == name)


def shrink_h2(objects: Objects) -> None:
    """ch82-h2 keeps 20 GiB free: room for web-01 (8 GiB) or app-01 (16 GiB), not both."""
    host_ref, host = next((ref, rec) for ref, rec in objects["host"].items()
                          if rec["name_label"] == "ch82-h2")
    used = sum(int(vm["memory_dynamic_min"]) + int(vm["memory_overhead"])
               for vm in objects["VM"].values() if vm["resident_on"] == host_ref)
    objects["host_metrics"][host["metrics"]]["memory_total"] = str(
        int(host["memory_overhead"]) + used + 20 * 1024**3)


def drop_h2_metrics(objects: Objects) -> None:
    """ch82-h2's host.metrics dangles: its free memory (MEM-001) cannot be decided."""
    by_name(objects, "host", "ch82-h2")["metrics"] = "OpaqueRef:gone"


def cbt_on(objects: Objects) -> None:
    """CBT on db-01's second disk (the one field LIM-005 reads)."""
    by_name(objects, "VDI", "db-01 disk 1")["cbt_enabled"] = True


def nomigrate(objects: Objects) -> None:
    """web-02 gets the no-migrate flag (the one field LIM-004 reads)."""
    vm = by_name(objects, "VM", "web-02")
    objects["VM_metrics"][vm["metrics"]]["nomigrate"] = True


def management_nic_at(objects: Objects, host: str, mbits: int) -> None:
    """`host`'s management NIC runs at `mbits` Mbit/s (the PIF_metrics.speed that
    host.management_nic_speed reads, and so a live move's bandwidth)."""
    pifs = [objects["PIF"][ref] for ref in by_name(objects, "host", host)["PIFs"]]
    management = next(pif for pif in pifs if pif["management"])
    objects["PIF_metrics"][management["metrics"]]["speed"] = str(mbits)


def add_host(objects: Objects, like: str, name: str) -> None:
    """A new host made like `like`: its metrics, its PIFs (so the same networks) and its
    PBDs of shared SRs, under a new name, with no VMs (the sample pools have two hosts)."""
    def new(cls: str, record: dict[str, Any], **changes: Any) -> str:
        ref = f"OpaqueRef:{name}-{cls}-{len(objects[cls])}"
        objects[cls][ref] = {**record, "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, ref)), **changes}
        return ref

    ref = f"OpaqueRef:{name}"
    model = by_name(objects, "host", like)
    pbds = [new("PBD", pbd, host=ref) for pbd in map(objects["PBD"].get, model["PBDs"])
            if objects["SR"][pbd["SR"]]["shared"]]
    pifs = [new("PIF", pif, host=ref, metrics=new("PIF_metrics", objects["PIF_metrics"][pif["metrics"]]))
            for pif in map(objects["PIF"].get, model["PIFs"])]
    objects["host"][ref] = {**model, "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, ref)),
                            "name_label": name, "hostname": name, "resident_VMs": [],
                            "PBDs": pbds, "PIFs": pifs,
                            "metrics": new("host_metrics", objects["host_metrics"][model["metrics"]])}
    for pbd in pbds:
        objects["SR"][objects["PBD"][pbd]["SR"]]["PBDs"].append(pbd)
    for pif in pifs:
        objects["network"][objects["PIF"][pif]["network"]]["PIFs"].append(pif)


def read_or_exit_2(read: Callable[[Path], Any], data: bytes, name: str) -> Any:
    """`read` (an importer, a loader) of a file holding `data`: its value, or the InputError
    it raised, which must be exit 2 and start with the file's path (a located message)."""
    from checker.errors import InputError

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return read(path)
        except InputError as exc:
            assert exc.exit_code == 2 and str(exc).startswith(f"{path}"), str(exc)
            return exc


def renumbered(results: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """A copy of `results` with operation ids renamed (e.g. op-3 to op-10), in its operations,
    their parents and its findings: for orders that must read op-10 as ten."""
    doc = json.loads(json.dumps(results))
    for op in doc["operations"]:
        op["id"] = ids.get(op["id"], op["id"])
        if op.get("parent"):
            op["parent"] = ids.get(op["parent"], op["parent"])
    for f in doc["findings"]:
        f["operation"] = ids.get(f["operation"], f["operation"])
        if f.get("operations"):
            f["operations"] = [ids.get(o, o) for o in f["operations"]]
    return doc


def one_host_audit(results: dict[str, Any]) -> dict[str, Any]:
    """A copy of `results` whose op-3 is an audit sweep of one destination host (ch82-h1,
    ready): for counts of one."""
    doc = json.loads(json.dumps(results))
    op = next(o for o in doc["operations"] if o["id"] == "op-3")
    op["destination"] = {"pool": "prod-ch82", "hosts": {"ch82-h1": "ready"}}
    return doc
