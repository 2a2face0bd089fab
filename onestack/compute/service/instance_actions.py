"""Instance actions and their events as ``os-instance-actions`` lists and shows them.

Rows come back as plain dicts (times as Nova prints them: microseconds, no zone), newest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from onestack.compute.models import InstanceAction, InstanceActionEvent
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.db import time_condition


def _time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def _action(row: InstanceAction) -> dict[str, Any]:
    return {"action": row.action, "instance_uuid": row.instance_uuid, "request_id": row.request_id,
            "user_id": row.user_id or None, "project_id": row.project_id or None,
            "start_time": _time(row.start_time), "message": row.message, "updated_at": _time(row.updated_at)}


def _event(event: InstanceActionEvent) -> dict[str, Any]:
    return {"event": event.event, "start_time": _time(event.start_time), "finish_time": _time(event.finish_time),
            "result": event.result, "traceback": event.traceback, "host": event.host, "details": event.details}


def _by_request_id(s: Session, uuid: str, request_id: str) -> InstanceAction | None:
    return s.scalar(select(InstanceAction)
                    .where(InstanceAction.instance_uuid == uuid, InstanceAction.request_id == request_id)
                    .order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc()).limit(1))


def list_actions(s: Session, uuid: str, limit: int | None, marker: str | None,
                 since: datetime | None, before: datetime | None) -> list[dict[str, Any]]:
    """Newest first (start time, then id), as Nova pages them."""
    if limit == 0:
        return []
    query = select(InstanceAction).where(InstanceAction.instance_uuid == uuid)
    if since is not None:
        query = query.where(time_condition(InstanceAction.updated_at, "gte", since))
    if before is not None:
        query = query.where(time_condition(InstanceAction.updated_at, "lte", before))
    if marker is not None:
        last = _by_request_id(s, uuid, marker)
        if last is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        query = query.where(or_(InstanceAction.start_time < last.start_time,
                                and_(InstanceAction.start_time == last.start_time, InstanceAction.id < last.id)))
    query = query.order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_action(a) for a in s.scalars(query)]


def show_action(s: Session, uuid: str, request_id: str, with_events: bool) -> dict[str, Any]:
    """One action; with its events (newest first, as Nova) under ``events`` when asked."""
    row = _by_request_id(s, uuid, request_id)
    if row is None:
        raise NotFound(f"Action {request_id} not found")
    body = _action(row)
    if with_events:
        body["events"] = [_event(e) for e in sorted(row.events, key=lambda e: e.id, reverse=True)]
    return body
