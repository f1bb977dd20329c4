"""Runbook: the results of a ready plan as ordered `xe` commands, wave by wave.

migready never runs them. A person reviews the runbook, signs it off with the report, and runs
it wave by wave; so it says what was checked (results sha256, plan id, verdict), re-checks
before each wave, and holds no password: `remote-password="$XS_PASSWORD"` is a reference the
shell expands. Commands and parameter names are the xe CLI's own (tests/data/xe_commands.json
cites cli_frontend.ml of xapi-project/xen-api). Where the results lack a uuid or address a
command needs, the runbook is refused, naming the field: never a guessed value.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from checker.errors import ExitCode, InputError, MigreadyError
from checker.results import master_address, natural_order, plural

#: The environment variable every password is read from, by reference only.
PASSWORD_VAR = "XS_PASSWORD"
#: The account xe logs in to each pool master with (-u, and remote-username= for storage motion).
REMOTE_USER = "root"


class NotReady(MigreadyError):
    """The results are blocked or undecided: there is no runbook to write (exit 1)."""

    exit_code = ExitCode.BLOCKED


@dataclass(frozen=True)
class Secret:
    """A shell variable reference standing for a password: written `"$NAME"`, never a value."""

    name: str


@dataclass
class Command:
    """One command line: program words, then name=value parameters (xe's syntax)."""

    words: list[str | Secret]
    params: list[tuple[str, str | Secret]] = field(default_factory=list)

    def shell(self) -> str:
        """The line, every value shell-quoted; a Secret as a double-quoted expansion."""
        parts = [f'"${w.name}"' if isinstance(w, Secret) else shlex.quote(w) for w in self.words]
        for name, value in self.params:
            if isinstance(value, Secret):
                parts.append(f'{name}="${value.name}"')
            else:
                parts.append(shlex.quote(f"{name}={value}"))
        return " ".join(parts)


@dataclass
class Step:
    """Commands with what they do and why, as comments."""

    title: str
    notes: list[str]
    commands: list[Command]


@dataclass
class Wave:
    number: int
    checks: list[Step]
    steps: list[Step]


@dataclass
class Runbook:
    plan_id: str
    sha256: str
    header: list[tuple[str, str]]
    waves: list[Wave]


def master_addresses(world: Any) -> dict[str, str]:
    """Pool name and uuid -> its master's address, from the inventories given with
    --inventory (a checker.facts.World), for results that do not carry the addresses."""
    out: dict[str, str] = {}
    for index, inv in enumerate(world.inventories):
        address = master_address(world, index)
        for key in (inv.name, (inv.pool or {}).get("uuid")) if address else ():
            if key:
                out[str(key)] = address
    return out


def build_runbook(results: Mapping[str, Any], *, origin: str, sha256: str,
                  addresses: Mapping[str, str] | None = None) -> Runbook:
    """The runbook of checked plan results (contracts.md `migready runbook`).

    Refuses (exit 2) an audit or results missing a uuid a command needs, and (exit 1)
    results that are not ready: a blocked or undecided plan has no runbook."""
    if results.get("mode") != "plan":
        raise InputError(f"{origin}: these are the results of a readiness audit, which has no "
                         "plan to run: check a plan (`migready check ... --plan plan.yaml`) and "
                         "write the runbook of its results")
    verdict = results["verdict"]
    if verdict not in {"ready", "ready_with_warnings"}:
        raise NotReady(f"{origin}: no runbook: the plan is {verdict} ({_blockers(results)}); "
                       "a runbook is written only for ready results")
    plan = results.get("inputs", {}).get("plan") or {}
    plan_id = str(plan.get("plan") or plan.get("file") or "(unnamed plan)")
    writer = _Writer(results, addresses or {})
    waves = writer.waves()
    if writer.missing:
        raise InputError(f"{origin}: cannot write the runbook: the results lack what its "
                         "commands need. Check the plan again with this version of migready, "
                         "whose results carry every uuid and address, or give the inventories "
                         "(--inventory) for the pool masters' addresses",
                         details=[f"  {m}" for m in dict.fromkeys(writer.missing)])
    header = [("Plan", f"{plan_id}" + (f" ({plan['file']})" if plan.get("file") else "")),
              ("Results", f"{origin}, sha256 {sha256}"),
              ("Results generated at", str(results.get("generated_at", ""))),
              ("Verdict", verdict),
              ("Operations", ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in
                                       sorted(results["summary"].get("by_verdict", {}).items())))]
    return Runbook(plan_id, sha256, header, waves)


def _blockers(results: Mapping[str, Any]) -> str:
    """'2 blocker findings failed; 1 blocker finding unknown': what the refusal counts."""
    counts = {"fail": 0, "unknown": 0}
    for f in results["findings"]:
        if f.get("severity") == "blocker" and f["status"] in counts:
            counts[f["status"]] += 1
    parts = []
    if counts["fail"]:
        parts.append(f"{plural(counts['fail'], 'blocker finding')} failed")
    if counts["unknown"]:
        parts.append(f"{plural(counts['unknown'], 'blocker finding')} unknown")
    return "; ".join(parts) or f"{plural(results['summary'].get('blocked', 0), 'blocked operation')}"


class _Writer:
    """Turns operations into steps, collecting every missing field instead of stopping at
    the first, so one refusal names them all."""

    def __init__(self, results: Mapping[str, Any], addresses: Mapping[str, str]) -> None:
        self.results = results
        self.addresses = dict(addresses)
        self.missing: list[str] = []
        for op in results["operations"]:  # the results' own addresses first
            for side in ("source", "destination"):
                where = op.get(side) or {}
                if where.get("master_address") and where.get("pool"):
                    self.addresses.setdefault(where["pool"], where["master_address"])
        self.children: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for op in results["operations"]:
            if op.get("parent"):
                self.children[op["parent"]].append(op)
        capacity = results.get("capacity") or []
        self.memory = {row["uuid"]: row for row in capacity if row.get("kind") == "host_memory"}

    def xe(self, op: dict[str, Any], side: str, sub: str,
           params: list[tuple[str, str | Secret]]) -> Command:
        """`xe -s MASTER -u root -pw "$XS_PASSWORD" SUB ...`: a runbook spans pools, so each
        command names the pool master it talks to (side: the operation's source or
        destination pool)."""
        pool = str((op.get(side) or {}).get("pool", ""))
        address = self.addresses.get(pool)
        if not address:
            self.missing.append(f"{op['id']}: {side}.master_address is missing (pool {pool})")
        return Command(["xe", "-s", address or "", "-u", REMOTE_USER, "-pw", Secret(PASSWORD_VAR),
                        sub], params)

    def need(self, op: dict[str, Any], path: str) -> str:
        """The value at `path` (dotted) of an operation, or '' with the field recorded missing."""
        value: Any = op
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if not value:
            self.missing.append(f"{op['id']}: {path} is missing")
            return ""
        return str(value)

    def waves(self) -> list[Wave]:
        tops = [op for op in self.results["operations"] if not op.get("parent")]
        by_wave: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for op in tops:
            by_wave[op["wave"]].append(op)
        out = []
        for number in sorted(by_wave):
            ops = sorted(by_wave[number], key=lambda o: natural_order(o["id"]))
            out.append(Wave(number, self.checks(ops, first=not out),
                            [step for op in ops for step in self.steps(op)]))
        return out

    # -- re-checks ----------------------------------------------------------------
    def checks(self, ops: list[dict[str, Any]], *, first: bool) -> list[Step]:
        """Before the first wave, the whole plan checked again; before each wave, xe's view
        of the VMs it moves and of its destination hosts' memory."""
        steps = []
        if first:
            steps.append(self.recheck())
        else:
            steps.append(Step("Re-check", [
                "The whole plan was re-checked before the first wave. Once a wave has run, its "
                "VMs are where the plan sends them, so `migready check` of the whole plan no "
                "longer applies: the xe pre-checks below confirm this wave's starting point."], []))
        vms = [o for op in ops for o in [op, *self.children[op["id"]]] if o.get("vm")]
        if vms:
            steps.append(Step("Each VM of this wave is running", ["Expect: running."], [
                self.xe(o, "source", "vm-param-get", [("uuid", self.need(o, "vm.uuid")),
                                                      ("param-name", "power-state")])
                for o in _unique(vms, lambda o: o["vm"].get("uuid"))]))
        hosts = _unique([o for op in ops for o in [op, *self.children[op["id"]]]
                         if (o.get("destination") or {}).get("host_uuid")],
                        lambda o: o["destination"]["host_uuid"])
        if hosts:
            notes = []
            for o in hosts:
                row = self.memory.get(o["destination"]["host_uuid"])
                if row and row.get("free_before") is not None:
                    notes.append(f"{o['destination'].get('host')}: the check counted "
                                 f"{_gib(row['free_before'])} free; the plan places "
                                 f"{_gib(row['planned'])} there in all.")
            steps.append(Step("Free memory on each destination host (bytes)", notes, [
                self.xe(o, "destination", "host-compute-free-memory",
                        [("uuid", o["destination"]["host_uuid"])]) for o in hosts]))
        return steps

    def recheck(self) -> Step:
        """Collect every inventory again and check the plan against them: the script stops
        (set -e) unless the plan is still ready."""
        inputs = self.results.get("inputs", {})
        touched = {str((op.get(side) or {}).get("pool")) for op in self.results["operations"]
                   for side in ("source", "destination")}
        files = []
        commands = []
        notes = []
        for inv in inputs.get("inventories", []):
            pool = str(inv.get("pool", ""))
            if pool not in touched:  # checked as it was: no operation moves anything there
                files.append(str(inv.get("file") or f"{pool}.json"))
                notes.append(f"Pool {pool} is checked from its inventory as it was: no operation "
                             "moves anything to or from it.")
                continue
            name = f"recheck/{inv.get('file') or pool + '.json'}"
            address = self.addresses.get(pool) or self.addresses.get(str(inv.get("uuid", "")))
            if not address:
                self.missing.append(f"pool {pool}: the master's address (source.master_address or "
                                    "destination.master_address of an operation, or --inventory)")
                continue
            commands.append(Command(["migready", "collect", "--server", f"https://{address}",
                                     "--password-env", PASSWORD_VAR, "-o", name]))
            files.append(name)
        plan_file = (inputs.get("plan") or {}).get("file") or "plan.yaml"
        commands.insert(0, Command(["mkdir", "-p", "recheck"]))
        commands.append(Command(["migready", "check", *files, "--plan", plan_file,
                                 *_check_options(inputs)]))
        return Step("Re-check the plan against a fresh collection", [
            "With the plan, waivers, profile and policies the results were checked with (run "
            "from the folder that holds them): `migready check` exits non-zero unless the plan "
            "is still ready, which stops this script (set -e).",
            "Add --ca-bundle or --fingerprint to collect as your site requires.", *notes], commands)

    # -- moves --------------------------------------------------------------------
    def steps(self, op: dict[str, Any]) -> list[Step]:
        kind = op["kind"]
        if kind == "evacuate":
            return self.evacuation(op)
        if kind == "vdi":
            return [Step(f"{op['id']}: move disk {op.get('vdi', {}).get('name')} of "
                        f"{op.get('vm', {}).get('name')} to SR {op['destination'].get('sr')}",
                        [f"Live VDI migration (storage XenMotion inside pool "
                         f"{op['destination'].get('pool')}){_estimate(op)}."],
                        [self.xe(op, "source", "vdi-pool-migrate",
                                 [("uuid", self.need(op, "vdi.uuid")),
                                  ("sr-uuid", self.need(op, "destination.sr_uuid"))])])]
        return [self.migrate(op)]

    def migrate(self, op: dict[str, Any]) -> Step:
        dest = op["destination"]
        storage = op["kind"] == "storage"
        cross = storage and (op.get("source") or {}).get("pool") != dest.get("pool")
        params: list[tuple[str, str | Secret]] = [("uuid", self.need(op, "vm.uuid"))]
        notes = []
        if storage:  # the xe CLI takes any vdi: or vif: as storage motion, which needs these
            side = "destination" if cross else "source"  # inside a pool: its own master
            address = self.addresses.get(str((op.get(side) or {}).get("pool")))
            if not address:
                self.missing.append(f"{op['id']}: {side}.master_address is missing "
                                    f"(pool {(op.get(side) or {}).get('pool')})")
            params += [("remote-master", address or ""), ("remote-username", REMOTE_USER),
                       ("remote-password", Secret(PASSWORD_VAR))]
        params.append(("host-uuid", self.need(op, "destination.host_uuid")))
        if cross and dest.get("migration_network"):
            params.append(("remote-network", self.need(op, "destination.migration_network.uuid")))
            notes.append(f"Migration network: {dest['migration_network'].get('name')}.")
        if storage:  # every disk, those that stay too: xe would place an unnamed one itself
            if "disks" not in op:
                self.missing.append(f"{op['id']}: disks (the VDI to SR map) is missing")
            for disk in op.get("disks", []):
                if not disk.get("sr"):
                    self.missing.append(f"{op['id']}: disk {disk['vdi'].get('name')} has no SR")
                    continue
                params.append((f"vdi:{disk['vdi']['uuid']}", disk["sr"]["uuid"]))
                notes.append(f"Disk {disk['vdi'].get('name')} "
                             f"{'->' if disk.get('moves', True) else 'stays on'} SR "
                             f"{disk['sr'].get('name')}.")
        if cross:
            if "vifs" not in op:
                self.missing.append(f"{op['id']}: vifs (the VIF to network map) is missing")
            for vif in op.get("vifs", []):
                if not vif.get("network"):
                    self.missing.append(f"{op['id']}: VIF {vif.get('vif')} (device "
                                        f"{vif.get('device')}) has no destination network")
                    continue
                params.append((f"vif:{vif['vif']}", vif["network"]["uuid"]))
                notes.append(f"VIF {vif.get('device')}{' of a snapshot' if vif.get('snapshot') else ''}"
                             f" -> network {vif['network'].get('name')}.")
        if isinstance(op.get("compress"), bool):  # as checked (LIVE-004); else the pool's setting
            params.append(("compress", str(op["compress"]).lower()))
            notes.append(f"Compression {'on' if op['compress'] else 'off'}, as the plan says.")
        params.append(("live", "true"))
        what = "storage live migration" if op["kind"] == "storage" else "live migration"
        where = f"{dest.get('pool')}/{dest.get('host')}" if cross else str(dest.get("host"))
        title = f"{op['id']}: {op.get('vm', {}).get('name')} to {where}"
        return Step(title, [f"{what.capitalize()}{' to another pool' if cross else ''}"
                            f"{_estimate(op)}.", *notes], [self.xe(op, "source", "vm-migrate", params)])

    def evacuation(self, op: dict[str, Any]) -> list[Step]:
        """Disable, evacuate (XAPI's planner, as the check simulated it), service, enable."""
        host = op.get("host") or {}
        name = host.get("name")
        uuid = self.need(op, "host.uuid")
        placed = [f"{c.get('vm', {}).get('name')} -> {c['destination'].get('host')}"
                  for c in sorted(self.children[op["id"]], key=lambda c: natural_order(c["id"]))]
        notes = ["Disable the host so that no VM starts on it, then let XAPI move its VMs off "
                 "(host-evacuate plans the placement as the check simulated it)."]
        notes.append("The check predicted: " + "; ".join(placed) + "." if placed
                     else "The check found no running VM on it to move.")
        return [
            Step(f"{op['id']}: evacuate host {name}{_estimate(op)}", notes, [
                self.xe(op, "source", "host-disable", [("uuid", uuid)]),
                self.xe(op, "source", "host-evacuate", [("uuid", uuid)])]),
            Step(f"{op['id']}: upgrade or service host {name}", [
                f"Now upgrade or service {name} (in a rolling upgrade, install the new version "
                "here), and wait until it is back in the pool."], []),
            Step(f"{op['id']}: enable host {name}", [], [
                self.xe(op, "source", "host-enable", [("uuid", uuid)])]),
        ]


def _check_options(inputs: Mapping[str, Any]) -> list[str]:
    """The check's own options, from the results' inputs: its waivers (unless it ignored
    them), profile and extra policy folders, so the re-check judges as it did."""
    options = []
    waivers = inputs.get("waivers")
    if isinstance(waivers, dict) and waivers.get("file") and not waivers.get("disabled"):
        options += ["--waivers", str(waivers["file"])]
    profile = inputs.get("profile")
    if isinstance(profile, dict) and (profile.get("file") or profile.get("name", "documented")
                                      != "documented"):
        options += ["--profile", str(profile.get("file") or profile["name"])]
    for folder in (inputs.get("policies") or {}).get("extra") or []:
        options += ["--policies", str(folder)]
    return options


def _unique(items: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    seen: set[Any] = set()
    out = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _gib(value: int) -> str:
    return f"{value / 1024 ** 3:.1f} GiB"


def _estimate(op: dict[str, Any]) -> str:
    seconds = op.get("estimate_seconds")
    if not isinstance(seconds, int) or seconds <= 0:
        return ""
    return f", about {max(1, round(seconds / 60))} min" if seconds >= 60 else f", about {seconds} s"


# ---------------------------------------------------------------------------------
# Rendering: a bash script, or the same runbook as Markdown for a change ticket
# ---------------------------------------------------------------------------------

NEVER_RUN = ("migready never runs these commands. Review them, sign them off with the report, "
             "and run them yourself, wave by wave.")
PASSWORD_NOTE = (f"Passwords are read from ${PASSWORD_VAR} (export it first, the pools' root "
                 "password); none is written here.")


def _one_line(text: str) -> str:
    """Text safe inside a comment or a Markdown line: a name holding a newline must not end
    the comment and start a command."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in str(text))


def _wrap(text: str, prefix: str, width: int = 92) -> list[str]:
    import textwrap

    return textwrap.wrap(_one_line(text), width, initial_indent=prefix, subsequent_indent=prefix,
                         break_long_words=False, break_on_hyphens=False) or [prefix.rstrip()]


def _lines(command: Command, width: int = 100) -> list[str]:
    """A command on one line, or one parameter a line (with \\ continuations) when long."""
    line = command.shell()
    if len(line) <= width:
        return [line]
    pieces = [Command(command.words).shell(),
              *("    " + Command([], [p]).shell() for p in command.params)]
    return [f"{piece} \\" for piece in pieces[:-1]] + [pieces[-1]]


def _wave_title(runbook: Runbook, index: int, wave: Wave) -> str:
    """Each wave names the plan and the results it was checked in, for whoever runs it."""
    return (f"Wave {wave.number} ({index + 1} of {len(runbook.waves)}): plan {runbook.plan_id}, "
            f"results sha256 {runbook.sha256}")


def render_sh(runbook: Runbook) -> str:
    """The runbook as a bash script (set -euo pipefail: the first failing command stops it)."""
    out = ["#!/usr/bin/env bash", f"# migready runbook: plan {_one_line(runbook.plan_id)}"]
    out += [f"# {_one_line(k)}: {_one_line(v)}" for k, v in runbook.header]
    out += ["#", *_wrap(NEVER_RUN, "# "), *_wrap(PASSWORD_NOTE, "# "), "set -euo pipefail"]
    out.append(f': "${{{PASSWORD_VAR}:?export {PASSWORD_VAR} first: the root password of the pools}}"')
    for index, wave in enumerate(runbook.waves):
        out += ["", f"# ==== {_one_line(_wave_title(runbook, index, wave))}"]
        for step in (*wave.checks, *wave.steps):
            out.append(f"# -- {_one_line(step.title)}")
            for note in step.notes:
                out += _wrap(note, "#    ")
            for command in step.commands:
                out += _lines(command)
    out += ["", f"# End of the runbook of plan {_one_line(runbook.plan_id)}.", ""]
    return "\n".join(out)


def render_md(runbook: Runbook) -> str:
    """The same runbook as a Markdown change-ticket document: the facts, then each wave's
    re-check and steps with their commands in sh blocks."""
    def cell(text: str) -> str:
        return _one_line(text).replace("|", "\\|")

    out = [f"# Runbook: plan {cell(runbook.plan_id)}", "", "| | |", "|---|---|"]
    out += [f"| {cell(k)} | {cell(v)} |" for k, v in runbook.header]
    out += ["", f"> {NEVER_RUN}", ">", f"> {PASSWORD_NOTE}"]
    for index, wave in enumerate(runbook.waves):
        out += ["", f"## {cell(_wave_title(runbook, index, wave))}"]
        for step in (*wave.checks, *wave.steps):
            out += ["", f"### {cell(step.title)}"]
            if step.notes:
                out += ["", *(f"- {cell(note)}" for note in step.notes)]
            if step.commands:
                out += ["", "```sh", *(line for c in step.commands for line in _lines(c)), "```"]
    out.append("")
    return "\n".join(out)


def render(runbook: Runbook, fmt: str) -> str:
    return render_md(runbook) if fmt == "md" else render_sh(runbook)

