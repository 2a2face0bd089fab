"""Per-project default volume types (``/default-types``, 3.62): what a volume created without a
type gets in that project, before the configured ``default_volume_type``."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.core.api.microversion import Version
from onestack.volume.api.common import Req, VolumeRoutes, caller
from onestack.volume.service import types as svc

routes = VolumeRoutes()
SINCE = Version(3, 62)
_BODY = {
    "type": "object",
    "properties": {"volume_type": {"type": "string", "minLength": 1, "maxLength": 255}},
    "required": ["volume_type"], "additionalProperties": False,
}


@routes.get("/v3/default-types", since=SINCE)
async def list_defaults(req: Req) -> Response:
    await req.enforce("volume_extension:default_get_all")
    return json_response({"default_types": await req.read(svc.list_defaults)})


@routes.put("/v3/default-types/{project_id}", since=SINCE)
async def set_default(req: Req) -> Response:
    project_id = req.path("project_id")
    await req.enforce("volume_extension:default_set_or_update", {"project_id": project_id})
    body = await req.body(_BODY, wrapper="default_type")
    found = await req.write(svc.set_default, project_id, body["volume_type"], await caller(req))
    return json_response({"default_type": found})


@routes.get("/v3/default-types/{project_id}", since=SINCE)
async def show_default(req: Req) -> Response:
    project_id = req.path("project_id")
    await req.enforce("volume_extension:default_get", {"project_id": project_id})
    return json_response({"default_type": await req.read(svc.get_default, project_id)})


@routes.delete("/v3/default-types/{project_id}", since=SINCE)
async def unset_default(req: Req) -> Response:
    project_id = req.path("project_id")
    await req.enforce("volume_extension:default_unset", {"project_id": project_id})
    await req.write(svc.unset_default, project_id)
    return no_content()
