"""Server actions that make or use images: createImage, createBackup, shelve, unshelve and rebuild.

Same shape as actions_state.py (whose helpers they share): policy, lock and state checks, a
conditional task-state update and the instance-action record, then a cast to the host's agent
(agent/actions.py) — or to the conductor for unshelve of an offloaded server (conductor/shelve.py).
"""

from __future__ import annotations

import json
import tempfile
import uuid as uuidlib
from pathlib import Path
from typing import Any

import httpx
from starlette.responses import Response

from onestack.client.volume import VolumeError
from onestack.compute import states
from onestack.compute.api import server_create
from onestack.compute.api.actions_state import (
    IMAGE_SNAPSHOT_PENDING,
    NOT_INHERITED,
    SNAPSHOT_FROM,
    _obj,
    _precheck,
    _target,
    _uuid_field,
    accepted,
    agents,
    begin,
)
from onestack.compute.api.common import (
    ComputeRoutes,
    Req,
    check_keys,
    invalid,
    name_field,
    resource_links,
)
from onestack.compute.api.server_actions import action
from onestack.compute.api.servers import show_one
from onestack.compute.bdm_flags import VOLUME_BACKED
from onestack.compute.service import block_devices, boot
from onestack.compute.service import keypairs as keypair_svc
from onestack.compute.service import server_actions as actions
from onestack.compute.service.server_actions import Transition
from onestack.core.api.faults import BadRequest, Conflict, Forbidden
from onestack.core.api.headers import location
from onestack.core.api.http import json_response
from onestack.core.auth import AuthContext

routes = ComputeRoutes()

IMAGE_BACKUP = "image_backup"  # Nova's task state while a backup is taken (status stays as it was)


# --- snapshots: createImage and shelve -------------------------------------------------------

def _snapshot_body(row: dict[str, Any], ctx: AuthContext, name: str, extra: dict[str, str],
                   image_type: str = "snapshot") -> dict[str, Any]:
    """The image record a snapshot starts as: owned by the server's project, inheriting the
    boot image's custom properties (Nova's initialize_instance_snapshot_metadata)."""
    meta = row.get("system_metadata") or {}
    inherited = meta.get("image_properties") or {}
    props = {k: v for k, v in inherited.items()
             if isinstance(v, str) and k not in NOT_INHERITED and not k.startswith("os_glance")}
    props.update({"instance_uuid": row["uuid"], "user_id": ctx.user_id, "image_type": image_type,
                  "base_image_ref": meta.get("image_base_image_ref") or row.get("image_ref") or ""})
    props.update(extra)
    min_ram = inherited.get("min_ram")
    return {"name": name, "disk_format": "qcow2", "container_format": "bare", "visibility": "private",
            "owner": row["project_id"], "min_disk": int(row["flavor"].get("root_gb") or 0),
            "min_ram": min_ram if isinstance(min_ram, int) else 0, **props}


async def _new_image(req: Req, ctx: AuthContext, body: dict[str, Any]) -> str:
    """Create the snapshot's image record as the caller, as Nova does with the user's token.

    The metadata a user adds lands in the record, core attributes included; the image service
    must judge them for the caller (an owner of another project, public visibility: 403), not
    for compute's own service user, which may do anything.
    """
    images = req.state.images
    if images is None:
        raise BadRequest("The image service is not reachable from compute.")
    try:
        return str((await images.create(body, user_token=ctx.token))["id"])
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        text = exc.response.text[:200]
        if status == 413:
            raise Forbidden(f"Quota exceeded for images: {text}") from None
        if status == 403:
            raise Forbidden(f"The image service refused the snapshot: {text}") from None
        raise BadRequest(f"The image service refused the snapshot: {text}") from None


async def _drop_image(req: Req, image_id: str) -> None:
    images = req.state.images
    if images is not None:
        await images.delete(image_id)


@action("createImage")
async def create_image(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _obj(arg, "createImage")
    check_keys(body, {"name", "metadata"}, "createImage")
    if "name" not in body:
        raise invalid("createImage", body, "'name' is a required property")
    name = name_field(body["name"])
    extra = server_create._metadata(body.get("metadata", {}))
    await req.enforce("os_compute_api:servers:create_image", {"project_id": row["project_id"]})
    # Snapshots are allowed on locked servers: a lock guards against change, not copying (Nova).
    t = Transition("createImage", "createImage", SNAPSHOT_FROM, IMAGE_SNAPSHOT_PENDING, lock=False)
    await _precheck(req, ctx, row["uuid"], t)
    if not row.get("image_ref"):
        image_id = await _volume_backed_image(req, ctx, row, name, extra)
        if req.at_least(2, 45):
            return json_response({"image_id": image_id}, 202)
        return Response(status_code=202,
                        headers=location(f"{str(req.request.base_url).rstrip('/')}/image/v2/images/{image_id}"))
    image_id = await _new_image(req, ctx, _snapshot_body(row, ctx, name, extra))
    try:
        updated = await begin(req, ctx, row["uuid"], t)
    except Exception:
        await _drop_image(req, image_id)
        raise
    await agents(req).snapshot_instance(updated["host"], updated, image_id, request_id=req.request_id)
    if req.at_least(2, 45):
        return json_response({"image_id": image_id}, 202)
    return Response(status_code=202, headers=location(f"{str(req.request.base_url).rstrip('/')}/image/v2/images/{image_id}"))


async def _root_volume_changes(req: Req, ctx: AuthContext, row: dict[str, Any], image_id: str) -> bool:
    """Whether the rebuild gives the root volume another image: from 2.93 the agent reimages it
    through the block-storage service; before, Nova rebuilds a volume-backed server only with
    the image its root volume was made from (the volume is not re-imaged)."""
    client = req.state.volume
    bdms = await req.read(block_devices.of_server, row["uuid"])
    root = next((b for b in bdms if b.get("boot_index") == 0 and b.get("volume_id")), None)
    current = None
    if client is not None and root is not None:
        try:
            vol = await client.get_volume(str(root["volume_id"]), user_token=ctx.token)
            current = (vol.get("volume_image_metadata") or {}).get("image_id")
        except VolumeError:
            current = None
    if current == image_id:
        return False
    if not req.at_least(2, 93):
        raise BadRequest(f"Image {image_id} is unacceptable: Unable to rebuild with a different image for a "
                         "volume-backed server.")
    return True


async def _volume_backed_image(req: Req, ctx: AuthContext, row: dict[str, Any], name: str,
                               extra: dict[str, str]) -> str:
    """Nova's snapshot_volume_backed: each of the server's volumes snapshotted in the
    block-storage service (forced: they are in use), and an image with no data of its own whose
    ``block_device_mapping`` property names the snapshots — booting it makes volumes from them."""
    await req.enforce("os_compute_api:servers:create_image:allow_volume_backed",
                      {"project_id": row["project_id"]})
    client = req.state.volume
    if client is None:
        raise BadRequest("The block-storage service is not reachable from compute.")
    bdms = await req.read(block_devices.of_server, row["uuid"])
    mappings = []
    for bdm in bdms:
        if not bdm.get("volume_id"):
            continue
        try:
            snap = await client.create_snapshot({"volume_id": bdm["volume_id"], "force": True,
                                                 "name": f"snapshot for {name}"}, user_token=ctx.token)
        except VolumeError as exc:
            raise BadRequest(f"Invalid volume: {exc.message}") from None
        mappings.append({"source_type": "snapshot", "destination_type": "volume", "snapshot_id": snap["id"],
                         "volume_size": snap.get("size") or bdm.get("volume_size"),
                         "boot_index": bdm.get("boot_index"), "device_name": bdm.get("device_name"),
                         "delete_on_termination": bool(bdm.get("delete_on_termination")), "tag": bdm.get("tag"),
                         "volume_type": bdm.get("volume_type"), "guest_format": None, "no_device": None,
                         "disk_bus": None, "device_type": "disk", "volume_id": None, "image_id": None})
    body = _snapshot_body(row, ctx, name, {**extra, "block_device_mapping": json.dumps(mappings),
                                           "bdm_v2": "True", "root_device_name": "/dev/vda"})
    image_id = await _new_image(req, ctx, body)
    images = req.state.images
    assert images is not None
    with tempfile.TemporaryDirectory() as tmp:  # no data of its own: an empty upload makes it active
        empty = Path(tmp) / "empty"
        empty.write_bytes(b"")
        await images.upload(image_id, empty)
    return image_id


@action("createBackup")
async def create_backup(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    """A snapshot typed "backup"; after the upload the host deletes this server's oldest
    backups of the same ``backup_type`` beyond ``rotation`` (Nova's _rotate_backups)."""
    body = _obj(arg, "createBackup")
    check_keys(body, {"name", "backup_type", "rotation", "metadata"}, "createBackup")
    for key in ("name", "backup_type", "rotation"):
        if key not in body:
            raise invalid("createBackup", body, f"'{key}' is a required property")
    name = name_field(body["name"])
    backup_type = body["backup_type"]
    if not isinstance(backup_type, str):
        raise invalid("backup_type", backup_type, f"{backup_type!r} is not of type 'string'")
    rotation = _rotation(body["rotation"])
    extra = {**server_create._metadata(body.get("metadata", {})), "backup_type": backup_type}
    await req.enforce("os_compute_api:os-create-backup", {"project_id": row["project_id"]})
    if not row.get("image_ref"):  # Nova's test for a volume-backed server
        raise BadRequest("Backup is not supported for volume-backed instances.")
    # Like snapshots, backups are allowed on locked servers; the task state is image_backup at once.
    t = Transition("createBackup", "createBackup", SNAPSHOT_FROM, IMAGE_BACKUP, lock=False)
    await _precheck(req, ctx, row["uuid"], t)
    image_id = await _new_image(req, ctx, _snapshot_body(row, ctx, name, extra, image_type="backup"))
    try:
        updated = await begin(req, ctx, row["uuid"], t)
    except Exception:
        await _drop_image(req, image_id)
        raise
    await agents(req).backup_instance(updated["host"], updated, image_id, backup_type, rotation,
                                          request_id=req.request_id)
    if req.at_least(2, 45):
        return json_response({"image_id": image_id}, 202)
    # Before 2.45 the image's compute URL comes back, unless rotation 0 is about to delete it.
    headers = req.location("/v2.1/images", image_id) if rotation > 0 else {}
    return Response(status_code=202, headers=headers)


def _rotation(value: Any) -> int:
    """Nova's non_negative_integer: an integer, or a string of digits, at least 0."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid("rotation", value, f"{value!r} is not of type 'integer', 'string'")
    if isinstance(value, str) and not value.isdigit():
        raise invalid("rotation", value, f"{value!r} does not match '^[0-9]*$'")
    if int(value) < 0:
        raise invalid("rotation", value, f"{value} is less than the minimum of 0")
    return int(value)


@action("shelve")
async def shelve(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    await req.enforce("os_compute_api:os-shelve:shelve", _target(row))
    t = Transition("shelve", "shelve", SNAPSHOT_FROM, states.SHELVING)
    await _precheck(req, ctx, row["uuid"], t)
    image_id = await _new_image(req, ctx, _snapshot_body(row, ctx, f"{row['display_name']}-shelved", {}))
    try:
        # Unshelve and rebuild look for the image the server came from here.
        updated = await begin(req, ctx, row["uuid"], t, meta={"image_base_image_ref": row.get("image_ref") or ""})
    except Exception:
        await _drop_image(req, image_id)
        raise
    await agents(req).shelve_instance(updated["host"], updated, image_id, request_id=req.request_id)
    return accepted()


# --- unshelve ------------------------------------------------------------------------------

_UNSET = object()


def _unshelve_args(req: Req, arg: Any) -> tuple[Any, str | None]:
    """(availability zone or _UNSET, host) from the body, per microversion."""
    if not req.at_least(2, 77) or arg is None:
        return _UNSET, None
    body = _obj(arg, "unshelve")
    if not req.at_least(2, 91):
        check_keys(body, {"availability_zone"}, "unshelve")
        if "availability_zone" not in body:
            raise invalid("unshelve", body, "'availability_zone' is a required property")
        return name_field(body["availability_zone"], "availability_zone"), None
    check_keys(body, {"availability_zone", "host"}, "unshelve")
    zone: Any = _UNSET
    if "availability_zone" in body:
        zone = body["availability_zone"]
        if zone is not None and not isinstance(zone, str):
            raise invalid("availability_zone", zone, f"{zone!r} is not of type 'string', 'null'")
    host = body.get("host")
    if host is not None and not isinstance(host, str):
        raise invalid("host", host, f"{host!r} is not of type 'string'")
    return zone, host


@action("unshelve")
async def unshelve(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    zone, host = _unshelve_args(req, arg)
    await req.enforce("os_compute_api:os-shelve:unshelve", {"project_id": row["project_id"]})
    uuid = row["uuid"]
    t = Transition("unshelve", "unshelve", (states.SHELVED, states.SHELVED_OFFLOADED), states.UNSHELVING,
                   need_host=False)
    await _precheck(req, ctx, uuid, t)
    meta: dict[str, Any] = {}
    if zone is not _UNSET or host:
        if row["vm_state"] != states.SHELVED_OFFLOADED:
            raise Conflict(f'Specifying an availability zone or a host when unshelving server "{uuid}" with status '
                           f'"{row["vm_state"]}" is not supported. The server status must be SHELVED_OFFLOADED.')
        if host:
            await req.enforce("os_compute_api:os-shelve:unshelve_to_host", _target(row))
        expected_zone = (row.get("system_metadata") or {}).get("requested_az") if zone is _UNSET else zone
        await req.read(actions.check_unshelve_target, zone, host, expected_zone)
        if zone is not _UNSET:
            meta["requested_az"] = zone
    updated = await begin(req, ctx, uuid, t, meta=meta)
    conductor = req.state.conductor
    assert conductor is not None
    await conductor.unshelve_instance(updated["uuid"], request_id=req.request_id, host=host)
    return accepted()


# --- rebuild -------------------------------------------------------------------------------

def _rebuild_keys(req: Req) -> set[str]:
    keys = {"imageRef", "name", "adminPass", "metadata", "preserve_ephemeral", "OS-DCF:diskConfig",
            "accessIPv4", "accessIPv6", "personality"}
    for minor, key in ((19, "description"), (54, "key_name"), (57, "user_data"),
                       (63, "trusted_image_certificates"), (90, "hostname")):
        if req.at_least(2, minor):
            keys.add(key)
    if req.at_least(2, 57):
        keys.discard("personality")
    return keys


async def _rebuild_values(req: Req, body: dict[str, Any]) -> dict[str, Any]:
    """The row changes a rebuild asks for (besides the image)."""
    values: dict[str, Any] = {"progress": 0}
    if "name" in body:
        values["display_name"] = name_field(body["name"])
    if "metadata" in body:
        values["metadata"] = server_create._metadata(body["metadata"])
    if "description" in body:
        desc = body["description"]
        if desc is not None and (not isinstance(desc, str) or len(desc) > 255):
            raise invalid("description", desc, "must be a string of at most 255 characters")
        values["display_description"] = desc
    if "key_name" in body:
        key_name = body["key_name"]
        values["key_name"], values["key_data"] = None, None
        if key_name is not None:
            user_id = (await req.caller()).user_id or ""
            values["key_data"] = await req.read(keypair_svc.public_key_for_boot, user_id, str(key_name))
            values["key_name"] = key_name
    if "user_data" in body:
        values["user_data"] = server_create._user_data(body["user_data"])
    if "accessIPv4" in body:
        values["access_ip_v4"] = server_create._ip(body["accessIPv4"], "accessIPv4", 4)
    if "accessIPv6" in body:
        values["access_ip_v6"] = server_create._ip(body["accessIPv6"], "accessIPv6", 6)
    if "hostname" in body:
        values["hostname"] = name_field(body["hostname"], "hostname", 63)
    if body.get("trusted_image_certificates"):
        raise BadRequest("Image certificate validation is not supported.")
    return values


@action("rebuild")
async def rebuild(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _obj(arg, "rebuild")
    check_keys(body, _rebuild_keys(req), "rebuild")
    if "imageRef" not in body:
        raise invalid("rebuild", body, "'imageRef' is a required property")
    image_id = _uuid_field(body["imageRef"], "imageRef")
    password = body.get("adminPass")
    if password is not None and not isinstance(password, str):
        raise invalid("adminPass", password, f"{password!r} is not of type 'string'")
    password = password or uuidlib.uuid4().hex[:12]
    preserve = body.get("preserve_ephemeral", False)
    if not isinstance(preserve, bool):
        raise invalid("preserve_ephemeral", preserve, f"{preserve!r} is not of type 'boolean'")
    await req.enforce("os_compute_api:servers:rebuild", _target(row))
    t = Transition("rebuild", "rebuild", (states.ACTIVE, states.STOPPED, states.ERROR), states.REBUILDING)
    await _precheck(req, ctx, row["uuid"], t)
    images = req.state.images
    image = await images.get(image_id, ctx.token) if images is not None else None
    if image is None:
        raise BadRequest("Cannot find image for rebuild")
    flavor = row["flavor"]
    _, props = boot.check_image(image, int(flavor["memory_mb"]), int(flavor["root_gb"]),
                                await req.allowed("os_compute_api:servers:create:zero_disk_flavor"))
    volume_backed = bool((row.get("system_metadata") or {}).get(VOLUME_BACKED))
    reimage = volume_backed and await _root_volume_changes(req, ctx, row, image_id)
    values = await _rebuild_values(req, body)
    values["image_ref"] = "" if volume_backed else image_id  # its root disk stays the volume
    requested = (server_create._disk_config(body["OS-DCF:diskConfig"]) if "OS-DCF:diskConfig" in body
                 else None)
    updated = await begin(req, ctx, row["uuid"], t, values,
                          meta={"image_properties": props, "image_base_image_ref": image_id,
                                "auto_disk_config": boot.auto_disk_config(requested, props, image_id)})
    await agents(req).rebuild_instance(updated["host"], updated, "" if volume_backed else image_id,
                                       request_id=req.request_id, orig_vm_state=row["vm_state"],
                                       preserve_ephemeral=preserve, root_volume_image=image_id if reimage else "")
    server = await show_one(req, ctx, row["uuid"])
    server["adminPass"] = password
    if req.at_least(2, 57):
        server["user_data"] = updated.get("user_data")
    return json_response({"server": server}, 202, headers=location(resource_links(req, "servers", row["uuid"])[0]["href"]))
