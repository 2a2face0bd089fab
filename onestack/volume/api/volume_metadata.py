"""/v3/volumes/{volume_id}/metadata and /metadata/{key}: Cinder's volume metadata API.

POST merges, PUT of the collection replaces, PUT of a key sets one (the body's key must be the
URL's: 400 ``Request body and URI mismatch``), DELETE of a key removes it (404 if absent)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response
from onestack.volume.api.common import Req, VolumeRoutes, caller
from onestack.volume.service import volume_metadata as service

routes = VolumeRoutes()

_ITEMS = {"type": "object",
          "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string", "maxLength": 255}},
          "additionalProperties": False}
METADATA = {"type": "object", "properties": {"metadata": _ITEMS}, "required": ["metadata"],
            "additionalProperties": False}
META = {"type": "object", "properties": {"meta": _ITEMS}, "required": ["meta"], "additionalProperties": False}


@routes.get("/v3/volumes/{volume_id}/metadata", rule="volume:get_volume_metadata")
async def show_metadata(req: Req) -> Response:
    found = await req.read(service.get_all, req.path("volume_id"), await caller(req))
    return json_response({"metadata": found})


async def _write(req: Req, delete: bool) -> Response:
    body: dict[str, Any] = await req.body(METADATA)
    result = await req.write(service.update, req.path("volume_id"), await caller(req), body["metadata"], delete)
    return json_response({"metadata": result})


@routes.post("/v3/volumes/{volume_id}/metadata", rule="volume:create_volume_metadata")
async def create_metadata(req: Req) -> Response:
    return await _write(req, False)


@routes.put("/v3/volumes/{volume_id}/metadata", rule="volume:update_volume_metadata")
async def replace_metadata(req: Req) -> Response:
    return await _write(req, True)


@routes.get("/v3/volumes/{volume_id}/metadata/{key}", rule="volume:get_volume_metadata")
async def show_metadata_item(req: Req) -> Response:
    key = req.path("key")
    value = await req.read(service.get_one, req.path("volume_id"), await caller(req), key)
    return json_response({"meta": {key: value}})


@routes.put("/v3/volumes/{volume_id}/metadata/{key}", rule="volume:update_volume_metadata")
async def update_metadata_item(req: Req) -> Response:
    key = req.path("key")
    body: dict[str, Any] = await req.body(META)
    meta = body["meta"]
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    if len(meta) > 1:
        raise BadRequest("Request body contains too many items")
    await req.write(service.update, req.path("volume_id"), await caller(req), meta, False)
    return json_response({"meta": meta})


@routes.delete("/v3/volumes/{volume_id}/metadata/{key}", rule="volume:delete_volume_metadata")
async def delete_metadata_item(req: Req) -> Response:
    await req.write(service.delete_key, req.path("volume_id"), await caller(req), req.path("key"))
    return Response(status_code=200)
