"""Inventories of a provider: what it has of each resource class, under generation control."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from onestack.core.api.microversion import Version
from onestack.placement import models as m
from onestack.placement.service.common import (
    INVENTORY_INUSE,
    bad_request,
    bump_generation,
    check_generation,
    class_ids,
    class_names,
    conflict,
    not_found,
    provider,
)

MAX_INT = 2147483647
DEFAULTS: dict[str, Any] = {"reserved": 0, "min_unit": 1, "max_unit": MAX_INT, "step_size": 1,
                            "allocation_ratio": 1.0}
FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")


def view(inv: m.Inventory) -> dict[str, Any]:
    return {f: getattr(inv, f) for f in FIELDS}


def _current(s: Session, rp: m.ResourceProvider) -> dict[str, m.Inventory]:
    names = class_names(s)
    rows = s.scalars(select(m.Inventory).where(m.Inventory.resource_provider_id == rp.id))
    return {names[inv.resource_class_id]: inv for inv in rows}


def get_all(s: Session, rp_uuid: str) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    return {"inventories": {rc: view(inv) for rc, inv in _current(s, rp).items()},
            "resource_provider_generation": rp.generation}


def get_one(s: Session, rp_uuid: str, rc: str) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    inv = _current(s, rp).get(rc)
    if inv is None:
        raise not_found(f"No inventory of class {rc} for {rp.uuid}")
    return {**view(inv), "resource_provider_generation": rp.generation}


def _validated(rp: m.ResourceProvider, rc: str, data: dict[str, Any], version: Version) -> dict[str, Any]:
    values = {**DEFAULTS, **{k: v for k, v in data.items() if k in FIELDS}}
    values["allocation_ratio"] = float(values["allocation_ratio"])
    reserved_limit_ok = values["reserved"] <= values["total"] if version >= Version(1, 26) \
        else values["reserved"] < values["total"] or values["reserved"] == 0
    if not reserved_limit_ok:
        raise bad_request(f"Unable to update inventory for resource provider {rp.uuid}: Invalid inventory for "
                          f"'{rc}' on resource provider '{rp.uuid}'. The reserved value is greater than or "
                          "equal to total.")
    if values["min_unit"] > values["max_unit"]:
        raise bad_request(f"Unable to update inventory for resource provider {rp.uuid}: Invalid inventory for "
                          f"'{rc}' on resource provider '{rp.uuid}'. The min_unit value is greater than max_unit.")
    return values


def _in_use(s: Session, rp: m.ResourceProvider, rc_ids: list[int]) -> bool:
    if not rc_ids:
        return False
    return bool(s.scalar(select(exists().where(m.Allocation.resource_provider_id == rp.id,
                                               m.Allocation.resource_class_id.in_(rc_ids)))))


def _inuse_error(rp: m.ResourceProvider, classes: list[str]) -> Exception:
    return conflict(f"Inventory for '{', '.join(sorted(classes))}' on resource provider '{rp.uuid}' in use.",
                    INVENTORY_INUSE)


def apply(s: Session, rp: m.ResourceProvider, inventories: dict[str, dict[str, Any]], version: Version,
          *, check_inuse: bool = True) -> None:
    """Make the provider's inventory exactly ``inventories`` (no generation handling)."""
    ids = class_ids(s, inventories)
    wanted = {rc: _validated(rp, rc, data, version) for rc, data in inventories.items()}
    current = _current(s, rp)
    gone = [rc for rc in current if rc not in wanted]
    if check_inuse and _in_use(s, rp, [current[rc].resource_class_id for rc in gone]):
        raise _inuse_error(rp, [rc for rc in gone if _in_use(s, rp, [current[rc].resource_class_id])])
    for rc in gone:
        s.delete(current[rc])
    for rc, values in wanted.items():
        inv = current.get(rc)
        if inv is None:
            inv = m.Inventory(resource_provider_id=rp.id, resource_class_id=ids[rc])
            s.add(inv)
        for key, value in values.items():
            setattr(inv, key, value)
    s.flush()


def replace_all(s: Session, rp_uuid: str, body: dict[str, Any], version: Version) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    seen = rp.generation
    check_generation(rp, body["resource_provider_generation"])
    apply(s, rp, body["inventories"], version)
    bump_generation(s, rp, seen)
    return get_all(s, rp.uuid)


def set_one(s: Session, rp_uuid: str, rc: str, body: dict[str, Any], version: Version) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    seen = rp.generation
    check_generation(rp, body["resource_provider_generation"])
    ids = class_ids(s, [rc])
    values = _validated(rp, rc, body, version)
    inv = _current(s, rp).get(rc)
    if inv is None:
        inv = m.Inventory(resource_provider_id=rp.id, resource_class_id=ids[rc])
        s.add(inv)
    for key, value in values.items():
        setattr(inv, key, value)
    s.flush()
    bump_generation(s, rp, seen)
    return {**view(inv), "resource_provider_generation": rp.generation}


def create_one(s: Session, rp_uuid: str, body: dict[str, Any], version: Version) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    seen = rp.generation
    if "resource_provider_generation" in body:
        check_generation(rp, body["resource_provider_generation"])
    rc = body["resource_class"]
    if rc in _current(s, rp):
        raise conflict(f"Update conflict: Inventory for {rc} on resource provider {rp.uuid} already exists.")
    return set_one(s, rp.uuid, rc, {**body, "resource_provider_generation": seen}, version)


def delete_one(s: Session, rp_uuid: str, rc: str) -> None:
    rp = provider(s, rp_uuid)
    seen = rp.generation
    inv = _current(s, rp).get(rc)
    if inv is None:
        raise not_found(f"No inventory of class {rc} found for delete")
    if _in_use(s, rp, [inv.resource_class_id]):
        raise _inuse_error(rp, [rc])
    s.delete(inv)
    s.flush()
    bump_generation(s, rp, seen)


def delete_all(s: Session, rp_uuid: str) -> None:
    rp = provider(s, rp_uuid)
    seen = rp.generation
    current = _current(s, rp)
    used = [rc for rc, inv in current.items() if _in_use(s, rp, [inv.resource_class_id])]
    if used:
        raise _inuse_error(rp, used)
    s.execute(delete(m.Inventory).where(m.Inventory.resource_provider_id == rp.id))
    bump_generation(s, rp, seen)
