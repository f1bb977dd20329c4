"""Compare two results documents: what broke, what was fixed, what changed status.

Findings are matched by what they are about (rule, kind of move, VM or host, destination,
subject), not by operation id, which changes when a plan is edited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.results import is_advice, validate_results
from checker.results_v1 import upgrade

PROBLEMS = {"fail", "unknown"}


def load_results(path: str | Path) -> dict[str, Any]:
    """A results file, checked, as results/2 (a /1 file is upgraded: checker/results_v1.py)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: not a results file: JSON nested too deeply") from None
    validate_results(doc, str(path))
    return upgrade(doc)


#: The findings a diff compares destination by destination: problems, and what waived them.
TRACKED = {"fail", "unknown", "waived"}

#: (rule, kind, VM or host, destination pool, destination SR, subject): a finding's
#: identity but for the destination host.
_Base = tuple[Any, ...]
#: Base -> destination host (None outside an audit sweep) -> finding.
_Index = dict[_Base, dict[str | None, dict[str, Any]]]


def _problem(f: dict[str, Any]) -> bool:
    """A failure or an unknown; advice (an info rule's fail) is not a failure."""
    return f["status"] in PROBLEMS and not is_advice(f)


def _index(results: dict[str, Any], wanted: set[_Base] | None = None) -> _Index:
    """Findings by identity, then by destination host: the problems and waived findings,
    and with `wanted`, every finding of those identities (the passes a problem became or
    came from). An audit's 100,000s of grouped passes are not expanded host by host."""
    ops = {o["id"]: o for o in results["operations"]}
    out: _Index = {}
    for f in results["findings"]:
        tracked = f["status"] in TRACKED and not is_advice(f)
        if not tracked and not wanted:
            continue
        op = ops.get(f["operation"], {})
        who = (op.get("vm") or op.get("host") or {}).get("uuid") or (op.get("vm") or {}).get("name")
        dest = op.get("destination") or {}
        subject = f.get("subject") or {}
        base = (f["rule"], op.get("kind"), who, dest.get("pool"), dest.get("sr"),
                subject.get("uuid") or subject.get("name"))
        if not tracked and base not in wanted:  # type: ignore[operator]
            continue
        targets = list(dest["hosts"]) if f.get("all_targets") and "hosts" in dest else \
            f.get("targets") or [dest.get("host")]
        slot = out.setdefault(base, {})
        for target in targets:
            slot[target] = f
    return out


def _destinations(targets: list[Any], everywhere: bool) -> str:
    """A group's destinations in short: "*" for every host of its sweep, else the names."""
    return "*" if everywhere else ", ".join(str(t) for t in targets if t is not None)


def _describe(base: _Base, f: dict[str, Any], targets: list[Any], everywhere: bool = False,
              ) -> dict[str, Any]:
    return {"rule": f["rule"], "severity": f["severity"], "status": f["status"], "kind": base[1],
            "subject": (f.get("subject") or {}).get("name"),
            "destination": _destinations(targets, everywhere) or base[4],
            "destinations": [t for t in targets if t is not None],
            "message": f.get("message", ""),
            "messages": {"en": f.get("message", ""), **(f.get("messages") or {})}}


def _pools(results: dict[str, Any]) -> list[str]:
    """The pools a run checked, by uuid (a pool keeps it when renamed), else by name."""
    return sorted(str(i.get("uuid") or i.get("pool")) for i in results["inputs"]["inventories"])


def _plan(results: dict[str, Any]) -> str | None:
    return (results["inputs"].get("plan") or {}).get("plan")


def check_comparable(old: dict[str, Any], new: dict[str, Any], old_name: str, new_name: str) -> None:
    """Refuse to compare runs of different pools or plans: every finding of one would read
    as resolved and every finding of the other as new, which says nothing."""
    if _pools(old) != _pools(new):
        raise InputError(f"{old_name}, {new_name}: results of different pools "
                         f"({', '.join(_pools(old))} / {', '.join(_pools(new))}); "
                         "--force compares them anyway")
    if _plan(old) != _plan(new):
        raise InputError(f"{old_name}, {new_name}: results of different plans "
                         f"({_plan(old) or 'audit'} / {_plan(new) or 'audit'}); "
                         "--force compares them anyway")


def diff_results(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed, group by group: a (rule, move, subject) that fails on some
    destinations is one entry, and destinations joining or leaving it are reported as
    such (`group_changes`), not as one new failure per host."""
    checked_now = {r["id"] for r in new.get("rules", [])}
    problems_old, problems_new = _index(old), _index(new)
    wanted = set(problems_old) | set(problems_new)
    index_old, index_new = _index(old, wanted), _index(new, wanted)
    sweeps = {**_sweeps(old), **_sweeps(new)}
    new_failures, resolved, persisting, group_changes, changes = [], [], [], [], []
    for base in [*index_new, *(b for b in index_old if b not in index_new)]:
        before, after = index_old.get(base, {}), index_new.get(base, {})
        was = [t for t, f in before.items() if _problem(f)]
        now = [t for t, f in after.items() if _problem(f)]
        hosts = sweeps.get(base[1:3])

        def entry(f: dict[str, Any], targets: list[Any], base: _Base = base,
                  hosts: set[str] | None = hosts) -> dict[str, Any]:
            everywhere = bool(hosts) and set(targets) == hosts and (
                len(targets) > 1 or bool(f.get("all_targets")))
            return _describe(base, f, targets, everywhere)

        if now and not was:
            new_failures.append(entry(after[now[0]], now))
        elif was and not now and (base[0] in checked_now or not checked_now):
            resolved.append(entry(before[was[0]], was))  # not if no longer checked: rules_removed
        elif was and now:
            persisting.append(entry(after[now[0]], now))
            added, removed = [t for t in now if t not in was], [t for t in was if t not in now]
            if added or removed:
                group_changes.append({**entry(after[now[0]], now), "destinations_added": added,
                                      "destinations_removed": removed})
        moved: dict[tuple[str, str], list[Any]] = {}
        for target in [*after, *(t for t in before if t not in after)]:
            b, a = before.get(target), after.get(target)
            if b is not None and a is not None and b["status"] != a["status"]:
                moved.setdefault((b["status"], a["status"]), []).append(target)
        for (was_status, now_status), targets in moved.items():
            f = after[targets[0]]
            changes.append({**entry(f, targets), "from": was_status, "to": now_status})
    waivers_old = {(w["rule"], w["ticket"]): w["state"] for w in old.get("waivers", [])}
    waivers_new = {(w["rule"], w["ticket"]): w["state"] for w in new.get("waivers", [])}
    rules_old = {r["id"] for r in old.get("rules", [])}
    rules_new = {r["id"] for r in new.get("rules", [])}
    return {
        "old": {"generated_at": old.get("generated_at"), "verdict": old.get("verdict")},
        "new": {"generated_at": new.get("generated_at"), "verdict": new.get("verdict")},
        "verdict_changed": old.get("verdict") != new.get("verdict"),
        "failures_changed": _failures(problems_old) != _failures(problems_new),
        "new_failures": new_failures,
        "resolved": resolved,
        "persisting": persisting,
        "group_changes": group_changes,
        "status_changes": changes,
        "waivers_added": sorted(f"{r} ({t})" for r, t in set(waivers_new) - set(waivers_old)),
        "waivers_expired": sorted(f"{r} ({t})" for (r, t), s in waivers_new.items()
                                  if s == "expired" and waivers_old.get((r, t)) != "expired"),
        "rules_added": sorted(rules_new - rules_old),
        "rules_removed": sorted(rules_old - rules_new),
    }


def has_new_failures(d: dict[str, Any]) -> bool:
    """New failures, or destinations a failure now holds for that it did not: `diff`'s
    exit status 1."""
    return bool(d["new_failures"]) or any(c["destinations_added"] for c in d.get("group_changes", []))


def _sweeps(results: dict[str, Any]) -> dict[tuple[Any, ...], set[str]]:
    """(rule-less) audit sweep identity (None, kind, VM) -> its destination hosts."""
    out = {}
    for o in results["operations"]:
        hosts = (o.get("destination") or {}).get("hosts")
        if hosts:
            who = (o.get("vm") or {}).get("uuid") or (o.get("vm") or {}).get("name")
            out[(o["kind"], who)] = set(hosts)
    return out


def failure_set(results: dict[str, Any]) -> set[tuple[Any, ...]]:
    """The unwaived failures and unknowns: what `only_on_change` compares."""
    return _failures(_index(results))


def _failures(index: _Index) -> set[tuple[Any, ...]]:
    return {(base, target) for base, slot in index.items() for target, f in slot.items()
            if _problem(f)}


def format_diff_text(d: dict[str, Any]) -> str:
    lines = [f"verdict: {d['old']['verdict']} -> {d['new']['verdict']}"
             f" ({d['old']['generated_at']} -> {d['new']['generated_at']})"]
    for title, key in (("new failures", "new_failures"), ("resolved", "resolved"),
                       ("persisting", "persisting")):
        lines.append(f"{title}: {len(d[key])}")
        lines += [f"  {f['rule']} [{f['severity']}] {f['status']} {f['kind']} {f['subject']}"
                  f" -> {f['destination']}: {f['message']}" for f in d[key] if key != "persisting"]
    groups = d.get("group_changes", [])
    if groups:
        lines.append(f"destinations changed: {len(groups)}")
        lines += [f"  {g['rule']} {g['kind']} {g['subject']}:"
                  + (f" now also {', '.join(map(str, g['destinations_added']))}"
                     if g["destinations_added"] else "")
                  + (";" if g["destinations_added"] and g["destinations_removed"] else "")
                  + (f" no longer {', '.join(map(str, g['destinations_removed']))}"
                     if g["destinations_removed"] else "") for g in groups]
    changed = [c for c in d["status_changes"] if not ({c["from"], c["to"]} <= PROBLEMS)]
    if changed:
        lines.append(f"status changes: {len(changed)}")
        lines += [f"  {c['rule']} {c['subject']} -> {c['destination']}: {c['from']} -> {c['to']}"
                  for c in changed]
    for title, key in (("waivers added", "waivers_added"), ("waivers expired", "waivers_expired"),
                       ("rules added", "rules_added"), ("rules removed", "rules_removed")):
        if d[key]:
            lines.append(f"{title}: {', '.join(d[key])}")
    return "\n".join(lines) + "\n"
