"""Unknown findings' reasons in Japanese (checker/reasons.py): every reason the code can
produce, read from the source itself, has a Japanese sentence; a Japanese report of real
pools with many unknowns shows no English reason."""

from __future__ import annotations

import ast
import itertools
import re
from functools import cache
from pathlib import Path

import pytest
from conftest import REALDATA
from markupsafe import escape

from checker.check import CheckOptions, run_check
from checker.collector import NOT_IN_VERSION
from checker.dump import import_file
from checker.inventory import CLASSES, save_document
from checker.reasons import translate, untranslated
from checker.report import build_context, render_html

CHECKER = Path(__file__).resolve().parents[1] / "checker"

#: Why a class was not collected (ClassGap's reason): the collector's and the dump's words.
GAP_REASONS = (NOT_IN_VERSION, "not present in this file", "not present in this dump",
               "VGPU_type.get_all_records failed: PERMISSION_DENIED")

#: A sample for each expression a reason's f-string interpolates (by its source text).
#: Names carry spaces and parentheses, as real ones do. A new expression must be added here.
SAMPLES: dict[str, tuple[str, ...]] = {
    "host.name": ("grimsby",), "dst.name": ("grimsby",), "other.name": ("chester",),
    "target.name": ("chester",), "obj.name": ("Debian Etch 4.0 (1)",),
    "vm.name": ("Debian Etch 4.0 (1)",), "net.name": ("SR-IOV net 2",),
    "host.get('name_label', '?')": ("grimsby",),
    "obj.cls": ("VM",), "self.cls": ("VM",), "o.cls": ("VM",), "exc.cls": ("VGPU_type",),
    "cls": ("VDI",), "name": ("memory_overhead",), "field_name": ("VBDs",),
    "key": ("restrict_xen_motion",), "what": ("VM.memory_static_max",),
    "self.ref": ("OpaqueRef:4f1c9d2e",), "ref": ("OpaqueRef:4f1c9d2e",),
    "type_ref": ("OpaqueRef:77aa01b3",), "net_ref": ("OpaqueRef:0c3e5f11",),
    "missing": ("OpaqueRef:9d0e2a44",), "undecided[0]": ("0000:06:00.0",),
    "entry['vgpu']": ("GRID M60-1Q",),
    "placed": ("GRID M60-1Q on pGPU 0000:06:00.0 (room for 3); "
               "GRID M60-2Q on pGPU 0000:07:00.0 (room for 1)",),
    "value": ("12GiB",), "speed": ("0",), "driver": ("gfs2",), "uname": ("Linux 2.6",),
    "vbd.get('userdevice', '?')": ("1",), "vif.get('device', '?')": ("0",),
    "exc.path": ("dst_host.free_memory",),
    "exc": ("'NoneType' object is not iterable",),
    # An object's Missing reason, and a class gap's reason: reasons within reasons.
    "exc.reason": ("VM.memory_overhead is not in the inventory", "host.metrics is null",
                   *GAP_REASONS),
    # A plan fact's reason (evaluate._value): the object, its fact, the fact's reason.
    "size.reason": ("VM 'Debian Etch 4.0 (1)' evacuation_memory: VM.memory_overhead is not "
                    "in the inventory",),
    "room.reason": ("host 'chester' free_memory: host.metrics points at host_metrics "
                    "OpaqueRef:c01a7b91, which is not in the inventory",),
    "unknown.reason": ("host 'chester' enabled: host.enabled is not in the inventory",),
    "method": ("VGPU_type.get_all_records",), "' '.join(details)": ("PERMISSION_DENIED",),
    "pif.name": ("eth1",), "kind": ("'none'",), "owner": ("the VM", "snapshot before upgrade"),
    "rel or 'unknown'": ("XenServer 7.0 (dundee)",),
}

#: Reason arguments that are not templates: they pass on a reason made elsewhere.
PASSED_ON = {"exc.reason", "reason"}

#: Names the Japanese keeps in Latin letters: products, XAPI, the GPU words XenCenter uses,
#: XenAPI classes, and the map keys a reason names alone (host.cpu_info's, os_version's).
PROPER_NOUNS = {"XenServer", "Citrix", "Hypervisor", "NVIDIA", "XAPI", "HTTPS", "gpumon",
                "migready", "vGPU", "pGPU", *CLASSES, "vendor", "uname"}


def _parsed() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8")))
            for path in sorted(CHECKER.rglob("*.py"))]


def _fill(node: ast.expr, extra: dict[str, tuple[str, ...]]) -> list[str]:
    """Every string the expression makes with the samples for its placeholders."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a, b in itertools.product(_fill(node.left, extra), _fill(node.right, extra))]
    if isinstance(node, ast.JoinedStr):
        pieces = [_fill(part, extra) for part in node.values]
        return ["".join(combo) for combo in itertools.product(*pieces)]
    if isinstance(node, ast.FormattedValue):
        values = _fill(node.value, extra)
        return [repr(v) for v in values] if node.conversion == ord("r") else values
    source = ast.unparse(node)
    samples = {**SAMPLES, **extra}
    assert source in samples, f"no sample for {{{source}}}: add one to SAMPLES"
    return list(samples[source])


def _doubts(modules: list[tuple[Path, ast.Module]]) -> tuple[str, ...]:
    """The evacuation planner's doubts (f-strings put into `doubts`), filled in."""
    out: list[str] = []
    for _, tree in modules:
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and ast.unparse(node.func) == "doubts.append"):
                out += _fill(node.args[0], {})
            elif isinstance(node, ast.AugAssign) and ast.unparse(node.target) == "doubts":
                assert isinstance(node.value, ast.ListComp)
                out += _fill(node.value.elt, {})
    assert len(out) >= 4
    return tuple(out)


@cache
def reason_samples() -> tuple[tuple[str, str], ...]:
    """(where, reason) for every reason the code can produce: the arguments of Missing,
    Unestablished and ClassGap, the move's absent objects (`_ABSENT`), what `_reason` makes
    of an unknown fact, and the reasons a class is not collected."""
    modules = _parsed()
    doubts = _doubts(modules)
    # The planner's reason lists its doubts, several at a time.
    extra = {"'; '.join(sorted(set(doubts))[:5])": (*doubts, "; ".join(doubts))}
    found: list[tuple[str, str]] = [("class gap", r) for r in GAP_REASONS]
    for path, tree in modules:
        for node in ast.walk(tree):
            where = f"{path.relative_to(CHECKER.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in {"Missing", "Unestablished", "ClassGap"} and node.args:
                arg = node.args[-1] if node.func.id == "ClassGap" else node.args[0]
                if isinstance(arg, (ast.Name, ast.Attribute)):
                    assert ast.unparse(arg) in PASSED_ON, f"{where}: a reason not made here"
                    continue
                found += [(where, r) for r in _fill(arg, extra)]
            elif isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "_ABSENT":
                assert isinstance(node.value, ast.Dict)
                found += [(where, r) for value in node.value.values for r in _fill(value, {})]
            elif isinstance(node, ast.FunctionDef) and node.name == "_reason":
                found += [(where, r) for ret in ast.walk(node) if isinstance(ret, ast.Return)
                          and isinstance(ret.value, ast.JoinedStr) for r in _fill(ret.value, extra)]
    return tuple(found)


def _sample_words(reason: str) -> set[str]:
    """The Latin words a Japanese reason may keep: those of the names and values it quotes."""
    values = itertools.chain.from_iterable(SAMPLES.values())
    return {w for v in values if v in reason for w in re.findall(r"[A-Za-z]{4,}", v)}


def english_words(japanese: str, allowed: set[str]) -> list[str]:
    """Latin words of 4+ letters that are not identifiers (a token with `.`, `_`, `-`, `:`,
    in backquotes or quotes), quoted names, or proper nouns."""
    text = re.sub(r"`[^`]*`|'[^']*'|「[^」]*」", " ", japanese)
    words = []
    for token in re.findall(r"[A-Za-z0-9_.:\-]+", text):
        if re.search(r"[._:\-]", token):
            continue
        words += [w for w in re.findall(r"[A-Za-z]{4,}", token) if w not in allowed | PROPER_NOUNS]
    return words


def test_every_reason_in_the_source_is_found():
    # The walk sees the sites the brief counted (about 70): a broken walk must not pass.
    assert len(reason_samples()) >= 70
    reasons = {r for _, r in reason_samples()}
    assert "VM.memory_overhead is not in the inventory" in reasons
    assert "the move has no destination host (no host could be chosen for it)" in reasons
    assert any(r.startswith("could not establish whether host 'chester'") for r in reasons)


@pytest.mark.parametrize("where,reason", reason_samples(), ids=lambda v: v[:60])
def test_every_reason_has_japanese_words(where, reason):
    japanese = translate(reason, "ja")
    assert untranslated(reason) == [], f"{where}: no Japanese pattern for {reason!r}"
    assert english_words(japanese, _sample_words(reason)) == [], f"{where}: {japanese}"
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", japanese), japanese


def test_english_is_returned_as_is():
    reason = "dst_host.free_memory: host.metrics is null"
    assert translate(reason, "en") == reason


def test_fields_and_names_are_kept_and_nesting_is_translated_part_by_part():
    reason = ("op.evacuation_decided: could not establish the free memory of host 'grimsby' "
              "(host 'grimsby' free_memory: host.metrics is null); the memory of VM "
              "'Debian (1)' (VM 'Debian (1)' evacuation_memory: VM.memory_overhead is not in "
              "the inventory)")
    assert translate(reason, "ja") == (
        "op.evacuation_decided: 次のことを確定できません: ホスト「grimsby」の空きメモリ"
        "(ホスト「grimsby」のfree_memory: host.metricsが空の参照です)、仮想マシン「Debian (1)」の"
        "メモリ(仮想マシン「Debian (1)」のevacuation_memory: VM.memory_overheadがインベントリに"
        "ありません)")


def test_a_name_with_a_semicolon_is_not_taken_for_a_list():
    reason = "the memory of VM 'a; b' (VM.memory_overhead is not in the inventory)"
    assert translate(reason, "ja") == \
        "仮想マシン「a; b」のメモリ(VM.memory_overheadがインベントリにありません)"


def test_an_unknown_reason_gets_a_japanese_sentence_naming_its_fields_and_is_reported():
    reason = "VM.frobnicator has gone fishing"
    japanese = translate(reason, "ja")
    assert "VM.frobnicator" in japanese and "fishing" not in japanese
    assert untranslated(reason) == [reason]
    # Only the unknown part of a composite reason is reported.
    assert untranslated(f"dst_host.x: {reason}") == [reason]


# ---------------------------------------------------------------------------------
# End to end: the Japanese report of real pools with many unknowns
# ---------------------------------------------------------------------------------

# The two real pools with the most unknowns (cowley1.xml has few).
@pytest.mark.parametrize("dump", ["state2.xml", "Cowley-db.xml"])
def test_japanese_report_of_a_real_pool_has_no_english_reason(tmp_path, dump):
    path = tmp_path / f"{dump}.json"
    save_document(import_file(REALDATA / "xenadmin" / dump), path)
    results = run_check(CheckOptions([path]))
    unknowns = [f for f in results["findings"] if f["status"] == "unknown"]
    # The pools lack fields their own XAPI had (memory_overhead, cpu_count, host metrics…):
    # these rules' reasons, of several kinds, are among those translated.
    assert {"CPU-003", "GEN-005", "LIVE-001", "MEM-001"} <= {f["rule"] for f in unknowns}
    page = render_html(build_context(results, lang="ja"))
    for f in unknowns:
        english = f["message"].removeprefix("Could not be decided: ")
        japanese = f["messages"]["ja"]
        assert english != f["message"] and untranslated(english) == [], english
        assert japanese == f"判定できません: {translate(english, 'ja')}"
        assert english not in japanese
        assert escape(japanese) in page  # as the template escapes it
        assert escape(english) not in page
    assert "Could not be decided" not in page
