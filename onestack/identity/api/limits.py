"""Identity API: unified limits (registered limits, project/domain limits, the limit model)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import authenticate
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection, self_link, with_link
from onestack.identity.api.validation import validate
from onestack.identity.service import limits

routes = RouteTable()

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


def _items(body: Any, key: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"<key>": [ {...}, ... ]}``: a non-empty list, each item checked against ``schema``."""
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise BadRequest(f"Invalid input for field '{key}': a list of {key} is required.")
    if not body[key]:
        raise BadRequest(f"Invalid input for field '{key}': [] is too short.")
    return [validate(item, schema) for item in body[key]]


def _registered(request: Request, row: Any) -> dict[str, Any]:
    return with_link(request, limits.registered_to_dict(row), "registered_limits")


def _limit(request: Request, row: Any) -> dict[str, Any]:
    return with_link(request, limits.limit_to_dict(row), "limits")


def _filters(request: Request, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: request.query_params[k] for k in keys if k in request.query_params}


# --- registered limits -----------------------------------------------------------------------


@routes.get("/v3/registered_limits")
async def list_registered_limits(request: Request) -> Response:
    await enforce(request, "identity:list_registered_limits")
    filters = _filters(request, ("service_id", "region_id", "resource_name"))
    rows = await identity_of(request).db.read(limits.list_registered_limits, filters)
    return json_response(collection(request, "registered_limits", [_registered(request, r) for r in rows]))


@routes.post("/v3/registered_limits")
async def create_registered_limits(request: Request) -> Response:
    await enforce(request, "identity:create_registered_limits")
    items = _items(await json_body(request), "registered_limits", REGISTERED_CREATE)
    rows = await identity_of(request).db.write(limits.create_registered_limits, items)
    return json_response({"registered_limits": [_registered(request, r) for r in rows]}, status=201)


@routes.get("/v3/registered_limits/{limit_id}")
async def get_registered_limit(request: Request) -> Response:
    await enforce(request, "identity:get_registered_limit")
    row = await identity_of(request).db.read(limits.get_registered_limit, request.path_params["limit_id"])
    return json_response({"registered_limit": _registered(request, row)})


@routes.patch("/v3/registered_limits/{limit_id}")
async def update_registered_limit(request: Request) -> Response:
    await enforce(request, "identity:update_registered_limit")
    data = validate(await json_body(request), REGISTERED_UPDATE, wrapper="registered_limit")
    row = await identity_of(request).db.write(limits.update_registered_limit, request.path_params["limit_id"], data)
    return json_response({"registered_limit": _registered(request, row)})


@routes.delete("/v3/registered_limits/{limit_id}")
async def delete_registered_limit(request: Request) -> Response:
    await enforce(request, "identity:delete_registered_limit")
    await identity_of(request).db.write(limits.delete_registered_limit, request.path_params["limit_id"])
    return no_content()


# --- limits ----------------------------------------------------------------------------------


@routes.get("/v3/limits/model")
async def get_limit_model(request: Request) -> Response:
    await enforce(request, "identity:get_limit_model")
    return json_response({"model": dict(limits.MODEL), "links": self_link(request, "limits/model")})


@routes.get("/v3/limits")
async def list_limits(request: Request) -> Response:
    ctx = await enforce(request, "identity:list_limits")
    filters = _filters(request, ("service_id", "region_id", "resource_name", "project_id", "domain_id"))
    # As Keystone: system scope sees every limit, a domain token its domain's, a project token its own.
    rows = await identity_of(request).db.read(
        lambda s: limits.list_limits(s, filters, project_id=ctx.project_id, domain_id=ctx.domain_id,
                                     everything=bool(ctx.system_scope))
    )
    return json_response(collection(request, "limits", [_limit(request, r) for r in rows]))


@routes.post("/v3/limits")
async def create_limits(request: Request) -> Response:
    await enforce(request, "identity:create_limits")
    items = _items(await json_body(request), "limits", LIMIT_CREATE)
    rows = await identity_of(request).db.write(limits.create_limits, items)
    return json_response({"limits": [_limit(request, r) for r in rows]}, status=201)


@routes.get("/v3/limits/{limit_id}")
async def get_limit(request: Request) -> Response:
    await authenticate(request)  # 401 before revealing whether the limit exists
    ident = identity_of(request)
    target = await ident.db.read(limits.limit_target, request.path_params["limit_id"])
    await enforce(request, "identity:get_limit", {"target": {"limit": target}})
    row = await ident.db.read(limits.get_limit, request.path_params["limit_id"])
    return json_response({"limit": _limit(request, row)})


@routes.patch("/v3/limits/{limit_id}")
async def update_limit(request: Request) -> Response:
    await enforce(request, "identity:update_limit")
    data = validate(await json_body(request), LIMIT_UPDATE, wrapper="limit")
    row = await identity_of(request).db.write(limits.update_limit, request.path_params["limit_id"], data)
    return json_response({"limit": _limit(request, row)})


@routes.delete("/v3/limits/{limit_id}")
async def delete_limit(request: Request) -> Response:
    await enforce(request, "identity:delete_limit")
    await identity_of(request).db.write(limits.delete_limit, request.path_params["limit_id"])
    return no_content()
