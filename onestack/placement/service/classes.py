"""Resource classes: the standard ones and CUSTOM_ classes."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from onestack.core.ids import utcnow
from onestack.placement import models as m
from onestack.placement.service.common import DUPLICATE_NAME, bad_request, conflict, not_found
from onestack.placement.standard import RESOURCE_CLASSES

STANDARD = frozenset(RESOURCE_CLASSES)


def listing(s: Session) -> list[str]:
    return list(s.scalars(select(m.ResourceClass.name).order_by(m.ResourceClass.id)))


def get(s: Session, name: str) -> m.ResourceClass:
    rc = s.scalar(select(m.ResourceClass).where(m.ResourceClass.name == name))
    if rc is None:
        raise not_found(f"No such resource class {name}.")
    return rc


def create(s: Session, name: str, *, exist_ok: bool = False) -> bool:
    if s.scalar(select(m.ResourceClass.id).where(m.ResourceClass.name == name)) is not None:
        if exist_ok:
            return False
        raise conflict(f"Conflicting resource class already exists: {name}", DUPLICATE_NAME)
    now = utcnow()
    s.add(m.ResourceClass(name=name, created_at=now, updated_at=now))
    s.flush()
    return True


def rename(s: Session, name: str, new_name: str) -> None:
    if name in STANDARD:
        raise bad_request(f"Cannot update standard resource class {name}")
    rc = get(s, name)
    if new_name != name and s.scalar(select(m.ResourceClass.id).where(m.ResourceClass.name == new_name)):
        raise conflict(f"Resource class already exists: {new_name}", DUPLICATE_NAME)
    rc.name = new_name
    rc.updated_at = utcnow()


def remove(s: Session, name: str) -> None:
    if name in STANDARD:
        raise bad_request(f"Cannot delete standard resource class {name}")
    rc = get(s, name)
    if s.scalar(select(exists().where(m.Inventory.resource_class_id == rc.id))):
        raise conflict(f"Unable to delete resource class {name}. Class is in use in inventory.")
    s.delete(rc)


def seed(s: Session) -> None:
    have = set(s.scalars(select(m.ResourceClass.name)))
    now = utcnow()
    for name in RESOURCE_CLASSES:
        if name not in have:
            s.add(m.ResourceClass(name=name, created_at=now, updated_at=now))
            s.flush()  # standard classes keep their listed order (ids ascend)
