"""Quota sets (``/os-quota-sets``) and quota classes (``/os-quota-class-sets``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import (
    as_bool,
    as_int,
    caller,
    check_keys,
    compute_of,
    enforce,
    version,
    wrapped_body,
)
from onestack.compute.service import quotas as svc
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import RouteTable, json_response

routes = RouteTable()


def _mv(request: Request) -> tuple[int, int]:
    mv = version(request)
    return (mv.major, mv.minor)


def _shown(request: Request, limits: dict[str, Any], *, quota_class: bool = False) -> dict[str, Any]:
    return {name: limits[name] for name in svc.resources_for(_mv(request), quota_class=quota_class)}


def _user(request: Request) -> str | None:
    return request.query_params.get("user_id") or None


def _parse_values(request: Request, body: dict[str, Any], *, quota_class: bool) -> tuple[dict[str, int], bool]:
    names = set(svc.resources_for(_mv(request), quota_class=quota_class))
    check_keys(body, names | ({"force"} if not quota_class else set()),
               "quota_class_set" if quota_class else "quota_set")
    force = as_bool(body["force"], "force") if "force" in body else False
    values = {k: as_int(v, k, -1) for k, v in body.items() if k != "force"}
    return values, force


@routes.get("/v2.1/os-quota-sets/{project_id}/defaults")
async def show_defaults(request: Request) -> Response:
    ctx = await caller(request)
    project_id = request.path_params["project_id"]
    enforce(request, ctx, "os_compute_api:os-quota-sets:defaults", {"project_id": project_id})
    limits = await compute_of(request).db.read(svc.class_limits)
    return json_response({"quota_set": {"id": project_id, **_shown(request, limits)}})


@routes.get("/v2.1/os-quota-sets/{project_id}/detail")
async def show_detail(request: Request) -> Response:
    ctx = await caller(request)
    project_id = request.path_params["project_id"]
    enforce(request, ctx, "os_compute_api:os-quota-sets:detail", {"project_id": project_id})
    user_id = _user(request)

    def load(s: Any) -> dict[str, Any]:
        used = svc.usage_for(s, project_id, user_id, keypair_user=ctx.user_id)
        return svc.detail(svc.limits_for(s, project_id, user_id), used)

    details = await compute_of(request).db.read(load)
    return json_response({"quota_set": {"id": project_id, **_shown(request, details)}})


@routes.get("/v2.1/os-quota-sets/{project_id}")
async def show_quotas(request: Request) -> Response:
    ctx = await caller(request)
    project_id = request.path_params["project_id"]
    enforce(request, ctx, "os_compute_api:os-quota-sets:show", {"project_id": project_id})
    limits = await compute_of(request).db.read(svc.limits_for, project_id, _user(request))
    return json_response({"quota_set": {"id": project_id, **_shown(request, limits)}})


@routes.put("/v2.1/os-quota-sets/{project_id}")
async def update_quotas(request: Request) -> Response:
    ctx = await caller(request)
    project_id = request.path_params["project_id"]
    enforce(request, ctx, "os_compute_api:os-quota-sets:update", {"project_id": project_id})
    values, force = _parse_values(request, await wrapped_body(request, "quota_set"), quota_class=False)
    limits = await compute_of(request).db.write(svc.update_quotas, project_id, _user(request), values, force)
    return json_response({"quota_set": _shown(request, limits)})


@routes.delete("/v2.1/os-quota-sets/{project_id}")
async def delete_quotas(request: Request) -> Response:
    ctx = await caller(request)
    project_id = request.path_params["project_id"]
    enforce(request, ctx, "os_compute_api:os-quota-sets:delete", {"project_id": project_id})
    await compute_of(request).db.write(svc.delete_quotas, project_id, _user(request))
    return Response(status_code=202)


def _class_name(request: Request) -> str:
    name: str = request.path_params["class_name"]
    if not 1 <= len(name) <= 255:
        raise BadRequest("Invalid quota class name: 1 to 255 characters are allowed.")
    return name


@routes.get("/v2.1/os-quota-class-sets/{class_name}")
async def show_class(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-quota-class-sets:show")
    name = _class_name(request)
    limits = await compute_of(request).db.read(svc.class_limits, name)
    return json_response({"quota_class_set": {"id": name, **_shown(request, limits, quota_class=True)}})


@routes.put("/v2.1/os-quota-class-sets/{class_name}")
async def update_class(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-quota-class-sets:update")
    name = _class_name(request)
    values, _force = _parse_values(request, await wrapped_body(request, "quota_class_set"), quota_class=True)
    limits = await compute_of(request).db.write(svc.update_class, name, values)
    return json_response({"quota_class_set": _shown(request, limits, quota_class=True)})
