"""Shared service helpers: coded errors, name/uuid lookups, generation compare-and-swap."""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from onestack.core.api.faults import ApiError, BadRequest, Conflict, NotFound
from onestack.core.ids import utcnow
from onestack.placement import models as m

UNDEFINED = "placement.undefined_code"
CONCURRENT_UPDATE = "placement.concurrent_update"
DUPLICATE_NAME = "placement.duplicate_name"
INVENTORY_INUSE = "placement.inventory.inuse"
PROVIDER_INUSE = "placement.resource_provider.inuse"
PROVIDER_HAS_CHILDREN = "placement.resource_provider.cannot_delete_parent"
PROVIDER_NOT_FOUND = "placement.resource_provider.not_found"
QUERY_DUPLICATE_KEY = "placement.query.duplicate_key"
QUERY_BAD_VALUE = "placement.query.bad_value"
QUERY_MISSING_VALUE = "placement.query.missing_value"

NAME_RE = re.compile(r"^[A-Z0-9_]+$")
CUSTOM_RE = re.compile(r"^CUSTOM_[A-Z0-9_]+$")


def coded(err: ApiError, code: str) -> ApiError:
    err.error_code = code  # type: ignore[attr-defined]
    return err


def conflict(message: str, code: str = UNDEFINED) -> ApiError:
    return coded(Conflict(message), code)


def bad_request(message: str, code: str = UNDEFINED) -> ApiError:
    return coded(BadRequest(message), code)


def not_found(message: str, code: str = UNDEFINED) -> ApiError:
    return coded(NotFound(message), code)


def is_uuid(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        uuidlib.UUID(text)
    except ValueError:
        return False
    return True


def norm_uuid(text: str) -> str:
    """Placement stores uuids in the dashed lower-case form whatever the client sent."""
    return str(uuidlib.UUID(text))


def provider(s: Session, rp_uuid: str, *, for_update: bool = False) -> m.ResourceProvider:
    rp = None
    if is_uuid(rp_uuid):
        rp = s.scalar(select(m.ResourceProvider).where(m.ResourceProvider.uuid == norm_uuid(rp_uuid)))
    if rp is None:
        raise not_found(f"No resource provider with uuid {rp_uuid} found", PROVIDER_NOT_FOUND)
    return rp


def class_ids(s: Session, names: Iterable[str], *, strict: bool = True) -> dict[str, int]:
    """Resource class name -> id; a name that does not exist is a 400 (when strict)."""
    wanted = set(names)
    if not wanted:
        return {}
    found = dict(s.execute(select(m.ResourceClass.name, m.ResourceClass.id)
                           .where(m.ResourceClass.name.in_(wanted))).all())
    if strict:
        check_classes(found, wanted)
    return found


def check_classes(known: Iterable[str], names: Iterable[str]) -> None:
    """400 unless every name in ``names`` is a resource class in ``known`` (names already read)."""
    missing = sorted(set(names) - set(known))
    if missing:
        raise bad_request(f"Unknown resource class in requested resources: {', '.join(missing)}")


def class_names(s: Session) -> dict[int, str]:
    return dict(s.execute(select(m.ResourceClass.id, m.ResourceClass.name)).all())


def trait_ids(s: Session, names: Iterable[str]) -> dict[str, int]:
    wanted = set(names)
    if not wanted:
        return {}
    found = dict(s.execute(select(m.Trait.name, m.Trait.id).where(m.Trait.name.in_(wanted))).all())
    missing = sorted(wanted - set(found))
    if missing:
        raise bad_request(f"No such trait(s): {', '.join(missing)}")
    return found


def bump_generation(s: Session, rp: m.ResourceProvider, seen: int | None = None) -> int:
    """Compare-and-swap the provider generation; a lost race is 409 placement.concurrent_update."""
    expected = rp.generation if seen is None else seen
    result = s.execute(
        update(m.ResourceProvider)
        .where(m.ResourceProvider.id == rp.id, m.ResourceProvider.generation == expected)
        .values(generation=expected + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise conflict(
            f"resource provider generation conflict: another process updated resource provider {rp.uuid}",
            CONCURRENT_UPDATE)
    set_committed_value(rp, "generation", expected + 1)
    return expected + 1


def check_generation(rp: m.ResourceProvider, given: object) -> None:
    if given != rp.generation:
        raise conflict(
            f"resource provider generation conflict: the generation of resource provider {rp.uuid} is "
            f"{rp.generation}, not {given}", CONCURRENT_UPDATE)
