"""Server metadata changes under Nova's rules: lock, state, quota of items, a row lock."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.models import Instance
from onestack.compute.service import instances, quotas
from onestack.core.api.faults import Forbidden, NotFound
from onestack.core.ids import utcnow

# The vm_states in which Nova lets metadata change (and only with no task running).
EDITABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)


def edit(s: Session, uuid: str, action: str, change: Callable[[dict[str, str]], dict[str, str]],
         check_quota: bool, admin: bool) -> dict[str, str]:
    """Apply ``change`` to the server's metadata; the new metadata."""
    # Row lock: two concurrent edits must not lose each other's keys (no-op on SQLite,
    # where writers are serialised anyway).
    inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)).with_for_update())
    if inst is None:
        raise NotFound(f"Instance {uuid} could not be found.")
    instances.check_not_locked(inst, admin)
    instances.check_state(inst, action, EDITABLE, (None,))
    new = change(dict(inst.metadata_ or {}))
    if check_quota and new:
        limit = quotas.limits_for(s, inst.project_id, inst.user_id)["metadata_items"]
        if 0 <= limit < len(new):
            raise Forbidden(f"Maximum number of metadata items exceeds {limit}")
    inst.metadata_ = new
    inst.updated_at = utcnow()
    return new
