"""The job file of `migready run`: read, validated (every problem at once, each with
file:line:col) and described for --dry-run. Nothing here contacts a server or writes a file.

The job file (relative paths are relative to the job file's folder; every key is checked,
an unknown key is an error with file:line:col)::

    name: nightly                 # optional, in the e-mail subject; default: the file's stem
    output: reports               # each run writes OUTPUT/YYYY-MM-DD_HHMMSS/ and its run.json
    keep: 30                      # optional: the newest 30 complete run folders are kept
    state: state                  # STATE/<check>/last-results.json and STATE/.lock
    concurrency: 4                # pools collected or imported at the same time (default 4)
    fail_on: blocker              # or warning (as `check --fail-on`)
    profile: xapi                 # documented (default) | xapi | a profile FILE (as `--profile`)
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
      lang: en                    # the body's language (subject: English); default: languages[0]
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.policy import LANGS
from checker.yamlsrc import Located, YamlError
from checker.yamlsrc import load as load_yaml

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: A check may not be called like the folder the run's inventories go to.
RESERVED_NAMES = {"inventories"}
FORMATS = ("html", "pdf", "csv")
#: The built-in policy profiles; anything else names a profile file.
PROFILES = ("documented", "xapi")


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
    profile: str | Path | None = None  # documented | xapi, or a profile file; None: the default
    policies: tuple[Path, ...] = ()
    checks_given: bool = False  # False: one audit per pool, made up from `pools`
    keep: int | None = None  # complete run folders kept; None: all


_TOP = {"name", "output", "state", "keep", "concurrency", "fail_on", "profile", "policies",
        "pools", "checks", "report", "email"}
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

    def profile(self, data: dict[str, Any]) -> str | Path | None:
        """`documented`, `xapi`, or a profile file (relative to the job file)."""
        value = data.get("profile")
        if value in PROFILES or value is None:
            return value
        path = self.path(data, "profile", ())
        if path is not None and not path.is_file():
            self.error(("profile",), f"expected {' or '.join(PROFILES)}, or a profile file: "
                                     f"{path}: no such file")
        return path

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
    keep = r.number(top, "keep", (), 1, integer=True, minimum=1) if "keep" in top else None
    fail_on = r.string(top, "fail_on", (), default="blocker") or "blocker"
    if fail_on not in ("blocker", "warning"):
        r.error(("fail_on",), "expected blocker or warning")
    profile = r.profile(top)
    policies = [p for i, value in enumerate(r.strings(top, "policies", ()))
                if (p := r.path({i: value}, i, ("policies",), must_exist="dir")) is not None]

    pools, pool_index = _pools(r, top.get("pools"))
    checks_given = "checks" in top
    checks = _checks(r, top.get("checks"), set(pool_index)) if checks_given else \
        tuple(CheckSpec(p.name, (p.name,)) for p in pools)
    if checks_given:
        used = {name for c in checks for name in c.pools}
        for pool, i in pool_index.items():
            if pool not in used:
                r.error(("pools", i, "name"), f"pool {pool} is in no check: add it to one "
                                              f"(checks: [{{name: ..., pools: [{pool}]}}]) "
                                              f"or remove it")
    report = _report(r, top.get("report", {}))
    email = _email(r, top["email"], report) if "email" in top else None
    if r.errors:
        raise InputError(f"{file}: invalid job", details=[text for *_, text in sorted(r.errors)])
    return Job(file=file, name=name, output=output, state=state, pools=pools, checks=checks,
               report=report, email=email, concurrency=int(concurrency), fail_on=fail_on,
               profile=profile, policies=tuple(policies), checks_given=checks_given, keep=keep)


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
             f"  output: {job.output}/<YYYY-MM-DD_HHMMSS>/"
             + (f" (the newest {job.keep} complete runs kept)" if job.keep else ""),
             f"  state:  {job.state}",
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
    lines.append(f"  policy profile: {job.profile or 'documented (the default)'}")
    lines.append(f"  reports: {', '.join(job.report.formats)} in {', '.join(job.report.languages)}")
    if job.email is None:
        lines.append("  e-mail: none")
    else:
        e = job.email
        lines.append(f"  e-mail: {e.smtp.label} to {', '.join(e.to + e.cc)}"
                     f"{' (only on change)' if e.only_on_change else ''}"
                     f"; attach {', '.join(e.attach) or 'nothing'}")
    return "\n".join(lines) + "\n"

