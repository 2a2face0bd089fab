"""Group snapshots (``/group_snapshots``, 3.14): create, list/detail/show, delete, and, for
admins, reset_status (3.19)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.volume.api.common import Req, VolumeRoutes, caller, links, list_query
from onestack.volume.errors import InvalidInput
from onestack.volume.service import group_snapshots as svc
from onestack.volume.service.common import iso
from onestack.volume.service.snapshots import Cast

routes = VolumeRoutes()
SINCE = Version(3, 14)
_CREATE = {
    "type": "object",
    "properties": {"group_id": {"type": "string", "minLength": 1, "maxLength": 36},
                   "name": {"type": ["string", "null"], "maxLength": 255},
                   "description": {"type": ["string", "null"], "maxLength": 255}},
    "required": ["group_id"], "additionalProperties": False,
}


def render(req: Req, v: svc.GroupSnapshotView, detail: bool = True) -> dict[str, Any]:
    row = v.row
    if not detail:
        return {"id": row.id, "name": row.name}
    out: dict[str, Any] = {"id": row.id, "name": row.name, "description": row.description, "status": v.status,
                           "group_id": row.group_id, "group_type_id": row.group_type_id,
                           "created_at": iso(row.created_at)}
    if req.at_least(3, 58):
        out["project_id"] = row.project_id
    return out


async def _list(req: Req, detail: bool) -> Response:
    await req.enforce("group:get_all_group_snapshots")
    lq = list_query(req, sort_keys=svc.SORT, filters=svc.FILTERS)
    found = await req.read(svc.list_group_snapshots, await caller(req), lq)
    items = [render(req, v, detail) for v in found]
    return json_response({"group_snapshots": items, **links(req, "group_snapshots", items, lq)})


@routes.get("/v3/group_snapshots", since=SINCE)
async def list_group_snapshots(req: Req) -> Response:
    return await _list(req, False)


@routes.get("/v3/group_snapshots/detail", since=SINCE)
async def list_group_snapshots_detail(req: Req) -> Response:
    return await _list(req, True)


async def _send(req: Req, casts: list[Cast], create: bool) -> None:
    agents = req.state.agents
    if agents is None:
        return
    for c in casts:
        if create:
            await agents.create_snapshot(host=c.host, snapshot=c.snapshot, volume=c.volume)
        else:
            await agents.delete_snapshot(host=c.host, snapshot=c.snapshot, volume=c.volume)


@routes.post("/v3/group_snapshots", since=SINCE)
async def create_group_snapshot(req: Req) -> Response:
    await req.enforce("group:create_group_snapshot")
    body = await req.body(_CREATE, wrapper="group_snapshot")
    view, casts = await req.write(svc.create, await caller(req), body["group_id"], body.get("name"),
                                  body.get("description"))
    await _send(req, casts, True)
    return json_response({"group_snapshot": {"id": view.row.id, "name": view.row.name,
                                             "group_type_id": view.row.group_type_id}}, status=202)


@routes.get("/v3/group_snapshots/{gs_id}", since=SINCE)
async def show_group_snapshot(req: Req) -> Response:
    await req.enforce("group:get_group_snapshot")
    found = await req.read(svc.get, req.path("gs_id"), await caller(req))
    return json_response({"group_snapshot": render(req, found)})


@routes.delete("/v3/group_snapshots/{gs_id}", since=SINCE)
async def delete_group_snapshot(req: Req) -> Response:
    await req.enforce("group:delete_group_snapshot")
    casts = await req.write(svc.delete, req.path("gs_id"), await caller(req))
    await _send(req, casts, False)
    return Response(status_code=202)


@routes.post("/v3/group_snapshots/{gs_id}/action", since=Version(3, 19))
async def group_snapshot_action(req: Req) -> Response:
    body = await req.json()
    if not isinstance(body, dict) or set(body) != {"reset_status"}:
        raise InvalidInput("There is no such action or more than one action in the request body.")
    # Cinder finds the group snapshot before its policy: another project's is 404, not 403
    await req.read(svc.get, req.path("gs_id"), await caller(req))
    await req.enforce("group:reset_group_snapshot_status")
    status = body["reset_status"].get("status") if isinstance(body["reset_status"], dict) else None
    if not isinstance(status, str):
        raise InvalidInput("Must specify 'status'")
    await req.write(svc.reset_status, req.path("gs_id"), await caller(req), status.lower())
    return Response(status_code=202)
