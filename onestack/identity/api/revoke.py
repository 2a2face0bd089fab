"""Identity API: OS-REVOKE, the list of revocation events services can replay."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection
from onestack.identity.service import revocations

routes = IdentityRoutes()


@routes.get("/v3/OS-REVOKE/events")
async def list_revoke_events(req: Req) -> Response:
    await req.enforce("identity:list_revoke_events")
    since = req.timestamp("since") if req.params.get("since") else None  # an empty value means "all"
    events = await req.read(revocations.list_events, since)
    return json_response(collection(req, "events", events))
