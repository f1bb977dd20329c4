"""`migready run job.yaml`: collect or import every pool, check, report, compare, e-mail.

Meant for cron and systemd timers: one job file says everything, one run does everything,
and nothing a run does can lose what an earlier run knew.

The job file (relative paths are relative to the job file's folder; every key is checked,
an unknown key is an error with file:line:col)::

    name: nightly                 # optional, in the e-mail subject; default: the file's stem
    output: reports               # each run writes OUTPUT/YYYY-MM-DD_HHMMSS/
    state: state                  # STATE/<check>/last-results.json and STATE/.lock
    concurrency: 4                # pools collected or imported at the same time (default 4)
    fail_on: blocker              # or warning (as `check --fail-on`)
    policies: [my-rules]          # extra policy directories (optional)
    pools:
      - name: prod                # letters, digits, . _ - (used as a file name)
        collect:
          server: https://xs01.example.com
          username: root                        # default root
          password_env: XS_PASSWORD             # or password_file: /etc/migready/xs.pw
          fingerprint: "AB:CD:..."              # or ca_bundle: FILE, or insecure: true
          timeout: 60                           # seconds per XenAPI call
      - name: dr
        import: dumps/dr-db.xml   # `xe pool-dump-database` output, a status report's xapi-db.xml
      - name: lab
        inventory: pools/lab.json # an inventory collected earlier
    checks:                       # optional; without it each pool gets its own readiness audit
      - name: dr-move
        pools: [prod, dr]
        plan: plan.yaml           # optional: without it, the readiness audit of these pools
        waivers: waivers.yaml     # optional
    report:
      formats: [html, pdf, csv]   # default [html, pdf]
      languages: [en, ja]         # default [en]
      signoff: signoff.yaml       # optional
    email:                        # optional
      host: smtp.example.com
      port: 587                   # default by security: 587 starttls, 465 tls, 25 none
      security: starttls          # starttls | tls | none
      username: migready          # optional; then password_env or password_file
      password_env: SMTP_PASSWORD
      ca_bundle: FILE             # optional: CA certificates for the server's certificate
      timeout: 30
      retries: 3                  # attempts in all
      retry_delay: 5              # seconds before the 2nd attempt; doubles after each
      from: migready@example.com
      to: [ops@example.com, cab@example.com]
      cc: []
      only_on_change: false       # true: mail only when a verdict or the set of failures changed
      attach: [pdf]               # pdf and/or csv, of the formats rendered; default [pdf]
      lang: en                    # the body's report language; default: the first of languages

One run, in order:
1. Take `STATE/.lock` (flock, non-blocking). Held by another run: `LockedError`, exit 4,
   nothing done. The kernel drops the lock when a process dies, so a crash never wedges cron.
2. Collect, import or load every pool, `concurrency` at a time, into
   `OUTPUT/<stamp>/inventories/<pool>.json.gz`. A pool that fails is reported; every check
   using it is not run (its state is kept), the others go on.
3. Each check: results, reports (`OUTPUT/<stamp>/<check>/results.json`, `results.csv`,
   `report.<lang>.html|pdf`, with a "since last run" section), and the diff with
   `STATE/<check>/last-results.json`.
4. The e-mail (also saved as `OUTPUT/<stamp>/message.eml`): always when a pool or a check
   failed; with `only_on_change`, otherwise only when a check's verdict or failure set changed.
5. Only then each successful check's results replace its `last-results.json` (atomically).
   When the e-mail was due and could not be sent the state is left as it was, so the next
   run compares with the same baseline and reports the change again: a change is never
   swallowed by a mail server that was down.

The exit code is the worst of the run: 4 (a pool could not be collected, the lock was held,
or SMTP failed), 2 (invalid input: a bad dump, plan or waivers), 1 blocked, 3 undecided, 0.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.errors import ExitCode, ExternalError, InputError, MigreadyError
from checker.policy import LANGS
from checker.results import VERDICTS
from checker.results import overall_verdict as worst_verdict
from checker.yamlsrc import Located, YamlError
from checker.yamlsrc import load as load_yaml

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: A check may not be called like the folder the run's inventories go to.
RESERVED_NAMES = {"inventories"}
FORMATS = ("html", "pdf", "csv")
#: Worst first: which exit code a run with several outcomes ends with.
EXIT_ORDER = (ExitCode.EXTERNAL_FAILURE, ExitCode.INVALID_INPUT, ExitCode.BLOCKED,
              ExitCode.UNDECIDED, ExitCode.READY)
#: How many new blockers the e-mail lists before pointing at the reports.
MAIL_LIST_LIMIT = 40


class LockedError(ExternalError):
    """Another run holds the state directory's lock: this run did nothing."""


# -- the job file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """Where a password comes from; it is read only when needed, and never stored here."""

    env: str | None = None
    file: Path | None = None

    def read(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise InputError(f"environment variable {self.env} is not set")
            return value
        if self.file is not None:
            try:
                lines = self.file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise InputError(f"{self.file}: cannot read password file: {exc.strerror}") from None
            return lines[0] if lines else ""
        return ""

    def describe(self) -> str:
        return f"${self.env}" if self.env is not None else f"file {self.file}"


@dataclass(frozen=True)
class CollectSpec:
    server: str
    username: str
    password: Secret
    tls: Any  # collector.TlsOptions (imported lazily: XenAPI is not needed to read a job)
    timeout: float


@dataclass(frozen=True)
class PoolSpec:
    name: str
    kind: str  # collect | import | inventory
    path: Path | None = None  # import and inventory
    collect: CollectSpec | None = None


@dataclass(frozen=True)
class CheckSpec:
    name: str
    pools: tuple[str, ...]
    plan: Path | None = None
    waivers: Path | None = None


@dataclass(frozen=True)
class ReportSpec:
    formats: tuple[str, ...] = ("html", "pdf")
    languages: tuple[str, ...] = ("en",)
    signoff: Path | None = None


@dataclass(frozen=True)
class EmailSpec:
    smtp: Any  # mailer.SmtpSettings, without the password
    password: Secret | None
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    only_on_change: bool = False
    attach: tuple[str, ...] = ("pdf",)
    lang: str = "en"


@dataclass(frozen=True)
class Job:
    file: Path
    name: str
    output: Path
    state: Path
    pools: tuple[PoolSpec, ...]
    checks: tuple[CheckSpec, ...]
    report: ReportSpec = field(default_factory=ReportSpec)
    email: EmailSpec | None = None
    concurrency: int = 4
    fail_on: str = "blocker"
    policies: tuple[Path, ...] = ()
    checks_given: bool = False  # False: one audit per pool, made up from `pools`


_TOP = {"name", "output", "state", "concurrency", "fail_on", "policies", "pools", "checks",
        "report", "email"}
_POOL = {"name", "collect", "import", "inventory"}
_COLLECT = {"server", "username", "password_env", "password_file", "ca_bundle", "fingerprint",
            "insecure", "timeout"}
_CHECK = {"name", "pools", "plan", "waivers"}
_REPORT = {"formats", "languages", "signoff"}
_EMAIL = {"host", "port", "security", "username", "password_env", "password_file", "ca_bundle",
          "timeout", "retries", "retry_delay", "from", "to", "cc", "only_on_change", "attach",
          "lang"}


class _Reader:
    """Typed access to the job document; every problem is collected with its file:line:col."""

    def __init__(self, doc: Located, base: Path) -> None:
        self.doc = doc
        self.base = base
        self.errors: list[tuple[int, int, str]] = []

    def error(self, where: tuple[Any, ...], message: str) -> None:
        line, col = self.doc.where(where)
        dotted = ".".join(str(p) for p in where) or "(top)"
        self.errors.append((line, col, f"{self.doc.file}:{line}:{col}: {dotted}: {message}"))

    def mapping(self, value: Any, where: tuple[Any, ...], allowed: set[str],
                required: tuple[str, ...] = ()) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(where, f"expected a mapping with {', '.join(sorted(allowed))}")
            return None
        for key in value:
            if key not in allowed:
                self.error((*where, key), f"unknown key (expected: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.error(where, f"{key} is required")
        return value

    def string(self, data: dict[str, Any], key: str, where: tuple[Any, ...],
               default: str | None = None) -> str | None:
        value = data.get(key, default)
        if value is None or (isinstance(value, str) and value.strip()):
            return value
        self.error((*where, key), "expected a non-empty string")
        return default

    def number(self, data: dict[str, Any], key: str, where: tuple[Any, ...], default: float,
               *, integer: bool = False, minimum: float = 0) -> Any:
        value = data.get(key, default)
        kinds: tuple[type, ...] = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
            self.error((*where, key), f"expected {'an integer' if integer else 'a number'} "
                                      f">= {minimum:g}")
            return default
        return value

    def flag(self, data: dict[str, Any], key: str, where: tuple[Any, ...]) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.error((*where, key), "expected true or false")
            return False
        return value

    def strings(self, data: dict[str, Any], key: str, where: tuple[Any, ...],
                default: tuple[str, ...] = (), choices: tuple[str, ...] | None = None,
                allow_single: bool = False) -> tuple[str, ...]:
        value = data.get(key, list(default))
        if allow_single and isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.error((*where, key), "expected a list of strings")
            return default
        for i, item in enumerate(value):
            if choices is not None and item not in choices:
                self.error((*where, key, i), f"{item!r}: expected one of {', '.join(choices)}")
        if len(set(value)) != len(value):
            self.error((*where, key), "lists a value twice")
        return tuple(value)

    def path(self, data: dict[Any, Any], key: str | int, where: tuple[Any, ...], *,
             must_exist: str | None = None) -> Path | None:
        """A path relative to the job file's folder; `must_exist`: "file" or "dir"."""
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error((*where, key), "expected a path")
            return None
        path = Path(os.path.expanduser(value))
        path = Path(os.path.normpath(path if path.is_absolute() else self.base / path))
        if must_exist == "file" and not path.is_file():
            self.error((*where, key), f"{path}: no such file")
        elif must_exist == "dir" and not path.is_dir():
            self.error((*where, key), f"{path}: no such directory")
        return path

    def secret(self, data: dict[str, Any], where: tuple[Any, ...], *, required: bool) -> Secret | None:
        env = self.string(data, "password_env", where)
        file = self.path(data, "password_file", where, must_exist="file")
        if env is not None and file is not None:
            self.error((*where, "password_file"), "give password_env or password_file, not both")
            return None
        if env is not None:
            if env not in os.environ:
                self.error((*where, "password_env"), f"environment variable {env} is not set")
            return Secret(env=env)
        if file is not None:
            return Secret(file=file)
        if required:
            self.error(where, "password_env or password_file is required (a job never prompts)")
        return None

    def name(self, data: dict[str, Any], where: tuple[Any, ...]) -> str | None:
        value = data.get("name")
        if not isinstance(value, str) or not NAME.fullmatch(value):
            self.error((*where, "name"), "expected a name of letters, digits, '.', '_' and '-' "
                                         "(at most 64; it becomes a folder name)")
            return None
        return value


def load_job(path: str | Path) -> Job:
    """Parse and validate a job file; every problem at once, each with file:line:col (exit 2)."""
    file = Path(path)
    try:
        doc = load_yaml(file)
    except YamlError as exc:
        raise InputError(str(exc)) from None
    base = file.resolve().parent
    r = _Reader(doc, base)
    top = r.mapping(doc.data, (), _TOP, required=("output", "state", "pools"))
    if top is None:
        raise InputError(f"{file}: invalid job", details=[text for *_, text in sorted(r.errors)])
    name = r.string(top, "name", (), default=file.stem) or file.stem
    output = r.path(top, "output", ()) or base / "reports"
    state = r.path(top, "state", ()) or base / "state"
    concurrency = r.number(top, "concurrency", (), 4, integer=True, minimum=1)
    fail_on = r.string(top, "fail_on", (), default="blocker") or "blocker"
    if fail_on not in ("blocker", "warning"):
        r.error(("fail_on",), "expected blocker or warning")
    policies = [p for i, value in enumerate(r.strings(top, "policies", ()))
                if (p := r.path({i: value}, i, ("policies",), must_exist="dir")) is not None]

    pools, pool_index = _pools(r, top.get("pools"))
    checks_given = "checks" in top
    checks = _checks(r, top.get("checks"), set(pool_index)) if checks_given else \
        tuple(CheckSpec(p.name, (p.name,)) for p in pools)
    if checks_given:
        used = {name for c in checks for name in c.pools}
        for name, i in pool_index.items():
            if name not in used:
                r.error(("pools", i, "name"), f"pool {name} is in no check: add it to one "
                                              f"(checks: [{{name: ..., pools: [{name}]}}]) "
                                              f"or remove it")
    report = _report(r, top.get("report", {}))
    email = _email(r, top["email"], report) if "email" in top else None
    if r.errors:
        raise InputError(f"{file}: invalid job", details=[text for *_, text in sorted(r.errors)])
    return Job(file=file, name=name, output=output, state=state, pools=pools, checks=checks,
               report=report, email=email, concurrency=int(concurrency), fail_on=fail_on,
               policies=tuple(policies), checks_given=checks_given)


def _pools(r: _Reader, raw: Any) -> tuple[tuple[PoolSpec, ...], dict[str, int]]:
    """The valid pools, and where every named pool stands (valid or not), so that checks
    naming a pool with an error of its own get no second, misleading "no such pool"."""
    if not isinstance(raw, list) or not raw:
        r.error(("pools",), "expected a list of pools: {name, collect: {...}} or "
                            "{name, import: DUMP} or {name, inventory: FILE}")
        return (), {}
    out: list[PoolSpec] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        where = ("pools", i)
        data = r.mapping(item, where, _POOL, required=("name",))
        if data is None:
            continue
        name = r.name(data, where)
        if name in seen:
            r.error((*where, "name"), f"a second pool named {name}")
        elif name:
            seen[name] = i
        sources = [k for k in ("collect", "import", "inventory") if k in data]
        if len(sources) != 1:
            r.error(where, "give exactly one of collect, import or inventory"
                           + (f" (got {', '.join(sources)})" if sources else ""))
            continue
        kind = sources[0]
        if kind == "collect":
            spec = _collect(r, data["collect"], (*where, "collect"))
            if name and spec:
                out.append(PoolSpec(name, kind, collect=spec))
        else:
            path = r.path(data, kind, where, must_exist="file")
            if name and path:
                out.append(PoolSpec(name, kind, path=path))
        if name:
            seen.setdefault(name, i)
    return tuple(out), seen


def _collect(r: _Reader, raw: Any, where: tuple[Any, ...]) -> CollectSpec | None:
    from checker import collector

    data = r.mapping(raw, where, _COLLECT, required=("server",))
    if data is None:
        return None
    server = r.string(data, "server", where)
    username = r.string(data, "username", where, default="root") or "root"
    password = r.secret(data, where, required=True)
    timeout = r.number(data, "timeout", where, 60.0, minimum=1)
    ca_bundle = r.path(data, "ca_bundle", where, must_exist="file")
    fingerprint = r.string(data, "fingerprint", where)
    insecure = r.flag(data, "insecure", where)
    tls = None
    try:
        if server:
            collector.parse_server(server)
        tls = collector.TlsOptions.from_cli(ca_bundle=ca_bundle, fingerprint=fingerprint,
                                            insecure=insecure)
    except InputError as exc:
        # the collector words its errors for the command line: --ca-bundle is ca_bundle here
        message = str(exc)
        for flag, key in (("--ca-bundle", "ca_bundle"), ("--fingerprint", "fingerprint"),
                          ("--insecure", "insecure"), ("--server", "server")):
            message = message.replace(flag, key)
        r.error(where, message)
    if not server or password is None or tls is None:
        return None
    return CollectSpec(server, username, password, tls, float(timeout))


def _checks(r: _Reader, raw: Any, pool_names: set[str]) -> tuple[CheckSpec, ...]:
    if not isinstance(raw, list) or not raw:
        r.error(("checks",), "expected a list of checks: {name, pools: [...], plan?, waivers?}")
        return ()
    out: list[CheckSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = ("checks", i)
        data = r.mapping(item, where, _CHECK, required=("name", "pools"))
        if data is None:
            continue
        name = r.name(data, where)
        if name in RESERVED_NAMES:
            r.error((*where, "name"), f"{name} is reserved (the run's inventories folder)")
        if name in seen:
            r.error((*where, "name"), f"a second check named {name}")
        pools = r.strings(data, "pools", where, allow_single=True)
        for j, pool in enumerate(pools):
            if pool not in pool_names:
                r.error((*where, "pools", j), f"no pool named {pool} (pools: "
                                              f"{', '.join(sorted(pool_names)) or 'none'})")
        if "pools" in data and not pools:
            r.error((*where, "pools"), "name at least one pool")
        plan = r.path(data, "plan", where, must_exist="file")
        waivers = r.path(data, "waivers", where, must_exist="file")
        if name:
            seen.add(name)
            out.append(CheckSpec(name, pools, plan, waivers))
    return tuple(out)


def _report(r: _Reader, raw: Any) -> ReportSpec:
    where = ("report",)
    data = r.mapping(raw, where, _REPORT)
    if data is None:
        return ReportSpec()
    formats = r.strings(data, "formats", where, default=("html", "pdf"), choices=FORMATS)
    languages = r.strings(data, "languages", where, default=("en",), choices=LANGS)
    if "languages" in data and not languages:
        r.error((*where, "languages"), "name at least one language")
    signoff = r.path(data, "signoff", where, must_exist="file")
    return ReportSpec(formats, languages or ("en",), signoff)


def _email(r: _Reader, raw: Any, report: ReportSpec) -> EmailSpec | None:
    from email.utils import parseaddr

    from checker import mailer

    where = ("email",)
    data = r.mapping(raw, where, _EMAIL, required=("host", "from", "to"))
    if data is None:
        return None
    host = r.string(data, "host", where)
    security = r.string(data, "security", where, default="starttls") or "starttls"
    if security not in mailer.SECURITY:
        r.error((*where, "security"), f"expected one of {', '.join(mailer.SECURITY)}")
    port = data.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                             or not 0 < port < 65536):
        r.error((*where, "port"), "expected a port number 1-65535")
        port = None
    username = r.string(data, "username", where)
    password = r.secret(data, where, required=username is not None)
    if username is None and password is not None:
        r.error((*where, "username"), "a password is given but no username to log in with")
    ca_bundle = r.path(data, "ca_bundle", where, must_exist="file")
    timeout = r.number(data, "timeout", where, 30.0, minimum=1)
    retries = r.number(data, "retries", where, 3, integer=True, minimum=1)
    retry_delay = r.number(data, "retry_delay", where, 5.0, minimum=0)
    sender = r.string(data, "from", where) or ""
    to = r.strings(data, "to", where, allow_single=True)
    cc = r.strings(data, "cc", where, allow_single=True)
    if "to" in data and not to:
        r.error((*where, "to"), "name at least one recipient")
    for key, values in (("from", (sender,) if sender else ()), ("to", to), ("cc", cc)):
        for i, address in enumerate(values):
            if "@" not in parseaddr(address)[1]:
                r.error((*where, key) if key == "from" else (*where, key, i),
                        f"{address!r} is not an e-mail address")
    only_on_change = r.flag(data, "only_on_change", where)
    default_attach = ("pdf",) if "pdf" in report.formats else ()
    attach = r.strings(data, "attach", where, default=default_attach, choices=("pdf", "csv"))
    for i, fmt in enumerate(attach):
        if fmt in FORMATS and fmt not in report.formats:
            r.error((*where, "attach", i), f"{fmt} is not in report.formats, so there is no "
                                           f"{fmt} to attach")
    lang = r.string(data, "lang", where, default=report.languages[0]) or report.languages[0]
    if lang not in report.languages:
        r.error((*where, "lang"), f"{lang!r} is not in report.languages "
                                  f"({', '.join(report.languages)})")
    if host is None:
        return None
    smtp = mailer.SmtpSettings(host=host, port=port, security=security, username=username,
                               timeout=float(timeout), retries=int(retries),
                               retry_delay=float(retry_delay), ca_bundle=ca_bundle)
    return EmailSpec(smtp=smtp, password=password, sender=sender, to=to, cc=cc,
                     only_on_change=only_on_change, attach=attach, lang=lang)


def describe_job(job: Job) -> str:
    """What a run of this job would do (for --dry-run): no secret, nothing contacted."""
    lines = [f"job {job.name} ({job.file})",
             f"  output: {job.output}/<YYYY-MM-DD_HHMMSS>/", f"  state:  {job.state}",
             f"  pools ({len(job.pools)}, {job.concurrency} at a time):"]
    for pool in job.pools:
        if pool.collect is not None:
            c = pool.collect
            trust = ("no TLS verification" if c.tls.insecure else
                     "pinned fingerprint" if c.tls.fingerprint else
                     f"CA bundle {c.tls.ca_bundle}" if c.tls.ca_bundle else "system CAs")
            lines.append(f"    {pool.name}: collect {c.server} as {c.username} "
                         f"(password from {c.password.describe()}; {trust})")
        else:
            lines.append(f"    {pool.name}: {pool.kind} {pool.path}")
    lines.append(f"  checks ({len(job.checks)}{'' if job.checks_given else ', one audit per pool'}):")
    for check in job.checks:
        what = f"plan {check.plan}" if check.plan else "readiness audit"
        waivers = f", waivers {check.waivers}" if check.waivers else ""
        lines.append(f"    {check.name}: {', '.join(check.pools)} — {what}{waivers}")
    lines.append(f"  reports: {', '.join(job.report.formats)} in {', '.join(job.report.languages)}")
    if job.email is None:
        lines.append("  e-mail: none")
    else:
        e = job.email
        lines.append(f"  e-mail: {e.smtp.label} to {', '.join(e.to + e.cc)}"
                     f"{' (only on change)' if e.only_on_change else ''}"
                     f"; attach {', '.join(e.attach) or 'nothing'}")
    return "\n".join(lines) + "\n"


# -- the lock -------------------------------------------------------------------------------


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


# -- the run --------------------------------------------------------------------------------


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
class MailOutcome:
    status: str  # sent | not_due | not_configured | failed
    reason: str = ""
    recipients: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    subject: str | None = None
    message_path: Path | None = None


@dataclass
class JobOutcome:
    job: str
    started_at: dt.datetime
    run_dir: Path
    pools: list[PoolOutcome]
    checks: list[CheckOutcome]
    mail: MailOutcome
    state_updated: list[str]
    exit_code: int

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
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "format": "migready.run/1", "job": self.job, "started_at": self.started_at.isoformat(),
            "run_dir": str(self.run_dir), "exit_code": self.exit_code,
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
            "state_updated": self.state_updated,
        }


def _noop(_message: str) -> None:
    pass


def run_job(job: Job, *, now: dt.datetime | None = None,
            sleep: Callable[[float], None] = time.sleep,
            progress: Callable[[str], None] | None = None) -> JobOutcome:
    """One run of the job (see the module docstring). Prints nothing; raises LockedError when
    another run holds the lock. `sleep` paces the XenAPI and SMTP retries (tests: no wait)."""
    now = now or dt.datetime.now().astimezone()
    say = progress or _noop
    with state_lock(job.state):
        run_dir = _run_dir(job.output, now)
        pools = _acquire_pools(job, run_dir, sleep, say)
        by_name = {p.name: p for p in pools}
        checks = [_run_check(job, spec, by_name, run_dir, say) for spec in job.checks]
        mail = _mail(job, now, run_dir, pools, checks, sleep, say)
        updated: list[str] = []
        if mail.status != "failed":
            for check in checks:
                if check.ran and check.results is not None:
                    _save_state(job.state, check)
                    updated.append(check.name)
        codes = [p.exit_code for p in pools] + [c.exit_code for c in checks]
        if mail.status == "failed" or mail.refused:
            codes.append(int(ExitCode.EXTERNAL_FAILURE))
        outcome = JobOutcome(job=job.name, started_at=now, run_dir=run_dir, pools=pools,
                             checks=checks, mail=mail, state_updated=updated,
                             exit_code=worst_exit_code(codes))
        from checker.atomic import atomic_writer

        with atomic_writer(run_dir / "run.json") as handle:
            handle.write(json.dumps(outcome.as_json(), indent=1, ensure_ascii=False) + "\n")
        return outcome


def worst_exit_code(codes: list[int]) -> int:
    """4 before 2 before 1 before 3 before 0: what a cron wrapper most needs to know."""
    for code in EXIT_ORDER:
        if int(code) in codes:
            return int(code)
    return max(codes, default=0)


def _run_dir(output: Path, now: dt.datetime) -> Path:
    base = output / now.strftime("%Y-%m-%d_%H%M%S")
    candidate, n = base, 1
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:  # two runs in one second (a clock set back, or tests)
            n += 1
            candidate = base.with_name(f"{base.name}-{n}")
        except OSError as exc:
            raise ExternalError(f"{output}: cannot create the run folder: {exc.strerror}") from None


def _acquire_pools(job: Job, run_dir: Path, sleep: Callable[[float], None],
                   say: Callable[[str], None]) -> list[PoolOutcome]:
    """Every pool's inventory, `concurrency` at a time; a failure stays with its pool."""
    if not job.pools:
        return []
    workers = max(1, min(job.concurrency, len(job.pools)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="migready-pool") as pool_exec:
        futures = [pool_exec.submit(_acquire_one, spec, run_dir, sleep, say) for spec in job.pools]
        return [f.result() for f in futures]


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
    from checker.check import CheckOptions, exit_code, run_check
    from checker.diff import diff_results, load_results
    from checker.output import format_csv, iter_json

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
    last = job.state / spec.name / "last-results.json"
    if last.exists():
        try:
            previous = load_results(last)
        except InputError as exc:
            outcome.notes.append(f"previous results unreadable, compared as a first run: {exc}")
    folder = run_dir / spec.name
    try:
        results = run_check(CheckOptions(
            inventories=[pools[p].inventory for p in spec.pools if pools[p].inventory],
            plan=spec.plan, waivers=spec.waivers, policies=job.policies, fail_on=job.fail_on,
            extra_inputs={"job": {"name": job.name, "check": spec.name}}))
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


def _save_state(state: Path, check: CheckOutcome) -> None:
    """The run's results file becomes the state's last results (copied: the JSON is
    written once per run)."""
    from checker.atomic import atomic_writer

    assert check.results_path is not None
    with atomic_writer(state / check.name / "last-results.json", binary=True) as handle, \
            check.results_path.open("rb") as source:
        shutil.copyfileobj(source, handle)


# -- the e-mail -----------------------------------------------------------------------------


def overall_verdict(checks: list[CheckOutcome]) -> str | None:
    """The worst verdict of the checks that ran (None if none ran)."""
    verdicts = [c.verdict for c in checks if c.verdict]
    return worst_verdict(verdicts) if verdicts else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _day(stamp: str | None) -> str:
    return (stamp or "")[:10] or "the last run"


def mail_subject(job_name: str, pools: list[PoolOutcome], checks: list[CheckOutcome]) -> str:
    """Verdict first, then what changed: `[nightly] BLOCKED: 2 new blockers since 2026-11-18`."""
    parts: list[str] = []
    failed_pools = [p.name for p in pools if p.error]
    if failed_pools:
        parts.append(f"COLLECTION FAILED ({', '.join(failed_pools)})")
    broken = [c.name for c in checks if c.error and not c.error.startswith("not run")]
    if broken:
        parts.append(f"ERROR ({', '.join(broken)})")
    ran = [c for c in checks if c.ran]
    verdict = overall_verdict(ran)
    if verdict is not None:
        compared = [c for c in ran if c.previous_at]
        new = sum(len(c.blockers("new_failures")) for c in compared)
        resolved = sum(len(c.blockers("resolved")) for c in compared)
        since = _day(min((c.previous_at or "" for c in compared), default=None))
        if not compared:
            change = "first run"
        elif new and resolved:
            change = f"{_plural(new, 'new blocker')}, {resolved} resolved since {since}"
        elif new:
            change = f"{_plural(new, 'new blocker')} since {since}"
        elif resolved:
            change = f"{_plural(resolved, 'blocker')} resolved since {since}"
        elif any(c.changed for c in compared):
            was = {c.previous_verdict for c in compared if c.changed} - {None}
            change = (f"was {next(iter(was)).replace('_', ' ').upper()} on {since}"
                      if len(ran) == 1 and was else f"findings changed since {since}")
        else:
            change = f"no change since {since}"
        head = f"{verdict.replace('_', ' ').upper()}: {change}"
        if len(checks) > 1:
            counts = {v: sum(c.verdict == v for c in ran) for v in VERDICTS}
            head += " (" + ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in counts.items() if n) + ")"
        parts.append(head)
    return f"[{job_name}] " + "; ".join(parts or ["nothing was checked"])


def _fleet_rows(checks: list[CheckOutcome]) -> list[dict[str, Any]]:
    rows = []
    for c in checks:
        s = c.summary
        if c.ran:
            detail = (f"{s.get('blocked', 0)} of {_plural(s.get('operations', 0), 'operation')} "
                      f"blocked")
            change = ("first run" if not c.previous_at else
                      f"{len(c.blockers('new_failures'))} new, {len(c.blockers('resolved'))} "
                      f"resolved blockers" if c.changed else "no change")
        else:
            detail, change = c.error or "", ""
        rows.append({"name": c.name, "pools": ", ".join(c.pools),
                     "verdict": c.verdict or "error",
                     "label": (c.verdict or "not checked").replace("_", " ").upper(),
                     "detail": detail.splitlines()[0] if detail else "", "change": change})
    return rows


def _new_blocker_rows(checks: list[CheckOutcome]) -> tuple[list[dict[str, Any]], int]:
    rows = [{"check": c.name, **f} for c in checks if c.ran for f in c.blockers("new_failures")]
    return rows[:MAIL_LIST_LIMIT], max(0, len(rows) - MAIL_LIST_LIMIT)


def mail_text(job_name: str, now: dt.datetime, run_dir: Path, pools: list[PoolOutcome],
              checks: list[CheckOutcome], attached: list[str]) -> str:
    """The plain-text alternative: everything the HTML says, for any client or a pager."""
    verdict = overall_verdict(checks)
    lines = [f"migready run '{job_name}' at {now:%Y-%m-%d %H:%M %Z}".rstrip(),
             f"overall: {(verdict or 'not checked').replace('_', ' ').upper()}", ""]
    failed = [p for p in pools if p.error]
    if failed:
        lines.append("Collection failed (the last results of these pools are kept):")
        lines += [f"  {p.name}: {line}" for p in failed for line in (p.error or "").splitlines()[:3]]
        lines.append("")
    lines.append(f"Fleet ({_plural(len(checks), 'check')}):")
    width = max((len(r["name"]) for r in _fleet_rows(checks)), default=4)
    for row in _fleet_rows(checks):
        lines.append(f"  {row['name']:<{width}}  {row['label']:<19}  {row['detail']}"
                     + (f"  ({row['change']})" if row["change"] else ""))
    rows, more = _new_blocker_rows(checks)
    if rows:
        lines += ["", "New blockers" + (" (a check's first run lists all its blockers)"
                                        if any(c.ran and not c.previous_at for c in checks) else "")
                  + ":"]
        lines += [f"  [{r['check']}] {r['rule']} {r['status']} {r['kind']} {r['subject']}"
                  + (f" -> {r['destination']}" if r["destination"] else "") + f": {r['message']}"
                  for r in rows]
        if more:
            lines.append(f"  … and {more} more: see the reports")
    resolved = [(c.name, f) for c in checks if c.ran and c.previous_at
                for f in c.blockers("resolved")]
    if resolved:
        lines += ["", "Resolved blockers:"]
        lines += [f"  [{name}] {f['rule']} {f['kind']} {f['subject']}" for name, f in
                  resolved[:MAIL_LIST_LIMIT]]
    lines += ["", f"Reports: {run_dir}"]
    if attached:
        lines.append(f"Attached: {', '.join(attached)}")
    return "\n".join(lines) + "\n"


def mail_html(job_name: str, now: dt.datetime, run_dir: Path, pools: list[PoolOutcome],
              checks: list[CheckOutcome], attached: list[str]) -> str:
    """The HTML body: the fleet table, the new blockers; autoescaped (names come from pools)."""
    from checker.report import COLOURS, environment

    rows, more = _new_blocker_rows(checks)
    verdict = overall_verdict(checks)
    return environment().get_template("mail.html").render(
        job=job_name, when=f"{now:%Y-%m-%d %H:%M %Z}".rstrip(),
        verdict=verdict or "error", verdict_label=(verdict or "not checked").replace("_", " ").upper(),
        failed_pools=[p for p in pools if p.error], fleet=_fleet_rows(checks), new_blockers=rows,
        first_runs=any(c.ran and not c.previous_at for c in checks),
        more=more, resolved=[{"check": c.name, **f} for c in checks if c.ran and c.previous_at
                             for f in c.blockers("resolved")][:MAIL_LIST_LIMIT],
        run_dir=str(run_dir), attached=attached, colours=COLOURS)


def _mail(job: Job, now: dt.datetime, run_dir: Path, pools: list[PoolOutcome],
          checks: list[CheckOutcome], sleep: Callable[[float], None],
          say: Callable[[str], None]) -> MailOutcome:
    from dataclasses import replace

    from checker import mailer
    from checker.atomic import atomic_writer

    if job.email is None:
        return MailOutcome("not_configured", "no email: section in the job")
    e = job.email
    failures = any(p.error for p in pools) or any(c.error for c in checks)
    if e.only_on_change and not failures and not any(c.changed for c in checks):
        since = _day(min((c.previous_at or "" for c in checks), default=None))
        return MailOutcome("not_due", f"only_on_change: nothing changed since {since}")
    attachments: list[mailer.Attachment] = []
    for check in checks:
        folder = run_dir / check.name
        if "pdf" in e.attach and (folder / f"report.{e.lang}.pdf") in check.reports:
            attachments.append(mailer.Attachment.pdf(
                f"{check.name}.report.{e.lang}.pdf", (folder / f"report.{e.lang}.pdf").read_bytes()))
        if "csv" in e.attach and (folder / "results.csv") in check.reports:
            attachments.append(mailer.Attachment.csv(
                f"{check.name}.results.csv", (folder / "results.csv").read_bytes()))
    names = [a.filename for a in attachments]
    subject = mail_subject(job.name, pools, checks)
    message = mailer.build_message(
        sender=e.sender, to=e.to, cc=e.cc, subject=subject,
        text=mail_text(job.name, now, run_dir, pools, checks, names),
        html=mail_html(job.name, now, run_dir, pools, checks, names),
        attachments=attachments, date=now.timestamp())
    eml = run_dir / "message.eml"
    with atomic_writer(eml, binary=True) as handle:
        handle.write(bytes(message))
    outcome = MailOutcome("failed", subject=subject, message_path=eml)
    try:
        password = e.password.read() if e.password is not None else None
        settings = replace(e.smtp, password=password)
        say(f"e-mail: sending to {', '.join(e.to + e.cc)} through {settings.label}")
        delivery = mailer.send_report(settings, message, sleep=sleep)
    except MigreadyError as exc:
        outcome.reason = f"{exc} (the message is saved as {eml})"
        return outcome
    outcome.status = "sent"
    outcome.recipients = delivery.recipients
    outcome.refused = delivery.refused
    outcome.reason = f"to {', '.join(delivery.recipients)}"
    return outcome


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
