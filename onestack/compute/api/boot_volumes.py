"""Block device mappings of a boot request (``block_device_mapping_v2``, and the legacy
``block_device_mapping``): Nova's checks, and the volumes they ask for.

A mapping whose destination is ``local`` can only be the image-backed root disk (the compute
hosts have no ephemeral or swap disks). Mappings whose destination is ``volume`` name an existing
volume (``source_type`` volume) or ask for a new one from an image, a snapshot or blank. Before any
row is written, each named volume, snapshot and image is looked up as the user (Nova's 400s).
Once the server rows exist, the API creates the new volumes as the user — so they belong to the
user's project, as the volumes Nova's compute creates with the user's token — and reserves the
existing ones (a Cinder attachment for the server); the host waits for them to be available,
connects them and boots (agent/volumes.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from onestack.client.volume import VolumeClient, VolumeError
from onestack.compute.api.common import Req, check_keys, invalid, is_uuid_like
from onestack.core.api.faults import BadRequest

INVALID = "Block Device Mapping is Invalid: "
_KEYS = {"source_type", "destination_type", "uuid", "boot_index", "device_name", "volume_size",
         "delete_on_termination", "guest_format", "device_type", "disk_bus", "no_device", "image_id",
         "snapshot_id", "volume_id", "connection_info"}
_LEGACY_KEYS = {"virtual_name", "volume_id", "snapshot_id", "volume_size", "device_name", "delete_on_termination",
                "no_device", "connection_info"}
_SOURCES = ("image", "volume", "snapshot", "blank")


@dataclass
class BootDevices:
    """The parsed mappings: ``volumes`` (destination volume, normalised as the BDM columns) and
    ``image_id`` of an image-backed root disk mapping."""

    volumes: list[dict[str, Any]] = field(default_factory=list)
    image_id: str | None = None

    @property
    def root(self) -> dict[str, Any] | None:
        return next((m for m in self.volumes if m.get("boot_index") == 0), None)


def _boot_index(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise invalid("block_device_mapping_v2/boot_index", value,
                      f"{value!r} is not of type 'integer', 'string', 'null'") from None
    return None if index < 0 else index


def _size(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise invalid(f"{where}/volume_size", value, f"{value!r} is not of type 'integer', 'string'") from None
    if size < 0:
        raise invalid(f"{where}/volume_size", value, f"{value!r} is less than the minimum of 0")
    return size


def _dot(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        return value.lower() in ("true", "1", "yes", "on")
    if value is None:
        return False
    raise invalid(f"{where}/delete_on_termination", value, f"{value!r} is not of type 'boolean', 'string'")


def _v2(req: Req, bdm: Any) -> tuple[dict[str, Any] | None, str | None]:
    """One v2 mapping: (a volume mapping, None) or (None, the image of a local root disk)."""
    where = "block_device_mapping_v2"
    if not isinstance(bdm, dict):
        raise invalid(where, bdm, f"{bdm!r} is not of type 'object'")
    allowed = _KEYS | ({"tag"} if req.at_least(2, 42) else set()) | ({"volume_type"} if req.at_least(2, 67) else set())
    check_keys(bdm, allowed, where)
    source = bdm.get("source_type")
    if source not in _SOURCES:
        raise invalid(f"{where}/source_type", source, f"{source!r} is not one of {list(_SOURCES)}")
    dest = bdm.get("destination_type") or ("volume" if source in ("volume", "snapshot") else "local")
    if dest not in ("local", "volume"):
        raise invalid(f"{where}/destination_type", dest, f"{dest!r} is not one of ['local', 'volume']")
    ref = bdm.get("uuid")
    if source != "blank":
        if ref is None:
            raise BadRequest(f"{INVALID}Missing device UUID.")
        if not is_uuid_like(ref):
            raise invalid(f"{where}/uuid", ref, f"{ref!r} does not match '^[a-zA-Z0-9._-]*$'")
    index = _boot_index(bdm.get("boot_index"))
    size = _size(bdm.get("volume_size"), where)
    tag = bdm.get("tag")
    if tag is not None and (not isinstance(tag, str) or not 1 <= len(tag) <= 60 or "/" in tag or "," in tag):
        raise invalid(f"{where}/tag", tag, f"{tag!r} does not match '^[^,/]*$'")
    device = bdm.get("device_name")
    if device is not None and (not isinstance(device, str) or len(device) > 255 or " " in device):
        raise invalid(f"{where}/device_name", device, f"{device!r} does not match '^[a-zA-Z0-9._/-]*$'")
    if dest == "local":
        if source == "image" and index == 0:
            return None, str(ref)
        raise BadRequest(f"{INVALID}this cloud's compute hosts have no ephemeral or swap disks; "
                         "only a root disk from an image, or volumes, can be mapped.")
    if source in ("image", "blank") and not size:
        raise BadRequest(f"{INVALID}Images with destination_type 'volume' need to have a non-zero size specified"
                         if source == "image" else f"{INVALID}Blank volumes need to have a non-zero size specified")
    volume_type = bdm.get("volume_type")
    if volume_type is not None and (not isinstance(volume_type, str) or len(volume_type) > 255):
        raise invalid(f"{where}/volume_type", volume_type, f"{volume_type!r} is not of type 'string', 'null'")
    return {
        "source_type": source, "destination_type": "volume", "boot_index": index,
        "device_name": _device(device), "volume_size": size, "volume_type": volume_type, "tag": tag,
        "delete_on_termination": _dot(bdm.get("delete_on_termination"), where),
        "volume_id": str(ref) if source == "volume" else None,
        "snapshot_id": str(ref) if source == "snapshot" else None,
        "image_id": str(ref) if source == "image" else None,
    }, None


def _device(name: str | None) -> str | None:
    if not name:
        return None
    return name if name.startswith("/dev/") else f"/dev/{name}"


def _legacy(bdm: Any) -> dict[str, Any]:
    where = "block_device_mapping"
    if not isinstance(bdm, dict):
        raise invalid(where, bdm, f"{bdm!r} is not of type 'object'")
    check_keys(bdm, _LEGACY_KEYS, where)
    volume_id, snapshot_id = bdm.get("volume_id"), bdm.get("snapshot_id")
    if not volume_id and not snapshot_id:
        raise BadRequest(f"{INVALID}Missing device UUID.")
    for name, value in (("volume_id", volume_id), ("snapshot_id", snapshot_id)):
        if value is not None and not is_uuid_like(value):
            raise invalid(f"{where}/{name}", value, f"{value!r} is not a 'uuid'")
    device = _device(bdm.get("device_name"))
    return {
        "source_type": "snapshot" if snapshot_id and not volume_id else "volume", "destination_type": "volume",
        "boot_index": 0 if device in ("/dev/vda", "/dev/sda", "/dev/xvda") else None, "device_name": device,
        "volume_size": _size(bdm.get("volume_size"), where), "volume_type": None, "tag": None,
        "delete_on_termination": _dot(bdm.get("delete_on_termination"), where),
        "volume_id": str(volume_id) if volume_id else None, "snapshot_id": str(snapshot_id) if snapshot_id else None,
        "image_id": None,
    }


def parse(req: Req, server: dict[str, Any], image_ref: str | None, max_count: int) -> BootDevices:
    """Nova's schema and semantic checks of the mappings (nothing looked up yet)."""
    legacy, v2 = server.get("block_device_mapping"), server.get("block_device_mapping_v2")
    for name, value in (("block_device_mapping", legacy), ("block_device_mapping_v2", v2)):
        if value is not None and not isinstance(value, list):
            raise invalid(name, value, f"{value!r} is not of type 'array'")
    if legacy and v2:
        raise BadRequest("Using different block_device_mapping syntaxes is not allowed in the same request.")
    found = BootDevices()
    images: list[str] = []
    for bdm in v2 or []:
        volume, image = _v2(req, bdm)
        if volume is not None:
            found.volumes.append(volume)
        if image is not None:
            images.append(image)
    found.volumes.extend(_legacy(b) for b in legacy or [])
    roots = len(images) + sum(1 for m in found.volumes if m["boot_index"] == 0)
    if roots > 1:
        raise BadRequest(f"{INVALID}Boot sequence for the instance and image/block device mapping combination "
                         "is not valid.")
    if images:
        if image_ref not in (None, "") and images[0] != image_ref:
            raise BadRequest(f"{INVALID}the boot mapping names another image than imageRef.")
        found.image_id = images[0]
    if max_count > 1 and any(m["source_type"] == "volume" for m in found.volumes):
        raise BadRequest("Cannot attach one or more volumes to multiple instances")
    return found


IMAGE_BDM_KEYS = ("block_device_mapping", "bdm_v2", "root_device_name")


def from_image(image: dict[str, Any]) -> list[dict[str, Any]]:
    """The volume mappings an image defines (a volume-backed server's snapshot, Nova's
    ``block_device_mapping`` property with ``bdm_v2``), normalised as parsed ones; [] for others."""
    raw = image.get("block_device_mapping")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    if not isinstance(raw, list):
        return []
    found = []
    for bdm in raw:
        if not isinstance(bdm, dict) or bdm.get("destination_type") != "volume" or \
                bdm.get("source_type") not in ("snapshot", "volume", "image", "blank"):
            continue
        source = str(bdm["source_type"])
        found.append({
            "source_type": source, "destination_type": "volume", "boot_index": _boot_index(bdm.get("boot_index")),
            "device_name": _device(bdm.get("device_name")), "volume_size": bdm.get("volume_size"),
            "volume_type": bdm.get("volume_type"), "tag": bdm.get("tag"),
            "delete_on_termination": bool(bdm.get("delete_on_termination")),
            "volume_id": bdm.get("volume_id") if source == "volume" else None,
            "snapshot_id": bdm.get("snapshot_id") if source == "snapshot" else None,
            "image_id": bdm.get("image_id") if source == "image" else None,
        })
    return found


def check_multiattach_version(req: Req, volume: dict[str, Any]) -> None:
    """Nova's MultiattachNotSupportedOldMicroversion: a multiattach volume needs 2.60 (attach and boot)."""
    if volume.get("multiattach") and not req.at_least(2, 60):
        raise BadRequest("Multiattach volumes are only supported starting with compute API version 2.60.")


def _bootable(volume: dict[str, Any]) -> bool:
    """Cinder shows ``bootable`` as the string "true"/"false"; Nova reads it as a boolean,
    bootable when absent."""
    value = volume.get("bootable", True)
    return value.lower() in ("true", "1", "yes", "on") if isinstance(value, str) else bool(value)


async def check(req: Req, client: VolumeClient | None, devices: BootDevices) -> dict[str, Any] | None:
    """Each named volume, snapshot and image looked up as the user; the boot volume's image
    properties (``volume_image_metadata``, or the source image's) when a volume is the root, else None."""
    if not devices.volumes:
        return None
    if client is None:
        raise BadRequest(f"{INVALID}the block storage service is not available.")
    token = req.headers.get("X-Auth-Token")
    props: dict[str, Any] | None = None
    for m in devices.volumes:
        try:
            if m["source_type"] == "volume":
                vol = await client.get_volume(str(m["volume_id"]), user_token=token)
                check_multiattach_version(req, vol)
                if vol.get("status") != "available" and not (vol.get("status") == "in-use" and vol.get("multiattach")):
                    raise BadRequest(f"Invalid volume: volume {vol['id']} status must be 'available', "
                                     f"but it is '{vol.get('status')}'")
                if m["boot_index"] == 0:
                    if not _bootable(vol):
                        raise BadRequest(f"Block Device {vol['id']} is not bootable.")
                    props = dict(vol.get("volume_image_metadata") or {})
            elif m["source_type"] == "snapshot":
                snap = await client.get_snapshot(str(m["snapshot_id"]), user_token=token)
                if snap.get("status") != "available":
                    raise BadRequest(f"Invalid snapshot: snapshot {snap['id']} status must be 'available'")
        except VolumeError as exc:
            if exc.status != 404:
                raise
            what = "volume" if m["source_type"] == "volume" else "snapshot"
            raise BadRequest(f"{INVALID}failed to get {what} {m['volume_id'] or m['snapshot_id']}.") from None
        if m["source_type"] == "image":
            images = req.state.images
            image = None if images is None else await images.get(str(m["image_id"]), token)
            if image is None:
                raise BadRequest(f"Image {m['image_id']} could not be found.")
            if image.get("status") != "active":
                raise BadRequest(f"Image {m['image_id']} is not active.")
            if m["boot_index"] == 0:
                props = dict(image)
    if devices.root is not None and props is None:
        props = {}  # a blank or snapshot boot volume: no image properties
    return props


async def provide(req: Req, client: VolumeClient, server: dict[str, Any],
                  bdms: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Create the asked-for volumes and reserve the named ones, as the user; per mapping uuid
    the values to record. On failure what was made is undone and the error raised."""
    token = req.headers.get("X-Auth-Token")
    done: list[tuple[str, dict[str, Any]]] = []
    try:
        for bdm in bdms:
            if bdm["source_type"] == "volume":
                att = await client.attachment_create(str(bdm["volume_id"]), server["uuid"], user_token=token)
                done.append((bdm["uuid"], {"attachment_id": str(att["id"])}))
                continue
            attrs: dict[str, Any] = {"name": ""}  # the block-storage service's own zone (cross_az_attach)
            if bdm.get("volume_size"):
                attrs["size"] = bdm["volume_size"]
            if bdm["source_type"] == "image":
                attrs["imageRef"] = bdm["image_id"]
            elif bdm["source_type"] == "snapshot":
                attrs["snapshot_id"] = bdm["snapshot_id"]
            if bdm.get("volume_type"):
                attrs["volume_type"] = bdm["volume_type"]
            attrs = {k: v for k, v in attrs.items() if v is not None}
            vol = await client.create_volume(attrs, user_token=token)
            done.append((bdm["uuid"], {"volume_id": str(vol["id"]), "created": True}))
    except VolumeError as exc:
        for _uuid, values in done:
            try:
                if values.get("attachment_id"):
                    await client.attachment_delete(values["attachment_id"], user_token=token)
                elif values.get("created"):
                    await client.wait_volume(values["volume_id"], ("available", "error"), timeout=60,
                                             user_token=token)
                    await client.delete_volume(values["volume_id"], user_token=token)
            except VolumeError:
                pass
        raise BadRequest(f"{INVALID}{exc.message}") from None
    return done
