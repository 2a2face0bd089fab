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
from urllib.parse import urlencode

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import (
    allowed,
    api_base,
    at_least,
    caller,
    compute_of,
    enforce,
    is_admin,
)
from onestack.compute.api.server_views import host_id
from onestack.compute.models import InstanceAction, InstanceActionEvent
from onestack.compute.service import instances
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import RouteTable, json_response
from onestack.core.auth import AuthContext
from onestack.core.ids import parse_isotime

routes = RouteTable()

MAX_LIMIT = 1000  # Nova's [api] max_limit
_RULE = "os_compute_api:os-instance-actions:"


def _time(value: datetime | None) -> str | None:
    """Nova prints action and event times with microseconds and no zone suffix."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def _action(request: Request, row: InstanceAction) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": row.action, "instance_uuid": row.instance_uuid, "request_id": row.request_id,
        "user_id": row.user_id or None, "project_id": row.project_id or None,
        "start_time": _time(row.start_time), "message": row.message,
    }
    if at_least(request, 2, 58):
        body["updated_at"] = _time(row.updated_at)
    return body


async def _instance(request: Request, ctx: AuthContext, rule: str) -> dict[str, Any]:
    """The server (deleted ones too from 2.21) if the caller may see it; 404 otherwise."""
    uuid = request.path_params["server_id"]
    project = None if is_admin(request, ctx) else ctx.project_id
    with_deleted = at_least(request, 2, 21)
    row = await compute_of(request).db.read(
        lambda s: instances.to_dict(instances.get(s, uuid, project_id=project, with_deleted=with_deleted)))
    enforce(request, ctx, _RULE + rule, {"project_id": row["project_id"], "user_id": row["user_id"]})
    return row


# --- list ------------------------------------------------------------------------------------

def _one_param(request: Request, name: str) -> str:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {values}. {values!r} is too long")
    return values[0]


def _list_filters(request: Request) -> tuple[int, str | None, datetime | None, datetime | None]:
    """limit, marker, changes-since, changes-before of a 2.58+ request (Nova's query schema)."""
    known = {"limit", "marker", "changes-since"} | ({"changes-before"} if at_least(request, 2, 66) else set())
    extra = sorted(set(request.query_params) - known)
    if extra:
        listed = ", ".join(repr(k) for k in extra)
        raise BadRequest(f"Additional properties are not allowed ({listed} {'was' if len(extra) == 1 else 'were'} "
                         "unexpected)")
    limit = MAX_LIMIT
    if "limit" in request.query_params:
        raw = _one_param(request, "limit")
        if not raw.isdigit():
            raise BadRequest(f"Invalid input for query parameters limit. Value: {raw}. "
                             f"'{raw}' does not match '^[0-9]*$'")
        limit = min(int(raw), MAX_LIMIT)
    marker = _one_param(request, "marker") if "marker" in request.query_params else None
    times: dict[str, datetime | None] = {"changes-since": None, "changes-before": None}
    for name in times:
        if name in request.query_params:
            raw = _one_param(request, name)
            try:
                times[name] = parse_isotime(raw)
            except ValueError:
                raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. "
                                 f"'{raw}' is not a 'date-time'") from None
    since, before = times["changes-since"], times["changes-before"]
    if since and before and before < since:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    return limit, marker, since, before


def _query_actions(s: Session, uuid: str, limit: int | None, marker: str | None,
                   since: datetime | None, before: datetime | None) -> list[InstanceAction]:
    """Newest first (start time, then id), as Nova pages them."""
    if limit == 0:
        return []
    query = select(InstanceAction).where(InstanceAction.instance_uuid == uuid)
    if since is not None:
        query = query.where(InstanceAction.updated_at >= since)
    if before is not None:
        query = query.where(InstanceAction.updated_at <= before)
    if marker is not None:
        last = _by_request_id(s, uuid, marker)
        if last is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        query = query.where(or_(InstanceAction.start_time < last.start_time,
                                and_(InstanceAction.start_time == last.start_time, InstanceAction.id < last.id)))
    query = query.order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(s.scalars(query))


def _by_request_id(s: Session, uuid: str, request_id: str) -> InstanceAction | None:
    return s.scalar(select(InstanceAction)
                    .where(InstanceAction.instance_uuid == uuid, InstanceAction.request_id == request_id)
                    .order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc()).limit(1))


def _next_link(request: Request, uuid: str, items: list[dict[str, Any]], limit: int) -> list[dict[str, str]]:
    if not items or len(items) != limit:
        return []
    params = sorted((k, v) for k, v in request.query_params.items() if k != "marker")
    params.append(("marker", items[-1]["request_id"]))
    href = f"{api_base(request)}/v2.1/servers/{uuid}/os-instance-actions?{urlencode(params)}"
    return [{"rel": "next", "href": href}]


@routes.get("/v2.1/servers/{server_id}/os-instance-actions")
async def list_actions(request: Request) -> Response:
    ctx = await caller(request)
    server = await _instance(request, ctx, "list")
    uuid = server["uuid"]
    paged = at_least(request, 2, 58)
    limit, marker, since, before = _list_filters(request) if paged else (None, None, None, None)

    def read(s: Session) -> list[dict[str, Any]]:
        return [_action(request, a) for a in _query_actions(s, uuid, limit, marker, since, before)]

    actions = await compute_of(request).db.read(read)
    body: dict[str, Any] = {"instanceActions": actions}
    if paged and limit is not None:
        links = _next_link(request, uuid, actions, limit)
        if links:
            body["links"] = links
    return json_response(body)


# --- show ------------------------------------------------------------------------------------

def _event(event: InstanceActionEvent, project_id: str, *, traceback: bool, host: bool, hostid: bool,
           details: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"event": event.event, "start_time": _time(event.start_time),
                            "finish_time": _time(event.finish_time), "result": event.result}
    if traceback:
        body["traceback"] = event.traceback
    if host:
        body["host"] = event.host
    if hostid:
        body["hostId"] = host_id(project_id, event.host)
    if details:
        body["details"] = event.details
    return body


@routes.get("/v2.1/servers/{server_id}/os-instance-actions/{request_id}")
async def show_action(request: Request) -> Response:
    ctx = await caller(request)
    server = await _instance(request, ctx, "show")
    uuid, request_id = server["uuid"], request.path_params["request_id"]
    target = {"project_id": server["project_id"], "user_id": server["user_id"]}
    # Admins (by policy) see every event field at every version; owners see events from
    # 2.51, without the traceback or the host name.
    full = allowed(request, ctx, _RULE + "events", target)
    show_events = full or at_least(request, 2, 51)
    hostid = at_least(request, 2, 62)
    details = show_events and at_least(request, 2, 84) and allowed(request, ctx, _RULE + "events:details", target)

    def read(s: Session) -> dict[str, Any]:
        row = _by_request_id(s, uuid, request_id)
        if row is None:
            raise NotFound(f"Action {request_id} not found")
        body = _action(request, row)
        if show_events:
            project = row.project_id or server["project_id"]
            events = sorted(row.events, key=lambda e: e.id, reverse=True)  # newest first, as Nova
            body["events"] = [_event(e, project, traceback=full, host=full and hostid, hostid=hostid,
                                     details=details) for e in events]
        return body

    return json_response({"instanceAction": await compute_of(request).db.read(read)})
