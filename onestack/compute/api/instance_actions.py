"""Instance actions: ``/servers/{id}/os-instance-actions`` and ``.../os-instance-actions/{request_id}``.

The rows are written by the API (one per user request, ``instances.start_action``) and by the
conductor on the agents' behalf (the events of each step). What a caller sees depends on the
microversion as in Nova: deleted servers' actions from 2.21, events for non-admins from 2.51
(without traceback), paging, ``updated_at`` and ``changes-since`` from 2.58, host/hostId of
events from 2.62, ``changes-before`` from 2.66 and event ``details`` from 2.84.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import MAX_LIMIT, ComputeRoutes, Req, page, timestamp
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.api.server_views import host_id
from onestack.compute.service import instance_actions as svc
from onestack.compute.service import servers
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response
from onestack.core.api.pagination import Page
from onestack.core.auth import AuthContext

routes = ComputeRoutes()

_RULE = "os_compute_api:os-instance-actions:"


def _action(req: Req, row: dict[str, Any]) -> dict[str, Any]:
    body = {k: row[k] for k in ("action", "instance_uuid", "request_id", "user_id", "project_id", "start_time",
                                "message")}
    if req.at_least(2, 58):
        body["updated_at"] = row["updated_at"]
    return body


async def _instance(req: Req, ctx: AuthContext, rule: str) -> dict[str, Any]:
    """The server (deleted ones too from 2.21) if the caller may see it; 404 otherwise."""
    uuid = req.path("server_id")
    project = None if await req.is_admin() else ctx.project_id
    row = await req.read(servers.visible, uuid, project, req.at_least(2, 21))
    await req.enforce(_RULE + rule, {"project_id": row["project_id"], "user_id": row["user_id"]})
    return row


# --- list ------------------------------------------------------------------------------------

def _one_param(req: Req, name: str) -> str:
    values = req.params.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {values}. {values!r} is too long")
    return values[0]


def _list_filters(req: Req) -> tuple[int, str | None, datetime | None, datetime | None]:
    """limit, marker, changes-since, changes-before of a 2.58+ request (Nova's query schema)."""
    known = {"limit", "marker", "changes-since"} | ({"changes-before"} if req.at_least(2, 66) else set())
    extra = sorted(set(req.params) - known)
    if extra:
        listed = ", ".join(repr(k) for k in extra)
        raise BadRequest(f"Additional properties are not allowed ({listed} {'was' if len(extra) == 1 else 'were'} "
                         "unexpected)")
    if "limit" in req.params:
        _one_param(req, "limit")
    wanted = page(req)
    limit = MAX_LIMIT if wanted.limit is None else wanted.limit
    marker = _one_param(req, "marker") if "marker" in req.params else None
    times: dict[str, datetime | None] = {"changes-since": None, "changes-before": None}
    for name in times:
        if name in req.params:
            _one_param(req, name)
            times[name] = timestamp(req, name)
    since, before = times["changes-since"], times["changes-before"]
    if since and before and before < since:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    return limit, marker, since, before


@routes.get("/v2.1/servers/{server_id}/os-instance-actions")
async def list_actions(req: Req) -> Response:
    ctx = await req.caller()
    server = await _instance(req, ctx, "list")
    uuid = server["uuid"]
    paged = req.at_least(2, 58)
    limit, marker, since, before = _list_filters(req) if paged else (None, None, None, None)

    found = await req.read(svc.list_actions, uuid, limit, marker, since, before)
    actions = [_action(req, a) for a in found]
    body: dict[str, Any] = {"instanceActions": actions}
    if paged and limit is not None:
        links = req.next_links(actions, Page(limit=limit, marker=None), key="request_id", sort_params=True)
        if links:
            body["links"] = links
    return json_response(body)


# --- show ------------------------------------------------------------------------------------

def _event(event: dict[str, Any], project_id: str, *, traceback: bool, host: bool, hostid: bool,
           details: bool) -> dict[str, Any]:
    body = {k: event[k] for k in ("event", "start_time", "finish_time", "result")}
    if traceback:
        body["traceback"] = event["traceback"]
    if host:
        body["host"] = event["host"]
    if hostid:
        body["hostId"] = host_id(project_id, event["host"])
    if details:
        body["details"] = event["details"]
    return body


@routes.get("/v2.1/servers/{server_id}/os-instance-actions/{request_id}")
async def show_action(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    server = await _instance(req, ctx, "show")
    uuid, request_id = server["uuid"], req.path("request_id")
    target = {"project_id": server["project_id"], "user_id": server["user_id"]}
    # Admins (by policy) see every event field at every version; owners see events from
    # 2.51, without the traceback or the host name.
    full = await req.allowed(_RULE + "events", target)
    show_events = full or req.at_least(2, 51)
    hostid = req.at_least(2, 62)
    details = show_events and req.at_least(2, 84) and await req.allowed(_RULE + "events:details", target)

    row = await req.read(svc.show_action, uuid, request_id, show_events)
    body = _action(req, row)
    if show_events:
        project = row["project_id"] or server["project_id"]
        body["events"] = [_event(e, project, traceback=full, host=full and hostid, hostid=hostid, details=details)
                          for e in row["events"]]
    return json_response({"instanceAction": body})
