"""The volume resource below the API: load (the bundle every view renders), list with Cinder's
filters, update, the start of a delete, and the summary. Creating is service/create_flow.py."""

from __future__ import annotations

import ast
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from onestack.volume import models
from onestack.volume.errors import InvalidInput, InvalidVolume, VolumeNotFound
from onestack.volume.rpcapi import SnapshotSpec, VolumeSpec
from onestack.volume.service.common import Caller, ListQuery, get_visible, list_rows, now, visible
from onestack.volume.service.specs import agent_host, snapshot_spec, volume_spec

V = models.Volume
# Admin metadata that Cinder shows among a volume's metadata (utils.add_visible_admin_metadata).
VISIBLE_ADMIN_KEYS = ("readonly", "attached_mode")

COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "id": V.id, "name": V.name, "status": V.status, "size": V.size, "availability_zone": V.availability_zone,
    "created_at": V.created_at, "updated_at": V.updated_at, "bootable": V.bootable, "group_id": V.group_id,
    "migration_status": V.migration_status, "description": V.description, "project_id": V.project_id,
    "volume_type_id": V.volume_type_id, "user_id": V.user_id,
}
SORT_KEYS = ("id", "name", "status", "size", "availability_zone", "created_at", "updated_at", "bootable")
FILTERS = ("name", "status", "metadata", "bootable", "migration_status", "availability_zone", "group_id", "size",
           "created_at", "updated_at")
LIKE = ("name", "description", "status", "availability_zone")
_TIME_OPS = {"gt", "gte", "lt", "lte", "eq", "neq"}


@dataclass
class VolumeBundle:
    """A volume with what its view shows (``api/volume_views.py`` renders it)."""

    volume: models.Volume
    metadata: dict[str, str] = field(default_factory=dict)
    admin_metadata: dict[str, str] = field(default_factory=dict)
    image_metadata: dict[str, str] = field(default_factory=dict)
    attachments: list[models.Attachment] = field(default_factory=list)
    volume_type: str | None = None

    @property
    def shown_metadata(self) -> dict[str, str]:
        """User metadata plus the visible admin keys (``readonly``, ``attached_mode``)."""
        shown = dict(self.metadata)
        for key in VISIBLE_ADMIN_KEYS:
            if key in self.admin_metadata:
                shown[key] = self.admin_metadata[key]
        return shown


def get_row(s: Session, volume_id: str, caller: Caller) -> models.Volume:
    """The volume row the caller may see (own project, or any for an admin); 404 otherwise."""
    return get_visible(s, V, volume_id, caller, VolumeNotFound)


def load(s: Session, volume_id: str, caller: Caller) -> VolumeBundle:
    return bundles(s, [get_row(s, volume_id, caller)])[0]


def bundles(s: Session, rows: Sequence[models.Volume]) -> list[VolumeBundle]:
    """Bundles for ``rows`` in their order, with a handful of queries whatever their number."""
    ids = [v.id for v in rows]
    if not ids:
        return []
    meta: dict[str, dict[str, str]] = defaultdict(dict)
    admin: dict[str, dict[str, str]] = defaultdict(dict)
    image: dict[str, dict[str, str]] = defaultdict(dict)
    # The three metadata tables in one round trip, told apart by a tag column.
    targets = (meta, admin, image)
    m, am, im = models.VolumeMetadata, models.VolumeAdminMetadata, models.VolumeImageMetadata
    found: Any = s.execute(union_all(
        select(literal_column("0").label("tag"), m.volume_id, m.key, m.value).where(m.volume_id.in_(ids)),
        select(literal_column("1").label("tag"), am.volume_id, am.key, am.value).where(am.volume_id.in_(ids)),
        select(literal_column("2").label("tag"), im.volume_id, im.key, im.value).where(im.volume_id.in_(ids))))
    for tag, vid, key, value in sorted(found.tuples(), key=lambda r: (r[0], r[1], r[2])):
        targets[int(tag)][vid][key] = value
    attached: dict[str, list[models.Attachment]] = defaultdict(list)
    for a in s.scalars(select(models.Attachment).where(models.Attachment.volume_id.in_(ids))
                       .order_by(models.Attachment.created_at, models.Attachment.id)):
        attached[a.volume_id].append(a)
    type_ids = {v.volume_type_id for v in rows}
    names = dict(s.execute(select(models.VolumeType.id, models.VolumeType.name)
                           .where(models.VolumeType.id.in_(type_ids))).tuples().all())
    return [VolumeBundle(volume=v, metadata=meta[v.id], admin_metadata=admin[v.id], image_metadata=image[v.id],
                         attachments=attached[v.id], volume_type=names.get(v.volume_type_id)) for v in rows]


# --- lists ----------------------------------------------------------------------------------------


@dataclass
class VolumeListing:
    bundles: list[VolumeBundle]
    count: int | None


def list_volumes(s: Session, caller: Caller, lq: ListQuery, detail: bool = True) -> VolumeListing:
    """``detail=False``: the summary list shows id and name only, so bare bundles (no further query)."""
    stmt = visible(select(V), V, caller, lq)
    stmt, rest = _special_filters(stmt, lq.filters)
    listing = list_rows(s, stmt, V, replace(lq, filters=rest), COLUMNS)
    found = bundles(s, listing.rows) if detail else [VolumeBundle(volume=v) for v in listing.rows]
    return VolumeListing(found, listing.count)


def _special_filters(stmt: Select[Any], filters: Mapping[str, Any]) -> tuple[Select[Any], dict[str, Any]]:
    """Apply what is more than ``column == value`` (metadata, booleans, sizes, times); the rest stays."""
    rest: dict[str, Any] = {}
    for name, value in filters.items():
        if name == "metadata":
            for key, val in parse_metadata_filter(value).items():
                m = models.VolumeMetadata
                stmt = stmt.where(select(m.volume_id).where(m.volume_id == V.id, m.key == key,
                                                            m.value == str(val)).exists())
        elif name == "bootable":
            stmt = stmt.where(V.bootable.is_(_bool(value, "bootable")))
        elif name == "size":
            try:
                stmt = stmt.where(V.size == int(value))
            except ValueError:
                raise InvalidInput(f"Invalid value '{value}' for size: it must be an integer.") from None
        elif name in ("created_at", "updated_at"):
            stmt = stmt.where(_time_filter(COLUMNS[name], name, value))
        else:
            rest[name] = value
    return stmt, rest


def parse_metadata_filter(value: Any) -> dict[str, Any]:
    """``metadata={'k': 'v'}`` as Python or JSON text (clients send either)."""
    if isinstance(value, Mapping):
        return dict(value)
    parsed: Any = None
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            parsed = None
    if not isinstance(parsed, dict):
        raise InvalidInput(f"Invalid value '{value}' for metadata: it must be a dictionary.")
    return parsed


def _bool(value: Any, name: str) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "t", "true", "on", "y", "yes"):
        return True
    if text in ("0", "f", "false", "off", "n", "no"):
        return False
    raise InvalidInput(f"Invalid value '{value}' for {name}: it must be a boolean.")


def _time_filter(column: InstrumentedAttribute[Any], name: str, value: str) -> ColumnElement[bool]:
    """``created_at=gte:2024-01-01T00:00:00,lt:...`` (3.60); a bare time means ``eq``."""
    clauses = []
    for part in str(value).split(","):
        op, sep, text = part.partition(":")
        if not sep or op not in _TIME_OPS:
            op, text = "eq", part
        try:
            when = datetime.fromisoformat(text.strip())
        except ValueError:
            raise InvalidInput(f"Invalid value '{value}' for {name}: it must be a date-time.") from None
        if when.tzinfo is not None:
            when = when.astimezone(UTC).replace(tzinfo=None)
        clauses.append({"gt": column > when, "gte": column >= when, "lt": column < when, "lte": column <= when,
                        "eq": column == when, "neq": column != when}[op])
    return and_(*clauses)


# --- update, delete, summary ----------------------------------------------------------------------


def update(s: Session, volume_id: str, caller: Caller, changes: Mapping[str, Any]) -> VolumeBundle:
    """Name, description and (replaced whole) metadata."""
    v = get_row(s, volume_id, caller)
    if v.status == "maintenance":
        raise InvalidVolume("The volume cannot be updated during maintenance.")
    if "name" in changes:
        v.name = changes["name"]
    if "description" in changes:
        v.description = changes["description"]
    if "metadata" in changes:
        replace_metadata(s, v.id, changes["metadata"])
    v.updated_at = now()
    s.flush()
    return bundles(s, [v])[0]


def replace_metadata(s: Session, volume_id: str, metadata: Mapping[str, str]) -> None:
    s.execute(delete(models.VolumeMetadata).where(models.VolumeMetadata.volume_id == volume_id))
    s.flush()
    for key, value in metadata.items():
        s.add(models.VolumeMetadata(volume_id=volume_id, key=key, value=value))
    s.flush()


def destroy(s: Session, v: models.Volume) -> None:
    """The row and what hangs on it (not left to ON DELETE CASCADE: SQLite enforces it only when
    asked to)."""
    for model in (models.VolumeMetadata, models.VolumeAdminMetadata, models.VolumeImageMetadata,
                  models.Attachment):
        s.execute(delete(model).where(model.volume_id == v.id))
    s.delete(v)
    s.flush()


DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing")
MIGRATION_OK = (None, "deleting", "error", "success")
SNAPSHOTS_DELETABLE = ("available", "error")


@dataclass
class DeletePlan:
    """What the API casts after the delete's transaction: nothing when the row is already gone."""

    host: str | None
    volume: VolumeSpec | None
    snapshots: list[SnapshotSpec]


# Built once: every delete runs them.
_SNAPSHOTS_OF = select(models.Snapshot).where(models.Snapshot.volume_id == bindparam("volume_id")) \
    .order_by(models.Snapshot.created_at, models.Snapshot.id)
_TRANSFERS_OF = select(func.count()).select_from(models.Transfer) \
    .where(models.Transfer.volume_id == bindparam("volume_id"))


def begin_delete(s: Session, volume_id: str, caller: Caller, cascade: bool, force: bool) -> DeletePlan:
    """Cinder's conditional delete: ``deleting`` (its snapshots too with cascade), or a 400.

    A volume never placed on a host (no ``host``) has nothing on disk: the row goes now.
    """
    v = get_row(s, volume_id, caller)
    # A forced delete takes a volume in maintenance too (Cinder's delete has no such check).
    if v.status == "maintenance" and not force:
        raise InvalidVolume("The volume cannot be updated during maintenance.")
    snaps = list(s.scalars(_SNAPSHOTS_OF, {"volume_id": v.id}))
    ok = (v.attach_status != "attached" and v.migration_status in MIGRATION_OK and v.group_id is None
          and (force or v.status in DELETABLE))
    if cascade:
        ok = ok and (force or all(sn.status in SNAPSHOTS_DELETABLE for sn in snaps))
    else:
        ok = ok and not snaps
    if ok:
        ok = s.scalar(_TRANSFERS_OF, {"volume_id": v.id}) == 0
    if not ok:
        status = "" if force else "status must be " + " or ".join(DELETABLE) + " and "
        raise InvalidVolume(f"Volume {status}must not be migrating, attached, belong to a group, have snapshots, "
                            "awaiting a transfer, or be disassociated from snapshots after volume transfer.")
    if not v.host:
        for sn in snaps:
            s.execute(delete(models.SnapshotMetadata).where(models.SnapshotMetadata.snapshot_id == sn.id))
            s.delete(sn)
        destroy(s, v)
        return DeletePlan(None, None, [])
    stamp = now()
    for sn in snaps:
        sn.status, sn.updated_at = "deleting", stamp
    v.previous_status, v.status, v.updated_at = v.status, "deleting", stamp
    s.flush()
    return DeletePlan(agent_host(v.host), volume_spec(s, v), [snapshot_spec(sn) for sn in snaps])


def summary(s: Session, caller: Caller, lq: ListQuery, with_metadata: bool) -> dict[str, Any]:
    """``volume-summary``: how many, how big, and (3.36) every metadata key with its values."""
    stmt = visible(select(V), V, caller, lq).with_only_columns(V.id, V.size).subquery()
    count, size = s.execute(select(func.count(), func.coalesce(func.sum(stmt.c.size), 0))).tuples().one()
    result: dict[str, Any] = {"total_size": int(size), "total_count": int(count)}
    if with_metadata:
        m = models.VolumeMetadata
        values: dict[str, list[str]] = {}
        rows = s.execute(select(m.key, m.value).where(m.volume_id.in_(select(stmt.c.id)))
                         .distinct().order_by(m.key, m.value))
        for key, value in rows:
            values.setdefault(key, []).append(value)
        result["metadata"] = values
    return result
