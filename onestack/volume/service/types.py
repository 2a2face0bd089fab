"""Volume types: the types themselves, their extra specs, which projects may use a private one,
their encryption, and each project's own default type (``/default-types``, 3.62).

Who sees a type: an admin sees every type by id; anyone else sees public types and the private
ones shared with their project, and another private type is a 404 (as Cinder's project-only
query answers). A type named by id or by name is the same lookup (Cinder's
``get_by_name_or_id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import (
    Invalid,
    NotFound,
    VolumeTypeAccessExists,
    VolumeTypeAccessNotFound,
    VolumeTypeEncryptionExists,
    VolumeTypeEncryptionNotFound,
    VolumeTypeExists,
    VolumeTypeExtraSpecsNotFound,
    VolumeTypeNotFound,
    VolumeTypeProjectDefaultNotFound,
)
from onestack.volume.service import default_type as default_types
from onestack.volume.service.common import (
    Caller,
    ListQuery,
    iso,
    list_rows,
    new_id,
    now,
    update_type_row,
)

T = models.VolumeType
SORT_COLUMNS = {"name": T.name, "created_at": T.created_at, "updated_at": T.updated_at, "id": T.id,
                "description": T.description, "is_public": T.is_public}


@dataclass
class TypeView:
    """One type as the API renders it."""

    row: models.VolumeType
    extra_specs: dict[str, str] = field(default_factory=dict)


def _shared_with(project_id: str) -> ColumnElement[bool]:
    acc = models.VolumeTypeAccess
    return exists().where(acc.volume_type_id == T.id, acc.project_id == project_id)


def _specs(s: Session, type_id: str) -> dict[str, str]:
    es = models.VolumeTypeExtraSpec
    return {r.key: r.value for r in s.scalars(select(es).where(es.volume_type_id == type_id).order_by(es.key))}


def _find(s: Session, id_or_name: str, caller: Caller) -> models.VolumeType:
    row = s.get(T, id_or_name) or s.scalar(select(T).where(T.name == id_or_name))
    if row is None:
        raise VolumeTypeNotFound(id_or_name)
    if not (caller.is_admin or row.is_public or s.scalar(select(_shared_with(caller.project_id)
                                                                  .where(T.id == row.id)))):
        raise VolumeTypeNotFound(id_or_name)
    return row


def view(s: Session, row: models.VolumeType) -> TypeView:
    return TypeView(row, _specs(s, row.id))


def list_types(s: Session, caller: Caller, is_public: bool | None, lq: ListQuery,
               extra_specs: Mapping[str, str] | None = None) -> list[TypeView]:
    """Cinder's filter: ``is_public`` True (the default) is the public types plus those shared with
    the caller's project; False only private ones; None (admins' ``is_public=none``) all.
    ``extra_specs`` (3.52): types having every one of these specs."""
    stmt = select(T)
    es = models.VolumeTypeExtraSpec
    for key, value in (extra_specs or {}).items():
        stmt = stmt.where(exists().where(es.volume_type_id == T.id, es.key == key, es.value == value))
    if is_public is True:
        stmt = stmt.where(or_(T.is_public.is_(True), _shared_with(caller.project_id)))
    elif is_public is False:
        stmt = stmt.where(T.is_public.is_(False))
    return [view(s, r) for r in list_rows(s, stmt, T, lq, SORT_COLUMNS).rows]


def get_type(s: Session, id_or_name: str, caller: Caller) -> TypeView:
    return view(s, _find(s, id_or_name, caller))


def default_type(s: Session, caller: Caller, configured: str) -> TypeView:
    """The project's own default (3.62), else the configured ``default_volume_type``, else ``__DEFAULT__``."""
    try:
        return view(s, default_types.resolve(s, caller.project_id, configured))
    except NotFound:
        raise VolumeTypeNotFound("default") from None


def create_type(s: Session, name: str, description: str | None, is_public: bool,
                extra_specs: Mapping[str, str]) -> TypeView:
    if s.scalar(select(T.id).where(T.name == name)) is not None:
        raise VolumeTypeExists(name)
    row = T(id=new_id(), name=name, description=description, is_public=is_public, created_at=now())
    s.add(row)
    s.flush()
    for key, value in extra_specs.items():
        s.add(models.VolumeTypeExtraSpec(volume_type_id=row.id, key=key, value=value))
    s.flush()
    return view(s, row)


def update_type(s: Session, type_id: str, caller: Caller, changes: Mapping[str, Any]) -> TypeView:
    row = _find(s, type_id, caller)
    update_type_row(s, T, row, changes, VolumeTypeExists)
    return view(s, row)


def in_use(s: Session, type_id: str) -> bool:
    v = models.Volume
    return bool(s.scalar(select(func.count()).select_from(v).where(v.volume_type_id == type_id)))


def delete_type(s: Session, type_id: str, caller: Caller, configured_default: str) -> None:
    row = _find(s, type_id, caller)
    if row.name == configured_default:
        raise Invalid(f"The volume type {row.id} is a default volume type and cannot be deleted.")
    if in_use(s, row.id):
        raise Invalid("Target volume type is still in use.")
    if s.scalar(select(func.count()).select_from(T)) == 1:
        raise Invalid(f"The volume type {row.id} is the only currently defined volume type and cannot be deleted.")
    s.execute(delete(models.VolumeTypeExtraSpec).where(models.VolumeTypeExtraSpec.volume_type_id == row.id))
    s.execute(delete(models.VolumeTypeAccess).where(models.VolumeTypeAccess.volume_type_id == row.id))
    s.execute(delete(models.VolumeTypeEncryption).where(models.VolumeTypeEncryption.volume_type_id == row.id))
    s.execute(delete(models.DefaultVolumeType).where(models.DefaultVolumeType.volume_type_id == row.id))
    s.delete(row)


# --- extra specs --------------------------------------------------------------------------------


def get_specs(s: Session, type_id: str, caller: Caller) -> dict[str, str]:
    return _specs(s, _find(s, type_id, caller).id)


def get_spec(s: Session, type_id: str, key: str, caller: Caller) -> str:
    row = _find(s, type_id, caller)
    found = s.get(models.VolumeTypeExtraSpec, (row.id, key))
    if found is None:
        raise VolumeTypeExtraSpecsNotFound(row.id, key)
    return found.value


def set_specs(s: Session, type_id: str, specs: Mapping[str, str], caller: Caller) -> dict[str, str]:
    row = _find(s, type_id, caller)
    for key, value in specs.items():
        spec = s.get(models.VolumeTypeExtraSpec, (row.id, key))
        if spec is None:
            s.add(models.VolumeTypeExtraSpec(volume_type_id=row.id, key=key, value=value))
        else:
            spec.value = value
    row.updated_at = now()
    s.flush()
    return dict(specs)


def delete_spec(s: Session, type_id: str, key: str, caller: Caller) -> None:
    row = _find(s, type_id, caller)
    spec = s.get(models.VolumeTypeExtraSpec, (row.id, key))
    if spec is None:
        raise VolumeTypeExtraSpecsNotFound(row.id, key)
    s.delete(spec)


# --- access -------------------------------------------------------------------------------------


def access_list(s: Session, type_id: str, caller: Caller) -> list[dict[str, str]]:
    row = _find(s, type_id, caller)
    if row.is_public:
        # Cinder: "Access list not available for public volume types."
        raise NotFound("Access list not available for public volume types.")
    acc = models.VolumeTypeAccess
    projects = s.scalars(select(acc.project_id).where(acc.volume_type_id == row.id).order_by(acc.project_id))
    return [{"volume_type_id": row.id, "project_id": p} for p in projects]


def add_access(s: Session, type_id: str, project_id: str, caller: Caller) -> None:
    row = _find(s, type_id, caller)
    if row.is_public:
        raise Invalid("Invalid volume type: Type access modification is not applicable to public volume type.")
    if s.get(models.VolumeTypeAccess, (row.id, project_id)) is not None:
        raise VolumeTypeAccessExists(row.id, project_id)
    s.add(models.VolumeTypeAccess(volume_type_id=row.id, project_id=project_id))


def remove_access(s: Session, type_id: str, project_id: str, caller: Caller) -> None:
    row = _find(s, type_id, caller)
    if row.is_public:
        raise Invalid("Invalid volume type: Type access modification is not applicable to public volume type.")
    found = s.get(models.VolumeTypeAccess, (row.id, project_id))
    if found is None:
        raise VolumeTypeAccessNotFound(row.id, project_id)
    s.delete(found)


# --- encryption ---------------------------------------------------------------------------------


def encryption_dict(e: models.VolumeTypeEncryption) -> dict[str, Any]:
    return {"volume_type_id": e.volume_type_id, "encryption_id": e.encryption_id, "provider": e.provider,
            "cipher": e.cipher, "key_size": e.key_size, "control_location": e.control_location,
            "deleted": False, "created_at": iso(e.created_at), "updated_at": iso(e.updated_at), "deleted_at": None}


def get_encryption(s: Session, type_id: str, caller: Caller) -> models.VolumeTypeEncryption | None:
    row = _find(s, type_id, caller)
    return s.get(models.VolumeTypeEncryption, row.id)


def create_encryption(s: Session, type_id: str, spec: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
    row = _find(s, type_id, caller)
    if s.get(models.VolumeTypeEncryption, row.id) is not None:
        raise VolumeTypeEncryptionExists(row.id)
    if in_use(s, row.id):
        raise Invalid("Cannot create encryption specs. Volume type in use.")
    enc = models.VolumeTypeEncryption(volume_type_id=row.id, encryption_id=new_id(), provider=spec["provider"],
                                      cipher=spec.get("cipher"), key_size=spec.get("key_size"),
                                      control_location=spec.get("control_location") or "front-end",
                                      created_at=now())
    s.add(enc)
    s.flush()
    return encryption_dict(enc)


def update_encryption(s: Session, type_id: str, encryption_id: str, spec: Mapping[str, Any],
                      caller: Caller) -> None:
    row = _find(s, type_id, caller)
    enc = s.get(models.VolumeTypeEncryption, row.id)
    if enc is None or enc.encryption_id != encryption_id:
        raise VolumeTypeEncryptionNotFound(row.id)
    if in_use(s, row.id):
        raise Invalid("Cannot update encryption specs. Volume type in use.")
    for key in ("provider", "cipher", "key_size", "control_location"):
        if key in spec:
            setattr(enc, key, spec[key])
    enc.updated_at = now()


def delete_encryption(s: Session, type_id: str, encryption_id: str, caller: Caller) -> None:
    row = _find(s, type_id, caller)
    enc = s.get(models.VolumeTypeEncryption, row.id)
    if enc is None or enc.encryption_id != encryption_id:
        raise VolumeTypeEncryptionNotFound(row.id)
    if in_use(s, row.id):
        raise Invalid("Cannot delete encryption specs. Volume type in use.")
    s.delete(enc)


# --- per-project default types (3.62) -----------------------------------------------------------


def _default_dict(row: models.DefaultVolumeType) -> dict[str, str]:
    return {"project_id": row.project_id, "volume_type_id": row.volume_type_id}


def set_default(s: Session, project_id: str, type_id_or_name: str, caller: Caller) -> dict[str, str]:
    vtype = _find(s, type_id_or_name, caller)
    row = s.get(models.DefaultVolumeType, project_id)
    if row is None:
        row = models.DefaultVolumeType(project_id=project_id, volume_type_id=vtype.id)
        s.add(row)
    else:
        row.volume_type_id = vtype.id
    s.flush()
    return _default_dict(row)


def get_default(s: Session, project_id: str) -> dict[str, str]:
    row = s.get(models.DefaultVolumeType, project_id)
    if row is None:
        raise VolumeTypeProjectDefaultNotFound(project_id)
    return _default_dict(row)


def list_defaults(s: Session) -> list[dict[str, str]]:
    d = models.DefaultVolumeType
    return [_default_dict(r) for r in s.scalars(select(d).order_by(d.project_id))]


def unset_default(s: Session, project_id: str) -> None:
    s.execute(delete(models.DefaultVolumeType).where(models.DefaultVolumeType.project_id == project_id))
