"""Parsing and checking a boot request body (POST /servers) into a BootRequest.

Checks follow Nova's JSON schema for each microversion first (400 "Invalid input for
field/attribute ..."), then its semantic checks in the order Nova makes them, with its messages.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Any

from onestack.compute.api import boot_volumes, server_networks
from onestack.compute.api.common import (
    Req,
    as_bool,
    as_int,
    check_keys,
    invalid,
    is_uuid_like,
    name_field,
)
from onestack.compute.service.boot import Decided, Draft
from onestack.core.api.faults import BadRequest

_KEYS = {"name", "imageRef", "flavorRef", "key_name", "user_data", "metadata", "availability_zone",
         "min_count", "max_count", "return_reservation_id", "networks", "security_groups", "description",
         "tags", "block_device_mapping", "block_device_mapping_v2", "config_drive", "accessIPv4", "accessIPv6",
         "adminPass", "OS-DCF:diskConfig", "personality", "hostname", "host", "hypervisor_hostname",
         "trusted_image_certificates"}
_BODY_KEYS = {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"}
MAX_USER_DATA = 65535
MAX_TAGS = 50
_METADATA_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")
_HOSTNAME = re.compile(r"^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]*$")  # 2.90-2.93: a short name
_FQDN = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")


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


def _networks(req: Req, value: Any, present: bool) -> Any:
    """Requested networks as Nova's schema checks them (None: omitted before 2.37); what they
    name is looked up later (api/server_networks.py)."""
    mv37 = req.at_least(2, 37)
    if not present:
        if mv37:
            raise invalid("server", None, "'networks' is a required property")
        return None
    if isinstance(value, str) and mv37:
        if value not in ("auto", "none"):
            raise invalid("networks", value, f"{value!r} is not one of ['none', 'auto']")
        return value
    if not isinstance(value, list):
        raise invalid("networks", value, f"{value!r} is not of type 'array'")
    fields = {"fixed_ip", "port", "uuid"} | ({"tag"} if req.at_least(2, 42) else set())
    for net in value:
        if not isinstance(net, dict):
            raise invalid("networks", value, f"{net!r} is not of type 'object'")
        check_keys(net, fields, "networks")
        port = net.get("port")
        if port is not None and not is_uuid_like(port):
            raise invalid("networks/port", port, f"{port!r} is not a 'uuid'")
        if "fixed_ip" in net:
            try:
                ipaddress.ip_address(str(net["fixed_ip"]))
            except ValueError:
                raise invalid("networks/fixed_ip", net["fixed_ip"], "is not a valid IP address") from None
        tag = net.get("tag")
        if tag is not None and (not isinstance(tag, str) or not 1 <= len(tag) <= 60 or "/" in tag or "," in tag):
            raise invalid("networks/tag", tag, f"{tag!r} does not match '^[^,/]*$'")
        if port:
            if net.get("fixed_ip") is not None:
                raise BadRequest(f"Specified Fixed IP '{net['fixed_ip']}' cannot be used with port '{port}': "
                                 "the two cannot be specified together.")
            continue
        if "uuid" not in net:
            raise BadRequest("Bad network format: missing 'uuid'")
        if mv37 and not is_uuid_like(net["uuid"]):
            raise invalid("networks/uuid", net["uuid"], f"{net['uuid']!r} is not a 'uuid'")
        if not is_uuid_like(net["uuid"]):
            raise BadRequest(f"Bad networks format: network uuid is not in proper format ({net['uuid']})")
    return value


async def _split_az(req: Req, value: Any) -> tuple[str | None, str | None, str | None]:
    """Nova's ``zone[:host[:node]]``; naming a host needs the forced_host rule (admins)."""
    if value is None:
        return None, None, None
    name_field(value, "availability_zone")
    zone, _, rest = value.partition(":")
    host, _, node = rest.partition(":")
    if host or node:
        await req.enforce("os_compute_api:servers:create:forced_host")
    return zone or None, host or None, node or None


async def _requested_destination(req: Req, server: dict[str, Any],
                                 forced: tuple[str | None, str | None]) -> tuple[str | None, str | None, bool]:
    """2.74's host / hypervisor_hostname: admin only, not mixed with ``zone:host`` (found later)."""
    host, node = server.get("host"), server.get("hypervisor_hostname")
    if not host and not node:
        return forced[0], forced[1], False
    for field, value in (("host", host), ("hypervisor_hostname", node)):
        if value is not None:
            name_field(value, field)
    await req.enforce("os_compute_api:servers:create:requested_destination")
    if forced[0] or forced[1]:
        raise BadRequest("One mechanism with host and/or hypervisor_hostname and another mechanism with "
                         "zone:host:node are mutually exclusive.")
    return host, node, True


def _hints(body: dict[str, Any]) -> dict[str, Any]:
    name = "os:scheduler_hints" if "os:scheduler_hints" in body else "OS-SCH-HNT:scheduler_hints"
    hints = body.get(name, {})
    if not isinstance(hints, dict):
        raise invalid(name, hints, f"{hints!r} is not of type 'object'")
    group = hints.get("group")
    if group is not None:
        groups = group if isinstance(group, list) else [group]
        if not groups or not all(is_uuid_like(g) for g in groups):
            raise invalid(f"{name}/group", group, f"{group!r} is not a 'uuid'")
    for key in ("different_host", "same_host"):
        value = hints.get(key)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        if not isinstance(value, (str, list)) or not all(is_uuid_like(v) for v in items):
            raise invalid(f"{name}/{key}", value, f"{value!r} is not a 'uuid'")
    return hints


def check_body(req: Req, body: Any) -> dict[str, Any]:
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


def _allowed_keys(req: Req) -> set[str]:
    keys = set(_KEYS)
    if not req.at_least(2, 19):
        keys.discard("description")
    if not req.at_least(2, 52):
        keys.discard("tags")
    if not req.at_least(2, 63):
        keys.discard("trusted_image_certificates")
    if not req.at_least(2, 74):
        keys -= {"host", "hypervisor_hostname"}
    if not req.at_least(2, 90):
        keys.discard("hostname")
    if req.at_least(2, 57):
        keys.discard("personality")
    return keys


def _hostname(req: Req, server: dict[str, Any], max_count: int) -> str | None:
    if "hostname" not in server:
        return None
    value = server["hostname"]
    pattern, limit = (_FQDN, 255) if req.at_least(2, 94) else (_HOSTNAME, 63)
    if not isinstance(value, str) or not 1 <= len(value) <= limit or not pattern.match(value):
        raise invalid("hostname", value, f"{value!r} is not a valid hostname")
    return value


def validate(req: Req, body: Any) -> Draft:
    """Nova's JSON schema of the microversion, field by field (400s); nothing is looked up yet."""
    server = check_body(req, body)
    check_keys(server, _allowed_keys(req), "server")
    for required in ("name", "flavorRef"):
        if required not in server:
            raise invalid("server", server, f"'{required}' is a required property")
    if req.at_least(2, 37) and "networks" not in server:
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
        description=_description(server.get("description")) if req.at_least(2, 19) else None,
        hostname=_hostname(req, server, 1), metadata=_metadata(server.get("metadata", {})),
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


async def check_placement_args(req: Req, draft: Draft) -> boot_volumes.BootDevices:
    """The checks Nova makes before it looks anything up: policies, block devices, imageRef.
    The block device mappings come back; a server with a boot volume has no image."""
    await req.enforce("os_compute_api:servers:create")
    await _split_az(req, draft.server.get("availability_zone"))
    devices = boot_volumes.parse(req, draft.server, draft.image_id, draft.max_count)
    if devices.volumes:
        await req.enforce("os_compute_api:servers:create:attach_volume")
    if devices.root is not None:
        draft.image_id = None  # Nova ignores imageRef when a volume is the boot device
    elif draft.image_id is None:
        draft.image_id = devices.image_id
        if draft.image_id is None:
            raise BadRequest("Missing imageRef attribute")
    _networks(req, draft.server.get("networks"), "networks" in draft.server)
    return devices


async def decide(req: Req, draft: Draft, image: dict[str, Any]) -> Decided:
    """What policy and the microversion settle for the boot, before the service's lookups."""
    ctx = await req.caller()
    server = draft.server
    zone, forced_host, forced_node = await _split_az(req, server.get("availability_zone"))
    check_destination = False
    if req.at_least(2, 74):
        forced_host, forced_node, check_destination = await _requested_destination(
            req, server, (forced_host, forced_node))
    return Decided(
        project_id=ctx.project_id or "", user_id=ctx.user_id or "", request_id=req.request_id,
        admin=await req.allowed("context_is_admin"),
        zero_disk_ok=await req.allowed("os_compute_api:servers:create:zero_disk_flavor"),
        flavor_id=_ref(server["flavorRef"], "flavorRef"), zone=zone, forced_host=forced_host,
        forced_node=forced_node, check_destination=check_destination,
        networks=await server_networks.resolve(req, await _attach_network(req, server),
                                               ctx.project_id or "", draft.max_count,
                                               await req.allowed("context_is_admin")),
        groups_checked=await server_networks.check_security_groups(req, draft.security_groups,
                                                                   ctx.project_id or ""),
        name_is_description=not req.at_least(2, 19), image=image)


async def _attach_network(req: Req, server: dict[str, Any]) -> Any:
    """The requested networks; naming any needs Nova's create:attach_network rule."""
    value = _networks(req, server.get("networks"), "networks" in server)
    if isinstance(value, list) and value:
        await req.enforce("os_compute_api:servers:create:attach_network")
    return value


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


def image_ref_of(body: dict[str, Any]) -> str | None:
    """The ``imageRef`` of a create body: a uuid, or empty (boot from volume); None when absent."""
    server = body.get("server") if isinstance(body, dict) else None
    if not isinstance(server, dict):
        return None
    ref = server.get("imageRef")
    if ref is None or ref == "":
        return None
    if not is_uuid_like(ref):
        raise invalid("imageRef", ref, f"{ref!r} is not valid under any of the given schemas")
    return str(ref)


def compute_has_clients(req: Req) -> None:
    if req.state.images is None:
        raise BadRequest("The image service is not reachable from compute.")
