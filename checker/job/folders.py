"""The run folders under OUTPUT: one per run, dated, each carrying `run.json`, which says
how the run ended, so that a folder is never mistaken for a finished run.

`run.json` says `running` from the moment the folder is made, then `complete` (every step
done), `failed` (the run ended, but a pool, a check, the e-mail or the state failed: exit 2
or 4) or `interrupted` (SIGINT, SIGTERM). A run killed outright cannot say so itself: the
next run, which holds the lock and so knows that nothing else is running, marks it
`interrupted`. `keep: N` removes the oldest `complete` folders beyond N; the others stay
for someone to look at.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from checker.errors import ExternalError

RECORD = "run.json"
FORMAT = "migready.run/1"
#: A folder being removed by `prune`: renamed first, so half of one is never a run.
REMOVING = ".removing-"


def new_run_dir(output: Path, now: dt.datetime) -> Path:
    base = output / now.strftime("%Y-%m-%d_%H%M%S")
    candidate, n = base, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:  # two runs in one second (a clock set back, or tests)
            n += 1
            candidate = base.with_name(f"{base.name}-{n}")
        except OSError as exc:
            raise ExternalError(f"output: {output}: cannot create the run folder: "
                                f"{exc.strerror}") from None


def write_record(run_dir: Path, record: dict[str, Any]) -> None:
    from checker.atomic import atomic_writer

    try:
        with atomic_writer(run_dir / RECORD) as handle:
            handle.write(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ExternalError(f"output: {run_dir / RECORD}: cannot write the run's record: "
                            f"{exc.strerror}") from None


def _records(output: Path, state: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every run folder with a readable record of a job using `state`: anything else in
    OUTPUT, another job's runs included (their lock is another), is not ours to touch."""
    for folder in sorted(output.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("format") == FORMAT \
                and record.get("state") == str(state):
            yield folder, record


def settle(output: Path, state: Path) -> None:
    """Mark runs that say `running` but hold no lock as `interrupted`; finish removals that
    `prune` left. Called under the lock, so no other run is alive."""
    for leftover in output.glob(f"{REMOVING}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for folder, record in _records(output, state):
        if record.get("status") == "running":
            record.update(status="interrupted",
                          note="the run ended without finishing (killed, or the machine stopped)")
            write_record(folder, record)


def _started(record: dict[str, Any]) -> float:
    try:
        return dt.datetime.fromisoformat(record["started_at"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return 0.0


def prune(output: Path, state: Path, keep: int) -> None:
    """Remove the oldest complete run folders, keeping the newest `keep`."""
    complete = sorted((_started(record), folder.name, folder)
                      for folder, record in _records(output, state)
                      if record.get("status") == "complete")
    for *_, folder in complete[:max(0, len(complete) - keep)]:
        doomed = folder.with_name(REMOVING + folder.name)
        with contextlib.suppress(OSError):  # gone already, or not ours to remove: leave it
            folder.rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)
