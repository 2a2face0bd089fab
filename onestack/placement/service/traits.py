"""Traits (standard and CUSTOM_) and the traits of each provider."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from onestack.core.ids import utcnow
from onestack.placement import models as m
from onestack.placement.service.common import (
    bad_request,
    bump_generation,
    check_generation,
    conflict,
    not_found,
    provider,
    trait_ids,
)
from onestack.placement.standard import TRAITS


def listing(s: Session, name_filter: str | None, associated: bool | None) -> list[str]:
    query = select(m.Trait.name)
    if name_filter:
        if name_filter.startswith("startswith:"):
            # Case-sensitive on every database, as trait names are everywhere else (in:, required):
            # SQLite's LIKE would fold case, PostgreSQL's would not.
            prefix = name_filter[len("startswith:"):]
            query = query.where(func.substr(m.Trait.name, 1, len(prefix)) == prefix)
        elif name_filter.startswith("in:"):
            query = query.where(m.Trait.name.in_([n.strip() for n in name_filter[3:].split(",")]))
        else:
            raise bad_request(f"Badly formatted name parameter. Expected name query string parameter in form: "
                              f"?name=[in|startswith]:[name1,name2|prefix]. Got: \"{name_filter}\"")
    used = exists().where(m.ProviderTrait.trait_id == m.Trait.id)
    if associated is True:
        query = query.where(used)
    elif associated is False:
        query = query.where(~used)
    return sorted(s.scalars(query))


def exists_(s: Session, name: str) -> bool:
    return s.scalar(select(m.Trait.id).where(m.Trait.name == name)) is not None


def create(s: Session, name: str) -> bool:
    """True when created, False when it already existed."""
    if exists_(s, name):
        return False
    s.add(m.Trait(name=name, created_at=utcnow()))
    s.flush()
    return True


def remove(s: Session, name: str) -> None:
    if not name.startswith("CUSTOM_"):
        raise bad_request(f"Cannot delete standard trait {name}.")
    trait = s.scalar(select(m.Trait).where(m.Trait.name == name))
    if trait is None:
        raise not_found(f"No such trait(s): {name}.")
    if s.scalar(select(exists().where(m.ProviderTrait.trait_id == trait.id))):
        raise conflict(f"The trait {name} is in use by a resource provider.")
    s.delete(trait)


def of_provider(s: Session, rp_uuid: str) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    names = s.scalars(select(m.Trait.name).join(m.ProviderTrait, m.ProviderTrait.trait_id == m.Trait.id)
                      .where(m.ProviderTrait.resource_provider_id == rp.id))
    return {"traits": sorted(names), "resource_provider_generation": rp.generation}


def set_for_provider(s: Session, rp_uuid: str, traits: list[str], generation: int) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    seen = rp.generation
    check_generation(rp, generation)
    ids = trait_ids(s, traits)
    s.execute(delete(m.ProviderTrait).where(m.ProviderTrait.resource_provider_id == rp.id))
    for trait_id in sorted(set(ids.values())):
        s.add(m.ProviderTrait(resource_provider_id=rp.id, trait_id=trait_id))
    s.flush()
    bump_generation(s, rp, seen)
    return of_provider(s, rp.uuid)


def clear_provider(s: Session, rp_uuid: str) -> None:
    rp = provider(s, rp_uuid)
    seen = rp.generation
    s.execute(delete(m.ProviderTrait).where(m.ProviderTrait.resource_provider_id == rp.id))
    bump_generation(s, rp, seen)


def seed(s: Session) -> None:
    have = set(s.scalars(select(m.Trait.name)))
    now = utcnow()
    for name in TRAITS:
        if name not in have:
            s.add(m.Trait(name=name, created_at=now))
