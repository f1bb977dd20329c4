"""XAPI releases, the release each field appeared in, and what a host runs.

A pool whose XAPI predates a field never had it: it behaved as the field's default
(XAPI's upgrade fills the default in), so the field's absence is not missing data.
The table (checker/data/datamodel.json) is generated from xen-api's datamodel by
scripts/datamodel_table.py; this module only reads it. Pure: no I/O beyond the
package data.

A host is placed by its API version (`API_version_major/minor`, which XAPI derives
from the datamodel's release list), checked against what `software_version` says:
`xencenter_max` (the API version again), the product numbers read with the brand
(XCP-ng 8.2.1 embeds Citrix Hypervisor 8.2's XAPI but is not CH 8.2 CU1), and
`platform_version`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

Version = tuple[int, ...]


@dataclass(frozen=True, order=True)
class Release:
    """A named XAPI release; releases compare by their place in XAPI's release order."""

    order: int
    code_name: str = field(compare=False)
    branding: str = field(compare=False)
    api_version: tuple[int, int] = field(compare=False)
    #: The first and last xen-api tags reporting this API version (None before tags did).
    xapi_tags: tuple[Version, Version] | None = field(compare=False, default=None)

    def __str__(self) -> str:
        return f"{self.branding} ({self.code_name})"


@dataclass(frozen=True)
class Product:
    """What a host says it is: brand and numbers, and the label migready shows."""

    brand: str
    version: Version
    label: str


def _version(text: Any) -> Version:
    """"8.2.1" -> (8, 2, 1); the first part that is not a number ends it."""
    out: list[int] = []
    for part in str(text or "").split("."):
        if not part.isdigit():
            break
        out.append(int(part))
    return tuple(out)


@functools.cache
def _table() -> dict[str, Any]:
    with resources.files("checker").joinpath("data/datamodel.json").open(encoding="utf-8") as fh:
        table: dict[str, Any] = json.load(fh)
    return table


@functools.cache
def releases() -> tuple[Release, ...]:
    """Every named release, oldest first."""
    out = []
    for i, rel in enumerate(_table()["releases"]):
        tags = rel.get("xapi_tags")
        out.append(Release(i, rel["code_name"], rel["branding"],
                           (rel["version_major"], rel["version_minor"]),
                           (_version(tags["first"]), _version(tags["last"])) if tags else None))
    return tuple(out)


def release(code_name: str) -> Release:
    """The release of that code name (KeyError for a name the datamodel lacks)."""
    for rel in releases():
        if rel.code_name == code_name:
            return rel
    raise KeyError(code_name)


@functools.cache
def _numbers(key: str) -> tuple[tuple[Version, Release], ...]:
    """(number, release) pairs of one list in the table (product_versions, xcp_ng…)."""
    by_name = {rel.code_name: rel for rel in releases()}
    return tuple((_version(v), by_name[row["code_name"]])
                 for row in _table()["releases"] for v in row.get(key, []))


def _latest(candidates: list[Release]) -> Release | None:
    """Releases sharing a number (8.2 and its hotfix 2 are both API 2.15): the latest,
    so that no field the host may have is taken as predating it."""
    return max(candidates) if candidates else None


def _by_api(major: Any, minor: Any) -> Release | None:
    try:
        api = (int(major), int(minor))
    except (TypeError, ValueError):
        return None
    return _latest([rel for rel in releases() if rel.api_version == api])


def _is_xcp_ng(brand: str) -> bool:
    return brand.strip().lower().replace(" ", "-").startswith("xcp-ng")


def release_of(host: dict[str, Any]) -> Release | None:
    """The XAPI release a host record runs, or None when nothing on it says.

    Witnesses: the API version, software_version's xencenter_max (the same number),
    the product numbers read with the brand, and platform_version when no product
    number is known. Live hosts agree; when they do not, the oldest wins: hand-edited
    test dumps (XenCenter's) raised API_version to 2.0 on a 6.1 (Tampa) host, and a
    host claims no field by looking newer than it is.
    """
    sv = host.get("software_version")
    sv = sv if isinstance(sv, dict) else {}
    found = [_by_api(host.get("API_version_major"), host.get("API_version_minor"))]
    xc = re.fullmatch(r"(\d+)\.(\d+)", str(sv.get("xencenter_max", "")))
    if xc:
        found.append(_by_api(*xc.groups()))
    pv = _version(sv.get("product_version"))
    if pv:
        if _is_xcp_ng(str(sv.get("product_brand", ""))):
            found.append(_latest([rel for v, rel in _numbers("xcp_ng") if v[:2] == pv[:2]]))
        else:
            found.append(_latest([rel for v, rel in _numbers("product_versions") if v == pv[:3]]))
    else:
        platform = _version(sv.get("platform_version"))
        found.append(_latest([rel for v, rel in _numbers("platform_versions") if v[:2] == platform[:2]]))
    known = [rel for rel in found if rel is not None]
    return min(known) if known else None


def product_of(software_version: dict[str, Any]) -> Product | None:
    """The product a host's software_version names, brand first: "XCP-ng 8.2.1",
    "Citrix Hypervisor 8.2 CU1", "XenServer 8", "XenServer 7.1 CU2"."""
    sv = software_version
    brand = str(sv.get("product_brand") or "")
    pv = _version(sv.get("product_version"))
    platform = _version(sv.get("platform_version"))
    if _is_xcp_ng(brand):
        return Product(brand, pv, f"{brand} {'.'.join(map(str, pv))}") if pv else None
    # Citrix and XenServer, decided on the numbers: product_version when reported, else
    # platform_version (CH 8.1 is platform 3.1.0, so a (3, 1) prefix alone is not 8.2).
    if pv[:2] == (8, 4) or (not pv and platform[:2] == (3, 4)):
        return Product("XenServer", pv, "XenServer 8")
    if pv[:2] == (8, 2) or (not pv and (3, 1, 50) <= platform[:3] < (3, 3)):
        cu = max(pv[2] if len(pv) > 2 else 0, 1 if platform[:3] == (3, 2, 1) else 0)
        return Product("Citrix Hypervisor", pv, "Citrix Hypervisor 8.2" + (f" CU{cu}" if cu else ""))
    brand = brand or "XenServer"
    text = sv.get("product_version_text_short") or sv.get("product_version_text")
    if not text and pv:
        # No text fields (5.6 FP1 beta 5.6.900): show the number, not "5.6 CU900".
        text = ".".join(map(str, pv))
    return Product(brand, pv, f"{brand} {text}") if text else None


def _row(cls: str, name: str) -> dict[str, Any] | None:
    row: dict[str, Any] | None = _table()["fields"].get(cls, {}).get(name)
    return row


def _numbered(text: str) -> bool:
    return re.fullmatch(r"\d+\.\d+\.\d+", text) is not None


def introduced(cls: str, name: str) -> Release | None:
    """The named release that first shipped `cls.name` (for a field added in a numbered
    xapi release, the first named release carrying that xapi); None if unknown."""
    row = _row(cls, name)
    if row is None or not row.get("introduced"):
        return None
    code = row.get("introduced_release") if _numbered(row["introduced"]) else row["introduced"]
    try:
        return release(code) if code else None
    except KeyError:
        return None


def default(cls: str, name: str) -> tuple[bool, Any]:
    """(has a default, the default as JSON) of `cls.name` in today's datamodel."""
    row = _row(cls, name)
    if row is None or not row.get("has_default"):
        return False, None
    return True, row["default"]


def predates(rel: Release, cls: str, name: str, xapi: Version | None = None) -> bool:
    """`rel` is older than the field `cls.name`: a host of it never had the field.

    A field added in a numbered xapi release (22.33.0) within the host's own named
    release (XenServer 8 takes xapi updates) predates the host only if the host's xapi
    version (`xapi`, from software_version.xapi_build) is known and older. Unknown
    fields and releases are never said to predate anything.
    """
    first = introduced(cls, name)
    if first is None or rel > first:
        return False
    if rel < first:
        return True
    row = _row(cls, name) or {}
    return xapi is not None and _numbered(row["introduced"]) and xapi < _version(row["introduced"])


def predated_reason(rel: Release, cls: str, name: str, runs: str | None = None) -> str:
    """Evidence for a field taken as its default: "VDI.cbt_enabled was introduced in
    XenServer 7.3 (inverness); this pool runs XenServer 7.1 CU2 (ely)"."""
    first = introduced(cls, name)
    row = _row(cls, name) or {}
    where = str(first) if first else "an unknown release"
    if first and _numbered(str(row.get("introduced", ""))):
        where = f"xapi {row['introduced']} ({first.branding}, {first.code_name})"
    runs = f"{runs} ({rel.code_name})" if runs else str(rel)
    return f"{cls}.{name} was introduced in {where}; this pool runs {runs}"


#: XAPI checks the destination SR's VDI_MIRROR capability (SXM) only since XenServer
#: 7.0: xen-api CP-17506 / CA-217301 (2016). Older pools' SRs were never asked for it.
VDI_MIRROR_CHECKED_SINCE = release("dundee")
#: Before XenServer 7.0 a VDI could be moved (VDI.pool_migrate) only while its VM ran.
HALTED_VDI_MOVE_SINCE = release("dundee")
