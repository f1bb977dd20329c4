"""Package data in a development checkout: the repository's own top-level folders, found
through the package (the wheel's copies are checked in test_packaging)."""

from pathlib import Path

from checker.bundled import bundled
from checker.policy import BUILTIN_DIR
from checker.report import TEMPLATES

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_data_is_the_repositorys_folders_so_edits_show_at_once():
    assert [bundled(name) for name in ("policies", "templates", "samples")] == [
        ROOT / "policies", ROOT / "templates", ROOT / "samples"]
    assert (BUILTIN_DIR, TEMPLATES) == (ROOT / "policies", ROOT / "templates")
    assert (BUILTIN_DIR / "MEM-001.yaml").is_file() and (TEMPLATES / "report.css").is_file()
