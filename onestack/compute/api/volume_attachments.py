"""``/servers/{id}/os-volume_attachments``: a server's volumes (Nova's volume-attachments API).

The list and show read the server's block device mappings. Attach checks the volume with the
block-storage service as the user (404 unknown, 400 not available), writes the mapping with the
next free device name, reserves the volume for the server (a Cinder attachment with no
connector; a volume someone else reserved first is Cinder's 400, answered as Nova does), then
asks the server's agent to connect it (agent/volumes.py); any failure undoes the attachment and
the mapping; a shelved-offloaded server has no host: its attachment is completed with no
connector, the host it is unshelved on connects it. Detach asks the agent to unplug the disk
(no host call when offloaded), deletes the attachment and the mapping. Both are recorded as instance actions (attach_volume, detach_volume).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.responses import Response

from onestack.client.volume import VolumeClient, VolumeError, VolumeNotFound
from onestack.compute import states, volume_cleanup
from onestack.compute.agent.volumes import VolumeAttachFailed
from onestack.compute.api.actions_state import agents
from onestack.compute.api.boot_volumes import check_multiattach_version
from onestack.compute.api.common import ComputeRoutes, Req, check_keys, invalid, is_uuid_like
from onestack.compute.api.servers import actor, load
from onestack.compute.service import block_devices, instances
from onestack.compute.virt.driver import NotSupported
from onestack.core.api.faults import BadRequest, Conflict, NotFound, NotImplementedFault
from onestack.core.api.http import json_response

routes = ComputeRoutes()
_RULE = "os_compute_api:os-volumes-attachments:"
_ATTACH_STATES = (states.ACTIVE, states.PAUSED, states.STOPPED, states.RESIZED, states.SOFT_DELETED,
                  states.SHELVED, states.SHELVED_OFFLOADED)
_DETACH_STATES = (*_ATTACH_STATES, states.SUSPENDED)


def client_of(req: Req) -> VolumeClient:
    client: VolumeClient | None = req.state.volume
    if client is None:
        raise NotImplementedFault("The block-storage service is not available.")
    return client


def view(req: Req, bdm: dict[str, Any], *, listing: bool = True) -> dict[str, Any]:
    """Nova's _translate_attachment_detail_view; ``listing`` False for the attach answer, which
    keeps ``id`` and never shows ``attachment_id``/``bdm_uuid``."""
    body: dict[str, Any] = {"volumeId": bdm["volume_id"], "serverId": bdm["instance_uuid"],
                            "device": bdm.get("device_name")}
    if not (req.at_least(2, 89) and listing):
        body["id"] = bdm["volume_id"]  # Nova's old attachment id was the volume's (kept in the attach answer)
    if req.at_least(2, 70):
        body["tag"] = bdm.get("tag")
    if req.at_least(2, 79):
        body["delete_on_termination"] = bool(bdm.get("delete_on_termination"))
    if req.at_least(2, 89) and listing:
        body["attachment_id"] = bdm.get("attachment_id")
        body["bdm_uuid"] = bdm["uuid"]
    return body


def _check_state(row: dict[str, Any], action: str, allowed: tuple[str, ...]) -> None:
    if row["vm_state"] not in allowed:
        raise Conflict(f"Cannot '{action}' instance {row['uuid']} while it is in vm_state {row['vm_state']}")
    if row.get("task_state") is not None:
        raise Conflict(f"Cannot '{action}' instance {row['uuid']} while it is in task_state {row['task_state']}")


async def _unlocked(req: Req, row: dict[str, Any]) -> None:
    if row.get("locked") and not await req.is_admin():
        raise Conflict(f"Instance {row['uuid']} is locked")


def _attached(bdms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bdms if b.get("volume_id") and b.get("destination_type") == "volume"]


@routes.get("/v2.1/servers/{server_id}/os-volume_attachments")
async def list_attachments(req: Req) -> Response:
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), _RULE + "index")
    bdms = _attached(await req.read(block_devices.of_server, row["uuid"]))
    offset = _non_negative(req, "offset")
    limit = _non_negative(req, "limit")
    bdms = bdms[offset:] if limit is None else bdms[offset:offset + limit]
    return json_response({"volumeAttachments": [view(req, b) for b in bdms]})


def _non_negative(req: Req, name: str) -> Any:
    raw = req.params.get(name)
    if raw is None:
        return 0 if name == "offset" else None
    if not raw.isdigit():
        raise invalid(name, raw, f"'{raw}' does not match '^[0-9]*$'")
    return int(raw)


@routes.get("/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}")
async def show_attachment(req: Req) -> Response:
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), _RULE + "show")
    volume_id = req.path("volume_id")
    bdm = await req.read(block_devices.by_volume, row["uuid"], volume_id)
    if bdm is None:
        raise NotFound(f"volume_id not found: {volume_id}")
    return json_response({"volumeAttachment": view(req, bdm)})


def _attach_body(req: Req, body: Any) -> tuple[str, str | None, bool]:
    if not isinstance(body, dict):
        raise invalid("volumeAttachment", body, f"{body!r} is not of type 'object'")
    check_keys(body, {"volumeAttachment"}, "")
    att = body.get("volumeAttachment")
    if not isinstance(att, dict):
        raise BadRequest("Invalid input for field/attribute volumeAttachment. Value: None. "
                         "'volumeAttachment' is a required property" if att is None else
                         f"Invalid input for field/attribute volumeAttachment. Value: {att}. "
                         f"{att!r} is not of type 'object'")
    allowed = {"volumeId", "device"} | ({"tag"} if req.at_least(2, 49) else set()) \
        | ({"delete_on_termination"} if req.at_least(2, 79) else set())
    check_keys(att, allowed, "volumeAttachment")
    volume_id = att.get("volumeId")
    if volume_id is None:
        raise BadRequest("Invalid input for field/attribute volumeAttachment. Value: "
                         f"{att}. 'volumeId' is a required property")
    if not is_uuid_like(volume_id):
        raise invalid("volumeAttachment/volumeId", volume_id, f"{volume_id!r} is not a 'uuid'")
    device = att.get("device")
    if device is not None and (not isinstance(device, str) or not device.startswith("/dev/")):
        raise invalid("volumeAttachment/device", device, f"{device!r} does not match '(^/dev/x{{0,1}}[a-z]{{0,1}}d{{0,1}})([a-z]+)[0-9]*$'")
    tag = att.get("tag")
    if tag is not None and (not isinstance(tag, str) or not 1 <= len(tag) <= 60 or "/" in tag or "," in tag):
        raise invalid("volumeAttachment/tag", tag, f"{tag!r} does not match '^[^,/]*$'")
    dot = att.get("delete_on_termination", False)
    if not isinstance(dot, bool):
        raise invalid("volumeAttachment/delete_on_termination", dot, f"{dot!r} is not of type 'boolean'")
    return str(volume_id), tag, dot


async def _volume(req: Req, client: VolumeClient, volume_id: str) -> dict[str, Any]:
    try:
        return await client.get_volume(volume_id, user_token=req.headers.get("X-Auth-Token"))
    except VolumeNotFound:
        raise NotFound(f"Volume {volume_id} could not be found.") from None


def _check_attachable(req: Req, volume: dict[str, Any]) -> None:
    check_multiattach_version(req, volume)
    status = volume.get("status")
    if status == "available" or (status == "in-use" and volume.get("multiattach")):
        return
    raise BadRequest(f"Invalid volume: volume {volume['id']} status must be 'available' (or 'in-use' when "
                     f"multiattach), but it is '{status}'")


def _record(s: Session, uuid: str, action: str, who: Any) -> None:
    instances.start_action(s, uuid, action, who.request_id, who.project_id, who.user_id)


async def attach(req: Req, row: dict[str, Any], volume_id: str, tag: str | None, dot: bool) -> dict[str, Any]:
    """Reserve, map, connect; the mapping (undone on any failure). Shared with boot-time checks."""
    client = client_of(req)
    token = req.headers.get("X-Auth-Token")
    _check_attachable(req, await _volume(req, client, volume_id))
    bdm = await req.write(block_devices.reserve_attach, row["uuid"], volume_id, tag, dot)
    try:
        try:
            att = await client.attachment_create(volume_id, row["uuid"], user_token=token)
        except VolumeError as exc:
            if exc.status == 404:
                raise NotFound(f"Volume {volume_id} could not be found.") from None
            raise BadRequest(f"Invalid volume: {exc.message}") from None
        bdm["attachment_id"] = str(att["id"])
        await req.write(block_devices.update, bdm["uuid"], {"attachment_id": bdm["attachment_id"]})
        if row.get("host") and row["vm_state"] != states.SHELVED_OFFLOADED:
            try:
                info = await agents(req).attach_volume(row["host"], row, bdm)
            except VolumeAttachFailed as exc:
                raise BadRequest(f"Invalid volume: {exc}") from None
            except NotSupported:
                raise NotImplementedFault("The compute driver does not support attaching volumes.") from None
            bdm["connection_info"] = info
            await req.write(block_devices.update, bdm["uuid"], {"connection_info": info})
        else:
            # No host (shelved offloaded): as Nova's _attach_volume_shelved_offloaded, the
            # connector-less attachment is completed at once (the volume in-use); the host the
            # server is unshelved on gives it its connector (agent prepare_boot).
            try:
                await client.attachment_complete(bdm["attachment_id"], user_token=token)
            except VolumeError as exc:
                raise BadRequest(f"Invalid volume: {exc.message}") from None
    except BaseException:
        if bdm.get("attachment_id"):
            await client.attachment_delete(bdm["attachment_id"])
        await req.write(block_devices.remove, bdm["uuid"])
        raise
    return bdm


@routes.post("/v2.1/servers/{server_id}/os-volume_attachments")
async def attach_volume(req: Req) -> Response:
    ctx = await req.caller()
    volume_id, tag, dot = _attach_body(req, await req.json())
    row = await load(req, ctx, req.path("server_id"), _RULE + "create")
    client_of(req)
    await _unlocked(req, row)
    _check_state(row, "attach_volume", _ATTACH_STATES)
    await req.write(_record, row["uuid"], "attach_volume", await actor(req))
    bdm = await attach(req, row, volume_id, tag, dot)
    if req.at_least(2, 101):  # Nova answers 202 without a body from 2.101
        return Response(status_code=202)
    return json_response({"volumeAttachment": view(req, bdm, listing=False)})


@routes.put("/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}")
async def update_attachment(req: Req) -> Response:
    """Before 2.85 every PUT is a swap; from 2.85 the mapping's ``delete_on_termination`` is
    updated, and a different ``volumeId`` is a swap too. As Nova (since bug 2112187) a swap is
    only Cinder's callback while it migrates the old volume: otherwise 409. The swap itself is
    cast to the server's host (agent/volumes.py swap_volume), which calls Cinder's completion."""
    ctx = await req.caller()
    body = await req.json()
    row = await load(req, ctx, req.path("server_id"), _RULE + "update")
    volume_id = req.path("volume_id")
    att = body.get("volumeAttachment") if isinstance(body, dict) else None
    if not isinstance(att, dict) or "volumeId" not in att:
        raise BadRequest("Invalid input for field/attribute volumeAttachment. "
                         f"Value: {att}. 'volumeId' is a required property")
    allowed = {"volumeId"} | ({"id", "serverId", "device", "tag", "delete_on_termination"}
                              if req.at_least(2, 85) else set())
    check_keys(att, allowed, "volumeAttachment")
    only_swap = not req.at_least(2, 85)
    if only_swap or att["volumeId"] != volume_id:
        # Nova's empty target: Cinder calls this without the server's project.
        await req.enforce(_RULE + "swap", {})
    if not only_swap:
        await _update_regular(req, row, volume_id, att)
    if only_swap or att["volumeId"] != volume_id:
        await _swap(req, row, volume_id, att["volumeId"])
    return Response(status_code=202)


async def _update_regular(req: Req, row: dict[str, Any], volume_id: str, att: dict[str, Any]) -> None:
    bdm = await req.read(block_devices.by_volume, row["uuid"], volume_id)
    if bdm is None:
        raise NotFound(f"volume_id not found: {volume_id}")
    for key in ("id", "serverId", "device", "tag"):
        if key in att and att[key] != {"id": volume_id, "serverId": row["uuid"], "device": bdm.get("device_name"),
                                        "tag": bdm.get("tag")}[key]:
            raise BadRequest(f"The {key} property is not mutable")
    if "delete_on_termination" in att:
        dot = att["delete_on_termination"]
        if not isinstance(dot, bool):
            raise invalid("volumeAttachment/delete_on_termination", dot, f"{dot!r} is not of type 'boolean'")
        await req.write(block_devices.update, bdm["uuid"], {"delete_on_termination": dot})


async def _swap(req: Req, row: dict[str, Any], old_id: str, new_id: str) -> None:
    """Nova's _update_volume_swap checks, in its order: the old volume (404), migrating (409),
    the new volume (400: it is in the body), the mapping (404)."""
    client = client_of(req)
    token = req.headers.get("X-Auth-Token")
    old = await _volume(req, client, old_id)
    if not old.get("os-vol-mig-status-attr:migstat"):
        raise Conflict(f"volume {old_id} is not migrating; this API should only be called by Cinder")
    try:
        new = await client.get_volume(new_id, user_token=token)
    except VolumeNotFound:
        raise BadRequest(f"Volume {new_id} could not be found.") from None
    bdm = await req.read(block_devices.by_volume, row["uuid"], old_id)
    if bdm is None:
        raise NotFound(f"No volume Block Device Mapping with id {old_id}.")
    # compute/api.py swap_volume's checks (InvalidVolume: 400).
    if not any(a.get("server_id") == row["uuid"] for a in old.get("attachments") or []):
        raise BadRequest("Invalid volume: Old volume is attached to a different instance.")
    # The volume view has no attach_status; Nova's translation of it says "attached" when it lists attachments.
    if new.get("attachments"):
        raise BadRequest("Invalid volume: New volume must be detached in order to swap.")
    if int(new.get("size") or 0) < int(old.get("size") or 0):
        raise BadRequest("Invalid volume: New volume must be the same size or larger.")
    if not row.get("host") or not bdm.get("attachment_id"):
        raise Conflict(f"Cannot 'swap_volume' instance {row['uuid']} while it has no host or its volume "
                       "is not connected.")
    try:
        att = await client.attachment_create(new_id, row["uuid"], user_token=token)
    except VolumeError as exc:
        raise BadRequest(f"Invalid volume: {exc.message}") from None
    try:
        await agents(req).swap_volume(row["host"], row, old_id, new_id, str(att["id"]))
    except BaseException:
        await client.attachment_delete(str(att["id"]))
        raise


@routes.delete("/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}")
async def detach_volume(req: Req) -> Response:
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), _RULE + "delete")
    volume_id = req.path("volume_id")
    client = client_of(req)
    await _unlocked(req, row)
    _check_state(row, "detach_volume", _DETACH_STATES)
    bdm = await req.read(block_devices.by_volume, row["uuid"], volume_id)
    if bdm is None:
        raise NotFound(f"volume_id not found: {volume_id}")
    if bdm.get("boot_index") == 0:
        raise BadRequest("Cannot detach a root device volume")
    hosted = bool(row.get("host")) and row["vm_state"] != states.SHELVED_OFFLOADED
    unfinished = not bdm.get("attachment_id") or (hosted and not bdm.get("connection_info"))
    if unfinished and row["vm_state"] != states.ERROR:  # a failed build's mappings may go as they are
        # Still being attached (or detached): Cinder's begin_detaching refuses a volume not in-use,
        # and a detach here would miss the attachment the attach is about to make.
        raise BadRequest("Invalid volume: Unable to detach volume. Volume status must be 'in-use' and "
                         "attach_status must be 'attached' to detach.")
    await req.write(_record, row["uuid"], "detach_volume", await actor(req))
    if hosted:
        await agents(req).detach_volume(row["host"], row, bdm)
    # Unconnected first: a crash from here on leaves a mapping the conductor's pass finishes
    # detaching (conductor/volume_audit.py) instead of one whose volume is already available.
    await req.write(block_devices.update, bdm["uuid"], {"connection_info": None})
    if bdm.get("attachment_id"):
        await volume_cleanup.detach(client, str(bdm["attachment_id"]), volume_id, row["uuid"])
    await req.write(block_devices.remove, bdm["uuid"])
    return Response(status_code=202)
