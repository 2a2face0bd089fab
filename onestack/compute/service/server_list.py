"""Listing servers: Nova's filters, multi-key sort and marker paging.

Paging is keyset-based when every sort key is a column that is never NULL (the default
``created_at desc, id desc`` among them), so a page costs the same at any table size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.models import Instance, InstanceTag
from onestack.core.api.faults import BadRequest

# API sort key -> column; Nova accepts these.
SORT_KEYS: dict[str, Any] = {
    "access_ip_v4": Instance.access_ip_v4, "access_ip_v6": Instance.access_ip_v6,
    "availability_zone": Instance.availability_zone, "config_drive": Instance.config_drive,
    "created_at": Instance.created_at, "display_description": Instance.display_description,
    "display_name": Instance.display_name, "host": Instance.host, "hostname": Instance.hostname,
    "image_ref": Instance.image_ref, "key_name": Instance.key_name, "launch_index": Instance.launch_index,
    "launched_at": Instance.launched_at, "locked_by": Instance.locked_by, "node": Instance.node,
    "power_state": Instance.power_state, "progress": Instance.progress, "project_id": Instance.project_id,
    "task_state": Instance.task_state, "terminated_at": Instance.terminated_at,
    "updated_at": Instance.updated_at, "user_id": Instance.user_id, "uuid": Instance.uuid,
    "vm_state": Instance.vm_state, "instance_type_id": Instance.vcpus, "kernel_id": Instance.id,
    "ramdisk_id": Instance.id, "root_device_name": Instance.id, "auto_disk_config": Instance.id,
}
ADMIN_SORT_KEYS = {"host", "node"}
NOT_NULL = {"created_at", "updated_at", "uuid", "display_name", "project_id", "user_id", "vm_state",
            "launch_index", "power_state", "progress", "image_ref", "hostname", "config_drive"}


@dataclass
class ServerQuery:
    project_id: str | None  # None: every project (admin with all_tenants)
    limit: int = 1000
    marker: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc"), ("id", "desc")])
    name: str | None = None  # a regular expression, as in Nova
    vm_states: list[str] = field(default_factory=list)
    task_states: list[str | None] | None = None
    flavor_id: str | None = None
    image: str | None = None
    host: str | None = None
    node: str | None = None
    user_id: str | None = None
    reservation_id: str | None = None
    availability_zone: str | None = None
    key_name: str | None = None
    locked: bool | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    deleted: bool | None = None  # None: live rows only unless changes-since asks for more
    tags: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    uuid: str | None = None
    description: str | None = None


def statuses_to_states(statuses: list[str]) -> tuple[list[str], list[str | None] | None]:
    """Nova's reverse status map: vm_states, and task_states when "default" is not among them."""
    vm: set[str] = set()
    tasks: set[str | None] = set()
    any_default = False
    for status in statuses:
        for vm_state, task in states.STATUS_TO_STATES.get(status.upper(), []):
            vm.add(vm_state)
            if task is None:
                any_default = True
            tasks.add(task)
    if not vm:
        return ["__none__"], None
    return sorted(vm), None if any_default else sorted(t for t in tasks if t is not None)


def _where(q: ServerQuery) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = []
    if q.deleted is True:
        cond.append(Instance.deleted.is_(True))
    elif q.deleted is False or q.changes_since is None:
        cond.append(Instance.deleted.is_(False))
    if q.project_id is not None:
        cond.append(Instance.project_id == q.project_id)
    if q.vm_states:
        cond.append(Instance.vm_state.in_(q.vm_states))
    if q.task_states is not None:
        cond.append(Instance.task_state.in_(q.task_states))
    for value, column in ((q.host, Instance.host), (q.node, Instance.node), (q.user_id, Instance.user_id),
                          (q.reservation_id, Instance.reservation_id), (q.key_name, Instance.key_name),
                          (q.availability_zone, Instance.availability_zone), (q.uuid, Instance.uuid)):
        if value is not None:
            cond.append(column == value)
    if q.image is not None:
        cond.append(Instance.image_ref == q.image.rsplit("/", 1)[-1])
    if q.locked is not None:
        cond.append(Instance.locked.is_(q.locked))
    if q.changes_since is not None:
        cond.append(Instance.updated_at >= q.changes_since)
    if q.changes_before is not None:
        cond.append(Instance.updated_at <= q.changes_before)
    for tag in q.tags:
        cond.append(Instance.uuid.in_(select(InstanceTag.instance_uuid).where(InstanceTag.tag == tag)))
    if q.tags_any:
        cond.append(Instance.uuid.in_(select(InstanceTag.instance_uuid).where(InstanceTag.tag.in_(q.tags_any))))
    if q.not_tags:
        having_all = select(InstanceTag.instance_uuid).where(InstanceTag.tag.in_(q.not_tags)) \
            .group_by(InstanceTag.instance_uuid)
        from sqlalchemy import func

        having_all = having_all.having(func.count(InstanceTag.tag) == len(set(q.not_tags)))
        cond.append(Instance.uuid.not_in(having_all))
    if q.not_tags_any:
        cond.append(Instance.uuid.not_in(select(InstanceTag.instance_uuid)
                                         .where(InstanceTag.tag.in_(q.not_tags_any))))
    return cond


def _column(key: str) -> Any:
    return Instance.id if key == "id" else SORT_KEYS[key]


def _order(q: ServerQuery) -> list[Any]:
    order = [(_column(k).desc() if d == "desc" else _column(k).asc()) for k, d in q.sort]
    if not any(k == "id" for k, _ in q.sort):
        order.append(Instance.id.desc() if q.sort[-1][1] == "desc" else Instance.id.asc())
    return order


def _after(q: ServerQuery, marker: Instance) -> ColumnElement[bool]:
    """Rows strictly after ``marker`` in the sort order (keys are all NOT NULL here)."""
    keys = list(q.sort) + ([] if any(k == "id" for k, _ in q.sort) else [("id", q.sort[-1][1])])
    clauses: list[ColumnElement[bool]] = []
    for i, (key, direction) in enumerate(keys):
        col = _column(key)
        value = getattr(marker, "id" if key == "id" else col.key)
        equal = [(_column(k) == getattr(marker, "id" if k == "id" else _column(k).key)) for k, _ in keys[:i]]
        step = col < value if direction == "desc" else col > value
        clauses.append(and_(*equal, step))
    return or_(*clauses) if clauses else false()


def run(s: Session, q: ServerQuery, name_flags: int = 0) -> list[Instance]:
    query = select(Instance).where(*_where(q))
    flavor_rows: list[Instance] | None = None
    marker_row: Instance | None = None
    if q.marker:
        marker_row = s.scalar(select(Instance).where(Instance.uuid == q.marker))
        if marker_row is None:
            raise BadRequest(f"marker [{q.marker}] not found")
    keyset = all(k in NOT_NULL or k == "id" for k, _ in q.sort) and q.name is None and q.flavor_id is None
    if keyset:
        if marker_row is not None:
            query = query.where(_after(q, marker_row))
        return list(s.scalars(query.order_by(*_order(q)).limit(q.limit)))
    # General case: filter in Python (name regex, flavor id inside the JSON snapshot), then page.
    pattern = re.compile(q.name, name_flags) if q.name else None
    flavor_rows = []
    passed_marker = marker_row is None
    for inst in s.scalars(query.order_by(*_order(q))):
        if not passed_marker:
            passed_marker = inst.uuid == q.marker
            continue
        if pattern is not None and not pattern.search(inst.display_name or ""):
            continue
        if q.flavor_id is not None and (inst.flavor or {}).get("flavorid") != q.flavor_id:
            continue
        flavor_rows.append(inst)
        if len(flavor_rows) >= q.limit:
            break
    return flavor_rows
