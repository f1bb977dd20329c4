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
