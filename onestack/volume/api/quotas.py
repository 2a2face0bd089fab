"""Quotas (``/os-quota-sets/{project_id}`` with ``?usage=True`` and ``/defaults``) and quota
classes (``/os-quota-class-sets/{class}``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response
from onestack.volume.api.common import INT_MAX, Req, VolumeRoutes, as_bool
from onestack.volume.errors import InvalidInput
from onestack.volume.service import quota_sets as svc

routes = VolumeRoutes()
NON_QUOTA_KEYS = ("tenant_id", "id")


def _integer(value: Any, name: str) -> int:
    """Cinder's ``validate_integer(value, name, min_value=-1, max_value=MAX_INT)``."""
    try:
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise ValueError
        number = int(str(value).strip()) if not isinstance(value, float) else int(value)
    except (ValueError, TypeError):
        raise InvalidInput(f"{name} must be an integer") from None
    if number < -1:
        raise InvalidInput(f"{name} must be >= -1")
    if number > INT_MAX:
        raise InvalidInput(f"{name} must be <= {INT_MAX}")
    return number


async def _values(req: Req, wrapper: str) -> tuple[dict[str, int], Any]:
    body = await req.json()
    if not isinstance(body, dict) or not isinstance(body.get(wrapper), dict):
        raise InvalidInput(f"Missing required element '{wrapper}' in request body.")
    given: dict[str, Any] = body[wrapper]
    known = set(await req.read(svc.known))
    bad = [k for k in given if k not in known and k not in NON_QUOTA_KEYS]
    if bad:
        raise BadRequest(f"Bad key(s) in quota set: {','.join(bad)}")
    values = {k: _integer(v, k) for k, v in given.items() if k not in NON_QUOTA_KEYS}
    return values, body


@routes.get("/v3/os-quota-sets/{project_id}/defaults")
async def show_defaults(req: Req) -> Response:
    project_id = req.path("project_id")
    await req.enforce("volume_extension:quotas:show", {"project_id": project_id})
    return json_response({"quota_set": {"id": project_id, **await req.read(svc.defaults)}})


@routes.get("/v3/os-quota-sets/{project_id}")
async def show_quotas(req: Req) -> Response:
    project_id = req.path("project_id")
    await req.enforce("volume_extension:quotas:show", {"project_id": project_id})
    usage = as_bool(req.params.get("usage", "False"), "usage")
    found: dict[str, Any]
    if usage:
        found = dict(await req.read(svc.project_usage, project_id))
    else:
        found = dict(await req.read(svc.project_limits, project_id))
    return json_response({"quota_set": {"id": project_id, **found}})


@routes.put("/v3/os-quota-sets/{project_id}")
async def update_quotas(req: Req) -> Response:
    project_id = req.path("project_id")
    await req.enforce("volume_extension:quotas:update", {"project_id": project_id})
    if not 1 <= len(project_id) <= 255:
        raise InvalidInput("quota_set_name has a length of 1 to 255 characters.")
    values, body = await _values(req, "quota_set")
    skip = body.get("skip_validation", True)
    try:
        skip_flag = as_bool(skip, "skip_validation")
    except InvalidInput:
        raise InvalidInput(f"Invalid value '{skip}' for skip_validation.") from None
    found = await req.write(svc.update_project, project_id, values, not skip_flag)
    return json_response({"quota_set": found})


@routes.delete("/v3/os-quota-sets/{project_id}")
async def delete_quotas(req: Req) -> Response:
    project_id = req.path("project_id")
    await req.enforce("volume_extension:quotas:delete", {"project_id": project_id})
    await req.write(svc.delete_project, project_id)
    return Response(status_code=200)


@routes.get("/v3/os-quota-class-sets/{class_name}")
async def show_class(req: Req) -> Response:
    await req.enforce("volume_extension:quota_classes")
    class_name = req.path("class_name")
    return json_response({"quota_class_set": {"id": class_name, **await req.read(svc.class_limits, class_name)}})


@routes.put("/v3/os-quota-class-sets/{class_name}")
async def update_class(req: Req) -> Response:
    await req.enforce("volume_extension:quota_classes:update")
    class_name = req.path("class_name")
    if not 1 <= len(class_name) <= 255:
        raise InvalidInput("quota_class_name has a length of 1 to 255 characters.")
    values, _ = await _values(req, "quota_class_set")
    return json_response({"quota_class_set": await req.write(svc.update_class, class_name, values)})

