"""Server external events: ``POST /v2.1/os-server-external-events``.

Other services (network, block storage, bare metal, accelerators) tell compute that something
happened to a server: a port was plugged, a volume grew, the power changed. As in Nova each
event is answered on its own with a ``code``: 200 when accepted, 404 for an unknown server,
422 for a server on no host (nothing could deliver it), 400 when an event that needs a ``tag``
has none. The request answers 200 when every event was accepted and 207 otherwise (Nova since
the fix for bug 1855752; before it, all-failed requests answered 404).

Accepted events are recorded: logged, and for ``volume-extended`` and ``power-update`` an
instance action (``extend_volume``, ``power_update``) is started, as Nova's API does. The
network events go on to the server's agent (agent/interfaces.py): ``network-vif-plugged``
completes a spawn's wait, ``network-changed`` / ``network-vif-deleted`` refresh its info cache;
``volume-extended`` has the agent resize the guest's disk (agent/volumes.py), recorded as the
``compute_extend_volume`` event of that ``extend_volume`` action.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req, invalid, is_uuid_like
from onestack.compute.api.servers import actor
from onestack.compute.service import external_events
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response

routes = ComputeRoutes()

RULE = "os_compute_api:os-server-external-events:create"
STATUSES = ("failed", "completed", "in-progress")
# Event names and the microversion that introduced each.
NAMES: tuple[tuple[str, tuple[int, int]], ...] = (
    ("network-changed", (2, 0)),
    ("network-vif-plugged", (2, 0)),
    ("network-vif-unplugged", (2, 0)),
    ("network-vif-deleted", (2, 0)),
    ("volume-extended", (2, 51)),
    ("power-update", (2, 76)),
    ("accelerator-request-bound", (2, 82)),
    ("volume-reimaged", (2, 93)),
)
_EVENT_KEYS = {"name", "server_uuid", "status", "tag"}


def _check_event(req: Req, event: Any) -> dict[str, Any]:
    """Nova's request schema for one event, at the request's microversion."""
    if not isinstance(event, dict):
        raise invalid("events", event, f"{event!r} is not of type 'object'")
    extra = sorted(set(event) - _EVENT_KEYS)
    if extra:
        listed = ", ".join(repr(k) for k in extra)
        raise invalid("events", event, f"Additional properties are not allowed ({listed} "
                                        f"{'was' if len(extra) == 1 else 'were'} unexpected)")
    for key in ("name", "server_uuid"):
        if key not in event:
            raise invalid("events", event, f"'{key}' is a required property")
    names = [name for name, (major, minor) in NAMES if req.at_least(major, minor)]
    if event["name"] not in names:
        raise invalid("name", event["name"], f"{event['name']!r} is not one of {names}")
    server_uuid = event["server_uuid"]
    if not isinstance(server_uuid, str) or not is_uuid_like(server_uuid):
        raise invalid("server_uuid", server_uuid, f"{server_uuid!r} is not a 'uuid'")
    if "status" in event and event["status"] not in STATUSES:
        raise invalid("status", event["status"], f"{event['status']!r} is not one of {list(STATUSES)}")
    tag = event.get("tag")
    if "tag" in event and (not isinstance(tag, str) or len(tag) > 255):
        why = f"{tag!r} is not of type 'string'" if not isinstance(tag, str) else f"{tag!r} is too long"
        raise invalid("tag", tag, why)
    return dict(event)


async def _events(req: Req) -> list[dict[str, Any]]:
    body = await req.json()
    if not isinstance(body, dict) or "events" not in body:
        raise BadRequest("Invalid input for field/attribute events. 'events' is a required property")
    extra = sorted(set(body) - {"events"})
    if extra:
        listed = ", ".join(repr(k) for k in extra)
        raise BadRequest(f"Additional properties are not allowed ({listed} "
                         f"{'was' if len(extra) == 1 else 'were'} unexpected)")
    events = body["events"]
    if not isinstance(events, list):
        raise invalid("events", events, f"{events!r} is not of type 'array'")
    if not events:
        raise invalid("events", events, "[] is too short")
    return [_check_event(req, e) for e in events]


@routes.post("/v2.1/os-server-external-events")
async def create_events(req: Req) -> Response:
    await req.caller()
    events = await _events(req)  # Nova validates the body before it checks policy
    await req.enforce(RULE, {})
    who = await actor(req)
    out = await req.write(external_events.dispatch, events, who)
    agents = req.state.agents
    if agents is not None:
        for row, accepted in out.servers.values():
            # A cast: the API answers at once; the agent wakes the spawn waiting for a plug event.
            await agents.external_instance_event(row["host"], instance=row, events=accepted)
        for row, volume_id in out.extends:
            # Nova's compute extend_volume: its event goes on the action started above (same request).
            await agents.extend_volume(row["host"], instance=row, volume_id=volume_id, request_id=who.request_id)
    return json_response({"events": events}, out.status)
