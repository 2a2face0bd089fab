"""Consumers' allocations: atomic claims, consumer generations, usages.

A claim runs in one transaction: it remembers each touched provider's generation before it
reads usage, writes the allocations, re-checks capacity with them in place, and finally
compare-and-swaps every touched provider's generation. Two racing claims on one provider
cannot both commit: the loser's swap matches no row. As Placement does
(``allocation_conflict_retry_count``), a write that lost only that race on a provider generation
it never named is retried (from a savepoint, rereading what the winner committed); 409
concurrent_update once the retries are spent. SQLite has one writer, so there it cannot race.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onestack.core.db import RetryInNewTransaction
from onestack.core.ids import utcnow
from onestack.placement import models as m
from onestack.placement.service.common import (
    CONCURRENT_UPDATE,
    bad_request,
    check_classes,
    class_names,
    conflict,
    norm_uuid,
    not_found,
    provider,
)

INCOMPLETE = "00000000-0000-0000-0000-000000000000"
PROVIDER_RACE_RETRIES = 10  # Placement's [placement] allocation_conflict_retry_count default
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


# The claim path runs once per boot and per move: its statements are built once, here, because
# building and cache-keying a statement costs several times more than running it on SQLite.
RP = cast(Table, m.ResourceProvider.__table__)
AL = cast(Table, m.Allocation.__table__)
INV = cast(Table, m.Inventory.__table__)
CON = cast(Table, m.Consumer.__table__)
RC = cast(Table, m.ResourceClass.__table__)
_PROVIDERS_BY_UUID = select(RP.c.id, RP.c.uuid, RP.c.generation).where(
    RP.c.uuid.in_(bindparam("uuids", expanding=True)))
_CLASS_NAMES = select(RC.c.id, RC.c.name)
_CONSUMERS = select(CON.c.uuid, CON.c.id, CON.c.generation, CON.c.user_id).where(
    CON.c.uuid.in_(bindparam("uuids", expanding=True)))
_HELD_BY = select(RP.c.id, RP.c.uuid, RP.c.generation).distinct().join(AL, AL.c.resource_provider_id == RP.c.id) \
    .where(AL.c.consumer_id.in_(bindparam("consumers", expanding=True)))
_INVENTORIES = select(INV.c.resource_provider_id, INV.c.resource_class_id, INV.c.total, INV.c.reserved,
                      INV.c.min_unit, INV.c.max_unit, INV.c.step_size, INV.c.allocation_ratio).where(
    INV.c.resource_provider_id.in_(bindparam("rp_ids", expanding=True)))
_DELETE_HELD = delete(AL).where(AL.c.consumer_id.in_(bindparam("consumers", expanding=True)))
_INSERT_ALLOCATION = insert(AL)
_USED = select(AL.c.resource_provider_id, AL.c.resource_class_id, func.sum(AL.c.used)).where(
    AL.c.resource_provider_id.in_(bindparam("rp_ids", expanding=True))).group_by(
    AL.c.resource_provider_id, AL.c.resource_class_id)
_INSERT_CONSUMER = insert(CON)
_DELETE_CONSUMER = delete(CON).where(CON.c.id == bindparam("consumer_id"))
_BUMP_PROVIDER = update(RP).where(RP.c.id == bindparam("rp_id"), RP.c.generation == bindparam("seen")).values(
    generation=bindparam("seen") + 1, updated_at=bindparam("now"))


@dataclass
class _Held:
    """A consumer row as the claim path needs it."""

    id: int
    generation: int
    user_id: str


@dataclass
class _Provider:
    id: int
    uuid: str
    generation: int


def _check_consumer_generation(c: _Held | None, w: ConsumerWrite) -> None:
    if w.generation is UNCHECKED:
        return
    if c is None and w.generation is not None:
        raise conflict(f"consumer generation conflict - expected null but got {w.generation}", CONCURRENT_UPDATE)
    if c is not None and w.generation != c.generation:
        raise conflict(f"consumer generation conflict - expected {c.generation} but got {w.generation}",
                       CONCURRENT_UPDATE)


def _providers(s: Session, writes: list[ConsumerWrite]) -> dict[str, _Provider]:
    wanted = {u for w in writes for u in w.allocations}
    rps = {row.uuid: _Provider(row.id, row.uuid, row.generation)
           for row in s.execute(_PROVIDERS_BY_UUID, {"uuids": sorted(wanted)})} if wanted else {}
    for rp_uuid in sorted(wanted - set(rps)):
        raise bad_request(f"Allocation for resource provider '{rp_uuid}' that does not exist.")
    return rps


def _rows(w: ConsumerWrite, rps: dict[str, _Provider], ids: dict[str, int],
          inventories: dict[tuple[int, int], Any], now: datetime) -> list[dict[str, Any]]:
    rows = []
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
            rows.append({"resource_provider_id": rp.id, "consumer_id": w.uuid, "resource_class_id": ids[rc],
                         "used": amount, "created_at": now})
    return rows


def _check_capacity(s: Session, touched: set[tuple[int, int]], inventories: dict[tuple[int, int], Any],
                    rp_uuids: dict[int, str], names: dict[int, str]) -> None:
    # One grouped query for every (provider, class) the write touched, not one query each.
    rp_ids = sorted({rp_id for rp_id, _ in touched})
    totals = {(rp_id, rc_id): int(used) for rp_id, rc_id, used in s.execute(_USED, {"rp_ids": rp_ids})}
    for rp_id, rc_id in sorted(touched):
        used = totals.get((rp_id, rc_id), 0)
        inv = inventories[(rp_id, rc_id)]
        if used > int((inv.total - inv.reserved) * inv.allocation_ratio):
            raise conflict(f"Unable to allocate inventory: Unable to create allocation for '{names[rc_id]}' on "
                           f"resource provider '{rp_uuids[rp_id]}'. The requested amount would exceed the "
                           "capacity.")


def _save_consumer(s: Session, c: _Held | None, w: ConsumerWrite, now: datetime) -> None:
    if not w.allocations:
        if c is not None:
            s.execute(_DELETE_CONSUMER, {"consumer_id": c.id})
        return
    if c is None:
        try:
            s.execute(_INSERT_CONSUMER, {
                "uuid": w.uuid, "project_id": w.project_id or INCOMPLETE, "user_id": w.user_id or INCOMPLETE,
                "consumer_type": None if w.consumer_type is UNCHECKED else w.consumer_type,
                "generation": 0, "created_at": now, "updated_at": now})
        except IntegrityError:
            # Another transaction created this consumer after we read it absent (two processes, or
            # two writer threads, claiming for one server): Placement's ConsumerExists, a 409.
            raise conflict(f"consumer generation conflict - expected null but consumer {w.uuid} was created "
                           "concurrently", CONCURRENT_UPDATE) from None
        return
    values: dict[str, Any] = {"generation": c.generation + 1, "updated_at": now}
    if w.project_id:
        values.update(project_id=w.project_id, user_id=w.user_id or c.user_id)
    if w.consumer_type is not UNCHECKED:
        values["consumer_type"] = w.consumer_type
    result = s.execute(update(CON).where(CON.c.id == c.id, CON.c.generation == c.generation).values(**values))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise conflict(f"consumer generation conflict for consumer {w.uuid}", CONCURRENT_UPDATE)


class _ProviderRaced(Exception):
    """Another transaction bumped a provider's generation between our read and our swap."""

    def __init__(self, rp_uuid: str) -> None:
        super().__init__(rp_uuid)
        self.rp_uuid = rp_uuid


def _bump(s: Session, rp: _Provider, now: datetime) -> None:
    result = s.execute(_BUMP_PROVIDER, {"rp_id": rp.id, "seen": rp.generation, "now": now})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _ProviderRaced(rp.uuid)


def set_allocations(s: Session, writes: list[ConsumerWrite]) -> None:
    """Replace the allocations of every consumer in ``writes`` at once (all or nothing)."""
    s.flush()  # a caller's pending ORM changes (the reshaper's inventories) must be visible to Core reads
    dialect = s.get_bind().dialect.name
    if dialect == "mysql":
        # REPEATABLE READ: a retry from a savepoint would reread the snapshot that lost, and lose
        # again; the whole unit of work runs again in a new transaction instead (core.db).
        try:
            _set_allocations(s, writes)
        except _ProviderRaced as raced:
            raise RetryInNewTransaction(conflict(
                f"resource provider generation conflict: another process updated resource provider "
                f"{raced.rp_uuid}", CONCURRENT_UPDATE), PROVIDER_RACE_RETRIES + 1) from None
        return
    retries = 0 if dialect == "sqlite" else PROVIDER_RACE_RETRIES
    while True:
        try:
            if not retries:
                _set_allocations(s, writes)
                return
            with s.begin_nested():  # READ COMMITTED: a retry's reads see what the winner committed
                _set_allocations(s, writes)
            return
        except _ProviderRaced as raced:
            if retries <= 0:
                raise conflict(f"resource provider generation conflict: another process updated resource "
                               f"provider {raced.rp_uuid}", CONCURRENT_UPDATE) from None
            retries -= 1


def _set_allocations(s: Session, writes: list[ConsumerWrite]) -> None:
    now = utcnow()
    consumer_uuids = [w.uuid for w in writes]
    rps = _providers(s, writes)
    wanted_classes = sorted({rc for w in writes for res in w.allocations.values() for rc in res})
    # Every class in one read (a handful of rows): the ids for the rows written here and the
    # names for the capacity check's messages, instead of a statement for each.
    names = dict(s.execute(_CLASS_NAMES).all()) if wanted_classes else {}
    ids = {name: rc_id for rc_id, name in names.items()}
    check_classes(ids, wanted_classes)
    consumers: dict[str, _Held | None] = dict.fromkeys(consumer_uuids)
    for held in s.execute(_CONSUMERS, {"uuids": consumer_uuids}):
        consumers[held.uuid] = _Held(held.id, held.generation, held.user_id)
    for w in writes:
        _check_consumer_generation(consumers[w.uuid], w)
    # Generations are read before any usage is read: the final swap proves nobody claimed in between.
    affected = {rp.id: rp for rp in rps.values()}
    for old in s.execute(_HELD_BY, {"consumers": consumer_uuids}):
        affected.setdefault(old.id, _Provider(old.id, old.uuid, old.generation))
    inventories = {(inv.resource_provider_id, inv.resource_class_id): inv for inv in s.execute(
        _INVENTORIES, {"rp_ids": [rp.id for rp in rps.values()]})} if rps else {}
    s.execute(_DELETE_HELD, {"consumers": consumer_uuids})
    rows = [row for w in writes for row in _rows(w, rps, ids, inventories, now)]
    if rows:
        s.execute(_INSERT_ALLOCATION, rows)
    touched = {(row["resource_provider_id"], row["resource_class_id"]) for row in rows}
    if touched:
        _check_capacity(s, touched, inventories, {rp.id: rp.uuid for rp in affected.values()}, names)
    for w in writes:
        _save_consumer(s, consumers[w.uuid], w, now)
    for rp_id in sorted(affected):
        _bump(s, affected[rp_id], now)
    if affected:
        s.expire_all()  # ORM objects the caller holds (providers, consumers) changed underneath


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
                     .where(m.Allocation.consumer_id == consumer_uuid))
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
