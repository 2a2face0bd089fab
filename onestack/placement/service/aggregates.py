"""The aggregates (plain uuids) a provider is associated with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.placement import models as m
from onestack.placement.service.common import bump_generation, check_generation, provider


def of_provider(s: Session, rp_uuid: str) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    aggs = s.scalars(select(m.ProviderAggregate.aggregate_uuid)
                     .where(m.ProviderAggregate.resource_provider_id == rp.id))
    return {"aggregates": sorted(aggs), "resource_provider_generation": rp.generation}


def set_for_provider(s: Session, rp_uuid: str, aggregates: list[str], generation: int | None) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    seen = rp.generation
    if generation is not None:
        check_generation(rp, generation)
    s.execute(delete(m.ProviderAggregate).where(m.ProviderAggregate.resource_provider_id == rp.id))
    # Stored as the client spelt them (placement does; openstacksdk's own tests set ``uuid4().hex``
    # and expect those strings back), only duplicates dropped.
    for agg in dict.fromkeys(aggregates):
        s.add(m.ProviderAggregate(resource_provider_id=rp.id, aggregate_uuid=agg))
    s.flush()
    if generation is not None:  # only the generation-guarded form (1.19+) bumps it, as in placement
        seen = bump_generation(s, rp, seen)
    # The reply echoes the request's list (placement's _send_aggregates), not a re-read.
    return {"aggregates": list(aggregates), "resource_provider_generation": seen}
