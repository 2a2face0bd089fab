"""/v3/volumes: create (the create flow), list and detail with Cinder's filters, show, update,
delete (cascade, force 3.23), and the summary (3.12)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.volume.api.common import (
    INT_MAX,
    Req,
    VolumeRoutes,
    as_bool,
    caller,
    links,
    list_query,
)
from onestack.volume.api.volume_views import volume_detail, volume_details, volume_summary
from onestack.volume.errors import InvalidInput
from onestack.volume.service import create_flow
from onestack.volume.service import volumes as service
from onestack.volume.service.volumes import DeletePlan

log = logging.getLogger(__name__)
routes = VolumeRoutes()

_TEXT = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
_UUID = {"type": ["string", "null"], "format": "uuid"}
METADATA = {"type": ["object", "null"],
            "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string", "maxLength": 255}},
            "additionalProperties": False}
CREATE = {
    "type": "object",
    "properties": {
        "name": _TEXT, "description": _TEXT, "display_name": _TEXT, "display_description": _TEXT,
        "size": {"type": ["integer", "string", "null"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": INT_MAX},
        "availability_zone": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
        "source_volid": _UUID, "snapshot_id": _UUID, "backup_id": _UUID, "group_id": _UUID,
        "consistencygroup_id": _UUID,
        "volume_type": {"type": ["string", "null"], "maxLength": 255},
        "metadata": METADATA,
        "imageRef": {"type": ["string", "null"]}, "image_id": {"type": ["string", "null"]},
        "multiattach": {"type": ["boolean", "string", "null"]},
    },
    "additionalProperties": True,
}
UPDATE = {
    "type": "object",
    "properties": {"name": _TEXT, "description": _TEXT, "display_name": _TEXT, "display_description": _TEXT,
                   "metadata": METADATA},
    "additionalProperties": False,
}
ALIASES = {"display_name": "name", "display_description": "description"}


def _size(value: Any) -> int | None:
    if value is None:
        return None
    size = int(value)
    if size <= 0:
        raise InvalidInput(f"Volume size '{value}' must be an integer and greater than 0")
    return size


def _image_ref(body: dict[str, Any]) -> str | None:
    """``imageRef`` (or ``image_id``): an id, or an image URL whose last segment is the id."""
    ref = body.get("imageRef") if body.get("imageRef") is not None else body.get("image_id")
    if ref is None:
        return None
    return str(ref).rstrip("/").rsplit("/", 1)[-1]


def _text(body: dict[str, Any], field: str) -> str | None:
    legacy = f"display_{field}"
    value = body.get(field) if body.get(field) is not None else body.get(legacy)
    return None if value is None else str(value)


@routes.post("/v3/volumes", rule="volume:create")
async def create_volume(req: Req) -> Response:
    body = await req.body(CREATE, wrapper="volume")
    who = await caller(req)
    # As Cinder (since Train, every microversion): the volume type decides; a true body flag is refused.
    if body.get("multiattach") is not None and as_bool(body["multiattach"], "multiattach"):
        raise BadRequest("multiattach parameter has been removed. The default behavior is to use multiattach "
                         "enabled volume types. Contact your administrator to create a multiattach enabled "
                         "volume type and use it to create multiattach volumes.")
    request = create_flow.CreateRequest(
        size=_size(body.get("size")), name=_text(body, "name"), description=_text(body, "description"),
        volume_type=body.get("volume_type"), availability_zone=body.get("availability_zone"),
        snapshot_id=body.get("snapshot_id"), source_volid=body.get("source_volid"), image_id=_image_ref(body),
        backup_id=body.get("backup_id") if req.at_least(3, 47) else None,
        group_id=body.get("group_id") if req.at_least(3, 13) else None,
        metadata=dict(body.get("metadata") or {}),
        authorize_multiattach=lambda: req.enforce("volume:multiattach"))
    if request.image_id is not None:
        await req.enforce("volume:create_from_image")
    volume_id = await create_flow.create(req.state, req.state.db, who, request)
    bundle = await req.read(service.load, volume_id, who)
    return json_response({"volume": await volume_detail(req, bundle, extended=False)}, status=202)


def _list_query(req: Req) -> Any:
    return list_query(req, sort_keys=service.SORT_KEYS, filters=service.FILTERS, like=service.LIKE,
                      aliases=ALIASES, ignore=("glance_metadata",))


@routes.get("/v3/volumes", rule="volume:get_all")
async def list_volumes(req: Req) -> Response:
    lq = _list_query(req)
    listing = await req.read(service.list_volumes, await caller(req), lq)
    items = [volume_summary(req, b) for b in listing.bundles]
    return json_response(_page(req, items, lq, listing.count))


@routes.get("/v3/volumes/detail", rule="volume:get_all")
async def list_volumes_detail(req: Req) -> Response:
    lq = _list_query(req)
    listing = await req.read(service.list_volumes, await caller(req), lq)
    items = await volume_details(req, listing.bundles)
    return json_response(_page(req, items, lq, listing.count))


def _page(req: Req, items: list[dict[str, Any]], lq: Any, count: int | None) -> dict[str, Any]:
    page: dict[str, Any] = {"volumes": items, **links(req, "volumes", items, lq)}
    if count is not None:
        page["count"] = count
    return page


@routes.get("/v3/volumes/summary", rule="volume:summary", since=Version(3, 12))
async def volume_summary_totals(req: Req) -> Response:
    lq = list_query(req, sort_keys=service.SORT_KEYS, filters=(), ignore=service.FILTERS)
    totals = await req.read(service.summary, await caller(req), lq, req.at_least(3, 36))
    return json_response({"volume-summary": totals})


@routes.add(["GET", "HEAD", "PUT", "DELETE"], "/v3/volumes/")
async def empty_volume_id(req: Req) -> Response:
    """``/volumes/`` names no volume: Cinder's 404 (not a redirect to the list, which a client
    that does not follow redirects would take for an answer)."""
    await req.caller()  # 401 without a token, as every route
    raise NotFound("The resource could not be found.")


@routes.get("/v3/volumes/{volume_id}", rule="volume:get")
async def show_volume(req: Req) -> Response:
    bundle = await req.read(service.load, req.path("volume_id"), await caller(req))
    return json_response({"volume": await volume_detail(req, bundle)})


@routes.put("/v3/volumes/{volume_id}", rule="volume:update")
async def update_volume(req: Req) -> Response:
    body = await req.body(UPDATE, wrapper="volume")
    changes: dict[str, Any] = {}
    for field in ("name", "description"):
        if field in body or f"display_{field}" in body:
            changes[field] = _text(body, field)
    if "metadata" in body:
        changes["metadata"] = dict(body["metadata"] or {})
    bundle = await req.write(service.update, req.path("volume_id"), await caller(req), changes)
    return json_response({"volume": await volume_detail(req, bundle, extended=False)})


@routes.delete("/v3/volumes/{volume_id}", rule="volume:delete")
async def delete_volume(req: Req) -> Response:
    cascade = bool(req.flag("cascade", False))
    force = bool(req.flag("force", False)) if req.at_least(3, 23) else False
    if force:
        await req.enforce("volume:force_delete")
    plan = await req.write(service.begin_delete, req.path("volume_id"), await caller(req), cascade, force)
    await cast_delete(req, plan)
    return Response(status_code=202)


async def cast_delete(req: Req, plan: DeletePlan) -> None:
    """After the commit: tell the volume's agent. A lost cast is repaired by its reconcile pass."""
    agents = req.state.agents
    if agents is None or plan.host is None or plan.volume is None:
        return
    try:
        for snap in plan.snapshots:
            await agents.delete_snapshot(host=plan.host, snapshot=snap, volume=plan.volume)
        await agents.delete_volume(host=plan.host, volume=plan.volume)
    except Exception:
        log.exception("casting the delete of volume %s to %s failed; the agent's reconcile pass will do it",
                      plan.volume["id"], plan.host)
