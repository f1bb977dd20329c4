#!/usr/bin/env python3
"""Generate checker/data/datamodel.json from a xen-api checkout.

XAPI's datamodel (ocaml/idl/datamodel*.ml) says for every field of every class the
release that introduced it (`~lifecycle:[(Published, rel_inverness, "")]`) and its
`~default_value`. A pool that predates a field behaved as that default, so migready
needs the pairs as data. There is no OCaml toolchain here, so this script reads the
OCaml itself: a tokenizer, a parser for the expression subset the datamodel is
written in (lets, labelled application, lists, tuples, constructors, `fun`), and a
lazy evaluator in which `field`, `uid`, `namespace`, `names` and `create_obj` are
built in. Whatever it cannot evaluate is listed in the output's "unparsed", never
guessed.

    scripts/datamodel_table.py /path/to/xen-api            # a work tree (HEAD)
    scripts/datamodel_table.py /path/to/repo.git --commit e2ee48d6 -o out.json

Each release's xapi versions come from the repository's version tags (the API version
each tag reports); the product numbers, which the datamodel does not state, from
RELEASE_FACTS below, with their sources.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

IDL = "ocaml/idl"
#: Modules that do not live in ocaml/idl/<name>.ml.
MODULE_PATHS = {"Constants": "ocaml/xapi-consts/constants.ml"}
#: Where a tag's API version is declared, newest layout first.
API_VERSION_FILES = (f"{IDL}/api_version.ml", f"{IDL}/datamodel_common.ml", f"{IDL}/datamodel.ml",
                     "ocaml/xapi/xapi_globs.ml")

#: What the datamodel's "branding" does not say: the numbers a host of each release
#: reports in software_version (product_version; platform_version, used when there is
#: no product_version; for XCP-ng, its own product_version). Public knowledge, checked
#: against real hosts where we have them: the xenadmin dumps (5.6.100 Cowley, 6.1.0 /
#: platform 1.6.10 Tampa), community.general's 7.2.0 / platform 2.3.0 (Falcon), and the
#: labels migready already used (CH 8.1 = platform 3.1.0, 8.2 = 3.2.x, 8.2 CU1 =
#: 8.2.1 / 3.2.1, XenServer 8 = 8.4.0 / 3.4.x).
RELEASE_FACTS: dict[str, dict[str, Any]] = {
    "rio": {"product_versions": ["4.0.1"]},
    "miami": {"product_versions": ["4.1.0"]},
    "orlando": {"product_versions": ["5.0.0"]},
    "george": {"product_versions": ["5.5.0"]},
    "midnight-ride": {"product_versions": ["5.6.0"]},
    "cowley": {"product_versions": ["5.6.100"]},
    "boston": {"product_versions": ["6.0.0", "6.0.2"]},
    "tampa": {"product_versions": ["6.1.0"], "platform_versions": ["1.6.10"]},
    "clearwater": {"product_versions": ["6.2.0"]},
    "creedence": {"product_versions": ["6.5.0"]},
    "dundee": {"product_versions": ["7.0.0"]},
    "ely": {"product_versions": ["7.1.0", "7.1.1", "7.1.2"]},
    "falcon": {"product_versions": ["7.2.0"], "platform_versions": ["2.3.0"]},
    "inverness": {"product_versions": ["7.3.0"]},
    "jura": {"product_versions": ["7.4.0"]},
    "kolkata": {"product_versions": ["7.5.0"]},
    "lima": {"product_versions": ["7.6.0"]},
    "naples": {"product_versions": ["8.0.0"]},
    "quebec": {"product_versions": ["8.1.0"], "platform_versions": ["3.1.0"]},
    "stockholm": {"product_versions": ["8.2.0"], "platform_versions": ["3.2.0"],
                  "xcp_ng": ["8.2.0"]},
    # Hotfix 2 left the numbers as they were; CU1 and XCP-ng 8.2.1 came after it.
    "stockholm_psr": {"product_versions": ["8.2.0", "8.2.1"], "platform_versions": ["3.2.0", "3.2.1"],
                      "xcp_ng": ["8.2.0", "8.2.1"]},
    "nile": {"product_versions": ["8.4.0"], "platform_versions": ["3.4.0"], "xcp_ng": ["8.3.0"]},
}


NOTES = {
    "introduced": "the first release whose lifecycle prototypes or publishes the field "
                  "(a code name, or a xapi version such as 22.33.0 for fields added since "
                  "the numbered releases; those also name introduced_release, the first named "
                  "release whose API version covers that xapi)",
    "default": "the datamodel's default_value today, as JSON (has_default false: none); "
               "'changed' lists later lifecycle changes, which may have changed the default",
    "internal_only": "stored in the database (and its dumps) but not in get_all_records",
    "persist": "false: in get_all_records but never written to the database (nor its dumps)",
    "names": "get_all_records spelling: namespaces joined with '_' (name_label, memory_static_max)",
    "xapi_tags": "the first and last xen-api version tags whose API version is the release's",
    "product_versions": "software_version.product_version of Citrix/XenServer hosts of the "
                        "release (platform_versions: their platform_version; xcp_ng: the "
                        "XCP-ng product_version that embeds the release): public knowledge, "
                        "not from the datamodel (scripts/datamodel_table.py RELEASE_FACTS)",
}


class ParseError(Exception):
    """The OCaml is outside the subset this script understands."""


# ---------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tok:
    kind: str  # id, uid (capitalised), str, int, float, char, lab, optlab, op, eof
    text: str
    line: int
    col: int
    value: Any = None


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<float>\d[\d_]*\.[\d_]*(?:[eE][-+]?\d+)?|\d[\d_]*[eE][-+]?\d+)
  | (?P<int>0[xX][0-9a-fA-F_]+[lLn]?|\d[\d_]*[lLn]?)
  | (?P<lab>[~?][a-z_][A-Za-z0-9_']*:?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_']*)
  | (?P<poly>`[A-Za-z_][A-Za-z0-9_']*)
  | (?P<char>'(?:\\.|[^\\'])')
  | (?P<tyvar>'[a-z_][A-Za-z0-9_]*)
  | (?P<op>\[\||\|\]|\[@@@|\[@@|\[@|->|::|:=|<>|<=|>=|\|>|@@|&&|\+\+|\|\||\.\(|;;
         |[-+*/=<>@^|;,.:()\[\]{}!&#$%~?])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "\\": "\\", '"': '"', "'": "'", " ": " "}


def _read_string(src: str, i: int) -> tuple[str, int]:
    """The OCaml string literal starting at src[i] == '"': its value and the end index."""
    out: list[str] = []
    i += 1
    while True:
        c = src[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            nxt = src[i + 1]
            if nxt == "\n":  # line continuation: skip leading blanks on the next line
                i += 2
                while src[i] in " \t":
                    i += 1
                continue
            if nxt.isdigit():
                out.append(chr(int(src[i + 1:i + 4])))
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1


def _token(kind: str, text: str, line: int, col: int) -> Tok | None:
    """One lexer match as a token (None for blanks)."""
    if kind == "name":
        return Tok("uid" if text[0].isupper() else "id", text, line, col)
    if kind == "float":
        return Tok(kind, text, line, col, float(text.replace("_", "")))
    if kind == "int":
        return Tok(kind, text, line, col, int(text.rstrip("lLn").replace("_", ""), 0))
    if kind == "lab":
        return Tok("optlab" if text[0] == "?" else "lab", text, line, col, text[1:].rstrip(":"))
    if kind == "char":
        return Tok("str", text, line, col, _ESCAPES.get(text[2], text[2]) if text[1] == "\\" else text[1])
    if kind == "poly":
        return Tok("str", text, line, col, text[1:])
    if kind == "ws":
        return None
    return Tok(kind, text, line, col)


def tokenize(src: str) -> list[Tok]:
    """OCaml tokens, comments dropped (nested, and strings inside them honoured)."""
    toks: list[Tok] = []
    i, line, line_start = 0, 1, 0
    n = len(src)
    while i < n:
        start, col = i, i - line_start
        if src.startswith("(*", i):
            depth, i = 1, i + 2
            while depth and i < n:
                if src.startswith("(*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*)", i):
                    depth, i = depth - 1, i + 2
                elif src[i] == '"':
                    _, i = _read_string(src, i)
                else:
                    i += 1
        elif src[i] == '"':
            value, i = _read_string(src, i)
            toks.append(Tok("str", value, line, col, value))
        elif src.startswith("{|", i):
            end = src.index("|}", i)
            toks.append(Tok("str", src[i + 2:end], line, col, src[i + 2:end]))
            i = end + 2
        else:
            m = _TOKEN.match(src, i)
            if not m:
                raise ParseError(f"line {line}: cannot read {src[i:i + 20]!r}")
            i = m.end()
            tok = _token(m.lastgroup or "", m.group(), line, col)
            if tok is not None:
                toks.append(tok)
        newlines = src.count("\n", start, i)
        if newlines:
            line += newlines
            line_start = src.rfind("\n", start, i) + 1
    toks.append(Tok("eof", "", line, 0))
    return toks


# ---------------------------------------------------------------------------------
# Syntax: a parser for the expression subset, into tuples
#   ("lit", v) ("var", path) ("ctor", path) ("app", fn, args) ("list", items)
#   ("tuple", items) ("binop", op, l, r) ("let", rec, binds, body) ("fun", params, body)
#   ("seq", a, b) ("opaque", why)
# ---------------------------------------------------------------------------------

Node = tuple[Any, ...]


@dataclass(frozen=True)
class Param:
    kind: str  # "pos", "lab" (~x), "opt" (?x)
    name: str  # "_" when the pattern binds nothing we use
    default: Node | None = None


@dataclass
class Binding:
    name: str
    params: list[Param]
    body: Node


_BINARY: list[tuple[frozenset[str], bool]] = [  # lowest first; True = right-associative
    (frozenset({"||", "or"}), True),
    (frozenset({"&&", "&"}), True),
    (frozenset({"=", "<", ">", "<>", "<=", ">=", "|>", "!=", "=="}), False),
    (frozenset({"@", "^", "@@"}), True),
    (frozenset({"::"}), True),
    (frozenset({"+", "-", "++"}), False),
    (frozenset({"*", "/"}), False),
]
_KEYWORDS = frozenset({"let", "in", "fun", "function", "match", "with", "if", "then", "else",
                       "and", "rec", "begin", "end", "try", "module", "struct", "open", "type",
                       "of", "when", "as", "assert", "lazy", "mod", "or", "land", "lor"})


class Parser:
    """Recursive descent over one item's tokens."""

    def __init__(self, toks: list[Tok]) -> None:
        self.toks = toks
        self.i = 0

    # -- helpers --------------------------------------------------------------------
    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        t = self.tok
        return t.kind in {"op", "id"} and t.text in texts

    def expect(self, text: str) -> Tok:
        if not self.at(text):
            raise ParseError(f"line {self.tok.line}: expected {text!r}, found {self.tok.text!r}")
        return self.next()

    def skip_balanced_until(self, *stops: str) -> None:
        """Skip tokens (a type, a pattern) up to one of `stops` outside brackets."""
        depth = 0
        while self.tok.kind != "eof":
            t = self.tok.text if self.tok.kind in {"op", "id"} else ""
            if depth == 0 and t in stops:
                return
            if t in {"(", "[", "[|", "{", "begin", "[@", "[@@", "[@@@"}:
                depth += 1
            elif t in {")", "]", "|]", "}", "end"}:
                depth -= 1
                if depth < 0:
                    return
            self.next()

    # -- expressions ----------------------------------------------------------------
    def seq(self) -> Node:
        """expr; expr; ... (a sequence, where one is allowed)."""
        node = self.expr()
        while self.at(";") and not self._closes(self.peek()):
            self.next()
            node = ("seq", node, self.expr())
        if self.at(";") and self._closes(self.peek()):
            self.next()
        return node

    @staticmethod
    def _closes(t: Tok) -> bool:
        return t.kind == "eof" or (t.kind in {"op", "id"} and t.text in {")", "]", "end", "in", "done", "|]"})

    def expr(self) -> Node:
        t = self.tok
        if t.kind == "id" and t.text == "let":
            return self.let_in()
        if t.kind == "id" and t.text == "fun":
            self.next()
            params = self.params(stop="->")
            self.expect("->")
            return ("fun", params, self.seq())
        if t.kind == "id" and t.text in {"function", "match", "try"}:
            self.next()
            if t.text != "function":
                self.seq()
                self.expect("with")
            self.arms()
            return ("opaque", f"{t.text} at line {t.line}")
        if t.kind == "id" and t.text == "if":
            self.next()
            self.seq()
            self.expect("then")
            self.expr()
            if self.at("else"):
                self.next()
                self.expr()
            return ("opaque", f"if at line {t.line}")
        return self.tuple()

    def arms(self) -> None:
        if self.at("|"):
            self.next()
        while True:
            self.skip_balanced_until("->")
            self.expect("->")
            self.seq()
            if not self.at("|"):
                return
            self.next()

    def let_in(self) -> Node:
        self.expect("let")
        if self.at("open"):
            self.next()
            while self.tok.kind in {"uid"} or self.at("."):
                self.next()
            self.expect("in")
            return self.seq()
        rec, binds = self.bindings()
        self.expect("in")
        return ("let", rec, binds, self.seq())

    def bindings(self) -> tuple[bool, list[Binding]]:
        rec = False
        if self.at("rec"):
            self.next()
            rec = True
        binds = [self.binding()]
        while self.at("and"):
            self.next()
            binds.append(self.binding())
        return rec, binds

    def binding(self) -> Binding:
        if self.tok.kind == "id" and self.tok.text not in _KEYWORDS:
            name = self.next().text
            params = self.params(stop="=")
        else:  # a pattern: (), _, a tuple, a record, an operator
            self.skip_balanced_until("=", ":")
            name, params = "_", []
        if self.at(":"):  # a type annotation on the result
            self.skip_balanced_until("=")
        self.expect("=")
        return Binding(name, params, self.seq())

    def params(self, stop: str) -> list[Param]:
        params: list[Param] = []
        while not self.at(stop, ":") and self.tok.kind != "eof":
            t = self.next()
            if t.kind in {"lab", "optlab"}:
                kind = "lab" if t.kind == "lab" else "opt"
                if t.text.endswith(":"):  # ~x:pattern / ?x:(pattern = default)
                    default = self._param_group() if self.at("(") else None
                    if default is None:
                        self.next()
                    params.append(Param(kind, t.value, default))
                else:
                    params.append(Param(kind, t.value))
            elif t.text in {"~", "?"} and self.tok.kind == "id":  # ~(* doc *) x
                params.append(Param("lab" if t.text == "~" else "opt", self.next().text))
            elif t.text in {"~", "?"}:  # ~(x : ty) / ?(x = default)
                self.expect("(")
                name = self.next().text
                default = None
                self.skip_balanced_until("=", ")")
                if self.at("="):
                    self.next()
                    default = self.expr()
                self.expect(")")
                params.append(Param("lab" if t.text == "~" else "opt", name, default))
            elif t.kind == "id":
                params.append(Param("pos", t.text))
            elif t.text == "(":
                inner = self.tok
                self.skip_balanced_until(")")
                self.expect(")")
                params.append(Param("pos", inner.text if inner.kind == "id" else "_"))
            else:
                params.append(Param("pos", "_"))
        return params

    def _param_group(self) -> Node | None:
        """`(pattern = default)` after `?x:`: the default."""
        self.expect("(")
        self.skip_balanced_until("=", ")")
        default = None
        if self.at("="):
            self.next()
            default = self.expr()
        self.expect(")")
        return default

    def tuple(self) -> Node:
        first = self.binary(0)
        if not self.at(","):
            return first
        items = [first]
        while self.at(","):
            self.next()
            items.append(self.binary(0))
        return ("tuple", items)

    def binary(self, level: int) -> Node:
        if level == len(_BINARY):
            return self.application()
        ops, right = _BINARY[level]
        left = self.binary(level + 1)
        while self.tok.kind in {"op", "id"} and self.tok.text in ops:
            op = self.next().text
            if right:
                return ("binop", op, left, self.binary(level))
            left = ("binop", op, left, self.binary(level + 1))
        return left

    def application(self) -> Node:
        if self.at("-") and self.peek().kind in {"int", "float"}:
            self.next()
            return ("lit", -self.next().value)
        head = self.atom()
        if head[0] == "ctor":
            if self._starts_atom():
                return ("ctorapp", head[1], self.atom())
            return head
        args: list[tuple[str | None, bool, Node | None]] = []
        while self._starts_atom() or self.tok.kind in {"lab", "optlab"}:
            t = self.tok
            if t.kind in {"lab", "optlab"}:
                self.next()
                arg = self.atom() if t.text.endswith(":") else None
                args.append((t.value, t.kind == "optlab", arg))
            else:
                args.append((None, False, self.atom()))
        return ("app", head, args) if args else head

    def _starts_atom(self) -> bool:
        t = self.tok
        if t.kind in {"str", "int", "float", "uid"}:
            return True
        if t.kind == "id":
            return t.text not in _KEYWORDS or t.text in {"begin"}
        return t.kind == "op" and t.text in {"(", "[", "[|", "{", "!"}

    def atom(self) -> Node:
        t = self.next()
        if t.kind in {"str", "int", "float"}:
            return ("lit", t.value)
        if t.kind == "id" and t.text in {"true", "false"}:
            return ("lit", t.text == "true")
        if t.kind == "id" and t.text == "begin":
            node = self.seq()
            self.expect("end")
            return node
        if t.kind == "id":
            return ("var", (t.text,))
        if t.kind == "uid":
            path = [t.text]
            while self.at(".") and self.peek().kind in {"uid", "id"}:
                self.next()
                path.append(self.next().text)
                if path[-1][0].islower():
                    return ("var", tuple(path))
            if self.at(".(") or (self.at(".") and self.peek().text == "("):
                self.next()
                if self.at("("):
                    self.next()
                node = self.seq()
                self.expect(")")
                return node
            return ("ctor", tuple(path))
        if t.text == "(":
            if self.at(")"):
                self.next()
                return ("lit", None)
            if self.tok.kind == "op" and self.tok.text not in {"(", "[", "[|", "{", "-", "!"} \
                    and self.peek().text == ")":  # ( @ ), an operator as a value
                self.next()
                self.next()
                return ("opaque", "operator section")
            node = self.seq()
            if self.at(":", ":>"):
                self.skip_balanced_until(")")
            self.expect(")")
            return node
        if t.text in {"[", "[|"}:
            items: list[Node] = []
            close = "]" if t.text == "[" else "|]"
            while not self.at(close):
                items.append(self.expr())
                if self.at(";"):
                    self.next()
                elif not self.at(close):
                    raise ParseError(f"line {self.tok.line}: expected ';' or {close!r} in a list, "
                                     f"found {self.tok.text!r}")
            self.next()
            return ("list", items)
        if t.text == "{":
            self.skip_balanced_until("}")
            self.expect("}")
            return ("opaque", f"record at line {t.line}")
        if t.text == "!":
            self.atom()
            return ("opaque", "dereference")
        raise ParseError(f"line {t.line}: unexpected {t.text!r}")


def split_items(toks: list[Tok], start: int, col: int) -> Iterator[tuple[list[Tok], int]]:
    """Top-level items of a structure at indentation `col` (ocamlformat's layout):
    token slices of each item, up to the structure's `end` (or the file's end)."""
    heads = {"let", "module", "type", "open", "exception", "include", "external", "end", "[@@@"}
    i = start
    while i < len(toks) and toks[i].kind != "eof":
        if toks[i].text == "end" and toks[i].col == col - 2:
            return
        j = i + 1
        while toks[j].kind != "eof" and not (toks[j].col == col and toks[j].text in heads
                                               and toks[j].line > toks[j - 1].line):
            if toks[j].text == "end" and toks[j].col == col - 2 and toks[j].line > toks[j - 1].line:
                break
            j += 1
        yield toks[i:j], i
        i = j


# ---------------------------------------------------------------------------------
# Evaluation: lazy where it matters (function arguments), so that messages, roles and
# types, which the table does not need, are never computed.
# ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Opaque:
    why: str


@dataclass(frozen=True)
class Ctor:
    name: str
    arg: Any = None


@dataclass
class Lazy:
    node: Node
    env: Env
    value: Any = None
    state: int = 0  # 0 new, 1 running, 2 done


@dataclass(frozen=True)
class Closure:
    params: list[Param]
    body: Node
    env: Env


@dataclass(frozen=True)
class Builtin:
    name: str
    arity: int
    fn: Callable[[list[Any], dict[str, tuple[Any, bool]]], Any]


@dataclass(frozen=True)
class Partial:
    fn: Closure | Builtin
    pos: tuple[Any, ...]
    labs: tuple[tuple[str, Any, bool], ...]


@dataclass(frozen=True)
class FieldV:
    full_name: tuple[str, ...]
    lifecycle: Any
    default: Any  # an option value: Ctor("Some", v) / Ctor("None")
    internal_only: bool = False
    persist: bool = True


@dataclass(frozen=True)
class NamespaceV:
    name: str
    contents: Any
    idempotent: bool


@dataclass(frozen=True)
class ObjV:
    name: Any
    contents: Any


NONE = Ctor("None")


@dataclass
class Module:
    name: str
    bindings: dict[str, list[tuple[int, Binding, Env]]] = dc_field(default_factory=dict)
    submodules: dict[str, list[tuple[int, Module]]] = dc_field(default_factory=dict)
    cache: dict[tuple[str, int], Any] = dc_field(default_factory=dict)


class Env:
    """A scope: local variables, or a module's bindings up to an item, then the parent."""

    def __init__(self, parent: Env | None, local: dict[str, Any] | None = None,
                 module: Module | None = None, upto: int = 1 << 30) -> None:
        self.parent = parent
        self.local = local if local is not None else {}
        self.module = module
        self.upto = upto

    def frames(self) -> Iterator[Env]:
        env: Env | None = self
        while env is not None:
            yield env
            env = env.parent


class Evaluator:
    """Evaluates datamodel expressions; `load(module name)` reads files on demand."""

    def __init__(self, read: Callable[[str], str | None]) -> None:
        self.read = read
        self.modules: dict[str, Module | None] = {}
        self.builtins = Env(None, {
            "field": Builtin("field", 2, self._field),
            "uid": Builtin("uid", 1, self._uid),
            "namespace": Builtin("namespace", 1, self._namespace),
            "create_obj": Builtin("create_obj", 1, self._create_obj),
        })
        self.library: dict[tuple[str, ...], Any] = {
            ("Date", "epoch"): "19700101T00:00:00Z",
            ("Int64", "zero"): 0,
            ("Int64", "one"): 1,
            ("Int64", "of_int"): Builtin("Int64.of_int", 1, lambda p, _: self.force(p[0])),
            ("Int64", "mul"): Builtin("Int64.mul", 2, lambda p, _: self._arith(p, lambda a, b: a * b)),
            ("List", "map"): Builtin("List.map", 2, lambda p, _: [self.apply(p[0], [(None, False, x)])
                                                                  for x in self.as_list(p[1])]),
            ("List", "concat"): Builtin("List.concat", 1, lambda p, _: [
                x for xs in self.as_list(p[0]) for x in self.as_list(xs)]),
            ("List", "concat_map"): Builtin("List.concat_map", 2, lambda p, _: [
                y for x in self.as_list(p[1]) for y in self.as_list(self.apply(p[0], [(None, False, x)]))]),
        }
        self.library[("List", "flatten")] = self.library[("List", "concat")]

    # -- modules --------------------------------------------------------------------
    def load(self, name: str) -> Module | None:
        if name in self.modules:
            return self.modules[name]
        self.modules[name] = None  # no cycles while loading
        path = MODULE_PATHS.get(name) or f"{IDL}/{name.lower()}.ml"
        src = self.read(path)
        if src is None:
            return None
        toks = tokenize(src)
        opens = [nxt.text for t, nxt in itertools.pairwise(toks)
                 if t.text == "open" and t.col == 0 and nxt.kind == "uid"]
        outer = self.builtins
        for opened in opens:
            mod = self.load(opened)
            if mod is not None:
                outer = Env(outer, module=mod)
        module = Module(name)
        self._structure(module, toks, 0, 0, outer)
        self.modules[name] = module
        return module

    def _structure(self, module: Module, toks: list[Tok], start: int, col: int, outer: Env) -> None:
        for seq, (item, _) in enumerate(split_items(toks, start, col)):
            head = item[0].text
            if head == "let":
                try:
                    parser = Parser([*item, Tok("eof", "", item[-1].line, 0)])
                    parser.next()
                    rec, binds = parser.bindings()
                    if parser.tok.kind != "eof":
                        raise ParseError(f"line {parser.tok.line}: unexpected {parser.tok.text!r}")
                except (ParseError, IndexError) as exc:
                    name = item[1].text if len(item) > 1 else "?"
                    binds, rec = [Binding(name, [], ("opaque", f"{module.name}: {exc}"))], False
                env = Env(outer, module=module, upto=seq + 1 if rec else seq)
                for b in binds:
                    module.bindings.setdefault(b.name, []).append((seq, b, env))
            elif head == "module" and len(item) > 3 and item[3].text == "struct":
                sub = Module(f"{module.name}.{item[1].text}")
                inner = [*item[4:], Tok("eof", "", item[-1].line, 0)]
                self._structure(sub, inner, 0, col + 2, Env(outer, module=module, upto=seq))
                module.submodules.setdefault(item[1].text, []).append((seq, sub))

    # -- names ----------------------------------------------------------------------
    def lookup(self, path: tuple[str, ...], env: Env) -> Any:
        if len(path) == 1:
            return self._lookup_name(path[0], env)
        if path in self.library:
            return self.library[path]
        module = self._find_module(path[0], env)
        for part in path[1:-1]:
            if module is None:
                break
            subs = module.submodules.get(part)
            module = subs[-1][1] if subs else None
        if module is None:
            return Opaque(f"unknown {'.'.join(path)}")
        return self._module_value(module, path[-1], 1 << 30)

    def _lookup_name(self, name: str, env: Env) -> Any:
        for frame in env.frames():
            if name in frame.local:
                return self.force(frame.local[name])
            if frame.module is not None:
                value = self._module_value(frame.module, name, frame.upto)
                if not (isinstance(value, Opaque) and value.why == "unbound"):
                    return value
        return Opaque(f"unknown {name}")

    def _find_module(self, name: str, env: Env) -> Module | None:
        for frame in env.frames():
            if frame.module is not None:
                subs = [m for seq, m in frame.module.submodules.get(name, []) if seq < frame.upto]
                if subs:
                    return subs[-1]
        return self.load(name)

    def _module_value(self, module: Module, name: str, upto: int) -> Any:
        if module.name == "Datamodel_common" and name in self.builtins.local:
            return self.builtins.local[name]
        found = [entry for entry in module.bindings.get(name, []) if entry[0] < upto]
        if not found:
            return Opaque("unbound")
        seq, binding, env = found[-1]
        key = (name, seq)
        if key not in module.cache:
            module.cache[key] = Opaque(f"{name} refers to itself")
            module.cache[key] = self.bind(binding, env)
        return module.cache[key]

    def bind(self, binding: Binding, env: Env) -> Any:
        if binding.params:
            return Closure(binding.params, binding.body, env)
        return self.eval(binding.body, env)

    # -- expressions ----------------------------------------------------------------
    def force(self, value: Any) -> Any:
        while isinstance(value, Lazy):
            if value.state == 2:
                value = value.value
                continue
            if value.state == 1:
                return Opaque("a value that depends on itself")
            value.state = 1
            value.value = self.eval(value.node, value.env)
            value.state = 2
        return value

    def eval(self, node: Node, env: Env) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "var":
            return self.lookup(node[1], env)
        if kind == "ctor":
            return Ctor(node[1][-1])
        if kind == "ctorapp":
            return Ctor(node[1][-1], self.eval(node[2], env))
        if kind == "list":
            return [self.eval(item, env) for item in node[1]]
        if kind == "tuple":
            return tuple(self.eval(item, env) for item in node[1])
        if kind == "seq":
            return self.eval(node[2], env)
        if kind == "opaque":
            return Opaque(node[1])
        if kind == "fun":
            return Closure(node[1], node[2], env)
        if kind == "let":
            _, rec, binds, body = node
            local: dict[str, Any] = {}
            inner = Env(env, local)
            for b in binds:
                local[b.name] = Lazy(("bound", b), inner if rec else env)
            return self.eval(body, inner)
        if kind == "bound":
            return self.bind(node[1], env)
        if kind == "app":
            fn = self.eval(node[1], env)
            args = [(label, opt, Lazy(arg if arg is not None else ("var", (label,)), env))
                    for label, opt, arg in node[2]]
            return self.apply(fn, args)
        if kind == "binop":
            return self._binop(node[1], node[2], node[3], env)
        raise ParseError(f"cannot evaluate {kind}")

    def _binop(self, op: str, left: Node, right: Node, env: Env) -> Any:
        if op == "|>":
            return self.apply(self.eval(right, env), [(None, False, Lazy(left, env))])
        if op == "@@":
            return self.apply(self.eval(left, env), [(None, False, Lazy(right, env))])
        a, b = self.eval(left, env), self.eval(right, env)
        if op == "@" and isinstance(a, list) and isinstance(b, list):
            return a + b
        if op == "::" and isinstance(b, list):
            return [a, *b]
        if op == "^" and isinstance(a, str) and isinstance(b, str):
            return a + b
        return Opaque(f"{op} of {type(a).__name__} and {type(b).__name__}")

    def apply(self, fn: Any, args: list[tuple[str | None, bool, Any]]) -> Any:
        fn = self.force(fn)
        if not args:
            return fn
        if isinstance(fn, Partial):
            pos = list(fn.pos)
            labs = [(name, value, opt) for name, value, opt in fn.labs]
            fn = fn.fn
        elif isinstance(fn, (Closure, Builtin)):
            pos, labs = [], []
        elif isinstance(fn, Opaque):  # the first thing not understood is the reason
            return fn
        else:
            return Opaque(f"application of {fn!r}"[:200])
        rest: list[tuple[str | None, bool, Any]] = []
        need = fn.arity if isinstance(fn, Builtin) else sum(p.kind == "pos" for p in fn.params)
        for label, opt, value in args:
            if label is None:
                if len(pos) < need:
                    pos.append(value)
                else:
                    rest.append((label, opt, value))
            else:
                labs.append((label, value, opt))
        if len(pos) < need or (need == 0 and isinstance(fn, Closure) and any(
                p.kind == "lab" and p.name not in {n for n, _, _ in labs} for p in fn.params)):
            return Partial(fn, tuple(pos), tuple(labs))
        lab_map = {name: (value, opt) for name, value, opt in labs}
        result = fn.fn(pos, lab_map) if isinstance(fn, Builtin) else self._call(fn, pos, lab_map)
        return self.apply(result, rest) if rest else result

    def _call(self, fn: Closure, pos: list[Any], labs: dict[str, tuple[Any, bool]]) -> Any:
        local: dict[str, Any] = {}
        env = Env(fn.env, local)
        positional = iter(pos)
        for p in fn.params:
            if p.kind == "pos":
                local[p.name] = next(positional)
            elif p.kind == "lab":
                local[p.name] = labs.get(p.name, (Opaque(f"~{p.name} not given"), False))[0]
            elif p.name in labs:
                value, opt = labs[p.name]
                if p.default is None:  # ?x: an option inside
                    local[p.name] = value if opt else Ctor("Some", value)
                elif opt:  # ?x:option given to ?(x = d)
                    option = self.force(value)
                    some = isinstance(option, Ctor) and option.name == "Some"
                    local[p.name] = option.arg if some else Lazy(p.default, env)
                else:
                    local[p.name] = value
            else:
                local[p.name] = Lazy(p.default, env) if p.default is not None else NONE
        local.pop("_", None)
        return self.eval(fn.body, env)

    def _arith(self, args: list[Any], op: Callable[[int, int], int]) -> Any:
        a, b = (self.force(x) for x in args)
        return op(a, b) if isinstance(a, int) and isinstance(b, int) else Opaque("arithmetic")

    def as_list(self, value: Any) -> list[Any]:
        value = self.force(value)
        if not isinstance(value, list):
            raise ParseError(f"expected a list, got {value!r}"[:300])
        return value

    # -- the datamodel's own constructors ---------------------------------------------
    def _label(self, labs: dict[str, tuple[Any, bool]], name: str) -> Any:
        """A labelled argument of an `?x` parameter as an option value."""
        if name not in labs:
            return NONE
        value, opt = labs[name]
        return self.force(value) if opt else Ctor("Some", value)

    def _field(self, pos: list[Any], labs: dict[str, tuple[Any, bool]]) -> FieldV:
        name = self.force(pos[0])
        # ?(default_value = None): the value given is itself the option.
        default: Any = NONE
        if "default_value" in labs:
            value, opt = labs["default_value"]
            default = self.force(value)
            if opt:
                default = self.force(default.arg) if isinstance(default, Ctor) and default.name == "Some" \
                    else NONE
        internal = self.force(labs["internal_only"][0]) if "internal_only" in labs else False
        persist = self.force(labs["persist"][0]) if "persist" in labs else True
        return FieldV((name,), self._label(labs, "lifecycle"), default, internal is True,
                      persist is not False)

    def _uid(self, pos: list[Any], labs: dict[str, tuple[Any, bool]]) -> FieldV:
        return FieldV(("uuid",), self._label(labs, "lifecycle"), NONE)

    def _namespace(self, pos: list[Any], labs: dict[str, tuple[Any, bool]]) -> NamespaceV:
        idempotent = self.force(labs["idempotent"][0]) if "idempotent" in labs else False
        return NamespaceV(self.force(labs["name"][0]), labs["contents"][0], idempotent is True)

    def _create_obj(self, pos: list[Any], labs: dict[str, tuple[Any, bool]]) -> ObjV:
        return ObjV(labs["name"][0], labs["contents"][0])


# ---------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------

_CHANGES = {"Prototyped", "Published", "Extended", "Changed", "Deprecated", "Removed"}


def api_value(ev: Evaluator, value: Any) -> Any:
    """A datamodel `api_value` (VBool false, VMap [], VEnum "Halted"…) as JSON."""
    value = ev.force(value)
    if not isinstance(value, Ctor) or value.name not in {
            "VString", "VInt", "VFloat", "VBool", "VDateTime", "VEnum", "VMap", "VSet", "VRef"}:
        raise ParseError(f"not an api_value: {value!r}"[:200])
    arg = ev.force(value.arg)
    if value.name == "VMap":
        return {str(api_value(ev, k)): api_value(ev, v) for k, v in (ev.force(p) for p in ev.as_list(arg))}
    if value.name == "VSet":
        return [api_value(ev, v) for v in ev.as_list(arg)]
    if isinstance(arg, Opaque):
        raise ParseError(f"{value.name} of {arg.why}")
    if arg is None:
        raise ParseError(f"{value.name} without a value")
    if value.name == "VFloat":
        return float(arg)
    return arg


def lifecycle_of(ev: Evaluator, option: Any) -> list[tuple[str, str, str]]:
    """[(change, release, note)] of a field's `~lifecycle` option value."""
    option = ev.force(option)
    if not (isinstance(option, Ctor) and option.name == "Some"):
        raise ParseError("no lifecycle")
    out = []
    for item in ev.as_list(option.arg):
        item = ev.force(item)
        if not (isinstance(item, tuple) and len(item) == 3):
            raise ParseError(f"lifecycle entry {item!r}"[:200])
        change, release, note = (ev.force(x) for x in item)
        if not (isinstance(change, Ctor) and change.name in _CHANGES and isinstance(release, str)):
            raise ParseError(f"lifecycle entry {item!r}"[:200])
        out.append((change.name, release, note if isinstance(note, str) else ""))
    return out


def flatten(ev: Evaluator, contents: Any, prefix: tuple[str, ...] = ()) -> Iterator[FieldV]:
    """The fields of an object's contents, namespaces folded into their full names."""
    for item in ev.as_list(contents):
        item = ev.force(item)
        if isinstance(item, FieldV):
            yield FieldV(prefix + item.full_name, item.lifecycle, item.default, item.internal_only,
                         item.persist)
        elif isinstance(item, NamespaceV):
            yield from flatten(ev, item.contents, prefix if item.idempotent else (*prefix, item.name))
        else:
            raise ParseError(f"not a field: {item!r}"[:300])


def prototyped_of_field(src: str) -> dict[tuple[str, str], str]:
    """Datamodel_lifecycle.prototyped_of_field, generated by xapi from its git history:
    the release in which a field declared with `~lifecycle:[]` was first prototyped."""
    body = src[src.index("let prototyped_of_field"):src.index("let prototyped_of_message")]
    return {(cls, name): rel for cls, name, rel in
            re.findall(r'\|\s*"([^"]+)",\s*"([^"]+)"\s*->\s*Some\s*"([^"]+)"', body)}


def field_entry(ev: Evaluator, f: FieldV, prototyped: str | None) -> dict[str, Any]:
    """One field's row: the release it appeared in, its default, later removal."""
    changes = lifecycle_of(ev, f.lifecycle)
    if prototyped is not None:  # as xapi's update_lifecycles does
        changes = [("Prototyped", prototyped, ""), *(c for c in changes if c[0] != "Prototyped")]
    appeared = [rel for change, rel, _ in changes if change in {"Prototyped", "Published"}]
    entry: dict[str, Any] = {"introduced": appeared[0] if appeared else None}
    default = ev.force(f.default)
    if isinstance(default, Ctor) and default.name == "None":
        entry["default"], entry["has_default"] = None, False
    elif isinstance(default, Ctor) and default.name == "Some":
        entry["default"], entry["has_default"] = api_value(ev, default.arg), True
    else:
        raise ParseError(f"default_value {default!r}"[:200])
    # The default is today's: a field whose meaning changed later says so, with XAPI's note.
    changed = [{"release": rel, "note": note} for change, rel, note in changes if change == "Changed"]
    if changed:
        entry["changed"] = changed
    removed = [rel for change, rel, _ in changes if change == "Removed"]
    if removed:
        entry["removed"] = removed[-1]
    if f.internal_only:  # in the database (and its dumps), not in get_all_records
        entry["internal_only"] = True
    if not f.persist:  # in get_all_records, never in a database dump
        entry["persist"] = False
    return entry


def build_fields(ev: Evaluator, lifecycle_src: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    prototyped = prototyped_of_field(lifecycle_src)
    system = ev.as_list(ev.lookup(("Datamodel", "all_system"), ev.builtins))
    classes: dict[str, dict[str, Any]] = {}
    unparsed: list[str] = []
    for obj in system:
        obj = ev.force(obj)
        if not isinstance(obj, ObjV):
            why = obj.why if isinstance(obj, Opaque) else repr(obj)
            unparsed.append(f"a class not made by create_obj: {why}"[:300])
            continue
        cls = ev.force(obj.name)
        try:
            fields = list(flatten(ev, obj.contents))
        except ParseError as exc:
            unparsed.append(f"{cls}: {exc}")
            continue
        table = classes.setdefault(cls, {})
        for f in fields:
            name = "_".join(f.full_name)
            try:
                table[name] = field_entry(ev, f, prototyped.get((cls, "__".join(f.full_name))))
            except ParseError as exc:
                unparsed.append(f"{cls}.{name}: {exc}")
    return classes, unparsed


def releases(types_src: str) -> list[dict[str, Any]]:
    """release_order_full, in order, with what RELEASE_FACTS adds; entries without a
    code name (never released) are dropped, as xapi's release_order does."""
    names = dict(re.findall(r'^let (rel_\w+) = "([^"]+)"', types_src, re.M))
    body = types_src[types_src.index("let release_order_full"):types_src.index("let release_order =")]
    out = []
    for block in re.findall(r"\{(.*?)\}", body, re.S):
        code = re.search(r"code_name\s*=\s*(?:Some\s+(\w+)|None)", block)
        major = re.search(r"version_major\s*=\s*(\d+)", block)
        minor = re.search(r"version_minor\s*=\s*(\d+)", block)
        branding = re.search(r'branding\s*=\s*"([^"]*)"', block)
        date = re.search(r'release_date\s*=\s*Some\s+"([^"]*)"', block)
        if not (code and major and minor and branding):
            raise ParseError(f"release_order_full entry: {block.strip()[:200]}")
        if code.group(1) is None:
            continue
        code_name = names[code.group(1)]
        entry: dict[str, Any] = {
            "code_name": code_name,
            "version_major": int(major.group(1)),
            "version_minor": int(minor.group(1)),
            "branding": branding.group(1),
            "release_date": date.group(1) or None if date else None,
        }
        entry.update(RELEASE_FACTS.get(code_name, {}))
        out.append(entry)
    return out


Version = tuple[int, ...]


def version(text: str) -> Version:
    return tuple(int(p) for p in text.lstrip("v").split("."))


def api_versions_of_tags(repo: Path) -> dict[Version, tuple[int, int]]:
    """The API version each xapi release tag (v1.249.3, v24.19.0…) reports: how a
    numbered release in a lifecycle maps onto the named releases, and the xapi
    versions each named release ran."""
    tags = subprocess.run(["git", "-C", str(repo), "tag"], capture_output=True, text=True,
                          check=True).stdout.split()
    tags = [t for t in tags if re.fullmatch(r"v?\d+\.\d+\.\d+", t)]
    found: dict[Version, tuple[int, int]] = {}
    # One `git cat-file --batch`, asked file by file: a tag's first file that declares
    # the version ends its search (no 500 KB datamodel.ml read for most tags).
    with subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE) as git:
        assert git.stdin is not None and git.stdout is not None
        for tag in tags:
            for path in API_VERSION_FILES:
                git.stdin.write(f"{tag}:{path}\n".encode())
                git.stdin.flush()
                header = git.stdout.readline().split()
                if header[-1] == b"missing":
                    continue
                body = git.stdout.read(int(header[2]) + 1).decode("utf-8", "replace")
                major = re.search(r"api_version_major\s*=\s*(\d+)L", body)
                minor = re.search(r"api_version_minor\s*=\s*(\d+)L", body)
                if major and minor:
                    found.setdefault(version(tag), (int(major.group(1)), int(minor.group(1))))
                    break
        git.stdin.close()
    return found


def place_numbered(table: dict[str, Any], tags: dict[Version, tuple[int, int]]) -> None:
    """Give each named release the xapi versions its API version was reported by, and
    each field introduced in a numbered xapi release the named release that first
    shipped it (the first whose API version is at least the one of that xapi)."""
    rels = table["releases"]
    for rel in rels:
        ran = sorted(v for v, api in tags.items() if api == (rel["version_major"], rel["version_minor"]))
        if ran:
            rel["xapi_tags"] = {"first": ".".join(map(str, ran[0])), "last": ".".join(map(str, ran[-1]))}
    ordered = sorted(tags)
    for fields in table["fields"].values():
        for entry in fields.values():
            intro = entry["introduced"]
            if not intro or not re.fullmatch(r"\d+\.\d+\.\d+", intro):
                continue
            before = [v for v in ordered if v <= version(intro)]
            api = tags[before[-1]] if before else None
            shipped = next((r["code_name"] for r in rels
                            if api and (r["version_major"], r["version_minor"]) >= api), None)
            entry["introduced_release"] = shipped


def git_reader(repo: Path, commit: str) -> Callable[[str], str | None]:
    """A file reader over `git show commit:path` (a work tree or a bare repository)."""

    def read(path: str) -> str | None:
        done = subprocess.run(["git", "-C", str(repo), "show", f"{commit}:{path}"],
                              capture_output=True, check=False)
        return done.stdout.decode() if done.returncode == 0 else None

    return read


def build(repo: Path, commit: str) -> dict[str, Any]:
    """The whole table for one xen-api commit."""
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", f"{commit}^{{commit}}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    read = git_reader(repo, sha)
    ev = Evaluator(read)
    types_src = read(f"{IDL}/datamodel_types.ml")
    lifecycle_src = read(f"{IDL}/datamodel_lifecycle.ml")
    if types_src is None or lifecycle_src is None:
        raise ParseError(f"{repo} at {sha} has no {IDL}/datamodel_types.ml or datamodel_lifecycle.ml")
    fields, unparsed = build_fields(ev, lifecycle_src)
    table = {
        "notes": NOTES,
        "source": {"repo": "https://github.com/xapi-project/xen-api", "commit": sha,
                   "generator": "scripts/datamodel_table.py"},
        "releases": releases(types_src),
        "unparsed": unparsed,
        "fields": {cls: dict(sorted(rows.items())) for cls, rows in sorted(fields.items())},
    }
    place_numbered(table, api_versions_of_tags(repo))
    return table


def dumps(table: dict[str, Any]) -> str:
    """JSON with one release and one field per line: small, and diffs read well."""
    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["{"]
    for key in ("notes", "source", "unparsed"):
        lines.append(f" {one(key)}: {one(table[key])},")
    lines.append(' "releases": [')
    lines.append(",\n".join(f"  {one(rel)}" for rel in table["releases"]))
    lines.append(" ],")
    lines.append(' "fields": {')
    classes = []
    for cls, rows in table["fields"].items():
        body = ",\n".join(f"   {one(name)}: {one(row)}" for name, row in rows.items())
        classes.append(f"  {one(cls)}: {{\n{body}\n  }}")
    lines.append(",\n".join(classes))
    lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path, help="a xen-api work tree or bare git directory")
    ap.add_argument("--commit", default="HEAD", help="the commit to read (default HEAD)")
    ap.add_argument("-o", "--output", type=Path,
                    default=Path(__file__).resolve().parent.parent / "checker" / "data" / "datamodel.json")
    args = ap.parse_args(argv)
    try:
        table = build(args.repo, args.commit)
    except (ParseError, subprocess.CalledProcessError) as exc:
        print(f"datamodel_table: {exc}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(dumps(table))
    tmp.replace(args.output)
    n = sum(len(t) for t in table["fields"].values())
    print(f"{args.output}: {len(table['fields'])} classes, {n} fields, "
          f"{len(table['unparsed'])} unparsed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
