"""The attachments API (3.27+): create (reserve, or reserve and connect), update with a connector,
os-complete (3.44), delete, show and lists.

Connection info travels as Cinder's attachments carry it: flattened (the driver's ``data`` keys
next to ``driver_volume_type``), with ``attachment_id`` and ``enforce_multipath``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.volume import models
from onestack.volume.api.common import Req, VolumeRoutes, caller, list_query
from onestack.volume.api.volume_actions import connect, disconnect
from onestack.volume.service import attachments as svc
from onestack.volume.service.common import iso

routes = VolumeRoutes()
NEW_ATTACH = Version(3, 27)
_UUID: dict[str, Any] = {"type": "string", "format": "uuid"}


def summary(a: models.Attachment) -> dict[str, Any]:
    return {"id": a.id, "status": a.attach_status, "instance": a.instance_uuid, "volume_id": a.volume_id}


def detail(a: models.Attachment) -> dict[str, Any]:
    # Cinder renders a missing time as "".
    return {**summary(a), "attached_at": iso(a.attach_time) or "", "detached_at": iso(a.detach_time) or "",
            "attach_mode": a.attach_mode, "connection_info": a.connection_info or {}}


async def _connect(req: Req, reserved: svc.Reserved, connector: dict[str, Any]) -> models.Attachment:
    """Ask the agent for a connection and record it (error_attaching if it cannot)."""
    mode = reserved.attachment.attach_mode
    if mode in ("null", "", None):
        mode = str(connector.get("mode") or "rw")
    connector = {**connector, "mode": mode}
    try:
        info = await connect(req, reserved.volume, connector)
    except Exception:
        await req.write(svc.unreserve_failed, reserved.attachment.id)
        raise
    flat = svc.flat_connection(info, reserved.attachment.id, connector, mode)
    return await req.write(svc.connected, reserved.attachment.id, connector, flat, mode)


@routes.post("/v3/attachments", since=NEW_ATTACH)
async def create(req: Req) -> Response:
    props: dict[str, Any] = {"instance_uuid": _UUID, "connector": {"type": ["object", "null"]},
                             "volume_uuid": _UUID}
    if req.at_least(3, 54):
        props["mode"] = {"type": "string", "enum": ["rw", "ro"]}
    body = await req.body({"type": "object", "properties": props, "required": ["volume_uuid"],
                           "additionalProperties": False}, wrapper="attachment")
    who = await caller(req)
    project, shared_boot = await req.read(svc.attach_target, who, body["volume_uuid"])
    await req.enforce("volume:attachment_create", {"project_id": project})
    if shared_boot:
        await req.enforce("volume:multiattach_bootable_volume", {"project_id": project})
    mode = body.get("mode", "null")
    reserved = await req.write(svc.reserve, who, body["volume_uuid"], body.get("instance_uuid"), mode)
    row = reserved.attachment
    if body.get("connector"):
        row = await _connect(req, reserved, body["connector"])
    return json_response({"attachment": detail(row)})


@routes.get("/v3/attachments", since=NEW_ATTACH)
async def index(req: Req) -> Response:
    await req.enforce("volume_extension:attachment:index")
    rows = await _list(req)
    return json_response({"attachments": [summary(a) for a in rows]})


@routes.get("/v3/attachments/detail", since=NEW_ATTACH)
async def index_detail(req: Req) -> Response:
    await req.enforce("volume_extension:attachment:index")
    rows = await _list(req)
    return json_response({"attachments": [detail(a) for a in rows]})


async def _list(req: Req) -> list[models.Attachment]:
    lq = list_query(req, sort_keys=("created_at", "updated_at", "volume_id", "instance_uuid", "attach_status"),
                    filters=("volume_id", "instance_uuid", "attach_status", "status"),
                    aliases={"instance_id": "instance_uuid"})
    listing = await req.read(svc.list_attachments, await caller(req), lq)
    return listing.rows


@routes.get("/v3/attachments/{attachment_id}", since=NEW_ATTACH)
async def show(req: Req) -> Response:
    who = await caller(req)
    project = await req.read(svc.attachment_project, who, req.path("attachment_id"))
    await req.enforce("volume_extension:attachment:show", {"project_id": project})
    row = await req.read(svc.show, who, req.path("attachment_id"))
    return json_response({"attachment": detail(row)})


@routes.put("/v3/attachments/{attachment_id}", since=NEW_ATTACH)
async def update(req: Req) -> Response:
    schema = {"type": "object", "properties": {"connector": {"type": "object", "minProperties": 1}},
              "required": ["connector"], "additionalProperties": False}
    body = await req.body(schema, wrapper="attachment")
    who = await caller(req)
    attachment_id = req.path("attachment_id")
    project = await req.read(svc.attachment_project, who, attachment_id)
    await req.enforce("volume:attachment_update", {"project_id": project})
    reserved = await req.read(svc.for_update, who, attachment_id)
    row = await _connect(req, reserved, body["connector"])
    return json_response({"attachment": detail(row)})


@routes.post("/v3/attachments/{attachment_id}/action", since=Version(3, 44))
async def attachment_action(req: Req) -> Response:
    body = await req.json()
    req.validate(body, {"type": "object", "properties": {"os-complete": {}}, "required": ["os-complete"],
                        "additionalProperties": False})
    who = await caller(req)
    attachment_id = req.path("attachment_id")
    project = await req.read(svc.attachment_project, who, attachment_id)
    await req.enforce("volume:attachment_complete", {"project_id": project})
    await req.write(svc.complete, who, attachment_id)
    return Response(status_code=204)


@routes.delete("/v3/attachments/{attachment_id}", since=NEW_ATTACH)
async def delete(req: Req) -> Response:
    who = await caller(req)
    attachment_id = req.path("attachment_id")
    project = await req.read(svc.attachment_project, who, attachment_id)
    await req.enforce("volume:attachment_delete", {"project_id": project})
    removal = await req.read(svc.for_delete, who, attachment_id)
    row = removal.attachment
    # A reserved attachment never reached the backend; one without a connector has nothing to end.
    if row.attach_status != "reserved" and row.connector:
        await disconnect(req, removal.volume if removal.volume["host"] else None, row.connector)
    remaining = await req.write(svc.delete_attachment, attachment_id, row.volume_id)
    return json_response({"attachments": [summary(a) for a in remaining]})
