"""Listing servers: Nova's filters, multi-key sort and marker paging.

Paging is keyset-based: the rows after the marker in the sort order, with NULLs sorting
first as on MySQL (Nova's reference database), so a page costs the same at any table size.
Filters Nova applies as regular expressions (name, key_name, node, ...) are checked in Python
on the rows SQL returns in order, which keeps them identical on SQLite, PostgreSQL and MySQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, func, literal, or_, select
from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.models import Instance, InstanceTag
from onestack.compute.network_info import cached, fixed_addresses
from onestack.core.api.faults import BadRequest
from onestack.core.db import time_condition

# API sort key -> column (Nova's enum minus the keys it ignores).
SORT_COLUMNS: dict[str, Any] = {
    "access_ip_v4": Instance.access_ip_v4, "access_ip_v6": Instance.access_ip_v6,
    "availability_zone": Instance.availability_zone, "config_drive": Instance.config_drive,
    "created_at": Instance.created_at, "display_description": Instance.display_description,
    "display_name": Instance.display_name, "host": Instance.host, "hostname": Instance.hostname,
    "image_ref": Instance.image_ref, "key_name": Instance.key_name, "launch_index": Instance.launch_index,
    "launched_at": Instance.launched_at, "locked_by": Instance.locked_by, "node": Instance.node,
    "power_state": Instance.power_state, "progress": Instance.progress, "project_id": Instance.project_id,
    "task_state": Instance.task_state, "terminated_at": Instance.terminated_at,
    "updated_at": Instance.updated_at, "user_id": Instance.user_id, "uuid": Instance.uuid,
    "vm_state": Instance.vm_state, "locked": Instance.locked, "id": Instance.id,
}
# Valid keys whose value is the same for every onestack server (no kernels, ramdisks or
# per-server disk config column): sorting by them changes nothing, as in Nova on such a cloud.
CONSTANT_SORT_KEYS = {"kernel_id", "ramdisk_id", "root_device_name", "auto_disk_config", "instance_type_id"}
# Keys Nova accepts but ignores (it did not validate them before JSON schema came).
IGNORED_SORT_KEYS = {
    "architecture", "cell_name", "cleaned", "default_ephemeral_device", "default_swap_device", "deleted",
    "deleted_at", "disable_terminate", "ephemeral_gb", "ephemeral_key_uuid", "id", "key_data", "launched_on",
    "locked", "memory_mb", "os_type", "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus",
    "vm_mode",
}
VALID_SORT_KEYS = (set(SORT_COLUMNS) - {"locked", "id"}) | CONSTANT_SORT_KEYS | IGNORED_SORT_KEYS
ADMIN_SORT_KEYS = {"host", "node"}

# Filters matched exactly (Nova's exact_match_filter_names); value lists mean "any of".
EXACT_COLUMNS: dict[str, Any] = {
    "project_id": Instance.project_id, "user_id": Instance.user_id, "image_ref": Instance.image_ref,
    "vm_state": Instance.vm_state, "uuid": Instance.uuid, "host": Instance.host,
    "task_state": Instance.task_state, "locked": Instance.locked,
}
# Filters Nova matches as a regular expression against the column's text.
REGEX_COLUMNS: dict[str, str] = {
    "display_name": "display_name", "display_description": "display_description", "hostname": "hostname",
    "key_name": "key_name", "node": "node", "reservation_id": "reservation_id",
    "availability_zone": "availability_zone", "config_drive": "config_drive", "access_ip_v4": "access_ip_v4",
    "access_ip_v6": "access_ip_v6", "locked_by": "locked_by", "progress": "progress",
    "power_state": "power_state", "launch_index": "launch_index", "launched_at": "launched_at",
    "terminated_at": "terminated_at", "created_at": "created_at", "updated_at": "updated_at",
}
# Nova columns onestack keeps no value for: every server has the empty value.
CONSTANT_COLUMNS = {"kernel_id": "", "ramdisk_id": "", "root_device_name": "", "auto_disk_config": "False"}


@dataclass
class ServerQuery:
    project_id: str | None  # None: every project (admin with all_tenants)
    limit: int = 1000
    marker: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc"), ("id", "desc")])
    exact: dict[str, list[Any]] = field(default_factory=dict)  # column -> accepted values
    regex: dict[str, str] = field(default_factory=dict)  # column (or constant column) -> pattern
    flavor_id: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    deleted: bool | None = None  # None: deleted rows too (only with changes-since/-before)
    soft_deleted: bool | None = None
    tags: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    # ip / ip6 filters: regular expressions matched (anchored at the start, as Nova's re.match)
    # against the fixed IPs of that version in the server's info cache.
    ip: str | None = None
    ip6: str | None = None


def statuses_to_states(statuses: list[str]) -> tuple[list[str], list[str] | None]:
    """Nova's reverse status map: vm_states, and task_states unless a default status is among them."""
    wanted = {s.upper() for s in statuses}
    vm: set[str] = set()
    tasks: set[str] = set()
    any_default = False
    for status in wanted:
        for vm_state, task in states.STATUS_TO_STATES.get(status, []):
            vm.add(vm_state)
            if task is None:
                any_default = True
            else:
                tasks.add(task)
    return sorted(vm), None if any_default else sorted(tasks)


def process_sort(keys: list[str], dirs: list[str]) -> list[tuple[str, str]]:
    """Nova's sort parameters: keys and directions paired, created_at and id appended."""
    default_dir = dirs[0] if dirs else "desc"
    for direction in dirs:
        if direction not in ("asc", "desc"):
            raise BadRequest("Unknown sort direction, must be 'desc' or 'asc'")
    if len(dirs) > len(keys):
        raise BadRequest("Sort direction size exceeds sort key size")
    result = list(zip(keys, dirs + [default_dir] * (len(keys) - len(dirs)), strict=True))
    for key in ("created_at", "id"):
        if key not in keys:
            result.append((key, default_dir))
    return [(k, d) for k, d in result if k not in CONSTANT_SORT_KEYS]


def _where(q: ServerQuery) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = []
    soft = Instance.vm_state == states.SOFT_DELETED
    if q.deleted is True:
        cond.append(or_(Instance.deleted.is_(True), soft) if q.soft_deleted is not False
                    else Instance.deleted.is_(True))
    elif q.deleted is False:
        cond.append(Instance.deleted.is_(False))
        if not q.soft_deleted:
            cond.append(~soft)
    if q.project_id is not None:
        cond.append(Instance.project_id == q.project_id)
    for name, values in q.exact.items():
        column = EXACT_COLUMNS[name]
        present = [v for v in values if v is not None]
        clause = column.in_(present) if present else None
        if None in values:
            clause = column.is_(None) if clause is None else or_(clause, column.is_(None))
        cond.append(clause if clause is not None else literal(False))
    if q.flavor_id is not None:
        cond.append(Instance.flavor["flavorid"].as_string() == q.flavor_id)
    if q.changes_since is not None:
        cond.append(time_condition(Instance.updated_at, "gte", q.changes_since))
    if q.changes_before is not None:
        cond.append(time_condition(Instance.updated_at, "lte", q.changes_before))
    for tag in q.tags:
        cond.append(Instance.uuid.in_(select(InstanceTag.instance_uuid).where(InstanceTag.tag == tag)))
    if q.tags_any:
        cond.append(Instance.uuid.in_(select(InstanceTag.instance_uuid).where(InstanceTag.tag.in_(q.tags_any))))
    if q.not_tags:
        having_all = (select(InstanceTag.instance_uuid).where(InstanceTag.tag.in_(q.not_tags))
                      .group_by(InstanceTag.instance_uuid)
                      .having(func.count(InstanceTag.tag) == len(set(q.not_tags))))
        cond.append(Instance.uuid.not_in(having_all))
    if q.not_tags_any:
        cond.append(Instance.uuid.not_in(select(InstanceTag.instance_uuid)
                                         .where(InstanceTag.tag.in_(q.not_tags_any))))
    return cond


def _lowest(column: Any) -> Any:
    """The value NULL sorts as: below every real value (MySQL's order)."""
    python_type = column.type.python_type
    if python_type is datetime:
        return datetime(1, 1, 1)
    if python_type is int or isinstance(column.type, Integer):
        return -(2**62)
    if python_type is bool:
        return False
    return ""


def _sortable(key: str) -> Any:
    column = SORT_COLUMNS[key]
    return func.coalesce(column, _lowest(column)) if column.nullable else column


def _marker_value(marker: Instance, key: str) -> Any:
    column = SORT_COLUMNS[key]
    value = getattr(marker, column.key)
    return _lowest(column) if value is None else value


def _after(q: ServerQuery, marker: Instance) -> ColumnElement[bool]:
    """Rows strictly after ``marker`` in the sort order."""
    clauses: list[ColumnElement[bool]] = []
    for i, (key, direction) in enumerate(q.sort):
        equal = [_sortable(k) == _marker_value(marker, k) for k, _ in q.sort[:i]]
        value = _marker_value(marker, key)
        step = _sortable(key) < value if direction == "desc" else _sortable(key) > value
        clauses.append(and_(*equal, step))
    return or_(*clauses)


def _text(inst: Instance, name: str) -> str | None:
    """The column as Nova's REGEXP sees it (None never matches)."""
    if name in CONSTANT_COLUMNS:
        return CONSTANT_COLUMNS[name]
    value = getattr(inst, REGEX_COLUMNS[name])
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _compiled(q: ServerQuery) -> dict[str, re.Pattern[str]]:
    out = {}
    wanted = dict(q.regex)
    wanted.update({name: value for name, value in (("ip", q.ip), ("ip6", q.ip6)) if value is not None})
    for name, pattern in wanted.items():
        try:
            out[name] = re.compile(pattern)
        except re.error:
            raise BadRequest(f"Invalid input for query parameters {name}. Value: {pattern}. "
                             "It is not a valid regular expression.") from None
    return out


def _matches(inst: Instance, patterns: dict[str, re.Pattern[str]]) -> bool:
    for name, pattern in patterns.items():
        if name in _ADDRESS_FILTERS:
            continue
        text = _text(inst, name)
        if text is None or not pattern.search(text):
            return False
    if _ADDRESS_FILTERS.keys() & patterns.keys():
        return _has_address(inst, patterns)
    return True


# filter -> the IP version it looks at (Nova's _ip_filter: an address matching either filter will do)
_ADDRESS_FILTERS = {"ip": 4, "ip6": 6}


def _has_address(inst: Instance, patterns: dict[str, re.Pattern[str]]) -> bool:
    by_version = {version: patterns[name] for name, version in _ADDRESS_FILTERS.items() if name in patterns}
    for version, address in fixed_addresses(cached({"system_metadata": inst.system_metadata})):
        pattern = by_version.get(version)
        if pattern is not None and pattern.match(address):
            return True
    return False


def _rows(s: Session, query: Any) -> Iterator[Instance]:
    yield from s.scalars(query.execution_options(yield_per=200))


def run(s: Session, q: ServerQuery) -> list[Instance]:
    if q.limit == 0:
        if q.marker:
            _marker(s, q.marker)
        return []
    query = select(Instance).where(*_where(q))
    if q.marker:
        query = query.where(_after(q, _marker(s, q.marker)))
    order = [(_sortable(k).desc() if d == "desc" else _sortable(k).asc()) for k, d in q.sort]
    query = query.order_by(*order)
    if not q.regex and q.ip is None and q.ip6 is None:
        return list(s.scalars(query.limit(q.limit)))
    patterns = _compiled(q)
    found: list[Instance] = []
    for inst in _rows(s, query):
        if _matches(inst, patterns):
            found.append(inst)
            if len(found) >= q.limit:
                break
    return found


def _marker(s: Session, uuid: str) -> Instance:
    """Any server, deleted or not, of any project (as Nova looks markers up)."""
    marker = s.scalar(select(Instance).where(Instance.uuid == uuid))
    if marker is None:
        raise BadRequest(f"marker [{uuid}] not found")
    return marker
