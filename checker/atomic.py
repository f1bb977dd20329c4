"""Write files whole or not at all: a temp file in the same folder, then a rename."""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_writer(path: str | Path, *, binary: bool = False) -> Iterator[IO]:
    """Open a temporary sibling of `path`; it replaces `path` only if the block succeeds.

    A name ending in `.gz` is gzip-compressed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    raw = os.fdopen(fd, "wb")
    try:
        stream: IO = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if target.suffix == ".gz" else raw
        handle = stream if binary else _text(stream)
        try:
            yield handle
        finally:
            handle.close()
            raw.close()
        os.replace(tmp, target)
    except BaseException:
        raw.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _text(stream: IO) -> IO:
    import io

    return io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
