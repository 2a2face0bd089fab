"""OS-EP-FILTER: which endpoints a project's catalog shows, one by one or through endpoint groups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.ids import new_id
from onestack.identity.models import (
    Endpoint,
    EndpointGroup,
    Project,
    ProjectEndpoint,
    ProjectEndpointGroup,
)
from onestack.identity.service.catalog import endpoints_matching, get_endpoint
from onestack.identity.service.projects import get_project

FILTER_KEYS = ("service_id", "region_id", "interface")
INTERFACES = ("public", "internal", "admin")


def check_filters(filters: dict[str, Any]) -> None:
    """Only the three endpoint attributes Keystone filters on are allowed (400 otherwise)."""
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise BadRequest(f"Invalid input for field 'filters': unsupported filter(s) {', '.join(unknown)}; "
                         f"allowed are {', '.join(FILTER_KEYS)}.")
    for key, value in filters.items():
        if not isinstance(value, str) or not value:
            raise BadRequest(f"Invalid input for field 'filters.{key}': a non-empty string is required.")
    if "interface" in filters and filters["interface"] not in INTERFACES:
        raise BadRequest(f"Invalid input for field 'filters.interface': {filters['interface']!r} is not one of "
                         f"{list(INTERFACES)}.")


# --- project <-> endpoint --------------------------------------------------------------------


def add_endpoint_to_project(s: Session, project_id: str, endpoint_id: str) -> None:
    get_project(s, project_id)
    get_endpoint(s, endpoint_id)
    if s.get(ProjectEndpoint, (endpoint_id, project_id)) is None:
        s.add(ProjectEndpoint(endpoint_id=endpoint_id, project_id=project_id))


def check_endpoint_in_project(s: Session, project_id: str, endpoint_id: str) -> None:
    get_project(s, project_id)
    get_endpoint(s, endpoint_id)
    if s.get(ProjectEndpoint, (endpoint_id, project_id)) is None:
        raise NotFound(f"Endpoint {endpoint_id} not found in project {project_id}.")


def remove_endpoint_from_project(s: Session, project_id: str, endpoint_id: str) -> None:
    row = s.get(ProjectEndpoint, (endpoint_id, project_id))
    if row is None:
        raise NotFound(f"Endpoint {endpoint_id} not found in project {project_id}.")
    s.delete(row)


def endpoints_for_project(s: Session, project_id: str) -> list[Endpoint]:
    """Endpoints associated directly plus those matched by the project's endpoint groups."""
    get_project(s, project_id)
    ids = set(s.scalars(select(ProjectEndpoint.endpoint_id).where(ProjectEndpoint.project_id == project_id)))
    for group in groups_for_project(s, project_id):
        ids |= {e.id for e in endpoints_matching(s, group.filters or {})}
    if not ids:
        return []
    return list(s.scalars(select(Endpoint).where(Endpoint.id.in_(ids)).order_by(Endpoint.id)))


def projects_for_endpoint(s: Session, endpoint_id: str) -> list[Project]:
    get_endpoint(s, endpoint_id)
    ids = select(ProjectEndpoint.project_id).where(ProjectEndpoint.endpoint_id == endpoint_id)
    return list(s.scalars(select(Project).where(Project.id.in_(ids)).order_by(Project.id)))


# --- endpoint groups -------------------------------------------------------------------------


def group_to_dict(g: EndpointGroup) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "description": g.description, "filters": dict(g.filters or {})}


def get_group(s: Session, group_id: str) -> EndpointGroup:
    row = s.get(EndpointGroup, group_id)
    if row is None:
        raise NotFound(f"Could not find endpoint group: {group_id}.")
    return row


def list_groups(s: Session, name: str | None = None) -> list[EndpointGroup]:
    query = select(EndpointGroup).order_by(EndpointGroup.id)
    if name is not None:
        query = query.where(EndpointGroup.name == name)
    return list(s.scalars(query))


def create_group(s: Session, data: dict[str, Any]) -> EndpointGroup:
    check_filters(data["filters"])
    row = EndpointGroup(id=new_id(), name=data["name"], description=data.get("description"),
                        filters=dict(data["filters"]))
    s.add(row)
    s.flush()
    return row


def update_group(s: Session, group_id: str, data: dict[str, Any]) -> EndpointGroup:
    row = get_group(s, group_id)
    if "filters" in data:
        check_filters(data["filters"])
        row.filters = dict(data["filters"])
    if "name" in data:
        row.name = data["name"]
    if "description" in data:
        row.description = data["description"]
    s.flush()
    return row


def delete_group(s: Session, group_id: str) -> None:
    get_group(s, group_id)
    s.execute(delete(ProjectEndpointGroup).where(ProjectEndpointGroup.endpoint_group_id == group_id))
    s.execute(delete(EndpointGroup).where(EndpointGroup.id == group_id))


def endpoints_in_group(s: Session, group_id: str) -> list[Endpoint]:
    return endpoints_matching(s, get_group(s, group_id).filters or {})


def projects_in_group(s: Session, group_id: str) -> list[Project]:
    get_group(s, group_id)
    ids = select(ProjectEndpointGroup.project_id).where(ProjectEndpointGroup.endpoint_group_id == group_id)
    return list(s.scalars(select(Project).where(Project.id.in_(ids)).order_by(Project.id)))


def add_group_to_project(s: Session, group_id: str, project_id: str) -> None:
    get_group(s, group_id)
    get_project(s, project_id)
    if s.get(ProjectEndpointGroup, (group_id, project_id)) is None:
        s.add(ProjectEndpointGroup(endpoint_group_id=group_id, project_id=project_id))


def get_group_in_project(s: Session, group_id: str, project_id: str) -> ProjectEndpointGroup:
    get_group(s, group_id)
    get_project(s, project_id)
    row = s.get(ProjectEndpointGroup, (group_id, project_id))
    if row is None:
        raise NotFound(f"Could not find endpoint group {group_id} in project {project_id}.")
    return row


def remove_group_from_project(s: Session, group_id: str, project_id: str) -> None:
    row = get_group_in_project(s, group_id, project_id)
    s.delete(row)


def groups_for_project(s: Session, project_id: str) -> list[EndpointGroup]:
    get_project(s, project_id)
    return list(
        s.scalars(
            select(EndpointGroup)
            .join(ProjectEndpointGroup, ProjectEndpointGroup.endpoint_group_id == EndpointGroup.id)
            .where(ProjectEndpointGroup.project_id == project_id)
            .order_by(EndpointGroup.id)
        )
    )
