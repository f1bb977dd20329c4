"""One run of a job: collect or import every pool, check, report, compare, e-mail, keep.

One run, in order:
1. Prove the state folder (and each check's folder in it) writable, then take `STATE/.lock`
   (flock, non-blocking). Held by another run: `LockedError`, exit 4, nothing done. The
   kernel drops the lock when a process dies, so a crash never wedges cron. Under the lock:
   finish a state replacement a crashed run committed (`state.recover`), prove the output
   folder writable, mark runs killed outright as interrupted. An unwritable folder is exit 2
   before anything is collected.
2. Make `OUTPUT/<stamp>/` and its `run.json` (`running`). Collect, import or load every
   pool, `concurrency` at a time, into `OUTPUT/<stamp>/inventories/<pool>.json.gz`. A pool
   that fails is reported; every check using it is not run (its state is kept), the others
   go on.
3. Each check: results, reports (`OUTPUT/<stamp>/<check>/results.json`, `results.csv`,
   `report.<lang>.html|pdf`, with a "since last run" section), and the diff with
   `STATE/<check>/last-results.json`.
4. The e-mail (also saved as `OUTPUT/<stamp>/message.eml`): always when a pool or a check
   failed; with `only_on_change`, otherwise only when a check's verdict or failure set changed.
5. Only then the last results of every check that ran are replaced, all or none
   (`state.prepare`, then `Replacement.commit`, during which SIGINT and SIGTERM wait), and
   `run.json` says `complete` or `failed`. When the e-mail was due and could not be sent the
   state is left as it was, so the next run compares with the same baseline and reports the
   change again: a change is never swallowed by a mail server that was down.
6. `keep: N`: the oldest complete run folders beyond N are removed.

Interrupted (SIGINT, or SIGTERM, which the CLI turns into SystemExit(143)) before step 5:
the pools not yet started are dropped, temporary files are removed (every file is written
atomically), prepared last results are dropped, `run.json` says `interrupted`, and the state
is as it was.

The exit code is the worst of the run: 4 (a pool could not be collected, the lock was held,
SMTP failed, or the state could not be replaced), 2 (invalid input: a bad dump, plan or
waivers, an unwritable folder), 1 blocked, 3 undecided, 0.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.errors import ExitCode, InputError, MigreadyError
from checker.job.config import CheckSpec, Job, PoolSpec
from checker.job.folders import FORMAT, new_run_dir, prune, settle, write_record
from checker.job.mail import MailOutcome, send_mail
from checker.job.state import (
    Replacement,
    check_state_writable,
    check_writable,
    last_results,
    prepare,
    recover,
    state_lock,
)

if TYPE_CHECKING:
    from checker.check import CheckOptions

#: Worst first: which exit code a run with several outcomes ends with.
EXIT_ORDER = (ExitCode.EXTERNAL_FAILURE, ExitCode.INVALID_INPUT, ExitCode.BLOCKED,
              ExitCode.UNDECIDED, ExitCode.READY)


@dataclass
class PoolOutcome:
    name: str
    kind: str
    inventory: Path | None = None
    error: str | None = None
    exit_code: int = 0
    seconds: float = 0.0


@dataclass
class CheckOutcome:
    name: str
    pools: tuple[str, ...]
    verdict: str | None = None
    exit_code: int = 0
    results_path: Path | None = None
    reports: list[Path] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    previous_at: str | None = None  # generated_at of the results compared with
    previous_verdict: str | None = None
    diff: dict[str, Any] | None = None  # against the previous results, or an empty baseline
    changed: bool = True  # verdict or failure set differ from the previous run (or first run)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    results: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def ran(self) -> bool:
        return self.verdict is not None

    def blockers(self, key: str) -> list[dict[str, Any]]:
        return [f for f in (self.diff or {}).get(key, []) if f["severity"] == "blocker"]


@dataclass
class JobOutcome:
    """What a run did so far: `run.json` is written from it at the start, at the end, and
    when the run is interrupted."""

    job: str
    started_at: dt.datetime
    run_dir: Path
    state: Path
    pools: list[PoolOutcome] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    mail: MailOutcome = field(default_factory=lambda: MailOutcome(
        "not_reached", "the run ended before the e-mail"))
    state_updated: list[str] = field(default_factory=list)
    state_error: str | None = None
    status: str = "running"  # then complete | failed | interrupted
    exit_code: int = 0

    @property
    def problems(self) -> list[str]:
        """One line per failure a cron mail or journal should show."""
        out = [f"pool {p.name}: {p.error}" for p in self.pools if p.error]
        out += [f"check {c.name}: {c.error}" for c in self.checks
                if c.error and not c.error.startswith("not run")]
        if self.mail.status == "failed":
            out.append(f"e-mail not sent: {self.mail.reason}")
        if self.mail.refused:
            out.append("e-mail refused for " + "; ".join(f"{a} ({why})"
                                                       for a, why in self.mail.refused.items()))
        if self.state_error:
            out.append(self.state_error)
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "status": self.status, "job": self.job,
            "started_at": self.started_at.isoformat(), "run_dir": str(self.run_dir),
            "state": str(self.state),
            "exit_code": self.exit_code,
            "pools": [{"name": p.name, "kind": p.kind, "error": p.error,
                       "inventory": str(p.inventory) if p.inventory else None,
                       "seconds": round(p.seconds, 3)} for p in self.pools],
            "checks": [{"name": c.name, "pools": list(c.pools), "verdict": c.verdict,
                        "error": c.error, "changed": c.changed, "previous_at": c.previous_at,
                        "previous_verdict": c.previous_verdict,
                        "new_blockers": len(c.blockers("new_failures")),
                        "resolved_blockers": len(c.blockers("resolved")),
                        "results": str(c.results_path) if c.results_path else None,
                        "reports": [str(p) for p in c.reports], "notes": c.notes}
                       for c in self.checks],
            "mail": {"status": self.mail.status, "reason": self.mail.reason,
                     "subject": self.mail.subject, "recipients": self.mail.recipients,
                     "refused": self.mail.refused},
            "state_updated": self.state_updated, "state_error": self.state_error,
        }


def _noop(_message: str) -> None:
    pass


def run_job(job: Job, *, now: dt.datetime | None = None,
            sleep: Callable[[float], None] = time.sleep,
            progress: Callable[[str], None] | None = None) -> JobOutcome:
    """One run of the job (see the module docstring). Prints nothing; raises LockedError when
    another run holds the lock, InputError when the output or state folder is not writable
    (before anything is collected). `sleep` paces the XenAPI and SMTP retries (tests: no wait).

    An exception that ends the run early (KeyboardInterrupt, the SystemExit of the CLI's
    SIGTERM handler, a bug) leaves the run folder marked `interrupted` or `failed`, no
    temporary file, and the state as it was; it is then raised again."""
    now = now or dt.datetime.now().astimezone()
    say = progress or _noop
    check_state_writable(job.state, [c.name for c in job.checks], f"{job.file}: state")
    with state_lock(job.state):
        recover(job.state)
        check_writable(job.output, f"{job.file}: output")
        settle(job.output, job.state)
        outcome = JobOutcome(job.name, now, new_run_dir(job.output, now), job.state)
        write_record(outcome.run_dir, outcome.as_json())
        try:
            replacement = _run(job, outcome, sleep, say)
        except BaseException as exc:
            outcome.status = "failed" if isinstance(exc, Exception) else "interrupted"
            outcome.exit_code = _exit_code_of(exc)
            with contextlib.suppress(MigreadyError):  # what ended the run is what to report
                recover(job.state)  # drops new last results prepared but not committed
            with contextlib.suppress(MigreadyError):
                write_record(outcome.run_dir, outcome.as_json())
            raise
        with _signals_deferred():  # the state and the record that says so, both or neither
            if replacement is not None:
                try:
                    replacement.commit()
                    outcome.state_updated = list(replacement.checks)
                except MigreadyError as exc:
                    outcome.state_error = str(exc)
            outcome.exit_code = _run_exit_code(outcome)
            failed = outcome.exit_code in (ExitCode.INVALID_INPUT, ExitCode.EXTERNAL_FAILURE)
            outcome.status = "failed" if failed else "complete"
            write_record(outcome.run_dir, outcome.as_json())
        if job.keep is not None:
            prune(job.output, job.state, job.keep)
        return outcome


def _run(job: Job, outcome: JobOutcome, sleep: Callable[[float], None],
         say: Callable[[str], None]) -> Replacement | None:
    """Collect, check, report, mail; then the new last results, written beside the old ones
    (not yet in place) when the e-mail was not due or went out."""
    outcome.pools = _acquire_pools(job, outcome.run_dir, sleep, say)
    by_name = {p.name: p for p in outcome.pools}
    for spec in job.checks:
        outcome.checks.append(_run_check(job, spec, by_name, outcome.run_dir, say))
    outcome.mail = send_mail(job, outcome.started_at, outcome.run_dir, outcome.pools,
                             outcome.checks, sleep, say)
    ran = {c.name: c.results_path for c in outcome.checks if c.ran and c.results_path}
    if outcome.mail.status == "failed" or not ran:
        return None
    try:
        return prepare(job.state, ran)
    except MigreadyError as exc:
        outcome.state_error = str(exc)
        return None


def _run_exit_code(outcome: JobOutcome) -> int:
    codes = [p.exit_code for p in outcome.pools] + [c.exit_code for c in outcome.checks]
    if outcome.mail.status == "failed" or outcome.mail.refused or outcome.state_error:
        codes.append(int(ExitCode.EXTERNAL_FAILURE))
    return worst_exit_code(codes)


def _exit_code_of(exc: BaseException) -> int:
    """The code the process will end with: 130 for Ctrl-C, the SystemExit's own (143 from the
    CLI's SIGTERM handler), 5 for anything else (a bug: the CLI's internal error)."""
    if isinstance(exc, KeyboardInterrupt):
        return int(ExitCode.INTERRUPTED)
    if isinstance(exc, SystemExit) and isinstance(exc.code, int):
        return exc.code
    return 5


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done, then take effect as they would have.
    Only the main thread can set handlers; elsewhere nothing is deferred."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    watched = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, _frame: caught.append(signum)) for s in watched}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for signum in caught:
            signal.raise_signal(signum)


def worst_exit_code(codes: list[int]) -> int:
    """4 before 2 before 1 before 3 before 0: what a cron wrapper most needs to know."""
    for code in EXIT_ORDER:
        if int(code) in codes:
            return int(code)
    return max(codes, default=0)


def _acquire_pools(job: Job, run_dir: Path, sleep: Callable[[float], None],
                   say: Callable[[str], None]) -> list[PoolOutcome]:
    """Every pool's inventory, `concurrency` at a time; a failure stays with its pool."""
    if not job.pools:
        return []
    workers = max(1, min(job.concurrency, len(job.pools)))
    pool_exec = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="migready-pool")
    try:
        futures = [pool_exec.submit(_acquire_one, spec, run_dir, sleep, say) for spec in job.pools]
        return [f.result() for f in futures]
    finally:
        # Interrupted: the pools not started are dropped; those under way finish their file
        # (written atomically) before the run records itself as interrupted.
        pool_exec.shutdown(wait=True, cancel_futures=True)


def _acquire_one(spec: PoolSpec, run_dir: Path, sleep: Callable[[float], None],
                 say: Callable[[str], None]) -> PoolOutcome:
    from checker.inventory import Inventory, save_document

    started = time.monotonic()
    outcome = PoolOutcome(spec.name, spec.kind)
    target = run_dir / "inventories" / f"{spec.name}.json.gz"
    try:
        if spec.kind == "collect":
            from checker import collector

            c = spec.collect
            assert c is not None
            doc = collector.collect(c.server, c.username, c.password.read(), tls=c.tls,
                                    timeout=c.timeout,
                                    progress=lambda m: say(f"{spec.name}: {m}"),
                                    retry=collector.RetryPolicy(sleep=sleep))
            save_document(doc, target)
            outcome.inventory = target
        elif spec.kind == "import":
            from checker import dump

            assert spec.path is not None
            save_document(dump.import_file(spec.path), target)
            outcome.inventory = target
        else:
            assert spec.path is not None
            Inventory.load(spec.path)  # a broken file fails here, with its pool's name
            outcome.inventory = spec.path
        say(f"{spec.name}: {spec.kind} done")
    except MigreadyError as exc:
        outcome.error = str(exc)
        outcome.exit_code = int(exc.exit_code)
        say(f"{spec.name}: {spec.kind} failed")
    except OSError as exc:
        outcome.error = f"cannot write {target}: {exc.strerror}"
        outcome.exit_code = int(ExitCode.EXTERNAL_FAILURE)
    outcome.seconds = time.monotonic() - started
    return outcome


EMPTY_RESULTS: dict[str, Any] = {"operations": [], "findings": [], "waivers": [], "rules": [],
                                 "verdict": None, "generated_at": None}


def _run_check(job: Job, spec: CheckSpec, pools: dict[str, PoolOutcome], run_dir: Path,
               say: Callable[[str], None]) -> CheckOutcome:
    from checker.atomic import atomic_writer
    from checker.check import exit_code, run_check
    from checker.diff import diff_results
    from checker.output import format_csv, iter_json
    from checker.results_read import load_results

    outcome = CheckOutcome(spec.name, spec.pools)
    failed = [p for p in spec.pools if pools[p].error]
    if failed:
        outcome.error = (f"not run: {', '.join(failed)} could not be "
                         f"{'collected' if pools[failed[0]].kind == 'collect' else 'read'}; "
                         f"its last results are kept")
        outcome.exit_code = max(pools[p].exit_code for p in failed)
        outcome.changed = False
        return outcome
    previous = None
    last = last_results(job.state, spec.name)
    if last.exists():
        try:
            previous = load_results(last, lean="compare")
        except InputError as exc:
            outcome.notes.append(f"previous results unreadable, compared as a first run: {exc}")
    folder = run_dir / spec.name
    try:
        results = run_check(_check_options(job, spec, pools))
        with atomic_writer(folder / "results.json") as handle:
            handle.writelines(iter_json(results))
        outcome.results_path = folder / "results.json"
        if "csv" in job.report.formats:
            with atomic_writer(folder / "results.csv") as handle:
                handle.write(format_csv(results))
            outcome.reports.append(folder / "results.csv")
        outcome.diff = diff_results(previous or EMPTY_RESULTS, results)
        outcome.reports += _render_reports(job, results, outcome.diff if previous else None, folder)
    except MigreadyError as exc:
        outcome.error = str(exc)
        outcome.exit_code = int(exc.exit_code)
        say(f"{spec.name}: failed")
        return outcome
    except OSError as exc:  # the run folder filled up or went away under the run
        outcome.error = f"cannot write {exc.filename or folder}: {exc.strerror}"
        outcome.exit_code = int(ExitCode.EXTERNAL_FAILURE)
        say(f"{spec.name}: failed")
        return outcome
    outcome.results = results
    outcome.verdict = results["verdict"]
    outcome.summary = results.get("summary", {})
    outcome.exit_code = int(exit_code(results))
    if previous is not None:
        outcome.previous_at = previous.get("generated_at")
        outcome.previous_verdict = previous.get("verdict")
        outcome.changed = outcome.diff["verdict_changed"] or outcome.diff["failures_changed"]
    say(f"{spec.name}: {outcome.verdict}")
    return outcome


def _check_options(job: Job, spec: CheckSpec, pools: dict[str, PoolOutcome]) -> CheckOptions:
    """The one place where the job's settings become the check's options."""
    from checker.check import CheckOptions

    return CheckOptions(
        inventories=[pools[p].inventory for p in spec.pools if pools[p].inventory],
        plan=spec.plan, waivers=spec.waivers, policies=job.policies, fail_on=job.fail_on,
        profile=job.profile, extra_inputs={"job": {"name": job.name, "check": spec.name}})


def _render_reports(job: Job, results: dict[str, Any], since: dict[str, Any] | None,
                    folder: Path) -> list[Path]:
    from checker.atomic import atomic_writer
    from checker.report import build_context, load_signoff, render_html, render_pdf

    signoff = load_signoff(job.report.signoff) if job.report.signoff else None
    written: list[Path] = []
    for lang in job.report.languages:
        context = build_context(results, lang=lang, since=since, signoff=signoff)
        if "html" in job.report.formats:
            with atomic_writer(folder / f"report.{lang}.html") as handle:
                handle.write(render_html(context))
            written.append(folder / f"report.{lang}.html")
        if "pdf" in job.report.formats:
            data = render_pdf(context)
            with atomic_writer(folder / f"report.{lang}.pdf", binary=True) as handle:
                handle.write(data)
            written.append(folder / f"report.{lang}.pdf")
    return written


def format_outcome(outcome: JobOutcome) -> str:
    """The short summary `migready run` prints: per check verdict and paths, the e-mail."""
    lines = [f"run {outcome.job}: {outcome.run_dir}"]
    for pool in outcome.pools:
        if pool.error:
            lines.append(f"  pool {pool.name}: FAILED ({pool.kind}): see below")
    for check in outcome.checks:
        if check.ran:
            change = ("first run" if not check.previous_at else
                      "changed" if check.changed else "no change")
            lines.append(f"  {check.name}: {check.verdict} ({change}) "
                         f"{check.results_path.parent if check.results_path else ''}")
        else:
            lines.append(f"  {check.name}: {(check.error or '').splitlines()[0]}")
    m = outcome.mail
    if m.status == "sent":
        lines.append(f"  e-mail sent {m.reason}: {m.subject}")
    elif m.status == "failed":
        lines.append(f"  e-mail NOT sent (saved as {m.message_path}): see below")
    else:
        lines.append(f"  e-mail not sent: {m.reason}")
    if outcome.state_updated:
        lines.append(f"  state updated: {', '.join(outcome.state_updated)}")
    return "\n".join(lines) + "\n"
