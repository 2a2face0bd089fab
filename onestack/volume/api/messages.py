"""User messages (``/messages``, 3.3): what failed that the user should hear of."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.core.api.microversion import Version
from onestack.volume import models
from onestack.volume.api.common import Req, VolumeRoutes, caller, links, list_query, self_links
from onestack.volume.service import user_messages as svc
from onestack.volume.service.common import iso

routes = VolumeRoutes()
SINCE = Version(3, 3)


def render(req: Req, m: models.Message) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m.id, "event_id": m.event_id, "user_message": svc.user_message(m), "message_level": m.message_level,
        "created_at": iso(m.created_at), "guaranteed_until": iso(m.expires_at), "request_id": m.request_id or "",
        "links": self_links(req, "messages", m.id),
    }
    if m.resource_type:
        out["resource_type"] = m.resource_type
    if m.resource_uuid:
        out["resource_uuid"] = m.resource_uuid
    if m.expires_at is None:
        del out["guaranteed_until"]
    return out


@routes.get("/v3/messages", since=SINCE)
async def list_messages(req: Req) -> Response:
    await req.enforce("message:get_all")
    # Filters and sorting arrived with 3.5.
    filters = svc.FILTERS if req.at_least(3, 5) else ()
    lq = list_query(req, sort_keys=svc.SORT_COLUMNS, filters=filters)
    found = await req.read(svc.list_messages, await caller(req), lq)
    items = [render(req, m) for m in found]
    return json_response({"messages": items, **links(req, "messages", items, lq)})


@routes.get("/v3/messages/{message_id}", since=SINCE)
async def show_message(req: Req) -> Response:
    await req.enforce("message:get")
    found = await req.read(svc.get_message, req.path("message_id"), await caller(req))
    return json_response({"message": render(req, found)})


@routes.delete("/v3/messages/{message_id}", since=SINCE)
async def delete_message(req: Req) -> Response:
    await req.enforce("message:delete")
    await req.write(svc.delete_message, req.path("message_id"), await caller(req))
    return no_content()
