"""Server tags: read and change them while the server's state allows (Nova's 409 otherwise)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.models import Instance, InstanceTag
from onestack.compute.service import instances
from onestack.core.api.faults import BadRequest, NotFound

MAX_TAGS = 50
EDITABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)


def _editable(s: Session, uuid: str, action: str) -> Instance:
    """The server row, locked for this transaction, if its state lets tags change."""
    inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)).with_for_update())
    if inst is None:
        raise NotFound(f"Instance {uuid} could not be found.")
    instances.check_state(inst, action, EDITABLE, task_states=None)
    return inst


def tags(s: Session, uuid: str) -> list[str]:
    return instances.tags_of(s, [uuid])[uuid]


def replace(s: Session, uuid: str, new: list[str]) -> list[str]:
    _editable(s, uuid, "update tags")
    s.execute(delete(InstanceTag).where(InstanceTag.instance_uuid == uuid))
    s.add_all(InstanceTag(instance_uuid=uuid, tag=t) for t in new)
    s.flush()
    return tags(s, uuid)


def delete_all(s: Session, uuid: str) -> None:
    _editable(s, uuid, "delete tags")
    s.execute(delete(InstanceTag).where(InstanceTag.instance_uuid == uuid))


def add(s: Session, uuid: str, tag: str, problem: str | None) -> bool:
    """Add one tag; False when the server had it. ``problem``: why the tag is invalid (a 400
    reported only once the server's state allows the change, as Nova orders its checks)."""
    _editable(s, uuid, "update tag")
    if problem:
        raise BadRequest(f"Tag '{tag}' is invalid. It must be a non empty string without characters '/' "
                         f"and ','. Validation error message: {problem}")
    current = tags(s, uuid)
    # Nova counts before looking: a full server refuses even a tag it already has.
    if len(current) >= MAX_TAGS:
        raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    if tag in current:
        return False
    s.add(InstanceTag(instance_uuid=uuid, tag=tag))
    return True


def remove(s: Session, uuid: str, tag: str) -> None:
    _editable(s, uuid, "delete tag")
    gone = s.execute(delete(InstanceTag).where(InstanceTag.instance_uuid == uuid, InstanceTag.tag == tag))
    if gone.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"Instance {uuid} has no tag '{tag}'")
