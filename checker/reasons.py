"""Why a finding is unknown, in the report's language.

The facts and the planner give their reasons in English (tests pin that wording). A
Japanese report must not show them: each reason the code can produce has a pattern here
and a Japanese sentence, with the XenAPI names (`VM.memory_overhead`, `dst_host.free_memory`),
object names and values it quotes kept as they are. Reasons nest ("path: reason", "(reason)",
"a; b"), so a group named `why…` is translated again, and a list joined with "; " is
translated item by item. A reason no pattern knows gets a generic Japanese sentence that
still names the fields it mentions; `untranslated` tells the tests which ones those are.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: A fact's path in a rule: `dst_host.free_memory`, `op.dst_free_memory`, `VDI[disk 1].sr`.
_PATH = r"(?:[^\s:\[\]]|\[[^\]]*\])+"

#: (English reason, Japanese sentence). Named groups are copied into the sentence; those
#: named `why…` are reasons themselves and are translated first, `obj` is a class named as
#: a kind of object (`_OBJECT_WORDS`). More specific first.
_JA_TEXT: tuple[tuple[str, str], ...] = (
    # -- the outer shapes first, so that a name in them is never taken for a reason's words --
    # A rule's reading of a fact (evaluate._reason, UnknownFact): the path, then why.
    (rf"(?P<path>{_PATH}): (?P<why>.*)", "{path}: {why}"),
    # A plan fact from an object's fact (evaluate._value).
    (r"(?P<obj>\w+) '(?P<name>.*)' (?P<fact>\w+): (?P<why>.*)", "{obj}「{name}」の{fact}: {why}"),
    # -- what a rule could not read (evaluate._reason, scope.MISSING, evaluate._ABSENT) ------
    (r"not established for this move", "この移動については確定していません"),
    # What a rule's expression raised is Python's English: the English report quotes it.
    (r"not established: .*", "規則の式を評価できませんでした(詳しくは英語の報告書を参照してください)"),
    (r"the move has no destination host \(no host could be chosen for it\)",
     "移動先のホストがありません(移動先に選べるホストがありませんでした)"),
    (r"the VM runs on no host \(it is not running\)",
     "仮想マシンはどのホストでも動作していません(実行中ではありません)"),
    (r"the move has no destination pool", "移動先のプールがありません"),
    # -- evacuation planning (evaluate.py) ----------------------------------------------------
    (r"could not establish (?P<why>.*)", "次のことを確定できません: {why}"),
    (r"whether VM '(?P<vm>.*)' can run on host '(?P<host>.*)'",
     "仮想マシン「{vm}」がホスト「{host}」で動作できるかどうか"),
    (r"whether host '(?P<host>.*)' can take VMs \((?P<why>.*)\)",
     "ホスト「{host}」が仮想マシンを受け入れられるかどうか({why})"),
    (r"the free memory of host '(?P<host>.*)' \((?P<why>.*)\)", "ホスト「{host}」の空きメモリ({why})"),
    (r"the memory of VM '(?P<vm>.*)' \((?P<why>.*)\)", "仮想マシン「{vm}」のメモリ({why})"),
    (r"HA is on with a failover plan and overcommitment not allowed, so XAPI refuses the "
     r"evacuation if disabling host '(?P<host>.*)' would break the plan "
     r"\((?P<error>\w+)\); migready does not recompute XAPI's failover plan: check that "
     r"(?P<command>`[^`]*`) exceeds the pool's (?P<param>\S+), or allow overcommitment for the "
     r"upgrade",
     "HAが有効でフェイルオーバー計画があり、オーバーコミットが許可されていないため、ホスト「{host}」を"
     "無効にすると計画が崩れる場合、XAPIは退避を拒否します({error})。migreadyはXAPIのフェイルオーバー"
     "計画を再計算しません: {command}の値がプールの{param}を上回ることを確認するか、アップグレードの間"
     "オーバーコミットを許可してください"),
    # -- records and fields (facts/core.py) ---------------------------------------------------
    (r"(?P<cls>\S+) was not collected \((?P<why>.*)\)", "{cls}は収集されていません({why})"),
    (r"(?P<what>\S+|VBD \S+) points at (?P<cls>\S+) (?P<ref>\S+), which is not in the inventory",
     "{what}が指す{cls} {ref}はインベントリにありません"),
    (r"VIF (?P<device>.*?) points at network (?P<ref>\S+), not in the inventory",
     "VIF {device}が指すネットワーク{ref}はインベントリにありません"),
    (r"(?P<field>\S+) names (?P<cls>\S+) (?P<ref>\S+), which is not in the inventory",
     "{field}が指す{cls} {ref}はインベントリにありません"),
    (r"host\.(?P<field>\S+) names (?P<cls>\S+) records that are not in the inventory",
     "host.{field}がインベントリにない{cls}のレコードを指しています"),
    (r"(?P<cls>\S+) (?P<ref>\S+) is not in the inventory", "{cls} {ref}はインベントリにありません"),
    (r"(?P<field>\S+) is not in the inventory", "{field}がインベントリにありません"),
    (r"neither (?P<a>\S+) nor (?P<b>\S+) is in the inventory", "{a}も{b}もインベントリにありません"),
    (r"(?P<what>\S+) is not a number \((?P<value>.*)\)", "{what}が数値ではありません({value})"),
    # -- class gaps: why a class was not collected (collector.py, dump.py) --------------------
    (r"not present in this XenServer version", "このバージョンのXenServerにはありません"),
    (r"not present in this file", "このファイルにはありません"),
    (r"not present in this dump", "このダンプにはありません"),
    (r"(?P<method>\S+\.get_all_records) failed: (?P<details>.*)", "{method}が失敗しました: {details}"),
    # -- hosts (facts/host.py, facts/versions.py) ---------------------------------------------
    (r"host\.cpu_info has no (?P<key>\S+) \(XenServer before 7\.x reports only '(?P<only>\w+)'\)",
     "host.cpu_infoに{key}がありません(7.xより前のXenServerは'{only}'のみを報告します)"),
    (r"host\.software_version has no platform_version \(XenServer before 6\.0\?\)",
     "host.software_versionにplatform_versionがありません(6.0より前のXenServerでしょうか)"),
    (r"the management PIF has no (?P<field>\S+)", "管理PIFに{field}がありません"),
    (r"the management PIF reports speed (?P<speed>.*) \(unknown\)",
     "管理PIFが報告する速度は{speed}です(不明)"),
    (r"no management PIF on this host in the inventory", "インベントリにこのホストの管理PIFがありません"),
    (r"host has neither updates nor patches", "ホストにhost.updatesもhost.patchesもありません"),
    (r"host (?P<name>.*) has no software_version", "ホスト「{name}」にsoftware_versionがありません"),
    (r"this XCP-ng 8\.2 host runs the XAPI of Citrix Hypervisor 8\.2 CU1, and whether its "
     r"updates include the fix Citrix shipped as (?P<hotfix>\w+) \(migration over HTTPS\) "
     r"cannot be read from the pool: check that the host is fully updated, or open port 80 on "
     r"the destination for the move",
     "このXCP-ng 8.2ホストはCitrix Hypervisor 8.2 CU1のXAPIを実行しています。Citrixが{hotfix}"
     "(HTTPSによる移行)として提供した修正がアップデートに含まれているかどうかはプールから読み取れません:"
     " ホストが最新の状態に更新されていることを確認するか、移行先でポート80を開けてください"),
    # -- pools (facts/pool.py) ----------------------------------------------------------------
    (r"pool\.restrictions has no (?P<key>\S+) \(nor do the hosts' license_params\)",
     "pool.restrictionsに{key}がありません(ホストのlicense_paramsにもありません)"),
    (r"the pool master reports no software_version\.xapi_build or xapi: whether its XAPI "
     r"refuses a guest that cannot suspend depends on the version",
     "プールマスターがsoftware_version.xapi_buildもsoftware_version.xapiも報告していません:"
     " サスペンドできないゲストをXAPIが拒否するかどうかはバージョンによって異なります"),
    (r"no restrict_xen_motion flag: XenServer 7\.0's XAPI refused live migration without it, "
     r"7\.1's and later allow it; this pool's release is (?P<release>.*)",
     "restrict_xen_motionフラグがありません: XenServer 7.0のXAPIはこのフラグがないとライブ"
     "マイグレーションを拒否し、7.1以降は許可します。このプールのリリースは{release}です"),
    (r"pool\.restrictions is not in the inventory, nor is every host's license_params",
     "pool.restrictionsがインベントリになく、すべてのホストのlicense_paramsもありません"),
    # -- networks (facts/network.py) ----------------------------------------------------------
    (r"PIF (?P<pif>.*) has primary_address_type (?P<kind>.*), neither IPv4 nor IPv6",
     "PIF {pif}のprimary_address_typeは{kind}で、IPv4でもIPv6でもありません"),
    (r"VIF (?P<ref>\S+) of the VM or its network is not in the inventory",
     "仮想マシンのVIF {ref}またはそのネットワークがインベントリにありません"),
    (r"VIF (?P<ref>\S+) of snapshot (?P<name>.*) or its network is not in the inventory",
     "スナップショット「{name}」のVIF {ref}またはそのネットワークがインベントリにありません"),
    # -- storage (facts/storage.py) -----------------------------------------------------------
    (r"SR\.physical_size is 0 \(not reported by this SR\)",
     "SR.physical_sizeが0です(このSRは報告していません)"),
    (r"the inventory has no SM table", "インベントリにSMのテーブルがありません"),
    (r"no SM driver record for SR type (?P<type>.*)", "SRタイプ{type}のSMドライバーのレコードがありません"),
    # -- VMs and their guests (facts/vm.py) ---------------------------------------------------
    (r"the VM is not running, so its guest agent does not report",
     "仮想マシンが実行中ではないため、ゲストエージェントが報告していません"),
    (r"the VM has no guest metrics \(no guest agent\)",
     "仮想マシンにゲストメトリクスがありません(ゲストエージェントがありません)"),
    (r"cannot read a kernel version from uname (?P<uname>.*)",
     "uname {uname}からカーネルのバージョンを読み取れません"),
    (r"a VIF is on SR-IOV network '(?P<network>.*)' \(a NIC virtual function\): whether it can "
     r"migrate is not confirmed \(see \"Use SR-IOV enabled NICs\"\); confirm it, then waive this "
     r"finding",
     "VIFがSR-IOVネットワーク「{network}」(NICの仮想機能)上にあります。移行できるかどうかは"
     "確認されていません(「SR-IOV対応NICの使用」を参照): 確認してから、この検出結果を免除してください"),
    # -- vGPUs (facts/gpu.py) -----------------------------------------------------------------
    (r"(?P<field>\S+) is null: the vGPU is not running", "{field}が空の参照です: vGPUが動作していません"),
    (r"the inventory of host '(?P<host>.*)' lacks its pGPUs \(a recorded gap\)",
     "ホスト「{host}」のインベントリにpGPUがありません(記録された欠落)"),
    (r"pGPU (?P<pgpu>\S+) of host '(?P<host>.*)' holds vGPUs of other types: whether "
     r"(?P<vgpu>.*) may join them is recorded only inside XAPI \((?P<field>\S+)\)",
     "ホスト「{host}」のpGPU {pgpu}は別の型のvGPUを保持しています: {vgpu}が加われるかどうかは"
     "XAPIの内部({field})にのみ記録されています"),
    (r"host '(?P<host>.*)' has room \((?P<why>.*)\), but whether its NVIDIA driver accepts this "
     r"VM's running vGPU is decided by NVIDIA's gpumon from the pGPU's compatibility metadata at "
     r"migration time, which cannot be judged offline: check that both hosts run NVIDIA vGPU "
     r"software of a release that supports migration between them, then waive this finding",
     "ホスト「{host}」には空きがあります({why})。ただし、この仮想マシンの実行中のvGPUをNVIDIA"
     "ドライバーが受け入れるかどうかは、移行時にNVIDIAのgpumonがpGPUの互換性メタデータから判断する"
     "ため、オフラインでは判定できません: 両ホストが相互の移行に対応したリリースのNVIDIA vGPU"
     "ソフトウェアを実行していることを確認してから、この検出結果を免除してください"),
    (r"(?P<vgpu>.*) on pGPU (?P<pgpu>\S+) \(room for (?P<room>.*)\)",
     "pGPU {pgpu}上の{vgpu}(空き{room})"),
    # -- the generic shapes of a field last ------------------------------------------------
    (r"(?P<field>\S+) has neither (?P<a>\S+) nor (?P<b>\S+)", "{field}に{a}も{b}もありません"),
    (r"(?P<field>\S+) has no (?P<key>\S+)", "{field}に{key}がありません"),
    (r"(?P<field>\S+) is null", "{field}が空の参照です"),
    (r"(?P<field>\S+) is empty", "{field}が空です"),
    (r"(?P<field>\S+) is 0", "{field}が0です"),
)

#: A class named as the kind of object (group `obj`), in the words the rules' messages use.
_OBJECT_WORDS = {"VM": "仮想マシン", "host": "ホスト", "pool": "プール", "network": "ネットワーク",
                 "SR": "SR", "VDI": "VDI"}

_JA = tuple((re.compile(pattern, re.DOTALL), template) for pattern, template in _JA_TEXT)

#: Field paths a reason names: `VM.memory_overhead`, `host.cpu_info`, `dst_host.free_memory`.
_FIELD = re.compile(r"\b[A-Za-z_]\w*(?:\.\w+)+")


def translate(reason: str, lang: str) -> str:
    """`reason` in `lang`: English is the reasons' own language; Japanese by the table."""
    return reason if lang != "ja" else _japanese(reason)


@lru_cache(maxsize=4096)
def _japanese(reason: str) -> str:
    """Cached: an audit gives the same reason to many findings (one per destination), and
    matching the table costs about 0.1 ms."""
    return _ja(reason, [])


def untranslated(reason: str) -> list[str]:
    """The parts of `reason` that no Japanese pattern matches (they get the generic
    sentence): empty for every reason the code produces, which the tests hold it to."""
    misses: list[str] = []
    _ja(reason, misses)
    return misses


def _ja(text: str, misses: list[str]) -> str:
    # A list first: an object's name may hold anything, so "the memory of VM 'a' (…); the
    # memory of VM 'b' (…)" would also match the one-item pattern. A single reason with a
    # "; " of its own (HA's, SR-IOV's) is one whose parts do not all match.
    parts = _top_level_parts(text)
    if len(parts) > 1:
        trial: list[str] = []
        joined = "、".join(_ja(part, trial) for part in parts)
        if not trial:
            return joined
    for pattern, template in _JA:
        match = pattern.fullmatch(text)
        if match is not None:
            return template.format(**{name: _group(name, value, misses)
                                      for name, value in match.groupdict().items()})
    if len(parts) > 1:
        return "、".join(_ja(part, misses) for part in parts)
    misses.append(text)
    fields = "、".join(dict.fromkeys(_FIELD.findall(text)))
    named = f"({fields})" if fields else ""
    return f"判定に必要なデータを確定できません{named}。詳しくは英語の報告書を参照してください"


def _group(name: str, value: str, misses: list[str]) -> str:
    """A matched group as it goes into the Japanese sentence: a reason translated, a class
    named as a kind of object, anything else (a field, a name, a value) as it is."""
    if name.startswith("why"):
        return _ja(value, misses)
    if name == "obj":
        return _OBJECT_WORDS.get(value, value)
    return value


def _top_level_parts(text: str) -> list[str]:
    """`text` split at each "; " outside parentheses (a list of reasons, each of which may
    carry its own "(a; b)")."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0 and text.startswith("; ", i):
            parts.append(text[start:i])
            start = i + 2
    return [*parts, text[start:]]
