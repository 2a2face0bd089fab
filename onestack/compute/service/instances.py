"""Server rows: create (with quota), read, conditional update, faults, actions and soft delete.

The API and the conductor are the only writers; agents ask the conductor. Every state change
is a conditional update on ``task_state`` so two actors never both think they own a server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.models import (
    Instance,
    InstanceAction,
    InstanceActionEvent,
    InstanceFault,
    InstanceTag,
    ServerGroupMember,
)
from onestack.core.api.faults import Conflict, NotFound
from onestack.core.ids import isotime, parse_isotime, utcnow
from onestack.core.rpc import remote_error

_DATES = ("launched_at", "terminated_at", "created_at", "updated_at", "deleted_at")


@remote_error
class UnexpectedTaskState(Exception):
    """The row's task_state was not the one the caller expected: someone else acted first."""


@remote_error
class InstanceGone(NotFound):
    """No live row has this uuid (deleted meanwhile, or never there): a 404 at the API, and what
    an agent's conditional write through the conductor raises when its server went away."""

    # A copy rebuilt from the bus skips __init__; the API renders it with this.
    headers: dict[str, str] = {}  # noqa: RUF012 - never mutated, only read when rendering


def to_dict(inst: Instance, tags: list[str] | None = None) -> dict[str, Any]:
    """A JSON-safe copy of the row, as it travels on the bus and into API views."""
    data = {c.key: getattr(inst, c.key) for c in Instance.__mapper__.column_attrs}
    data["metadata"] = dict(data.pop("metadata_") or {})
    for key in _DATES:
        data[key] = isotime(data[key]) if data[key] is not None else None
    if tags is not None:
        data["tags"] = tags
    return data


def from_iso(value: str | None) -> datetime | None:
    return parse_isotime(value) if value else None


# --- quota -----------------------------------------------------------------------------------

def usage(s: Session, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """Instances, cores and RAM in use. A server that failed to build (ERROR, no host) holds no
    cores or RAM — its placement allocation is gone — but still counts as an instance."""
    live = (Instance.project_id == project_id) & Instance.deleted.is_(False)
    if user_id:
        live &= Instance.user_id == user_id
    holding = or_(Instance.host.is_not(None), Instance.vm_state != states.ERROR)
    count = s.scalar(select(func.count()).select_from(Instance).where(live)) or 0
    cores, ram = s.execute(select(func.coalesce(func.sum(Instance.vcpus), 0),
                                  func.coalesce(func.sum(Instance.memory_mb), 0)).where(live & holding)).one()
    return {"instances": int(count), "cores": int(cores), "ram": int(ram)}


def _usage_pair_statement() -> Any:
    holding = or_(Instance.host.is_not(None), Instance.vm_state != states.ERROR)
    mine = Instance.user_id == bindparam("user_id")

    def total(column: Any, *conds: Any) -> Any:
        return func.coalesce(func.sum(case((and_(*conds), column), else_=0)), 0)

    return select(
        func.count(), total(Instance.vcpus, holding), total(Instance.memory_mb, holding),
        total(1, mine), total(Instance.vcpus, holding, mine), total(Instance.memory_mb, holding, mine),
    ).where(Instance.project_id == bindparam("project_id"), Instance.deleted.is_(False))


_USAGE_PAIR = _usage_pair_statement()  # built once: every boot counts


def usage_pair(s: Session, project_id: str, user_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """``usage`` for the project and for the user within it, in one query (the boot path's)."""
    row = s.execute(_USAGE_PAIR, {"project_id": project_id, "user_id": user_id}).one()
    values = [int(v) for v in row]
    return ({"instances": values[0], "cores": values[1], "ram": values[2]},
            {"instances": values[3], "cores": values[4], "ram": values[5]})


# --- rows ------------------------------------------------------------------------------------

_BY_UUID = select(Instance).where(Instance.uuid == bindparam("uuid"))  # every action and show: built once
_LIVE_BY_UUID = _BY_UUID.where(Instance.deleted.is_(False))


def by_uuid(s: Session, uuid: str) -> Instance | None:
    """The row, deleted or not."""
    return s.scalar(_BY_UUID, {"uuid": uuid})


def get(s: Session, uuid: str, *, project_id: str | None = None, with_deleted: bool = False) -> Instance:
    inst = s.scalar(_BY_UUID if with_deleted else _LIVE_BY_UUID, {"uuid": uuid})
    if inst is None or (project_id is not None and inst.project_id != project_id):
        raise InstanceGone(f"Instance {uuid} could not be found.")
    return inst


def tags_of(s: Session, uuids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {u: [] for u in uuids}
    if uuids:
        for uuid, tag in s.execute(select(InstanceTag.instance_uuid, InstanceTag.tag)
                                   .where(InstanceTag.instance_uuid.in_(uuids)).order_by(InstanceTag.tag)):
            found[uuid].append(tag)
    return found


def faults_of(s: Session, uuids: list[str]) -> dict[str, InstanceFault]:
    """The newest fault of each server."""
    found: dict[str, InstanceFault] = {}
    if uuids:
        for fault in s.scalars(select(InstanceFault).where(InstanceFault.instance_uuid.in_(uuids))
                               .order_by(InstanceFault.id)):
            found[fault.instance_uuid] = fault
    return found


_BY_UUID_FRESH = _BY_UUID.execution_options(populate_existing=True)
_UPDATES: dict[tuple[Any, ...], Any] = {}  # update statements by shape, built once each


def _update_statement(keys: tuple[str, ...], task_names: int, task_none: bool, vm_states: bool,
                      host: bool = False, returning: bool = False) -> Any:
    shape = (keys, task_names, task_none, vm_states, host, returning)
    statement = _UPDATES.get(shape)
    if statement is None:
        statement = update(Instance).where(Instance.uuid == bindparam("w_uuid"), Instance.deleted.is_(False))
        if task_names >= 0:
            options: list[ColumnElement[bool]] = (
                [Instance.task_state.in_(bindparam("w_tasks", expanding=True))] if task_names else [])
            if task_none:
                options.append(Instance.task_state.is_(None))
            statement = statement.where(or_(*options) if options else false())
        if vm_states:
            statement = statement.where(Instance.vm_state.in_(bindparam("w_vm_states", expanding=True)))
        if host:
            statement = statement.where(Instance.host == bindparam("w_host"))
        statement = statement.values({key: bindparam(f"v_{key}") for key in keys}) \
            .execution_options(synchronize_session=False)
        if returning:  # the written row in the same statement, into this session's object if it has one
            statement = statement.returning(Instance).execution_options(populate_existing=True)
        _UPDATES[shape] = statement
    return statement


def apply_update(s: Session, uuid: str, values: dict[str, Any],
                 expected_task_state: list[str | None] | None = None,
                 expected_vm_state: list[str] | None = None, expected_host: str | None = None) -> Instance:
    """Set ``values`` if the row is still in an expected state (and, with ``expected_host``, still
    placed on that host); UnexpectedTaskState otherwise."""
    values = dict(values)
    for key in _DATES:
        if isinstance(values.get(key), str):
            values[key] = from_iso(values[key])
    if "metadata" in values:
        values["metadata_"] = values.pop("metadata")
    values.setdefault("updated_at", utcnow())
    params: dict[str, Any] = {f"v_{key}": value for key, value in values.items()}
    params["w_uuid"] = uuid
    names: list[str] = []
    if expected_task_state is not None:
        names = [t for t in expected_task_state if t is not None]
        params["w_tasks"] = names
    if expected_vm_state is not None:
        params["w_vm_states"] = list(expected_vm_state)
    if expected_host is not None:
        params["w_host"] = expected_host
    returning = s.get_bind().dialect.update_returning  # not MySQL: there a SELECT reads the row back
    statement = _update_statement(tuple(sorted(values)), len(names) if expected_task_state is not None
                                  else -1, expected_task_state is not None and None in expected_task_state,
                                  expected_vm_state is not None, expected_host is not None, returning)
    result = s.execute(statement, params)
    written: Instance | None
    if returning:
        written = result.scalars().first()
    elif result.rowcount:  # type: ignore[attr-defined]
        written = s.scalar(_BY_UUID_FRESH, {"uuid": uuid})
    else:
        written = None
    if written is None:
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
        if inst is None or inst.deleted:
            raise InstanceGone(f"Instance {uuid} could not be found.")
        if expected_host is not None and inst.host != expected_host:
            raise UnexpectedTaskState(f"Instance {uuid} is placed on {inst.host}, not {expected_host}")
        raise UnexpectedTaskState(
            f"Unexpected task state: expecting {expected_task_state} but the actual state is {inst.task_state}")
    return written


def add_fault(s: Session, uuid: str, code: int, message: str, details: str = "", host: str | None = None) -> None:
    s.add(InstanceFault(instance_uuid=uuid, code=code, message=message[:255], details=details, host=host))


def mark_deleted(s: Session, uuid: str) -> Instance | None:
    """Soft-delete: the row stays for changes-since and admin listings; group membership goes."""
    inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)))
    if inst is None:
        return None
    now = utcnow()
    inst.deleted, inst.deleted_at, inst.terminated_at = True, now, now
    inst.vm_state, inst.task_state, inst.power_state, inst.updated_at = states.DELETED, None, 0, now
    s.execute(delete(ServerGroupMember).where(ServerGroupMember.instance_uuid == uuid))
    return inst


def on_host(s: Session, host: str) -> list[Instance]:
    return list(s.scalars(select(Instance).where(Instance.host == host, Instance.deleted.is_(False))))


def check_not_locked(inst: Instance, is_admin: bool) -> None:
    """A locked server refuses actions from anyone but an admin (Nova's 409)."""
    if inst.locked and not is_admin:
        raise Conflict(f"Instance {inst.uuid} is locked")


def check_state(inst: Instance, action: str, vm_states: tuple[str, ...] | None = None,
                task_states: tuple[str | None, ...] | None = (None,)) -> None:
    """Nova's 409 "Cannot '<action>' instance ... while it is in vm_state X"."""
    if vm_states is not None and inst.vm_state not in vm_states:
        raise Conflict(f"Cannot '{action}' instance {inst.uuid} while it is in vm_state {inst.vm_state}")
    if task_states is not None and inst.task_state not in task_states:
        raise Conflict(f"Cannot '{action}' instance {inst.uuid} while it is in task_state {inst.task_state}")


def pin_zone(s: Session, uuid: str, requested: str | None) -> None:
    """2.104's ``pinned_availability_zone`` update, as Nova: null unpins; a zone re-pins only to
    the zone the server is in, and only while unpinned (409 otherwise); the same value is a no-op."""
    inst = get(s, uuid)
    meta = dict(inst.system_metadata or {})
    current = meta.get("requested_az")
    if requested is None or requested == current:
        if current is not None and requested is None:
            meta["requested_az"] = None
            inst.system_metadata = meta
        return
    if current is not None:
        raise Conflict("Cannot change pinned availability zone directly. Unpin first by setting "
                       "pinned_availability_zone to null.")
    zone = inst.availability_zone or ""
    if requested != zone:
        raise Conflict(f"Server can only be pinned to its current availability zone '{zone}', "
                       f"but '{requested}' was requested.")
    meta["requested_az"] = requested
    inst.system_metadata = meta


# --- instance actions ------------------------------------------------------------------------

# Every boot and every action writes these rows: their statements are built once.
_ACTIONS = cast(Table, InstanceAction.__table__)
_EVENTS = cast(Table, InstanceActionEvent.__table__)
_INSERT_ACTION = insert(_ACTIONS)
_LATEST_ACTION = select(_ACTIONS.c.id).where(_ACTIONS.c.instance_uuid == bindparam("uuid")) \
    .order_by(_ACTIONS.c.id.desc()).limit(1)
_LATEST_ACTION_OF_REQUEST = select(_ACTIONS.c.id).where(
    _ACTIONS.c.instance_uuid == bindparam("uuid"), _ACTIONS.c.request_id == bindparam("request_id")) \
    .order_by(_ACTIONS.c.id.desc()).limit(1)
_OPEN_EVENT = select(_EVENTS.c.id).where(
    _EVENTS.c.action_id == bindparam("action"), _EVENTS.c.event == bindparam("name"),
    _EVENTS.c.finish_time.is_(None)).order_by(_EVENTS.c.id.desc()).limit(1)
_INSERT_EVENT = insert(_EVENTS)
_TOUCH_ACTION = update(_ACTIONS).where(_ACTIONS.c.id == bindparam("w_action")).values(updated_at=bindparam("now"))
# A NULL details / message keeps what the row has: only an error's message replaces it.
_FINISH_EVENT = update(_EVENTS).where(_EVENTS.c.id == bindparam("w_event")).values(
    finish_time=bindparam("now"), result=bindparam("v_result"), traceback=bindparam("v_traceback"),
    details=func.coalesce(bindparam("v_details", type_=Text), _EVENTS.c.details))
_FINISH_ACTION = update(_ACTIONS).where(_ACTIONS.c.id == bindparam("w_action")).values(
    updated_at=bindparam("now"), finish_time=bindparam("now"),
    message=func.coalesce(bindparam("v_message", type_=Text), _ACTIONS.c.message))


def start_action(s: Session, uuid: str, action: str, request_id: str, project_id: str, user_id: str) -> int:
    now = utcnow()
    result = s.execute(_INSERT_ACTION, {"instance_uuid": uuid, "action": action, "request_id": request_id,
                                        "project_id": project_id, "user_id": user_id, "start_time": now,
                                        "updated_at": now})
    return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]


def _latest_action(s: Session, uuid: str, request_id: str | None) -> int | None:
    if request_id:
        return s.scalar(_LATEST_ACTION_OF_REQUEST, {"uuid": uuid, "request_id": request_id})
    return s.scalar(_LATEST_ACTION, {"uuid": uuid})


def event_start(s: Session, uuid: str, request_id: str | None, event: str, host: str | None) -> None:
    action = _latest_action(s, uuid, request_id)
    if action is None:
        return
    now = utcnow()
    s.execute(_TOUCH_ACTION, {"w_action": action, "now": now})
    s.execute(_INSERT_EVENT, {"action_id": action, "event": event, "host": host, "start_time": now})


def event_finish(s: Session, uuid: str, request_id: str | None, event: str, result: str,
                 traceback: str | None = None, message: str | None = None, *,
                 started: datetime | None = None, host: str | None = None) -> None:
    """Finish the event (creating it, started at ``started``, if its start was never recorded)."""
    action = _latest_action(s, uuid, request_id)
    if action is None:
        return
    now = utcnow()
    details = message if result == "Error" and message else None  # shown at 2.84 (Nova keeps it there)
    row = s.scalar(_OPEN_EVENT, {"action": action, "name": event})
    if row is None:
        s.execute(_INSERT_EVENT, {"action_id": action, "event": event, "start_time": started or now, "host": host,
                                  "finish_time": now, "result": result, "traceback": traceback,
                                  "details": details})
    else:
        s.execute(_FINISH_EVENT, {"w_event": row, "now": now, "v_result": result, "v_traceback": traceback,
                                  "v_details": details})
    s.execute(_FINISH_ACTION, {"w_action": action, "now": now,
                               "v_message": (message or "Error") if result == "Error" else None})
