"""Domains: project rows with ``is_domain`` whose parent is the root; deleting one empties it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden
from onestack.identity.models import (
    ROOT_DOMAIN,
    Assignment,
    DomainConfig,
    Group,
    ImpliedRole,
    Limit,
    Project,
    ProjectTag,
    Role,
    User,
)
from onestack.identity.service import federation, groups, projects, revocations, users


def domain_view(s: Session, d: Project) -> dict[str, Any]:
    return projects.domain_to_dict(d, projects.tags_of(s, d.id))


def show(s: Session, domain_id: str) -> dict[str, Any]:
    return domain_view(s, projects.get_domain(s, domain_id))


def create(s: Session, data: dict[str, Any]) -> dict[str, Any]:
    explicit = data.get("explicit_domain_id")
    if explicit and s.get(Project, explicit) is not None:
        raise Conflict(f"Conflict occurred attempting to store domain - Duplicate ID, {explicit}.")
    domain = projects.create_domain(s, data)
    if data.get("tags"):
        projects.set_tags(s, domain.id, projects.check_tags(list(data["tags"])))
    s.flush()
    return domain_view(s, domain)


def list_domains(s: Session, query: dict[str, str]) -> list[dict[str, Any]]:
    stmt = select(Project).where(Project.is_domain.is_(True), Project.domain_id == ROOT_DOMAIN)
    if "name" in query:
        stmt = stmt.where(Project.name == query["name"])
    if "enabled" in query:
        stmt = stmt.where(Project.enabled.is_(projects.filter_flag(query["enabled"])))
    return [domain_view(s, d) for d in s.scalars(stmt.order_by(Project.name))]


def update(s: Session, domain_id: str, data: dict[str, Any], token_lifetime: int) -> dict[str, Any]:
    """Apply a PATCH; tokens scoped to a domain being disabled die now and stay dead if it is enabled again."""
    domain = projects.get_domain(s, domain_id)
    if "id" in data and data["id"] != domain.id:
        raise BadRequest("Update of id is not allowed.")
    if "name" in data and data["name"] != domain.name:
        clash = s.scalar(select(Project.id).where(Project.domain_id == ROOT_DOMAIN, Project.name == data["name"]))
        if clash:
            raise Conflict(f"Conflict occurred attempting to store domain - Duplicate entry found with name "
                           f"{data['name']}.")
    _, disabled = projects.update_project(s, domain.id, data)
    if disabled:
        revocations.revoke(s, token_lifetime=token_lifetime, domain_id=domain_id)
    return domain_view(s, domain)


def delete_domain(s: Session, domain_id: str, token_lifetime: int) -> None:
    """Delete a disabled domain with all its projects, users, groups, roles and grants, and its tokens."""
    domain = projects.get_domain(s, domain_id)
    if domain.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    project_ids = list(s.scalars(select(Project.id).where(Project.domain_id == domain.id,
                                                         Project.is_domain.is_(False))))
    projects.purge_projects(s, project_ids)
    users.delete_users(s, list(s.scalars(select(User.id).where(User.domain_id == domain.id))))
    groups.delete_groups(s, list(s.scalars(select(Group.id).where(Group.domain_id == domain.id))))
    role_ids = list(s.scalars(select(Role.id).where(Role.domain_id == domain.id)))
    if role_ids:
        s.execute(delete(Assignment).where(Assignment.role_id.in_(role_ids)))
        s.execute(delete(ImpliedRole).where(or_(ImpliedRole.prior_role_id.in_(role_ids),
                                                ImpliedRole.implied_role_id.in_(role_ids))))
        s.execute(delete(Role).where(Role.id.in_(role_ids)))
    federation.delete_idps_of_domain(s, domain.id)
    s.execute(delete(DomainConfig).where(DomainConfig.domain_id == domain.id))
    s.execute(delete(Limit).where(Limit.domain_id == domain.id))
    s.execute(delete(ProjectTag).where(ProjectTag.project_id == domain.id))
    projects.purge_projects(s, [domain.id])
    revocations.revoke(s, token_lifetime=token_lifetime, domain_id=domain_id)


def delete_any(s: Session, project_id: str, token_lifetime: int) -> None:
    """``DELETE /v3/projects/{id}``: a project, or a project acting as a domain; their tokens die with it."""
    if projects.get_any(s, project_id).is_domain:
        delete_domain(s, project_id, token_lifetime)
    else:
        projects.delete_project(s, project_id)
        revocations.revoke(s, token_lifetime=token_lifetime, project_id=project_id)
