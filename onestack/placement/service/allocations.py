"""Consumers' allocations: atomic claims, consumer generations, usages.

A claim runs in one transaction: it remembers each touched provider's generation before it
reads usage, writes the allocations, re-checks capacity with them in place, and finally
compare-and-swaps every touched provider's generation. Two racing claims on one provider
cannot both commit: the loser's swap matches no row and it gets 409 concurrent_update.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from onestack.core.ids import utcnow
from onestack.placement import models as m
from onestack.placement.service.common import (
    CONCURRENT_UPDATE,
    bad_request,
    bump_generation,
    class_ids,
    class_names,
    conflict,
    norm_uuid,
    not_found,
    provider,
)

INCOMPLETE = "00000000-0000-0000-0000-000000000000"
UNCHECKED: Any = ...  # consumer generation / type not part of the request at this microversion


@dataclass
class ConsumerWrite:
    uuid: str
    allocations: dict[str, dict[str, int]]  # provider uuid -> class -> amount
    project_id: str | None = None
    user_id: str | None = None
    generation: Any = UNCHECKED
    consumer_type: Any = UNCHECKED
    providers: set[int] = field(default_factory=set)


def _consumer(s: Session, consumer_uuid: str) -> m.Consumer | None:
    return s.scalar(select(m.Consumer).where(m.Consumer.uuid == consumer_uuid))


def _check_consumer_generation(c: m.Consumer | None, w: ConsumerWrite) -> None:
    if w.generation is UNCHECKED:
        return
    if c is None and w.generation is not None:
        raise conflict(f"consumer generation conflict - expected null but got {w.generation}", CONCURRENT_UPDATE)
    if c is not None and w.generation != c.generation:
        raise conflict(f"consumer generation conflict - expected {c.generation} but got {w.generation}",
                       CONCURRENT_UPDATE)


def _providers(s: Session, writes: list[ConsumerWrite]) -> dict[str, m.ResourceProvider]:
    wanted = {u for w in writes for u in w.allocations}
    rps = {rp.uuid: rp for rp in s.scalars(select(m.ResourceProvider).where(m.ResourceProvider.uuid.in_(wanted)))}
    for rp_uuid in sorted(wanted - set(rps)):
        raise bad_request(f"Allocation for resource provider '{rp_uuid}' that does not exist.")
    return rps


def _insert(s: Session, w: ConsumerWrite, rps: dict[str, m.ResourceProvider], ids: dict[str, int],
            inventories: dict[tuple[int, int], m.Inventory]) -> None:
    now = utcnow()
    for rp_uuid, resources in w.allocations.items():
        rp = rps[rp_uuid]
        for rc, amount in resources.items():
            inv = inventories.get((rp.id, ids[rc]))
            if inv is None:
                raise conflict(f"Unable to allocate inventory: Inventory for '{rc}' on resource provider "
                               f"'{rp.uuid}' invalid.")
            if not (inv.min_unit <= amount <= inv.max_unit and amount % inv.step_size == 0):
                raise bad_request(
                    f"Unable to allocate inventory: Unable to create allocation for '{rc}' on resource provider "
                    f"'{rp.uuid}'. The requested amount would violate inventory constraints (min_unit "
                    f"{inv.min_unit}, max_unit {inv.max_unit}, step_size {inv.step_size}).")
            s.add(m.Allocation(resource_provider_id=rp.id, consumer_id=w.uuid, resource_class_id=ids[rc],
                               used=amount, created_at=now))


def _check_capacity(s: Session, touched: set[tuple[int, int]], inventories: dict[tuple[int, int], m.Inventory],
                    rp_uuids: dict[int, str], names: dict[int, str]) -> None:
    # One grouped query for every (provider, class) the write touched, not one query each.
    rp_ids = sorted({rp_id for rp_id, _ in touched})
    totals = {(rp_id, rc_id): int(used) for rp_id, rc_id, used in s.execute(
        select(m.Allocation.resource_provider_id, m.Allocation.resource_class_id, func.sum(m.Allocation.used))
        .where(m.Allocation.resource_provider_id.in_(rp_ids))
        .group_by(m.Allocation.resource_provider_id, m.Allocation.resource_class_id))}
    for rp_id, rc_id in sorted(touched):
        used = totals.get((rp_id, rc_id), 0)
        inv = inventories[(rp_id, rc_id)]
        if used > int((inv.total - inv.reserved) * inv.allocation_ratio):
            raise conflict(f"Unable to allocate inventory: Unable to create allocation for '{names[rc_id]}' on "
                           f"resource provider '{rp_uuids[rp_id]}'. The requested amount would exceed the "
                           "capacity.")


def _save_consumer(s: Session, c: m.Consumer | None, w: ConsumerWrite) -> None:
    if not w.allocations:
        if c is not None:
            s.delete(c)
        return
    now = utcnow()
    if c is None:
        s.add(m.Consumer(uuid=w.uuid, project_id=w.project_id or INCOMPLETE, user_id=w.user_id or INCOMPLETE,
                         consumer_type=None if w.consumer_type is UNCHECKED else w.consumer_type,
                         generation=0, created_at=now, updated_at=now))
        return
    values: dict[str, Any] = {"generation": c.generation + 1, "updated_at": now}
    if w.project_id:
        values.update(project_id=w.project_id, user_id=w.user_id or c.user_id)
    if w.consumer_type is not UNCHECKED:
        values["consumer_type"] = w.consumer_type
    result = s.execute(update(m.Consumer).where(m.Consumer.id == c.id, m.Consumer.generation == c.generation)
                       .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise conflict(f"consumer generation conflict for consumer {w.uuid}", CONCURRENT_UPDATE)


def set_allocations(s: Session, writes: list[ConsumerWrite]) -> None:
    """Replace the allocations of every consumer in ``writes`` at once (all or nothing)."""
    rps = _providers(s, writes)
    ids = class_ids(s, {rc for w in writes for res in w.allocations.values() for rc in res})
    consumers = {w.uuid: _consumer(s, w.uuid) for w in writes}
    for w in writes:
        _check_consumer_generation(consumers[w.uuid], w)
    old_rp_ids = set(s.scalars(select(m.Allocation.resource_provider_id).where(
        m.Allocation.consumer_id.in_([w.uuid for w in writes]))))
    affected = {rp.id: rp for rp in rps.values()}
    for rp in s.scalars(select(m.ResourceProvider).where(m.ResourceProvider.id.in_(old_rp_ids - set(affected)))):
        affected[rp.id] = rp
    seen = {rp_id: rp.generation for rp_id, rp in affected.items()}  # read before any usage is read
    inventories = {(inv.resource_provider_id, inv.resource_class_id): inv for inv in s.scalars(
        select(m.Inventory).where(m.Inventory.resource_provider_id.in_([rp.id for rp in rps.values()])))}
    s.execute(delete(m.Allocation).where(m.Allocation.consumer_id.in_([w.uuid for w in writes])))
    for w in writes:
        _insert(s, w, rps, ids, inventories)
    s.flush()
    touched = {(rps[u].id, ids[rc]) for w in writes for u, res in w.allocations.items() for rc in res}
    _check_capacity(s, touched, inventories, {rp.id: rp.uuid for rp in affected.values()}, class_names(s))
    for w in writes:
        _save_consumer(s, consumers[w.uuid], w)
    for rp_id in sorted(affected):
        bump_generation(s, affected[rp_id], seen[rp_id])


def delete_for_consumer(s: Session, consumer_uuid: str) -> None:
    consumer_uuid = norm_uuid(consumer_uuid)
    if not s.scalar(select(func.count()).select_from(m.Allocation).where(m.Allocation.consumer_id == consumer_uuid)):
        raise not_found(f"No allocations for consumer '{consumer_uuid}'")
    set_allocations(s, [ConsumerWrite(uuid=consumer_uuid, allocations={})])


def for_consumer(s: Session, consumer_uuid: str) -> tuple[dict[str, Any], m.Consumer | None]:
    names = class_names(s)
    out: dict[str, Any] = {}
    rows = s.execute(select(m.ResourceProvider.uuid, m.ResourceProvider.generation, m.Allocation.resource_class_id,
                            m.Allocation.used).join(m.ResourceProvider,
                                                    m.ResourceProvider.id == m.Allocation.resource_provider_id)
                     .where(m.Allocation.consumer_id == consumer_uuid)).tuples()
    for rp_uuid, gen, rc_id, used in rows:
        entry = out.setdefault(rp_uuid, {"generation": gen, "resources": {}})
        entry["resources"][names[rc_id]] = entry["resources"].get(names[rc_id], 0) + used
    return out, (_consumer(s, consumer_uuid) if out else None)


def for_provider(s: Session, rp_uuid: str) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    names = class_names(s)
    out: dict[str, Any] = {}
    for consumer, rc_id, used in s.execute(select(m.Allocation.consumer_id, m.Allocation.resource_class_id,
                                                  m.Allocation.used).where(m.Allocation.resource_provider_id == rp.id)):
        res = out.setdefault(consumer, {"resources": {}})["resources"]
        res[names[rc_id]] = res.get(names[rc_id], 0) + used
    return {"allocations": out, "resource_provider_generation": rp.generation}


def provider_usages(s: Session, rp_uuid: str) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    names = class_names(s)
    usages = {names[rc_id]: 0 for rc_id in s.scalars(
        select(m.Inventory.resource_class_id).where(m.Inventory.resource_provider_id == rp.id))}
    for rc_id, used in s.execute(select(m.Allocation.resource_class_id, func.sum(m.Allocation.used))
                                 .where(m.Allocation.resource_provider_id == rp.id)
                                 .group_by(m.Allocation.resource_class_id)):
        usages[names[rc_id]] = int(used)
    return {"usages": usages, "resource_provider_generation": rp.generation}


def total_usages(s: Session, project_id: str, user_id: str | None, consumer_type: str | None,
                 by_type: bool) -> dict[str, Any]:
    """Usage of a project (and user); from 1.38 grouped by consumer type with consumer counts."""
    names = class_names(s)
    query = select(m.Consumer.uuid, m.Consumer.consumer_type, m.Allocation.resource_class_id, m.Allocation.used) \
        .join(m.Allocation, m.Allocation.consumer_id == m.Consumer.uuid).where(m.Consumer.project_id == project_id)
    if user_id:
        query = query.where(m.Consumer.user_id == user_id)
    totals: dict[str, dict[str, int]] = defaultdict(dict)
    counts: dict[str, set[str]] = defaultdict(set)
    for consumer, ctype, rc_id, used in s.execute(query):
        if consumer_type == "all":
            key = "all"
        else:
            key = ctype or "unknown"
            if consumer_type is not None and key != consumer_type:
                continue
        bucket = totals[key]
        bucket[names[rc_id]] = bucket.get(names[rc_id], 0) + used
        counts[key].add(consumer)
    if not by_type:
        flat: dict[str, int] = {}
        for bucket in totals.values():
            for rc, used in bucket.items():
                flat[rc] = flat.get(rc, 0) + used
        return {"usages": flat}
    return {"usages": {key: {**bucket, "consumer_count": len(counts[key])} for key, bucket in totals.items()}}
