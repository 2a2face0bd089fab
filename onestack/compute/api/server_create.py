"""Parsing and checking a boot request body (POST /servers) into a BootRequest.

Checks follow Nova's JSON schema for each microversion first (400 "Invalid input for
field/attribute ..."), then its semantic checks in the order Nova makes them, with its messages.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from onestack.compute.api.common import (
    allowed,
    as_bool,
    as_int,
    at_least,
    check_keys,
    compute_of,
    enforce,
    invalid,
    name_field,
)
from onestack.compute.models import ComputeNode, Service
from onestack.compute.service import availability_zones as az_svc
from onestack.compute.service import flavors as flavor_svc
from onestack.compute.service import keypairs as keypair_svc
from onestack.compute.service import quotas
from onestack.compute.service import server_groups as group_svc
from onestack.compute.service.builds import BootRequest
from onestack.core.api.faults import BadRequest, Forbidden, NotFound
from onestack.core.auth import AuthContext

_KEYS = {"name", "imageRef", "flavorRef", "key_name", "user_data", "metadata", "availability_zone",
         "min_count", "max_count", "return_reservation_id", "networks", "security_groups", "description",
         "tags", "block_device_mapping", "block_device_mapping_v2", "config_drive", "accessIPv4", "accessIPv6",
         "adminPass", "OS-DCF:diskConfig", "personality", "hostname", "host", "hypervisor_hostname",
         "trusted_image_certificates"}
_BODY_KEYS = {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"}
MAX_USER_DATA = 65535
MAX_TAGS = 50
GiB = 1024**3
_METADATA_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")
_HOSTNAME = re.compile(r"^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]*$")  # 2.90-2.93: a short name
_FQDN = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")


def is_uuid(value: Any) -> bool:
    """oslo's is_uuid_like: any spelling uuid.UUID accepts that names the same 32 hex digits."""
    if not isinstance(value, str):
        return False
    try:
        return uuidlib.UUID(value).hex == value.replace("-", "").replace("{", "").replace("}", "").lower()
    except ValueError:
        return False


def _ref(value: Any, field: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
        raise invalid(field, value, f"{value!r} is not of type 'string', 'integer'")
    return str(value).split("?")[0].rstrip("/").rsplit("/", 1)[-1]


def _metadata(value: Any) -> dict[str, str]:
    """Nova's ``metadata`` schema: keys of 1-255 letters, digits and ``-_:. ``; string values up to 255."""
    if not isinstance(value, dict):
        raise invalid("metadata", value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not _METADATA_KEY.match(key):
            raise invalid("metadata", value, f"Additional properties are not allowed ({key!r} was unexpected)")
        if not isinstance(item, str):
            raise invalid(f"metadata/{key}", item, f"{item!r} is not of type 'string'")
        if len(item) > 255:
            raise invalid(f"metadata/{key}", item, f"{item!r} is too long")
    return {str(k): str(v) for k, v in value.items()}


def _user_data(value: Any) -> str | None:
    """Base64 as Nova checks it (``base64.decodebytes``: stray characters skipped, padding strict)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid("user_data", value, f"{value!r} is not of type 'string'")
    if len(value) > MAX_USER_DATA:
        raise invalid("user_data", value, f"{value!r} is too long")
    try:
        base64.decodebytes(value.encode("utf-8"))
    except (binascii.Error, ValueError):
        raise invalid("user_data", value, f"{value!r} is not a 'base64'") from None
    return value


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise invalid("tags", value, f"{value!r} is not of type 'array'")
    if len(value) > MAX_TAGS:
        raise invalid("tags", value, f"{value!r} is too long")
    for tag in value:
        if not isinstance(tag, str):
            raise invalid("tags", value, f"{tag!r} is not of type 'string'")
        if not 1 <= len(tag) <= 60 or "/" in tag or "," in tag:
            raise invalid("tags", value, f"{tag!r} does not match '^[^,/]*$' or is not 1-60 characters long")
    return list(dict.fromkeys(value))


def _ip(value: Any, field: str, version: int) -> str | None:
    """accessIPv4 / accessIPv6: a string in the right address family (Nova's ipv4 / ipv6 formats)."""
    kind = "ipv4" if version == 4 else "ipv6"
    if not isinstance(value, str):
        raise invalid(field, value, f"{value!r} is not of type 'string'")
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise invalid(field, value, f"{value!r} is not a '{kind}'") from None
    if addr.version != version:
        raise invalid(field, value, f"{value!r} is not a '{kind}'")
    return str(addr)


def _description(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > 255):
        raise invalid("description", value, "must be null or a string of at most 255 characters")
    if value is not None and any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise invalid("description", value, "Control characters are not allowed")
    return value


def _disk_config(value: Any) -> bool:
    if value not in ("AUTO", "MANUAL"):
        raise invalid("OS-DCF:diskConfig", value, f"{value!r} is not one of ['AUTO', 'MANUAL']")
    return bool(value == "AUTO")


def _networks(request: Request, value: Any, present: bool) -> Any:
    """Requested networks. No network service runs: every named network or port is unknown."""
    mv37 = at_least(request, 2, 37)
    if not present:
        if mv37:
            raise invalid("server", None, "'networks' is a required property")
        return "auto"
    if isinstance(value, str) and mv37:
        if value not in ("auto", "none"):
            raise invalid("networks", value, f"{value!r} is not one of ['none', 'auto']")
        return value
    if not isinstance(value, list):
        raise invalid("networks", value, f"{value!r} is not of type 'array'")
    fields = {"fixed_ip", "port", "uuid"} | ({"tag"} if at_least(request, 2, 42) else set())
    for net in value:
        if not isinstance(net, dict):
            raise invalid("networks", value, f"{net!r} is not of type 'object'")
        check_keys(net, fields, "networks")
        port = net.get("port")
        if port is not None and not is_uuid(port):
            raise invalid("networks/port", port, f"{port!r} is not a 'uuid'")
        if "fixed_ip" in net:
            try:
                ipaddress.ip_address(str(net["fixed_ip"]))
            except ValueError:
                raise invalid("networks/fixed_ip", net["fixed_ip"], "is not a valid IP address") from None
        if port:
            if net.get("fixed_ip") is not None:
                raise BadRequest(f"Specified Fixed IP '{net['fixed_ip']}' cannot be used with port '{port}': "
                                 "the two cannot be specified together.")
            raise BadRequest(f"Port id {port} could not be found.")
        if "uuid" not in net:
            raise BadRequest("Bad network format: missing 'uuid'")
        if mv37 and not is_uuid(net["uuid"]):
            raise invalid("networks/uuid", net["uuid"], f"{net['uuid']!r} is not a 'uuid'")
        if not is_uuid(net["uuid"]):
            raise BadRequest(f"Bad networks format: network uuid is not in proper format ({net['uuid']})")
        raise BadRequest(f"Network {net['uuid']} could not be found.")
    return value


def _split_az(request: Request, ctx: AuthContext, value: Any) -> tuple[str | None, str | None, str | None]:
    """Nova's ``zone[:host[:node]]``; naming a host needs the forced_host rule (admins)."""
    if value is None:
        return None, None, None
    name_field(value, "availability_zone")
    zone, _, rest = value.partition(":")
    host, _, node = rest.partition(":")
    if host or node:
        enforce(request, ctx, "os_compute_api:servers:create:forced_host")
    return zone or None, host or None, node or None


def _requested_destination(request: Request, ctx: AuthContext, s: Session, server: dict[str, Any],
                           forced: tuple[str | None, str | None]) -> tuple[str | None, str | None]:
    """2.74's host / hypervisor_hostname: admin only, existing, not mixed with ``zone:host``."""
    host, node = server.get("host"), server.get("hypervisor_hostname")
    if not host and not node:
        return forced
    for field, value in (("host", host), ("hypervisor_hostname", node)):
        if value is not None:
            name_field(value, field)
    enforce(request, ctx, "os_compute_api:servers:create:requested_destination")
    if forced[0] or forced[1]:
        raise BadRequest("One mechanism with host and/or hypervisor_hostname and another mechanism with "
                         "zone:host:node are mutually exclusive.")
    if host and s.scalar(select(Service.id).where(Service.host == host, Service.binary == "nova-compute")) is None:
        raise BadRequest(f"Compute host {host} could not be found.")
    if node:
        query = select(ComputeNode.id).where(ComputeNode.hypervisor_hostname == node)
        if host:
            query = query.where(ComputeNode.host == host)
        if s.scalar(query) is None:
            raise BadRequest(f"Compute host {host or node} could not be found." if host else
                             f"Compute host {node} could not be found.")
    return host, node


def _hints(body: dict[str, Any]) -> dict[str, Any]:
    name = "os:scheduler_hints" if "os:scheduler_hints" in body else "OS-SCH-HNT:scheduler_hints"
    hints = body.get(name, {})
    if not isinstance(hints, dict):
        raise invalid(name, hints, f"{hints!r} is not of type 'object'")
    group = hints.get("group")
    if group is not None:
        groups = group if isinstance(group, list) else [group]
        if not groups or not all(is_uuid(g) for g in groups):
            raise invalid(f"{name}/group", group, f"{group!r} is not a 'uuid'")
    for key in ("different_host", "same_host"):
        value = hints.get(key)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        if not isinstance(value, (str, list)) or not all(is_uuid(v) for v in items):
            raise invalid(f"{name}/{key}", value, f"{value!r} is not a 'uuid'")
    return hints


def check_body(request: Request, body: Any) -> dict[str, Any]:
    """The envelope: ``{"server": {...}}`` plus optional scheduler hints, nothing else."""
    if not isinstance(body, dict) or "server" not in body:
        raise BadRequest(f"Invalid input for field/attribute server. Value: {body}. 'server' is a required property"
                         if isinstance(body, dict) else f"{body!r} is not of type 'object'")
    extra = sorted(set(body) - _BODY_KEYS)
    if extra:
        listed = ", ".join(f"'{k}'" for k in extra)
        raise BadRequest(f"Additional properties are not allowed ({listed} {'was' if len(extra) == 1 else 'were'} "
                         "unexpected)")
    if not isinstance(body["server"], dict):
        raise invalid("server", body["server"], f"{body['server']!r} is not of type 'object'")
    server: dict[str, Any] = body["server"]
    return server


def _allowed_keys(request: Request) -> set[str]:
    keys = set(_KEYS)
    if not at_least(request, 2, 19):
        keys.discard("description")
    if not at_least(request, 2, 52):
        keys.discard("tags")
    if not at_least(request, 2, 63):
        keys.discard("trusted_image_certificates")
    if not at_least(request, 2, 74):
        keys -= {"host", "hypervisor_hostname"}
    if not at_least(request, 2, 90):
        keys.discard("hostname")
    if at_least(request, 2, 57):
        keys.discard("personality")
    return keys


def _hostname(request: Request, server: dict[str, Any], max_count: int) -> str | None:
    if "hostname" not in server:
        return None
    value = server["hostname"]
    pattern, limit = (_FQDN, 255) if at_least(request, 2, 94) else (_HOSTNAME, 63)
    if not isinstance(value, str) or not 1 <= len(value) <= limit or not pattern.match(value):
        raise invalid("hostname", value, f"{value!r} is not a valid hostname")
    return value


def _flavor(request: Request, ctx: AuthContext, s: Session, ref: Any) -> flavor_svc.BootFlavor:
    flavor_id = _ref(ref, "flavorRef")
    viewer = flavor_svc.Viewer(project_id=ctx.project_id, is_admin=allowed(request, ctx, "context_is_admin"))
    try:
        flavor = flavor_svc.boot_flavor(s, flavor_id, viewer)
    except NotFound:
        raise BadRequest(f"Flavor {flavor_id} could not be found.") from None
    if flavor.disabled:  # Nova treats a disabled flavor as missing
        raise BadRequest(f"Flavor {flavor_id} could not be found.")
    return flavor


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


def validate(request: Request, body: Any) -> Draft:
    """Nova's JSON schema of the microversion, field by field (400s); nothing is looked up yet."""
    server = check_body(request, body)
    check_keys(server, _allowed_keys(request), "server")
    for required in ("name", "flavorRef"):
        if required not in server:
            raise invalid("server", server, f"'{required}' is a required property")
    if at_least(request, 2, 37) and "networks" not in server:
        raise invalid("server", server, "'networks' is a required property")
    _ref(server["flavorRef"], "flavorRef")
    min_count = as_int(server.get("min_count", 1), "min_count", 1)
    max_count = as_int(server.get("max_count", min_count), "max_count", 1)
    if "adminPass" in server and not isinstance(server["adminPass"], str):
        raise invalid("adminPass", server["adminPass"], f"{server['adminPass']!r} is not of type 'string'")
    key_name = server.get("key_name")
    if key_name is not None:
        name_field(key_name, "key_name")
    if server.get("availability_zone") is not None:
        name_field(server["availability_zone"], "availability_zone")
    config_drive = server.get("config_drive")
    draft = Draft(
        server=server, name=name_field(server["name"]), min_count=min_count, max_count=max_count,
        description=_description(server.get("description")) if at_least(request, 2, 19) else None,
        hostname=_hostname(request, server, 1), metadata=_metadata(server.get("metadata", {})),
        user_data=_user_data(server.get("user_data")),
        tags=_tags(server["tags"]) if "tags" in server else [], hints=_hints(body),
        auto_disk=_disk_config(server["OS-DCF:diskConfig"]) if "OS-DCF:diskConfig" in server else None,
        access_v4=_ip(server["accessIPv4"], "accessIPv4", 4) if "accessIPv4" in server else None,
        access_v6=_ip(server["accessIPv6"], "accessIPv6", 6) if "accessIPv6" in server else None,
        config_drive=config_drive is not None and as_bool(config_drive, "config_drive"),
        security_groups=_security_groups(server.get("security_groups")), key_name=key_name,
        image_id=image_ref_of(body),
        return_reservation_id=as_bool(server.get("return_reservation_id", False), "return_reservation_id"),
    )
    if min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    if draft.hostname is not None and max_count > 1:
        raise BadRequest("Unable to allocate a single hostname to multiple instances")
    return draft


def check_placement_args(request: Request, ctx: AuthContext, draft: Draft) -> None:
    """The checks Nova makes before it looks anything up: policies, block devices, imageRef."""
    enforce(request, ctx, "os_compute_api:servers:create")
    _split_az(request, ctx, draft.server.get("availability_zone"))
    bdm_image = _check_block_devices(draft.server)
    if draft.image_id is None:
        draft.image_id = bdm_image
    if draft.image_id is None:
        raise BadRequest("Missing imageRef attribute")
    _networks(request, draft.server.get("networks"), "networks" in draft.server)


def resolve(request: Request, ctx: AuthContext, draft: Draft, s: Session, image: dict[str, Any]) -> BootRequest:
    """The draft checked against the tables (flavor, key pair, zone, hosts, group, quota of metadata)."""
    server = draft.server
    zone, forced_host, forced_node = _split_az(request, ctx, server.get("availability_zone"))
    if at_least(request, 2, 74):
        forced_host, forced_node = _requested_destination(request, ctx, s, server, (forced_host, forced_node))
    networks = _networks(request, server.get("networks"), "networks" in server)
    flavor = _flavor(request, ctx, s, server["flavorRef"])
    image_ref, image_props = _check_image(request, ctx, image, flavor)
    image_auto = str(image_props.get("auto_disk_config", "")).lower()
    if draft.auto_disk and image_auto == "disabled":
        raise BadRequest(f"Requested auto_disk_config is disabled by image {image_ref}")
    key_data = None
    if draft.key_name is not None:
        try:
            key_data = keypair_svc.get_keypair(s, ctx.user_id or "", str(draft.key_name)).public_key
        except NotFound:
            raise BadRequest("Invalid key_name provided.") from None
    if zone is not None and not forced_host and zone not in az_svc.zones(s) and zone != az_svc.DEFAULT_ZONE:
        raise BadRequest("The requested availability zone is not available")
    group = None
    if draft.hints.get("group"):
        group_id = draft.hints["group"][0] if isinstance(draft.hints["group"], list) else draft.hints["group"]
        admin = allowed(request, ctx, "context_is_admin")
        try:
            group = group_svc.get_group(s, str(group_id), None if admin else ctx.project_id)
        except NotFound:
            raise BadRequest(f"Instance group {group_id} could not be found.") from None
    for group_name in draft.security_groups:
        # Security groups are the network service's; without one only the implicit default exists.
        if group_name != "default":
            raise BadRequest(f"Security group {group_name} not found.")
    limit = quotas.limits_for(s, ctx.project_id or "", ctx.user_id)["metadata_items"]
    if 0 <= limit < len(draft.metadata):
        raise Forbidden(f"Maximum number of metadata items exceeds {limit}")
    auto_disk = draft.auto_disk
    if auto_disk is None:
        auto_disk = image_auto in ("true", "1", "yes", "on", "y", "t")
    return BootRequest(
        project_id=ctx.project_id or "", user_id=ctx.user_id or "", request_id=request.state.request_id,
        name=draft.name, image_ref=image_ref, image_properties=image_props,
        # Before 2.19 Nova keeps the name as the description.
        description=draft.description if at_least(request, 2, 19) else draft.name,
        flavor={"flavorid": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
                "memory_mb": flavor.memory_mb, "root_gb": flavor.root_gb, "ephemeral_gb": flavor.ephemeral_gb,
                "swap": flavor.swap, "rxtx_factor": flavor.rxtx_factor, "extra_specs": dict(flavor.extra_specs),
                "description": flavor.description},
        key_name=draft.key_name, key_data=key_data, user_data=draft.user_data, metadata=draft.metadata,
        availability_zone=zone, forced_host=forced_host, forced_node=forced_node, min_count=draft.min_count,
        max_count=draft.max_count, scheduler_hints=draft.hints, group=group, tags=draft.tags, networks=networks,
        config_drive="True" if draft.config_drive else "", access_ip_v4=draft.access_v4,
        access_ip_v6=draft.access_v6, hostname=draft.hostname, auto_disk_config=auto_disk,
        security_groups=draft.security_groups,
    )


def _security_groups(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("security_groups", value, f"{value!r} is not of type 'array'")
    names = []
    for item in value:
        if not isinstance(item, dict):
            raise invalid("security_groups", value, f"{item!r} is not of type 'object'")
        check_keys(item, {"name"}, "security_groups")
        if item.get("name"):
            names.append(name_field(item["name"], "security_groups/name"))
    return sorted(set(names))


def _image_bdm(bdm: Any) -> str | None:
    """The image uuid of a ``source_type=image, destination_type=local`` boot mapping, else None."""
    if not isinstance(bdm, dict):
        return None
    boots = str(bdm.get("boot_index")) == "0"
    if boots and bdm.get("source_type") == "image" and bdm.get("destination_type", "local") == "local":
        ref = bdm.get("uuid") or bdm.get("image_id")
        return str(ref) if is_uuid(ref) else None
    return None


def _check_block_devices(server: dict[str, Any]) -> str | None:
    """Block device mappings; returns the image of an image-backed root disk mapping, if any.

    Clients (openstacksdk, the CLI) describe an image boot as one ``image -> local`` mapping.
    No block-storage service runs yet, so any mapping that needs a volume, or an extra local
    disk, cannot be served.
    """
    legacy, v2 = server.get("block_device_mapping"), server.get("block_device_mapping_v2")
    for field, value in (("block_device_mapping", legacy), ("block_device_mapping_v2", v2)):
        if value is not None and not isinstance(value, list):
            raise invalid(field, value, f"{value!r} is not of type 'array'")
    if legacy and v2:
        raise BadRequest("Using different block_device_mapping syntaxes is not allowed in the same request.")
    if legacy:
        raise BadRequest("Block Device Mapping is Invalid: the block storage service is not available.")
    images = [_image_bdm(b) for b in v2 or []]
    if any(i is None for i in images) or len(images) > 1:
        raise BadRequest("Block Device Mapping is Invalid: only an image-backed root disk can be served; "
                         "the block storage service is not available.")
    ref = server.get("imageRef")
    if images and ref not in (None, "") and images[0] != ref:
        raise BadRequest("Block Device Mapping is Invalid: the boot mapping names another image than imageRef.")
    return images[0] if images else None


def _check_image(request: Request, ctx: AuthContext, image: dict[str, Any], flavor: Any) -> tuple[str, dict[str, Any]]:
    """Nova's image/flavor checks (status, min_ram, size and min_disk against the root disk)."""
    image_id = image["id"]
    if image.get("status") != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    if int(image.get("min_ram") or 0) > flavor.memory_mb:
        raise BadRequest("Flavor's memory is too small for requested image.")
    size = int(image.get("size") or 0)
    min_disk = int(image.get("min_disk") or 0) * GiB
    root = flavor.root_gb * GiB
    if root == 0:
        if not allowed(request, ctx, "os_compute_api:servers:create:zero_disk_flavor"):
            raise Forbidden("Only volume-backed servers are allowed for flavors with zero disk.")
    else:
        if size > root:
            raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is {root} bytes, "
                             f"image is {size} bytes.")
        if min_disk > root:
            raise BadRequest(f"Flavor's disk is smaller than the minimum size specified in image metadata. "
                             f"Flavor disk is {root} bytes, minimum size is {min_disk} bytes.")
    reserved = {"id", "name", "status", "size", "checksum", "created_at", "updated_at", "visibility", "owner",
                "file", "schema", "self", "tags", "protected", "locations", "direct_url", "virtual_size",
                "os_hash_algo", "os_hash_value", "os_hidden", "stores"}
    props = {k: v for k, v in image.items() if k not in reserved}
    return image_id, props


def image_ref_of(body: dict[str, Any]) -> str | None:
    """The ``imageRef`` of a create body: a uuid, or empty (boot from volume); None when absent."""
    server = body.get("server") if isinstance(body, dict) else None
    if not isinstance(server, dict):
        return None
    ref = server.get("imageRef")
    if ref is None or ref == "":
        return None
    if not is_uuid(ref):
        raise invalid("imageRef", ref, f"{ref!r} is not valid under any of the given schemas")
    return str(ref)


def compute_has_clients(request: Request) -> None:
    if compute_of(request).images is None:
        raise BadRequest("The image service is not reachable from compute.")
