"""The `migready` command: a thin shell over the library. Parses arguments, prints, picks exit codes."""

from __future__ import annotations

import functools
import os
import re
import shlex
import signal
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from checker import __version__
from checker.errors import ExitCode, InputError, MigreadyError, Terminated


def _fail(message: str, code: int) -> None:
    click.echo(f"migready: {message}", err=True)
    sys.exit(code)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """User errors become one message on stderr and their exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MigreadyError as exc:
            _fail(str(exc), int(exc.exit_code))
        except KeyboardInterrupt:
            _fail("interrupted", int(ExitCode.INTERRUPTED))
        except Terminated:
            _fail("terminated", int(ExitCode.TERMINATED))

    return wrapper


def _output_target(output: Path | None, inputs: Iterable[Path | None] = ()) -> Path | None:
    """The file `-o` names, checked before any work is done (atomic.check_target); None
    for standard output: no `-o`, or `-o -`."""
    if output is None or str(output) == "-":
        return None
    from checker.atomic import check_target

    check_target(output, inputs=[p for p in inputs if p is not None])
    return output


class Progress:
    """Progress lines on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, message: str) -> None:
        if self.enabled:
            click.echo(f"  {message}", err=True)


@handle_errors
def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """--version: the release and the built-in policy set's sha256, the one results record, so
    an installed tool can be matched with the reports it made."""
    if not value or ctx.resilient_parsing:
        return
    from checker.policy import load_rules

    click.echo(f"migready {__version__}\npolicies sha256 {load_rules().sha256}")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and the built-in policy set's sha256, and exit.")
@click.option("--debug", is_flag=True, expose_value=False,
              help="Show the traceback of an internal error (or set MIGREADY_DEBUG=1).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True,
              help="Colour the text on stdout: auto when it is a terminal and NO_COLOR is unset.")
@click.pass_context
def cli(ctx: click.Context, color: str) -> None:
    """Will these XenServer VMs migrate? Readiness checks for live migration, storage live
    migration and live VDI moves, proved in a report you can sign."""
    ctx.meta["migready.color"] = color


def _colour_stdout() -> bool:
    """Whether text on stdout is coloured: --color always or never decide; auto colours a
    terminal unless NO_COLOR is set and not empty (no-color.org: a flag beats the variable)."""
    choice = click.get_current_context().meta.get("migready.color", "auto")
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


@cli.command("import")
@click.argument("dump", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Inventory to write (.json, or .json.gz to compress; - for stdout).")
@handle_errors
def import_cmd(dump: Path, output: Path) -> None:
    """Turn a XAPI database dump into an inventory.

    DUMP is the output of `xe pool-dump-database`, the xapi-db.xml of a server status
    report (optionally .gz), or a JSON file of {class: {ref: record}} records.

    \b
    Example:
      migready import pool-dump.xml -o prod-pool.json
    """
    from checker import dump as dump_mod

    target = _output_target(output, [dump])
    _save_inventory(dump_mod.import_file(dump), target)


@cli.command()
@click.option("--server", required=True, metavar="URL",
              help="Pool master (or any member): https://xs01.example.com")
@click.option("--username", default="root", show_default=True)
@click.option("--password-env", metavar="VAR", help="Read the password from this environment variable.")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the password from the first line of this file.")
@click.option("--ca-bundle", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM file of CA certificates to verify the server with.")
@click.option("--fingerprint", metavar="SHA256",
              help="Pin the server certificate's SHA-256 fingerprint (hex, colons allowed).")
@click.option("--insecure", is_flag=True, help="Do not verify TLS at all (warns).")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds per XenAPI call.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def collect(server: str, username: str, password_env: str | None, password_file: Path | None,
            ca_bundle: Path | None, fingerprint: str | None, insecure: bool, timeout: float,
            output: Path) -> None:
    """Snapshot a live pool through the XenAPI into an inventory (read-only calls only).

    \b
    Example:
      MIGREADY_PASSWORD=... migready collect --server https://xs01 \\
          --password-env MIGREADY_PASSWORD --fingerprint AB:CD:... -o prod-pool.json
    """
    from checker import collector

    _check_server(server)
    target = _output_target(output, [password_file, ca_bundle])
    tls = collector.TlsOptions.from_cli(ca_bundle=ca_bundle, fingerprint=fingerprint,
                                        insecure=insecure)
    if tls.insecure:
        click.echo("migready: warning: --insecure: the server's identity is not verified", err=True)
    password = read_password(password_env, password_file, f"Password for {username}@{server}: ")
    doc = collector.collect(server, username, password, tls=tls, timeout=timeout,
                            progress=Progress())
    _save_inventory(doc, target)


def _check_server(server: str) -> None:
    """A malformed --server is a usage error (exit 2), found before a password is asked
    for, not a connection failure (exit 4) after."""
    from checker.collector import parse_server

    host = parse_server(server).host  # (which drops tabs and newlines, as urlsplit does)
    if not re.fullmatch(r"[A-Za-z0-9._:%-]+", host) or re.search(r"[\s\x00-\x1f\x7f]", server.strip()):
        raise InputError(f"--server {server!r}: not a host name or address; "
                         "expected https://HOST[:PORT]")


def _save_inventory(doc: dict[str, Any], target: Path | None) -> None:
    """To the checked `-o` file, or to stdout (`-o -`) with the summary on stderr."""
    from checker.inventory import Inventory, save_document, write_document

    if target is None:
        write_document(doc, sys.stdout)
        sys.stdout.flush()
    else:
        save_document(doc, target)
    _print_summary(Inventory(doc, str(target or "-")), target or "<stdout>", err=target is None)


def read_password(env: str | None, file: Path | None, prompt: str) -> str:
    """From an environment variable, a file, or a prompt that does not echo."""
    if env and file:
        raise InputError("give --password-env or --password-file, not both")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise InputError(f"environment variable {env} is not set")
        return value
    if file:
        try:
            return file.read_text(encoding="utf-8").splitlines()[0] if file.stat().st_size else ""
        except OSError as exc:
            raise InputError(f"{file}: cannot read password file: {exc.strerror}") from None
    if not sys.stdin.isatty():
        raise InputError("no password: use --password-env VAR or --password-file FILE "
                         "(no terminal to prompt on)")
    return click.prompt(prompt.rstrip(": "), hide_input=True, err=True)


def _print_summary(inv: Any, output: Path | str, *, err: bool = False) -> None:
    from checker.facts import summarize
    from checker.inventory import ClassGap
    from checker.results import plural

    try:
        s = summarize(inv)
    except ClassGap as exc:  # a class the summary counts was not collected: written anyway
        click.echo(f"{output}: pool '{inv.name}' — {exc.cls} was not collected ({exc.reason}); "
                   f"see \"gaps\" in the inventory", err=err)
        return
    click.echo(f"{output}: pool '{s['pool']}' — {plural(s['hosts'], 'host')}, {plural(s['vms'], 'VM')} "
               f"({s['running']} running), {plural(s['srs'], 'SR')}, {plural(s['vdis'], 'VDI')}", err=err)
    for host in s["host_versions"]:
        click.echo(f"  host {host}", err=err)
    if s["gaps"]:
        click.echo(f"  {s['gaps']} gaps recorded (missing tables, dangling references): "
                   f"see \"gaps\" in the inventory", err=err)



def _emit(pieces: Iterable[str], output: Path | None) -> None:
    """Text to stdout, or to a file written whole or not at all."""
    if output is None:
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
        return
    from checker.atomic import atomic_writer

    with atomic_writer(output) as handle:
        handle.writelines(pieces)
    click.echo(f"migready: wrote {output}", err=True)


@cli.command()
@click.argument("inventories", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--plan", type=click.Path(dir_okay=False, path_type=Path),
              help="Migration plan (YAML). Without it: the readiness audit.")
@click.option("--waivers", type=click.Path(dir_okay=False, path_type=Path), help="Waivers (YAML).")
@click.option("--no-waivers", is_flag=True, help="Ignore waivers: the raw picture.")
@click.option("--policies", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="An extra policy directory (repeatable).")
@click.option("--only", help="Comma-separated rule ids to run.")
@click.option("--fail-on", type=click.Choice(["blocker", "warning"]), default="blocker",
              show_default=True, help="Which failures block (exit 1).")
@click.option("--profile", default="documented", show_default=True,
              help="documented: the documentation's requirements block; xapi: only what XAPI "
                   "refuses blocks (documentation blockers become warnings); or a profile file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit", "csv", "markdown"]),
              default="text", show_default=True)
@click.option("--detail", "-v", "--verbose", "detail", is_flag=True,
              help="Text: every finding, operation by operation (passes too), not the triage.")
@click.option("-q", "--quiet", is_flag=True, help="Text: only the verdict line.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout (atomically; - is stdout).")
@handle_errors
def check(inventories: tuple[Path, ...], plan: Path | None, waivers: Path | None, no_waivers: bool,
          policies: tuple[Path, ...], only: str | None, fail_on: str, profile: str, fmt: str,
          detail: bool, quiet: bool, output: Path | None) -> None:
    """Check a migration plan, or audit pools for readiness (no --plan).

    Exit codes: 0 ready, 1 blocked, 2 invalid input, 3 undecided (a blocker could not be
    decided from the data), 4 an external system failed.

    \b
    Examples:
      migready check prod.json dr.json --plan change.yaml --waivers waivers.yaml
      migready check prod.json --format json | jq .verdict
      migready check prod.json dr.json --plan change.yaml --profile xapi
    """
    from checker import output as out
    from checker.check import CheckOptions, exit_code, run_check

    if detail and quiet:
        raise click.UsageError("--detail and --quiet: choose one")
    output = _output_target(output, [*inventories, plan, waivers])
    opts = CheckOptions(inventories=inventories, plan=plan, waivers=waivers, policies=policies,
                        only=[i.strip() for i in only.split(",") if i.strip()] if only else (),
                        fail_on=fail_on, no_waivers=no_waivers, profile=profile)
    results = run_check(opts)
    if fmt == "json":  # streamed: an audit's results can be hundreds of megabytes
        pieces: Iterable[str] = out.iter_json(results)
    elif fmt == "text":
        colour = output is None and _colour_stdout()

        def style(text: str, key: str) -> str:
            return click.style(text, fg=out.COLOURS.get(key), bold=True) if colour else text

        text = out.format_detail if detail else out.format_text
        pieces = [out.verdict_line(results, style) + "\n" if quiet else text(results, style)]
    else:
        pieces = [out.FORMATS[fmt](results)]
    _emit(pieces, output)
    sys.exit(int(exit_code(results)))


@cli.command("ls")
@click.argument("args", metavar="INVENTORY... [vms|hosts|srs|disks|networks]", nargs=-1,
                required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: a list of objects with their uuids, for scripts.")
@handle_errors
def ls_cmd(args: tuple[str, ...], fmt: str) -> None:
    """List the VMs (the default), hosts, SRs, disks or networks of pools, under the names
    and labels plans and waivers take as selectors.

    \b
    Examples:
      migready ls prod.json
      migready ls prod.json dr.json srs
      migready ls prod.json disks --format json | jq -r '.[] | select(.vm == "db-01") | .uuid'
    """
    import json

    from checker.facts import World
    from checker.inventory import Inventory
    from checker.listing import KINDS, as_json, format_text, list_objects

    kind = KINDS[0]
    if args[-1] in KINDS or f"{args[-1]}s" in KINDS:
        kind, args = args[-1] if args[-1] in KINDS else f"{args[-1]}s", args[:-1]
    if not args:
        raise InputError(f"ls: give an inventory to list the {kind} of")
    world = World([Inventory.load(Path(p)) for p in args])
    rows = list_objects(world, kind)
    if fmt == "json":
        click.echo(json.dumps(as_json(rows), indent=1, ensure_ascii=False))
    else:
        click.echo(format_text(rows, kind, pools=len(args) > 1), nl=False)


@cli.command()
@click.argument("inventories", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--evacuate", metavar="HOST", help="Empty this host with live moves.")
@click.option("--rolling-upgrade", metavar="POOL", help="Evacuate each host of the pool in turn, "
              "master first.")
@click.option("--move", "moves", metavar="SELECTOR", multiple=True,
              help="A VM to move: name, uuid:…, or tag:NAME (repeatable); with --to.")
@click.option("--to", metavar="POOL[/HOST]", help="Where --move sends the VMs: a host, or any "
              "host of the pool.")
@click.option("--keep-free", metavar="SIZE", help="Headroom left on every host: 10% of its memory, "
              "or a size such as 8GiB.")
@click.option("--window", metavar="DURATION", help="The maintenance window (4h, 90m): waves past it "
              "are left out.")
@click.option("--max-per-wave", type=int, default=3, show_default=True,
              help="Moves per wave (GEN-009 warns above 3 live moves from one pool at once).")
@click.option("--avoid", metavar="HOST,...", help="Hosts that must not receive VMs.")
@click.option("--profile", default="documented", show_default=True,
              help="The rules' severities, as for check.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The plan to write (YAML; - for stdout).")
@handle_errors
def suggest(inventories: tuple[Path, ...], evacuate: str | None, rolling_upgrade: str | None,
            moves: tuple[str, ...], to: str | None, keep_free: str | None, window: str | None,
            max_per_wave: int, avoid: str | None, profile: str, output: Path) -> None:
    """Suggest a plan that passes: where each VM can go, in waves.

    The plan is checked with the ordinary evaluator before it is written, so `migready
    check --plan` reports it ready. When no plan moves everything, the blockers that rule
    it out are listed, the plan for everything else is written, and the exit code is 1.

    \b
    Examples:
      migready suggest prod.json --evacuate xs01 --keep-free 10% -o evacuate-xs01.yaml
      migready suggest prod.json --rolling-upgrade prod-pool --window 8h -o upgrade.yaml
      migready suggest prod.json --move web-01 --move tag:tier-2 --to prod-pool -o moves.yaml
    """
    from checker.atomic import atomic_writer
    from checker.suggest import Request
    from checker.suggest import suggest as make

    target = _output_target(output, inventories)
    given = [("--evacuate", evacuate), ("--rolling-upgrade", rolling_upgrade),
             *(("--move", m) for m in moves), ("--to", to), ("--keep-free", keep_free),
             ("--window", window), ("--max-per-wave", max_per_wave if max_per_wave != 3 else None),
             ("--avoid", avoid), ("--profile", profile if profile != "documented" else None)]
    command = shlex.join(["migready", "suggest", *map(str, inventories),
                          *(str(part) for option, value in given if value is not None
                            for part in (option, value))])
    found = make(Request(inventories, evacuate=evacuate, rolling_upgrade=rolling_upgrade,
                         moves=moves, to=to, keep_free=keep_free, window=window,
                         max_per_wave=max_per_wave, profile=profile, command=command,
                         avoid=[a.strip() for a in (avoid or "").split(",") if a.strip()]))
    say = functools.partial(click.echo, err=target is None)
    if found.text is not None:
        if target is None:
            sys.stdout.write(found.text)
        else:
            with atomic_writer(target) as handle:
                handle.write(found.text)
        what = f"{len(found.steps)} step(s)" if found.steps else f"{found.moves} move(s)"
        say(f"migready: wrote {output}: {what}; check says {found.verdict}"
            f"{' (a partial plan)' if found.blockers else ''}")
    for host, placed in found.steps:
        say(f"  {host}: {len(placed)} VM(s) move" + (f" ({', '.join(sorted(set(placed.values())))})"
                                                      if placed else ""))
    if found.blockers:
        say("No plan moves everything; what rules it out:" if found.text is not None
            else "No plan is possible; what rules it out:")
        for blocker in found.blockers:
            say(f"  - {blocker}")
        sys.exit(int(ExitCode.BLOCKED))


@cli.group()
def rules() -> None:
    """The rule catalogue."""


@rules.command("list")
@click.option("--lang", type=click.Choice(["en", "ja"]), default="en", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: id, severity, basis, kinds and titles in both languages, for scripts.")
@click.option("--policies", multiple=True, type=click.Path(file_okay=False, path_type=Path))
@handle_errors
def rules_list(lang: str, fmt: str, policies: tuple[Path, ...]) -> None:
    """Every rule: id, severity, basis, kinds, title.

    \b
    Examples:
      migready rules list --lang ja
      migready rules list --format json | jq -r '.[] | select(.basis == "xapi") | .id'
    """
    import json

    from checker.policy import load_rules

    catalogue = load_rules(policies).rules
    if fmt == "json":
        click.echo(json.dumps([{"id": r.id, "severity": r.severity, "basis": r.basis.kind,
                                "kinds": sorted(r.kinds), "titles": dict(r.title)} for r in catalogue],
                              indent=1, ensure_ascii=False))
        return
    for rule in catalogue:
        kinds = ",".join(sorted(rule.kinds))
        click.echo(f"{rule.id:<9} {rule.severity:<8} {rule.basis.kind:<13} {kinds:<28} {rule.title[lang]}")


@rules.command("show")
@click.argument("rule_id")
@click.option("--lang", type=click.Choice(["en", "ja"]), default="en", show_default=True)
@click.option("--policies", multiple=True, type=click.Path(file_okay=False, path_type=Path))
@handle_errors
def rules_show(rule_id: str, lang: str, policies: tuple[Path, ...]) -> None:
    """One rule whole: description, logic, remediation, seed section and sentence.

    \b
    Example:
      migready rules show LIM-005
    """
    from checker.policy import load_rules

    rule = load_rules(policies).get(rule_id.upper())
    if rule is None:
        raise InputError(f"no rule {rule_id}: see `migready rules list`")
    raw = rule.raw
    click.echo(f"{rule.id}: {rule.title[lang]}")
    click.echo(f"severity: {rule.severity}    kinds: {', '.join(sorted(rule.kinds))}"
               + (f"    level: {rule.level}" if rule.level != "vm" else ""))
    click.echo(f"file: {rule.file}")
    if rule.basis.errors:
        click.echo(f"basis: XAPI refuses the move: {', '.join(rule.basis.errors)} ({rule.basis.source})")
    else:
        click.echo("basis: documentation: the XenServer documentation requires it; XAPI does not "
                   "stop the move")
    click.echo("")
    click.echo(rule.description[lang].strip())
    click.echo("")
    if rule.seed:
        original = " (Japanese original)" if lang == "en" else ""
        click.echo(f"seed {rule.seed['section']}{original}: {rule.seed['text'].strip()}")
    else:
        click.echo(f"source: XAPI — {rule.reference}")
    click.echo("")
    click.echo("logic:")
    if "applies_when" in raw:
        click.echo(f"  applies when: {raw['applies_when']}")
    if "for_each" in raw:
        click.echo(f"  for each {raw['for_each']['var']} in: {raw['for_each']['in']}")
    click.echo(f"  assert: {raw['assert']}")
    click.echo("")
    click.echo(f"remediation: {rule.remediation[lang].strip()}")
    if "command" in raw:
        click.echo(f"command: {raw['command']}")


@cli.command()
@click.option("--policies", multiple=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--plan", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--waivers", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--inventory", "inventories", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Inventories to resolve the plan's selectors against (repeatable).")
@handle_errors
def validate(policies: tuple[Path, ...], plan: Path | None, waivers: Path | None,
             inventories: tuple[Path, ...]) -> None:
    """Validate policies, a plan and waivers; every error with file:line:col.

    A plan alone is checked for its syntax (keys, types, kinds); with the inventories, its
    names are resolved too, as `check` resolves them.

    \b
    Examples:
      migready validate --policies my-rules/ --waivers waivers.yaml
      migready validate --plan change.yaml
      migready validate --plan change.yaml --inventory prod.json --inventory dr.json
    """
    from checker.facts import World
    from checker.inventory import Inventory
    from checker.plan import check_syntax, load_plan
    from checker.policy import load_rules
    from checker.results import plural
    from checker.waivers import load_waivers

    problems: list[str] = []
    rule_set = None
    try:
        rule_set = load_rules(policies)
        click.echo(f"policies: {len(rule_set.rules)} rules ok")
    except InputError as exc:
        problems.append(str(exc))
    if waivers:
        try:
            known = {r.id for r in rule_set.rules} if rule_set else None
            click.echo(f"waivers: {len(load_waivers(waivers, known_rules=known))} ok")
        except InputError as exc:
            problems.append(str(exc))
    if plan and not inventories:
        try:
            operations = check_syntax(plan)
            click.echo(f"plan: {plural(operations, 'operation')} ok (syntax only: give the "
                       "inventories with --inventory to check its names)")
        except InputError as exc:
            problems.append(str(exc))
    elif plan:
        try:
            world = World([Inventory.load(p) for p in inventories])
            loaded = load_plan(plan, world)
            click.echo(f"plan: {len(loaded.moves)} moves ok")
            for warning in loaded.warnings:
                click.echo(f"migready: warning: {warning}", err=True)
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise InputError("\n".join(problems))


#: The file formats whose JSON Schemas `migready schema` publishes (checker/schemas/NAME.schema.json).
SCHEMAS = ("plan", "waivers", "job", "signoff", "inventory", "results", "policy", "profile")


@cli.command()
@click.argument("name", metavar="FORMAT", type=click.Choice(SCHEMAS))
@handle_errors
def schema(name: str) -> None:
    """Print the JSON Schema (draft 2020-12) of a file format, for editors and other tools.

    \b
    Example:
      migready schema plan > plan.schema.json
    """
    from checker.bundled import schema_text

    click.echo(schema_text(name), nl=False)


@cli.group()
def policy() -> None:
    """Policy packs: test your own rules the way the built-in ones are tested."""


@policy.command("test")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--policies", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Rule directories to load besides the built-in rules.")
@handle_errors
def policy_test(directory: Path, policies: tuple[Path, ...]) -> None:
    """Run the fixtures under DIRECTORY (one folder per rule id); fail on any difference.

    \b
    Example:
      migready policy test tests/policies
      migready policy test my-pack/tests --policies my-pack/rules
    """
    from checker.fixtures import fixture_dirs, format_result, run_fixture
    from checker.policy import load_rules

    rule_set = load_rules(policies)
    folders = fixture_dirs(directory)
    if not folders:
        raise InputError(f"{directory}: no fixtures (folders with a fixture.yaml)")
    failed = 0
    for folder in folders:
        result = run_fixture(folder, rule_set)
        failed += not result.ok
        for line in format_result(result):
            click.echo(line)
    click.echo(f"{len(folders) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


@cli.command()
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--force", is_flag=True, help="Compare results of different pools or plans.")
@handle_errors
def diff(old: Path, new: Path, fmt: str, force: bool) -> None:
    """What changed between two results: new, resolved and persisting failures.

    Exit status: 0 no new failures, 1 new failures, 2 bad input (or results of different
    pools or plans without --force).

    \b
    Example:
      migready diff last-week.json today.json
    """
    import json

    from checker.diff import check_comparable, diff_results, format_diff_text, has_new_failures
    from checker.results_read import load_results

    before, after = load_results(old, lean="compare"), load_results(new, lean="compare")
    if not force:
        check_comparable(before, after, str(old), str(new))
    d = diff_results(before, after)
    click.echo(json.dumps(d, indent=1, ensure_ascii=False) if fmt == "json" else format_diff_text(d),
               nl=fmt == "json")
    sys.exit(1 if has_new_failures(d) else 0)


@cli.command()
@click.argument("results_file", metavar="RESULTS.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True)
@click.option("--lang", type=click.Choice(["en", "ja"]), default="en", show_default=True)
@click.option("--since", type=click.Path(dir_okay=False, path_type=Path),
              help="Previous results: adds a 'since last run' section.")
@click.option("--sign-off", "sign_off", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML with prepared_by, reviewed_by, approved_by, decision, date.")
@click.option("--runbook", "with_runbook", is_flag=True,
              help="Add the runbook (the plan's xe commands, wave by wave) as an appendix.")
@click.option("--inventory", "inventories", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="With --runbook: an inventory for its master's address (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Default: beside the results, RESULTS.LANG.html|pdf; - is stdout.")
@handle_errors
def report(results_file: Path, fmt: str, lang: str, since: Path | None, sign_off: Path | None,
           with_runbook: bool, inventories: tuple[Path, ...], output: Path | None) -> None:
    """Render results as a self-contained HTML page or a PDF to sign.

    \b
    Examples:
      migready report results.json --format pdf --lang ja --sign-off signoff.yaml
      migready report results.json --since last-week.json -o report.html
      migready report results.json --runbook -o change.html
    """
    from checker.atomic import atomic_writer
    from checker.diff import diff_results
    from checker.report import build_context, load_signoff, render_html, render_pdf
    from checker.results_read import load_results

    target = _output_target(output or results_file.with_name(f"{results_file.stem}.{lang}.{fmt}"),
                            [results_file, since, sign_off, *inventories])
    results = load_results(results_file, lean="report")
    book = _runbook(results_file, results, inventories) if with_runbook else None
    before = load_results(since, lean="compare") if since else None
    context = build_context(results, lang=lang,
                            since=diff_results(before, results) if before is not None else None,
                            signoff=load_signoff(sign_off) if sign_off else None)
    data = (render_pdf(context, runbook=book) if fmt == "pdf"
            else render_html(context, runbook=book).encode())
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    with atomic_writer(target, binary=True) as handle:
        handle.write(data)
    click.echo(f"{target}")


def _runbook(results_file: Path, results: dict[str, Any], inventories: Iterable[Path]) -> Any:
    """The runbook of loaded results; --inventory files supply the pool masters' addresses
    that results of an older migready lack."""
    from checker.facts import World
    from checker.inventory import Inventory
    from checker.results import sha256_file
    from checker.runbook import build_runbook, master_addresses

    world = World([Inventory.load(p) for p in inventories])
    return build_runbook(results, origin=str(results_file), sha256=sha256_file(results_file),
                         addresses=master_addresses(world))


@cli.command()
@click.argument("results_file", metavar="RESULTS.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["sh", "md"]), default="sh", show_default=True,
              help="sh: a bash script to review and run; md: the same runbook for a change ticket.")
@click.option("--inventory", "inventories", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="An inventory the plan was checked with, for its master's address when the "
                   "results lack it (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout (atomically; - is stdout).")
@handle_errors
def runbook(results_file: Path, fmt: str, inventories: tuple[Path, ...], output: Path | None) -> None:
    """Write the checked plan as ordered xe commands, wave by wave; migready never runs them.

    Only ready results (ready or ready with warnings) have a runbook. Exit codes: 0 written,
    1 the results are blocked or undecided (nothing written), 2 invalid input (an audit's
    results, or results lacking a uuid or address a command needs).

    \b
    Examples:
      migready check prod.json dr.json --plan change.yaml --format json -o results.json
      migready runbook results.json -o change.sh
      migready runbook results.json --format md -o change.md
    """
    from checker.results_read import load_results
    from checker.runbook import render

    target = _output_target(output, [results_file, *inventories])
    book = _runbook(results_file, load_results(results_file), inventories)
    _emit([render(book, fmt)], target)


@cli.command()
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write (default: reports/ if the current folder has one, as a "
                   "checkout does, else the current folder).")
@handle_errors
def demo(output_dir: Path | None) -> None:
    """The whole pipeline on the bundled sample pools: check a plan, write reports.

    \b
    Example:
      migready demo -o demo && xdg-open demo/demo-report.en.html
    """
    from checker.demo import run_demo

    outcome = run_demo(output_dir)
    counts = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in sorted(outcome.summary.items()))
    click.echo(f"Demo plan CHG-2026-1204: {outcome.verdict.upper().replace('_', ' ')} ({counts})")
    for path in outcome.files:
        click.echo(f"  {path}")


@cli.command()
@click.argument("job_file", metavar="JOB.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True,
              help="Validate the job file and show what a run would do; contact nothing, "
                   "write nothing.")
@handle_errors
def run(job_file: Path, dry_run: bool) -> None:
    """Collect or import, check, report, compare with the last run, e-mail: for cron/systemd.

    The job file names the pools, the checks, the reports, the output and state folders and
    the e-mail (see samples/job.yaml and docs/scheduling.md). Exit codes: the worst of the
    run: 4 a pool or SMTP failed (or another run holds the lock), 2 invalid input, 1 blocked,
    3 undecided, 0 ready.

    \b
    Examples:
      migready run /etc/migready/nightly.yaml
      migready run job.yaml --dry-run
    """
    from checker.job import describe_job, format_outcome, load_job, run_job

    job = load_job(job_file)
    if dry_run:
        click.echo(describe_job(job), nl=False)
        return
    import signal

    def terminated(signum: int, _frame: object) -> None:
        # Like Ctrl-C: run_job records the run as interrupted and leaves no temporary file.
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        outcome = run_job(job, progress=Progress())
    except SystemExit:
        click.echo("migready: terminated (the run folder's run.json says how far it got)",
                   err=True)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo(format_outcome(outcome), nl=False)
    for problem in outcome.problems:
        click.echo(f"migready: {problem}", err=True)
    sys.exit(outcome.exit_code)


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run a command; whatever happens, one of the exit codes of contracts.md comes out.

    A bug (any other exception) is exit 5 with one line: the traceback only with --debug
    or MIGREADY_DEBUG=1. SIGTERM unwinds like Ctrl-C, so temporary files are removed."""
    args = sys.argv[1:] if argv is None else list(argv)
    previous = signal.signal(signal.SIGTERM, _terminate) if _main_thread() else None
    try:
        cli.main(args=args, prog_name="migready", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("migready: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except click.exceptions.ClickException as exc:
        exc.show()
        return int(ExitCode.INVALID_INPUT)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except KeyboardInterrupt:
        click.echo("migready: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except Terminated:
        click.echo("migready: terminated", err=True)
        return int(ExitCode.TERMINATED)
    except Exception as exc:
        if "--debug" in args or os.environ.get("MIGREADY_DEBUG") == "1":
            traceback.print_exc()
        detail = str(exc).splitlines()[0] if str(exc) else ""
        click.echo(f"migready: internal error (a bug in migready): {type(exc).__name__}"
                   f"{': ' + detail if detail else ''}; run with --debug for the traceback",
                   err=True)
        return int(ExitCode.INTERNAL_ERROR)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _main_thread() -> bool:
    """Signal handlers can only be set there (a test may run the CLI in another thread)."""
    import threading

    return threading.current_thread() is threading.main_thread()
