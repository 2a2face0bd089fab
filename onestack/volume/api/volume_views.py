"""The volume as Cinder renders it: ``volume_summary`` (id, name, links) and ``volume_detail``.

Every module that returns a volume renders it here. ``extended`` adds what Cinder's API
extensions add to GET responses only (tenant, host, migration attributes, image metadata):
the create and update answers have none of them (Tempest's schemas forbid them there).
Microversioned fields follow Cinder: group_id 3.13, provider_id 3.21, service_uuid and
shared_targets 3.48, cluster_name 3.61, volume_type_id 3.63, encryption_key_id 3.64,
consumes_quota 3.65.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from onestack.volume.api.common import Req, self_links
from onestack.volume.service.common import iso
from onestack.volume.service.volumes import VolumeBundle


@dataclass(frozen=True)
class Allowed:
    """The caller's view rights, checked once per request."""

    admin: bool
    tenant: bool
    host: bool
    migration: bool
    image_metadata: bool


async def allowed(req: Req) -> Allowed:
    return Allowed(
        admin=await req.is_admin(),
        tenant=await req.allowed("volume_extension:volume_tenant_attribute"),
        host=await req.allowed("volume_extension:volume_host_attribute"),
        migration=await req.allowed("volume_extension:volume_mig_status_attribute"),
        image_metadata=await req.allowed("volume_extension:volume_image_metadata:show"),
    )


def volume_summary(req: Req, bundle: VolumeBundle) -> dict[str, Any]:
    v = bundle.volume
    return {"id": v.id, "name": v.name, "links": self_links(req, "volumes", v.id)}


def attachments(bundle: VolumeBundle, admin: bool) -> list[dict[str, Any]]:
    """The attached ones only; ``host_name`` only for admins, as Cinder."""
    v = bundle.volume
    return [{"id": v.id, "attachment_id": a.id, "volume_id": v.id, "server_id": a.instance_uuid,
             "host_name": a.attached_host if admin else None, "device": a.mountpoint,
             "attached_at": iso(a.attach_time)}
            for a in bundle.attachments if a.attach_status == "attached"]


def render(req: Req, bundle: VolumeBundle, rights: Allowed, *, extended: bool = True) -> dict[str, Any]:
    v = bundle.volume
    body: dict[str, Any] = {
        "id": v.id,
        "status": v.status,
        "size": v.size,
        "availability_zone": v.availability_zone,
        "created_at": iso(v.created_at),
        "updated_at": iso(v.updated_at),
        "attachments": attachments(bundle, rights.admin),
        "name": v.name,
        "description": v.description,
        "volume_type": bundle.volume_type,
        "snapshot_id": v.snapshot_id,
        "source_volid": v.source_volid,
        "metadata": bundle.shown_metadata,
        "links": self_links(req, "volumes", v.id),
        "user_id": v.user_id,
        "bootable": "true" if v.bootable else "false",
        "encrypted": v.encrypted,
        "replication_status": v.replication_status,
        "consistencygroup_id": None,
        "multiattach": v.multiattach,
    }
    if rights.admin:
        body["migration_status"] = v.migration_status
    if req.at_least(3, 13):
        body["group_id"] = v.group_id
    if req.at_least(3, 21) and rights.admin:
        body["provider_id"] = v.provider_id
    if req.at_least(3, 48):
        body["service_uuid"] = None
        body["shared_targets"] = False
    if req.at_least(3, 61) and rights.admin:
        body["cluster_name"] = None
    if req.at_least(3, 63):
        body["volume_type_id"] = v.volume_type_id
    if req.at_least(3, 64):
        body["encryption_key_id"] = None
    if req.at_least(3, 65):
        body["consumes_quota"] = v.use_quota
    if extended:
        if rights.tenant:
            body["os-vol-tenant-attr:tenant_id"] = v.project_id
        if rights.host:
            body["os-vol-host-attr:host"] = v.host
        if rights.migration:
            body["os-vol-mig-status-attr:migstat"] = v.migration_status
            body["os-vol-mig-status-attr:name_id"] = None
        if rights.image_metadata and bundle.image_metadata:
            body["volume_image_metadata"] = dict(bundle.image_metadata)
    return body


async def volume_detail(req: Req, bundle: VolumeBundle, *, extended: bool = True) -> dict[str, Any]:
    """One volume in full (GET /volumes/{id}); ``extended=False`` for create/update answers."""
    return render(req, bundle, await allowed(req), extended=extended)


async def volume_details(req: Req, bundles: Sequence[VolumeBundle]) -> list[dict[str, Any]]:
    rights = await allowed(req)
    return [render(req, b, rights) for b in bundles]
