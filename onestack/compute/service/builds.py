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


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def sanitize_hostname(name: str) -> str:
    """Nova's hostname from a display name: lower case letters, digits and hyphens, at most 63."""
    text = re.sub(r"[^\w.-]+", "-", name.lower().replace("_", "-")).replace(".", "-")
    text = re.sub(r"-+", "-", text).strip("-")
    return (text[:63].rstrip("-") or "server")


def _reservation_id() -> str:
    return "r-" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def create(s: Session, req: BootRequest) -> list[Instance]:
    """The rows of a boot request (``min_count``..``max_count`` as quota allows), in state building."""
    flavor = req.flavor
    count = instances.check_instance_quota(s, req.project_id, req.user_id, req.max_count,
                                           int(flavor["vcpus"]), int(flavor["memory_mb"]), req.min_count)
    if req.group is not None:
        members = quotas.group_members(s, req.group.id)
        quotas.check_quota(s, req.project_id, "server_group_members", count, members, req.user_id)
    reservation = _reservation_id()
    system_metadata = {
        "image_properties": req.image_properties, "scheduler_hints": req.scheduler_hints,
        "requested_az": req.availability_zone, "forced_host": req.forced_host, "forced_node": req.forced_node,
        "networks": req.networks, "num_instances": count,
    }
    rows: list[Instance] = []
    for index in range(count):
        name = req.name if count == 1 else f"{req.name}-{index + 1}"
        hostname = req.hostname or sanitize_hostname(name)
        inst = Instance(
            uuid=new_uuid(), project_id=req.project_id, user_id=req.user_id, display_name=name,
            display_description=req.description, hostname=hostname if count == 1 else sanitize_hostname(name),
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
    # Nova's quota recheck: with concurrent boots (PostgreSQL, MariaDB) another request may have
    # committed in between; counting again inside this transaction refuses the overshoot (the
    # raise rolls the rows back).
    used = instances.usage(s, req.project_id)
    limits = quotas.limits_for(s, req.project_id, req.user_id)
    over = [r for r in ("instances", "cores", "ram") if 0 <= limits[r] < used[r]]
    if over:
        raise Forbidden(f"Quota exceeded for {', '.join(over)}: Requested {count}, but already used "
                        f"{', '.join(str(used[r]) for r in over)} of {', '.join(str(limits[r]) for r in over)} "
                        f"{', '.join(over)}")
    return rows
