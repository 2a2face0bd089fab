"""QoS specs: named sets of limits a back end or the hypervisor (``consumer``) applies to the
volumes of the types associated with them (a type has at most one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import (
    Invalid,
    QoSSpecsExists,
    QoSSpecsInUse,
    QoSSpecsKeyNotFound,
    QoSSpecsNotFound,
    VolumeTypeNotFound,
)
from onestack.volume.service.common import ListQuery, list_rows, new_id, now

Q = models.QosSpecs
SORT_COLUMNS = {"name": Q.name, "created_at": Q.created_at, "consumer": Q.consumer, "id": Q.id}


@dataclass
class QosView:
    row: models.QosSpecs
    specs: dict[str, str] = field(default_factory=dict)


def _get(s: Session, specs_id: str) -> models.QosSpecs:
    row = s.get(Q, specs_id)
    if row is None:
        raise QoSSpecsNotFound(specs_id)
    return row


def _view(s: Session, row: models.QosSpecs) -> QosView:
    k = models.QosSpecsKey
    keys = s.scalars(select(k).where(k.qos_specs_id == row.id).order_by(k.key))
    return QosView(row, {r.key: r.value for r in keys})


def create(s: Session, name: str, consumer: str, specs: Mapping[str, str]) -> QosView:
    if s.scalar(select(Q.id).where(Q.name == name)) is not None:
        raise QoSSpecsExists(name)
    row = Q(id=new_id(), name=name, consumer=consumer, created_at=now())
    s.add(row)
    s.flush()
    for key, value in specs.items():
        s.add(models.QosSpecsKey(qos_specs_id=row.id, key=key, value=value))
    s.flush()
    return _view(s, row)


def list_specs(s: Session, lq: ListQuery) -> list[QosView]:
    return [_view(s, r) for r in list_rows(s, select(Q), Q, lq, SORT_COLUMNS).rows]


def get(s: Session, specs_id: str) -> QosView:
    return _view(s, _get(s, specs_id))


def set_keys(s: Session, specs_id: str, specs: Mapping[str, str]) -> None:
    row = _get(s, specs_id)
    for key, value in specs.items():
        found = s.get(models.QosSpecsKey, (row.id, key))
        if found is None:
            s.add(models.QosSpecsKey(qos_specs_id=row.id, key=key, value=value))
        else:
            found.value = value
    row.updated_at = now()


def delete_keys(s: Session, specs_id: str, keys: Sequence[str]) -> None:
    row = _get(s, specs_id)
    for key in keys:
        found = s.get(models.QosSpecsKey, (row.id, key))
        if found is None:
            raise QoSSpecsKeyNotFound(row.id, key)
        s.delete(found)


def _associated(s: Session, specs_id: str) -> list[models.VolumeType]:
    t = models.VolumeType
    return list(s.scalars(select(t).where(t.qos_specs_id == specs_id).order_by(t.name, t.id)))


def delete_specs(s: Session, specs_id: str, force: bool) -> None:
    row = _get(s, specs_id)
    if _associated(s, row.id):
        if not force:
            raise QoSSpecsInUse(row.id)
        s.execute(update(models.VolumeType).where(models.VolumeType.qos_specs_id == row.id)
                  .values(qos_specs_id=None))
    s.execute(delete(models.QosSpecsKey).where(models.QosSpecsKey.qos_specs_id == row.id))
    s.delete(row)


def associations(s: Session, specs_id: str) -> list[dict[str, str]]:
    row = _get(s, specs_id)
    return [{"association_type": "volume_type", "name": t.name, "id": t.id} for t in _associated(s, row.id)]


def associate(s: Session, specs_id: str, type_id: str) -> None:
    row = _get(s, specs_id)
    vtype = s.get(models.VolumeType, type_id)
    if vtype is None:
        raise VolumeTypeNotFound(type_id)
    if vtype.qos_specs_id is not None and vtype.qos_specs_id != row.id:
        raise Invalid(f"Invalid volume type: Type {type_id} is already associated with another qos specs: "
                      f"{vtype.qos_specs_id}")
    vtype.qos_specs_id = row.id


def disassociate(s: Session, specs_id: str, type_id: str) -> None:
    row = _get(s, specs_id)
    vtype = s.get(models.VolumeType, type_id)
    if vtype is None:
        raise VolumeTypeNotFound(type_id)
    if vtype.qos_specs_id == row.id:
        vtype.qos_specs_id = None


def disassociate_all(s: Session, specs_id: str) -> None:
    row = _get(s, specs_id)
    s.execute(update(models.VolumeType).where(models.VolumeType.qos_specs_id == row.id).values(qos_specs_id=None))

