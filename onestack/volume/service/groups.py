"""Generic volume groups: group types (with group specs), and groups of volumes of given
volume types. A generic group is bookkeeping only on the file backends (no backend object):
it is ``available`` once its row exists; deleting it with ``delete-volumes`` deletes its
volumes through the volumes' own delete path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import (
    GroupNotFound,
    GroupSnapshotNotFound,
    GroupTypeExists,
    GroupTypeNotFound,
    GroupTypeSpecsNotFound,
    Invalid,
    InvalidGroup,
    InvalidInput,
    InvalidVolume,
    NotFound,
    VolumeNotFound,
    VolumeTypeNotFound,
)
from onestack.volume.service import group_snapshots, quotas
from onestack.volume.service import volumes as volume_service
from onestack.volume.service.common import (
    Caller,
    ListQuery,
    created,
    get_visible,
    list_rows,
    new_id,
    now,
    update_type_row,
    visible,
)

GT = models.GroupType
G = models.Group
TYPE_SORT = {"name": GT.name, "created_at": GT.created_at, "id": GT.id}
GROUP_SORT = {"name": G.name, "created_at": G.created_at, "status": G.status, "id": G.id}
GROUP_FILTERS = ("name", "status", "availability_zone", "group_type_id")
DELETABLE = ("available", "error")
VOLUME_ADDABLE = ("available", "in-use")
VOLUME_REMOVABLE = ("available", "in-use", "error", "error_deleting")


# --- group types --------------------------------------------------------------------------------


@dataclass
class GroupTypeView:
    row: models.GroupType
    specs: dict[str, str] = field(default_factory=dict)


def _shared_with(project_id: str) -> ColumnElement[bool]:
    acc = models.GroupTypeAccess
    return exists().where(acc.group_type_id == GT.id, acc.project_id == project_id)


def _group_type(s: Session, id_or_name: str, caller: Caller) -> models.GroupType:
    row = s.get(GT, id_or_name) or s.scalar(select(GT).where(GT.name == id_or_name))
    if row is None or not (caller.is_admin or row.is_public
                           or s.scalar(select(_shared_with(caller.project_id)).where(GT.id == row.id))):
        raise GroupTypeNotFound(id_or_name)
    return row


def _type_view(s: Session, row: models.GroupType) -> GroupTypeView:
    sp = models.GroupTypeSpec
    return GroupTypeView(row, {r.key: r.value for r in s.scalars(select(sp).where(sp.group_type_id == row.id)
                                                                 .order_by(sp.key))})


def list_group_types(s: Session, caller: Caller, is_public: bool | None, lq: ListQuery) -> list[GroupTypeView]:
    """As volume types: True (members always) → public ones and those shared with the caller's
    project; False → private only; None (admins' ``is_public=none``) → all."""
    stmt = select(GT)
    if is_public is True:
        stmt = stmt.where(or_(GT.is_public.is_(True), _shared_with(caller.project_id)))
    elif is_public is False:
        stmt = stmt.where(GT.is_public.is_(False))
    return [_type_view(s, r) for r in list_rows(s, stmt, GT, lq, TYPE_SORT).rows]


def get_group_type(s: Session, id_or_name: str, caller: Caller) -> GroupTypeView:
    return _type_view(s, _group_type(s, id_or_name, caller))


def default_group_type(s: Session, name: str) -> GroupTypeView:
    row = s.scalar(select(GT).where(GT.name == name)) if name else None
    if row is None:
        raise NotFound("Default group type not found.")
    return _type_view(s, row)


def create_group_type(s: Session, name: str, description: str | None, is_public: bool,
                      specs: Mapping[str, str]) -> GroupTypeView:
    if s.scalar(select(GT.id).where(GT.name == name)) is not None:
        raise GroupTypeExists(name)
    row = GT(id=new_id(), name=name, description=description, is_public=is_public, created_at=now())
    s.add(row)
    s.flush()
    for key, value in specs.items():
        s.add(models.GroupTypeSpec(group_type_id=row.id, key=key, value=value))
    s.flush()
    return _type_view(s, row)


def update_group_type(s: Session, type_id: str, caller: Caller, changes: Mapping[str, Any]) -> GroupTypeView:
    row = _group_type(s, type_id, caller)
    update_type_row(s, GT, row, changes, GroupTypeExists)
    return _type_view(s, row)


def delete_group_type(s: Session, type_id: str, caller: Caller) -> None:
    row = _group_type(s, type_id, caller)
    if s.scalar(select(func.count()).select_from(G).where(G.group_type_id == row.id)):
        raise Invalid("Target group type is still in use.")
    s.execute(delete(models.GroupTypeSpec).where(models.GroupTypeSpec.group_type_id == row.id))
    s.execute(delete(models.GroupTypeAccess).where(models.GroupTypeAccess.group_type_id == row.id))
    s.delete(row)


def get_group_specs(s: Session, type_id: str, caller: Caller) -> dict[str, str]:
    return _type_view(s, _group_type(s, type_id, caller)).specs


def get_group_spec(s: Session, type_id: str, key: str, caller: Caller) -> str:
    row = _group_type(s, type_id, caller)
    spec = s.get(models.GroupTypeSpec, (row.id, key))
    if spec is None:
        raise GroupTypeSpecsNotFound(row.id, key)
    return spec.value


def set_group_specs(s: Session, type_id: str, specs: Mapping[str, str], caller: Caller) -> None:
    row = _group_type(s, type_id, caller)
    for key, value in specs.items():
        spec = s.get(models.GroupTypeSpec, (row.id, key))
        if spec is None:
            s.add(models.GroupTypeSpec(group_type_id=row.id, key=key, value=value))
        else:
            spec.value = value


def delete_group_spec(s: Session, type_id: str, key: str, caller: Caller) -> None:
    row = _group_type(s, type_id, caller)
    spec = s.get(models.GroupTypeSpec, (row.id, key))
    if spec is None:
        raise GroupTypeSpecsNotFound(row.id, key)
    s.delete(spec)


# --- groups -------------------------------------------------------------------------------------


@dataclass
class GroupView:
    row: models.Group
    volume_types: list[str]
    volumes: list[str]


def _group_view(s: Session, row: models.Group) -> GroupView:
    gvt, v = models.GroupVolumeType, models.Volume
    types = list(s.scalars(select(gvt.volume_type_id).where(gvt.group_id == row.id).order_by(gvt.volume_type_id)))
    vols = list(s.scalars(select(v.id).where(v.group_id == row.id).order_by(v.created_at, v.id)))
    return GroupView(row, types, vols)


def _group(s: Session, group_id: str, caller: Caller) -> models.Group:
    return get_visible(s, G, group_id, caller, GroupNotFound)


def _volume_type_id(s: Session, id_or_name: str, caller: Caller) -> str:
    t = models.VolumeType
    row = s.get(t, id_or_name) or s.scalar(select(t).where(t.name == id_or_name))
    if row is None:
        raise VolumeTypeNotFound(id_or_name)
    shared = s.get(models.VolumeTypeAccess, (row.id, caller.project_id)) is not None
    if not (caller.is_admin or row.is_public or shared):
        raise VolumeTypeNotFound(id_or_name)
    return row.id


def create_group(s: Session, caller: Caller, name: str | None, description: str | None, group_type: str,
                 volume_types: Sequence[str], availability_zone: str) -> GroupView:
    gtype = _group_type(s, group_type, caller)
    type_ids = list(dict.fromkeys(_volume_type_id(s, t, caller) for t in volume_types))
    quotas.check(s, caller.project_id, {"groups": 1})
    stamp = created()
    row = G(id=new_id(), project_id=caller.project_id, user_id=caller.user_id, name=name, description=description,
            status="available", availability_zone=availability_zone, group_type_id=gtype.id, created_at=stamp,
            updated_at=stamp)
    s.add(row)
    s.flush()
    for type_id in type_ids:
        s.add(models.GroupVolumeType(group_id=row.id, volume_type_id=type_id))
    s.flush()
    return _group_view(s, row)


def list_groups(s: Session, caller: Caller, lq: ListQuery) -> list[GroupView]:
    columns = {**GROUP_SORT, "availability_zone": G.availability_zone, "group_type_id": G.group_type_id}
    rows = list_rows(s, visible(select(G), G, caller, lq), G, lq, columns).rows
    return [_group_view(s, r) for r in rows]


def get_group(s: Session, group_id: str, caller: Caller) -> GroupView:
    return _group_view(s, _group(s, group_id, caller))


def update_group(s: Session, group_id: str, caller: Caller, changes: Mapping[str, Any],
                 add: Sequence[str], remove: Sequence[str]) -> None:
    """Cinder's update: the group must be available; volumes already in it are dropped from
    ``add``; a name or description equal to the current one is no change, and a request that
    changes nothing is refused."""
    row = _group(s, group_id, caller)
    if row.status != "available":
        raise InvalidGroup(f"Group status must be available, but current status is: {row.status}.")
    both = [vid for vid in add if vid in remove]
    if both:
        raise InvalidVolume(f"UUIDs {both} are in both add and remove volume list.")
    view = _group_view(s, row)
    add = [vid for vid in dict.fromkeys(add) if vid not in view.volumes]
    allowed = set(view.volume_types)
    for vid in add:
        v = s.get(models.Volume, vid)
        if v is None or not (caller.is_admin or v.project_id == caller.project_id):
            raise InvalidVolume(f"Cannot add volume {vid} to group {row.id} because volume cannot be found.")
        if v.group_id is not None:
            raise InvalidVolume(f"Cannot add volume {vid} to group {row.id} because it is already in group "
                                f"{v.group_id}.")
        if v.project_id != row.project_id:
            raise InvalidVolume(f"Cannot add volume {vid} to group {row.id} as they belong to different projects.")
        if v.volume_type_id not in allowed:
            raise InvalidVolume(f"Cannot add volume {vid} to group {row.id} because volume type "
                                f"{v.volume_type_id} is not supported by the group.")
        if v.status not in VOLUME_ADDABLE:
            raise InvalidVolume(f"Cannot add volume {vid} to group {row.id} because volume is in an invalid "
                                f"state: {v.status}. Valid states are: {VOLUME_ADDABLE}.")
    for vid in remove:
        v = s.get(models.Volume, vid)
        if v is None or v.group_id != row.id:
            raise InvalidVolume(f"Cannot remove volume {vid} from group {row.id} because it is not in the group.")
        if v.status not in VOLUME_REMOVABLE:
            raise InvalidVolume(f"Cannot remove volume {vid} from group {row.id} because volume is in an invalid "
                                f"state: {v.status}. Valid states are: {VOLUME_REMOVABLE}.")
    name = changes.get("name")
    description = changes.get("description")
    name = None if name == row.name else name
    description = None if description == row.description else description
    if name is None and description is None and not add and not remove:
        raise InvalidGroup(f"Cannot update group {row.id} because no valid name, description, add_volumes, or "
                           "remove_volumes were provided.")
    for vid in add:
        s.get_one(models.Volume, vid).group_id = row.id
    for vid in remove:
        s.get_one(models.Volume, vid).group_id = None
    if name is not None:
        row.name = name
    if description is not None:
        row.description = description
    row.updated_at = now()


def delete_group(s: Session, group_id: str, caller: Caller, delete_volumes: bool) -> list[volume_service.DeletePlan]:
    """The group's row goes; with ``delete_volumes`` its volumes start their own delete (the plans
    the API casts after the commit)."""
    row = _group(s, group_id, caller)
    # Cinder's checks and messages: with delete-volumes any group status will do, and its volumes
    # go whatever their status unless attached or with snapshots (a forced delete of each).
    if not delete_volumes and row.status not in DELETABLE:
        raise InvalidGroup(f"Group status must be available or error, but current status is: {row.status}")
    if group_snapshots.has_snapshots(s, row.id):
        raise InvalidGroup("Group has existing snapshots.")
    vols = list(s.scalars(select(models.Volume).where(models.Volume.group_id == row.id)
                          .order_by(models.Volume.created_at, models.Volume.id)))
    if vols and not delete_volumes:
        raise InvalidGroup(f"Group {row.id} still contains volumes. The delete-volumes flag is required to "
                           "delete it.")
    for v in vols:
        if v.attach_status == "attached":
            raise InvalidGroup(f"Volume in group {row.id} is attached. Need to detach first.")
        if s.scalar(select(models.Snapshot.id).where(models.Snapshot.volume_id == v.id).limit(1)) is not None:
            raise InvalidGroup("Volume in group still has dependent snapshots.")
    plans = []
    for v in vols:
        v.group_id = None  # out of the group, the volume's own delete path applies
        s.flush()
        try:
            plans.append(volume_service.begin_delete(s, v.id, caller, False, True))
        except (InvalidVolume, VolumeNotFound) as exc:  # migrating, or awaiting a transfer
            raise InvalidGroup(f"Volume {v.id} in the group cannot be deleted: {exc.message}") from None
    s.execute(delete(models.GroupVolumeType).where(models.GroupVolumeType.group_id == row.id))
    s.delete(row)
    return plans


def reset_status(s: Session, group_id: str, caller: Caller, status: str) -> None:
    valid = ("available", "error", "creating", "deleting", "error_deleting", "updating", "in-use")
    if status not in valid:
        raise InvalidInput(f"Group status {status} not allowed.")
    row = _group(s, group_id, caller)
    row.status, row.updated_at = status, now()


@dataclass
class SourcePlan:
    """A group made from a group snapshot or another group: the new row and what to copy into it."""

    group_id: str
    # (snapshot id or None, source volume id or None, volume type id) per new volume.
    sources: list[tuple[str | None, str | None, str]]


def create_from_source(s: Session, caller: Caller, group_snapshot_id: str | None, source_group_id: str | None,
                       name: str | None, description: str | None) -> SourcePlan:
    if bool(group_snapshot_id) == bool(source_group_id):
        raise InvalidInput("Either 'group_snapshot_id' or 'source_group_id' must be provided to create group "
                           f"{name} from source.")
    sources: list[tuple[str | None, str | None, str]] = []
    if group_snapshot_id:
        gs = s.get(models.GroupSnapshot, group_snapshot_id)
        if gs is None or not (caller.is_admin or gs.project_id == caller.project_id):
            raise GroupSnapshotNotFound(group_snapshot_id)
        src = _group(s, gs.group_id, caller)
        snaps = list(s.scalars(select(models.Snapshot).where(models.Snapshot.group_snapshot_id == gs.id)
                               .order_by(models.Snapshot.created_at, models.Snapshot.id)))
        if not snaps or any(sn.status != "available" for sn in snaps):
            raise InvalidGroup(f"Group snapshot {gs.id} is not available.")
        sources = [(sn.id, None, sn.volume_type_id or "") for sn in snaps]
    else:
        src = _group(s, source_group_id or "", caller)
        if src.status != "available":
            raise InvalidGroup(f"Source Group {src.id} must be available.")
        vols = list(s.scalars(select(models.Volume).where(models.Volume.group_id == src.id)
                              .order_by(models.Volume.created_at, models.Volume.id)))
        sources = [(None, v.id, v.volume_type_id) for v in vols]
    quotas.check(s, caller.project_id, {"groups": 1})
    stamp = created()
    row = G(id=new_id(), project_id=caller.project_id, user_id=caller.user_id, name=name, description=description,
            status="creating", availability_zone=src.availability_zone, group_type_id=src.group_type_id,
            group_snapshot_id=group_snapshot_id or None, source_group_id=source_group_id or None,
            created_at=stamp, updated_at=stamp)
    s.add(row)
    s.flush()
    for type_id in _group_view(s, src).volume_types:
        s.add(models.GroupVolumeType(group_id=row.id, volume_type_id=type_id))
    s.flush()
    return SourcePlan(row.id, sources)


def finish_from_source(s: Session, group_id: str, ok: bool) -> None:
    row = s.get(G, group_id)
    if row is not None:
        row.status, row.updated_at = ("available" if ok else "error"), now()
