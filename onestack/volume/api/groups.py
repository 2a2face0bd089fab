"""Generic volume groups (``/groups``, 3.13): create with volume types, list/detail/show,
update (name, description, add/remove volumes), delete (with ``delete-volumes``) and, for
admins, reset_status (3.20)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import ApiError
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.volume.api.common import Req, VolumeRoutes, as_bool, caller, links, list_query
from onestack.volume.api.volumes import cast_delete
from onestack.volume.errors import InvalidInput
from onestack.volume.service import create_flow
from onestack.volume.service import groups as svc
from onestack.volume.service.common import iso

routes = VolumeRoutes()
log = logging.getLogger(__name__)
SINCE = Version(3, 13)
_CREATE = {
    "type": "object",
    "properties": {"name": {"type": ["string", "null"], "maxLength": 255},
                   "description": {"type": ["string", "null"], "maxLength": 255},
                   "group_type": {"type": "string", "minLength": 1, "maxLength": 255},
                   "volume_types": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 255}},
                   "availability_zone": {"type": ["string", "null"], "maxLength": 255}},
    "additionalProperties": False,
}
_UPDATE = {
    "type": "object",
    "properties": {"name": {"type": ["string", "null"], "maxLength": 255},
                   "description": {"type": ["string", "null"], "maxLength": 255},
                   "add_volumes": {"type": ["string", "null"]}, "remove_volumes": {"type": ["string", "null"]}},
    "additionalProperties": False,
}


def render(req: Req, g: svc.GroupView, detail: bool = True) -> dict[str, Any]:
    row = g.row
    if not detail:
        return {"id": row.id, "name": row.name}
    out: dict[str, Any] = {
        "id": row.id, "name": row.name, "description": row.description, "status": row.status,
        "availability_zone": row.availability_zone, "created_at": iso(row.created_at),
        "group_type": row.group_type_id, "volume_types": g.volume_types,
        "group_snapshot_id": row.group_snapshot_id, "source_group_id": row.source_group_id,
    }
    if req.at_least(3, 25) and as_bool(req.params.get("list_volume", "False"), "list_volume"):
        out["volumes"] = g.volumes
    if req.at_least(3, 38):
        out["replication_status"] = row.replication_status
    if req.at_least(3, 58):
        out["project_id"] = row.project_id
    return out


async def _list(req: Req, detail: bool) -> Response:
    await req.enforce("group:get_all")
    lq = list_query(req, sort_keys=svc.GROUP_SORT, filters=svc.GROUP_FILTERS, ignore=("list_volume",))
    found = await req.read(svc.list_groups, await caller(req), lq)
    items = [render(req, g, detail) for g in found]
    return json_response({"groups": items, **links(req, "groups", items, lq)})


@routes.get("/v3/groups", since=SINCE)
async def list_groups(req: Req) -> Response:
    return await _list(req, False)


@routes.get("/v3/groups/detail", since=SINCE)
async def list_groups_detail(req: Req) -> Response:
    return await _list(req, True)


@routes.post("/v3/groups", since=SINCE)
async def create_group(req: Req) -> Response:
    await req.enforce("group:create")
    body = await req.body(_CREATE, wrapper="group")
    name = body.get("name")
    if not body.get("group_type"):
        raise InvalidInput(f"group_type must be provided to create group {name}.")
    if not body.get("volume_types"):
        raise InvalidInput(f"volume_types must be provided to create group {name}.")
    zone = body.get("availability_zone") or req.state.config.volume.storage_availability_zone
    created = await req.write(svc.create_group, await caller(req), name, body.get("description"),
                              body["group_type"], body["volume_types"], zone)
    return json_response({"group": {"id": created.row.id, "name": created.row.name}}, status=202)


@routes.post("/v3/groups/action", since=Version(3, 14))
async def create_from_source(req: Req) -> Response:
    """``create-from-src``: a new group with a copy of each volume of a group snapshot or a group.
    The volumes go through the volume create flow (so they exist when this answers)."""
    await req.enforce("group:create")
    body = await req.json()
    args = body.get("create-from-src") if isinstance(body, dict) else None
    if not isinstance(args, dict):
        raise InvalidInput("Missing required element 'create-from-src' in request body.")
    req.validate(args, {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": ["string", "null"], "maxLength": 255},
        "description": {"type": ["string", "null"], "maxLength": 255},
        "group_snapshot_id": {"type": ["string", "null"]}, "source_group_id": {"type": ["string", "null"]}}},
        wrapper="create-from-src")
    who = await caller(req)
    plan = await req.write(svc.create_from_source, who, args.get("group_snapshot_id"), args.get("source_group_id"),
                           args.get("name"), args.get("description"))
    ok = True
    for snapshot_id, source_volid, type_id in plan.sources:
        request = create_flow.CreateRequest(snapshot_id=snapshot_id, source_volid=source_volid,
                                            volume_type=type_id or None, group_id=plan.group_id)
        try:
            await create_flow.create(req.state, req.state.db, who, request)
        except ApiError:
            log.warning("a volume of group %s could not be created from its source", plan.group_id, exc_info=True)
            ok = False
    await req.write(svc.finish_from_source, plan.group_id, ok)
    return json_response({"group": {"id": plan.group_id, "name": args.get("name")}}, status=202)


@routes.get("/v3/groups/{group_id}", since=SINCE)
async def show_group(req: Req) -> Response:
    await req.enforce("group:get")
    found = await req.read(svc.get_group, req.path("group_id"), await caller(req))
    return json_response({"group": render(req, found)})


def _ids(value: Any) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@routes.put("/v3/groups/{group_id}", since=SINCE)
async def update_group(req: Req) -> Response:
    await req.enforce("group:update")
    body = await req.body(_UPDATE, wrapper="group")
    add, remove = _ids(body.get("add_volumes")), _ids(body.get("remove_volumes"))
    changes = {k: body[k] for k in ("name", "description") if body.get(k) is not None}
    if not changes and not add and not remove:
        raise InvalidInput("Name, description, add_volumes, and remove_volumes can not be all empty in the "
                           "request body.")
    await req.write(svc.update_group, req.path("group_id"), await caller(req), changes, add, remove)
    return Response(status_code=202)


@routes.post("/v3/groups/{group_id}/action", since=SINCE)
async def group_action(req: Req) -> Response:
    body = await req.json()
    if not isinstance(body, dict) or len(body) != 1:
        raise InvalidInput("There is no such action or more than one action in the request body.")
    action, args = next(iter(body.items()))
    if action == "delete":
        await req.enforce("group:delete")
        flag = args.get("delete-volumes", False) if isinstance(args, dict) else False
        plans = await req.write(svc.delete_group, req.path("group_id"), await caller(req),
                                as_bool(flag, "delete-volumes"))
        for plan in plans:
            await cast_delete(req, plan)
        return Response(status_code=202)
    if action == "reset_status" and req.at_least(3, 20):
        # Cinder finds the group before its policy: another project's is 404, not 403
        await req.read(svc.get_group, req.path("group_id"), await caller(req))
        await req.enforce("group:reset_status")
        status = args.get("status") if isinstance(args, dict) else None
        if not isinstance(status, str):
            raise InvalidInput("Must specify 'status'")
        await req.write(svc.reset_status, req.path("group_id"), await caller(req), status.lower())
        return Response(status_code=202)
    raise InvalidInput(f"There is no such action: {action}")
