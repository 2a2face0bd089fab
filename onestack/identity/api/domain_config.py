"""Identity API: domain-specific configuration (and the password rules every user may read)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.service import domain_config as dc

routes = RouteTable()


async def _config_body(request: Request) -> Any:
    body = await json_body(request)
    if not isinstance(body, dict) or "config" not in body:
        raise BadRequest("Invalid input for field 'config': 'config' is a required property")
    if not isinstance(body["config"], dict):
        raise BadRequest(f"Invalid input for field 'config': {body['config']!r} is not of type 'object'")
    return body["config"]


def _list_limit(request: Request) -> int:
    return int(identity_of(request).config.identity.list_limit or 0)


def _security(request: Request, domain_id: str, option: str | None) -> dict[str, Any]:
    sc = identity_of(request).config.identity.security_compliance
    return dc.security_compliance(sc.password_regex, sc.password_regex_description, domain_id, option)


# --- defaults (static paths first: they would otherwise look like a domain named "config") ----


@routes.get("/v3/domains/config/default")
async def get_default(request: Request) -> Response:
    await enforce(request, "identity:get_domain_config_default")
    return json_response({"config": dc.default_config(_list_limit(request))})


@routes.get("/v3/domains/config/{group}/default")
async def get_group_default(request: Request) -> Response:
    await enforce(request, "identity:get_domain_config_default")
    return json_response({"config": dc.default_config(_list_limit(request), request.path_params["group"])})


@routes.get("/v3/domains/config/{group}/{option}/default")
async def get_option_default(request: Request) -> Response:
    await enforce(request, "identity:get_domain_config_default")
    p = request.path_params
    return json_response({"config": dc.default_config(_list_limit(request), p["group"], p["option"])})


# --- a domain's whole config -----------------------------------------------------------------


@routes.put("/v3/domains/{domain_id}/config")
async def create_config(request: Request) -> Response:
    await enforce(request, "identity:create_domain_config")
    config = await _config_body(request)
    ident = identity_of(request)
    result, existed = await ident.db.write(dc.replace_config, request.path_params["domain_id"], config)
    return json_response({"config": result}, status=200 if existed else 201)


@routes.get("/v3/domains/{domain_id}/config")
async def get_config(request: Request) -> Response:
    await enforce(request, "identity:get_domain_config")
    result = await identity_of(request).db.read(dc.get_config, request.path_params["domain_id"])
    return json_response({"config": result})


@routes.patch("/v3/domains/{domain_id}/config")
async def update_config(request: Request) -> Response:
    await enforce(request, "identity:update_domain_config")
    config = await _config_body(request)
    result = await identity_of(request).db.write(dc.update_config, request.path_params["domain_id"], config)
    return json_response({"config": result})


@routes.delete("/v3/domains/{domain_id}/config")
async def delete_config(request: Request) -> Response:
    await enforce(request, "identity:delete_domain_config")
    await identity_of(request).db.write(dc.delete_config, request.path_params["domain_id"])
    return no_content()


# --- one group -------------------------------------------------------------------------------


@routes.get("/v3/domains/{domain_id}/config/{group}")
async def get_group(request: Request) -> Response:
    p = request.path_params
    if p["group"] == dc.SECURITY_COMPLIANCE:
        await enforce(request, "identity:get_security_compliance_domain_config")
        return json_response({"config": _security(request, p["domain_id"], None)})
    await enforce(request, "identity:get_domain_config")
    result = await identity_of(request).db.read(dc.get_config, p["domain_id"], p["group"])
    return json_response({"config": result})


@routes.patch("/v3/domains/{domain_id}/config/{group}")
async def update_group(request: Request) -> Response:
    await enforce(request, "identity:update_domain_config")
    p = request.path_params
    config = await _config_body(request)
    result = await identity_of(request).db.write(dc.update_config, p["domain_id"], config, p["group"])
    return json_response({"config": result})


@routes.delete("/v3/domains/{domain_id}/config/{group}")
async def delete_group(request: Request) -> Response:
    await enforce(request, "identity:delete_domain_config")
    p = request.path_params
    await identity_of(request).db.write(dc.delete_config, p["domain_id"], p["group"])
    return no_content()


# --- one option ------------------------------------------------------------------------------


@routes.get("/v3/domains/{domain_id}/config/{group}/{option}")
async def get_option(request: Request) -> Response:
    p = request.path_params
    if p["group"] == dc.SECURITY_COMPLIANCE:
        await enforce(request, "identity:get_security_compliance_domain_config")
        return json_response({"config": _security(request, p["domain_id"], p["option"])})
    await enforce(request, "identity:get_domain_config")
    result = await identity_of(request).db.read(dc.get_config, p["domain_id"], p["group"], p["option"])
    return json_response({"config": result})


@routes.patch("/v3/domains/{domain_id}/config/{group}/{option}")
async def update_option(request: Request) -> Response:
    await enforce(request, "identity:update_domain_config")
    p = request.path_params
    config = await _config_body(request)
    result = await identity_of(request).db.write(dc.update_config, p["domain_id"], config, p["group"], p["option"])
    return json_response({"config": result})


@routes.delete("/v3/domains/{domain_id}/config/{group}/{option}")
async def delete_option(request: Request) -> Response:
    await enforce(request, "identity:delete_domain_config")
    p = request.path_params
    await identity_of(request).db.write(dc.delete_config, p["domain_id"], p["group"], p["option"])
    return no_content()
