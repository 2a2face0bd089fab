"""Identity API: domain-specific configuration (and the password rules every user may read)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.service import domain_config as dc

routes = IdentityRoutes()


def _list_limit(req: Req) -> int:
    return int(req.state.config.identity.list_limit or 0)


def _security(req: Req, domain_id: str, option: str | None) -> dict[str, Any]:
    sc = req.state.config.identity.security_compliance
    return dc.security_compliance(sc.password_regex, sc.password_regex_description, domain_id, option)


# --- defaults (static paths first: they would otherwise look like a domain named "config") ----


@routes.get("/v3/domains/config/default")
async def get_default(req: Req) -> Response:
    await req.enforce("identity:get_domain_config_default")
    return json_response({"config": dc.default_config(_list_limit(req))})


@routes.get("/v3/domains/config/{group}/default")
async def get_group_default(req: Req) -> Response:
    await req.enforce("identity:get_domain_config_default")
    return json_response({"config": dc.default_config(_list_limit(req), req.path("group"))})


@routes.get("/v3/domains/config/{group}/{option}/default")
async def get_option_default(req: Req) -> Response:
    await req.enforce("identity:get_domain_config_default")
    return json_response({"config": dc.default_config(_list_limit(req), req.path("group"), req.path("option"))})


# --- a domain's whole config -----------------------------------------------------------------


@routes.put("/v3/domains/{domain_id}/config")
async def create_config(req: Req) -> Response:
    await req.enforce("identity:create_domain_config")
    config = await req.body(wrapper="config")
    result, existed = await req.write(dc.replace_config, req.path("domain_id"), config)
    return json_response({"config": result}, status=200 if existed else 201)


@routes.get("/v3/domains/{domain_id}/config")
async def get_config(req: Req) -> Response:
    await req.enforce("identity:get_domain_config")
    result = await req.read(dc.get_config, req.path("domain_id"))
    return json_response({"config": result})


@routes.patch("/v3/domains/{domain_id}/config")
async def update_config(req: Req) -> Response:
    await req.enforce("identity:update_domain_config")
    config = await req.body(wrapper="config")
    result = await req.write(dc.update_config, req.path("domain_id"), config)
    return json_response({"config": result})


@routes.delete("/v3/domains/{domain_id}/config")
async def delete_config(req: Req) -> Response:
    await req.enforce("identity:delete_domain_config")
    await req.write(dc.delete_config, req.path("domain_id"))
    return no_content()


# --- one group -------------------------------------------------------------------------------


@routes.get("/v3/domains/{domain_id}/config/{group}")
async def get_group(req: Req) -> Response:
    if req.path("group") == dc.SECURITY_COMPLIANCE:
        await req.enforce("identity:get_security_compliance_domain_config")
        return json_response({"config": _security(req, req.path("domain_id"), None)})
    await req.enforce("identity:get_domain_config")
    result = await req.read(dc.get_config, req.path("domain_id"), req.path("group"))
    return json_response({"config": result})


@routes.patch("/v3/domains/{domain_id}/config/{group}")
async def update_group(req: Req) -> Response:
    await req.enforce("identity:update_domain_config")
    config = await req.body(wrapper="config")
    result = await req.write(dc.update_config, req.path("domain_id"), config, req.path("group"))
    return json_response({"config": result})


@routes.delete("/v3/domains/{domain_id}/config/{group}")
async def delete_group(req: Req) -> Response:
    await req.enforce("identity:delete_domain_config")
    await req.write(dc.delete_config, req.path("domain_id"), req.path("group"))
    return no_content()


# --- one option ------------------------------------------------------------------------------


@routes.get("/v3/domains/{domain_id}/config/{group}/{option}")
async def get_option(req: Req) -> Response:
    if req.path("group") == dc.SECURITY_COMPLIANCE:
        await req.enforce("identity:get_security_compliance_domain_config")
        return json_response({"config": _security(req, req.path("domain_id"), req.path("option"))})
    await req.enforce("identity:get_domain_config")
    result = await req.read(dc.get_config, req.path("domain_id"), req.path("group"), req.path("option"))
    return json_response({"config": result})


@routes.patch("/v3/domains/{domain_id}/config/{group}/{option}")
async def update_option(req: Req) -> Response:
    await req.enforce("identity:update_domain_config")
    config = await req.body(wrapper="config")
    result = await req.write(dc.update_config, req.path("domain_id"), config, req.path("group"), req.path("option"))
    return json_response({"config": result})


@routes.delete("/v3/domains/{domain_id}/config/{group}/{option}")
async def delete_option(req: Req) -> Response:
    await req.enforce("identity:delete_domain_config")
    await req.write(dc.delete_config, req.path("domain_id"), req.path("group"), req.path("option"))
    return no_content()
