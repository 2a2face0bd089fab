"""Compute services (``os-services``): the registered workers, their flags and their zones.

Agents register their ``nova-compute`` row through the conductor's heartbeat; each conductor
and scheduler heartbeats a row of its own (its process's ``server.host_name``, zone
``internal``), so they are listed as Nova lists its nova-conductor and nova-scheduler services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.compute.models import (
    Aggregate,
    AggregateHost,
    ComputeNode,
    Instance,
    Migration,
    Service,
)
from onestack.compute.rpcapi import ConductorAPI, NodeDict, SchedulerAPI, ServiceFlags
from onestack.compute.scheduler.snapshot import service_is_up
from onestack.compute.service import availability_zones as az
from onestack.compute.service.builds import new_uuid
from onestack.core.api.faults import BadRequest, Conflict, NotFound
from onestack.core.ids import utcnow

COMPUTE = "nova-compute"
CONDUCTOR = "nova-conductor"
SCHEDULER = "nova-scheduler"
# Each control service's bus topic, which is also its row's topic (as in Nova).
_TOPICS = {CONDUCTOR: ConductorAPI.topic, SCHEDULER: SchedulerAPI.topic}
# Migrations still moving a server: a compute service under them cannot be deleted.
_DONE = ("confirmed", "reverted", "error", "failed", "completed", "done", "cancelled")


@dataclass
class ServiceView:
    """A service row plus what the API derives for it."""

    row: Service
    zone: str
    up: bool


# --- heartbeats ----------------------------------------------------------------------------------

def heartbeat(s: Session, host: str, binary: str, node: NodeDict | None) -> ServiceFlags:
    """Register or refresh a service row (and an agent's compute node); returns the row's flags."""
    now = utcnow()
    svc = s.scalar(select(Service).where(Service.host == host, Service.binary == binary))
    if svc is None:
        svc = Service(uuid=new_uuid(), host=host, binary=binary, topic=_TOPICS.get(binary, "compute"),
                      created_at=now)
        s.add(svc)
    svc.last_seen_up, svc.updated_at = now, now
    svc.report_count = (svc.report_count or 0) + 1
    if node is not None:
        row = s.scalar(select(ComputeNode).where(ComputeNode.uuid == node["uuid"]))
        if row is None:
            row = ComputeNode(uuid=node["uuid"], host=host, hypervisor_hostname=node["hypervisor_hostname"],
                              started_at=now)
            s.add(row)
        for key, value in node.items():
            if key not in ("uuid", "started"):
                setattr(row, key, value)
        if node.get("started"):
            row.started_at = now
        row.updated_at = now
    s.flush()
    return {"disabled": svc.disabled, "forced_down": svc.forced_down}


# --- listing and lookup ---------------------------------------------------------------------

def zone_of(row: Service, zones_by_host: dict[str, str]) -> str:
    """Compute services live in their aggregates' zone (else the default); the rest are internal."""
    if row.binary != COMPUTE:
        return az.INTERNAL_ZONE
    return zones_by_host.get(row.host, az.DEFAULT_ZONE)


def list_services(s: Session, down_after: float, host: str | None = None,
                  binary: str | None = None) -> list[ServiceView]:
    query = select(Service).order_by(Service.id)
    if host:
        query = query.where(Service.host == host)
    if binary:
        query = query.where(Service.binary == binary)
    zones = az.zones_by_host(s)
    return [ServiceView(r, zone_of(r, zones), service_is_up(r, down_after)) for r in s.scalars(query)]


def view_of(s: Session, row: Service, down_after: float) -> ServiceView:
    return ServiceView(row, zone_of(row, az.zones_by_host(s)), service_is_up(row, down_after))


def get_by_id(s: Session, ident: str, by_uuid: bool) -> Service:
    query = select(Service).where(Service.uuid == ident) if by_uuid else select(Service).where(Service.id == int(ident))
    row = s.scalar(query)
    if row is None:
        raise NotFound(f"Service {ident} could not be found.")
    return row


def by_host_binary(s: Session, host: str, binary: str) -> Service:
    row = s.scalar(select(Service).where(Service.host == host, Service.binary == binary))
    if row is None:
        raise NotFound(f"Could not find binary {binary} on host {host}.")
    return row


def compute_service(s: Session, host: str) -> Service | None:
    return s.scalar(select(Service).where(Service.host == host, Service.binary == COMPUTE))


# --- updates --------------------------------------------------------------------------------

def only_compute(row: Service | str) -> None:
    binary = row if isinstance(row, str) else row.binary
    if binary != COMPUTE:
        raise BadRequest(f"Updating a {binary} service is not supported. Only nova-compute services can be updated.")


def check_no_done_evacuations(s: Session, host: str) -> None:
    """Forcing a host back up while evacuations from it still say "done" would resurrect guests."""
    found = s.scalar(select(func.count()).select_from(Migration).where(
        Migration.source_compute == host, Migration.status == "done", Migration.migration_type == "evacuation"))
    if found:
        raise BadRequest(f"Unable to force up host {host} as `done` evacuation migration records remain "
                         "associated with the host. Ensure the compute service has been restarted, allowing "
                         "these records to move to `completed` before retrying this request.")


def apply(row: Service, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = utcnow()


# --- delete ---------------------------------------------------------------------------------

def delete_service(s: Session, row: Service) -> list[str]:
    """Remove a service; a compute service also leaves its aggregates and its nodes.

    Returns the resource provider uuids of the nodes that went (the caller deletes them in
    placement). A compute service still hosting servers or migrations is refused (409).
    """
    node_uuids: list[str] = []
    if row.binary == COMPUTE:
        hosting = s.scalar(select(func.count()).select_from(Instance).where(
            Instance.host == row.host, Instance.deleted.is_(False)))
        if hosting:
            raise Conflict("Unable to delete compute service that is hosting instances. "
                           "Migrate or delete the instances first.")
        moving = s.scalar(select(func.count()).select_from(Migration).where(
            (Migration.source_compute == row.host) | (Migration.dest_compute == row.host),
            Migration.status.not_in(_DONE)))
        if moving:
            raise Conflict("Unable to delete compute service that has in-progress migrations. "
                           "Complete the migrations or delete the instances first.")
        for member in s.scalars(select(AggregateHost).where(AggregateHost.host == row.host)):
            agg = s.get(Aggregate, member.aggregate_id)
            if agg is not None:
                agg.updated_at = utcnow()
            s.delete(member)
        for node in s.scalars(select(ComputeNode).where(ComputeNode.host == row.host)):
            node_uuids.append(node.uuid)
            s.delete(node)
    s.delete(row)
    s.flush()
    return node_uuids


def update_by_host(s: Session, host: str, binary: str, values: dict[str, Any]) -> None:
    """The pre-2.53 update, naming the service by host and binary."""
    only_compute(binary)
    row = by_host_binary(s, host, binary)
    if values.get("forced_down") is False:
        check_no_done_evacuations(s, host)
    apply(row, values)


def update_by_uuid(s: Session, ident: str, values: dict[str, Any], down_after: float) -> ServiceView:
    """The 2.53+ update of one compute service by uuid; the service as it is now."""
    row = get_by_id(s, ident, by_uuid=True)
    only_compute(row)
    if not values:
        raise BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.")
    if values.get("forced_down") is False:
        check_no_done_evacuations(s, row.host)
    apply(row, values)
    s.flush()
    return view_of(s, row, down_after)


def delete_by_id(s: Session, ident: str, by_uuid: bool) -> list[str]:
    """Delete a service by id or uuid; the resource providers of its nodes (for placement)."""
    try:
        row = get_by_id(s, ident, by_uuid)
    except NotFound:
        raise NotFound(f"Service {ident} not found.") from None
    return delete_service(s, row)
