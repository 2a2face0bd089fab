"""Quota sets (``/os-quota-sets``) and quota classes (``/os-quota-class-sets``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import (
    ComputeRoutes,
    Req,
    as_bool,
    as_int,
    check_keys,
)
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.service import quotas as svc
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response

routes = ComputeRoutes()


def _mv(req: Req) -> tuple[int, int]:
    mv = req.mv
    return (mv.major, mv.minor)


def _shown(req: Req, limits: dict[str, Any], *, quota_class: bool = False) -> dict[str, Any]:
    return {name: limits[name] for name in svc.resources_for(_mv(req), quota_class=quota_class)}


def _user(req: Req) -> str | None:
    return req.params.get("user_id") or None


def _parse_values(req: Req, body: dict[str, Any], *, quota_class: bool) -> tuple[dict[str, int], bool]:
    names = set(svc.resources_for(_mv(req), quota_class=quota_class))
    check_keys(body, names | ({"force"} if not quota_class else set()),
               "quota_class_set" if quota_class else "quota_set")
    force = as_bool(body["force"], "force") if "force" in body else False
    values = {k: as_int(v, k, -1) for k, v in body.items() if k != "force"}
    return values, force


@routes.get("/v2.1/os-quota-sets/{project_id}/defaults")
async def show_defaults(req: Req) -> Response:
    await req.caller()
    project_id = req.path("project_id")
    await req.enforce("os_compute_api:os-quota-sets:defaults", {"project_id": project_id})
    limits = await req.read(svc.class_limits)
    return json_response({"quota_set": {"id": project_id, **_shown(req, limits)}})


@routes.get("/v2.1/os-quota-sets/{project_id}/detail")
async def show_detail(req: Req) -> Response:
    ctx = await req.caller()
    project_id = req.path("project_id")
    await req.enforce("os_compute_api:os-quota-sets:detail", {"project_id": project_id})
    user_id = _user(req)
    details = await req.read(svc.detail_for, project_id, user_id, ctx.user_id)
    return json_response({"quota_set": {"id": project_id, **_shown(req, details)}})


@routes.get("/v2.1/os-quota-sets/{project_id}")
async def show_quotas(req: Req) -> Response:
    await req.caller()
    project_id = req.path("project_id")
    await req.enforce("os_compute_api:os-quota-sets:show", {"project_id": project_id})
    limits = await req.read(svc.limits_for, project_id, _user(req))
    return json_response({"quota_set": {"id": project_id, **_shown(req, limits)}})


@routes.put("/v2.1/os-quota-sets/{project_id}")
async def update_quotas(req: Req) -> Response:
    await req.caller()
    project_id = req.path("project_id")
    await req.enforce("os_compute_api:os-quota-sets:update", {"project_id": project_id})
    values, force = _parse_values(req, await req.body(wrapper="quota_set"), quota_class=False)
    limits = await req.write(svc.update_quotas, project_id, _user(req), values, force)
    return json_response({"quota_set": _shown(req, limits)})


@routes.delete("/v2.1/os-quota-sets/{project_id}")
async def delete_quotas(req: Req) -> Response:
    await req.caller()
    project_id = req.path("project_id")
    await req.enforce("os_compute_api:os-quota-sets:delete", {"project_id": project_id})
    await req.write(svc.delete_quotas, project_id, _user(req))
    return Response(status_code=202)


def _class_name(req: Req) -> str:
    name: str = req.path("class_name")
    if not 1 <= len(name) <= 255:
        raise BadRequest("Invalid quota class name: 1 to 255 characters are allowed.")
    return name


@routes.get("/v2.1/os-quota-class-sets/{class_name}")
async def show_class(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce("os_compute_api:os-quota-class-sets:show")
    name = _class_name(req)
    limits = await req.read(svc.class_limits, name)
    return json_response({"quota_class_set": {"id": name, **_shown(req, limits, quota_class=True)}})


@routes.put("/v2.1/os-quota-class-sets/{class_name}")
async def update_class(req: Req) -> Response:
    await req.enforce("os_compute_api:os-quota-class-sets:update")
    name = _class_name(req)
    values, _force = _parse_values(req, await req.body(wrapper="quota_class_set"), quota_class=True)
    limits = await req.write(svc.update_class, name, values)
    return json_response({"quota_class_set": _shown(req, limits, quota_class=True)})
