"""Results (`migready.results/2`): verdicts per operation and overall, findings as JSON.

Verdicts fail closed: an unwaived blocker `fail` blocks; an unwaived blocker `unknown`
leaves the operation undecided; `ready` needs every blocker rule to pass.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checker import __version__
from checker.evaluate import DESTINATION, SHOWN_BY_TITLE, Evaluation, Finding, Operation
from checker.facts import Obj, World, evidence_value
from checker.scope import PlanFacts

FORMAT = "migready.results/2"
VERDICTS = ("blocked", "undecided", "ready_with_warnings", "ready")


@functools.lru_cache(maxsize=1 << 16)
def natural_order(text: str) -> tuple[Any, ...]:
    """Ids and names by their numbers (op-2 before op-10, op-7.2 before op-7.10, h2 before
    h10): a plan of ten or more operations read in character order puts op-10 between op-1
    and op-2."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def plural(n: int, word: str) -> str:
    """'1 host', '2 hosts': English counts read as words, not as 'host(s)'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def rule_titles(results: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Rule id -> its title per language, for `shown_message`."""
    return {r["id"]: r.get("title") or {} for r in results.get("rules", [])}


#: A list of names in short, per language (short_list), and a sweep's destinations.
SHORT = {
    "en": {"all": "all {n} other hosts", "all_one": "the other host", "more": "{names} and {n} more",
           "and": " and ", "sep": ", "},
    "ja": {"all": "他の{n}台すべて", "all_one": "他の1台", "more": "{names}ほか{n}台", "and": "、",
           "sep": "、"},
}


def short_list(names: list[str], lang: str = "en", shown: int = 3) -> str:
    """'xs01', 'xs01 and xs02', 'xs01, xs02 and xs03', 'xs01, xs02, xs03 and 9 more'."""
    words = SHORT[lang]
    if len(names) > shown:
        return words["more"].format(names=words["sep"].join(names[:shown]), n=f"{len(names) - shown:,}")
    if len(names) <= 1:
        return "".join(names)
    return words["sep"].join(names[:-1]) + words["and"] + names[-1]


def shown_message(finding: dict[str, Any], titles: dict[str, dict[str, str]], lang: str = "en") -> str:
    """What a finding says in `lang`: its message, or for an audit's pass (which carries
    none) its rule's title."""
    if "message" in finding:
        return (finding.get("messages") or {}).get(lang) or finding["message"]
    title = titles.get(finding["rule"], {})
    return title.get(lang) or title.get("en") or finding["rule"]


def is_advice(finding: dict[str, Any]) -> bool:
    """An info rule's `fail`: advice, which never blocks and is not a failure."""
    return finding["status"] == "fail" and finding.get("severity") == "info"


def operation_verdict(findings: list[Finding], fail_on: str = "blocker") -> str:
    severities = {"blocker"} | ({"warning"} if fail_on == "warning" else set())
    if any(f.status == "fail" and f.rule.severity in severities for f in findings):
        return "blocked"
    if any(f.status == "unknown" and f.rule.severity in severities for f in findings):
        return "undecided"
    if any(f.status in {"fail", "unknown"} and f.rule.severity == "warning" for f in findings):
        return "ready_with_warnings"
    return "ready"


def overall_verdict(verdicts: list[str]) -> str:
    for verdict in VERDICTS:
        if verdict in verdicts:
            return verdict
    return "ready"



def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _subject(subject: Any, memo: dict[Any, dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """{class, uuid, name}; with `memo`, findings about the same object share one dict (an
    audit has hundreds of thousands of findings about a few thousand objects)."""
    if isinstance(subject, Obj):
        cached = memo.get(subject.key) if memo is not None else None
        if cached is None:
            cached = {"class": subject.cls, "uuid": subject.uuid, "name": subject.name}
            if memo is not None:
                memo[subject.key] = cached
        return cached
    if isinstance(subject, PlanFacts):
        inner = subject.values.get("sr") or subject.values.get("vdi") or subject.values.get("network")
        return _subject(inner, memo) if inner is not None else {"class": subject.cls, "name": subject.name}
    return None


def _evidence_json(raw: dict[str, Any], memo: dict[int, Any] | None) -> dict[str, Any]:
    """Evidence as JSON. Findings that share a result share its evidence dict: convert once."""
    if memo is None:
        return {k: evidence_value(v) for k, v in raw.items()}
    entry = memo.get(id(raw))
    if entry is None:  # keeps `raw` alive with it, so its id cannot be reused meanwhile
        entry = memo[id(raw)] = (raw, {k: evidence_value(v) for k, v in raw.items()})
    return entry[1]


def _host_ref(obj: Obj | None) -> dict[str, Any] | None:
    return {"uuid": obj.uuid, "name": obj.name} if obj is not None else None


#: How a finding states its rule's basis, per language.
BASIS_NOTES = {
    "xapi": {"en": "XAPI will refuse this move ({errors})", "ja": "XAPIはこの移行を拒否します({errors})"},
    "documentation": {"en": "Documented requirement; XAPI will not stop the move",
                      "ja": "ドキュメント上の要件です。XAPIは移行を止めません"},
}


#: What to do about an unknown finding: get the missing data (the message names it).
UNKNOWN_REMEDIATION = {
    "en": "Get the data the message names: collect the pool again (`migready collect`, or "
          "`xe pool-dump-database` and `migready import`) so the record is complete, or check "
          "the field in XenCenter or with `xe <class>-param-list`; then check again. If the "
          "data cannot be had, a waiver may record the decision.",
    "ja": "メッセージに示されたデータを取得します。プールを再度収集する(`migready collect`、または"
          "`xe pool-dump-database`と`migready import`)か、XenCenterまたは`xe <クラス>-param-list`で"
          "そのフィールドを確認してから、再度チェックします。データを取得できない場合は、例外承認"
          "(waiver)で判断を記録できます。",
}


def basis_note(kind: str, errors: Iterable[str], lang: str) -> str:
    """"XAPI will refuse this move (VDI_IS_ENCRYPTED)", or the documentation's sentence."""
    return BASIS_NOTES[kind][lang].format(errors=", ".join(errors))


def finding_json(f: Finding, *, render: bool = True,
                 subjects: dict[Any, dict[str, Any]] | None = None,
                 evidence: dict[int, Any] | None = None,
                 sweep: Collection[str] | None = None) -> dict[str, Any]:
    """A finding as JSON. `render=False` (an audit's passes and not applicable): no message,
    seed or waiver, which would repeat its rule's (an audit has hundreds of thousands of
    passes; a report shows them by rule).
    `sweep`: the destinations of the finding's audit operation, which a grouped failure's
    message names in short ("each of the 63 other hosts")."""
    messages = f.messages if render else {}
    grouped_problem = f.target_evidence is not None
    # Every destination: said so rather than listed (a failure on a lone other host is
    # named, its message reading as that host's).
    everywhere = f.all_targets or (sweep is not None and len(f.targets) == len(sweep)
                                   and (len(sweep) > 1 or not grouped_problem))
    targets = [] if everywhere and not grouped_problem else sorted(f.targets, key=natural_order)
    if grouped_problem:
        total = len(sweep) if sweep is not None else len(targets)
        messages = {lang: name_targets(text, targets, total, everywhere, lang)
                    for lang, text in messages.items()}
    out: dict[str, Any] = {
        "rule": f.rule.id, "status": f.status, "severity": f.rule.severity,
        "operation": f.operation, "subject": _subject(f.subject, subjects),
        "evidence": _evidence_json(f.evidence, evidence),
    }
    if render:  # an audit's pass is shown by its rule's title and seed (under `rules`)
        out.update(message=messages.get("en", ""), seed=f.rule.seed_section, waiver=f.waiver)
    if grouped_problem:
        out["evidence"], by_target = split_evidence(
            {name: _evidence_json(f.target_evidence[name], evidence) for name in targets})
        if by_target:
            out["evidence_by_target"] = by_target
    if render:  # translations; `message` is the English text
        out["messages"] = {lang: text for lang, text in messages.items() if lang != "en"}
    if f.status in {"fail", "unknown", "waived"}:
        out["basis"] = f.rule.basis.kind
        if f.rule.basis.errors:
            out["xapi_errors"] = list(f.rule.basis.errors)
        # An unknown is fixed by getting the data, not by the fail's remedy.
        out["remediation"] = (UNKNOWN_REMEDIATION["en"] if f.status == "unknown"
                              else f.rule.remediation["en"])
        command = f.command
        if command:
            out["command"] = name_targets(command, targets, len(targets), False, "en")
        gap = _gap(f.unknown)
        if gap and (f.status == "unknown" or f.original_status == "unknown"):
            out["gap"] = {"field": gap[0],
                          "reason": name_targets(gap[1], targets, len(sweep or targets), everywhere, "en")}
    if f.original_status:
        out["original_status"] = f.original_status
    if everywhere:
        out["all_targets"] = True
    elif targets:
        out["targets"] = targets
    return out


_FACT_PATH = re.compile(r"[a-z_]+(?:\.[a-z_0-9]+)+")


def _gap(unknown: str | None) -> tuple[str, str] | None:
    """(fact path, reason) of an unknown that names the fact it misses."""
    if not unknown:
        return None
    path, sep, reason = unknown.partition(": ")
    return (path, reason) if sep and _FACT_PATH.fullmatch(path) else None


def split_evidence(per_target: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(entries equal on every target, {target: the entries that differ})."""
    dicts = list(per_target.values())
    first = dicts[0] if dicts else {}
    if all(d is first for d in dicts):
        return first, {}
    common = {k: v for k, v in first.items() if all(d is first or (k in d and d[k] == v) for d in dicts)}
    by_target = {}
    for name, d in per_target.items():
        own = {k: v for k, v in d.items() if k not in common}
        if own:
            by_target[name] = own
    return common, by_target


def name_targets(text: str, targets: list[str], total: int, everywhere: bool, lang: str) -> str:
    """A grouped finding's text, its destination stand-in replaced by the hosts it holds
    for: the host itself when one, else "each of the 63 other hosts", "each of hosts 'xs01'
    and 'xs02'" or "each of 12 of the 63 other hosts ('xs01', 'xs02', 'xs03' and 9 more)"
    (Japanese alike)."""
    if DESTINATION not in text:
        return text
    if len(targets) == 1 and not everywhere:
        return text.replace(DESTINATION, targets[0])
    if lang == "ja":
        phrase = (f"(他の{total}台すべて)" if everywhere
                  else "".join(f"「{t}」" for t in targets) if len(targets) <= 3
                  else f"(他の{total}台のうち{len(targets)}台:{short_list(targets, 'ja')})")
        return text.replace(f"「{DESTINATION}」", phrase).replace(DESTINATION, phrase)
    quoted = [f"'{t}'" for t in targets]
    phrase = (f"each of the {total} other hosts" if everywhere
              else f"each of hosts {short_list(quoted)}" if len(targets) <= 3
              else f"each of {len(targets)} of the {total} other hosts ({short_list(quoted)})")
    text = re.sub(rf"(?:destination )?hosts? '{DESTINATION}'", phrase, text)
    return text.replace(f"'{DESTINATION}'", phrase).replace(DESTINATION, phrase)


def _operation_json(op: Operation, verdict: str, world_names: list[str]) -> dict[str, Any]:
    move = op.move
    out: dict[str, Any] = {"id": move.id, "kind": move.kind, "wave": move.wave, "verdict": verdict}
    if move.vm is not None:
        out["vm"] = {"uuid": move.vm.uuid, "name": move.vm.name}
        home = move.vm.record.get("resident_on")
        host = move.vm.inv.get("host", home)
        out["source"] = {"pool": world_names[move.src_pool],
                         "host": host.get("name_label") if host else None}
    if move.host is not None:
        out["host"] = _host_ref(move.host)
        out["source"] = {"pool": world_names[move.src_pool], "host": move.host.name}
    dest: dict[str, Any] = {"pool": world_names[move.dst_pool]}
    if move.dst_host is not None:
        dest["host"] = move.dst_host.name
    if move.dst_sr is not None:
        dest["sr"] = move.dst_sr.name
    out["destination"] = dest
    if move.vdi is not None:
        out["vdi"] = {"uuid": move.vdi.uuid, "name": move.vdi.name}
    if move.parent:
        out["parent"] = move.parent
    if op.children:
        out["children"] = op.children
    if isinstance(op.estimate_seconds, int):
        out["estimate_seconds"] = op.estimate_seconds
    _runbook_fields(op, out)
    return out


def _runbook_fields(op: Operation, out: dict[str, Any]) -> None:
    """The uuids and addresses `migready runbook` writes a move's `xe` commands with (the
    names above are for people; xe wants uuids): destination host and SR, the SR each disk
    of a storage move ends on, each VIF's network across pools, the pool masters' addresses
    (remote-master=), and the plan's compress setting. Not in an audit: it has no runbook."""
    move = op.move
    subject = move.vm or move.host
    if subject is None or move.audit:
        return
    world = subject.world
    address = master_address(world, move.src_pool)
    if address:
        out["source"]["master_address"] = address
    dest = out["destination"]
    if move.dst_host is not None:
        dest["host_uuid"] = move.dst_host.uuid
    if move.dst_sr is not None:
        dest["sr_uuid"] = move.dst_sr.uuid
    if move.compress is not None:  # the plan's choice (LIVE-004), for vm-migrate compress=
        out["compress"] = move.compress
    if move.kind != "storage" or move.vm is None:
        return
    cross = move.dst_pool != move.src_pool
    if cross and (address := master_address(world, move.dst_pool)):
        dest["master_address"] = address
    if move.migration_network is not None:
        dest["migration_network"] = _uuid_name(move.migration_network)
    out["disks"] = _disk_map(op)
    if cross:
        out["vifs"] = _vif_moves(op)


def _disk_map(op: Operation) -> list[dict[str, Any]]:
    """Every disk of a storage move with the SR it ends on: the one it moves to, or its own.
    The xe CLI sends a disk left out of `vdi:` to an SR of its choosing
    (cli_operations.ml vm_migrate, preferred_sr), so a disk that stays must be named too;
    an SR the check could not establish is null, for the runbook to refuse."""
    moves = op.facts.values.get("disk_moves") if op.facts is not None else None
    out = []
    for dm in moves if isinstance(moves, list) else []:
        sr = dm.values["dst_sr"] if dm.values["moves"] else dm.values["src_sr"]
        out.append({"vdi": _uuid_name(dm.values["vdi"]), "moves": dm.values["moves"],
                    "sr": _uuid_name(sr) if isinstance(sr, Obj) else None})
    return out


def _uuid_name(obj: Obj) -> dict[str, str]:
    return {"uuid": obj.uuid, "name": obj.name}


def master_address(world: World, pool: int) -> str | None:
    """The address of a pool's master (host.address), where xe and collect connect."""
    from checker.facts import Missing

    try:
        master = world.value(world.pool(pool), "master")
    except Missing:
        return None
    return str(master.record.get("address") or "") or None


def _vif_moves(op: Operation) -> list[dict[str, Any]]:
    """Each VIF a cross-pool move must map (vif:<VIF uuid>=<network uuid>), with the network
    the check mapped it to (SXM-005's vif_map): the VM's own VIFs, in the order of its
    `VIFs`, then each snapshot's VIF whose MAC is none of the VM's, which XAPI cannot infer
    (xapi_vm_migrate.ml infer_vif_map). A VIF the check left unmapped is listed without a
    network, for the runbook to refuse."""
    vm = op.move.vm
    entries = op.facts.values.get("network_map") if op.facts is not None and vm else None
    if vm is None or not isinstance(entries, list):
        return []
    own = [e.values for e in entries if e.values.get("snapshot") is None]
    by_network: dict[Obj, Obj | None] = {}
    for e in entries:
        by_network.setdefault(e.values["network"], e.values.get("dst_network"))
    inv = vm.inv
    vifs = [(ref, inv.get("VIF", ref)) for ref in vm.record.get("VIFs") or []]
    vifs = [(ref, rec) for ref, rec in vifs if rec is not None]
    macs = {rec.get("MAC") for _, rec in vifs}
    out = []
    for (_, rec), entry in zip(vifs, own, strict=False):
        out.append(_vif_entry(rec, entry.get("dst_network")))
    for _, snap in inv.get_many("VM", vm.record.get("snapshots") or []):
        for ref in snap.get("VIFs") or []:
            rec = inv.get("VIF", ref)
            if rec is None or rec.get("MAC") in macs:
                continue
            net = _vif_network(vm, rec)
            out.append(_vif_entry(rec, by_network.get(net) if net is not None else None, snapshot=True))
    return out


def _vif_network(vm: Obj, vif: dict[str, Any]) -> Obj | None:
    """The network Obj of a VIF record of `vm`'s pool."""
    ref = vif.get("network")
    return vm.world.obj(vm.pool, "network", ref) if ref and vm.inv.get("network", ref) else None


def _vif_entry(vif: dict[str, Any], network: Obj | None, *, snapshot: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"vif": vif.get("uuid"), "device": vif.get("device"),
                             "network": _uuid_name(network) if network is not None else None}
    if snapshot:
        entry["snapshot"] = True
    return entry


def build_results(ev: Evaluation, *, inputs: dict[str, Any], fail_on: str = "blocker",
                  waivers: list[dict[str, Any]] | None = None,
                  consume: bool = False) -> dict[str, Any]:
    """The results document (contracts.md). In the audit, a VM's live moves are one
    operation with a verdict per destination, and passes are grouped per (rule, VM) with
    `targets` (or `all_targets`); failures and unknowns per (rule, VM, subject, reason),
    also with the destinations they hold for (evaluate.Runner.sweep).

    `consume` empties the evaluation's findings as they become JSON, so that a large
    audit does not hold both at once (the caller must not use `ev`'s findings after)."""
    names = [inv.name for inv in ev.world.inventories]
    verdicts: dict[str, str] = {}
    hosts: dict[str, dict[str, str]] = {}
    for op in ev.operations:
        if op.destinations is not None:  # audit sweep: a verdict per destination host
            hosts[op.move.id] = {h: operation_verdict(p, fail_on) for h, p in op.destinations.items()}
            verdicts[op.move.id] = overall_verdict(list(hosts[op.move.id].values()))
        else:
            verdicts[op.move.id] = operation_verdict(op.findings, fail_on)
    # A host evacuation is blocked when any of its VM moves is.
    for op in ev.operations:
        if op.children:
            verdicts[op.move.id] = overall_verdict([verdicts[op.move.id],
                                                    *(verdicts[c] for c in op.children)])
    operations = []
    for op in ev.operations:
        entry = _operation_json(op, verdicts[op.move.id], names)
        if op.move.id in hosts:
            entry["destination"] = {"pool": names[op.move.dst_pool], "hosts": hosts[op.move.id]}
        operations.append(entry)
    # The audit renders messages for what is wrong; a pass shows its rule's title.
    audit = ev.plan.audit
    subjects: dict[Any, dict[str, Any]] = {}
    evidence: dict[int, Any] = {}
    findings = []
    for op in ev.operations:
        sweep = list(op.destinations) if op.destinations is not None else None
        findings += [finding_json(f, render=not audit or f.status not in SHOWN_BY_TITLE,
                                  subjects=subjects, evidence=evidence, sweep=sweep)
                     for f in op.findings]
        if consume:  # each finding is now JSON: let the object go (an audit has 100,000s)
            op.findings, op.destinations = [], None
    groups = ev.groups
    if consume:
        ev.groups = []
    for group in _drain(groups) if consume else groups:
        findings.append(finding_json(group, render=group.status == "fail", subjects=subjects,
                                     evidence=evidence, sweep=hosts.get(group.operation)))
    top_ops = [o for o in operations if "parent" not in o]
    summary = summarize(top_ops, findings)
    return {
        "format": FORMAT,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": {"name": "migready", "version": __version__},
        "inputs": inputs,
        "mode": "audit" if ev.plan.audit else "plan",
        "assumptions": [
            "Waves run in ascending order; the moves of one wave run at the same time.",
            "Host memory and SR space a move uses stay used for every later move of the plan; "
            "memory freed by VMs leaving a host is credited only when the host is evacuated.",
            "Evacuation plans as XAPI's host.evacuate does: the targets are the pool's other "
            "enabled hosts of the same or a newer version (live or not); each VM must be able to "
            "run on every target; the VMs are placed biggest first, each on the target with the "
            "most free memory.",
            *_evacuation_order(ev),
            *ev.plan.warnings,
        ] if not ev.plan.audit else [
            "Readiness audit: every move is judged on its own, as if it were the only one.",
        ],
        "verdict": overall_verdict([o["verdict"] for o in top_ops]),
        "summary": summary,
        "operations": operations,
        "findings": findings,
        "waivers": waivers or [],
        "capacity": [] if ev.plan.audit else capacity(ev),
        "rules": [{"id": r.id, "severity": r.severity, "kinds": sorted(r.kinds), "title": r.title,
                   "description": r.description, "remediation": r.remediation,
                   "seed": r.seed_section, "seed_text": (r.seed or {}).get("text"),
                   "reference": r.reference or None, "basis": r.basis.as_json()}
                  for r in ev.rules.rules],
    }


def summarize(top_ops: list[dict[str, Any]], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The results' `summary`: verdicts of the top-level operations, findings by status and
    by rule (a grouped finding counts once)."""
    by_status = Counter(f["status"] for f in findings)
    by_rule: dict[str, Counter[str]] = defaultdict(Counter)
    for f in findings:
        by_rule[f["rule"]][f["status"]] += 1
    return {
        "operations": len(top_ops),
        "by_verdict": dict(Counter(o["verdict"] for o in top_ops)),
        "blocked": sum(o["verdict"] == "blocked" for o in top_ops),
        "by_status": dict(by_status),
        "by_rule": {rule: dict(c) for rule, c in sorted(by_rule.items())},
    }


def _evacuation_order(ev: Evaluation) -> list[str]:
    """The order of a plan's host evacuations (a rolling upgrade's steps, master first), with
    what each step carries over from the ones before it."""
    steps = [op.move for op in ev.operations if op.move.kind == "evacuate" and op.move.host is not None
             and op.move.parent is None]
    if not steps:
        return []
    order = ", ".join(f"{m.host.name} (wave {m.wave})" for m in steps if m.host is not None)
    return [f"Host evacuations in this order: {order}. Each step sees the memory that earlier "
            "steps moved onto the other hosts; a host whose step is over (upgraded or serviced) "
            "takes VMs again in later steps, and is never a target of its own step."]


def _drain(items: list[Any]) -> Iterator[Any]:
    """Items in order, each removed from the list as it is handed out."""
    items.reverse()
    while items:
        yield items.pop()


def capacity(ev: Evaluation) -> list[dict[str, Any]]:
    """Host memory and SR space on every destination, before and after the plan.

    After = free now − what the plan puts there (VM footprints; the disks' virtual size),
    without crediting what leaves: the same conservative reading as the rules.
    """
    memory: dict[Obj, int] = defaultdict(int)
    space: dict[Obj, int] = defaultdict(int)
    for op in ev.operations:
        move = op.move
        if move.vm is None:
            continue
        if move.dst_host is not None and move.kind != "vdi" and not move.unplaced \
                and move.vm.record.get("power_state") != "Halted":
            memory[move.dst_host] += _fact(ev, move.vm, "memory_footprint") or 0
        for dm in _disk_moves_of(op):
            space[dm["dst_sr"]] += _fact(ev, dm["vdi"], "virtual_size") or 0
    names = [inv.name for inv in ev.world.inventories]
    rows = []
    for obj, used, kind, free_fact, total in (
        *((h, m, "host_memory", "free_memory", "memory_total") for h, m in memory.items()),
        *((sr, u, "sr_space", "free", None) for sr, u in space.items()),
    ):
        free = _fact(ev, obj, free_fact)
        size = _fact(ev, obj, total) if total else _sr_size(obj)
        rows.append({"kind": kind, "pool": names[obj.pool], "name": obj.name, "uuid": obj.uuid,
                     "total": size, "free_before": free, "planned": used,
                     "free_after": None if free is None else free - used})
    return sorted(rows, key=lambda r: (r["kind"], r["pool"], r["name"]))


def _fact(ev: Evaluation, obj: Obj, name: str) -> Any:
    from checker.facts import Missing

    try:
        return ev.world.value(obj, name)
    except Missing:
        return None


def _sr_size(sr: Obj) -> int | None:
    value = sr.record.get("physical_size")
    return int(value) if str(value).isdigit() else None


def _disk_moves_of(op: Operation) -> list[dict[str, Any]]:
    moves = op.facts.values.get("disk_moves") if op.facts is not None else None
    if not isinstance(moves, list):
        return []
    return [dm.values for dm in moves if dm.values.get("moves") and dm.values.get("dst_sr")]
