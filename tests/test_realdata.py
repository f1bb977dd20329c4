"""The real XAPI data in tests/data/realdata: byte-identical to its sources, each file accounted
for in PROVENANCE.md with its licence text beside it."""

import hashlib
import re

from conftest import REALDATA

DOCS = {"README.md", "PROVENANCE.md"}


def provenance() -> dict[str, dict[str, str]]:
    """PROVENANCE.md's table: file -> its columns."""
    rows = {}
    for line in (REALDATA / "PROVENANCE.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`"):
            file, repo, commit, path, blob, licence = cells
            rows[file.strip("`")] = {"repo": repo, "commit": commit, "path": path.strip("`"),
                                     "blob": blob.strip("`"), "licence": licence}
    return rows


def git_blob_id(data: bytes) -> str:
    """What `git hash-object` prints for a file of these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def test_every_data_file_is_in_the_provenance_table_and_nothing_else():
    files = {str(p.relative_to(REALDATA)) for p in REALDATA.rglob("*")
             if p.is_file() and p.name not in DOCS and p.parent.name != "LICENSES"}
    assert set(provenance()) == files
    assert "xenadmin/Cowley-db.xml" in files and "xen-api/vm_get_all_records.json" in files


def test_each_file_is_byte_identical_to_its_upstream_blob():
    for file, row in provenance().items():
        assert git_blob_id((REALDATA / file).read_bytes()) == row["blob"], file
        assert row["path"].endswith(file.split("/")[-1]) and re.search(r"\b[0-9a-f]{40}\b", row["commit"])
        assert row["repo"].startswith("https://github.com/"), file


def test_each_licence_named_has_its_text_in_licenses():
    for file, row in provenance().items():
        texts = re.findall(r"`([^`]+\.txt)`", row["licence"])
        assert texts, f"{file}: no licence text named"
        for text in texts:
            assert (REALDATA / "LICENSES" / text).stat().st_size > 1000, text
