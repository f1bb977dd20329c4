"""Compare two results documents: what broke, what was fixed, what changed status.

Findings are matched by what they are about (rule, kind of move, VM or host, destination,
subject), not by operation id, which changes when a plan is edited.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.results import is_advice, validate_results

PROBLEMS = {"fail", "unknown"}


def load_results(path: str | Path) -> dict[str, Any]:
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
    return doc


#: The destination of an audit finding marked `all_targets`: every host of its sweep.
EVERY = "*"

#: (rule, kind, VM or host, destination pool, destination SR, subject): a finding's
#: identity but for the destination host.
_Base = tuple[Any, ...]


def _problem(f: dict[str, Any]) -> bool:
    """A failure or an unknown; advice (an info rule's fail) is not a failure."""
    return f["status"] in PROBLEMS and not is_advice(f)


def _index(results: dict[str, Any]) -> dict[_Base, dict[str, dict[str, Any]]]:
    """Findings by identity, then by destination host. An audit finding for every
    destination stays one entry (EVERY): expanding the 5,000-VM audit's grouped passes
    host by host would take millions of entries."""
    ops = {o["id"]: o for o in results["operations"]}
    out: dict[_Base, dict[str, dict[str, Any]]] = {}
    for f in results["findings"]:
        op = ops.get(f["operation"], {})
        who = (op.get("vm") or op.get("host") or {}).get("uuid") or (op.get("vm") or {}).get("name")
        dest = op.get("destination") or {}
        subject = f.get("subject") or {}
        base = (f["rule"], op.get("kind"), who, dest.get("pool"), dest.get("sr"),
                subject.get("uuid") or subject.get("name"))
        targets = [EVERY] if f.get("all_targets") and "hosts" in dest else \
            f.get("targets") or [dest.get("host")]
        slot = out.setdefault(base, {})
        for target in targets:
            slot[target] = f
    return out


def _pairs(old: dict[_Base, dict[str, dict[str, Any]]], new: dict[_Base, dict[str, dict[str, Any]]],
           ) -> Iterator[tuple[tuple[Any, ...], dict[str, Any] | None, dict[str, Any] | None]]:
    """(key, old finding, new finding) for each destination either side names, in the new
    results' order; a side's finding for every destination stands for the ones it does not
    name."""
    for base in [*new, *(b for b in old if b not in new)]:
        before, after = old.get(base, {}), new.get(base, {})
        for target in [*after, *(t for t in before if t not in after)]:
            key = (*base[:4], target, *base[4:])
            yield (key, before.get(target) or before.get(EVERY),
                   after.get(target) or after.get(EVERY))


def _describe(key: tuple[Any, ...], f: dict[str, Any]) -> dict[str, Any]:
    return {"rule": f["rule"], "severity": f["severity"], "status": f["status"], "kind": key[1],
            "subject": (f.get("subject") or {}).get("name"), "destination": key[4] or key[5],
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
    new_failures, resolved, persisting, changes = [], [], [], []
    checked_now = {r["id"] for r in new.get("rules", [])}
    index_old, index_new = _index(old), _index(new)
    for key, before, after in _pairs(index_old, index_new):
        if after is not None and _problem(after):
            (persisting if before is not None and _problem(before) else new_failures).append(
                _describe(key, after))
        if before is not None and after is not None and before["status"] != after["status"]:
            changes.append({**_describe(key, after), "from": before["status"], "to": after["status"]})
        if before is not None and _problem(before) and (after is None or not _problem(after)) \
                and (before["rule"] in checked_now or not checked_now):
            resolved.append(_describe(key, before))  # not if no longer checked: rules_removed
    waivers_old = {(w["rule"], w["ticket"]): w["state"] for w in old.get("waivers", [])}
    waivers_new = {(w["rule"], w["ticket"]): w["state"] for w in new.get("waivers", [])}
    rules_old = {r["id"] for r in old.get("rules", [])}
    rules_new = {r["id"] for r in new.get("rules", [])}
    return {
        "old": {"generated_at": old.get("generated_at"), "verdict": old.get("verdict")},
        "new": {"generated_at": new.get("generated_at"), "verdict": new.get("verdict")},
        "verdict_changed": old.get("verdict") != new.get("verdict"),
        "failures_changed": _failures(index_old) != _failures(index_new),
        "new_failures": new_failures,
        "resolved": resolved,
        "persisting": persisting,
        "status_changes": changes,
        "waivers_added": sorted(f"{r} ({t})" for r, t in set(waivers_new) - set(waivers_old)),
        "waivers_expired": sorted(f"{r} ({t})" for (r, t), s in waivers_new.items()
                                  if s == "expired" and waivers_old.get((r, t)) != "expired"),
        "rules_added": sorted(rules_new - rules_old),
        "rules_removed": sorted(rules_old - rules_new),
    }


def failure_set(results: dict[str, Any]) -> set[tuple[Any, ...]]:
    """The unwaived failures and unknowns: what `only_on_change` compares."""
    return _failures(_index(results))


def _failures(index: dict[_Base, dict[str, dict[str, Any]]]) -> set[tuple[Any, ...]]:
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
