"""Server groups: affinity policies servers will be scheduled by (members join with servers)."""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.compute.models import ServerGroup
from onestack.compute.service import quotas
from onestack.core.api.faults import NotFound
from onestack.core.ids import new_id

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")

# What the API renders (detached rows, loaded in full: expire_on_commit is off).
ServerGroupRow: TypeAlias = ServerGroup


def _uuid() -> str:
    raw = new_id()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}"


def create_group(s: Session, *, name: str, policy: str, rules: dict[str, Any], project_id: str,
                 user_id: str) -> ServerGroup:
    used = s.scalar(select(func.count()).select_from(ServerGroup).where(ServerGroup.project_id == project_id)) or 0
    quotas.check_quota(s, project_id, "server_groups", 1, used, user_id)
    group = ServerGroup(uuid=_uuid(), name=name, policy=policy, rules=rules, project_id=project_id,
                        user_id=user_id)
    group.members = []
    s.add(group)
    s.flush()
    return group


def get_group(s: Session, uuid: str, project_id: str | None) -> ServerGroup:
    """A group by uuid; ``project_id`` None means any project (admins)."""
    query = select(ServerGroup).where(ServerGroup.uuid == uuid)
    if project_id is not None:
        query = query.where(ServerGroup.project_id == project_id)
    group = s.scalar(query)
    if group is None:
        raise NotFound(f"Instance group {uuid} could not be found.")
    return group


def list_groups(s: Session, project_id: str | None, offset: int = 0, limit: int | None = None) -> list[ServerGroup]:
    query = select(ServerGroup).order_by(ServerGroup.id.asc())
    if project_id is not None:
        query = query.where(ServerGroup.project_id == project_id)
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(s.scalars(query))


def delete_group(s: Session, uuid: str, project_id: str | None) -> None:
    s.delete(get_group(s, uuid, project_id))
