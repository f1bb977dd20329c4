"""Load, validate and compile rules: one YAML file per rule, logic in sandboxed expressions.

Validation runs in layers and reports every problem, each as
`file:line:col: RULE-ID: field.path: message`:
  1. YAML syntax and duplicate keys (yamlsrc);
  2. schemas/policy.schema.json;
  3. semantics: the file is named after the id, ids are unique (a user rule may replace a
     built-in one only with `overrides: ID`), every name an expression reads is a known
     variable or fact, no expression reaches for Python internals, and every expression
     and message template compiles.
Expressions are Jinja2 expressions compiled once, at load time, in a SandboxedEnvironment.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import concat

from checker import facts, scope
from checker.bundled import bundled, schema
from checker.errors import InputError
from checker.facts.versions import not_older
from checker.yamlsrc import Located, YamlError
from checker.yamlsrc import load as load_yaml

LANGS = ("en", "ja")
BUILTIN_DIR = bundled("policies")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    col: int
    rule: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        parts = [where, self.rule or "-", *([self.field] if self.field else []), self.message]
        return ": ".join(parts)


class PolicyError(InputError):
    """One or more invalid rules; `problems` lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"invalid policy: {len(problems)} {noun}",
                         details=[str(p) for p in problems])


# ---------------------------------------------------------------------------------
# The expression environment
# ---------------------------------------------------------------------------------

GiB = 1024 ** 3


def _gib(value: Any) -> str:
    return f"{(value or 0) / GiB:.1f} GiB"


def _mib(value: Any) -> str:
    return f"{(value or 0) / facts.MiB:,.0f} MiB"


def _bits(value: Any) -> str:
    value = value or 0
    return f"{value / 1e9:g} Gbit/s" if value >= 1e9 else f"{value / 1e6:g} Mbit/s"


def _version(value: Any) -> str:
    return ".".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def _names(values: Iterable[Any]) -> str:
    return ", ".join(f"'{getattr(v, 'name', v)}'" for v in values) or "none"


def _duration(seconds: Any, lang: str = "en") -> str:
    """`{{ op.estimate_seconds | duration }}`, or `duration('ja')` in Japanese messages."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if lang == "ja":
        return f"{hours}時間{minutes:02d}分" if hours else f"{minutes}分{secs:02d}秒"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _subset(vm_features: str, host_features: str) -> bool:
    return facts.features_subset(vm_features, host_features)




#: The most characters or items one step of an expression may make (`*` on a string or
#: list, a `%` or format width, a padding call), and the largest integer `*` and `**` may
#: make: a rule reads a pool, it has no use for more, and more is how a rule would hang.
MAX_SIZE = 100_000
MAX_INT_BITS = 256
#: Filters whose whole-number arguments are sizes of what they make.
SIZED_FILTERS = ("center", "indent", "format", "batch", "slice", "wordwrap", "truncate")


class WorkLimit(Exception):
    """An expression tried to make more than the sandbox allows."""


def _check_size(count: Any, what: str) -> None:
    if isinstance(count, int) and count > MAX_SIZE:
        raise WorkLimit(f"{what} of {count:,} (more than {MAX_SIZE:,})")


def _check_format(template: str, *, braces: bool = False) -> None:
    """Widths and precisions in a %-format template, or a str.format one (`braces`)."""
    if braces:
        try:
            specs = [spec for _, _, spec, _ in string.Formatter().parse(template) if spec]
        except ValueError:
            return  # malformed: str.format itself will say so
    else:
        specs = ["".join(m) for m in re.findall(r"%[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?", template)]
    for spec in specs:
        if "*" in spec and not braces:
            raise WorkLimit("a '*' width in a format")
        for digits in re.findall(r"\d+", spec):
            _check_size(int(digits), "a format width")


def _check_made(value: Any, what: str) -> Any:
    """`value`, if it is not a string or list longer than MAX_SIZE. Applied to what each
    filter, method and `~` makes: its inputs were checked in turn, so no chain of them
    (`{% set s = s ~ s %}` again and again) grows past a few times MAX_SIZE."""
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_SIZE:
        raise WorkLimit(f"{what} of {len(value):,} (more than {MAX_SIZE:,})")
    return value


def _bounded(name: str, func: Any) -> Any:
    """A filter whose result is checked, and for SIZED_FILTERS its size arguments first."""
    sized = name in SIZED_FILTERS

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if sized:
            for value in (*args, *kwargs.values()):
                _check_size(value, f"a size given to `{name}`")
            if name == "format" and isinstance(args[0], str):
                _check_format(args[0])
        return _check_made(func(*args, **kwargs), f"a result of `{name}`")

    return checked


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with `~` (string concatenation) checked like the rest."""

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        self.write("environment.checked_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class _FactsEnvironment(SandboxedEnvironment):
    """The sandbox, with a short path for facts: an object's registered facts are its only
    readable attributes (the loader refuses any other name), so the generic unsafe-attribute
    checks are skipped for them; everything else goes through the full sandbox.

    Work is bounded where an expression could make much from little: `*` and `**` on
    strings, lists and large integers, `%` formatting, sizes passed to methods and
    filters (MAX_SIZE, MAX_INT_BITS); `range` is not available at all."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _BoundedCodeGenerator

    @staticmethod
    def checked_concat(text: str) -> str:
        return _check_made(text, "a string")

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is facts.Obj and attribute in facts.FACTS.get(obj.cls, ()):
            return obj.__getattr__(attribute)
        if type(obj) is scope.PlanFacts and attribute in scope.PLAN_FACTS.get(obj.cls, ()):
            return obj.__getattr__(attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                    _check_size(len(seq) * times, "a repetition")
            if isinstance(left, int) and isinstance(right, int) \
                    and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise WorkLimit(f"a product of more than {MAX_INT_BITS} bits")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) \
                and abs(left) > 1 and right > 0 and left.bit_length() * right > MAX_INT_BITS:
            raise WorkLimit(f"a power of more than {MAX_INT_BITS} bits")
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
            for value in right if isinstance(right, tuple) else (right,):
                _check_size(value, "a format argument")
        return _check_made(self.binop_table[operator](left, right), f"a result of {operator!r}")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A method called from an expression ('x'.ljust(n), '{:>n}'.format(...)): sizes
        checked first."""
        bound = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(bound, (str, list, tuple)):
            for value in (*args, *kwargs.values()):
                _check_size(value, f"a size given to {getattr(__obj, '__name__', 'a method')}")
            if isinstance(bound, str) and getattr(__obj, "__name__", "") in {"format", "format_map"}:
                _check_format(bound, braces=True)
        return _check_made(super().call(__context, __obj, *args, **kwargs), "a result of a call")


def make_environment() -> SandboxedEnvironment:
    env = _FactsEnvironment(undefined=StrictUndefined, autoescape=False)
    env.filters.update(gib=_gib, mib=_mib, bits=_bits, version=_version, names=_names,
                       duration=_duration)
    env.filters.update({name: _bounded(name, func) for name, func in env.filters.items()})
    env.tests["subset_of"] = _subset
    env.tests["not_older_than"] = not_older
    env.globals.clear()
    env.globals.update(features_subset=_subset)
    return env


ENV = make_environment()


def render(template: Any, variables: dict[str, Any]) -> str:
    """`template.render(**variables)` without copying the variables into a new context:
    an audit renders a message for each of a hundred thousand failures."""
    context = template.new_context({**ENV.globals, **variables}, shared=True)
    try:
        return concat(template.root_render_func(context))
    except (WorkLimit, SecurityError) as exc:
        raise _limit_error(getattr(template, "origin", None), exc) from None


class _Expression:
    """A compiled rule expression that, when it breaks the sandbox's limits, is a policy
    error naming its rule, file, line and field, not an exception from deep in Jinja."""

    __slots__ = ("func", "origin")

    def __init__(self, func: Any, origin: Problem) -> None:
        self.func, self.origin = func, origin

    def __call__(self, **variables: Any) -> Any:
        try:
            return self.func(**variables)
        except (WorkLimit, SecurityError) as exc:
            raise _limit_error(self.origin, exc) from None


def _limit_error(origin: Problem | None, exc: Exception) -> PolicyError:
    where = origin or Problem("<policy>", 0, 0, "", "", "")
    return PolicyError([Problem(where.file, where.line, where.col, where.rule, where.field,
                                f"stopped: the expression tried to make {exc}" if isinstance(exc, WorkLimit)
                                else f"stopped by the sandbox: {exc}")])


# ---------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Basis:
    """Why a rule's fail blocks: XAPI refuses the move with `errors` (raised in `source`,
    a xen-api file and function), or, with no errors, the documentation requires it and
    XAPI does not stop the move."""

    errors: tuple[str, ...] = ()
    source: str = ""

    @classmethod
    def parse(cls, raw: Any) -> Basis:
        return cls(tuple(raw["xapi"]), raw["source"]) if isinstance(raw, dict) else cls()

    @property
    def kind(self) -> str:
        return "xapi" if self.errors else "documentation"

    def as_json(self) -> Any:
        return {"xapi": list(self.errors), "source": self.source} if self.errors else "documentation"


@dataclass(frozen=True)
class Rule:
    id: str
    title: dict[str, str]
    description: dict[str, str]
    remediation: dict[str, str]
    severity: str
    kinds: frozenset[str]
    level: str
    seed: dict[str, str] | None
    source: str
    reference: str
    applies_when: Any
    for_each: tuple[str, Any] | None
    subject: str
    check: Any
    message: dict[str, Any]
    command: Any
    tags: tuple[str, ...]
    file: str
    raw: dict[str, Any] = field(repr=False, compare=False)
    basis: Basis = field(default_factory=Basis)
    #: (variable, attribute or None) its logic reads: the evaluator's cache keys, for the
    #: head (applies_when, for_each) and for the assertion (the loop variable included).
    head_paths: tuple[tuple[str, str | None], ...] = ()
    assert_paths: tuple[tuple[str, str | None], ...] = ()
    #: The same for its messages and command: what a shared rendering may stand for.
    message_paths: frozenset[tuple[str, str | None]] = frozenset()
    builtin: bool = True

    @property
    def all_paths(self) -> frozenset[tuple[str, str | None]]:
        """Everything the rule reads: what a shared result may stand for."""
        return frozenset(self.head_paths + self.assert_paths) | self.message_paths

    @property
    def reads(self) -> frozenset[str]:
        """The variables its logic or messages read (its loop variable aside)."""
        loop_var = self.for_each[0] if self.for_each else None
        return frozenset(var for var, _ in self.all_paths if var != loop_var)

    @property
    def seed_section(self) -> str:
        return self.seed["section"] if self.seed else "xapi"


@dataclass
class RuleSet:
    rules: list[Rule]
    sha256: str

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def only(self, ids: Iterable[str]) -> RuleSet:
        wanted = set(ids)
        unknown = wanted - {r.id for r in self.rules}
        if unknown:
            raise InputError(f"--only: no such rule: {', '.join(sorted(unknown))}")
        return RuleSet([r for r in self.rules if r.id in wanted], self.sha256)


@cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema("policy"))


def load_rules(extra_dirs: Iterable[str | Path] = (), *, builtin: bool = True) -> RuleSet:
    """The built-in rules plus users' directories; raise PolicyError listing every problem."""
    dirs: list[tuple[Path, bool]] = [(BUILTIN_DIR, True)] if builtin else []
    dirs += [(Path(d), False) for d in extra_dirs]
    problems: list[Problem] = []
    rules: dict[str, Rule] = {}
    digest = hashlib.sha256()
    for directory, is_builtin in dirs:
        if not directory.is_dir():
            raise InputError(f"{directory}: not a policy directory")
        for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
            try:
                content = path.read_bytes()
            except OSError as exc:
                problems.append(Problem(str(path), 0, 0, path.stem, "",
                                        f"cannot read: {exc.strerror or exc}"))
                continue
            digest.update(path.name.encode() + b"\0" + content)
            rule, file_problems = load_rule_file(path, builtin=is_builtin, content=content)
            problems += file_problems
            if rule is None:
                continue
            existing = rules.get(rule.id)
            replaces = rule.raw.get("overrides")
            if existing and replaces != rule.id:
                line, col = _where_id(path)
                where = "by a built-in rule" if existing.builtin else f"in {existing.file}"
                problems.append(Problem(str(path), line, col, rule.id, "id",
                                        f"duplicate rule id: already defined {where}"
                                        f" (say `overrides: {rule.id}` to replace it)"))
                continue
            if replaces and replaces not in rules:
                problems.append(Problem(str(path), *_where_id(path), rule.id, "overrides",
                                        f"overrides {replaces}, which is not defined before it"))
                continue
            rules[rule.id] = rule
    if problems:
        raise PolicyError(problems)
    return RuleSet(sorted(rules.values(), key=lambda r: _rule_order(r.id)), digest.hexdigest())


def _rule_order(rule_id: str) -> tuple[int, str]:
    families = ["GEN", "LIVE", "EVAC", "CPU", "MEM", "DISK", "LIM", "SXM", "POST", "VDI"]
    prefix = rule_id.split("-")[0]
    return (families.index(prefix) if prefix in families else len(families), rule_id)


def _where_id(path: Path) -> tuple[int, int]:
    try:
        return load_yaml(path, aliases=False).where(("id",))
    except YamlError:
        return (1, 1)


def load_rule_file(path: Path, *, builtin: bool = False,
                   content: bytes | None = None) -> tuple[Rule | None, list[Problem]]:
    """Parse, validate and compile one rule file (from `content`, its bytes, when already
    read): (rule or None, problems)."""
    file = str(path)
    try:
        doc = load_yaml(path, content, aliases=False)  # a rule has no use for aliases
    except YamlError as exc:
        return None, [Problem(file, exc.line, exc.col, path.stem, "", exc.message)]
    data = doc.data
    rule_id = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else path.stem
    problems = _schema_problems(doc, rule_id)
    if problems:
        return None, problems
    if path.stem != rule_id:
        line, col = doc.where(("id",))
        problems.append(Problem(file, line, col, rule_id, "id",
                                f"the file must be named after the rule id ({rule_id}.yaml)"))
    compiled: dict[str, Any] = {}
    var_types = dict(scope.VARIABLES)
    if "for_each" in data:
        var = data["for_each"]["var"]
        item_cls = _expression_type(data["for_each"]["in"], var_types)
        var_types[var] = item_cls.removeprefix("list:") if item_cls else "?"
    head_paths: set[tuple[str, str | None]] = set()
    assert_paths: set[tuple[str, str | None]] = set()
    message_paths: set[tuple[str, str | None]] = set()
    loop_var = data["for_each"]["var"] if "for_each" in data else None
    expressions = [("applies_when", data.get("applies_when")), ("assert", data["assert"])]
    if "for_each" in data:
        expressions.insert(0, ("for_each.in", data["for_each"]["in"]))
    for field_path, source in expressions:
        if source is None:
            continue
        key = tuple(field_path.split("."))
        line, col = doc.where_value(key)
        try:
            compiled[field_path] = _Expression(ENV.compile_expression(source, undefined_to_none=False),
                                               Problem(file, line, col, rule_id, field_path, ""))
            tree = ENV.parse(f"{{{{ {source} }}}}")
        except TemplateSyntaxError as exc:
            problems.append(Problem(file, line, col, rule_id, field_path,
                                    f"expression does not compile: {exc.message}"))
            continue
        problems += [Problem(file, line, col, rule_id, field_path, msg)
                     for msg in check_names(tree, var_types)]
        if field_path == "assert":
            assert_paths |= _read_paths(tree, loop_var)
        else:
            head_paths |= _read_paths(tree)
    templates: dict[str, Any] = {}
    message_types = {**var_types, "status": "value"}  # messages also see the finding's status
    for lang in LANGS:  # (remediation is plain text)
        source = data["message"][lang]
        line, col = doc.where_value(("message", lang))
        try:
            tree = ENV.parse(source)
            templates[lang] = _template(source, Problem(file, line, col, rule_id, f"message.{lang}", ""))
        except TemplateSyntaxError as exc:
            problems.append(Problem(file, line + max(0, exc.lineno - 1), col, rule_id,
                                    f"message.{lang}", f"template does not compile: {exc.message}"))
            continue
        problems += [Problem(file, line, col, rule_id, f"message.{lang}", msg)
                     for msg in check_names(tree, message_types, allow_locals=True)]
        message_paths |= _read_paths(tree, loop_var)
    command = None
    if "command" in data:
        line, col = doc.where_value(("command",))
        try:
            tree = ENV.parse(data["command"])
            command = _template(data["command"], Problem(file, line, col, rule_id, "command", ""))
            message_paths |= _read_paths(tree, loop_var)
            problems += [Problem(file, line, col, rule_id, "command", msg)
                         for msg in check_names(tree, message_types, allow_locals=True)]
        except TemplateSyntaxError as exc:
            problems.append(Problem(file, line, col, rule_id, "command",
                                    f"template does not compile: {exc.message}"))
    subject = data.get("subject", data["for_each"]["var"] if "for_each" in data else
                       ("host" if data.get("level") == "host" else "vm"))
    if subject not in var_types:
        line, col = doc.where(("subject",))
        problems.append(Problem(file, line, col, rule_id, "subject", f"unknown variable {subject!r}"))
    if problems:
        return None, sorted(problems, key=lambda p: (p.line, p.col, p.field, p.message))
    for_each = (data["for_each"]["var"], compiled["for_each.in"]) if "for_each" in data else None
    rule = Rule(
        id=rule_id, title=data["title"], description=data["description"],
        remediation=data["remediation"], severity=data["severity"],
        kinds=frozenset(data["kinds"]), level=data.get("level", "vm"), seed=data.get("seed"),
        source=data.get("source", "seed"), reference=data.get("reference", ""),
        applies_when=compiled.get("applies_when"), for_each=for_each, subject=subject,
        check=compiled["assert"],
        message=templates,
        command=command, tags=tuple(data.get("tags", [])), file=file, raw=data,
        head_paths=_sorted_paths(head_paths), assert_paths=_sorted_paths(assert_paths),
        message_paths=frozenset(message_paths), builtin=builtin,
        basis=Basis.parse(data.get("basis")),
    )
    return rule, []


def _template(source: str, origin: Problem) -> Any:
    """A message or command template that knows where it was written (for `render`)."""
    template = ENV.from_string(source)
    template.origin = origin
    return template


def _schema_problems(doc: Located, rule_id: str) -> list[Problem]:
    if not isinstance(doc.data, dict):
        return [Problem(doc.file, 1, 1, rule_id, "", "a rule file must be a mapping")]
    out = []
    for err in sorted(_schema_validator().iter_errors(doc.data), key=lambda e: list(map(str, e.path))):
        path = tuple(err.absolute_path)
        field_path = ".".join(str(p) for p in path)
        message = err.message
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            for key in extra:
                line, col = doc.where((*path, key))
                dotted = ".".join(str(p) for p in (*path, key))
                out.append(Problem(doc.file, line, col, rule_id, dotted, "unknown key"))
            continue
        if err.validator == "oneOf" and not path:
            message = "give exactly one of `seed` (the seed section and sentence) or `source: xapi`"
        line, col = doc.where_value(path)
        out.append(Problem(doc.file, line, col, rule_id, field_path, message))
    return sorted(out, key=lambda p: (p.line, p.col, p.field, p.message))


# ---------------------------------------------------------------------------------
# Name checking: every name a rule reads must exist
# ---------------------------------------------------------------------------------

def _attr_names(cls: str) -> dict[str, str]:
    """attribute -> return type, for an object class or a plan pseudo-class."""
    if cls in scope.PLAN_FACTS:
        return {k: v[0] for k, v in scope.PLAN_FACTS[cls].items()}
    return {k: spec.returns for k, spec in facts.FACTS.get(cls, {}).items()}


def _expression_type(source: str, var_types: dict[str, str]) -> str | None:
    try:
        tree = ENV.parse(f"{{{{ {source} }}}}")
    except TemplateSyntaxError:
        return None
    expr = next(tree.find_all(nodes.Output)).nodes[0]
    return _node_type(expr, var_types)


def _node_type(node: nodes.Node, var_types: dict[str, str]) -> str | None:
    if isinstance(node, nodes.Name):
        return var_types.get(node.name)
    if isinstance(node, nodes.Getattr):
        owner = _node_type(node.node, var_types)
        if owner and not owner.startswith("list:"):
            return _attr_names(owner).get(node.attr)
    if isinstance(node, nodes.Filter) and node.node is not None and node.name in {
            "select", "reject", "selectattr", "rejectattr", "list", "unique", "sort"}:
        return _node_type(node.node, var_types)
    return None


def check_names(tree: nodes.Template, var_types: dict[str, str], *,
                allow_locals: bool = False) -> list[str]:
    """Messages for unknown variables, unknown facts and reaches into Python internals."""
    problems: list[str] = []
    local_names = {n.name for n in tree.find_all(nodes.Name) if n.ctx in {"store", "param"}}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        if isinstance(node, nodes.Name) and node.ctx == "load":
            if node.name not in var_types and not (allow_locals and node.name in local_names) \
                    and node.name not in {"loop"} and node.name not in ENV.globals:
                problems.append(f"unknown variable {node.name!r} (known: "
                                f"{', '.join(sorted(var_types))})")
        elif isinstance(node, nodes.Getattr):
            if node.attr.startswith("_"):
                problems.append(f"{node.attr!r}: access to internal attributes is not allowed")
                continue
            owner = _node_type(node.node, var_types)
            if owner and owner != "?" and not owner.startswith("list:"):
                known = _attr_names(owner)
                if node.attr not in known:
                    problems.append(f"unknown fact {owner}.{node.attr}")
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
            problems.append(f"{node.arg.value!r}: access to internal attributes is not allowed")
    for node in tree.find_all(nodes.Filter):
        attr_args = [a.value for a in node.args[:1] if isinstance(a, nodes.Const)] \
            if node.name in {"selectattr", "rejectattr", "attr"} else []
        attr_args += [kw.value.value for kw in node.kwargs
                      if kw.key == "attribute" and isinstance(kw.value, nodes.Const)]
        item_type = _node_type(node.node, var_types) if node.node is not None else None
        if item_type and item_type.startswith("list:"):
            known = _attr_names(item_type.removeprefix("list:"))
            problems += [f"unknown fact {item_type.removeprefix('list:')}.{a}" for a in attr_args
                         if isinstance(a, str) and not a.startswith("_") and a.split(".")[0] not in known]
        problems += [f"{a!r}: access to internal attributes is not allowed"
                     for a in attr_args if str(a).startswith("_")]
    return sorted(set(problems))


def _read_paths(tree: nodes.Template, loop_var: str | None = None) -> set[tuple[str, str | None]]:
    """(variable, attribute) for `var.attr` reads; (variable, None) where the whole variable
    is used (compared, passed to a filter or test)."""
    names = set(scope.VARIABLES) | ({loop_var} if loop_var else set())
    out: set[tuple[str, str | None]] = set()
    attributed: set[int] = set()
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name in names:
            out.add((node.node.name, node.attr))
            attributed.add(id(node.node))
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name in names and id(node) not in attributed:
            out.add((node.name, None))
    return out


def _sorted_paths(paths: set[tuple[str, str | None]]) -> tuple[tuple[str, str | None], ...]:
    return tuple(sorted(paths, key=lambda p: (p[0], p[1] or "")))
