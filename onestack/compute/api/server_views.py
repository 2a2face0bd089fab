"""How a server looks at each microversion (Nova's views, field by field)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from onestack.compute import states
from onestack.compute.api.common import Req, resource_links
from onestack.compute.image_meta import shown as shown_properties
from onestack.compute.network_info import addresses, cached

# Statuses that show a progress percentage, as in Nova.
_PROGRESS = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}
_FAULTS = {"ERROR", "DELETED"}


@dataclass
class Viewer:
    """What the caller may see beyond the basics (decided once per request by policy)."""

    admin_attrs: bool = False  # OS-EXT-SRV-ATTR:*
    flavor_specs: bool = False  # flavor.extra_specs at 2.47+
    host_status: bool = False  # host_status at 2.16+, any value
    host_status_unknown_only: bool = False  # host_status only when it is UNKNOWN
    fault_details: bool = False  # details of a 500 fault (admin)


@dataclass(frozen=True)
class Shape:
    """Which parts of Nova's detailed view a response carries.

    GET shows everything; before 2.75 the PUT and rebuild answers leave out the extension
    attributes (AZ, config drive, key name, usage, extended status and attributes, volumes).
    """

    full: bool = True
    key_name: bool = True
    server_groups: bool = False  # 2.71+ on show, PUT and rebuild, never in lists
    user_data: bool = True  # rebuild adds user_data itself at 2.57


LIST = Shape()


def shape_for(req: Req, kind: str) -> Shape:
    """The shape of a ``show``, ``update`` or ``rebuild`` answer at the request's microversion."""
    groups = req.at_least(2, 71)
    if kind == "show":
        return Shape(server_groups=groups)
    full = req.at_least(2, 75)
    if kind == "rebuild":
        return Shape(full=full, key_name=req.at_least(2, 54), server_groups=groups, user_data=False)
    return Shape(full=full, key_name=full, server_groups=groups)


def host_id(project_id: str, host: str | None) -> str:
    """Nova's opaque hostId: the same for one project's servers on one host, else different."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def iso(value: str | None) -> str | None:
    """Row timestamps (``...000000Z``) as Nova prints them: seconds, ``Z``."""
    return value[:19] + "Z" if value else None


def _usage_time(value: str | None) -> str | None:
    """launched_at / terminated_at: Nova prints the naive datetime with microseconds, no zone."""
    return value[:-1] if value else None


def _flavor(req: Req, inst: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    fl = inst["flavor"]
    if not req.at_least(2, 47):
        return {"id": fl["flavorid"], "links": [{"rel": "bookmark",
                                                 "href": f"{req.service_url}/flavors/{fl['flavorid']}"}]}
    body = {"vcpus": fl["vcpus"], "ram": fl["memory_mb"], "disk": fl["root_gb"],
            "ephemeral": fl.get("ephemeral_gb", 0) or 0, "swap": fl.get("swap", 0) or 0,
            "original_name": fl["name"]}
    if viewer.flavor_specs:
        body["extra_specs"] = dict(fl.get("extra_specs") or {})
    return body


def _image(req: Req, inst: dict[str, Any]) -> Any:
    ref = inst.get("image_ref")
    if not ref:
        return ""  # booted from a volume
    image: dict[str, Any] = {"id": ref, "links": [{"rel": "bookmark", "href": f"{req.service_url}/images/{ref}"}]}
    if req.at_least(2, 98):
        image["properties"] = shown_properties((inst.get("system_metadata") or {}).get("image_properties") or {})
    return image


def scheduler_hints(inst: dict[str, Any]) -> dict[str, Any]:
    """The hints the server was created with, as Nova's request spec keeps them: each value a list."""
    hints = (inst.get("system_metadata") or {}).get("scheduler_hints") or {}
    return {key: value if isinstance(value, list) else [value] for key, value in hints.items()}


def _fault(fault: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    body: dict[str, Any] = {"code": fault["code"], "created": fault["created"], "message": fault["message"]}
    # Nova hides a 500's details (a traceback) from everyone but an admin.
    if fault["details"] and (viewer.fault_details or fault["code"] != 500):
        body["details"] = fault["details"]
    return body


def disk_config(inst: dict[str, Any]) -> str:
    return "AUTO" if (inst.get("system_metadata") or {}).get("auto_disk_config") else "MANUAL"


def brief(req: Req, inst: dict[str, Any]) -> dict[str, Any]:
    return {"id": inst["uuid"], "name": inst["display_name"], "links": resource_links(req, "servers", inst["uuid"])}


def _extended_attrs(req: Req, inst: dict[str, Any], shape: Shape) -> dict[str, Any]:
    body: dict[str, Any] = {
        "OS-EXT-SRV-ATTR:host": inst.get("host"),
        "OS-EXT-SRV-ATTR:instance_name": f"instance-{inst['id']:08x}",
        "OS-EXT-SRV-ATTR:hypervisor_hostname": inst.get("node"),
    }
    if req.at_least(2, 3):
        body.update({
            "OS-EXT-SRV-ATTR:reservation_id": inst.get("reservation_id") or "",
            "OS-EXT-SRV-ATTR:launch_index": inst.get("launch_index") or 0,
            "OS-EXT-SRV-ATTR:hostname": inst.get("hostname") or "",
            "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
            # Set by the host once the server has booted, as Nova's driver does.
            "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda" if inst.get("launched_at") else None,
        })
        if shape.user_data:
            body["OS-EXT-SRV-ATTR:user_data"] = inst.get("user_data")
    return body


def detail(req: Req, inst: dict[str, Any], viewer: Viewer, *, fault: dict[str, Any] | None = None,
           host_status: str | None = None, shape: Shape = LIST) -> dict[str, Any]:
    """Nova's detailed server view (GET /servers/{id}, /servers/detail, PUT and rebuild answers)."""
    status = states.status_of(inst["vm_state"], inst.get("task_state"))
    body: dict[str, Any] = {
        "id": inst["uuid"], "name": inst["display_name"], "status": status, "tenant_id": inst["project_id"],
        "user_id": inst["user_id"], "metadata": dict(inst.get("metadata") or {}),
        "hostId": host_id(inst["project_id"], inst.get("host")), "image": _image(req, inst),
        "flavor": _flavor(req, inst, viewer), "created": iso(inst["created_at"]),
        "updated": iso(inst["updated_at"]), "addresses": addresses(cached(inst), extended=shape.full),
        "accessIPv4": inst.get("access_ip_v4") or "", "accessIPv6": inst.get("access_ip_v6") or "",
        "links": resource_links(req, "servers", inst["uuid"]), "OS-DCF:diskConfig": disk_config(inst),
    }
    if fault is not None and status in _FAULTS:
        body["fault"] = _fault(fault, viewer)
    if status in _PROGRESS:
        body["progress"] = inst.get("progress") or 0
    if shape.full:
        body.update({
            "OS-EXT-AZ:availability_zone": inst.get("availability_zone") or "",
            "config_drive": inst.get("config_drive") or "",
            "OS-SRV-USG:launched_at": _usage_time(inst.get("launched_at")),
            "OS-SRV-USG:terminated_at": _usage_time(inst.get("terminated_at")),
            "OS-EXT-STS:task_state": inst.get("task_state"), "OS-EXT-STS:vm_state": inst["vm_state"],
            "OS-EXT-STS:power_state": inst.get("power_state") or 0,
            "os-extended-volumes:volumes_attached": [
                {"id": v["id"], **({"delete_on_termination": v["delete_on_termination"]}
                                   if req.at_least(2, 3) else {})}
                for v in inst.get("volumes_attached") or []],
        })
    if shape.key_name:
        body["key_name"] = inst.get("key_name")
    if shape.full and viewer.admin_attrs:
        body.update(_extended_attrs(req, inst, shape))
    if req.at_least(2, 9):
        body["locked"] = bool(inst.get("locked"))
    shows_status = viewer.host_status or (viewer.host_status_unknown_only and host_status == "UNKNOWN")
    if req.at_least(2, 16) and shape.full and host_status is not None and shows_status:
        body["host_status"] = host_status
    if req.at_least(2, 19):
        body["description"] = inst.get("display_description")
    if req.at_least(2, 26):
        body["tags"] = list(inst.get("tags") or [])
    if req.at_least(2, 63):
        body["trusted_image_certificates"] = None
    if shape.server_groups:
        body["server_groups"] = [inst["server_group"]] if inst.get("server_group") else []
    if req.at_least(2, 73):
        body["locked_reason"] = inst.get("locked_reason")
    if req.at_least(2, 90) and not (shape.full and viewer.admin_attrs):
        body["OS-EXT-SRV-ATTR:hostname"] = inst.get("hostname") or ""
    if req.at_least(2, 96) and shape.full:
        body["pinned_availability_zone"] = (inst.get("system_metadata") or {}).get("requested_az")
    if req.at_least(2, 100):
        body["scheduler_hints"] = scheduler_hints(inst)
    return body
