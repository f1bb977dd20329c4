"""The state directory of `migready run`: its lock, and each check's last results (the
baseline the next run compares with), replaced for all checks at once or not at all.

    STATE/.lock                        flock of the run in progress
    STATE/<check>/last-results.json    the results the next run compares with
    STATE/<check>/last-results.json.next, STATE/.commit
                                       only while a replacement is under way (see `prepare`)

A replacement is two-phase so that no failure, signal or crash leaves some checks with the
new baseline and others with the old one (one read-only folder used to give an e-mail sent
and half the state updated): every new file is written in full beside the old one first;
then `.commit` (written atomically) names them, the renames follow, and `.commit` goes. A
run that dies after `.commit` was written is finished by the next run, under the lock,
before it reads anything; `.next` files without `.commit` are dropped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from checker.errors import ExternalError, InputError

LAST = "last-results.json"
NEXT = LAST + ".next"
COMMIT = ".commit"


class LockedError(ExternalError):
    """Another run holds the state directory's lock: this run did nothing."""


@contextlib.contextmanager
def state_lock(state: Path) -> Iterator[None]:
    """An exclusive flock on STATE/.lock for the whole run; never waits.

    flock, not a pid file: the kernel releases it when the process ends however it ends, so
    a killed run never leaves a stale lock behind for cron to trip over.
    """
    try:
        fd = os.open(state / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"state: {state / '.lock'}: cannot open the lock: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            raise LockedError(
                f"another migready run is in progress ({holder or 'holder unknown'}; lock "
                f"{state / '.lock'}): this run did nothing; if runs overlap often, run the job "
                f"less often or give it more time") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {dt.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z}"
                      f"\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def last_results(state: Path, check: str) -> Path:
    return state / check / LAST


def check_writable(folder: Path, key: str) -> None:
    """Create `folder` if it is missing and prove a file can be made in it, before a run
    collects anything: a read-only folder found after a 20-minute collection wastes it."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{key}: {folder}: cannot write there: it is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".migready-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{key}: {folder}: cannot write there: {exc.strerror}") from None


def check_state_writable(state: Path, checks: list[str], key: str) -> None:
    """The state directory and the folder of every check that has one: the new last results
    are written there after the e-mail, when it is too late to find out."""
    check_writable(state, key)
    for name in checks:
        if (state / name).exists():
            check_writable(state / name, key)


@dataclass(frozen=True)
class Replacement:
    """New last results written in full beside the old ones, not yet in place."""

    state: Path
    checks: tuple[str, ...]

    def commit(self) -> None:
        """`.commit` is the point of no return: once it is written, every listed check's
        new file goes in place, now or, after a crash, at the next run's `recover`."""
        from checker.atomic import atomic_writer

        _sync_dirs(self.state, self.checks)
        try:
            with atomic_writer(self.state / COMMIT) as handle:
                json.dump({"checks": list(self.checks)}, handle)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            self.discard()
            raise ExternalError(f"state: {self.state}: cannot commit the new last results: "
                                f"{exc.strerror}; none was replaced") from None
        recover(self.state)

    def discard(self) -> None:
        for name in self.checks:
            with contextlib.suppress(OSError):  # not made, or its folder could not be
                (self.state / name / NEXT).unlink()


def prepare(state: Path, results: Mapping[str, Path]) -> Replacement:
    """Copy each check's results file beside its last results (`.next`); nothing is replaced
    yet, and if one copy fails every copy made is removed (ExternalError)."""
    from checker.atomic import atomic_writer

    done = Replacement(state, tuple(results))
    try:
        for name, source in results.items():
            with atomic_writer(state / name / NEXT, binary=True) as handle, \
                    source.open("rb") as data:
                shutil.copyfileobj(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
    except OSError as exc:
        done.discard()
        raise ExternalError(f"state: cannot write the new last results "
                            f"({exc.filename or state}: {exc.strerror}); none was replaced, the "
                            f"next run compares with the same baseline") from None
    except BaseException:
        done.discard()
        raise
    return done


def recover(state: Path) -> list[str]:
    """Finish a replacement a run committed but did not complete; drop uncommitted files.
    Returns the checks whose last results were put in place here."""
    marker = state / COMMIT
    finished: list[str] = []
    if marker.exists():
        try:
            names = json.loads(marker.read_text(encoding="utf-8"))["checks"]
            for name in names:
                if (state / name / NEXT).exists():
                    os.replace(state / name / NEXT, state / name / LAST)
                    finished.append(name)
            _sync_dirs(state, names)
            marker.unlink()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ExternalError(f"state: {marker}: cannot finish the last replacement of the "
                                f"last results ({exc}); fix it or remove {marker} and the "
                                f"*.next files by hand") from None
    for stray in state.glob(f"*/{NEXT}"):
        with contextlib.suppress(FileNotFoundError):
            stray.unlink()
    return finished


def _sync_dirs(state: Path, checks: tuple[str, ...] | list[str]) -> None:
    """Make the files and renames in these folders durable before the next step depends on
    them (a power cut must not leave `.commit` naming files that never reached the disk)."""
    for folder in [state / name for name in checks if (state / name).is_dir()] + [state]:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
