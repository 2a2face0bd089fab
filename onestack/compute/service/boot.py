"""A boot request checked against the tables: flavor, key pair, zone, hosts, group, image fit.

The API parses and checks the body (Nova's schema) and decides what policy allows; this module
looks things up inside the boot's one write transaction and hands ``builds.create`` its
``BootRequest``, with Nova's messages for what it finds missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute.bdm_flags import BOOT_VOLUMES, VOLUME_BACKED
from onestack.compute.models import ComputeNode, Service
from onestack.compute.service import availability_zones as az_svc
from onestack.compute.service import block_devices, builds, instances, quotas
from onestack.compute.service import flavors as flavor_svc
from onestack.compute.service import keypairs as keypair_svc
from onestack.compute.service import server_groups as group_svc
from onestack.compute.service.builds import BootRequest
from onestack.core.api.faults import BadRequest, Forbidden, NotFound

GiB = 1024**3
# Image attributes that are the image service's own, not properties a server inherits.
_RESERVED = {"id", "name", "status", "size", "checksum", "created_at", "updated_at", "visibility", "owner",
             "file", "schema", "self", "tags", "protected", "locations", "direct_url", "virtual_size",
             "os_hash_algo", "os_hash_value", "os_hidden", "stores"}


@dataclass
class Draft:
    """A create body that passed Nova's schema checks, before anything is looked up."""

    server: dict[str, Any]
    name: str
    min_count: int
    max_count: int
    description: str | None
    hostname: str | None
    metadata: dict[str, str]
    user_data: str | None
    tags: list[str]
    hints: dict[str, Any]
    auto_disk: bool | None
    access_v4: str | None
    access_v6: str | None
    config_drive: bool
    security_groups: list[str]
    key_name: str | None
    image_id: str | None
    return_reservation_id: bool


@dataclass
class Decided:
    """What the API settled before the lookups: who asks, what policy lets them, where to."""

    project_id: str
    user_id: str
    request_id: str
    admin: bool
    zero_disk_ok: bool  # os_compute_api:servers:create:zero_disk_flavor
    flavor_id: str
    zone: str | None = None
    forced_host: str | None = None
    forced_node: str | None = None
    check_destination: bool = False  # 2.74's host / hypervisor_hostname, to be found
    networks: Any = None  # "none" or the resolved list (api/server_networks.py)
    groups_checked: bool = False  # the security groups were found in the network service
    name_is_description: bool = False  # before 2.19 Nova keeps the name as the description
    image: dict[str, Any] = field(default_factory=dict)
    volume_backed: bool = False  # the root disk is a volume: no image, no local root disk checks


def check_image(image: dict[str, Any], memory_mb: int, root_gb: int, zero_disk_ok: bool,
                volume_backed: bool = False) -> tuple[str, dict[str, Any]]:
    """Nova's image/flavor checks (status, min_ram, size and min_disk against the root disk);
    the image id and the properties a server inherits. A volume-backed server has no image
    (its boot volume's image properties are inherited) and no local root disk to check."""
    if volume_backed:
        if int(image.get("min_ram") or 0) > memory_mb:
            raise BadRequest("Flavor's memory is too small for requested image.")
        return "", {k: v for k, v in image.items() if k not in _RESERVED}
    image_id = image["id"]
    if image.get("status") != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    if int(image.get("min_ram") or 0) > memory_mb:
        raise BadRequest("Flavor's memory is too small for requested image.")
    size = int(image.get("size") or 0)
    min_disk = int(image.get("min_disk") or 0) * GiB
    root = root_gb * GiB
    if root == 0:
        if not zero_disk_ok:
            raise Forbidden("Only volume-backed servers are allowed for flavors with zero disk.")
    else:
        if size > root:
            raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is {root} bytes, "
                             f"image is {size} bytes.")
        if min_disk > root:
            raise BadRequest(f"Flavor's disk is smaller than the minimum size specified in image metadata. "
                             f"Flavor disk is {root} bytes, minimum size is {min_disk} bytes.")
    return image_id, {k: v for k, v in image.items() if k not in _RESERVED}


def check_destination(s: Session, host: str | None, node: str | None) -> None:
    """2.74's requested host and/or node must exist (400 otherwise, as Nova)."""
    if host and s.scalar(select(Service.id).where(Service.host == host, Service.binary == "nova-compute")) is None:
        raise BadRequest(f"Compute host {host} could not be found.")
    if node:
        query = select(ComputeNode.id).where(ComputeNode.hypervisor_hostname == node)
        if host:
            query = query.where(ComputeNode.host == host)
        if s.scalar(query) is None:
            raise BadRequest(f"Compute host {host or node} could not be found." if host else
                             f"Compute host {node} could not be found.")


def _flavor(s: Session, d: Decided) -> flavor_svc.BootFlavor:
    viewer = flavor_svc.Viewer(project_id=d.project_id, is_admin=d.admin)
    try:
        flavor = flavor_svc.boot_flavor(s, d.flavor_id, viewer)
    except NotFound:
        raise BadRequest(f"Flavor {d.flavor_id} could not be found.") from None
    if flavor.disabled:  # Nova treats a disabled flavor as missing
        raise BadRequest(f"Flavor {d.flavor_id} could not be found.")
    return flavor


def _lookups(s: Session, draft: Draft, d: Decided) -> tuple[str | None, Any, tuple[dict[str, int], dict[str, int]]]:
    """Key pair, zone, server group, security groups and the metadata quota, in Nova's order."""
    key_data = None
    if draft.key_name is not None:
        key_data = keypair_svc.public_key_for_boot(s, d.user_id, str(draft.key_name))
    if d.zone is not None and not d.forced_host and d.zone not in az_svc.zones(s) and d.zone != az_svc.DEFAULT_ZONE:
        raise BadRequest("The requested availability zone is not available")
    group = None
    if draft.hints.get("group"):
        group_id = draft.hints["group"][0] if isinstance(draft.hints["group"], list) else draft.hints["group"]
        try:
            group = group_svc.get_group(s, str(group_id), None if d.admin else d.project_id)
        except NotFound:
            raise BadRequest(f"Instance group {group_id} could not be found.") from None
    for group_name in [] if d.groups_checked else draft.security_groups:
        # Security groups are the network service's; without one only the implicit default exists.
        if group_name != "default":
            raise BadRequest(f"Security group {group_name} not found.")
    # Both scopes' limits at once: the user's are ``limits_for(project, user)``, and the boot's
    # quota checks further on reuse the pair instead of reading the tables again.
    limits = quotas.limits_pair(s, d.project_id, d.user_id)
    limit = limits[1]["metadata_items"]
    if 0 <= limit < len(draft.metadata):
        raise Forbidden(f"Maximum number of metadata items exceeds {limit}")
    return key_data, group, limits


def auto_disk_config(requested: bool | None, image_props: dict[str, Any], image_ref: str | None) -> bool:
    """Nova's disk config of a boot or rebuild: the requested one unless the image disables AUTO
    (400), else the image's ``auto_disk_config`` property."""
    image_auto = str(image_props.get("auto_disk_config", "")).lower()
    if requested and image_auto == "disabled":
        raise BadRequest(f"Requested auto_disk_config is disabled by image {image_ref}")
    if requested is None:
        return image_auto in ("true", "1", "yes", "on", "y", "t")
    return requested


def resolve(s: Session, draft: Draft, d: Decided) -> BootRequest:
    """The draft checked against the tables (flavor, key pair, zone, hosts, group, quota of metadata)."""
    if d.check_destination:
        check_destination(s, d.forced_host, d.forced_node)
    flavor = _flavor(s, d)
    image_ref, image_props = check_image(d.image, flavor.memory_mb, flavor.root_gb, d.zero_disk_ok,
                                         d.volume_backed)
    auto_disk = auto_disk_config(draft.auto_disk, image_props, image_ref)
    key_data, group, limits = _lookups(s, draft, d)
    return BootRequest(
        project_id=d.project_id, user_id=d.user_id, request_id=d.request_id,
        name=draft.name, image_ref=image_ref, image_properties=image_props,
        description=draft.name if d.name_is_description else draft.description,
        flavor={"flavorid": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
                "memory_mb": flavor.memory_mb, "root_gb": flavor.root_gb, "ephemeral_gb": flavor.ephemeral_gb,
                "swap": flavor.swap, "rxtx_factor": flavor.rxtx_factor, "extra_specs": dict(flavor.extra_specs),
                "description": flavor.description},
        key_name=draft.key_name, key_data=key_data, user_data=draft.user_data, metadata=draft.metadata,
        availability_zone=d.zone, forced_host=d.forced_host, forced_node=d.forced_node,
        min_count=draft.min_count, max_count=draft.max_count, scheduler_hints=draft.hints, group=group,
        tags=draft.tags, networks=d.networks, config_drive="True" if draft.config_drive else "",
        access_ip_v4=draft.access_v4, access_ip_v6=draft.access_v6, hostname=draft.hostname,
        auto_disk_config=auto_disk, security_groups=draft.security_groups, limits=limits,
    )


def create(s: Session, draft: Draft, d: Decided, volumes: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Resolve and create the rows (quota checked) and each one's volume mappings; plain copies
    of the rows, each with its ``block_device_mapping``."""
    made = builds.create(s, resolve(s, draft, d))
    if volumes:
        flags = {BOOT_VOLUMES: True, **({VOLUME_BACKED: True} if d.volume_backed else {})}
        for inst in made:
            inst.system_metadata = {**(inst.system_metadata or {}), **flags}
    rows = [instances.to_dict(i) for i in made]
    for row in rows:
        row["block_device_mapping"] = [block_devices.add(s, row["uuid"], dict(m)) for m in volumes or []]
    return rows


def abandon(s: Session, uuids: list[str]) -> None:
    """The boot's volumes could not be made: its rows go (never scheduled, nothing claimed)."""
    for uuid in uuids:
        block_devices.remove_all(s, uuid)
        instances.mark_deleted(s, uuid)
