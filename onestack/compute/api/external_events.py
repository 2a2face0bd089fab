"""Server external events: ``POST /v2.1/os-server-external-events``.

Other services (network, block storage, bare metal, accelerators) tell compute that something
happened to a server: a port was plugged, a volume grew, the power changed. As in Nova each
event is answered on its own with a ``code``: 200 when accepted, 404 for an unknown server,
422 for a server on no host (nothing could deliver it), 400 when an event that needs a ``tag``
has none. The request answers 200 when every event was accepted and 207 otherwise (Nova since
the fix for bug 1855752; before it, all-failed requests answered 404).

Accepted events are recorded: logged, and for ``volume-extended`` and ``power-update`` an
instance action (``extend_volume``, ``power_update``) is started, as Nova's API does. Nothing
in onestack waits for the network events yet; the network and block-storage services will
produce them, and the compute agent will consume them, when those services exist.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import at_least, caller, compute_of, enforce, invalid
from onestack.compute.models import Instance
from onestack.compute.service import instances
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import RouteTable, json_body, json_response
from onestack.core.auth import AuthContext

log = logging.getLogger("onestack.compute.events")
routes = RouteTable()

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
TAG_REQUIRED = ("volume-extended", "power-update", "accelerator-request-bound")
# Events after which Nova's API records an instance action (the agent adds its events to it).
ACTIONS = {"volume-extended": "extend_volume", "power-update": "power_update"}
_EVENT_KEYS = {"name", "server_uuid", "status", "tag"}


def _is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


def _check_event(request: Request, event: Any) -> dict[str, Any]:
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
    names = [name for name, (major, minor) in NAMES if at_least(request, major, minor)]
    if event["name"] not in names:
        raise invalid("name", event["name"], f"{event['name']!r} is not one of {names}")
    server_uuid = event["server_uuid"]
    if not isinstance(server_uuid, str) or not _is_uuid(server_uuid):
        raise invalid("server_uuid", server_uuid, f"{server_uuid!r} is not a 'uuid'")
    if "status" in event and event["status"] not in STATUSES:
        raise invalid("status", event["status"], f"{event['status']!r} is not one of {list(STATUSES)}")
    tag = event.get("tag")
    if "tag" in event and (not isinstance(tag, str) or len(tag) > 255):
        why = f"{tag!r} is not of type 'string'" if not isinstance(tag, str) else f"{tag!r} is too long"
        raise invalid("tag", tag, why)
    return dict(event)


async def _events(request: Request) -> list[dict[str, Any]]:
    body = await json_body(request)
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
    return [_check_event(request, e) for e in events]


def _dispatch(request: Request, ctx: AuthContext, events: list[dict[str, Any]]) -> Callable[[Session], int]:
    """A transaction answering each event in place (status, code); it returns the request's status."""

    def run(s: Session) -> int:
        uuids = {e["server_uuid"] for e in events}
        rows = s.scalars(select(Instance).where(Instance.uuid.in_(uuids), Instance.deleted.is_(False)))
        hosts = {row.uuid: row.host for row in rows}
        result = 200
        for event in events:
            server, name = event["server_uuid"], event["name"]
            if server not in hosts:
                log.debug("dropping event %s:%s for unknown server %s", name, event.get("tag"), server)
                event.update(status="failed", code=404)
                result = 207
            elif name in TAG_REQUIRED and event.get("tag") is None:
                event.update(status="failed", code=400)
                result = 207
            elif not hosts[server]:
                log.debug("dropping event %s for server %s: it is on no host", name, server)
                event.update(status="failed", code=422)
                result = 207
            else:
                log.info("event %s:%s for server %s on %s (status %s)", name, event.get("tag"), server,
                         hosts[server], event.get("status", "completed"))
                if name in ACTIONS:
                    instances.start_action(s, server, ACTIONS[name], request.state.request_id,
                                           ctx.project_id or "", ctx.user_id)
                event.update(status="completed", code=200)
        return result

    return run


@routes.post("/v2.1/os-server-external-events")
async def create_events(request: Request) -> Response:
    ctx = await caller(request)
    events = await _events(request)  # Nova validates the body before it checks policy
    enforce(request, ctx, RULE, {})
    status: int = await compute_of(request).db.write(_dispatch(request, ctx, events))
    return json_response({"events": events}, status)
