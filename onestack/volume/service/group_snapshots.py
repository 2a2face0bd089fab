"""Group snapshots (``/group_snapshots``, 3.14): one snapshot of every volume of a group, made
through the snapshots' own create path and cast to their agents.

A ``creating`` group snapshot settles when its last member snapshot's creation is reported
(``settle``, called from the snapshot completion: any error → ``error``, else ``available``),
so it needs no completion message of its own, and the status is a stored one an admin's
reset_status (3.19) can set. A deleted group snapshot is ``deleting`` until its last snapshot is
gone; it then reads as gone, and the next write in this module removes the row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import (
    GroupNotFound,
    GroupSnapshotNotFound,
    InvalidGroupSnapshot,
    InvalidInput,
)
from onestack.volume.service import snapshots
from onestack.volume.service.common import (
    Caller,
    ListQuery,
    created,
    list_rows,
    new_id,
    now,
    visible,
)

GS = models.GroupSnapshot
S = models.Snapshot
SORT = {"name": GS.name, "created_at": GS.created_at, "status": GS.status, "id": GS.id}
FILTERS = ("name", "status", "group_id")
STATUSES = ("available", "error", "creating", "deleting", "error_deleting")


@dataclass
class GroupSnapshotView:
    row: models.GroupSnapshot
    status: str


def _members(s: Session, gs_id: str) -> list[models.Snapshot]:
    return list(s.scalars(select(S).where(S.group_snapshot_id == gs_id).order_by(S.created_at, S.id)))


def _status(s: Session, row: models.GroupSnapshot) -> str | None:
    """What to show; None when a deleted group snapshot's snapshots are all gone."""
    if row.status == "deleting":
        return "deleting" if _members(s, row.id) else None
    return row.status


def settle(s: Session, gs_id: str) -> None:
    """A member snapshot's creation ended: once none is ``creating`` any more, a ``creating``
    group snapshot becomes ``error`` if one failed, else ``available``. The row lock orders the
    completions of sibling snapshots, so the last one sees all the others' outcomes."""
    row = s.get(GS, gs_id, with_for_update=True)
    if row is None or row.status != "creating":
        return
    found = {m.status for m in _members(s, gs_id)}
    if "creating" in found:
        return
    row.status = "error" if found & {"error", "error_deleting"} else "available"
    row.updated_at = now()


def _purge(s: Session) -> None:
    """Rows of deleted group snapshots whose snapshots are all gone."""
    gone = select(GS).where(GS.status == "deleting", ~exists().where(S.group_snapshot_id == GS.id))
    for row in s.scalars(gone.order_by(GS.id)):
        s.delete(row)
    s.flush()


def _get(s: Session, gs_id: str, caller: Caller) -> GroupSnapshotView:
    row = s.get(GS, gs_id)
    if row is None or not (caller.is_admin or row.project_id == caller.project_id):
        raise GroupSnapshotNotFound(gs_id)
    status = _status(s, row)
    if status is None:
        raise GroupSnapshotNotFound(gs_id)
    return GroupSnapshotView(row, status)


def get(s: Session, gs_id: str, caller: Caller) -> GroupSnapshotView:
    return _get(s, gs_id, caller)


def list_group_snapshots(s: Session, caller: Caller, lq: ListQuery) -> list[GroupSnapshotView]:
    columns = {**SORT, "group_id": GS.group_id}
    out = []
    for row in list_rows(s, visible(select(GS), GS, caller, lq), GS, lq, columns).rows:
        status = _status(s, row)
        if status is not None:
            out.append(GroupSnapshotView(row, status))
    return out


def create(s: Session, caller: Caller, group_id: str, name: str | None,
           description: str | None) -> tuple[GroupSnapshotView, list[snapshots.Cast]]:
    _purge(s)
    group = s.get(models.Group, group_id)
    if group is None or not (caller.is_admin or group.project_id == caller.project_id):
        raise GroupNotFound(group_id)
    # As Cinder, the group's status is not checked: each member volume's is, by the snapshot path.
    vols = list(s.scalars(select(models.Volume).where(models.Volume.group_id == group.id)
                          .order_by(models.Volume.created_at, models.Volume.id)))
    row = GS(id=new_id(), group_id=group.id, project_id=group.project_id, user_id=caller.user_id, name=name,
             description=description, status="creating", group_type_id=group.group_type_id, created_at=created())
    s.add(row)
    s.flush()
    casts = []
    for v in vols:
        bundle, cast = snapshots.create(s, caller, v.id, False, True, name, description, {})  # Cinder's names
        bundle.row.group_snapshot_id = row.id
        if cast is not None:
            casts.append(cast)
    if not vols:
        row.status = "available"  # nothing to wait for
    s.flush()
    return GroupSnapshotView(row, row.status), casts


def delete(s: Session, gs_id: str, caller: Caller) -> list[snapshots.Cast]:
    view = _get(s, gs_id, caller)
    # As Cinder: only a group still being made from it holds it (a made group keeps no tie).
    making = select(models.Group.id).where(models.Group.group_snapshot_id == gs_id, models.Group.status == "creating")
    if view.status not in ("available", "error") or s.scalar(making.limit(1)) is not None:
        raise InvalidGroupSnapshot("GroupSnapshot status must be available or error, and no Group can be currently "
                                   "using it as source for its creation.")
    view.row.status, view.row.updated_at = "deleting", now()
    casts = []
    for snap in _members(s, gs_id):
        cast = snapshots.delete_snapshot(s, caller, snap.id, True)
        if cast is not None:
            casts.append(cast)
    s.flush()
    _purge(s)
    return casts


def reset_status(s: Session, gs_id: str, caller: Caller, status: str) -> None:
    if status not in STATUSES:
        raise InvalidInput(f"Group snapshot status {status} not allowed.")
    view = _get(s, gs_id, caller)
    view.row.status, view.row.updated_at = status, now()


def has_snapshots(s: Session, group_id: str) -> bool:
    """Whether the group has group snapshots left (a group with them cannot be deleted)."""
    _purge(s)
    return s.scalar(select(GS.id).where(GS.group_id == group_id).limit(1)) is not None
