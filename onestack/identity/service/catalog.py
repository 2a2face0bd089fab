"""Regions, services and endpoints, and the service catalog they add up to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.identity.models import Endpoint, EndpointGroup, ProjectEndpoint, ProjectEndpointGroup, Service


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
    return list(s.scalars(query))


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
    from onestack.core.ids import new_id
    from onestack.identity.models import Region

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
