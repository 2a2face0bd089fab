"""Address scopes: who sees them (own, shared, shared by RBAC, admins all), create, update (a
shared scope cannot be unshared), delete (refused while a subnet pool uses it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import AddressScopeInUse, AddressScopeNotFound, AddressScopeUpdateError
from onestack.network.service.common import (
    Caller,
    Listing,
    ListQuery,
    new_id,
    paged,
    rbac_granted,
    stamp_new,
    touch,
)

A = models.AddressScope
RBAC_TYPE = "address_scope"


def visible(caller: Caller) -> Any:
    """Scopes ``caller`` may see: their own and shared ones (to all, or to them by RBAC)."""
    if caller.is_admin:
        return None
    return or_(A.project_id == caller.project_id, A.shared.is_(True),
               rbac_granted(RBAC_TYPE, A.id, "access_as_shared", caller.project_id))


def _visible_stmt(caller: Caller) -> Select[Any]:
    cond = visible(caller)
    return select(A) if cond is None else select(A).where(cond)


def listing() -> Listing:
    return Listing(tag_type=None, id_column=A.id,
                   columns={"id": A.id, "name": A.name, "project_id": A.project_id, "tenant_id": A.project_id,
                            "ip_version": A.ip_version, "shared": A.shared})


def get_row(s: Session, caller: Caller, address_scope_id: str) -> models.AddressScope:
    """The scope if ``caller`` may see it, else 404 ``AddressScopeNotFound``."""
    row: models.AddressScope | None = s.scalar(_visible_stmt(caller).where(A.id == address_scope_id))
    if row is None:
        raise AddressScopeNotFound(address_scope_id)
    return row


def view(row: models.AddressScope) -> dict[str, Any]:
    # Neutron's address scopes carry no standard attributes (no description, revision or times).
    return {"id": row.id, "name": row.name, "project_id": row.project_id, "tenant_id": row.project_id,
            "shared": row.shared, "ip_version": row.ip_version}


def views(rows: Sequence[models.AddressScope]) -> list[dict[str, Any]]:
    return [view(r) for r in rows]


def list_scopes(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    return views(paged(s, _visible_stmt(caller), listing(), q, A))


def show(s: Session, caller: Caller, address_scope_id: str) -> dict[str, Any]:
    return view(get_row(s, caller, address_scope_id))


def create(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    row = A(id=new_id(), project_id=project_id, name=attrs.get("name") or "", ip_version=attrs["ip_version"],
            shared=bool(attrs.get("shared", False)))
    stamp_new(row)
    s.add(row)
    s.flush()
    return view(row)


def update(s: Session, caller: Caller, address_scope_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    row = get_row(s, caller, address_scope_id)
    if "shared" in attrs:
        if row.shared and not attrs["shared"]:
            raise AddressScopeUpdateError(address_scope_id, "Shared address scope can't be unshared")
        row.shared = bool(attrs["shared"])
    if "name" in attrs:
        row.name = attrs["name"] or ""
    touch(row)
    s.flush()
    return view(row)


def delete(s: Session, caller: Caller, address_scope_id: str) -> None:
    row = get_row(s, caller, address_scope_id)
    # Any pool counts, also those of projects the caller cannot see.
    p = models.SubnetPool
    if s.scalar(select(p.id).where(p.address_scope_id == address_scope_id).limit(1)) is not None:
        raise AddressScopeInUse(address_scope_id)
    r = models.RbacPolicy
    s.query(r).filter(r.object_type == RBAC_TYPE, r.object_id == address_scope_id).delete()
    s.delete(row)
    s.flush()


def accessible(s: Session, caller: Caller, address_scope_id: str) -> models.AddressScope:
    """The scope a pool of ``caller`` may join (visible means accessible: own or shared)."""
    return get_row(s, caller, address_scope_id)


def scopes_of(s: Session, ids: Sequence[str]) -> dict[str, models.AddressScope]:
    if not ids:
        return {}
    return {r.id: r for r in s.scalars(select(A).where(A.id.in_(list(ids))))}
