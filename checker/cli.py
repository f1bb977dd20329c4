"""The `migready` command: a thin shell over the library. Parses arguments, prints, picks exit codes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from checker import __version__
from checker.errors import ExitCode, MigreadyError


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

    return wrapper


class Progress:
    """Progress lines on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, message: str) -> None:
        if self.enabled:
            click.echo(f"  {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="migready")
def cli() -> None:
    """Will these XenServer VMs migrate? Readiness checks for live migration, storage live
    migration and live VDI moves, proved in a report you can sign."""


@cli.command("import")
@click.argument("dump", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Inventory to write (.json, or .json.gz to compress).")
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
    from checker.inventory import Inventory, save_document

    doc = dump_mod.import_file(dump)
    save_document(doc, output)
    _print_summary(Inventory(doc, str(output)), output)


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
    from checker.inventory import Inventory, save_document

    tls = collector.TlsOptions.from_cli(ca_bundle=ca_bundle, fingerprint=fingerprint,
                                        insecure=insecure)
    if tls.insecure:
        click.echo("migready: warning: --insecure: the server's identity is not verified", err=True)
    password = read_password(password_env, password_file, f"Password for {username}@{server}: ")
    doc = collector.collect(server, username, password, tls=tls, timeout=timeout,
                            progress=Progress())
    save_document(doc, output)
    _print_summary(Inventory(doc, str(output)), output)


def read_password(env: str | None, file: Path | None, prompt: str) -> str:
    """From an environment variable, a file, or a prompt that does not echo."""
    from checker.errors import InputError

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


def _print_summary(inv: Any, output: Path) -> None:
    from checker.facts import summarize

    s = summarize(inv)
    click.echo(f"{output}: pool '{s['pool']}' — {s['hosts']} hosts, {s['vms']} VMs "
               f"({s['running']} running), {s['srs']} SRs, {s['vdis']} VDIs")
    for host in s["host_versions"]:
        click.echo(f"  host {host}")
    if s["gaps"]:
        click.echo(f"  {s['gaps']} gaps recorded (missing tables, dangling references): "
                   f"see \"gaps\" in the inventory")


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="migready", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("migready: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except click.exceptions.ClickException as exc:
        exc.show()
        return int(ExitCode.INVALID_INPUT)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    return 0
