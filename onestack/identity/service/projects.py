"""Projects and domains (domains are project rows with ``is_domain``), hierarchy and tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.ids import new_id
from onestack.identity.models import ROOT_DOMAIN, Project, ProjectTag

MAX_DEPTH = 5


def get_project(s: Session, project_id: str) -> Project:
    row = s.get(Project, project_id)
    if row is None or row.is_domain:
        raise NotFound(f"Could not find project: {project_id}.")
    return row


def get_domain(s: Session, domain_id: str) -> Project:
    row = s.get(Project, domain_id)
    if row is None or not row.is_domain:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return row


def find_domain_by_name(s: Session, name: str) -> Project:
    row = s.scalar(select(Project).where(Project.domain_id == ROOT_DOMAIN, Project.name == name))
    if row is None:
        raise NotFound(f"Could not find domain: {name}.")
    return row


def find_project_by_name(s: Session, name: str, domain_id: str) -> Project:
    row = s.scalar(
        select(Project).where(Project.domain_id == domain_id, Project.name == name, Project.is_domain.is_(False))
    )
    if row is None:
        raise NotFound(f"Could not find project: {name}.")
    return row


def resolve_domain(s: Session, ref: dict[str, Any]) -> Project:
    """A domain named in a request by ``{"id": ...}`` or ``{"name": ...}``."""
    if ref.get("id"):
        return get_domain(s, str(ref["id"]))
    if ref.get("name"):
        return find_domain_by_name(s, str(ref["name"]))
    raise BadRequest("A domain must be given by id or name.")


def tags_of(s: Session, project_id: str) -> list[str]:
    return list(s.scalars(select(ProjectTag.name).where(ProjectTag.project_id == project_id).order_by(ProjectTag.name)))


def project_to_dict(p: Project, tags: list[str] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = dict(p.extra or {})
    doc.update(
        id=p.id,
        name=p.name,
        domain_id=None if p.is_domain else p.domain_id,
        description=p.description or "",
        enabled=p.enabled,
        parent_id=p.parent_id,
        is_domain=p.is_domain,
        tags=tags if tags is not None else [],
        options=dict(p.options or {}),
    )
    return doc


def domain_to_dict(d: Project) -> dict[str, Any]:
    doc: dict[str, Any] = dict(d.extra or {})
    doc.update(id=d.id, name=d.name, description=d.description or "", enabled=d.enabled, tags=[], options=dict(d.options or {}))
    return doc


def ancestors(s: Session, project: Project) -> list[Project]:
    """Parents from the nearest up to the top-level project (domains excluded)."""
    out: list[Project] = []
    current = project
    while current.parent_id:
        parent = s.get(Project, current.parent_id)
        if parent is None or parent.is_domain:
            break
        out.append(parent)
        current = parent
    return out


def children(s: Session, project_id: str) -> list[Project]:
    return list(s.scalars(select(Project).where(Project.parent_id == project_id, Project.is_domain.is_(False))))


def subtree(s: Session, project_id: str) -> list[Project]:
    """Every project below ``project_id`` (breadth first, excluding itself)."""
    out: list[Project] = []
    frontier = [project_id]
    while frontier:
        rows = list(s.scalars(select(Project).where(Project.parent_id.in_(frontier), Project.is_domain.is_(False))))
        out.extend(rows)
        frontier = [r.id for r in rows]
    return out


def create_project(s: Session, data: dict[str, Any], *, default_domain: str = "default") -> Project:
    if data.get("is_domain"):
        return create_domain(s, data)
    parent: Project | None = None
    if data.get("parent_id"):
        parent = s.get(Project, data["parent_id"])
        if parent is None:
            raise NotFound(f"Could not find project: {data['parent_id']}.")
    if parent is not None and parent.is_domain:
        domain_id = parent.id
        if data.get("domain_id") and data["domain_id"] != domain_id:
            raise BadRequest("The project's domain must be the parent domain.")
    elif parent is not None:
        domain_id = parent.domain_id
        if data.get("domain_id") and data["domain_id"] != domain_id:
            raise BadRequest("Cannot create a project in a different domain than its parent.")
        if len(ancestors(s, parent)) + 2 > MAX_DEPTH:
            raise Forbidden(f"Max hierarchy depth reached for {parent.id} branch.")
    else:
        domain_id = data.get("domain_id") or default_domain
    domain = get_domain(s, domain_id)
    if s.scalar(select(Project.id).where(Project.domain_id == domain.id, Project.name == data["name"])):
        raise Conflict(f"Conflict occurred attempting to store project - it is not permitted to have two projects "
                       f"with the same name in the same domain : {data['name']}.")
    known = {"id", "name", "domain_id", "parent_id", "description", "enabled", "is_domain", "tags", "options", "links"}
    project = Project(
        id=new_id(),
        name=data["name"],
        domain_id=domain.id,
        parent_id=parent.id if parent else domain.id,
        description=data.get("description") or "",
        enabled=data.get("enabled", True),
        is_domain=False,
        extra={k: v for k, v in data.items() if k not in known},
        options=data.get("options") or {},
    )
    s.add(project)
    s.flush()
    for tag in data.get("tags") or []:
        s.add(ProjectTag(project_id=project.id, name=tag))
    return project


def create_domain(s: Session, data: dict[str, Any], domain_id: str | None = None) -> Project:
    if s.scalar(select(Project.id).where(Project.domain_id == ROOT_DOMAIN, Project.name == data["name"])):
        raise Conflict(f"Conflict occurred attempting to store domain - Duplicate entry found with name {data['name']}.")
    known = {"id", "name", "description", "enabled", "is_domain", "tags", "options", "links", "domain_id", "parent_id"}
    domain = Project(
        id=domain_id or data.get("explicit_domain_id") or new_id(),
        name=data["name"],
        domain_id=ROOT_DOMAIN,
        parent_id=None,
        description=data.get("description") or "",
        enabled=data.get("enabled", True),
        is_domain=True,
        extra={k: v for k, v in data.items() if k not in known and k != "explicit_domain_id"},
        options=data.get("options") or {},
    )
    s.add(domain)
    s.flush()
    return domain


def set_tags(s: Session, project_id: str, tags: list[str]) -> None:
    s.execute(delete(ProjectTag).where(ProjectTag.project_id == project_id))
    for tag in dict.fromkeys(tags):
        s.add(ProjectTag(project_id=project_id, name=tag))
