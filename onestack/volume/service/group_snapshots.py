"""Group snapshots (``/group_snapshots``, 3.14): one snapshot of every volume of a group, made
through the snapshots' own create path and cast to their agents.

The status follows the member snapshots while the group snapshot is ``creating`` (any error →
``error``, any still creating → ``creating``, else ``available``), so no completion message of
its own is needed. A deleted group snapshot is ``deleting`` until its last snapshot is gone;
it then reads as gone, and the next write in this module removes the row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import (
    GroupNotFound,
    GroupSnapshotNotFound,
    InvalidGroup,
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
    members = _members(s, row.id)
    if row.status == "deleting":
        return "deleting" if members else None
    if row.status != "creating":
        return row.status
    found = {m.status for m in members}
    if found & {"error", "error_deleting"}:
        return "error"
    return "creating" if "creating" in found else "available"


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
    if group.status != "available":
        raise InvalidGroup(f"Group {group.id} status must be available, but current status is: {group.status}.")
    vols = list(s.scalars(select(models.Volume).where(models.Volume.group_id == group.id)
                          .order_by(models.Volume.created_at, models.Volume.id)))
    row = GS(id=new_id(), group_id=group.id, project_id=group.project_id, user_id=caller.user_id, name=name,
             description=description, status="creating", group_type_id=group.group_type_id, created_at=created())
    s.add(row)
    s.flush()
    casts = []
    for v in vols:
        bundle, cast = snapshots.create(s, caller, v.id, False, True, f"snapshot-{row.id}", None, {})
        bundle.row.group_snapshot_id = row.id
        if cast is not None:
            casts.append(cast)
    s.flush()
    return GroupSnapshotView(row, "creating" if vols else "available"), casts


def delete(s: Session, gs_id: str, caller: Caller) -> list[snapshots.Cast]:
    view = _get(s, gs_id, caller)
    if view.status not in ("available", "error"):
        raise InvalidGroupSnapshot(f"Group snapshot status must be available or error, and no Group can be "
                                   f"created from it, but current status is: {view.status}.")
    if s.scalar(select(models.Group.id).where(models.Group.group_snapshot_id == gs_id)) is not None:
        raise InvalidGroupSnapshot("Cannot delete group snapshot: a group was created from it.")
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
