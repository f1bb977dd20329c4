"""Facts about storage: SRs (space, drivers' migration capabilities, attachment) and VDIs."""

from __future__ import annotations

from checker.facts.core import MCS_MARKER, Missing, Obj, _has_marker, as_bool, as_int, fact

SPECIAL_VDI_TYPES = frozenset({"ha_statefile", "redo_log", "metadata", "cbt_metadata"})


@fact("SR", name="type")
def sr_type(o: Obj) -> str:
    """The SR driver type (lvm, ext, nfs, lvmoiscsi, gfs2, iso…)."""
    return str(o.field("type"))


@fact("SR")
def shared(o: Obj) -> bool:
    """The SR is shared by the pool's hosts."""
    return as_bool(o.field("shared"))


@fact("SR")
def free(o: Obj) -> int:
    """Free bytes: physical_size − physical_utilisation."""
    size = as_int(o.field("physical_size"), "SR.physical_size")
    used = as_int(o.field("physical_utilisation"), "SR.physical_utilisation")
    if size <= 0:
        raise Missing("SR.physical_size is 0 (not reported by this SR)")
    return max(0, size - used)


#: SR drivers that keep each disk in a file (VHD or QCOW2) and allocate only what it holds.
THIN_SR_TYPES = frozenset({"ext", "nfs", "smb", "file", "gfs2", "xfs", "zfs", "ext4", "cephfs",
                           "glusterfs", "moosefs"})


@fact("SR")
def thin_provisioned(o: Obj) -> bool:
    """Disks on it take their physical size, not their virtual size (file-based drivers;
    LVM-based ones, lvm, lvmoiscsi, lvmohba, allocate the whole virtual size)."""
    return sr_type(o) in THIN_SR_TYPES


@fact("SR")
def is_iso(o: Obj) -> bool:
    """An ISO library (content_type iso, or type iso/udev)."""
    rec = o.record
    return rec.get("content_type") == "iso" or rec.get("type") in {"iso", "udev"}


@fact("SR")
def is_gfs2(o: Obj) -> bool:
    """A clustered GFS2 SR (storage live migration is not supported from it)."""
    return sr_type(o) == "gfs2"


@fact("SR", "list:host")
def attached_on(o: Obj) -> list[Obj]:
    """Hosts with a currently attached PBD for this SR."""
    return [o.world.obj(o.pool, "host", pbd["host"])
            for _, pbd in o.inv.get_many("PBD", o.record.get("PBDs", []))
            if as_bool(pbd.get("currently_attached", False)) and o.inv.get("host", pbd.get("host"))]


def _sm_caps(o: Obj) -> set[str]:
    driver = sr_type(o)
    for _, sm in o.inv.all("SM"):
        if sm.get("type") == driver:
            features = sm.get("features")
            if isinstance(features, dict) and features:
                return set(features)
            return set(sm.get("capabilities") or [])
    if not o.inv.has_class("SM"):
        raise Missing("the inventory has no SM table")
    raise Missing(f"no SM driver record for SR type {driver!r}")


@fact("SR")
def supports_migration(o: Obj) -> bool:
    """Disks can be mirrored out of it: SM has VDI_SNAPSHOT and VDI_MIRROR (XAPI D3)."""
    if is_iso(o):
        return False
    caps = _sm_caps(o)
    return {"VDI_SNAPSHOT", "VDI_MIRROR"} <= caps


@fact("SR")
def accepts_migration(o: Obj) -> bool:
    """Disks can be mirrored into it: VDI_SNAPSHOT and VDI_MIRROR_IN (or VDI_MIRROR)."""
    if is_iso(o):
        return False
    caps = _sm_caps(o)
    return "VDI_SNAPSHOT" in caps and bool({"VDI_MIRROR", "VDI_MIRROR_IN"} & caps)


@fact("SR")
def read_only(o: Obj) -> bool:
    """Every PBD is read-only, or the SR says so in sm_config."""
    sm_config = o.record.get("sm_config") or {}
    return as_bool(sm_config.get("read-only", "false"))


@fact("VDI")
def virtual_size(o: Obj) -> int:
    """The disk's virtual size in bytes."""
    return as_int(o.field("virtual_size"), "VDI.virtual_size")


@fact("VDI")
def physical_size(o: Obj) -> int:
    """Bytes the disk really uses (`physical_utilisation`)."""
    return as_int(o.field("physical_utilisation"), "VDI.physical_utilisation")


@fact("VDI", "SR")
def sr(o: Obj) -> Obj | None:
    """The SR holding this disk."""
    return o.link("SR", "SR")


@fact("VDI")
def cbt_enabled(o: Obj) -> bool:
    """Changed block tracking is on (`VDI.cbt_enabled`, XenServer 7.3 and later)."""
    return as_bool(o.field("cbt_enabled"))


@fact("VDI")
def on_boot_reset(o: Obj) -> bool:
    """`VDI.on_boot == "reset"`: the field storage migration refuses (XAPI D8)."""
    return o.field("on_boot") == "reset"


@fact("VDI")
def on_boot_reset_cached(o: Obj) -> bool:
    """sm_config on_boot=reset with IntelliCache caching: what live migration refuses (A9)."""
    sm_config = o.field("sm_config")
    return sm_config.get("on_boot") == "reset" and str(sm_config.get("caching", "")).lower() in {
        "1", "true"}


@fact("VDI")
def vdi_type(o: Obj) -> str:
    """`VDI.type` (user, system, suspend, ha_statefile, metadata, cbt_metadata…)."""
    return str(o.field("type"))


@fact("VDI")
def is_special(o: Obj) -> bool:
    """An HA statefile, redo log, pool metadata or CBT metadata disk (never moved)."""
    return vdi_type(o) in SPECIAL_VDI_TYPES


@fact("VDI")
def is_a_snapshot(o: Obj) -> bool:
    """The disk is a snapshot."""
    return as_bool(o.field("is_a_snapshot"))


@fact("VDI")
def encrypted(o: Obj) -> bool:
    """The disk is encrypted (`sm_config.key_hash`)."""
    return "key_hash" in o.field("sm_config")


@fact("VDI")
def mcs(o: Obj) -> bool:
    """Created by Machine Creation Services (CitrixProvisioningSchemeId tag or key)."""
    return _has_marker(o.record, (MCS_MARKER,))


@fact("VDI")
def snapshot_count(o: Obj) -> int:
    """Number of snapshots of this disk."""
    return len(o.record.get("snapshots") or [])


@fact("VDI")
def attached(o: Obj) -> bool:
    """Some VBD of a VM holds this disk."""
    return bool(o.inv.get_many("VBD", o.record.get("VBDs", [])))
