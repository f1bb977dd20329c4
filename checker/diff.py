"""Compare two results documents: what broke, what was fixed, what changed status.

Findings are matched by what they are about (rule, kind of move, VM or host, destination,
subject), not by operation id, which changes when a plan is edited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checker.errors import InputError

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
    if not isinstance(doc, dict) or doc.get("format") != "migready.results/1":
        raise InputError(f"{path}: not a migready results file (format migready.results/1)")
    return doc


def _keys(results: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    ops = {o["id"]: o for o in results["operations"]}
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for f in results["findings"]:
        op = ops.get(f["operation"], {})
        who = (op.get("vm") or op.get("host") or {}).get("uuid") or (op.get("vm") or {}).get("name")
        dest = op.get("destination") or {}
        subject = f.get("subject") or {}
        if f.get("all_targets") and "hosts" in dest:
            targets = tuple(dest["hosts"])  # one finding for every destination of the sweep
        else:
            targets = tuple(f.get("targets") or [dest.get("host")])
        for target in targets:
            key = (f["rule"], op.get("kind"), who, dest.get("pool"), target, dest.get("sr"),
                   subject.get("uuid") or subject.get("name"))
            out[key] = f
    return out


def _describe(key: tuple[Any, ...], f: dict[str, Any]) -> dict[str, Any]:
    return {"rule": f["rule"], "severity": f["severity"], "status": f["status"], "kind": key[1],
            "subject": (f.get("subject") or {}).get("name"), "destination": key[4] or key[5],
            "message": f.get("message", ""),
            "messages": {"en": f.get("message", ""), **(f.get("messages") or {})}}


def diff_results(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    a, b = _keys(old), _keys(new)
    new_failures, resolved, persisting, changes = [], [], [], []
    for key, f in b.items():
        before = a.get(key)
        if f["status"] in PROBLEMS:
            if before is None or before["status"] not in PROBLEMS:
                new_failures.append(_describe(key, f))
            else:
                persisting.append(_describe(key, f))
        if before is not None and before["status"] != f["status"]:
            changes.append({**_describe(key, f), "from": before["status"], "to": f["status"]})
    checked_now = {r["id"] for r in new.get("rules", [])}
    for key, f in a.items():
        if f["rule"] not in checked_now and checked_now:
            continue  # not resolved: no longer checked (see rules_removed)
        if f["status"] in PROBLEMS and (key not in b or b[key]["status"] not in PROBLEMS):
            resolved.append(_describe(key, f))
    waivers_old = {(w["rule"], w["ticket"]): w["state"] for w in old.get("waivers", [])}
    waivers_new = {(w["rule"], w["ticket"]): w["state"] for w in new.get("waivers", [])}
    rules_old = {r["id"] for r in old.get("rules", [])}
    rules_new = {r["id"] for r in new.get("rules", [])}
    return {
        "old": {"generated_at": old.get("generated_at"), "verdict": old.get("verdict")},
        "new": {"generated_at": new.get("generated_at"), "verdict": new.get("verdict")},
        "verdict_changed": old.get("verdict") != new.get("verdict"),
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
    return {k for k, f in _keys(results).items() if f["status"] in PROBLEMS}


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
