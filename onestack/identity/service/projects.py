"""Projects and domains (domains are project rows with ``is_domain``), hierarchy and tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.ids import new_id, utcnow
from onestack.identity.models import ROOT_DOMAIN, Project, ProjectTag
from onestack.identity.service import revocations

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


def domain_to_dict(d: Project, tags: list[str] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = dict(d.extra or {})
    doc.update(id=d.id, name=d.name, description=d.description or "", enabled=d.enabled, tags=tags or [],
               options=dict(d.options or {}))
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
        if data.get("enabled", True) and not all(p.enabled for p in [parent, *ancestors(s, parent)]):
            raise Forbidden(f"Cannot enable project {data['name']} since it has disabled parents.")
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


# --- listing, hierarchy views, updates and deletion ------------------------------------------

MAX_TAGS = 80


def get_any(s: Session, project_id: str) -> Project:
    """A project or a project acting as a domain: the projects API serves both."""
    row = s.get(Project, project_id)
    if row is None:
        raise NotFound(f"Could not find project: {project_id}.")
    return row


def check_tags(tags: list[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"A project may carry at most {MAX_TAGS} tags.")
    if len(set(tags)) != len(tags):
        raise BadRequest("Project tags must be unique.")
    return tags


def project_view(s: Session, p: Project) -> dict[str, Any]:
    return project_to_dict(p, tags_of(s, p.id))


def lineage(s: Session, project: Project) -> list[Project]:
    """Parents from the nearest up to and including the domain (Keystone shows it too)."""
    out: list[Project] = []
    current = project
    while current.parent_id:
        parent = s.get(Project, current.parent_id)
        if parent is None:
            break
        out.append(parent)
        current = parent
    return out


def parents_as_ids(s: Session, project: Project) -> dict[str, Any] | None:
    nested: dict[str, Any] | None = None
    for parent in reversed(lineage(s, project)):
        nested = {parent.id: nested}
    return nested


def subtree_as_ids(s: Session, project_id: str) -> dict[str, Any] | None:
    kids = children(s, project_id)
    if not kids:
        return None
    return {k.id: subtree_as_ids(s, k.id) for k in kids}


def filter_flag(value: str) -> bool:
    """A boolean list filter (``?enabled=…``): anything but a spelling of false, or empty, is true."""
    return value.strip().lower() not in ("0", "false", "no", "off", "")


def _tag_filters(rows: list[Project], tags_by_id: dict[str, set[str]], query: dict[str, str]) -> list[Project]:
    def names(key: str) -> set[str] | None:
        raw = query.get(key)
        return {t for t in raw.split(",") if t} if raw is not None else None

    all_of, any_of, not_all, not_any = names("tags"), names("tags-any"), names("not-tags"), names("not-tags-any")
    out = []
    for row in rows:
        have = tags_by_id.get(row.id, set())
        if all_of is not None and not all_of <= have:
            continue
        if any_of is not None and not any_of & have:
            continue
        if not_all is not None and not_all and not_all <= have:
            continue
        if not_any is not None and not_any & have:
            continue
        out.append(row)
    return out


def list_projects(s: Session, query: dict[str, str]) -> list[dict[str, Any]]:
    """Projects matching Keystone's list filters; domains only when ``is_domain`` asks for them."""
    stmt = select(Project)
    if "is_domain" in query:
        stmt = stmt.where(Project.is_domain.is_(filter_flag(query["is_domain"])))
    else:
        stmt = stmt.where(Project.is_domain.is_(False))
    if "name" in query:
        stmt = stmt.where(Project.name == query["name"])
    if "domain_id" in query:
        stmt = stmt.where(Project.domain_id == query["domain_id"], Project.is_domain.is_(False))
    if "enabled" in query:
        stmt = stmt.where(Project.enabled.is_(filter_flag(query["enabled"])))
    if "parent_id" in query:
        stmt = stmt.where(Project.parent_id == query["parent_id"])
    rows = list(s.scalars(stmt.order_by(Project.name, Project.id)))
    tags_by_id: dict[str, set[str]] = {}
    if rows:
        for pid, tag in s.execute(select(ProjectTag.project_id, ProjectTag.name)):
            tags_by_id.setdefault(pid, set()).add(tag)
    rows = _tag_filters(rows, tags_by_id, query)
    return [project_to_dict(p, sorted(tags_by_id.get(p.id, set()))) for p in rows]


def _check_enable_change(s: Session, project: Project, enabled: bool) -> None:
    if project.is_domain or enabled == project.enabled:
        return
    if enabled:
        parent = s.get(Project, project.parent_id) if project.parent_id else None
        if parent is not None and not parent.is_domain and not parent.enabled:
            raise Forbidden(f"Cannot enable project {project.id} since its parent {parent.id} is disabled.")
    elif any(p.enabled for p in subtree(s, project.id)):
        raise Forbidden(f"Cannot disable project {project.id} since its subtree contains enabled projects.")


def _check_immutable(project: Project, data: dict[str, Any]) -> None:
    if not (project.options or {}).get("immutable"):
        return
    opts = data.get("options")
    unlocking = isinstance(opts, dict) and opts.get("immutable") in (False, None) and "immutable" in opts
    if not unlocking or set(data) - {"options"}:
        raise Forbidden(f"Project {project.id} is immutable; unset its 'immutable' option first.")


def update_project(s: Session, project_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Apply a PATCH; returns the new view and whether the project was just disabled."""
    project = get_any(s, project_id)
    _check_immutable(project, data)
    if "domain_id" in data and data["domain_id"] != (None if project.is_domain else project.domain_id):
        raise BadRequest("Update of domain_id is not allowed.")
    if "parent_id" in data and data["parent_id"] != project.parent_id:
        raise Forbidden("Update of parent_id is not allowed.")
    if "is_domain" in data and data["is_domain"] != project.is_domain:
        raise BadRequest("Update of is_domain is not allowed.")
    if "id" in data and data["id"] != project.id:
        raise BadRequest("Update of id is not allowed.")
    if "name" in data and data["name"] != project.name:
        clash = s.scalar(select(Project.id).where(Project.domain_id == project.domain_id, Project.name == data["name"]))
        if clash:
            kind = "domain" if project.is_domain else "project"
            raise Conflict(f"Conflict occurred attempting to store {kind} - it is not permitted to have two "
                           f"{kind}s with the same name in the same domain : {data['name']}.")
        project.name = data["name"]
    disabled = False
    if "enabled" in data:
        _check_enable_change(s, project, bool(data["enabled"]))
        disabled = project.enabled and not data["enabled"]
        project.enabled = bool(data["enabled"])
    if "description" in data:
        project.description = data["description"] or ""
    if "tags" in data:
        set_tags(s, project.id, check_tags(list(data["tags"] or [])))
    if "options" in data:
        merged = dict(project.options or {})
        for key, value in (data["options"] or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        project.options = merged
    known = {"id", "name", "domain_id", "parent_id", "description", "enabled", "is_domain", "tags", "options", "links"}
    extra = dict(project.extra or {})
    extra.update({k: v for k, v in data.items() if k not in known})
    project.extra = extra
    s.flush()
    return project_view(s, project), disabled


def purge_projects(s: Session, ids: list[str]) -> None:
    """Remove project rows and everything attached to them (grants, tags, endpoint filters, limits)."""
    from onestack.identity.models import (
        ApplicationCredential,
        Assignment,
        Limit,
        ProjectEndpoint,
        ProjectEndpointGroup,
        Trust,
    )

    if not ids:
        return
    # Trusts are soft-deleted (their ids stay known); their tokens die with the project.
    s.execute(
        update(Trust).where(Trust.project_id.in_(ids), Trust.deleted_at.is_(None)).values(deleted_at=utcnow())
    )
    s.execute(delete(Assignment).where(Assignment.target_id.in_(ids)))
    s.execute(delete(ProjectTag).where(ProjectTag.project_id.in_(ids)))
    s.execute(delete(ProjectEndpoint).where(ProjectEndpoint.project_id.in_(ids)))
    s.execute(delete(ProjectEndpointGroup).where(ProjectEndpointGroup.project_id.in_(ids)))
    s.execute(delete(Limit).where(Limit.project_id.in_(ids)))
    s.execute(delete(ApplicationCredential).where(ApplicationCredential.project_id.in_(ids)))
    s.execute(delete(Project).where(Project.id.in_(ids)))


def delete_project(s: Session, project_id: str) -> None:
    project = get_project(s, project_id)
    if (project.options or {}).get("immutable"):
        raise Forbidden(f"Project {project.id} is immutable; unset its 'immutable' option first.")
    if children(s, project.id):
        raise Forbidden(f"Cannot delete the project {project.id} since it is not a leaf in the hierarchy. "
                        "Use the cascade option if you want to delete a whole subtree.")
    purge_projects(s, [project.id])


def add_tag(s: Session, project_id: str, tag: str) -> None:
    get_any(s, project_id)
    have = tags_of(s, project_id)
    if tag in have:
        return
    check_tags([*have, tag])
    s.add(ProjectTag(project_id=project_id, name=tag))


def remove_tag(s: Session, project_id: str, tag: str) -> None:
    get_any(s, project_id)
    if s.get(ProjectTag, {"project_id": project_id, "name": tag}) is None:
        raise NotFound(f"Tag {tag} was not found on project {project_id}.")
    s.execute(delete(ProjectTag).where(ProjectTag.project_id == project_id, ProjectTag.name == tag))


# --- what the projects API asks for, one transaction each ------------------------------------


def policy_target(s: Session, project_id: str) -> dict[str, Any]:
    """What a project policy rule sees of the project (404 if there is none)."""
    row = get_any(s, project_id)
    return {"id": row.id, "domain_id": None if row.is_domain else row.domain_id}


def domain_of(s: Session, project_id: str) -> str | None:
    """The project's domain, or None for an unknown project (listing filters do not 404)."""
    row = s.get(Project, project_id)
    return row.domain_id if row is not None else None


def create(s: Session, data: dict[str, Any], default_domain: str) -> dict[str, Any]:
    """``POST /v3/projects``: a project, or a domain when ``is_domain`` is set."""
    if data.get("is_domain"):
        if data.get("domain_id") or data.get("parent_id"):
            raise BadRequest("A project acting as a domain cannot have a domain_id or a parent_id.")
        row = create_domain(s, data)
        if data.get("tags"):
            set_tags(s, row.id, list(data["tags"]))
    else:
        row = create_project(s, data, default_domain=default_domain)
    s.flush()
    return project_view(s, row)


def with_hierarchy(s: Session, project_id: str, flags: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The project's view and, as ``flags`` ask, its ``parents``/``subtree`` as nested ids or views."""
    row = get_any(s, project_id)
    extra: dict[str, Any] = {}
    if "parents_as_ids" in flags:
        extra["parents"] = parents_as_ids(s, row)
    if "parents_as_list" in flags:
        extra["parents"] = [project_view(s, p) for p in lineage(s, row)]
    if "subtree_as_ids" in flags:
        extra["subtree"] = subtree_as_ids(s, row.id)
    if "subtree_as_list" in flags:
        extra["subtree"] = [project_view(s, p) for p in subtree(s, row.id)]
    return project_view(s, row), extra


def update_and_revoke(s: Session, project_id: str, data: dict[str, Any], token_lifetime: int) -> dict[str, Any]:
    """Apply a PATCH; disabling revokes the tokens scoped to it, so they stay dead if it is enabled again."""
    is_domain = get_any(s, project_id).is_domain
    doc, disabled = update_project(s, project_id, data)
    if disabled:
        key = "domain_id" if is_domain else "project_id"
        revocations.revoke(s, token_lifetime=token_lifetime, **{key: project_id})
    return doc


def list_tags(s: Session, project_id: str) -> list[str]:
    get_any(s, project_id)
    return tags_of(s, project_id)


def replace_tags(s: Session, project_id: str, tags: list[str]) -> list[str]:
    get_any(s, project_id)
    set_tags(s, project_id, check_tags(tags))
    s.flush()
    return tags_of(s, project_id)
