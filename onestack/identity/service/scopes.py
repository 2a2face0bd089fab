"""What a user may scope a token to: ``/v3/auth/projects``, ``/v3/auth/domains``, ``/v3/auth/system``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.identity.models import Assignment, Project
from onestack.identity.service import assignments, projects


def _targets(s: Session, user_id: str, kinds: tuple[str, str]) -> set[str]:
    actors = [user_id, *assignments.group_ids_of(s, user_id)]
    rows = s.scalars(select(Assignment.target_id).where(Assignment.actor_id.in_(actors), Assignment.type.in_(kinds)))
    return set(rows)


def auth_projects(s: Session, user_id: str) -> list[dict[str, Any]]:
    """Enabled projects the user holds a role on, directly, through a group or inherited."""
    ids = _targets(s, user_id, (assignments.USER_PROJECT, assignments.GROUP_PROJECT))
    # Inherited grants on a domain reach every project in it; on a project, its subtree.
    for row in s.scalars(
        select(Assignment).where(Assignment.actor_id.in_([user_id, *assignments.group_ids_of(s, user_id)]),
                                 Assignment.inherited.is_(True))
    ):
        if row.type in (assignments.USER_DOMAIN, assignments.GROUP_DOMAIN):
            ids |= set(s.scalars(select(Project.id).where(Project.domain_id == row.target_id)))
        else:
            ids |= {p.id for p in projects.subtree(s, row.target_id)}
    rows = s.scalars(select(Project).where(Project.id.in_(ids), Project.enabled.is_(True), Project.is_domain.is_(False)))
    return [projects.project_to_dict(p, projects.tags_of(s, p.id)) for p in rows]


def auth_domains(s: Session, user_id: str) -> list[dict[str, Any]]:
    """Enabled domains the user holds a role on, directly or through a group."""
    ids = _targets(s, user_id, (assignments.USER_DOMAIN, assignments.GROUP_DOMAIN))
    rows = s.scalars(select(Project).where(Project.id.in_(ids), Project.enabled.is_(True), Project.is_domain.is_(True)))
    return [projects.domain_to_dict(d) for d in rows]


def has_system_role(s: Session, user_id: str) -> bool:
    return bool(assignments.direct_role_ids(s, user_id, system=True))
