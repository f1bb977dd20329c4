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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker import yamlschema
from checker.errors import InputError

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


class _Reader:
    """Reads a job file the schema (schemas/job.schema.json) has checked: a value it found
    wrong is never read (the default stands in), so what is checked here is only what a
    schema cannot know: that files, folders and environment variables exist, that names
    are unique and checks name listed pools, e-mail addresses, and a server's address and
    TLS options as the collector reads them. Every problem goes to the same list."""

    def __init__(self, checked: yamlschema.Checked, base: Path) -> None:
        self.checked = checked
        self.base = base

    def error(self, where: tuple[Any, ...], message: str) -> None:
        self.checked.error(where, message)

    def get(self, data: dict[str, Any], key: str, where: tuple[Any, ...], default: Any = None) -> Any:
        """data[key] if it is there and as the schema wants it, else `default`."""
        return data[key] if key in data and self.checked.usable((*where, key)) else default

    def items(self, data: dict[str, Any], key: str, where: tuple[Any, ...],
              default: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The good items of a list of strings (or of one string, where one may stand alone)."""
        value = data.get(key)
        if value is None or not self.checked.readable((*where, key)):
            return default
        if isinstance(value, str):
            return (value,)
        return tuple(item for i, item in enumerate(value) if self.checked.usable((*where, key, i)))

    def path(self, data: dict[Any, Any], key: str | int, where: tuple[Any, ...], *,
             must_exist: str | None = None) -> Path | None:
        """A path relative to the job file's folder; `must_exist`: "file" or "dir"."""
        value = data.get(key)
        if value is None or not self.checked.usable((*where, key)):
            return None
        path = Path(os.path.expanduser(value))
        path = Path(os.path.normpath(path if path.is_absolute() else self.base / path))
        if must_exist == "file" and not path.is_file():
            self.error((*where, key), f"{path}: no such file")
        elif must_exist == "dir" and not path.is_dir():
            self.error((*where, key), f"{path}: no such directory")
        return path

    def secret(self, data: dict[str, Any], where: tuple[Any, ...]) -> Secret | None:
        """password_env (the variable must be set) or password_file (it must exist)."""
        env = self.get(data, "password_env", where)
        if env is not None:
            if env not in os.environ:
                self.error((*where, "password_env"), f"environment variable {env} is not set")
            return Secret(env=env)
        file = self.path(data, "password_file", where, must_exist="file")
        return Secret(file=file) if file is not None else None

    def profile(self, data: dict[str, Any]) -> str | Path | None:
        """`documented`, `xapi`, or a profile file (relative to the job file)."""
        value = self.get(data, "profile", ())
        if value in PROFILES or value is None:
            return value
        path = self.path(data, "profile", ())
        if path is not None and not path.is_file():
            self.error(("profile",), f"expected {' or '.join(PROFILES)}, or a profile file: "
                                     f"{path}: no such file")
        return path


def load_job(path: str | Path) -> Job:
    """Parse and validate a job file; every problem at once, each with file:line:col (exit 2)."""
    file = Path(path)
    checked = yamlschema.load(file, "job")
    if not checked.readable(()):
        checked.fail(InputError, "job")
    base = file.resolve().parent
    r = _Reader(checked, base)
    top = checked.data
    name = r.get(top, "name", (), file.stem)
    output = r.path(top, "output", ()) or base / "reports"
    state = r.path(top, "state", ()) or base / "state"
    concurrency = int(r.get(top, "concurrency", (), 4))
    keep = r.get(top, "keep", ())
    fail_on = r.get(top, "fail_on", (), "blocker")
    profile = r.profile(top)
    policies = [p for i in range(len(r.items(top, "policies", ())))
                if (p := r.path(top["policies"], i, ("policies",), must_exist="dir")) is not None]

    pools, pool_index = _pools(r, top.get("pools") if checked.readable(("pools",)) else [])
    checks_given = "checks" in top
    checks = _checks(r, top["checks"] if checked.readable(("checks",)) else [], set(pool_index)) \
        if checks_given else tuple(CheckSpec(p.name, (p.name,)) for p in pools)
    if checks_given and checked.usable(("checks",)):
        used = {name for c in checks for name in c.pools}
        for pool, i in pool_index.items():
            if pool not in used:
                r.error(("pools", i, "name"), f"pool {pool} is in no check: add it to one "
                                              f"(checks: [{{name: ..., pools: [{pool}]}}]) "
                                              f"or remove it")
    report = _report(r, top.get("report", {}) if checked.readable(("report",)) else {})
    email = _email(r, top["email"], report) if "email" in top and checked.readable(("email",)) \
        else None
    checked.raise_problems(InputError, "job")
    return Job(file=file, name=name, output=output, state=state, pools=pools, checks=checks,
               report=report, email=email, concurrency=concurrency, fail_on=fail_on,
               profile=profile, policies=tuple(policies), checks_given=checks_given,
               keep=int(keep) if keep is not None else None)


def _pools(r: _Reader, raw: list[Any]) -> tuple[tuple[PoolSpec, ...], dict[str, int]]:
    """The valid pools, and where every named pool stands (valid or not), so that checks
    naming a pool with an error of its own get no second, misleading "no such pool"."""
    out: list[PoolSpec] = []
    seen: dict[str, int] = {}
    for i, data in enumerate(raw):
        where = ("pools", i)
        if not r.checked.readable(where):
            continue
        name = r.get(data, "name", where)
        if name in seen:
            r.error((*where, "name"), f"a second pool named {name}")
        elif name:
            seen[name] = i
        if not name or not r.checked.usable(where):
            continue
        if "collect" in data:
            spec = _collect(r, data["collect"], (*where, "collect"))
            if spec:
                out.append(PoolSpec(name, "collect", collect=spec))
        else:
            kind = "import" if "import" in data else "inventory"
            path = r.path(data, kind, where, must_exist="file")
            if path:
                out.append(PoolSpec(name, kind, path=path))
    return tuple(out), seen


def _collect(r: _Reader, data: dict[str, Any], where: tuple[Any, ...]) -> CollectSpec | None:
    from checker import collector

    server = data["server"]
    password = r.secret(data, where)
    ca_bundle = r.path(data, "ca_bundle", where, must_exist="file")
    fingerprint = data.get("fingerprint")
    try:
        collector.parse_server(server)
        tls = collector.TlsOptions.from_cli(ca_bundle=ca_bundle, fingerprint=fingerprint,
                                            insecure=data.get("insecure", False))
    except InputError as exc:
        # the collector words its errors for the command line: --ca-bundle is ca_bundle here
        message = str(exc)
        for flag, key in (("--ca-bundle", "ca_bundle"), ("--fingerprint", "fingerprint"),
                          ("--insecure", "insecure"), ("--server", "server")):
            message = message.replace(flag, key)
        r.error(where, message)
        return None
    if password is None:
        return None
    return CollectSpec(server, data.get("username", "root"), password, tls,
                       float(data.get("timeout", 60)))


def _checks(r: _Reader, raw: list[Any], pool_names: set[str]) -> tuple[CheckSpec, ...]:
    out: list[CheckSpec] = []
    seen: set[str] = set()
    for i, data in enumerate(raw):
        where = ("checks", i)
        if not r.checked.readable(where):
            continue
        name = r.get(data, "name", where)
        if name in seen:
            r.error((*where, "name"), f"a second check named {name}")
        pools = r.items(data, "pools", where)
        for j, pool in enumerate(pools):
            if pool not in pool_names:
                r.error((*where, "pools", j), f"no pool named {pool} (pools: "
                                              f"{', '.join(sorted(pool_names)) or 'none'})")
        plan = r.path(data, "plan", where, must_exist="file")
        waivers = r.path(data, "waivers", where, must_exist="file")
        if name:
            seen.add(name)
            out.append(CheckSpec(name, pools, plan, waivers))
    return tuple(out)


def _report(r: _Reader, data: dict[str, Any]) -> ReportSpec:
    where = ("report",)
    formats = r.items(data, "formats", where, default=("html", "pdf"))
    languages = r.items(data, "languages", where, default=("en",)) or ("en",)
    signoff = r.path(data, "signoff", where, must_exist="file")
    return ReportSpec(formats, languages, signoff)


def _email(r: _Reader, data: dict[str, Any], report: ReportSpec) -> EmailSpec | None:
    from email.utils import parseaddr

    from checker import mailer

    where = ("email",)
    password = r.secret(data, where)
    ca_bundle = r.path(data, "ca_bundle", where, must_exist="file")
    sender = r.get(data, "from", where, "")
    to = r.items(data, "to", where)
    cc = r.items(data, "cc", where)
    for key, values in (("from", (sender,) if sender else ()), ("to", to), ("cc", cc)):
        for i, address in enumerate(values):
            if "@" not in parseaddr(address)[1]:
                r.error((*where, key) if key == "from" else (*where, key, i),
                        f"{address!r} is not an e-mail address")
    default_attach = ("pdf",) if "pdf" in report.formats else ()
    attach = r.items(data, "attach", where, default=default_attach)
    for i, fmt in enumerate(attach):
        if fmt not in report.formats:
            r.error((*where, "attach", i), f"{fmt} is not in report.formats, so there is no "
                                           f"{fmt} to attach")
    lang = r.get(data, "lang", where, report.languages[0])
    if lang not in report.languages:
        r.error((*where, "lang"), f"{lang!r} is not in report.languages "
                                  f"({', '.join(report.languages)})")
    if not r.checked.usable(where):
        return None
    smtp = mailer.SmtpSettings(host=data["host"], port=data.get("port"),
                               security=data.get("security", "starttls"),
                               username=data.get("username"), timeout=float(data.get("timeout", 30)),
                               retries=int(data.get("retries", 3)),
                               retry_delay=float(data.get("retry_delay", 5)), ca_bundle=ca_bundle)
    return EmailSpec(smtp=smtp, password=password, sender=sender, to=to, cc=cc,
                     only_on_change=data.get("only_on_change", False), attach=attach, lang=lang)


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

