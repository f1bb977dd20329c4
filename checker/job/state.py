"""The state directory of `migready run`: its lock, and each check's last results (the
baseline the next run compares with)."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from checker.errors import ExternalError

if TYPE_CHECKING:
    from checker.job.run import CheckOutcome


class LockedError(ExternalError):
    """Another run holds the state directory's lock: this run did nothing."""


@contextlib.contextmanager
def state_lock(state: Path) -> Iterator[None]:
    """An exclusive flock on STATE/.lock for the whole run; never waits.

    flock, not a pid file: the kernel releases it when the process ends however it ends, so
    a killed run never leaves a stale lock behind for cron to trip over.
    """
    try:
        state.mkdir(parents=True, exist_ok=True)
        fd = os.open(state / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ExternalError(f"{state}: cannot create the state directory or its lock: "
                            f"{exc.strerror}") from None
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


def save_state(state: Path, check: CheckOutcome) -> None:
    """The run's results file becomes the state's last results (copied: the JSON is
    written once per run)."""
    from checker.atomic import atomic_writer

    assert check.results_path is not None
    with atomic_writer(state / check.name / "last-results.json", binary=True) as handle, \
            check.results_path.open("rb") as source:
        shutil.copyfileobj(source, handle)

