"""Shared test settings.

The real pool data lives outside the repository, in ../shared/realdata next to the repo
root; tests read it from there and never copy it into the project.
"""

from __future__ import annotations

from pathlib import Path

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
TEST_DATA = Path(__file__).resolve().parent / "data"

# The suite is not meaningful without the real pools: fail loudly rather than skip.
assert REALDATA.is_dir(), f"{REALDATA} is missing: the tests read the real XAPI data from there"


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
