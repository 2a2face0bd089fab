"""The transactions of server actions that stay on one host: check, set the task state, record.

Each action the API starts checks the row (lock, vm/task state, host), moves it into the
action's task state with a conditional update and records the instance action, in one
transaction; what comes back is the updated row as a plain dict for the cast to the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from onestack.compute.models import Instance, InstanceAction
from onestack.compute.service import availability_zones as az_svc
from onestack.compute.service import hypervisors, instances
from onestack.compute.service.servers import Actor
from onestack.core.api.faults import BadRequest, Conflict
from onestack.core.ids import utcnow


@dataclass(frozen=True)
class Transition:
    name: str  # as Nova names it in the 409 message
    action: str  # the os-instance-actions name
    vm_states: tuple[str, ...] | None
    task: str | None  # the task state set now (None: the action sets none)
    task_states: tuple[str | None, ...] = (None,)
    lock: bool = True
    need_host: bool = True


def not_ready(uuid: str) -> Conflict:
    return Conflict(f"Instance {uuid} is not ready")


def merge_meta(inst: Instance, changes: dict[str, Any]) -> None:
    """Set some system_metadata keys (None removes one) without clobbering the rest."""
    meta = dict(inst.system_metadata or {})
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    inst.system_metadata = meta


def precheck(s: Session, uuid: str, t: Transition, admin: bool) -> None:
    """The state checks alone, before anything is created elsewhere (an image, say)."""
    inst = instances.get(s, uuid)
    if t.lock:
        instances.check_not_locked(inst, admin)
    instances.check_state(inst, t.name, t.vm_states, t.task_states)
    if t.need_host and not inst.host:
        raise not_ready(uuid)


def begin(s: Session, uuid: str, t: Transition, admin: bool, actor: Actor, values: dict[str, Any] | None = None,
          meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the row and move it into the action's task state; the updated row."""
    inst = instances.get(s, uuid)
    if t.lock:
        instances.check_not_locked(inst, admin)
    if t.need_host and not inst.host:
        raise not_ready(uuid)
    instances.check_state(inst, t.name, t.vm_states, t.task_states)
    if inst.launched_at is None:  # Nova's must_have_launched
        raise Conflict(f"Cannot '{t.name}' instance {uuid} while it is in launched_at None")
    update = dict(values or {})
    if t.task is not None:
        update["task_state"] = t.task
    try:
        inst = instances.apply_update(s, uuid, update, expected_task_state=list(t.task_states))
    except instances.UnexpectedTaskState as exc:
        raise Conflict(str(exc)) from None
    if meta:
        merge_meta(inst, meta)
    instances.start_action(s, uuid, t.action, actor.request_id, actor.project_id, actor.user_id)
    s.flush()
    return instances.to_dict(inst)


def api_action(s: Session, uuid: str, name: str, values: dict[str, Any], actor: Actor,
               event: str | None = None) -> None:
    """An action done entirely in the API (lock, unlock, resetState): recorded, finished, written."""
    action_id = instances.start_action(s, uuid, name, actor.request_id, actor.project_id, actor.user_id)
    instances.apply_update(s, uuid, values)
    if event:
        instances.event_start(s, uuid, actor.request_id, event, None)
        instances.event_finish(s, uuid, actor.request_id, event, "Success")
    done = s.get(InstanceAction, action_id)
    if done is not None:
        done.finish_time = utcnow()


def check_unshelve_target(s: Session, zone: Any, host: str | None, expected_zone: str | None) -> None:
    """An unshelve to a zone and/or host: the zone must exist, the host too and lie in the zone."""
    if isinstance(zone, str) and (zone == az_svc.INTERNAL_ZONE or zone not in az_svc.zones(s)):
        raise BadRequest("The requested availability zone is not available")
    if host:
        if not hypervisors.node_exists(s, host):
            raise BadRequest(f"Compute host {host} could not be found.")
        if expected_zone is not None and az_svc.host_zone(s, host) != expected_zone:
            raise Conflict(f'Host "{host}" is not in the availability zone "{expected_zone}".')
