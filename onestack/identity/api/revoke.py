"""Identity API: OS-REVOKE, the list of revocation events services can replay."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import RouteTable, json_response
from onestack.core.ids import parse_isotime
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection
from onestack.identity.service import revocations

routes = RouteTable()


def _events(s: Session, since: Any) -> list[dict[str, Any]]:
    events = sorted(revocations.active_events(s), key=lambda ev: (ev.revoked_at, ev.id))
    return [revocations.event_to_dict(ev) for ev in events if since is None or ev.revoked_at >= since]


@routes.get("/v3/OS-REVOKE/events")
async def list_revoke_events(request: Request) -> Response:
    await enforce(request, "identity:list_revoke_events")
    since = None
    if request.query_params.get("since"):
        try:
            since = parse_isotime(request.query_params["since"])
        except ValueError:
            raise BadRequest(f"Invalid input for field 'since': {request.query_params['since']!r} is not an "
                             "ISO 8601 timestamp.") from None
    events = await identity_of(request).db.read(_events, since)
    return json_response(collection(request, "events", events))
