"""Identity API: unified limits (registered limits, project/domain limits, the limit model)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response, no_content
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection, self_link, with_link
from onestack.identity.service import limits

routes = IdentityRoutes()

_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_NULL_REGION = {"type": ["string", "null"], "minLength": 1, "maxLength": 255}
_RESOURCE = {"type": "string", "minLength": 1, "maxLength": 255}
_AMOUNT = {"type": "integer", "minimum": -1, "maximum": 2147483647}
_DESC = {"type": ["string", "null"], "maxLength": 255}

_REGISTERED_PROPS = {"service_id": _ID, "region_id": _NULL_REGION, "resource_name": _RESOURCE,
                     "default_limit": _AMOUNT, "description": _DESC}
REGISTERED_CREATE = {"type": "object", "properties": _REGISTERED_PROPS, "additionalProperties": False,
                     "required": ["service_id", "resource_name", "default_limit"]}
REGISTERED_UPDATE = {"type": "object", "properties": _REGISTERED_PROPS, "additionalProperties": False,
                     "minProperties": 1}
LIMIT_CREATE = {
    "type": "object",
    "properties": {"project_id": {"type": ["string", "null"], "maxLength": 64},
                   "domain_id": {"type": ["string", "null"], "maxLength": 64},
                   "service_id": _ID, "region_id": _NULL_REGION, "resource_name": _RESOURCE,
                   "resource_limit": _AMOUNT, "description": _DESC},
    "additionalProperties": False,
    "required": ["service_id", "resource_name", "resource_limit"],
}
LIMIT_UPDATE = {"type": "object", "properties": {"resource_limit": _AMOUNT, "description": _DESC},
                "additionalProperties": False, "minProperties": 1}


async def _items(req: Req, key: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"<key>": [ {...}, ... ]}``: a non-empty list, each item checked against ``schema``."""
    body = await req.json()
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise BadRequest(f"Invalid input for field '{key}': a list of {key} is required.")
    if not body[key]:
        raise BadRequest(f"Invalid input for field '{key}': [] is too short.")
    for item in body[key]:
        req.validate(item, schema)
    return list(body[key])


def _registered(req: Req, row: Any) -> dict[str, Any]:
    return with_link(req, limits.registered_to_dict(row), "registered_limits")


def _limit(req: Req, row: Any) -> dict[str, Any]:
    return with_link(req, limits.limit_to_dict(row), "limits")


def _filters(req: Req, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: req.params[k] for k in keys if k in req.params}


# --- registered limits -----------------------------------------------------------------------


@routes.get("/v3/registered_limits")
async def list_registered_limits(req: Req) -> Response:
    await req.enforce("identity:list_registered_limits")
    filters = _filters(req, ("service_id", "region_id", "resource_name"))
    rows = await req.read(limits.list_registered_limits, filters)
    return json_response(collection(req, "registered_limits", [_registered(req, r) for r in rows]))


@routes.post("/v3/registered_limits")
async def create_registered_limits(req: Req) -> Response:
    await req.enforce("identity:create_registered_limits")
    items = await _items(req, "registered_limits", REGISTERED_CREATE)
    rows = await req.write(limits.create_registered_limits, items)
    return json_response({"registered_limits": [_registered(req, r) for r in rows]}, status=201)


@routes.get("/v3/registered_limits/{limit_id}")
async def get_registered_limit(req: Req) -> Response:
    await req.enforce("identity:get_registered_limit")
    row = await req.read(limits.get_registered_limit, req.path("limit_id"))
    return json_response({"registered_limit": _registered(req, row)})


@routes.patch("/v3/registered_limits/{limit_id}")
async def update_registered_limit(req: Req) -> Response:
    await req.enforce("identity:update_registered_limit")
    data = await req.body(REGISTERED_UPDATE, wrapper="registered_limit")
    row = await req.write(limits.update_registered_limit, req.path("limit_id"), data)
    return json_response({"registered_limit": _registered(req, row)})


@routes.delete("/v3/registered_limits/{limit_id}")
async def delete_registered_limit(req: Req) -> Response:
    await req.enforce("identity:delete_registered_limit")
    await req.write(limits.delete_registered_limit, req.path("limit_id"))
    return no_content()


# --- limits ----------------------------------------------------------------------------------


@routes.get("/v3/limits/model")
async def get_limit_model(req: Req) -> Response:
    await req.enforce("identity:get_limit_model")
    return json_response({"model": dict(limits.MODEL), "links": self_link(req, "limits/model")})


@routes.get("/v3/limits")
async def list_limits(req: Req) -> Response:
    ctx = await req.enforce("identity:list_limits")
    filters = _filters(req, ("service_id", "region_id", "resource_name", "project_id", "domain_id"))
    # As Keystone: system scope sees every limit, a domain token its domain's, a project token its own.
    rows = await req.read(limits.list_limits, filters, ctx.project_id, ctx.domain_id, bool(ctx.system_scope))
    return json_response(collection(req, "limits", [_limit(req, r) for r in rows]))


@routes.post("/v3/limits")
async def create_limits(req: Req) -> Response:
    await req.enforce("identity:create_limits")
    items = await _items(req, "limits", LIMIT_CREATE)
    rows = await req.write(limits.create_limits, items)
    return json_response({"limits": [_limit(req, r) for r in rows]}, status=201)


@routes.get("/v3/limits/{limit_id}")
async def get_limit(req: Req) -> Response:
    await req.caller()  # 401 before revealing whether the limit exists
    target = await req.read(limits.limit_target, req.path("limit_id"))
    await req.enforce("identity:get_limit", {"target": {"limit": target}})
    row = await req.read(limits.get_limit, req.path("limit_id"))
    return json_response({"limit": _limit(req, row)})


@routes.patch("/v3/limits/{limit_id}")
async def update_limit(req: Req) -> Response:
    await req.enforce("identity:update_limit")
    data = await req.body(LIMIT_UPDATE, wrapper="limit")
    row = await req.write(limits.update_limit, req.path("limit_id"), data)
    return json_response({"limit": _limit(req, row)})


@routes.delete("/v3/limits/{limit_id}")
async def delete_limit(req: Req) -> Response:
    await req.enforce("identity:delete_limit")
    await req.write(limits.delete_limit, req.path("limit_id"))
    return no_content()
