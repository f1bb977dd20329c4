"""checker/atomic.py: outputs are checked before the work, written whole or not at all,
with the mode a plain `open()` would give, and never through a device or a folder."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from checker.atomic import OutputError, atomic_writer, check_target
from checker.errors import Terminated


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def umask():
    """Set a umask for one test, restoring the runner's after."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


def test_a_new_file_follows_the_umask(tmp_path, umask):
    for mask, mode in ((0o022, 0o644), (0o027, 0o640)):
        umask(mask)
        path = tmp_path / f"out-{mask:o}.json"
        with atomic_writer(path) as handle:
            handle.write("{}")
        assert stat.S_IMODE(path.stat().st_mode) == mode


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "results.json"
    path.write_text("old")
    path.chmod(0o600)
    with atomic_writer(path) as handle:
        handle.write("new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlink_to_a_file_is_written_through(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert check_target(link) == real
    with atomic_writer(link) as handle:
        handle.write("new")
    assert link.is_symlink() and real.read_text() == "new"


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), Terminated()],
                         ids=["disk-full", "sigterm"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, failure):
    path = tmp_path / "inventory.json"
    path.write_text("old")

    def write_fails(*args):
        raise failure

    monkeypatch.setattr(os, "replace", write_fails)
    expected = OutputError if isinstance(failure, OSError) else Terminated
    with pytest.raises(expected) as caught, atomic_writer(path) as handle:
        handle.write("new")
    if expected is OutputError:
        assert str(caught.value) == f"{path}: cannot write: No space left on device"
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_an_error_of_the_callers_own_is_not_called_a_write_error(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_writer(tmp_path / "out.txt"):
        (tmp_path / "missing-input").read_text()
    assert list(tmp_path.iterdir()) == []


def test_refused_targets_name_the_reason(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    to_folder = tmp_path / "to-folder"
    to_folder.symlink_to(tmp_path)
    given = tmp_path / "plan.yaml"
    given.write_text("plan: x\n")
    cases = {
        tmp_path: "is a folder: refusing to write to it",
        fifo: "is a FIFO: refusing to write to it",
        Path("/dev/full"): "is a device: refusing to write to it",
        dangling: "a symbolic link to nothing: refusing to write through it",
        to_folder: f"a symbolic link to {tmp_path}, not a regular file",
        tmp_path / "no" / "out.json": f"no such folder {tmp_path / 'no'} (create it first)",
        Path("/proc/migready-out.json"): "cannot write in /proc: ",
    }
    for target, reason in cases.items():
        with pytest.raises(OutputError) as caught:
            check_target(target)
        assert str(caught.value).startswith(f"{target}: ") and reason in str(caught.value), target
    with pytest.raises(OutputError, match=r"is also an input \(.*plan.yaml\)"):
        check_target(tmp_path / "." / "plan.yaml", inputs=[given])
    assert not (tmp_path / "no").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "fifo", "plan.yaml", "to-folder"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused_with_the_os_reason(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    with pytest.raises(OutputError, match=r"cannot write in .*: Permission denied"):
        check_target(folder / "out.json")
