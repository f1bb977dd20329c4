"""Rule fixtures: `migready policy test DIR`, the way the built-in rules are tested.

A fixture is a folder named after the rule id holding:
  fixture.yaml   inventories: [paths, relative to the folder]
                 patches:     [{pool, class, name, set: {field or map.key: value}, delete: [field],
                                append: {list field: value or [values]}}]
                              a patch may instead add a record the base pools lack (a hotfix, a
                              vGPU…): {pool, class, add: {ref: "OpaqueRef:…", field: value…}};
                              link it from existing records with `append` (or `set`) by that ref
                 expect:      [{subject: NAME, status: pass|fail|unknown|not_applicable, operation?}]
  plan.yaml      the plan (absent: the readiness audit)
The rule's findings must equal `expect`: a missing or an unexpected finding fails.
`not_applicable` findings are compared only when `expect` lists some.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evaluate import evaluate
from checker.facts import World
from checker.inventory import Inventory
from checker.plan import audit_plan, load_plan
from checker.policy import RuleSet
from checker.yamlsrc import YamlError
from checker.yamlsrc import load as load_yaml

FIXTURE_KEYS = {"rule", "description", "inventories", "patches", "expect"}


@dataclass
class FixtureResult:
    rule: str
    folder: Path
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    unexpected: list[tuple[str, str, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.error)


def fixture_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/fixture.yaml"))


def load_inventories(folder: Path, spec: dict[str, Any]) -> list[Inventory]:
    """The fixture's inventories with its patches applied (copies; files are not touched)."""
    invs = []
    for rel in spec.get("inventories") or []:
        inv = Inventory.load(folder / rel)
        invs.append(Inventory(copy.deepcopy(inv.doc), inv.origin))
    for i, patch in enumerate(spec.get("patches") or []):
        _apply(invs, patch, f"{folder / 'fixture.yaml'}: patches[{i}]")
    return [Inventory(inv.doc, inv.origin) for inv in invs]


def _apply(invs: list[Inventory], patch: dict[str, Any], where: str) -> None:
    pool = patch.get("pool")
    targets = [inv for inv in invs if pool in {None, inv.name}]
    if not targets:
        raise InputError(f"{where}: no inventory is the pool {pool!r}")
    cls, name = patch.get("class"), patch.get("name")
    if "add" in patch:
        _add_record(targets, cls, patch["add"], where)
        return
    matched = [rec for inv in targets for rec in inv.objects.get(cls, {}).values()
               if name in {rec.get("name_label"), rec.get("uuid"), "*"}]
    if not matched:
        raise InputError(f"{where}: no {cls} named {name!r}")
    for rec in matched:
        for dotted, value in (patch.get("set") or {}).items():
            head, _, key = dotted.partition(".")
            if key:
                rec.setdefault(head, {})[key] = value
            else:
                rec[head] = value
        for dotted in patch.get("delete") or []:
            head, _, key = dotted.partition(".")
            (rec.get(head, {}) if key else rec).pop(key or head, None)
        for head, values in (patch.get("append") or {}).items():
            rec.setdefault(head, []).extend(values if isinstance(values, list) else [values])


def _add_record(targets: list[Inventory], cls: Any, spec: Any, where: str) -> None:
    """A new record of `cls` in the patch's pool, under the ref `spec["ref"]`."""
    if len(targets) != 1:
        raise InputError(f"{where}: `add` needs the pool it adds to")
    ref = spec.get("ref") if isinstance(spec, dict) else None
    if not isinstance(cls, str) or not isinstance(ref, str) or not ref.startswith("OpaqueRef:"):
        raise InputError(f"{where}: `add` needs a class and a ref (OpaqueRef:…)")
    table = targets[0].objects.setdefault(cls, {})
    if ref in table:
        raise InputError(f"{where}: {cls} {ref} already exists")
    table[ref] = copy.deepcopy({k: v for k, v in spec.items() if k != "ref"})


def run_fixture(folder: Path, rules: RuleSet) -> FixtureResult:
    try:
        spec = load_yaml(folder / "fixture.yaml").data or {}
    except YamlError as exc:
        return FixtureResult(folder.name, folder, error=str(exc))
    rule_id = spec.get("rule", folder.name)
    result = FixtureResult(rule_id, folder)
    unknown_keys = set(spec) - FIXTURE_KEYS
    if unknown_keys:
        result.error = f"fixture.yaml: unknown keys {sorted(unknown_keys)}"
        return result
    rule_set = rules.only([rule_id]) if rules.get(rule_id) else None
    if rule_set is None:
        result.error = f"no rule {rule_id} is loaded"
        return result
    try:
        world = World(load_inventories(folder, spec))
        plan_file = folder / "plan.yaml"
        plan = load_plan(plan_file, world) if plan_file.exists() else audit_plan(world)
        ev = evaluate(world, rule_set, plan)
    except InputError as exc:
        result.error = str(exc)
        return result
    expected = [(str(e["subject"]), e["status"], str(e.get("operation", "")))
                for e in spec.get("expect") or []]
    with_na = any(status == "not_applicable" for _, status, _ in expected)
    with_ops = {s for s, _, op in expected if op}
    actual = []
    # An audit's grouped findings count once per destination they stand for (once when
    # for all, or when the rule does not read the destination).
    grouped = [(g, max(1, len(g.targets))) for g in ev.groups]
    found = [(f, len(f.targets) if f.target_evidence is not None else 1)
             for op in ev.operations for f in op.findings]
    for f, times in found + grouped:
        if f.status == "not_applicable" and not with_na:
            continue
        subject = getattr(f.subject, "name", "") if f.subject is not None else ""
        actual += [(subject, f.status, f.operation if subject in with_ops else "")] * times
    exp_c, act_c = Counter(expected), Counter(actual)
    result.missing = sorted((exp_c - act_c).elements())
    result.unexpected = sorted((act_c - exp_c).elements())
    return result


def format_result(r: FixtureResult) -> list[str]:
    if r.ok:
        return [f"ok    {r.rule}"]
    lines = [f"FAIL  {r.rule} ({r.folder})"]
    if r.error:
        lines.append(f"      error: {r.error}")
    lines += [f"      missing:    {json.dumps(list(m), ensure_ascii=False)}" for m in r.missing]
    lines += [f"      unexpected: {json.dumps(list(u), ensure_ascii=False)}" for u in r.unexpected]
    return lines
