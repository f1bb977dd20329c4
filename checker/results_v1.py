"""Reading `migready.results/1`: a scheduled job's last results, or a baseline kept for
`diff` and `report --since`, stay readable after an upgrade to results/2.

/1 listed an audit's failure or unknown once per destination host, its message naming
the host. Upgrading joins the findings of one (rule, operation, subject) whose messages
differ only by that name into one finding with the destinations it holds for, as
results/2 writes it (checker/results.py `finding_json`).
"""

from __future__ import annotations

import json
from typing import Any

from checker.evaluate import stand_in
from checker.results import FORMAT, name_targets, natural_order, split_evidence, summarize


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """A validated /1 results document as /2 (a /2 document is returned as it is)."""
    if doc.get("format") != "migready.results/1":
        return doc
    sweeps = {o["id"]: list(o["destination"]["hosts"]) for o in doc["operations"]
              if isinstance((o.get("destination") or {}).get("hosts"), dict)}
    findings: list[Any] = []
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for f in doc["findings"]:
        targets = f.get("targets") or []
        if f["operation"] not in sweeps or len(targets) != 1 or f.get("all_targets") \
                or f["status"] in {"pass", "not_applicable"}:
            findings.append(f)
            continue
        name = targets[0]
        texts = {"en": f["message"], **(f.get("messages") or {})}
        neutral = {lang: stand_in(text, name) for lang, text in texts.items()}
        command = f.get("command") and stand_in(f["command"], name)
        key = (f["rule"], f["status"], f["operation"], json.dumps(f["subject"], sort_keys=True),
               tuple(sorted(neutral.items())), command, json.dumps(f.get("waiver"), sort_keys=True))
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"finding": f, "messages": neutral, "command": command,
                                   "evidence": {}}
            findings.append(group)
        group["evidence"][name] = f.get("evidence") or {}
    out = [_joined(item, sweeps[item["finding"]["operation"]]) if "finding" in item else item
           for item in findings]
    top_ops = [o for o in doc["operations"] if "parent" not in o]
    return {**doc, "format": FORMAT, "findings": out, "summary": {
        **doc.get("summary", {}), **summarize(top_ops, out)}}


def _joined(group: dict[str, Any], sweep: list[str]) -> dict[str, Any]:
    """One /2 finding for the /1 findings of a group."""
    first = group["finding"]
    targets = sorted(group["evidence"], key=natural_order)
    everywhere = len(targets) == len(sweep) > 1
    if len(targets) == 1:
        return first
    messages = {lang: name_targets(text, targets, len(sweep), everywhere, lang)
                for lang, text in group["messages"].items()}
    out = {**first, "message": messages.pop("en"), "messages": messages}
    out.pop("targets", None)
    if everywhere:
        out["all_targets"] = True
    else:
        out["targets"] = targets
    out["evidence"], by_target = split_evidence({t: group["evidence"][t] for t in targets})
    if by_target:
        out["evidence_by_target"] = by_target
    if group["command"]:
        out["command"] = name_targets(group["command"], targets, len(targets), False, "en")
    return out
