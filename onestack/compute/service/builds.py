"""Creating server rows for a boot request: names, quota, group membership, tags, the action record."""

from __future__ import annotations

import re
import secrets
import string
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.models import Instance, InstanceTag, ServerGroup, ServerGroupMember
from onestack.compute.service import instances, quotas
from onestack.core.api.faults import Forbidden

QUOTA_RESOURCES = ("instances", "cores", "ram")


@dataclass
class BootRequest:
    """What the API validated; everything the conductor needs to schedule is kept on the rows."""

    project_id: str
    user_id: str
    request_id: str
    name: str
    flavor: dict[str, Any]  # the snapshot stored on each instance
    image_ref: str
    image_properties: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    key_name: str | None = None
    key_data: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    forced_host: str | None = None
    forced_node: str | None = None
    min_count: int = 1
    max_count: int = 1
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    group: ServerGroup | None = None
    tags: list[str] = field(default_factory=list)
    networks: Any = None  # "auto", "none" or a list of requested networks (the network service's seam)
    config_drive: str = ""
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    hostname: str | None = None
    auto_disk_config: bool = False  # OS-DCF:diskConfig AUTO
    security_groups: list[str] = field(default_factory=list)
    # The project's and the user's limits (``quotas.limits_pair``) as resolve read them in this
    # transaction: the metadata, instance and group checks and the recheck use the one read.
    limits: tuple[dict[str, int], dict[str, int]] | None = None


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def sanitize_hostname(name: str, default: str = "server") -> str:
    """Nova's hostname from a display name: Latin-1 word characters, hyphens and dots, at most 63."""
    text = name.encode("latin-1", "ignore").decode("latin-1")[:63]
    text = re.sub(r"[ _.]", "-", text)
    text = re.sub(r"[^\w.-]+", "", text)
    text = text.lower().strip(".-")
    return text or default[:63]


def _reservation_id() -> str:
    return "r-" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


# --- quota -----------------------------------------------------------------------------------

def _limits(s: Session, req: BootRequest) -> tuple[dict[str, int], dict[str, int]]:
    if req.limits is None:
        req.limits = quotas.limits_pair(s, req.project_id, req.user_id)
    return req.limits


def _headroom(s: Session, req: BootRequest) -> tuple[dict[str, int], dict[str, int]]:
    """Per resource: the tightest limit (project or user) and what is left under it (-1: unlimited)."""
    limits: dict[str, int] = {}
    room: dict[str, int] = {}
    project_id, user_id = req.project_id, req.user_id
    project_limits, user_limits = _limits(s, req)
    project_used, user_used = instances.usage_pair(s, project_id, user_id)
    scopes = ((project_limits, project_used), (user_limits, user_used))
    for resource in QUOTA_RESOURCES:
        for limit_of, used in scopes:
            limit = limit_of[resource]
            if limit < 0:
                continue
            left = limit - used[resource]
            if resource not in room or left < room[resource]:
                limits[resource], room[resource] = limit, left
    return limits, room


def check_quota(s: Session, req: BootRequest, min_count: int, max_count: int) -> int:
    """How many servers fit between ``min_count`` and ``max_count``, else Nova's 403.

    Nova's wording: the resources over quota for ``max_count`` servers, the amount asked for
    (instances as "min-max"), what is already used and the limit.
    """
    vcpus, ram = int(req.flavor["vcpus"]), int(req.flavor["memory_mb"])
    per = {"instances": 1, "cores": vcpus, "ram": ram}
    limits, room = _headroom(s, req)
    fits = max_count
    for resource, each in per.items():
        if resource in room and each:
            fits = min(fits, max(0, room[resource]) // each)
    if fits >= min_count:
        return fits
    over = [r for r in QUOTA_RESOURCES if r in room and per[r] * max_count > room[r]]
    asked = {"instances": str(min_count) if min_count == max_count else f"{min_count}-{max_count}",
             "cores": str(vcpus * max_count), "ram": str(ram * max_count)}
    names = ", ".join(over)
    raise Forbidden(f"Quota exceeded for {names}: Requested {', '.join(asked[r] for r in over)}, but already "
                    f"used {', '.join(str(limits[r] - room[r]) for r in over)} of "
                    f"{', '.join(str(limits[r]) for r in over)} {names}")


def _check_group_quota(s: Session, req: BootRequest, count: int) -> None:
    assert req.group is not None
    limit = _limits(s, req)[1]["server_group_members"]  # the user's: limits_for(project, user)
    if 0 <= limit < quotas.group_members(s, req.group.id) + count:
        raise Forbidden("Quota exceeded, too many servers in group")


# --- rows ------------------------------------------------------------------------------------

def create(s: Session, req: BootRequest) -> list[Instance]:
    """The rows of a boot request (``min_count``..``max_count`` as quota allows), in state building."""
    flavor = req.flavor
    count = check_quota(s, req, req.min_count, req.max_count)
    if req.group is not None:
        _check_group_quota(s, req, count)
    reservation = _reservation_id()
    system_metadata = {
        "image_properties": req.image_properties, "scheduler_hints": req.scheduler_hints,
        "requested_az": req.availability_zone, "forced_host": req.forced_host, "forced_node": req.forced_node,
        "networks": req.networks, "num_instances": count, "auto_disk_config": req.auto_disk_config,
        "security_groups": req.security_groups,
    }
    rows: list[Instance] = []
    for index in range(count):
        # Nova's multi_instance_display_name_template: "%(name)s-%(count)d", counting from 1.
        name = req.name if count == 1 else f"{req.name}-{index + 1}"
        uuid = new_uuid()
        inst = Instance(
            uuid=uuid, project_id=req.project_id, user_id=req.user_id, display_name=name,
            display_description=req.description,
            hostname=req.hostname or sanitize_hostname(name, f"Server-{uuid}"),
            availability_zone=req.availability_zone, flavor=flavor, vcpus=int(flavor["vcpus"]),
            memory_mb=int(flavor["memory_mb"]), root_gb=int(flavor["root_gb"]),
            ephemeral_gb=int(flavor["ephemeral_gb"]), image_ref=req.image_ref, key_name=req.key_name,
            key_data=req.key_data, user_data=req.user_data, metadata_=dict(req.metadata),
            system_metadata=dict(system_metadata), vm_state=states.BUILDING, task_state=states.SCHEDULING,
            power_state=0, config_drive=req.config_drive, access_ip_v4=req.access_ip_v4,
            access_ip_v6=req.access_ip_v6, launch_index=index, reservation_id=reservation,
            server_group=req.group.uuid if req.group is not None else None,
        )
        s.add(inst)
        rows.append(inst)
    s.flush()
    for inst in rows:
        for tag in req.tags:
            s.add(InstanceTag(instance_uuid=inst.uuid, tag=tag))
        if req.group is not None:
            s.add(ServerGroupMember(group_id=req.group.id, instance_uuid=inst.uuid))
        instances.start_action(s, inst.uuid, "create", req.request_id, req.project_id, req.user_id)
    s.flush()
    # Nova's quota recheck: with concurrent boots (PostgreSQL, MariaDB) another request may have
    # committed in between; counting again inside this transaction (our rows included) refuses
    # the overshoot, and the raise rolls the rows back. SQLite writers are serialised by the
    # database layer's writer lock, so nothing can have slipped in there.
    if s.get_bind().dialect.name == "sqlite":
        return rows
    # The limits are those read at the start of this transaction; the usage is counted afresh.
    _, room = _headroom(s, req)
    if any(left < 0 for left in room.values()):
        check_quota(s, req, count, count)  # raises with Nova's message
        raise Forbidden("Quota exceeded for instances")
    return rows
