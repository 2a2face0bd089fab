"""POST /reshaper: move inventory and the allocations against it between providers in one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.api.microversion import Version
from onestack.placement import models as m
from onestack.placement.service import allocations, inventories
from onestack.placement.service.common import (
    INVENTORY_INUSE,
    bump_generation,
    check_generation,
    class_names,
    conflict,
    provider,
)


def reshape(s: Session, body_inventories: dict[str, Any], writes: list[allocations.ConsumerWrite],
            version: Version) -> None:
    changed = []
    for rp_uuid, entry in body_inventories.items():
        rp = provider(s, rp_uuid)
        seen = rp.generation
        check_generation(rp, entry["resource_provider_generation"])
        # In-use checks wait until the allocations have moved too.
        inventories.apply(s, rp, entry["inventories"], version, check_inuse=False)
        bump_generation(s, rp, seen)
        changed.append(rp)
    if writes:
        allocations.set_allocations(s, writes)
    names = class_names(s)
    for rp in changed:
        have = set(s.scalars(select(m.Inventory.resource_class_id).where(m.Inventory.resource_provider_id == rp.id)))
        used = set(s.scalars(select(m.Allocation.resource_class_id).where(m.Allocation.resource_provider_id == rp.id)))
        if used - have:
            raise conflict(f"Inventory for '{', '.join(sorted(names[i] for i in used - have))}' on resource "
                           f"provider '{rp.uuid}' in use.", INVENTORY_INUSE)
