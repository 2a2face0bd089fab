"""Regions, services and endpoints, and the service catalog they add up to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.ids import new_id
from onestack.identity.models import (
    Endpoint,
    EndpointGroup,
    PolicyAssociation,
    ProjectEndpoint,
    ProjectEndpointGroup,
    Region,
    Service,
)

# Columns of each table; everything else a client sends is kept in ``extra``, as Keystone does.
_REGION_COLUMNS = {"id", "description", "parent_region_id"}
_SERVICE_COLUMNS = {"id", "type", "enabled"}
_ENDPOINT_COLUMNS = {"id", "interface", "service_id", "region_id", "region", "url", "enabled"}


def _filtered_endpoint_ids(s: Session, project_id: str) -> set[str] | None:
    """Endpoints an OS-EP-FILTER association limits this project to; None when it has none."""
    direct = set(s.scalars(select(ProjectEndpoint.endpoint_id).where(ProjectEndpoint.project_id == project_id)))
    groups = list(
        s.scalars(
            select(EndpointGroup)
            .join(ProjectEndpointGroup, ProjectEndpointGroup.endpoint_group_id == EndpointGroup.id)
            .where(ProjectEndpointGroup.project_id == project_id)
        )
    )
    if not direct and not groups:
        return None
    for group in groups:
        direct |= {e.id for e in endpoints_matching(s, group.filters or {})}
    return direct


def endpoints_matching(s: Session, filters: dict[str, Any]) -> list[Endpoint]:
    """Endpoints whose service_id / region_id / interface equal the group's filters."""
    query = select(Endpoint)
    for key in ("service_id", "region_id", "interface"):
        if key in filters:
            query = query.where(getattr(Endpoint, key) == filters[key])
    return list(s.scalars(query.order_by(Endpoint.id)))


def _substitute(url: str, project_id: str | None, user_id: str | None) -> str | None:
    values = {"tenant_id": project_id, "project_id": project_id, "user_id": user_id}
    for key, value in values.items():
        for pattern in (f"$({key})s", f"%({key})s"):
            if pattern in url:
                if value is None:
                    return None  # Keystone drops endpoints it cannot fill in
                url = url.replace(pattern, value)
    return url


def build_catalog(s: Session, project_id: str | None = None, user_id: str | None = None) -> list[dict[str, Any]]:
    allowed = _filtered_endpoint_ids(s, project_id) if project_id else None
    services = {svc.id: svc for svc in s.scalars(select(Service).where(Service.enabled.is_(True)))}
    by_service: dict[str, list[dict[str, Any]]] = {sid: [] for sid in services}
    for ep in s.scalars(select(Endpoint).where(Endpoint.enabled.is_(True)).order_by(Endpoint.id)):
        if ep.service_id not in services or (allowed is not None and ep.id not in allowed):
            continue
        url = _substitute(ep.url, project_id, user_id)
        if url is None:
            continue
        by_service[ep.service_id].append(
            {"id": ep.id, "interface": ep.interface, "region": ep.region_id, "region_id": ep.region_id, "url": url}
        )
    catalog = []
    for sid, svc in services.items():
        endpoints = by_service[sid]
        if allowed is not None and not endpoints:
            continue
        catalog.append({"id": svc.id, "type": svc.type, "name": (svc.extra or {}).get("name", ""), "endpoints": endpoints})
    return catalog


def register_service(s: Session, service_type: str, name: str, url: str, region: str) -> Service:
    """Make sure the catalog lists ``url`` for the service on all three interfaces (idempotent)."""
    if s.get(Region, region) is None:
        s.add(Region(id=region, description="", extra={}))
        s.flush()
    svc = s.scalar(select(Service).where(Service.type == service_type))
    if svc is None:
        svc = Service(id=new_id(), type=service_type, enabled=True, extra={"name": name})
        s.add(svc)
        s.flush()
    existing = {ep.interface: ep for ep in s.scalars(select(Endpoint).where(Endpoint.service_id == svc.id))}
    for interface in ("public", "internal", "admin"):
        ep = existing.get(interface)
        if ep is None:
            s.add(Endpoint(id=new_id(), interface=interface, service_id=svc.id, region_id=region, url=url,
                           enabled=True, extra={}))
        elif ep.url != url:
            ep.url = url
    return svc


def _extra(data: dict[str, Any], columns: set[str], old: dict[str, Any] | None = None) -> dict[str, Any]:
    extra = dict(old or {})
    extra.update({k: v for k, v in data.items() if k not in columns})
    return extra


# --- regions ---------------------------------------------------------------------------------


def region_to_dict(r: Region) -> dict[str, Any]:
    doc: dict[str, Any] = dict(r.extra or {})
    doc.update(id=r.id, description=r.description or "", parent_region_id=r.parent_region_id)
    return doc


def get_region(s: Session, region_id: str) -> Region:
    row = s.get(Region, region_id)
    if row is None:
        raise NotFound(f"Could not find region: {region_id}.")
    return row


def list_regions(s: Session, parent_region_id: str | None = None) -> list[Region]:
    query = select(Region).order_by(Region.id)
    if parent_region_id is not None:
        query = query.where(Region.parent_region_id == parent_region_id)
    return list(s.scalars(query))


def _check_parent(s: Session, region_id: str, parent_id: str | None) -> None:
    """The parent must exist (404) and must not make the hierarchy a loop (400)."""
    if parent_id is None:
        return
    seen: set[str] = set()
    current: str | None = parent_id
    while current is not None and current not in seen:
        if current == region_id:
            raise BadRequest(
                f"Circular reference or a repeated entry found in region tree - {region_id}."
            )
        seen.add(current)
        row = s.get(Region, current)
        if row is None:
            raise NotFound(f"Could not find region: {current}.")
        current = row.parent_region_id


def create_region(s: Session, data: dict[str, Any]) -> Region:
    region_id = str(data.get("id") or new_id())
    if s.get(Region, region_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store region - Duplicate ID, {region_id}.")
    parent = data.get("parent_region_id")
    _check_parent(s, region_id, parent)
    row = Region(id=region_id, description=data.get("description") or "", parent_region_id=parent,
                 extra=_extra(data, _REGION_COLUMNS))
    s.add(row)
    s.flush()
    return row


def update_region(s: Session, region_id: str, data: dict[str, Any]) -> Region:
    row = get_region(s, region_id)
    if "id" in data and data["id"] != region_id:
        raise BadRequest("The region id cannot be changed.")
    if "parent_region_id" in data:
        _check_parent(s, region_id, data["parent_region_id"])
        row.parent_region_id = data["parent_region_id"]
    if "description" in data:
        row.description = data["description"] or ""
    row.extra = _extra(data, _REGION_COLUMNS, row.extra)
    s.flush()
    return row


def _region_subtree(s: Session, region_id: str) -> list[str]:
    ids, frontier = [region_id], [region_id]
    while frontier:
        frontier = list(s.scalars(select(Region.id).where(Region.parent_region_id.in_(frontier))))
        frontier = [f for f in frontier if f not in ids]
        ids.extend(frontier)
    return ids


def delete_region(s: Session, region_id: str) -> None:
    """Deletes the region and its descendants, unless any of them still has endpoints (403)."""
    get_region(s, region_id)
    ids = _region_subtree(s, region_id)
    if s.scalar(select(Endpoint.id).where(Endpoint.region_id.in_(ids)).limit(1)) is not None:
        raise Forbidden(
            f"Unable to delete region {region_id} because it or its child regions have associated endpoints."
        )
    s.execute(delete(PolicyAssociation).where(PolicyAssociation.region_id.in_(ids)))
    for rid in reversed(ids):
        s.execute(delete(Region).where(Region.id == rid))


# --- services --------------------------------------------------------------------------------


def service_to_dict(svc: Service) -> dict[str, Any]:
    doc: dict[str, Any] = dict(svc.extra or {})
    doc.update(id=svc.id, type=svc.type, enabled=svc.enabled)
    return doc


def get_service(s: Session, service_id: str) -> Service:
    row = s.get(Service, service_id)
    if row is None:
        raise NotFound(f"Could not find service: {service_id}.")
    return row


def list_services(s: Session, service_type: str | None = None, name: str | None = None) -> list[Service]:
    query = select(Service).order_by(Service.id)
    if service_type is not None:
        query = query.where(Service.type == service_type)
    rows = list(s.scalars(query))
    if name is not None:
        rows = [r for r in rows if (r.extra or {}).get("name") == name]
    return rows


def create_service(s: Session, data: dict[str, Any]) -> Service:
    row = Service(id=new_id(), type=data["type"], enabled=data.get("enabled", True),
                  extra=_extra(data, _SERVICE_COLUMNS))
    s.add(row)
    s.flush()
    return row


def update_service(s: Session, service_id: str, data: dict[str, Any]) -> Service:
    row = get_service(s, service_id)
    if "id" in data and data["id"] != service_id:
        raise BadRequest("The service id cannot be changed.")
    if "type" in data:
        row.type = data["type"]
    if "enabled" in data:
        row.enabled = data["enabled"]
    row.extra = _extra(data, _SERVICE_COLUMNS, row.extra)
    s.flush()
    return row


def delete_service(s: Session, service_id: str) -> None:
    """Deleting a service takes its endpoints (and what points at them) with it."""
    get_service(s, service_id)
    for ep_id in list(s.scalars(select(Endpoint.id).where(Endpoint.service_id == service_id))):
        _delete_endpoint_row(s, ep_id)
    s.execute(delete(PolicyAssociation).where(PolicyAssociation.service_id == service_id))
    s.execute(delete(Service).where(Service.id == service_id))


# --- endpoints -------------------------------------------------------------------------------


def endpoint_to_dict(ep: Endpoint) -> dict[str, Any]:
    doc: dict[str, Any] = dict(ep.extra or {})
    doc.update(id=ep.id, interface=ep.interface, service_id=ep.service_id, region_id=ep.region_id,
               region=ep.region_id, url=ep.url, enabled=ep.enabled)
    return doc


def get_endpoint(s: Session, endpoint_id: str) -> Endpoint:
    row = s.get(Endpoint, endpoint_id)
    if row is None:
        raise NotFound(f"Could not find endpoint: {endpoint_id}.")
    return row


def list_endpoints(s: Session, filters: dict[str, str]) -> list[Endpoint]:
    query = select(Endpoint).order_by(Endpoint.id)
    for key in ("interface", "service_id", "region_id"):
        if filters.get(key) is not None:
            query = query.where(getattr(Endpoint, key) == filters[key])
    return list(s.scalars(query))


def _endpoint_region(s: Session, data: dict[str, Any]) -> tuple[bool, str | None]:
    """(given, region id). ``region_id`` must name a region (400); the legacy ``region``
    field creates the region when it is missing, for old clients (as Keystone does)."""
    if data.get("region_id") is not None:
        if s.get(Region, data["region_id"]) is None:
            raise BadRequest(f"Invalid region_id: region {data['region_id']} does not exist.")
        return True, data["region_id"]
    if data.get("region") is not None:
        if s.get(Region, data["region"]) is None:
            s.add(Region(id=data["region"], description="", extra={}))
            s.flush()
        return True, data["region"]
    if "region_id" in data or "region" in data:
        return True, None
    return False, None


def _check_service(s: Session, service_id: str) -> None:
    if s.get(Service, service_id) is None:
        raise BadRequest(f"Invalid service_id: service {service_id} does not exist.")


def create_endpoint(s: Session, data: dict[str, Any]) -> Endpoint:
    _check_service(s, data["service_id"])
    _, region_id = _endpoint_region(s, data)
    row = Endpoint(id=new_id(), interface=data["interface"], service_id=data["service_id"], region_id=region_id,
                   url=data["url"], enabled=data.get("enabled", True), extra=_extra(data, _ENDPOINT_COLUMNS))
    s.add(row)
    s.flush()
    return row


def update_endpoint(s: Session, endpoint_id: str, data: dict[str, Any]) -> Endpoint:
    row = get_endpoint(s, endpoint_id)
    if "id" in data and data["id"] != endpoint_id:
        raise BadRequest("The endpoint id cannot be changed.")
    if "service_id" in data:
        _check_service(s, data["service_id"])
        row.service_id = data["service_id"]
    given, region_id = _endpoint_region(s, data)
    if given:
        row.region_id = region_id
    for key in ("interface", "url", "enabled"):
        if key in data:
            setattr(row, key, data[key])
    row.extra = _extra(data, _ENDPOINT_COLUMNS, row.extra)
    s.flush()
    return row


def _delete_endpoint_row(s: Session, endpoint_id: str) -> None:
    s.execute(delete(ProjectEndpoint).where(ProjectEndpoint.endpoint_id == endpoint_id))
    s.execute(delete(PolicyAssociation).where(PolicyAssociation.endpoint_id == endpoint_id))
    s.execute(delete(Endpoint).where(Endpoint.id == endpoint_id))


def delete_endpoint(s: Session, endpoint_id: str) -> None:
    get_endpoint(s, endpoint_id)
    _delete_endpoint_row(s, endpoint_id)
