"""Group types (``/group_types``, 3.11) and their group specs."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.volume.api.common import Req, VolumeRoutes, as_bool, caller, invalid, list_query
from onestack.volume.api.types import is_public_param, parse_specs
from onestack.volume.errors import InvalidInput
from onestack.volume.service import groups as svc

routes = VolumeRoutes()
SINCE = Version(3, 11)
_BOOL = {"type": ["boolean", "string"]}
_CREATE = {
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 255},
                   "description": {"type": ["string", "null"], "maxLength": 255}, "is_public": _BOOL,
                   "group_specs": {"type": ["object", "null"]}},
    "required": ["name"], "additionalProperties": False,
}
_UPDATE = {
    "type": "object",
    "properties": {"name": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
                   "description": {"type": ["string", "null"], "maxLength": 255}, "is_public": _BOOL},
    "additionalProperties": False,
}


async def render(req: Req, t: svc.GroupTypeView) -> dict[str, Any]:
    out: dict[str, Any] = {"id": t.row.id, "name": t.row.name, "description": t.row.description,
                           "is_public": t.row.is_public}
    if await req.allowed("group:access_group_types_specs"):
        out["group_specs"] = t.specs
    return out


@routes.get("/v3/group_types", since=SINCE)
async def list_group_types(req: Req) -> Response:
    await req.caller()
    lq = list_query(req, sort_keys=svc.TYPE_SORT, filters=(), ignore=("is_public",))
    who = await caller(req)
    found = await req.read(svc.list_group_types, who, is_public_param(req, who.is_admin), lq)
    return json_response({"group_types": [await render(req, t) for t in found]})


@routes.get("/v3/group_types/default", since=SINCE)
async def show_default(req: Req) -> Response:
    await req.caller()
    found = await req.read(svc.default_group_type, "")
    return json_response({"group_type": await render(req, found)})


@routes.post("/v3/group_types", since=SINCE)
async def create_group_type(req: Req) -> Response:
    await req.enforce("group:group_types:create")
    body = await req.body(_CREATE, wrapper="group_type")
    name = body["name"].strip()
    if not name:
        raise InvalidInput("Group type name can not be empty.")
    public = as_bool(body["is_public"], "is_public") if body.get("is_public") is not None else True
    specs = parse_specs(body.get("group_specs") or {}, "group_specs")
    created = await req.write(svc.create_group_type, name, body.get("description"), public, specs)
    return json_response({"group_type": await render(req, created)}, status=202)


@routes.get("/v3/group_types/{type_id}", since=SINCE)
async def show_group_type(req: Req) -> Response:
    await req.caller()
    found = await req.read(svc.get_group_type, req.path("type_id"), await caller(req))
    return json_response({"group_type": await render(req, found)})


@routes.put("/v3/group_types/{type_id}", since=SINCE)
async def update_group_type(req: Req) -> Response:
    await req.enforce("group:group_types:update")
    body = await req.body(_UPDATE, wrapper="group_type")
    changes: dict[str, Any] = {}
    if body.get("name") is not None:
        changes["name"] = body["name"].strip()
    if "description" in body:
        changes["description"] = body["description"]
    if body.get("is_public") is not None:
        changes["is_public"] = as_bool(body["is_public"], "is_public")
    if not changes or changes.get("name") == "":
        raise InvalidInput("Specify group type name, description or a combination thereof.")
    updated = await req.write(svc.update_group_type, req.path("type_id"), await caller(req), changes)
    return json_response({"group_type": await render(req, updated)})


@routes.delete("/v3/group_types/{type_id}", since=SINCE)
async def delete_group_type(req: Req) -> Response:
    await req.enforce("group:group_types:delete")
    await req.write(svc.delete_group_type, req.path("type_id"), await caller(req))
    return Response(status_code=202)


# --- group specs --------------------------------------------------------------------------------


@routes.get("/v3/group_types/{type_id}/group_specs", since=SINCE)
async def list_specs(req: Req) -> Response:
    await req.enforce("group:group_types_specs:get_all")
    specs = await req.read(svc.get_group_specs, req.path("type_id"), await caller(req))
    return json_response({"group_specs": specs})


@routes.post("/v3/group_types/{type_id}/group_specs", since=SINCE)
async def create_specs(req: Req) -> Response:
    await req.enforce("group:group_types_specs:create")
    body = await req.json()
    if not isinstance(body, dict) or "group_specs" not in body:
        raise invalid("group_specs", body, "'group_specs' is a required property")
    specs = parse_specs(body["group_specs"], "group_specs")
    await req.write(svc.set_group_specs, req.path("type_id"), specs, await caller(req))
    return json_response({"group_specs": specs}, status=202)


@routes.get("/v3/group_types/{type_id}/group_specs/{key}", since=SINCE)
async def show_spec(req: Req) -> Response:
    await req.enforce("group:group_types_specs:get")
    key = req.path("key")
    value = await req.read(svc.get_group_spec, req.path("type_id"), key, await caller(req))
    return json_response({key: value})


@routes.put("/v3/group_types/{type_id}/group_specs/{key}", since=SINCE)
async def update_spec(req: Req) -> Response:
    await req.enforce("group:group_types_specs:update")
    key = req.path("key")
    body = await req.json()
    if not isinstance(body, dict) or not body:
        raise InvalidInput("Request body empty")
    if key not in body:
        raise InvalidInput("Request body and URI mismatch")
    if len(body) > 1:
        raise InvalidInput("Request body contains too many items")
    specs = parse_specs(body, "group_specs")
    await req.write(svc.set_group_specs, req.path("type_id"), specs, await caller(req))
    return json_response(specs)


@routes.delete("/v3/group_types/{type_id}/group_specs/{key}", since=SINCE)
async def delete_spec(req: Req) -> Response:
    await req.enforce("group:group_types_specs:delete")
    await req.write(svc.delete_group_spec, req.path("type_id"), req.path("key"), await caller(req))
    return Response(status_code=202)
