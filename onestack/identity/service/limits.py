"""Unified limits: registered (default) limits per service resource, and per-project/domain limits.

The enforcement model is "flat": a project's limit is checked against nothing but the
registered limit it overrides; the project hierarchy plays no part.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.ids import new_id
from onestack.identity.models import Limit, Project, Region, RegisteredLimit, Service

MODEL = {
    "name": "flat",
    "description": (
        "Limits are checked one project at a time: a project limit overrides the registered "
        "default for that resource and the project hierarchy is not taken into account."
    ),
}


def _eq(column: Any, value: Any) -> ColumnElement[bool]:
    """``column = value``, where None must match NULL (SQL's ``=`` never does)."""
    cond: ColumnElement[bool] = column.is_(None) if value is None else column == value
    return cond


def _check_refs(s: Session, data: dict[str, Any], what: str) -> None:
    """Every id a limit names must exist; Keystone answers a dangling one with 400."""
    if "service_id" in data and s.get(Service, data["service_id"]) is None:
        raise BadRequest(f"Invalid service_id for {what}: service {data['service_id']} does not exist.")
    if data.get("region_id") is not None and s.get(Region, data["region_id"]) is None:
        raise BadRequest(f"Invalid region_id for {what}: region {data['region_id']} does not exist.")


# --- registered limits -----------------------------------------------------------------------


def registered_to_dict(r: RegisteredLimit) -> dict[str, Any]:
    return {"id": r.id, "service_id": r.service_id, "region_id": r.region_id, "resource_name": r.resource_name,
            "default_limit": r.default_limit, "description": r.description}


def _registered_query(service_id: str, region_id: str | None, resource_name: str) -> Any:
    return select(RegisteredLimit).where(
        RegisteredLimit.service_id == service_id,
        _eq(RegisteredLimit.region_id, region_id),
        RegisteredLimit.resource_name == resource_name,
    )


def _limits_using(s: Session, r: RegisteredLimit) -> bool:
    query = select(Limit.id).where(
        Limit.service_id == r.service_id, _eq(Limit.region_id, r.region_id), Limit.resource_name == r.resource_name
    )
    return s.scalar(query.limit(1)) is not None


def create_registered_limits(s: Session, items: list[dict[str, Any]]) -> list[RegisteredLimit]:
    rows = []
    for item in items:
        _check_refs(s, item, "registered limit")
        key = (item["service_id"], item.get("region_id"), item["resource_name"])
        if s.scalar(_registered_query(*key)) is not None:
            raise Conflict(f"Duplicate entry: a registered limit for resource {key[2]} of service {key[0]} "
                           f"in region {key[1]} already exists.")
        row = RegisteredLimit(id=new_id(), service_id=key[0], region_id=key[1], resource_name=key[2],
                              default_limit=item["default_limit"], description=item.get("description"))
        s.add(row)
        s.flush()  # so a duplicate later in the same request is seen
        rows.append(row)
    return rows


def get_registered_limit(s: Session, limit_id: str) -> RegisteredLimit:
    row = s.get(RegisteredLimit, limit_id)
    if row is None:
        raise NotFound(f"Could not find registered limit for {limit_id}.")
    return row


def list_registered_limits(s: Session, filters: dict[str, str]) -> list[RegisteredLimit]:
    query = select(RegisteredLimit).order_by(RegisteredLimit.id)
    for key in ("service_id", "region_id", "resource_name"):
        if key in filters:
            query = query.where(getattr(RegisteredLimit, key) == filters[key])
    return list(s.scalars(query))


def update_registered_limit(s: Session, limit_id: str, data: dict[str, Any]) -> RegisteredLimit:
    row = get_registered_limit(s, limit_id)
    _check_refs(s, data, "registered limit")
    key_fields = ("service_id", "region_id", "resource_name")
    new_key = tuple(data.get(f, getattr(row, f)) for f in key_fields)
    if new_key != tuple(getattr(row, f) for f in key_fields):
        if _limits_using(s, row):
            raise Forbidden("Unable to update or delete registered limit because there are project limits "
                            "associated with it.")
        other = s.scalar(_registered_query(*new_key))
        if other is not None and other.id != row.id:
            raise Conflict(f"Duplicate entry: a registered limit for resource {new_key[2]} already exists.")
    for f in (*key_fields, "default_limit", "description"):
        if f in data:
            setattr(row, f, data[f])
    s.flush()
    return row


def delete_registered_limit(s: Session, limit_id: str) -> None:
    row = get_registered_limit(s, limit_id)
    if _limits_using(s, row):
        raise Forbidden("Unable to update or delete registered limit because there are project limits "
                        "associated with it.")
    s.delete(row)


# --- project and domain limits ---------------------------------------------------------------


def limit_to_dict(lim: Limit) -> dict[str, Any]:
    return {"id": lim.id, "project_id": lim.project_id, "domain_id": lim.domain_id, "service_id": lim.service_id,
            "region_id": lim.region_id, "resource_name": lim.resource_name,
            "resource_limit": lim.resource_limit, "description": lim.description}


def _check_owner(s: Session, item: dict[str, Any]) -> None:
    project_id, domain_id = item.get("project_id"), item.get("domain_id")
    if (project_id is None) == (domain_id is None):
        raise BadRequest("A limit must name exactly one of project_id and domain_id.")
    row = s.get(Project, project_id or domain_id)
    if project_id is not None and (row is None or row.is_domain):
        raise BadRequest(f"Invalid project_id for limit: project {project_id} does not exist.")
    if domain_id is not None and (row is None or not row.is_domain):
        raise BadRequest(f"Invalid domain_id for limit: domain {domain_id} does not exist.")


def create_limits(s: Session, items: list[dict[str, Any]]) -> list[Limit]:
    rows = []
    for item in items:
        _check_owner(s, item)
        _check_refs(s, item, "limit")
        region_id = item.get("region_id")
        if s.scalar(_registered_query(item["service_id"], region_id, item["resource_name"])) is None:
            raise Forbidden("Unable to create a limit that has no corresponding registered limit.")
        dup = select(Limit.id).where(
            _eq(Limit.project_id, item.get("project_id")), _eq(Limit.domain_id, item.get("domain_id")),
            Limit.service_id == item["service_id"], _eq(Limit.region_id, region_id),
            Limit.resource_name == item["resource_name"],
        )
        if s.scalar(dup.limit(1)) is not None:
            raise Conflict(f"Duplicate entry: a limit for resource {item['resource_name']} already exists "
                           f"for this project or domain.")
        row = Limit(id=new_id(), project_id=item.get("project_id"), domain_id=item.get("domain_id"),
                    service_id=item["service_id"], region_id=region_id, resource_name=item["resource_name"],
                    resource_limit=item["resource_limit"], description=item.get("description"))
        s.add(row)
        s.flush()
        rows.append(row)
    return rows


def get_limit(s: Session, limit_id: str) -> Limit:
    row = s.get(Limit, limit_id)
    if row is None:
        raise NotFound(f"Could not find limit for {limit_id}.")
    return row


def limit_target(s: Session, limit_id: str) -> dict[str, Any]:
    """The policy target of one limit: the limit plus its project's domain."""
    row = get_limit(s, limit_id)
    doc = limit_to_dict(row)
    project = s.get(Project, row.project_id) if row.project_id else None
    doc["project"] = {"domain_id": project.domain_id if project else None}
    return doc


def list_limits(s: Session, filters: dict[str, str], project_id: str | None = None,
                domain_id: str | None = None, everything: bool = False) -> list[Limit]:
    """Filtered limits the caller may see: all (system scope), a domain's, or a project's."""
    query = select(Limit).order_by(Limit.id)
    for key in ("service_id", "region_id", "resource_name", "project_id", "domain_id"):
        if key in filters:
            query = query.where(getattr(Limit, key) == filters[key])
    if everything:
        return list(s.scalars(query))
    if domain_id is not None:
        in_domain = select(Project.id).where(Project.domain_id == domain_id)
        query = query.where((Limit.domain_id == domain_id) | Limit.project_id.in_(in_domain))
    elif project_id is not None:
        query = query.where(Limit.project_id == project_id)
    else:
        return []
    return list(s.scalars(query))


def update_limit(s: Session, limit_id: str, data: dict[str, Any]) -> Limit:
    row = get_limit(s, limit_id)
    for f in ("resource_limit", "description"):
        if f in data:
            setattr(row, f, data[f])
    s.flush()
    return row


def delete_limit(s: Session, limit_id: str) -> None:
    s.delete(get_limit(s, limit_id))
