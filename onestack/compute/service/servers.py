"""Servers as the API shows and changes them: visible rows, what a view needs, update, delete.

Everything returned is plain data (``instances.to_dict`` copies, fault dicts, host statuses),
so the API renders it after the transaction has closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.models import Instance, InstanceFault, Service
from onestack.compute.scheduler.snapshot import COMPUTE_BINARY, service_is_up
from onestack.compute.service import block_devices, instances, server_list
from onestack.compute.service.server_list import ServerQuery
from onestack.core.ids import isotime, utcnow


@dataclass(frozen=True)
class Actor:
    """Who asked for a change, as its instance-action record names them."""

    request_id: str
    project_id: str
    user_id: str


@dataclass
class Shown:
    """One server with what its detailed view adds: tags, newest fault and host status."""

    server: dict[str, Any]
    fault: dict[str, Any] | None = None
    host_status: str | None = None


@dataclass(frozen=True)
class Extras:
    """Which additions a view asks for (by microversion and policy)."""

    tags: bool = False
    host_status: bool = False
    down_after: float = 60.0


def visible(s: Session, uuid: str, project_id: str | None, with_deleted: bool = False) -> dict[str, Any]:
    """The server (404 unless ``project_id`` is None or owns it) as a plain dict."""
    return instances.to_dict(instances.get(s, uuid, project_id=project_id, with_deleted=with_deleted))


def host_statuses(s: Session, hosts: set[str], down_after: float) -> dict[str, str]:
    """Nova's host_status per host: DOWN (forced down), MAINTENANCE (disabled), UP, UNKNOWN (not
    reporting), or "" when the host has no compute service."""
    found = {h: "" for h in hosts}
    if hosts:
        for svc in s.scalars(select(Service).where(Service.host.in_(hosts), Service.binary == COMPUTE_BINARY)):
            if svc.forced_down:
                found[svc.host] = "DOWN"
            elif svc.disabled:
                found[svc.host] = "MAINTENANCE"
            else:
                found[svc.host] = "UP" if service_is_up(svc, down_after) else "UNKNOWN"
    return found


def host_up(s: Session, host: str, down_after: float) -> bool:
    svc = s.scalar(select(Service).where(Service.host == host, Service.binary == COMPUTE_BINARY))
    return svc is not None and service_is_up(svc, down_after)


def _fault(fault: InstanceFault) -> dict[str, Any]:
    return {"code": fault.code, "created": isotime(fault.created_at, micro=False), "message": fault.message,
            "details": fault.details}


def shown(s: Session, rows: list[Instance], extras: Extras) -> list[Shown]:
    uuids = [r.uuid for r in rows]
    tags = instances.tags_of(s, uuids) if extras.tags else {}
    faults = instances.faults_of(s, [r.uuid for r in rows if r.vm_state in (states.ERROR, states.DELETED)])
    statuses: dict[str, str] = {}
    if extras.host_status:
        statuses = host_statuses(s, {r.host for r in rows if r.host}, extras.down_after)
    volumes = block_devices.attached_of(s, uuids)
    out = []
    for row in rows:
        fault = faults.get(row.uuid)
        server = instances.to_dict(row, tags.get(row.uuid))
        server["volumes_attached"] = volumes.get(row.uuid, [])
        out.append(Shown(server, _fault(fault) if fault else None,
                         statuses.get(row.host or "", "") if extras.host_status else None))
    return out


def show(s: Session, uuid: str, project_id: str | None, extras: Extras) -> Shown:
    return shown(s, [instances.get(s, uuid, project_id=project_id)], extras)[0]


def listing(s: Session, q: ServerQuery, extras: Extras | None) -> list[Shown]:
    """One page of the list; ``extras`` None for the brief list (rows only)."""
    rows = server_list.run(s, q)
    if extras is None:
        return [Shown(instances.to_dict(r)) for r in rows]
    return shown(s, rows, extras)


def begin_delete(s: Session, uuid: str, admin: bool, action: str, actor: Actor,
                 down_after: float) -> tuple[str | None, bool, list[dict[str, Any]]]:
    """Start deleting: (host, True) when the host must do it, else deleted here at once.

    (host, False) when a delete is already under way; (None, False) when the server never
    reached a host or its host is down, so the row is marked deleted now (a local delete): then
    also the volume mappings it had, forgotten here, whose volumes the caller releases.
    """
    inst = instances.get(s, uuid)
    instances.check_not_locked(inst, admin)
    if inst.task_state == states.DELETING:
        return inst.host, False, []
    instances.start_action(s, uuid, action, actor.request_id, actor.project_id, actor.user_id)
    host = inst.host
    if host and host_up(s, host, down_after):
        inst.task_state = states.DELETING
        inst.updated_at = utcnow()
        return host, True, []
    instances.mark_deleted(s, uuid)
    return None, False, block_devices.remove_all(s, uuid)


def clear_password(s: Session, uuid: str) -> None:
    """Forget the password the guest posted (the guest keeps its own)."""
    s.execute(update(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False))
              .values(encrypted_password=None))
