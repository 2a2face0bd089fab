"""/v2.0/quotas: every project with its own limits (admin), one project's limits, defaults and
details (used, limit, reserved), updates and resets (admin), and the caller's own project."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.network.api import attributes as a
from onestack.network.api.common import Extension, NetworkRoutes, Req, enforce
from onestack.network.errors import AdminRequired
from onestack.network.service import quotas

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("quotas", "Quota management support", "Expose functions for quotas management per project"),
    Extension("quota-check-limit", "Quota engine limit check", "Check the quota limit against the resource "
              "usage when setting it"),
    Extension("quota_details", "Quota details management support", "Expose functions for quotas usage "
              "statistics per project"),
]

# A limit: an integer from -1 (unlimited) up to the database's integer.
ATTRS = [*(a.Attr(resource, a.integer(-1, 2**31 - 1)) for resource in quotas.DEFAULTS),
         # quota-check-limit: refuse a limit under what is in use (``force`` is the old spelling of not checking).
         a.Attr("check_limit", a.boolean), a.Attr("force", a.boolean)]


@routes.get("/v2.0/quotas")
async def list_quotas(req: Req) -> Response:
    if not await req.is_admin():
        raise AdminRequired("Only admin can view or configure quota")
    return json_response({"quotas": await req.read(quotas.all_set)})


@routes.get("/v2.0/quotas/tenant")
async def own_tenant(req: Req) -> Response:
    ctx = await req.caller()
    return json_response({"tenant": {"tenant_id": ctx.project_id}})


@routes.get("/v2.0/quotas/project")
async def own_project(req: Req) -> Response:
    ctx = await req.caller()
    return json_response({"project": {"project_id": ctx.project_id}})


@routes.get("/v2.0/quotas/{project_id}")
async def show_quota(req: Req) -> Response:
    project = req.path("project_id")
    await enforce(req, "get_quota", {"project_id": project})
    return json_response({"quota": await req.read(quotas.limits, project)})


@routes.get("/v2.0/quotas/{project_id}/default")
async def show_defaults(req: Req) -> Response:
    await enforce(req, "get_quota", {"project_id": req.path("project_id")})
    return json_response({"quota": dict(quotas.DEFAULTS)})


@routes.get("/v2.0/quotas/{project_id}/details")
async def show_details(req: Req) -> Response:
    project = req.path("project_id")
    await enforce(req, "get_quota", {"project_id": project})
    return json_response({"quota": await req.read(quotas.details, project)})


@routes.put("/v2.0/quotas/{project_id}")
async def update_quota(req: Req) -> Response:
    project = req.path("project_id")
    await enforce(req, "update_quota", {"project_id": project})
    values = a.parse_body(await req.json(), "quota", ATTRS, creating=False)
    check = bool(values.pop("check_limit", False)) and not values.pop("force", False)
    values.pop("force", None)
    return json_response({"quota": await req.write(quotas.set_limits, project, values, check)})


@routes.delete("/v2.0/quotas/{project_id}")
async def delete_quota(req: Req) -> Response:
    project = req.path("project_id")
    await enforce(req, "delete_quota", {"project_id": project})
    await req.write(quotas.reset, project)
    return no_content()
