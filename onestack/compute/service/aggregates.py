"""Host aggregates: create, rename, metadata, membership, with Nova's availability-zone rules.

A host may be in several aggregates, but all the zones they name must agree; a host's zone
must not change under servers already on it. Membership is mirrored into placement as
provider aggregates (by the caller, after the transaction) so ``member_of`` queries see it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.client.placement import PlacementClient
from onestack.compute.models import (
    Aggregate,
    AggregateHost,
    AggregateMetadata,
    ComputeNode,
    Instance,
    Service,
)
from onestack.compute.service import availability_zones as az
from onestack.compute.service.builds import new_uuid
from onestack.core.api.faults import Conflict, NotFound
from onestack.core.ids import utcnow

log = logging.getLogger("onestack.compute.aggregates")

COMPUTE = "nova-compute"
ADD, REMOVE, UPDATE, UPDATE_META = "add", "remove", "update", "update_meta"
_WHAT = {
    ADD: "Cannot add host to aggregate {id}. Reason: {reason}.",
    REMOVE: "Cannot remove host from aggregate {id}. Reason: {reason}.",
    UPDATE: "Cannot update aggregate {id}. Reason: {reason}.",
    UPDATE_META: "Cannot update metadata of aggregate {id}. Reason: {reason}.",
}


class InvalidAggregateAction(Exception):
    """Nova's InvalidAggregateAction*: 400 or 409 depending on the call."""

    def __init__(self, action: str, agg_id: int, reason: str) -> None:
        super().__init__(_WHAT[action].format(id=agg_id, reason=reason))


def list_all(s: Session) -> list[Aggregate]:
    return list(s.scalars(select(Aggregate).order_by(Aggregate.id)))


def get(s: Session, agg_id: int) -> Aggregate:
    agg = s.get(Aggregate, agg_id)
    if agg is None:
        raise NotFound(f"Aggregate {agg_id} could not be found.")
    return agg


def metadata_of(agg: Aggregate) -> dict[str, str]:
    return {m.key: m.value for m in agg.metadata_items}


def _name_taken(s: Session, name: str, but: int | None = None) -> None:
    other = s.scalar(select(Aggregate).where(Aggregate.name == name))
    if other is not None and other.id != but:
        raise Conflict(f"Aggregate {name} already exists.")


def create(s: Session, name: str, zone: str | None) -> Aggregate:
    _name_taken(s, name)
    agg = Aggregate(uuid=new_uuid(), name=name, created_at=utcnow())
    if zone:
        agg.metadata_items.append(AggregateMetadata(key=az.AZ_KEY, value=zone))
    s.add(agg)
    s.flush()
    return agg


def _instances_on(s: Session, hosts: list[str]) -> int:
    if not hosts:
        return 0
    return s.scalar(select(func.count()).select_from(Instance).where(
        Instance.host.in_(hosts), Instance.deleted.is_(False))) or 0


def check_zone_change(s: Session, agg: Aggregate, metadata: dict[str, Any], action: str,
                      hosts: list[str] | None = None, check_instances: bool = False) -> None:
    """Nova's is_safe_to_update_az: no empty zone name, no host in two zones, no server moved."""
    if az.AZ_KEY not in metadata:
        return
    wanted = metadata[az.AZ_KEY]
    if not wanted:
        raise InvalidAggregateAction(action, agg.id, f"Aggregate {agg.name} does not support empty named "
                                                     "availability zone")
    members = hosts if hosts is not None else [h.host for h in agg.hosts]
    conflicting = []
    if members:
        rows = s.execute(select(AggregateMetadata.aggregate_id, AggregateMetadata.value)
                         .join(AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
                         .where(AggregateMetadata.key == az.AZ_KEY, AggregateHost.host.in_(members))
                         .distinct())
        conflicting = [zone for agg_id, zone in rows if zone != wanted and agg_id != agg.id]
    if conflicting:
        raise InvalidAggregateAction(action, agg.id, f"One or more hosts already in availability zone(s) "
                                                     f"{conflicting}")
    if check_instances and az.aggregate_zone(agg) != wanted and _instances_on(s, members):
        raise InvalidAggregateAction(action, agg.id, "One or more hosts contain instances in this zone")


def _update_metadata(agg: Aggregate, updates: dict[str, Any]) -> None:
    """Merge ``updates`` into the metadata; a None value removes the key."""
    current = {m.key: m for m in agg.metadata_items}
    for key, value in updates.items():
        if value is None:
            if key in current:
                agg.metadata_items.remove(current.pop(key))
        elif key in current:
            current[key].value = value
        else:
            item = AggregateMetadata(key=key, value=value)
            agg.metadata_items.append(item)
            current[key] = item
    agg.updated_at = utcnow()


def update(s: Session, agg_id: int, values: dict[str, Any]) -> Aggregate:
    agg = get(s, agg_id)
    values = dict(values)
    if "name" in values:
        name = values.pop("name")
        _name_taken(s, name, agg.id)
        agg.name = name
        agg.updated_at = utcnow()
    check_zone_change(s, agg, values, UPDATE, check_instances=True)
    if values:
        _update_metadata(agg, values)
    s.flush()
    return agg


def set_metadata(s: Session, agg_id: int, metadata: dict[str, Any]) -> Aggregate:
    agg = get(s, agg_id)
    check_zone_change(s, agg, metadata, UPDATE_META, check_instances=True)
    _update_metadata(agg, metadata)
    s.flush()
    return agg


def delete(s: Session, agg_id: int) -> None:
    agg = get(s, agg_id)
    if agg.hosts:
        raise InvalidAggregateAction(REMOVE, agg.id, "Host aggregate is not empty")
    s.delete(agg)


def _compute_host(s: Session, host: str) -> None:
    found = s.scalar(select(Service).where(Service.host == host, Service.binary == COMPUTE))
    if found is None:
        raise NotFound(f"Compute host {host} could not be found.")


def _other_zones(s: Session, host: str, but: int | None = None) -> set[str]:
    rows = s.execute(select(AggregateMetadata.aggregate_id, AggregateMetadata.value)
                     .join(AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
                     .where(AggregateMetadata.key == az.AZ_KEY, AggregateHost.host == host))
    return {zone for agg_id, zone in rows if agg_id != but}


def _zone_move_refused(s: Session, action: str, agg: Aggregate, host: str, old: str | None, new: str | None) -> None:
    count = _instances_on(s, [host])
    if count and old != new:
        verb = "added to" if action == ADD else "removed from"
        raise InvalidAggregateAction(action, agg.id, (
            f"The host cannot be {verb} the aggregate as the availability zone of the host would change from "
            f"'{old}' to '{new}' but the host already has {count} instance(s). Changing the AZ of an existing "
            "instance is not supported by this action. Move the instances away from this host then try again. "
            "If you need to move the instances between AZs then you can use shelve_offload and unshelve to "
            "achieve this."))


def add_host(s: Session, agg_id: int, host: str) -> Aggregate:
    _compute_host(s, host)
    agg = get(s, agg_id)
    metadata = metadata_of(agg)
    check_zone_change(s, agg, metadata, ADD, hosts=[host])
    new_zone = metadata.get(az.AZ_KEY)
    if new_zone:
        current = sorted(_other_zones(s, host))
        _zone_move_refused(s, ADD, agg, host, current[0] if current else None, new_zone)
    if any(h.host == host for h in agg.hosts):
        raise Conflict(f"Aggregate {agg.id} already has host {host}.")
    agg.hosts.append(AggregateHost(host=host))
    agg.updated_at = utcnow()
    s.flush()
    return agg


def remove_host(s: Session, agg_id: int, host: str) -> Aggregate:
    try:
        _compute_host(s, host)
        agg = get(s, agg_id)
    except NotFound:
        raise NotFound(f"Cannot remove host {host} in aggregate {agg_id}") from None
    member = next((h for h in agg.hosts if h.host == host), None)
    current_zone = metadata_of(agg).get(az.AZ_KEY)
    if current_zone:
        remaining = sorted(_other_zones(s, host, but=agg.id))
        _zone_move_refused(s, REMOVE, agg, host, current_zone, remaining[0] if remaining else None)
    if member is None:
        raise NotFound(f"Cannot remove host {host} in aggregate {agg_id}")
    agg.hosts.remove(member)
    agg.updated_at = utcnow()
    s.flush()
    return agg


def node_uuids(s: Session, host: str) -> list[str]:
    return list(s.scalars(select(ComputeNode.uuid).where(ComputeNode.host == host)))


# --- placement mirror -----------------------------------------------------------------------

async def mirror(placement: PlacementClient | None, rp_uuids: list[str], agg_uuid: str, member: bool) -> None:
    """Add or remove ``agg_uuid`` in each provider's aggregates; failures are logged, as in Nova."""
    if placement is None:
        return
    for rp in rp_uuids:
        try:
            await placement.set_aggregate_member(rp, agg_uuid, member)
        except Exception as exc:  # noqa: BLE001 - the mirror never fails the API call
            log.warning("could not mirror aggregate %s on provider %s: %s", agg_uuid, rp, exc)


@dataclass(frozen=True)
class Shown:
    """An aggregate as the API shows it, copied out of the session."""

    id: int
    uuid: str
    name: str
    created_at: datetime | None
    updated_at: datetime | None
    metadata: dict[str, str]
    hosts: list[str]


def shown(agg: Aggregate) -> Shown:
    return Shown(id=agg.id, uuid=agg.uuid, name=agg.name, created_at=agg.created_at, updated_at=agg.updated_at,
                 metadata=metadata_of(agg), hosts=[h.host for h in agg.hosts])


def list_shown(s: Session) -> list[Shown]:
    return [shown(a) for a in list_all(s)]


def show(s: Session, agg_id: int) -> Shown:
    return shown(get(s, agg_id))


def change(s: Session, fn: Callable[..., Aggregate], *args: Any) -> Shown:
    """Run one of create / update / set_metadata and show the aggregate it leaves."""
    return shown(fn(s, *args))


def membership(s: Session, agg_id: int, host: str, add: bool) -> tuple[Shown, list[str]]:
    """Add or remove a host; the aggregate and the host's node uuids (to mirror into placement)."""
    agg = add_host(s, agg_id, host) if add else remove_host(s, agg_id, host)
    return shown(agg), node_uuids(s, host)


def hosts_of(s: Session, agg_id: int) -> list[str]:
    return [h.host for h in get(s, agg_id).hosts]
