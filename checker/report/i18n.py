"""Labels, dates and sizes for the report, in English and Japanese."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "doc_title": "Migration readiness report",
        "audit_title": "Pool readiness audit",
        "plan": "Change", "pools": "Pools", "pool": "Pool", "version": "XenServer version",
        "snapshot": "Inventory taken", "inventory_hash": "Inventory SHA-256",
        "policy_hash": "Policy set SHA-256", "rules_count": "rules", "tool": "migready version",
        "generated": "Generated", "verdict": "Verdict",
        "ready": "READY", "ready_with_warnings": "READY WITH WARNINGS", "blocked": "BLOCKED",
        "undecided": "UNDECIDED",
        "summary": "Summary", "operations": "Operations", "by_verdict": "Operations by verdict",
        "by_rule": "Blockers by rule", "capacity": "Capacity before and after the plan",
        "host_memory": "Host memory", "sr_space": "SR space", "free_before": "free now",
        "free_after": "free after the plan", "used_by_plan": "used by the plan", "total": "total",
        "blockers": "Blockers", "no_blockers": "No operation is blocked.",
        "undecided_ops": "Undecided: data missing", "warnings": "Warnings",
        "operation": "Operation", "kind": "Kind", "wave": "Wave", "from": "From", "to": "To",
        "estimate": "Estimated duration", "rule": "Rule", "severity": "Severity",
        "status": "Status", "subject": "Subject", "observed": "Observed",
        "remediation": "Remediation", "command": "Command to run (by you)",
        "evidence": "Evidence", "vm_cards": "Virtual machines", "host_cards": "Host evacuations",
        "passes": "passed checks", "all_findings": "All checks",
        "passing_ops": "Operations ready", "passing_ops_note": "Operations with every check "
        "passed or not applicable; their findings are in the results file.",
        "waivers": "Waiver register", "waiver_state": "State", "reason": "Reason",
        "approved_by": "Approved by", "ticket": "Ticket", "expires": "Expires",
        "applied": "applied", "expired": "expired", "unused": "unused", "invalid": "invalid",
        "no_waivers": "No waivers were given.",
        "since": "Since the last run", "new_failures": "New failures", "resolved": "Resolved",
        "persisting": "Persisting", "previous": "Previous run",
        "catalogue": "Appendix: rule catalogue", "seed_section": "Seed section",
        "runbook": "Appendix: runbook (xe commands; migready never runs them)",
        "notes": "Notes", "signoff": "Sign-off", "prepared_by": "Prepared by",
        "reviewed_by": "Reviewed by", "approved": "Approved by", "decision": "Decision",
        "date": "Date", "signature": "Signature", "name": "Name",
        "filter_all": "All", "search": "Search VMs, hosts, rules…", "host": "Host",
        "assumptions": "Assumptions", "live": "live migration", "storage": "storage live migration",
        "vdi": "live VDI migration", "evacuate": "host evacuation",
        "pass": "pass", "fail": "fail", "unknown": "unknown", "waived": "waived",
        "not_applicable": "not applicable", "blocker": "blocker", "warning": "warning", "info": "info",
        "page": "Page", "of": "of", "none": "none", "targets": "passed for", "advice": "advice",
        "hosts_ready": "hosts ready", "host_ready": "host ready", "destinations": "Destinations",
        "passes_counted": "passed checks, listed in the results file",
        "count_vm": "{n} VMs", "count_vm_one": "{n} VM", "count_host": "{n} hosts",
        "count_host_one": "{n} host", "count_host_to_evacuate": "{n} hosts to evacuate",
        "count_host_to_evacuate_one": "{n} host to evacuate", "count_finding": "{n} findings",
        "count_finding_one": "{n} finding", "affected": "Affected",
        "gaps": "Data gaps", "gaps_note": "Checks that could not be decided for want of data: "
        "collect it and check again.", "fact": "Missing fact", "scope": "Undecidable for",
        "waived_groups": "Waived", "evacuations": "Host evacuations", "vms_to_move": "VMs to move",
        "problems": "Rules", "passed_by_rule": "Passed checks by rule",
        "passed_by_rule_note": "Every finding, passes included, is in the results file.",
        "operations_detail": "Every operation", "more_messages": "and {n} more",
        "more_commands": "and {n} more commands (in the results file)",
        "no_gaps": "No check lacked data.", "every_host": "every other host",
        "group_changes": "Destinations changed", "added": "added", "removed": "no longer",
    },
    "ja": {
        "doc_title": "移行準備状況レポート",
        "audit_title": "プール移行準備状況の監査",
        "plan": "変更番号", "pools": "プール", "pool": "プール", "version": "XenServerのバージョン",
        "snapshot": "インベントリ取得日時", "inventory_hash": "インベントリのSHA-256",
        "policy_hash": "ポリシーセットのSHA-256", "rules_count": "規則", "tool": "migreadyのバージョン",
        "generated": "作成日時", "verdict": "判定",
        "ready": "移行可能", "ready_with_warnings": "移行可能(警告あり)", "blocked": "移行不可",
        "undecided": "判定不能",
        "summary": "概要", "operations": "操作", "by_verdict": "判定別の操作数",
        "by_rule": "規則別の阻害要因", "capacity": "計画前後のリソース",
        "host_memory": "ホストのメモリ", "sr_space": "SRの空き容量", "free_before": "現在の空き",
        "free_after": "計画実行後の空き", "used_by_plan": "計画で使用", "total": "合計",
        "blockers": "阻害要因", "no_blockers": "移行できない操作はありません。",
        "undecided_ops": "判定不能(データ不足)", "warnings": "警告",
        "operation": "操作", "kind": "種類", "wave": "ウェーブ", "from": "移行元", "to": "移行先",
        "estimate": "推定所要時間", "rule": "規則", "severity": "重要度",
        "status": "結果", "subject": "対象", "observed": "確認された値",
        "remediation": "対処方法", "command": "実行するコマンド(管理者が実行)",
        "evidence": "根拠", "vm_cards": "仮想マシン", "host_cards": "ホストの退避",
        "passes": "件の合格したチェック", "all_findings": "すべてのチェック",
        "passing_ops": "移行可能な操作", "passing_ops_note": "すべてのチェックに合格した(または対象外の)"
        "操作です。詳細は結果ファイルにあります。",
        "waivers": "例外承認の一覧", "waiver_state": "状態", "reason": "理由",
        "approved_by": "承認者", "ticket": "チケット", "expires": "有効期限",
        "applied": "適用", "expired": "期限切れ", "unused": "未使用", "invalid": "無効",
        "no_waivers": "例外承認は指定されていません。",
        "since": "前回の実行からの変化", "new_failures": "新たな不合格", "resolved": "解消",
        "persisting": "継続中", "previous": "前回の実行",
        "catalogue": "付録:規則の一覧", "seed_section": "ドキュメントの節",
        "runbook": "付録:実行手順(xeコマンド。migreadyは実行しません)",
        "notes": "注記", "signoff": "承認欄", "prepared_by": "作成者",
        "reviewed_by": "確認者", "approved": "承認者", "decision": "決定",
        "date": "日付", "signature": "署名", "name": "氏名",
        "filter_all": "すべて", "search": "仮想マシン、ホスト、規則を検索…", "host": "ホスト",
        "assumptions": "前提条件", "live": "ライブマイグレーション",
        "storage": "ストレージライブマイグレーション", "vdi": "ライブVDIマイグレーション",
        "evacuate": "ホストの退避",
        "pass": "合格", "fail": "不合格", "unknown": "不明", "waived": "例外承認済み",
        "not_applicable": "対象外", "blocker": "阻害", "warning": "警告", "info": "情報",
        "page": "ページ", "of": "/", "none": "なし", "targets": "合格した移行先", "advice": "助言",
        "hosts_ready": "台のホストに移行可能", "host_ready": "台のホストに移行可能", "destinations": "移行先",
        "passes_counted": "件の合格したチェック(結果ファイルに記載)",
        "count_vm": "仮想マシン{n}台", "count_vm_one": "仮想マシン{n}台", "count_host": "ホスト{n}台",
        "count_host_one": "ホスト{n}台", "count_host_to_evacuate": "退避するホスト{n}台",
        "count_host_to_evacuate_one": "退避するホスト{n}台", "count_finding": "{n}件",
        "count_finding_one": "{n}件", "affected": "影響範囲",
        "gaps": "データの不足", "gaps_note": "データが不足しているため判定できなかったチェックです。"
        "データを収集して再度チェックしてください。", "fact": "不足している情報", "scope": "判定不能の範囲",
        "waived_groups": "例外承認済み", "evacuations": "ホストの退避", "vms_to_move": "移行する仮想マシン",
        "problems": "規則", "passed_by_rule": "規則別の合格したチェック",
        "passed_by_rule_note": "合格を含むすべての結果は結果ファイルにあります。",
        "operations_detail": "すべての操作", "more_messages": "ほか{n}件",
        "more_commands": "ほか{n}件のコマンド(結果ファイルに記載)",
        "no_gaps": "データ不足で判定できなかったチェックはありません。", "every_host": "他のすべてのホスト",
        "group_changes": "移行先の変化", "added": "追加", "removed": "解消",
    },
}

#: Facts the seed states that no data can fail: printed as report notes.
NOTES: dict[str, list[str]] = {
    "en": [
        "Live migration is available in all versions of XenServer.",
        "A migrated VM keeps its identity and its performance history (CPU, network…).",
        "Storage is shared only within a pool, so live migration with shared storage stays "
        "within the pool; storage live migration moves VMs across pools.",
        "For performance, use a dedicated storage network rather than the management network "
        "for storage live migration.",
        "XenCenter: VM > Migrate to Server > Migrate VM wizard: choose the destination pool or "
        "server, the home server, the storage (all disks to one SR, the destination pool's "
        "default, or an SR per disk) and the storage network, then review and finish.",
        "To move a single disk: select its SR, open the Storage tab, select the virtual disk, "
        "click Move and choose the destination SR (its free space is shown).",
        "migready only reads: it never runs the commands this report suggests.",
    ],
    "ja": [
        "ライブマイグレーションは、XenServerのすべてのバージョンで使用できます。",
        "移行された仮想マシンの識別情報と、CPUやネットワークなどのパフォーマンス測定値の履歴は保持されます。",
        "ストレージを共有できるのは同一プールのホストのみのため、共有ストレージによるライブマイグレーションは"
        "プール内に限られます。プール間の移行にはストレージライブマイグレーションを使用します。",
        "パフォーマンス上の理由から、ストレージライブマイグレーションには管理ネットワークではなく"
        "専用のストレージネットワークを使用することをお勧めします。",
        "XenCenterでは[VM]メニューの[移行先サーバー]、[VMの移行ウィザード]で、移行先プールまたはサーバー、"
        "ホームサーバー、ストレージ(すべての仮想ディスクを同一SRへ、または仮想ディスクごとにSRを指定)、"
        "ストレージネットワークを選択し、内容を確認して[完了]をクリックします。",
        "仮想ディスクを1つだけ移動するには、SRの[ストレージ]タブで仮想ディスクを選択して[移動]をクリックし、"
        "移動先のSRを選択します(各SRの空き容量が表示されます)。",
        "migreadyは読み取りのみを行い、このレポートに記載したコマンドを実行することはありません。",
    ],
}


#: The results' assumption sentences (English, for scripts) as the report prints them.
ASSUMPTIONS_JA: dict[str, str] = {
    "Waves run in ascending order; the moves of one wave run at the same time.":
        "ウェーブは番号の小さい順に実行され、同じウェーブの操作は同時に実行されるものとします。",
    "Host memory and SR space a move uses stay used for every later move of the plan; "
    "memory freed by VMs leaving a host is credited only when the host is evacuated.":
        "ある操作で使用したホストのメモリとSRの容量は、計画内の以降の操作でも使用中とみなします。"
        "仮想マシンが移動して空いたメモリは、ホストを退避する場合にのみ計算に入れます。",
    "Evacuation plans as XAPI's host.evacuate does: the targets are the pool's other "
    "enabled hosts of the same or a newer version (live or not); each VM must be able to "
    "run on every target; the VMs are placed biggest first, each on the target with the "
    "most free memory.":
        "ホストの退避は、XAPIのhost.evacuateと同じ方法で計画します。移行先はプール内の他の有効な"
        "ホストのうち、同じまたは新しいバージョンのもの(稼働中かどうかを問いません)です。各仮想マシン"
        "はすべての移行先で実行できる必要があり、メモリの大きい仮想マシンから順に、空きメモリが最も"
        "多い移行先に配置します。",
    "Readiness audit: every move is judged on its own, as if it were the only one.":
        "準備状況の監査では、各操作をそれぞれ単独で実行する場合として判定します。",
}


#: Assumptions that name the plan's hosts: (English pattern, Japanese template).
ASSUMPTION_PATTERNS_JA: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Host evacuations in this order: (.*)\. Each step sees the memory that earlier "
                r"steps moved onto the other hosts; a host whose step is over \(upgraded or "
                r"serviced\) takes VMs again in later steps, and is never a target of its own step\."),
     "ホストの退避の順序: {0}。各ステップでは、それまでのステップで他のホストに移動したメモリを計算に"
     "入れます。ステップが終わったホスト(アップグレードまたは保守が完了したホスト)は、以降のステップで"
     "再び仮想マシンを受け入れます。ホストが自身のステップの移行先になることはありません。"),
]


def translate_assumption(text: str, lang: str) -> str:
    if lang != "ja":
        return text
    if text in ASSUMPTIONS_JA:
        return ASSUMPTIONS_JA[text]
    for pattern, template in ASSUMPTION_PATTERNS_JA:
        match = pattern.fullmatch(text)
        if match:
            return template.format(*(g.replace("wave", "ウェーブ") for g in match.groups()))
    return text


def label(lang: str, key: str) -> str:
    return LABELS[lang].get(key, LABELS["en"].get(key, key))


def counted(n: int, word: str, lang: str) -> str:
    """'1 VM', '508 VMs', '32 hosts'; Japanese counts its own way ('仮想マシン508台')."""
    return label(lang, f"count_{word}{'_one' if n == 1 else ''}").format(n=f"{n:,}")


def format_datetime(value: Any, lang: str) -> str:
    """ISO 8601 (or XAPI's 20261125T10:00:00Z) as the locale writes it."""
    if not value:
        return "—"
    text = str(value)
    parsed = None
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y%m%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        return text
    if lang == "ja":
        return f"{parsed.year}年{parsed.month}月{parsed.day}日 {parsed:%H:%M} UTC"
    return f"{parsed.day} {parsed:%b %Y %H:%M} UTC"


def format_date(value: Any, lang: str) -> str:
    text = format_datetime(value, lang)
    return text.split(" ")[0] if lang == "ja" else " ".join(text.split(" ")[:3])


def format_bytes(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    n = float(value)
    for unit, size in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2)):
        if abs(n) >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B" if lang == "en" else f"{n:,.0f} バイト"


def format_duration(seconds: Any, lang: str) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if lang == "ja":
        return f"{hours}時間{minutes:02d}分" if hours else f"{minutes}分{secs:02d}秒"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"
