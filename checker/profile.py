"""Policy profiles: which rules block. `documented` (the default) keeps every rule's own
severity, the XenServer documentation's requirements included; `xapi` makes every
documentation-basis blocker a warning, for operators who want only what XAPI itself will
refuse; a profile file overrides severities per rule and disables rules, on top of either.

A profile is recorded in the results' inputs (name, file and sha256, every change), so a
report never hides that a rule was softened or switched off.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from checker import yamlschema
from checker.errors import InputError
from checker.policy import RuleSet

BUILTIN = ("documented", "xapi")


def apply_profile(rules: RuleSet, profile: str | Path | None) -> tuple[RuleSet, dict[str, Any]]:
    """The rules under `profile` (a built-in name or a profile file) and what it changed,
    for the results' inputs. Raise InputError, located, for a bad profile file."""
    name = str(profile or "documented")
    if name in BUILTIN:
        spec: dict[str, Any] = {"profile": name, "extends": name}
        record: dict[str, Any] = {"name": name}
    else:
        spec, record = _load(Path(name), rules)
    severity: dict[str, str] = {}
    if spec.get("extends", "documented") == "xapi":
        severity = {r.id: "warning" for r in rules.rules
                    if r.severity == "blocker" and not r.basis.errors}
    severity.update(spec.get("severity") or {})
    disabled = set(spec.get("disable") or [])
    own = {r.id: r.severity for r in rules.rules}
    changed = {rid: {"from": own[rid], "to": sev} for rid, sev in sorted(severity.items())
               if rid in own and own[rid] != sev}
    out = [dataclasses.replace(r, severity=severity.get(r.id, r.severity))
           for r in rules.rules if r.id not in disabled]
    record.update({"extends": spec.get("extends", "documented"), "severity": changed,
                   "disabled": sorted(disabled)})
    return RuleSet(out, rules.sha256), record


def _load(path: Path, rules: RuleSet) -> tuple[dict[str, Any], dict[str, Any]]:
    """The profile file, checked against its schema; beyond it, that every rule it names is
    loaded (the schema knows the form of a rule id, not which rules there are)."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the profile: {exc.strerror or exc}") from None
    checked = yamlschema.load(path, "profile", content=content)
    known = {r.id for r in rules.rules}
    for key in ("severity", "disable"):
        if not checked.usable((key,)):
            continue
        for i, rule_id in enumerate(checked.data.get(key) or []):
            if rule_id not in known:
                checked.error((key, rule_id) if key == "severity" else (key, i),
                              f"no rule {rule_id} (see `migready rules list`)")
    checked.raise_problems(InputError, "profile")
    return checked.data, {"name": checked.data["profile"], "file": path.name,
                          "sha256": hashlib.sha256(content).hexdigest()}
