"""Write files whole or not at all: a temp file in the same folder, then a rename.

`check_target` says, before any work is done, whether a path can be written, so that a
twenty-minute collection is never thrown away because its output cannot be saved.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from checker.errors import InputError


class OutputError(InputError):
    """An output path that cannot or must not be written (exit 2, nothing evaluated)."""


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def check_target(path: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """The regular file that writing `path` replaces (a symlink's target), or OutputError.

    Refused: a folder, FIFO, device or socket (replacing one would change what it is, and
    a device such as /dev/full may be replaced by a plain file); a symlink to anything but
    a regular file; one of the command's `inputs`; a missing parent folder (never made up);
    a folder no file can be created in (read-only, /proc), with the OS's reason.
    """
    shown = str(path)
    target = Path(path)
    if target.is_symlink():
        resolved = target.resolve()
        if not resolved.is_file():
            what = "nothing" if not resolved.exists() else f"{resolved}, not a regular file"
            raise OutputError(f"{shown}: a symbolic link to {what}: refusing to write through it")
        target = resolved
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"{shown}: cannot write: {exc.strerror or exc}") from None
    if mode is not None:
        kind = next((name for test, name in _KINDS if test(mode)), None)
        if kind is not None or not stat.S_ISREG(mode):
            raise OutputError(f"{shown}: is {kind or 'not a regular file'}: refusing to write to it")
        for source in inputs:
            with contextlib.suppress(OSError):
                if os.path.samefile(source, target):
                    raise OutputError(f"{shown}: is also an input ({source}): refusing to overwrite it")
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(f"{shown}: no such folder {parent} (create it first)")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{shown}: cannot write in {parent}: {exc.strerror or exc}") from None
    return target


def new_file_mode() -> int:
    """The mode `open()` would give a new file: 0666 less the umask (0644 under 022).

    Read from /proc where it can be, since setting the umask to read it back would race
    with the job's threads creating files meanwhile."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            mask = next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_writer(path: str | Path, *, binary: bool = False) -> Iterator[IO]:
    """Open a temporary sibling of `path`; it replaces `path` only if the block succeeds.

    A name ending in `.gz` is gzip-compressed. A symlink is written through to its
    target. The file gets the replaced file's mode, or the umask's for a new file (a
    temporary file alone would be 0600). Failing to write (a full disk) is an OutputError
    naming the path and the OS's reason; the temporary file never outlives the block.
    """
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        mode = new_file_mode()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {target.parent}: {exc.strerror or exc}") from None
    raw = os.fdopen(fd, "wb")
    try:
        os.fchmod(fd, mode)
        stream: IO = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if target.suffix == ".gz" else raw
        handle = stream if binary else _text(stream)
        try:
            yield handle
        finally:
            handle.close()
            raw.close()
        os.replace(tmp, target)
    except OSError as exc:
        _discard(raw, tmp)
        if exc.filename not in (None, tmp):
            raise  # not the write: an error of the caller's own, inside the block
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        _discard(raw, tmp)
        raise


def _discard(raw: IO, tmp: str) -> None:
    with contextlib.suppress(OSError):
        raw.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


def _text(stream: IO) -> IO:
    import io

    return io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
