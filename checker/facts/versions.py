"""Facts about what a host runs: platform and product versions, updates, port 80.

Versions compare as XAPI compares them (helpers.ml): integer tuples."""

from __future__ import annotations

import re
from typing import Any

from checker.facts.core import Missing, Obj, as_bool, fact, is_ref, version_tuple

HOTFIX_PORT80 = "XS82ECU1033"
HOTFIX_PORT80_NUMBER = 1033
HOTFIX_CH82CU1 = re.compile(r"XS82ECU(\d{4})")


@fact("host")
def version(o: Obj) -> tuple[int, ...]:
    """`software_version.platform_version` as an integer tuple (what XAPI compares)."""
    sv = o.field("software_version")
    if "platform_version" not in sv:
        raise Missing("host.software_version has no platform_version (XenServer before 6.0?)")
    return version_tuple(sv["platform_version"])


@fact("host")
def xapi_build(o: Obj) -> tuple[int, ...] | None:
    """`software_version.xapi_build` (else `xapi`) as a tuple; None when not reported."""
    sv = o.field("software_version")
    raw = sv.get("xapi_build") or sv.get("xapi")
    return version_tuple(raw) if raw else None


@fact("host")
def xen(o: Obj) -> tuple[int, ...] | None:
    """`software_version.xen` as a tuple; None when not reported."""
    raw = o.field("software_version").get("xen")
    return version_tuple(raw) if raw else None


@fact("host")
def product_version(o: Obj) -> tuple[int, ...]:
    """`software_version.product_version` as a tuple (7.1.2 is 7.1 CU2, 8.2.1 is 8.2 CU1)."""
    sv = o.field("software_version")
    if "product_version" not in sv:
        raise Missing("host.software_version has no product_version")
    return version_tuple(sv["product_version"])


def _brand(sv: dict[str, Any]) -> str:
    return str(sv.get("product_brand") or "").strip()


def _is_xcp_ng(sv: dict[str, Any]) -> bool:
    """XCP-ng runs the same XAPI, with numbers that overlap Citrix's (XCP-ng 8.2 reports
    product_version 8.2.1, as Citrix Hypervisor 8.2 CU1 does): told apart by the brand."""
    return _brand(sv).lower().replace("-", "") == "xcpng"


@fact("host", name="product")
def host_product(o: Obj) -> str:
    """The product label: "XenServer 8", "Citrix Hypervisor 8.2 CU1", "XCP-ng 8.2.1"…"""
    sv = o.field("software_version")
    pv = version_tuple(sv.get("product_version", ""))
    platform = version_tuple(sv.get("platform_version", ""))
    if _is_xcp_ng(sv):
        if not pv:
            raise Missing("host.software_version has no product_version")
        return f"{_brand(sv)} {'.'.join(map(str, pv))}"
    # Decided on the numbers: product_version when reported, else platform_version
    # (CH 8.1 is platform 3.1.0, so a (3, 1) prefix alone does not mean 8.2).
    if pv[:2] == (8, 4) or (not pv and platform[:2] == (3, 4)):
        return "XenServer 8"
    if pv[:2] == (8, 2) or (not pv and (3, 1, 50) <= platform[:3] < (3, 3)):
        cu = max(pv[2] if len(pv) > 2 else 0, 1 if platform[:3] == (3, 2, 1) else 0)
        return "Citrix Hypervisor 8.2" + (f" CU{cu}" if cu else "")
    brand = _brand(sv) or "XenServer"
    text = sv.get("product_version_text_short") or sv.get("product_version_text")
    if not text and pv:
        # No text fields (5.6 FP1 beta 5.6.900): show the number, not "5.6 CU900".
        text = ".".join(map(str, pv))
    if not text:
        raise Missing("host.software_version has no product_version")
    return f"{brand} {text}"


@fact("host")
def is_ch82cu1(o: Obj) -> bool:
    """The host runs Citrix Hypervisor 8.2 CU1 (product 8.2.1 / platform 3.2.1), not XCP-ng."""
    sv = o.field("software_version")
    pv = version_tuple(sv.get("product_version", ""))
    platform = version_tuple(sv.get("platform_version", ""))
    if not pv and not platform:
        raise Missing("host.software_version has neither product_version nor platform_version")
    return not _is_xcp_ng(sv) and (pv[:3] == (8, 2, 1) or platform[:3] == (3, 2, 1))


@fact("host")
def is_xcp_ng(o: Obj) -> bool:
    """The host runs XCP-ng (`software_version.product_brand`)."""
    return _is_xcp_ng(o.field("software_version"))


@fact("host")
def is_xs71cu2(o: Obj) -> bool:
    """The host runs XenServer 7.1 CU2 (product 7.1.2)."""
    return not _is_xcp_ng(o.field("software_version")) and product_version(o)[:3] == (7, 1, 2)


@fact("host")
def updates(o: Obj) -> list[str]:
    """Names of the installed updates and legacy patches (`XS82ECU1033`…)."""
    rec = o.record
    if "updates" not in rec and "patches" not in rec:
        raise Missing("host has neither updates nor patches")
    for field_name, cls in (("updates", "pool_update"), ("patches", "host_patch")):
        refs = [r for r in rec.get(field_name) or [] if is_ref(r)]
        if len(o.inv.get_many(cls, refs)) < len(refs):
            raise Missing(f"host.{field_name} names {cls} records that are not in the inventory")
    names = [u.get("name_label", "") for _, u in o.inv.get_many("pool_update", rec.get("updates", []))]
    for _, hp in o.inv.get_many("host_patch", rec.get("patches", [])):
        patch = o.inv.get("pool_patch", hp.get("pool_patch"))
        if patch and as_bool(hp.get("applied", True)):
            names.append(patch.get("name_label", ""))
    return sorted({n for n in names if n})


@fact("host")
def port80_hotfix(o: Obj) -> str | None:
    """The installed update that carries the port-80 fix: XS82ECU1033 or a later Citrix
    Hypervisor 8.2 CU1 hotfix (they are cumulative: XS82ECU1034 contains 1033); None if none."""
    numbered = [(int(m.group(1)), name) for name in updates(o)
                if (m := HOTFIX_CH82CU1.fullmatch(name)) and int(m.group(1)) >= HOTFIX_PORT80_NUMBER]
    return min(numbered)[1] if numbered else None


@fact("host")
def has_port80_hotfix(o: Obj) -> bool:
    """XS82ECU1033, or a later cumulative CH 8.2 CU1 hotfix, is installed."""
    return port80_hotfix(o) is not None


@fact("host")
def needs_port80(o: Obj) -> bool:
    """A cross-pool migration from this host goes over plain HTTP (port 80): Citrix Hypervisor
    8.2 CU1 without XS82ECU1033. XCP-ng 8.2 runs the same XAPI, but Citrix's hotfix does not
    exist for it, and whether its own updates carry the fix cannot be read from the pool."""
    sv = o.field("software_version")
    if _is_xcp_ng(sv) and product_version(o)[:2] == (8, 2):
        raise Missing("this XCP-ng 8.2 host runs the XAPI of Citrix Hypervisor 8.2 CU1, and "
                      "whether its updates include the fix Citrix shipped as XS82ECU1033 "
                      "(migration over HTTPS) cannot be read from the pool: check that the "
                      "host is fully updated, or open port 80 on the destination for the move")
    return is_ch82cu1(o) and not has_port80_hotfix(o)


@fact("host")
def https_only(o: Obj) -> bool | None:
    """Port 80 is closed on the management interface (`host.https_only`, xapi >= 22.27).

    None where the field does not exist (the catalogue's definition): such a xapi
    cannot close port 80, so it is open; rules treat None as open, not as unknown.
    """
    if "https_only" not in o.record:
        return None
    return as_bool(o.record["https_only"])


#: XAPI's API version of XenServer 7.0 "Dundee" (datamodel_types.ml release_order_full):
#: since then a VDI moves as a migrate_send operation, so a halted or suspended VM's disk
#: can be moved (copied offline); before, the VM had to run. Dundee's platform_version
#: is 2.1.0, for records without the API version.
API_DUNDEE = (2, 5)
PLATFORM_DUNDEE = (2, 1)


def at_least_dundee(o: Obj) -> bool:
    """The host runs XenServer 7.0 "Dundee" or later: by its API version, else its platform."""
    rec = o.record
    major, minor = rec.get("API_version_major"), rec.get("API_version_minor")
    if str(major).isdigit() and str(minor).isdigit():
        return (int(major), int(minor)) >= API_DUNDEE
    return version(o) >= PLATFORM_DUNDEE


@fact("pool")
def offline_vdi_moves(o: Obj) -> bool:
    """A disk of a halted or suspended VM can be moved (the master runs Dundee or later)."""
    master = o.target("host", "master")
    return at_least_dundee(master)


#: What XAPI compares to refuse a move to an older host (helpers.ml Checks.Migration): the
#: platform version, and since xapi 25.31.0 (commit cb8fad42ec) the xapi build and Xen too.
MIGRATION_VERSION_KEYS = ("platform_version", "xapi_build", "xen")
XAPI_COMPARES_ALL_KEYS = (25, 31, 0)


def not_older(versions: Any, than: Any, keys: int) -> bool:
    """XAPI's host_versions_not_decreasing over the first `keys` version keys (helpers.ml
    compare_all_versions): every one at least the other host's."""
    return all(a >= b for a, b in zip(versions[:keys], than[:keys], strict=True))


@fact("host")
def migration_versions(o: Obj) -> tuple[tuple[int, ...], ...]:
    """platform_version, xapi_build and xen as XAPI reads them for a migration: a key the
    host does not report counts as 0.0.0, as in helpers.ml `version_of`."""
    sv = o.field("software_version")
    return tuple(version_tuple(sv[k]) if sv.get(k) else (0, 0, 0) for k in MIGRATION_VERSION_KEYS)


def _xapi_version(o: Obj) -> tuple[int, ...]:
    sv = o.field("software_version")
    return version_tuple(sv.get("xapi_build") or sv.get("xapi") or "")


@fact("pool")
def migration_version_keys(o: Obj) -> int:
    """How many of MIGRATION_VERSION_KEYS the pool's XAPI compares: its master decides (it
    runs VM.pool_migrate and VM.assert_can_migrate), 3 from xapi 25.31.0, else 1."""
    master = o.target("host", "master")
    return 3 if _xapi_version(master) >= XAPI_COMPARES_ALL_KEYS else 1


@fact("pool")
def rolling_upgrade(o: Obj) -> bool:
    """The pool is in a rolling pool upgrade: `other_config:rolling_upgrade_in_progress`, or
    hosts that differ in platform_version or xapi, which db_gc.ml detect_rolling_upgrade
    turns into that key within a minute."""
    if "rolling_upgrade_in_progress" in (o.field("other_config") or {}):
        return True
    seen = set()
    for _, host in o.inv.all("host"):
        sv = host.get("software_version")
        if not isinstance(sv, dict):
            raise Missing(f"host {host.get('name_label', '?')} has no software_version")
        seen.add((sv.get("platform_version"), sv.get("xapi")))
    return len(seen) > 1
