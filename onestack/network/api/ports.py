"""/v2.0/ports."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.network.api import attributes as a
from onestack.network.api.common import (
    BOOL,
    INT,
    Extension,
    NetworkRoutes,
    Req,
    caller_of,
    enforce,
    enforce_attrs,
    fields_of,
    if_match,
    list_query,
    list_response,
    member_response,
    owner_of_new,
    readable,
)
from onestack.network.api.common import project as project_fields
from onestack.network.errors import (
    AllowedAddressPairExhausted,
    AllowedAddressPairsMissingIP,
    DuplicateAddressPairInRequest,
    HTTPBadRequest,
)
from onestack.network.service import dns, ports, subnets

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
    Extension("extra_dhcp_opt", "Neutron Extra DHCP options", "Extra options configuration for DHCP. For example "
              "PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)"),
    Extension("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    Extension("ip-substring-filtering", "IP address substring filtering", "Provides IP address substring "
              "filtering when listing ports"),
    Extension("port-mac-address-regenerate", "Neutron Port MAC address regenerate", "Network port MAC address "
              "regenerate"),
    Extension("port-security-groups-filtering", "Port filtering on security groups", "Provides security groups "
              "filtering when listing ports"),
    Extension("uplink-status-propagation", "Uplink status propagation extension", "Provides ability to propagate "
              "port uplink status."),
    Extension("ip_allocation", "IP Allocation", "IP allocation extension."),
    Extension("dns-integration", "DNS Integration", "Provides integration with DNS."),
]

MAX_ADDRESS_PAIRS = 10  # Neutron's max_allowed_address_pair
VNIC_TYPES = ("normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder", "smart-nic",
              "vdpa", "remote-managed", "accelerator-direct", "accelerator-direct-physical")
BINDING = ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details")


def _fixed_ips(value: Any) -> list[dict[str, str]]:
    """Neutron's type:fixed_ips: {subnet_id?, ip_address?} each, no address twice."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"Invalid data format for fixed IP: '{value}'")
    out: list[dict[str, str]] = []
    seen: list[str] = []
    for fixed in value:
        if not isinstance(fixed, dict):  # other keys are ignored, as Neutron does
            raise TypeError(f"Invalid data format for fixed IP: '{fixed}'")
        item: dict[str, str] = {}
        if "ip_address" in fixed:
            ip = a.ip_address(fixed["ip_address"])
            if ip in seen:
                raise ValueError(f"Duplicate IP address '{fixed['ip_address']}'")
            seen.append(ip)
            item["ip_address"] = ip
        if "subnet_id" in fixed:
            item["subnet_id"] = a.uuid_(fixed["subnet_id"])
        out.append(item)
    return out


def _address_pairs(value: Any) -> list[dict[str, str]]:
    """Neutron's allowed address pairs validator, with its own error types."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise HTTPBadRequest("Allowed address pairs must be a list.")
    if len(value) > MAX_ADDRESS_PAIRS:
        raise AllowedAddressPairExhausted(MAX_ADDRESS_PAIRS)
    out: list[dict[str, str]] = []
    seen: set[tuple[Any, Any]] = set()
    for pair in value:
        if not isinstance(pair, dict):
            raise TypeError(f"'{pair}' is not a dictionary")
        item: dict[str, str] = {}
        if "mac_address" in pair:
            try:
                item["mac_address"] = a.mac_address(pair["mac_address"])
            except ValueError as exc:
                raise HTTPBadRequest(str(exc)) from None
        if "ip_address" not in pair:
            raise AllowedAddressPairsMissingIP()
        key = (pair.get("mac_address"), pair["ip_address"])
        if key in seen:
            raise DuplicateAddressPairInRequest(*key)
        seen.add(key)
        extra = set(pair) - {"mac_address", "ip_address"}
        if extra:
            raise HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(sorted(extra))}'")
        try:
            ip = pair["ip_address"]
            item["ip_address"] = a.cidr(ip, strict=False) if isinstance(ip, str) and "/" in ip else a.ip_address(ip)
        except (TypeError, ValueError) as exc:
            raise HTTPBadRequest(str(exc)) from None
        out.append(item)
    return out


BLANK_DHCP_OPTS = ("router", "classless-static-route")  # options that may be set to ""


def _one_line(value: Any, max_len: int, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"'{value}' is not a valid string")
    if len(value) > max_len:
        raise ValueError(f"'{value}' exceeds maximum length of {max_len}")
    if not empty and not value.strip():
        raise ValueError(f"'{value}' Blank strings are not permitted")
    if "\n" in value or "\r" in value:
        raise ValueError(f"Multi-line string is not allowed: '{value}'")
    return value


def _dhcp_opts(value: Any) -> list[dict[str, Any]]:
    """Neutron's extra_dhcp_opt key specs: opt_name and opt_value (null removes it on update),
    ip_version 4 or 6."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"'{value}' is not a list")
    out = []
    for opt in value:
        if not isinstance(opt, dict):
            raise TypeError(f"'{opt}' is not a dictionary")
        for key in ("opt_name", "opt_value"):
            if key not in opt:
                raise ValueError(f"Validation of dictionary's keys failed. Expected keys: "
                                 f"{{'opt_name', 'opt_value'}} Provided keys: {set(opt)}")
        extra = set(opt) - {"opt_name", "opt_value", "ip_version"}
        if extra:
            raise ValueError(f"Unrecognized attribute(s) '{', '.join(sorted(extra))}'")
        name = _one_line(opt["opt_name"], 64)
        raw = opt["opt_value"]
        if raw is not None:
            raw = _one_line(raw, 255, empty=name in BLANK_DHCP_OPTS)
        version = opt.get("ip_version", 4)
        version = a.integer()(version) if version is not None else 4
        if version not in (4, 6):
            raise ValueError(f"{version} is not in [4, 6]")
        out.append({"opt_name": name, "opt_value": raw, "ip_version": version})
    return out


def _mac_or_null(value: Any) -> Any:
    return None if value is None else a.mac_address(value)


ATTRS = [
    *a.common_attrs(),
    a.Attr("network_id", a.uuid_, allow_put=False, required=True),
    a.Attr("admin_state_up", a.boolean, default=True),
    a.Attr("mac_address", _mac_or_null),
    a.Attr("fixed_ips", _fixed_ips),
    a.Attr("device_id", a.string(255), default=""),
    a.Attr("device_owner", a.string(255), default=""),
    a.Attr("security_groups", a.list_of(a.uuid_, unique=True)),
    a.Attr("port_security_enabled", a.boolean),
    a.Attr("allowed_address_pairs", _address_pairs),
    a.Attr("extra_dhcp_opts", _dhcp_opts),
    a.Attr("dns_name", dns.dns_name),
    a.Attr("dns_assignment", a.any_, allow_post=False, allow_put=False),
    a.Attr("propagate_uplink_status", a.boolean, allow_put=False),
    a.Attr("binding:host_id", a.string(255, nullable=True)),
    a.Attr("binding:vnic_type", a.one_of(*VNIC_TYPES)),
    a.Attr("binding:profile", a.dict_),
    a.Attr("binding:vif_type", a.string(64), allow_post=False, allow_put=False),
    a.Attr("binding:vif_details", a.dict_, allow_post=False, allow_put=False),
    a.Attr("status", a.string(16), allow_post=False, allow_put=False),
    a.Attr("ip_allocation", a.string(16), allow_post=False, allow_put=False),
]
PARSERS = {"admin_state_up": BOOL, "port_security_enabled": BOOL, "propagate_uplink_status": BOOL,
           "revision_number": INT}
# Attribute rules (``create_port:<attr>``) checked when the attribute is given.
GUARDED = ("mac_address", "port_security_enabled", "binding:host_id", "binding:profile", "allowed_address_pairs")


async def _enforce_attrs(req: Req, action: str, attrs: dict[str, Any], target: dict[str, Any]) -> None:
    guarded = [k for k in GUARDED if k in attrs and not (k == "mac_address" and attrs[k] is None and action ==
                                                         "create_port")]
    # Neutron checks the device_owner rule only for network devices, fixed_ips:ip_address for given addresses.
    if str(attrs.get("device_owner") or "").startswith("network:"):
        guarded.append("device_owner")
    await enforce_attrs(req, action, attrs, guarded, target,
                        {"binding:host_id": "", "binding:profile": {}, "allowed_address_pairs": []})
    for fixed in attrs.get("fixed_ips") or []:
        key = "fixed_ips:ip_address" if "ip_address" in fixed else "fixed_ips:subnet_id"
        await enforce_attrs(req, action, {key: True}, [key], target)


async def _view(req: Req, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    domain = req.state.config.network.dns_domain
    for item in items:
        item["dns_assignment"] = dns.assignment(item["fixed_ips"], item["dns_name"], domain)
    return await readable(req, "get_port", items, BINDING)


@routes.get("/v2.0/ports")
async def list_ports(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, ports.listing(caller), PARSERS)
    items = await req.read(ports.list_ports, caller, q)
    return list_response(req, "ports", await _view(req, items), q)


@routes.get("/v2.0/ports/{port_id}")
async def show_port(req: Req) -> Response:
    caller = await caller_of(req)
    item = await req.read(ports.show, caller, req.path("port_id"))
    return member_response(req, "port", (await _view(req, [item]))[0])


@routes.post("/v2.0/ports")
async def create_port(req: Req) -> Response:
    """One port (``{"port": …}``) or several in one transaction (``{"ports": […]}``, Neutron's bulk)."""
    body = await req.json()
    bulk = isinstance(body, dict) and "ports" in body and "port" not in body
    items = a.bulk_items(body, "ports", "port") if bulk else [body]
    caller = await caller_of(req)
    prepared = []
    for item in items:
        attrs = a.parse_body(item, "port", ATTRS, creating=True)
        _, project = await owner_of_new(req, attrs)
        target = {"project_id": project, "tenant_id": project,
                  **await req.read(subnets.policy_target, caller, attrs["network_id"])}
        await enforce(req, "create_port", target)
        await _enforce_attrs(req, "create_port", attrs, target)
        prepared.append((project, attrs))
    made = await req.write(ports.create_many, caller, prepared, req.state.config.network)
    shown = await _view(req, made)
    if bulk:
        return json_response({"ports": [project_fields(i, fields_of(req)) for i in shown]}, status=201)
    return member_response(req, "port", shown[0], 201)


@routes.put("/v2.0/ports/{port_id}")
async def update_port(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "port", ATTRS, creating=False)
    caller = await caller_of(req)
    target = await req.read(ports.policy_target, caller, req.path("port_id"))
    await enforce(req, "update_port", target)
    await _enforce_attrs(req, "update_port", attrs, target)
    item = await req.write(ports.update, caller, req.path("port_id"), attrs, req.state.config.network,
                           if_match(req))
    return member_response(req, "port", (await _view(req, [item]))[0])


@routes.delete("/v2.0/ports/{port_id}")
async def delete_port(req: Req) -> Response:
    caller = await caller_of(req)
    target = await req.read(ports.policy_target, caller, req.path("port_id"))
    await enforce(req, "delete_port", target)
    await req.write(ports.delete, caller, req.path("port_id"), if_match(req))
    return no_content()
