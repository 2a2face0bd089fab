"""Parsing and checking a boot request body (POST /servers) into a BootRequest."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Any

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
    name_field,
)
from onestack.compute.service import availability_zones as az_svc
from onestack.compute.service import flavors as flavor_svc
from onestack.compute.service import keypairs as keypair_svc
from onestack.compute.service import server_groups as group_svc
from onestack.compute.service.builds import BootRequest
from onestack.core.api.faults import BadRequest, Forbidden, NotFound
from onestack.core.auth import AuthContext

_KEYS = {"name", "imageRef", "flavorRef", "key_name", "user_data", "metadata", "availability_zone",
         "min_count", "max_count", "return_reservation_id", "networks", "security_groups", "description",
         "tags", "block_device_mapping", "block_device_mapping_v2", "config_drive", "accessIPv4", "accessIPv6",
         "adminPass", "OS-DCF:diskConfig", "personality", "hostname", "host", "hypervisor_hostname",
         "trusted_image_certificates"}
MAX_USER_DATA = 65535
GiB = 1024**3


def _invalid(field: str, value: Any, why: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def _ref(value: Any, field: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
        raise _invalid(field, value, f"{value!r} is not of type 'string', 'integer'")
    return str(value).rstrip("/").rsplit("/", 1)[-1]


def _metadata(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _invalid("metadata", value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not 1 <= len(key) <= 255:
            raise _invalid("metadata", value, f"'{key}' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{{1,255}}$'")
        if not isinstance(item, str):
            raise _invalid("metadata", value, f"{item!r} is not of type 'string'")
        if len(item) > 255:
            raise _invalid("metadata", value, f"{item!r} is too long")
    return {str(k): str(v) for k, v in value.items()}


def _user_data(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid("user_data", value, f"{value!r} is not of type 'string'")
    if len(value) > MAX_USER_DATA:
        raise _invalid("user_data", value, f"is too long")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("User data needs to be valid base 64.") from None
    return value


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 50:
        raise _invalid("tags", value, "must be a list of at most 50 tags")
    for tag in value:
        if not isinstance(tag, str) or not 1 <= len(tag) <= 60 or "/" in tag or "," in tag:
            raise _invalid("tags", value, f"{tag!r} is not a valid tag")
    return list(dict.fromkeys(value))


def _ip(value: Any, field: str, version: int) -> str | None:
    if value in (None, ""):
        return None
    try:
        addr = ipaddress.ip_address(str(value))
    except ValueError:
        raise _invalid(field, value, f"{value!r} is not a '{'ipv4' if version == 4 else 'ipv6'}'") from None
    if addr.version != version:
        raise _invalid(field, value, f"{value!r} is not a '{'ipv4' if version == 4 else 'ipv6'}'")
    return str(addr)


def _networks(request: Request, value: Any, present: bool) -> Any:
    if not present:
        if at_least(request, 2, 37):
            raise _invalid("networks", None, "'networks' is a required property")
        return "auto"
    if value in ("auto", "none"):
        if not at_least(request, 2, 37):
            raise _invalid("networks", value, f"{value!r} is not of type 'array'")
        return value
    if not isinstance(value, list):
        raise _invalid("networks", value, f"{value!r} is not of type 'array'")
    for net in value:
        if not isinstance(net, dict):
            raise _invalid("networks", value, f"{net!r} is not of type 'object'")
        ident = net.get("uuid") or net.get("port")
        # No network service runs yet: every requested network or port is unknown.
        if net.get("port"):
            raise NotFound(f"Port id {ident} could not be found.")
        raise BadRequest(f"Network {ident} could not be found.")
    return []


def _split_az(request: Request, ctx: AuthContext, value: Any) -> tuple[str | None, str | None, str | None]:
    if value is None:
        return None, None, None
    if not isinstance(value, str) or not value or len(value) > 255:
        raise _invalid("availability_zone", value, f"{value!r} is not a valid availability zone")
    zone, _, rest = value.partition(":")
    host, _, node = rest.partition(":")
    if host or node:
        enforce(request, ctx, "os_compute_api:servers:create:forced_host")
    return zone or None, host or None, node or None


def parse(request: Request, ctx: AuthContext, body: dict[str, Any], s: Session,
          image: dict[str, Any] | None) -> BootRequest:
    """Everything but the image lookup (done before, over HTTP): checked against the tables."""
    server = body["server"]
    mv19, mv52 = at_least(request, 2, 19), at_least(request, 2, 52)
    allowed_keys = set(_KEYS)
    if not mv19:
        allowed_keys.discard("description")
    if not mv52:
        allowed_keys.discard("tags")
    if not at_least(request, 2, 90):
        allowed_keys.discard("hostname")
    if not at_least(request, 2, 74):
        allowed_keys -= {"host", "hypervisor_hostname"}
    if at_least(request, 2, 57):
        allowed_keys.discard("personality")
    check_keys(server, allowed_keys, "server")
    if "name" not in server:
        raise _invalid("server", server, "'name' is a required property")
    name = name_field(server["name"])
    if "flavorRef" not in server:
        raise _invalid("server", server, "'flavorRef' is a required property")
    flavor_id = _ref(server["flavorRef"], "flavorRef")
    viewer = flavor_svc.Viewer(project_id=ctx.project_id, is_admin=allowed(request, ctx, "context_is_admin"))
    try:
        flavor = flavor_svc.get_flavor(s, flavor_id, viewer)
    except NotFound:
        raise BadRequest(f"Flavor {flavor_id} could not be found.") from None
    if flavor.disabled:
        raise BadRequest("Flavor is disabled.")
    key_name = server.get("key_name")
    key_data = None
    if key_name is not None:
        try:
            key_data = keypair_svc.get_keypair(s, ctx.user_id or "", str(key_name)).public_key
        except NotFound:
            raise BadRequest("Invalid key_name provided.") from None
    zone, forced_host, forced_node = _split_az(request, ctx, server.get("availability_zone"))
    if server.get("host") or server.get("hypervisor_hostname"):
        enforce(request, ctx, "os_compute_api:servers:create:requested_destination")
        forced_host = server.get("host") or forced_host
        forced_node = server.get("hypervisor_hostname") or forced_node
    if zone is not None and zone not in az_svc.zones(s) and zone != az_svc.DEFAULT_ZONE:
        raise BadRequest("The requested availability zone is not available")
    min_count = as_int(server.get("min_count", 1), "min_count", 1)
    max_count = as_int(server.get("max_count", min_count), "max_count", 1)
    if min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
    if not isinstance(hints, dict):
        raise _invalid("os:scheduler_hints", hints, f"{hints!r} is not of type 'object'")
    group = None
    if hints.get("group"):
        try:
            group = group_svc.get_group(s, str(hints["group"]), ctx.project_id)
        except NotFound:
            raise BadRequest(f"Invalid server group {hints['group']}") from None
    description = server.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 255):
        raise _invalid("description", description, "must be a string of at most 255 characters")
    image_ref, image_props = "", {}
    if image is not None:
        image_ref, image_props = _check_image(request, ctx, image, flavor)
    elif not _boots_from_volume(server):
        raise BadRequest("Missing imageRef attribute")
    config_drive = server.get("config_drive")
    if "adminPass" in server and not isinstance(server["adminPass"], str):
        raise _invalid("adminPass", server["adminPass"], f"{server['adminPass']!r} is not of type 'string'")
    specs = flavor_svc.specs_of(flavor)
    return BootRequest(
        project_id=ctx.project_id or "", user_id=ctx.user_id or "", request_id=request.state.request_id,
        name=name, image_ref=image_ref, image_properties=image_props, description=description,
        flavor={"flavorid": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
                "memory_mb": flavor.memory_mb, "root_gb": flavor.root_gb, "ephemeral_gb": flavor.ephemeral_gb,
                "swap": flavor.swap, "rxtx_factor": flavor.rxtx_factor, "extra_specs": specs,
                "description": flavor.description},
        key_name=key_name, key_data=key_data, user_data=_user_data(server.get("user_data")),
        metadata=_metadata(server.get("metadata", {})), availability_zone=zone, forced_host=forced_host,
        forced_node=forced_node, min_count=min_count, max_count=max_count, scheduler_hints=hints, group=group,
        tags=_tags(server["tags"]) if "tags" in server else [],
        networks=_networks(request, server.get("networks"), "networks" in server),
        config_drive="True" if config_drive is not None and as_bool(config_drive, "config_drive") else "",
        access_ip_v4=_ip(server.get("accessIPv4"), "accessIPv4", 4),
        access_ip_v6=_ip(server.get("accessIPv6"), "accessIPv6", 6),
        hostname=server.get("hostname"),
    )


def _boots_from_volume(server: dict[str, Any]) -> bool:
    bdms = server.get("block_device_mapping_v2") or []
    if isinstance(bdms, list) and any(isinstance(b, dict) and b.get("boot_index") in (0, "0") for b in bdms):
        # No block-storage service yet: a volume-backed boot cannot be served.
        raise BadRequest("Block Device Mapping is Invalid: no block storage service is available.")
    return False


def _check_image(request: Request, ctx: AuthContext, image: dict[str, Any], flavor: Any) -> tuple[str, dict[str, Any]]:
    image_id = image["id"]
    if image.get("status") != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    size = int(image.get("size") or 0)
    if flavor.root_gb == 0:
        if not allowed(request, ctx, "os_compute_api:servers:create:zero_disk_flavor"):
            raise Forbidden("Only volume-backed servers are allowed for flavors with zero disk.")
    else:
        if size > flavor.root_gb * GiB:
            raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is "
                             f"{flavor.root_gb * GiB} bytes, image is {size} bytes.")
        if int(image.get("min_disk") or 0) > flavor.root_gb:
            raise BadRequest("Flavor's disk is too small for requested image.")
    if int(image.get("min_ram") or 0) > flavor.memory_mb:
        raise BadRequest("Flavor's memory is too small for requested image.")
    reserved = {"id", "name", "status", "size", "checksum", "created_at", "updated_at", "visibility", "owner",
                "file", "schema", "self", "tags", "protected", "locations", "direct_url", "virtual_size",
                "os_hash_algo", "os_hash_value", "os_hidden", "stores"}
    props = {k: v for k, v in image.items() if k not in reserved}
    return image_id, props


def image_ref_of(body: dict[str, Any]) -> str | None:
    server = body.get("server")
    if not isinstance(server, dict):
        return None
    ref = server.get("imageRef")
    if ref in (None, ""):
        return None
    return _ref(ref, "imageRef")


def compute_has_clients(request: Request) -> None:
    if compute_of(request).images is None:
        raise BadRequest("The image service is not reachable from compute.")
