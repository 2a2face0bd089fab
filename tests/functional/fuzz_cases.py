"""The fuzz test's cases: the routes every service serves, and hostile requests for each.

The routes come from the services themselves (``server.build_cloud`` assembles the same apps
``onestack up`` serves), so a service added to ``server.SERVICES`` is fuzzed the day it lands.
Bodies are built from the JSON schemas and wrapper names a handler's code refers to, where it
refers to any, from seed bodies of routes whose handlers check input by hand, and from generic
hostile documents everywhere else.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from starlette.routing import Mount, Route

from onestack import server
from onestack.core.api.faults import ErrorRenderer
from onestack.core.config import load_config
from onestack.core.db import open_database

# Cases tried per route and method in the default run (all of them in the long run).
SAMPLE = 10
MAX_BODY = 114688  # [server] max_request_body_size's default, which the test cloud runs with


@dataclass(frozen=True)
class Endpoint:
    """One method of one route, as the service registered it."""

    service: str
    prefix: str
    path: str
    method: str
    params: tuple[str, ...]
    handler: Callable[..., Any] | None
    render_error: ErrorRenderer = field(compare=False)

    @property
    def literal_head(self) -> tuple[str, ...]:
        head: list[str] = []
        for part in self.path.strip("/").split("/"):
            if "{" in part:
                break
            head.append(part)
        return tuple(head)


def _handler_of(endpoint: Callable[..., Any]) -> Callable[..., Any] | None:
    """The service's own handler inside the request layer's wrapper (its closure holds it)."""
    for cell in endpoint.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, types.FunctionType) and value.__code__.co_name not in ("endpoint",):
            return value
    return endpoint if isinstance(endpoint, types.FunctionType) else None


@cache
def _built_services() -> tuple[Any, ...]:
    """The services ``onestack up`` mounts, built as it builds them (routes read, nothing served)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(None, environ={}, overrides={"server.data_dir": str(Path(tmp) / "data")})
        db = open_database(config)
        try:
            # Some services read their tables while being built (the object store its ring).
            server.upgrade_schema(db)
            built = server.build_cloud(config, db)
        finally:
            db.dispose()
    return tuple(built.services)


@cache
def served_endpoints() -> tuple[Endpoint, ...]:
    """Every (route, method) of every service ``onestack up`` mounts, read from the built apps."""
    found: list[Endpoint] = []
    for service in _built_services():
        for route in service.routes:
            if isinstance(route, Mount) and service.name in MOUNTED_ROUTES \
                    and all(e.service != service.name for e in found):
                found.extend(_mounted(service.name, service.prefix, service.render_error))
            if not isinstance(route, Route):
                continue
            for method in sorted((route.methods or set()) - {"HEAD"}):
                found.append(Endpoint(service.name, service.prefix, route.path, method,
                                      tuple(route.param_convertors), _handler_of(route.endpoint),
                                      service.render_error))
    return tuple(found)


# Services whose API is one mounted app that parses its own paths (Swift's proxy: account,
# container and object are path segments, not routes): the shapes of their paths and methods,
# as the service's API reference gives them, so the fuzz reaches them too.
MOUNTED_ROUTES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "object-store": [
        ("/info", ("GET",)),
        ("/v1/{account}", ("GET", "POST", "PUT", "DELETE")),
        ("/v1/{account}/{container}", ("GET", "POST", "PUT", "DELETE")),
        ("/v1/{account}/{container}/{object:path}", ("GET", "POST", "PUT", "DELETE", "COPY")),
    ],
}


def _mounted(name: str, prefix: str, render_error: ErrorRenderer) -> list[Endpoint]:
    return [Endpoint(name, prefix, path, method, tuple(re.findall(r"{(\w+)(?::\w+)?}", path)), None, render_error)
            for path, methods in MOUNTED_ROUTES[name] for method in methods]


def mounted_services() -> tuple[str, ...]:
    """Services that serve (part of) their API through a mounted app rather than routes."""
    return tuple(sorted({s.name for s in _built_services() for r in s.routes if isinstance(r, Mount)}))


def served_services() -> list[str]:
    return sorted({e.service for e in served_endpoints()})


# --- what a handler's code tells about its body --------------------------------------------------

def _schemas_and_wrappers(handler: Callable[..., Any] | None) -> tuple[list[dict[str, Any]], list[str]]:
    """JSON schemas (dicts with ``properties``) and wrapper-like string constants the handler names."""
    if handler is None:
        return [], []
    code = handler.__code__
    names = set(code.co_names)
    schemas: list[dict[str, Any]] = []
    for name in sorted(names):
        value = handler.__globals__.get(name)
        candidates = [value]
        if isinstance(value, types.ModuleType):
            candidates = [getattr(value, attr, None) for attr in sorted(names)]
        for candidate in candidates:
            if isinstance(candidate, dict) and isinstance(candidate.get("properties"), dict) \
                    and all(candidate is not s for s in schemas):
                schemas.append(candidate)
    wrappers = sorted({c for c in code.co_consts if isinstance(c, str) and c.replace("_", "").replace("-", "")
                       .replace(":", "").isalnum() and 2 < len(c) < 40})
    return schemas, wrappers


def example(schema: dict[str, Any], depth: int = 0) -> Any:
    """A plausible valid instance of ``schema`` (required properties only)."""
    if depth > 4:
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf", "allOf"):
        if schema.get(key):
            return example(schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: example(props.get(name, {}), depth + 1) for name in schema.get("required", [])}
    if kind == "array":
        return [example(schema["items"], depth + 1)] if isinstance(schema.get("items"), dict) else []
    if kind in ("integer", "number"):
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if schema.get("format") == "uuid":
        return str(uuid.UUID(int=1))
    return "fuzz"


def _bad_values(schema: dict[str, Any]) -> list[Any]:
    """Values a field of this schema must refuse, or that must be refused anywhere."""
    kind = schema.get("type")
    if isinstance(kind, list):  # ["object", "null"]: judged as its non-null type ({} is a valid object)
        kind = next((k for k in kind if k != "null"), None)
    common: list[Any] = ["\ud800", "nul\x00byte", 2**63 - 1, -(2**63), 1.7e308]
    if kind in ("integer", "number"):
        return [*common, -1, "1", [1]]
    if kind == "boolean":
        return [*common, "maybe"]
    if kind == "array":
        return [*common, ["\ud800"], "x"]
    if kind == "object":
        return [*common, {"k\ud800": "v"}, {"k": "\x00"}, [1]]
    return [*common, {}, "x" * 70000]


def _bad_for(value: Any) -> list[Any]:
    """Hostile replacements for a value of a valid body, by its type."""
    if isinstance(value, bool):
        return ["maybe", 2, "\ud800"]
    if isinstance(value, int | float):
        return [2**63 - 1, -(2**63), 2**31, -1, 1.7e308, "1", "\x00"]
    if isinstance(value, str):
        return ["\ud800", "a\x00b", "x" * 70000, {}, 2**63 - 1]
    if isinstance(value, list):
        return ["x", [{}], ["\ud800"], ["\x00"]]
    return [{"k\ud800": "v"}, {"\x00": "v"}, {"k": "x" * 70000}, {"k": "\x00"}, []]


def leaf_mutations(doc: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Each leaf (and each container) of ``doc`` replaced, one at a time, by hostile values."""
    for bad in _bad_for(doc) if where else []:
        yield where, bad
    if isinstance(doc, dict):
        for key, value in doc.items():
            for at, bad in leaf_mutations(value, f"{where}.{key}"):
                yield at, {**doc, key: bad}
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            for at, bad in leaf_mutations(value, f"{where}[{index}]"):
                yield at, [*doc[:index], bad, *doc[index + 1:]]


# OS-FEDERATION bodies checked by hand: a mapping (Keystone's rule schema) and a SAML2 assertion request.
_FED_MAPPING: list[Any] = [{"mapping": {"schema_version": "2.0", "rules": [{
    "local": [{"user": {"name": "{0}", "type": "ephemeral"}, "group": {"id": "g"}},
              {"projects": [{"name": "p", "roles": [{"name": "member"}], "domain": {"name": "Default"}}]}],
    "remote": [{"type": "REMOTE_USER"}, {"type": "G", "any_one_of": ["a"], "regex": True}]}]}}]
_FED_SAML: list[Any] = [{"auth": {"identity": {"methods": ["token"], "token": {"id": "x"}},
                                  "scope": {"service_provider": {"id": "x"}}}}]

# Valid bodies of routes whose handlers check their input by hand (no schema to build one from);
# each leaf is then replaced by hostile values. Only an aid: routes without a seed are fuzzed too.
# {image}, {flavor}, {server} and {key} stand for the fuzz's own resources.
SEEDS: dict[tuple[str, str], list[Any]] = {
    ("POST", "/compute/v2.1/flavors"): [{"flavor": {
        "name": "fz", "ram": 64, "vcpus": 1, "disk": 1, "swap": 0, "rxtx_factor": 1.0, "description": "d",
        "OS-FLV-EXT-DATA:ephemeral": 0, "os-flavor-access:is_public": True}}],
    ("PUT", "/compute/v2.1/flavors/{flavor_id}"): [{"flavor": {"description": "d"}}],
    ("POST", "/compute/v2.1/flavors/{flavor_id}/os-extra_specs"): [{"extra_specs": {"hw:cpu_policy": "shared"}}],
    ("POST", "/compute/v2.1/os-aggregates"): [{"aggregate": {"name": "a", "availability_zone": "z"}}],
    ("PUT", "/compute/v2.1/os-aggregates/{aggregate_id}"): [{"aggregate": {"name": "a"}}],
    ("POST", "/compute/v2.1/os-aggregates/{aggregate_id}/action"): [
        {"set_metadata": {"metadata": {"k": "v"}}}, {"add_host": {"host": "h"}}],
    ("POST", "/compute/v2.1/os-keypairs"): [{"keypair": {"name": "k", "type": "ssh"}},
                                            {"keypair": {"name": "k2", "type": "ssh", "public_key": "ssh-rsa AAAA x"}}],
    ("PUT", "/compute/v2.1/os-quota-sets/{project_id}"): [{"quota_set": {
        "cores": 10, "ram": 1000, "instances": 5, "key_pairs": 10, "metadata_items": 10, "server_groups": 5,
        "server_group_members": 5, "force": False}}],
    ("PUT", "/compute/v2.1/os-quota-class-sets/{class_name}"): [{"quota_class_set": {"cores": 10, "ram": 10}}],
    ("POST", "/compute/v2.1/os-server-groups"): [{"server_group": {
        "name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}}],
    ("POST", "/compute/v2.1/servers"): [{"server": {
        "name": "s", "imageRef": "{image}", "flavorRef": "{flavor}", "networks": "none", "min_count": 1,
        "max_count": 1, "metadata": {"k": "v"}, "description": "d", "tags": ["t"]}}],
    ("PUT", "/compute/v2.1/servers/{server_id}"): [{"server": {"name": "n", "description": "d"}}],
    ("POST", "/compute/v2.1/servers/{server_id}/action"): [
        {"reboot": {"type": "SOFT"}}, {"changePassword": {"adminPass": "p"}},
        {"createImage": {"name": "i", "metadata": {"k": "v"}}}, {"resize": {"flavorRef": "{flavor}"}}],
    ("POST", "/compute/v2.1/servers/{server_id}/metadata"): [{"metadata": {"k": "v"}}],
    ("PUT", "/compute/v2.1/servers/{server_id}/metadata"): [{"metadata": {"k": "v"}}],
    ("PUT", "/compute/v2.1/servers/{server_id}/metadata/{key}"): [{"meta": {"{key}": "v"}}],
    ("PUT", "/compute/v2.1/servers/{server_id}/tags"): [{"tags": ["a"]}],
    ("POST", "/compute/v2.1/servers/{server_id}/shares"): [{"share": {
        "share_id": "e8debdc0-447a-4376-a10a-4cd9122d7986", "tag": "data"}}],
    ("POST", "/compute/v2.1/os-server-external-events"): [{"events": [
        {"name": "network-changed", "server_uuid": "{server}", "tag": "t"}]}],
    ("POST", "/compute/v2.1/images/{image_id}/metadata"): [{"metadata": {"k": "v"}}],
    ("POST", "/identity/v3/auth/tokens"): [{"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "fuzz-nobody", "domain": {"id": "default"}, "password": "wrong"}}},
        "scope": {"project": {"id": "{project}"}}}},
        {"auth": {"identity": {"methods": ["mapped"], "mapped": {"identity_provider": "i", "protocol": "mapped"}}}}],
    ("PUT", "/identity/v3/OS-FEDERATION/mappings/{mapping_id}"): _FED_MAPPING,
    ("PATCH", "/identity/v3/OS-FEDERATION/mappings/{mapping_id}"): _FED_MAPPING,
    ("POST", "/identity/v3/auth/OS-FEDERATION/saml2"): _FED_SAML,
    ("POST", "/identity/v3/auth/OS-FEDERATION/saml2/ecp"): _FED_SAML,
    ("POST", "/identity/v3/users/{user_id}/application_credentials"): [{"application_credential": {
        "name": "a", "description": "d", "expires_at": "2099-01-01T00:00:00", "roles": [{"name": "member"}]}}],
    ("POST", "/identity/v3/OS-TRUST/trusts"): [{"trust": {
        "trustor_user_id": "{me}", "trustee_user_id": "{user}", "project_id": "{my_project}", "impersonation": False,
        "roles": [{"name": "admin"}], "remaining_uses": 5, "allow_redelegation": True, "redelegation_count": 1,
        "expires_at": "2099-01-01T00:00:00Z"}}],
    ("POST", "/identity/v3/users/{user_id}/credentials/OS-EC2"): [{"tenant_id": "{project}"}],
    ("POST", "/identity/v3/OS-OAUTH1/consumers"): [{"consumer": {"description": "d", "extra": "e"}}],
    ("PATCH", "/identity/v3/OS-OAUTH1/consumers/{consumer_id}"): [{"consumer": {"description": "d"}}],
    ("PUT", "/identity/v3/OS-OAUTH1/authorize/{request_token_id}"): [{"roles": [{"name": "member"}, {"id": "x"}]}],
    ("PUT", "/identity/v3/domains/{domain_id}/config"): [{"config": {
        "identity": {"driver": "ldap"}, "ldap": {"url": "ldap://x", "user_tree_dn": "d"}}}],
    ("POST", "/image/v2/images"): [{"name": "n", "min_ram": 1, "min_disk": 1, "container_format": "bare",
                                   "disk_format": "raw", "tags": ["t"], "protected": False, "custom": "v"}],
    ("PATCH", "/image/v2/images/{image_id}"): [[{"op": "replace", "path": "/name", "value": "n"},
                                               {"op": "add", "path": "/min_ram", "value": 1},
                                               {"op": "add", "path": "/custom", "value": "v"}]],
    ("POST", "/image/v2/images/{image_id}/members"): [{"member": "{project}"}],
    ("PUT", "/image/v2/images/{image_id}/members/{member_id}"): [{"status": "accepted"}],
    ("POST", "/image/v2/images/{image_id}/import"): [{"method": {"name": "web-download", "uri": "http://127.0.0.1:9/x"},
                                                     "stores": ["file"], "all_stores_must_succeed": True}],
    ("POST", "/image/v2/images/{image_id}/locations"): [{"url": "file:///nowhere/x", "validation_data": {
        "os_hash_algo": "sha256", "os_hash_value": "00" * 32}}],
    ("POST", "/image/v2/tasks"): [{"type": "import", "input": {
        "import_from": "http://127.0.0.1:9/x", "import_from_format": "raw", "image_properties": {"name": "n"}}}],
    ("POST", "/placement/resource_providers"): [{"name": "n", "uuid": "{unknown}"}],
    ("PUT", "/placement/resource_providers/{uuid}"): [{"name": "n"}],
    ("PUT", "/placement/allocations/{consumer_uuid}"): [{
        "allocations": {"{rp}": {"resources": {"VCPU": 1}}}, "project_id": "{project}", "user_id": "{user}",
        "consumer_generation": None}],
    ("POST", "/placement/allocations"): [{"{unknown}": {
        "allocations": {"{rp}": {"resources": {"VCPU": 1}}}, "project_id": "{project}", "user_id": "{user}",
        "consumer_generation": None}}],
}
# Neutron's bodies: every attribute a handler's attribute map checks, each leaf then made hostile.
N = "/networking/v2.0"
_POOLS = [{"start": "10.92.0.10", "end": "10.92.0.20"}]
_ROUTES = [{"destination": "10.93.0.0/24", "nexthop": "10.90.0.9"}]
SEEDS.update({
    ("POST", f"{N}/networks"): [{"network": {
        "name": "n", "description": "d", "admin_state_up": True, "mtu": 1400, "port_security_enabled": True,
        "shared": False, "router:external": False, "availability_zone_hints": ["nova"], "dns_domain": "a.b.",
        "provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 7}}],
    ("PUT", f"{N}/networks/{{network_id}}"): [{"network": {"name": "n", "mtu": 1400, "admin_state_up": True}}],
    ("POST", f"{N}/subnets"): [{"subnet": {
        "network_id": "{network}", "cidr": "10.92.0.0/24", "ip_version": 4, "gateway_ip": "10.92.0.1",
        "allocation_pools": _POOLS, "dns_nameservers": ["192.0.2.53"], "host_routes": _ROUTES, "enable_dhcp": True,
        "service_types": ["compute:nova"], "name": "s"}}, {"subnet": {
        "network_id": "{network}", "ip_version": 6, "subnetpool_id": "{pool}", "prefixlen": 64,
        "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}}],
    ("PUT", f"{N}/subnets/{{subnet_id}}"): [{"subnet": {
        "name": "s", "gateway_ip": "10.90.0.1", "allocation_pools": [{"start": "10.90.0.100", "end": "10.90.0.120"}],
        "dns_nameservers": ["192.0.2.53"], "host_routes": _ROUTES, "enable_dhcp": False}}],
    ("POST", f"{N}/ports"): [{"port": {
        "network_id": "{network}", "name": "p", "fixed_ips": [{"subnet_id": "{subnet}", "ip_address": "10.90.0.50"}],
        "allowed_address_pairs": [{"ip_address": "10.90.0.60", "mac_address": "fa:16:3e:00:00:01"}],
        "extra_dhcp_opts": [{"opt_name": "tftp-server", "opt_value": "192.0.2.1"}], "security_groups": ["{sg}"],
        "mac_address": "fa:16:3e:11:22:33", "device_owner": "compute:nova", "device_id": "d",
        "binding:host_id": "h", "binding:vnic_type": "normal", "port_security_enabled": True}}],
    ("PUT", f"{N}/ports/{{port_id}}"): [{"port": {
        "name": "p", "fixed_ips": [{"subnet_id": "{subnet}"}], "security_groups": ["{sg}"],
        "allowed_address_pairs": [{"ip_address": "10.90.0.61"}], "binding:profile": {"k": "v"}}}],
    ("POST", f"{N}/routers"): [{"router": {
        "name": "r", "admin_state_up": True, "distributed": False, "ha": False, "external_gateway_info": {
            "network_id": "{ext}", "enable_snat": True, "external_fixed_ips": [{"subnet_id": "{ext_subnet}"}]}}}],
    ("PUT", f"{N}/routers/{{router_id}}"): [{"router": {"name": "r", "routes": _ROUTES}}],
    ("POST", f"{N}/agents/{{agent_id}}/dhcp-networks"): [{"network_id": "{network}"}],
    ("POST", f"{N}/agents/{{agent_id}}/l3-routers"): [{"router_id": "{unknown}"}],
    ("PUT", f"{N}/routers/{{router_id}}/add_router_interface"): [{"subnet_id": "{subnet}"}, {"port_id": "{port}"}],
    ("PUT", f"{N}/routers/{{router_id}}/remove_router_interface"): [{"subnet_id": "{unknown}"}],
    ("PUT", f"{N}/routers/{{router_id}}/add_extraroutes"): [{"router": {"routes": _ROUTES}}],
    ("PUT", f"{N}/routers/{{router_id}}/remove_extraroutes"): [{"router": {"routes": _ROUTES}}],
    ("POST", f"{N}/floatingips"): [{"floatingip": {
        "floating_network_id": "{ext}", "port_id": "{port}", "fixed_ip_address": "{port_ip}",
        "floating_ip_address": "198.18.0.77", "description": "d", "subnet_id": "{ext_subnet}"}}],
    ("PUT", f"{N}/floatingips/{{floatingip_id}}"): [{"floatingip": {"port_id": None, "description": "d"}}],
    ("POST", f"{N}/floatingips/{{floatingip_id}}/port_forwardings"): [{"port_forwarding": {
        "protocol": "udp", "internal_port_id": "{port}", "internal_ip_address": "{port_ip}", "internal_port": 53,
        "external_port": 5353, "description": "d"}}, {"port_forwarding": {
        "protocol": "tcp", "internal_port_id": "{port}", "internal_ip_address": "{port_ip}",
        "internal_port_range": "100:110", "external_port_range": "1100:1110"}}],
    ("PUT", f"{N}/floatingips/{{floatingip_id}}/port_forwardings/{{pf_id}}"): [{"port_forwarding": {
        "external_port": 2223, "internal_port": 23}}],
    ("POST", f"{N}/security-groups"): [{"security_group": {"name": "g", "description": "d", "stateful": True}}],
    ("PUT", f"{N}/security-groups/{{security_group_id}}"): [{"security_group": {"name": "g", "description": "d"}}],
    ("POST", f"{N}/security-group-rules"): [{"security_group_rule": {
        "security_group_id": "{sg}", "direction": "ingress", "protocol": "tcp", "port_range_min": 80,
        "port_range_max": 81, "remote_ip_prefix": "10.0.0.0/8", "ethertype": "IPv4", "description": "d"}},
        {"security_group_rule": {"security_group_id": "{sg}", "direction": "egress", "protocol": "icmp",
                                 "port_range_min": 8, "port_range_max": 0, "remote_group_id": "{sg}"}}],
    ("POST", f"{N}/default-security-group-rules"): [{"default_security_group_rule": {
        "direction": "ingress", "protocol": "tcp", "port_range_min": 1, "port_range_max": 2,
        "remote_ip_prefix": "10.0.0.0/8", "used_in_default_sg": True, "used_in_non_default_sg": False}}],
    ("POST", f"{N}/subnetpools"): [{"subnetpool": {
        "name": "p", "prefixes": ["10.94.0.0/16"], "default_prefixlen": 24, "min_prefixlen": 8, "max_prefixlen": 30,
        "default_quota": 10, "address_scope_id": "{scope}", "shared": False, "is_default": False}}],
    ("PUT", f"{N}/subnetpools/{{subnetpool_id}}"): [{"subnetpool": {
        "name": "p", "default_prefixlen": 25, "min_prefixlen": 9, "max_prefixlen": 29, "default_quota": 5}}],
    ("PUT", f"{N}/subnetpools/{{subnetpool_id}}/add_prefixes"): [{"prefixes": ["10.95.0.0/16"]}],
    ("PUT", f"{N}/subnetpools/{{subnetpool_id}}/remove_prefixes"): [{"prefixes": ["10.95.0.0/16"]}],
    ("PUT", f"{N}/subnetpools/{{subnetpool_id}}/onboard_network_subnets"): [{"network_id": "{network}"}],
    ("POST", f"{N}/address-scopes"): [{"address_scope": {"name": "a", "ip_version": 4, "shared": False}}],
    ("PUT", f"{N}/address-scopes/{{address_scope_id}}"): [{"address_scope": {"name": "a"}}],
    ("POST", f"{N}/rbac-policies"): [{"rbac_policy": {
        "object_type": "network", "object_id": "{network}", "action": "access_as_shared",
        "target_tenant": "{project}"}}],
    ("PUT", f"{N}/rbac-policies/{{policy_id}}"): [{"rbac_policy": {"target_tenant": "*"}}],
    ("PUT", f"{N}/quotas/{{project_id}}"): [{"quota": {
        "network": 10, "subnet": 10, "port": 50, "router": 5, "floatingip": 5, "security_group": 10,
        "security_group_rule": 100, "subnetpool": -1, "rbac_policy": 10, "check_limit": True}}],
    **{("PUT", f"{N}/{c}/{{resource_id}}/tags"): [{"tags": ["a", "b"]}] for c in (
        "networks", "subnets", "ports", "routers", "floatingips", "security-groups", "subnetpools", "address-scopes")},
    ("PUT", f"{N}/agents/{{agent_id}}"): [{"agent": {"admin_state_up": True, "description": "d"}}],
})
# Cinder's bodies: the volume service checks most of them by hand; {volume}, {vsnapshot}, {vtype},
# {vgroup_type} stand for the fuzz's own block-storage resources.
C = "/volume/v3"
SEEDS.update({
    ("POST", f"{C}/volumes"): [{"volume": {
        "size": 1, "name": "n", "description": "d", "volume_type": "{vtype}", "metadata": {"k": "v"},
        "availability_zone": "nova", "multiattach": False}}, {"volume": {"size": 1, "snapshot_id": "{vsnapshot}"}},
        {"volume": {"size": 1, "source_volid": "{volume}"}}],
    ("PUT", f"{C}/volumes/{{volume_id}}"): [{"volume": {"name": "n", "description": "d", "metadata": {"k": "v"}}}],
    ("POST", f"{C}/volumes/{{volume_id}}/action"): [
        {"os-extend": {"new_size": 2}}, {"os-set_bootable": {"bootable": True}},
        {"os-update_readonly_flag": {"readonly": False}}, {"os-set_image_metadata": {"metadata": {"k": "v"}}},
        {"os-retype": {"new_type": "{vtype}", "migration_policy": "never"}},
        {"os-migrate_volume": {"host": "nowhere@x#x", "force_host_copy": False, "lock_volume": False}},
        {"os-migrate_volume_completion": {"new_volume": "{volume}", "error": False}},
        {"os-reimage": {"image_id": "{image}", "reimage_reserved": False}}],
    ("POST", f"{C}/volumes/{{volume_id}}/metadata"): [{"metadata": {"k": "v"}}],
    ("PUT", f"{C}/volumes/{{volume_id}}/metadata"): [{"metadata": {"k": "v"}}],
    ("POST", f"{C}/snapshots"): [{"snapshot": {
        "volume_id": "{volume}", "name": "n", "description": "d", "force": True, "metadata": {"k": "v"}}}],
    ("PUT", f"{C}/snapshots/{{snapshot_id}}"): [{"snapshot": {"name": "n", "description": "d"}}],
    ("POST", f"{C}/backups"): [{"backup": {
        "volume_id": "{volume}", "name": "n", "description": "d", "incremental": False, "force": True,
        "metadata": {"k": "v"}}}],
    ("POST", f"{C}/backups/{{backup_id}}/restore"): [{"restore": {"name": "r"}}],
    ("POST", f"{C}/attachments"): [{"attachment": {
        "volume_uuid": "{volume}", "instance_uuid": "{unknown}", "connector": {"host": "h", "initiator": "i"},
        "mode": "rw"}}],
    ("POST", f"{C}/volume-transfers"): [{"transfer": {"volume_id": "{volume}", "name": "t", "no_snapshots": True}}],
    ("POST", f"{C}/types"): [{"volume_type": {
        "name": "t", "description": "d", "os-volume-type-access:is_public": True, "extra_specs": {"k": "v"}}}],
    ("POST", f"{C}/types/{{type_id}}/extra_specs"): [{"extra_specs": {"k": "v"}}],
    ("POST", f"{C}/qos-specs"): [{"qos_specs": {"name": "q", "consumer": "back-end", "read_iops_sec": "100"}}],
    ("PUT", f"{C}/os-quota-sets/{{project_id}}"): [{"quota_set": {
        "volumes": 10, "gigabytes": 100, "snapshots": 10, "backups": 10, "backup_gigabytes": 100, "groups": 10,
        "per_volume_gigabytes": -1}}],
    ("PUT", f"{C}/os-quota-class-sets/{{class_name}}"): [{"quota_class_set": {"volumes": 10, "gigabytes": 100}}],
    ("POST", f"{C}/groups"): [{"group": {
        "name": "g", "description": "d", "group_type": "{vgroup_type}", "volume_types": ["{vtype}"],
        "availability_zone": "nova"}}],
    ("POST", f"{C}/group_types"): [{"group_type": {"name": "g", "description": "d", "is_public": True,
                                                   "group_specs": {"k": "v"}}}],
})
# The content type a seed is sent as, where it is not JSON's own.
SEED_TYPES = {("PATCH", "/image/v2/images/{image_id}"): "application/openstack-images-v2.1-json-patch"}
# What the placeholders in SEEDS stand for.
PLACEHOLDERS = {"image": ("compute", "image_id"), "flavor": ("compute", "flavor_id"),
                "server": ("compute", "server_id"), "key": ("compute", "key"), "project": ("identity", "project_id"),
                "user": ("identity", "user_id"), "rp": ("placement", "uuid"), "me": ("identity", "_me"),
                "my_project": ("identity", "_my_project"), "network": ("network", "network_id"),
                "subnet": ("network", "subnet_id"), "port": ("network", "port_id"), "port_ip": ("network", "_port_ip"),
                "sg": ("network", "security_group_id"), "scope": ("network", "address_scope_id"),
                "pool": ("network", "subnetpool_id"), "ext": ("network", "_ext"),
                "ext_subnet": ("network", "_ext_subnet"), "volume": ("volume", "volume_id"),
                "vsnapshot": ("volume", "snapshot_id"), "vtype": ("volume", "type_id"),
                "vgroup_type": ("volume", "_group_type")}


def _seeds(endpoint: Endpoint, real: dict[tuple[str, str], str], rng: random.Random) -> list[Any]:
    text = json.dumps(SEEDS.get((endpoint.method, endpoint.prefix + endpoint.path), []))
    for name, key in PLACEHOLDERS.items():
        text = text.replace("{" + name + "}", real.get(key, name))
    text = text.replace("{unknown}", str(uuid.UUID(int=rng.getrandbits(128))))
    seeds: list[Any] = json.loads(text)
    return seeds


# --- the cases ------------------------------------------------------------------------------------

@dataclass
class Case:
    endpoint: Endpoint
    label: str
    url: str
    body: bytes | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    query: str = ""


def encode(document: Any) -> bytes:
    # ensure_ascii: lone surrogates and NULs travel as \u escapes, as a hostile client sends them.
    return json.dumps(document, ensure_ascii=True).encode()


GENERIC_BODIES: list[tuple[str, bytes]] = [
    ("empty", b""), ("truncated", b"{"), ("array", b"[]"), ("string", b'"x"'), ("null", b"null"), ("object", b"{}"),
    ("deep", b"[" * 20000 + b"]" * 20000), ("deep-object", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("5000-digits", b'{"a": ' + b"9" * 5000 + b"}"), ("int65", b'{"a": 36893488147419103232}'),
    ("nan", b'{"a": NaN}'), ("infinity", b'{"a": 1e400}'), ("surrogate", b'{"a": "\\ud800"}'),
    ("surrogate-key", b'{"\\udfff": 1}'), ("nul", b'{"a": "\\u0000"}'), ("invalid-utf8", b'{"a": "\xed\xa0\x80"}'),
    ("huge", b'{"a": "' + b"x" * (MAX_BODY + 10) + b'"}'),
]
PATH_VALUES = ["99999999999999999999999", "-1", "0", "%00", "a%00b", "%ED%A0%80", "%FF", "x" * 3000,
               "..%2F..%2Fetc", "%E2%82%AC-euro", "9223372036854775808", "1e400", "%20"]
QUERIES = ["limit=99999999999999999999999", "limit=-1", "limit=abc", "marker=%00", "marker=%ED%A0%80",
           f"marker={uuid.UUID(int=7)}", "sort_key=%ED%A0%80", "sort_dir=sideways", "changes-since=yesterday",
           "minRam=99999999999999999999", "minDisk=-5", "all_tenants=%00", "name=%00", "name=%ED%A0%80",
           "id=99999999999999999999999", "status=%FF", "member_of=%00", "resources=VCPU:99999999999999999999",
           "in_tree=%00", "required=%00", "hostname=" + "x" * 5000, "is_public=maybe", "created_at=gte:%00"]


# Actions whose argument the service ignores (Cinder's os-force_delete and os-unmanage take any
# value): every body naming them is a valid request that removes the fuzz's own resource.
ARGUMENT_IGNORED = {"os-force_delete", "os-unmanage"}
# Bad values under each of an endpoint's body wrappers: a lone surrogate, NUL, too big, wrong types.
WRAPPED_VALUES: list[Any] = ["\ud800", {"name": "\ud800"}, {"name": "a\x00b"}, {"name": 2**63 - 1}, {"name": {}}, []]


def header_values(service_type: str) -> list[tuple[str, Any]]:
    """Hostile request headers: absurd microversions, tokens that are no tokens, odd media types."""
    return [
        ("OpenStack-API-Version", f"{service_type} 2.99999999999999999999999"),
        ("OpenStack-API-Version", f"{service_type} -1.-1"),
        ("X-OpenStack-Nova-API-Version", "99999999999999999999999.1"),
        ("X-Auth-Token", "x" * 8000),
        ("X-Auth-Token", b"\xff\xfe\xed\xa0\x80"),
        ("X-OpenStack-Request-ID", b"req-\xff"),
        ("Accept", "application/xml"),
        ("Content-Type", "application/json; charset=utf-16"),
    ]


def fill(endpoint: Endpoint, real: dict[tuple[str, str], str], rng: random.Random,
          override: dict[str, str] | None = None) -> str:
    path = endpoint.path
    for name in endpoint.params:
        value = (override or {}).get(name) or real.get((endpoint.service, name)) or str(uuid.UUID(int=rng.getrandbits(128)))
        path = path.replace("{" + name + "}", value).replace("{" + name + ":path}", value)
    return endpoint.prefix + path


def cases_for(endpoint: Endpoint, real: dict[tuple[str, str], str], rng: random.Random) -> list[Case]:
    found: list[Case] = []
    unknown = {p: str(uuid.UUID(int=rng.getrandbits(128))) for p in endpoint.params}
    # Unknown and hostile path parameters, one parameter at a time.
    for name in endpoint.params:
        for value in PATH_VALUES + [unknown[name]]:
            found.append(Case(endpoint, f"path {name}={value[:30]}", fill(endpoint, real, rng, {name: value}),
                              body=b"{}" if endpoint.method in ("POST", "PUT", "PATCH") else None))
    url = fill(endpoint, real, rng) if endpoint.method != "DELETE" else fill(endpoint, {}, rng, unknown)
    body = b"{}" if endpoint.method in ("POST", "PUT", "PATCH") else None
    for name, value in header_values(endpoint.service):
        found.append(Case(endpoint, f"header {name}={value!r:.30}", url, body=body, headers={name: value}))
    if endpoint.service in MOUNTED_ROUTES and endpoint.service == "object-store":
        found.extend(swift_cases(endpoint, url, real))
    if endpoint.method == "GET":
        found.extend(Case(endpoint, f"query {q[:40]}", url, query=q) for q in QUERIES)
        found.append(Case(endpoint, "long url", url + "/" + "x" * 8000))
    if endpoint.method not in ("POST", "PUT", "PATCH"):
        return found
    found.extend(Case(endpoint, f"body {label}", url, body=raw) for label, raw in GENERIC_BODIES)
    found.append(Case(endpoint, "xml", url, body=b"<a/>", headers={"Content-Type": "application/xml"}))
    schemas, wrappers = _schemas_and_wrappers(endpoint.handler)
    wrappers = [w for w in wrappers if w not in ARGUMENT_IGNORED]
    for key in wrappers[:6]:
        for bad in WRAPPED_VALUES:
            found.append(Case(endpoint, f"wrapper {key}={bad!r:.20}", url, body=encode({key: bad})))
    route = (endpoint.method, endpoint.prefix + endpoint.path)
    for seed in _seeds(endpoint, real, rng):
        for at, doc in leaf_mutations(seed):
            found.append(Case(endpoint, f"seed {at}", url, body=encode(doc),
                              headers={"Content-Type": SEED_TYPES.get(route, "application/json")}))
    for schema in schemas[:4]:
        base = example(schema)
        if not isinstance(base, dict):
            continue
        wraps: list[str | None] = [None] + [w for w in wrappers if w not in schema["properties"]][:3]
        for wrapper in wraps:
            for prop, sub in list(schema["properties"].items())[:12]:
                for bad in _bad_values(sub if isinstance(sub, dict) else {}):
                    doc = {**base, prop: bad}
                    found.append(Case(endpoint, f"schema {wrapper}.{prop}={bad!r:.20}", url,
                                      body=encode({wrapper: doc} if wrapper else doc)))
            for prop in schema.get("required", []):
                doc = {k: v for k, v in base.items() if k != prop}
                found.append(Case(endpoint, f"schema {wrapper} without {prop}", url,
                                  body=encode({wrapper: doc} if wrapper else doc)))
    return found


# --- Swift: its input is headers and queries more than bodies ------------------------------------

# Hostile request headers by the method they matter to: metadata past the constraints, names and
# values Swift refuses, malformed expiry, copy, manifest, symlink, ACL, quota and versioning
# headers. None of them is valid, so none may change what it addresses.
SWIFT_HEADERS: dict[str, list[dict[str, Any]]] = {
    "write": [
        {"X-Object-Meta-Fuzz": "v" * 300}, {"X-Object-Meta-" + "n" * 200: "v"},
        {"X-Container-Meta-Fuzz": "v" * 300}, {"X-Container-Meta-" + "n" * 200: "v"},
        {"X-Account-Meta-Fuzz": "v" * 300}, {"X-Account-Meta-" + "n" * 200: "v"},
        {**{f"X-Object-Meta-K{i}": "v" * 200 for i in range(30)}},
        {**{f"X-Container-Meta-K{i}": "v" * 200 for i in range(30)}},
        {"X-Object-Meta-Fuzz": b"\xff\xfe"}, {"X-Container-Meta-Fuzz": b"\xed\xa0\x80"},
        {"X-Delete-At": "soon"}, {"X-Delete-At": "1"}, {"X-Delete-At": "-5"}, {"X-Delete-At": "9" * 40},
        {"X-Delete-After": "-1"}, {"X-Delete-After": "later"}, {"X-Delete-After": "1e400"},
        {"X-Copy-From": "no-slash"}, {"X-Copy-From": "/"}, {"X-Copy-From": "c/%00"},
        {"X-Copy-From": "fuzz-nowhere/o", "X-Copy-From-Account": "%00"},
        {"X-Object-Manifest": "no-slash"}, {"X-Object-Manifest": "/%00"},
        {"X-Static-Large-Object": "true"}, {"X-Symlink-Target": "no-slash"},
        {"X-Symlink-Target": "c/o", "X-Symlink-Target-Account": "a/b"},
        {"X-Container-Read": ".r:"}, {"X-Container-Read": ".bogus:x"}, {"X-Container-Write": ".r:*"},
        {"X-Container-Read": "x" * 9000}, {"X-Versions-Location": "a/b"}, {"X-History-Location": "a/b"},
        {"X-Versions-Location": "c1", "X-History-Location": "c2"}, {"X-Versions-Enabled": "maybe"},
        {"X-Container-Meta-Quota-Bytes": "lots"}, {"X-Container-Meta-Quota-Count": "-5"},
        {"X-Account-Meta-Quota-Bytes": "lots"}, {"X-Account-Meta-Quota-Bytes": "-1"},
        {"X-Storage-Policy": "fuzz-no-such-policy"}, {"X-Timestamp": "yesterday"}, {"X-Timestamp": "-1"},
        {"If-None-Match": "fuzz"}, {"Content-Type": "text/plain; swift_bytes=-1"},
        {"Content-Type": "x" * 9000}, {"ETag": "\"unterminated"}, {"ETag": "x" * 9000},
        {"X-Container-Sync-To": "//%00"}, {"X-Container-Sync-Key": "k" * 9000},
        {"X-Remove-Container-Meta-" + "n" * 200: "x"}, {"X-Remove-Object-Meta-" + "n" * 200: "x"},
    ],
    "COPY": [{}, {"Destination": "no-slash"}, {"Destination": "/"}, {"Destination": "%00/o"},
             {"Destination": "fuzz-nowhere/o", "Destination-Account": "a/b"}, {"Destination": "c/" + "o" * 1100}],
    "GET": [{"Range": "bytes=9-1"}, {"Range": "bytes=" + "1-2," * 300}, {"Range": "bytes=x-y"},
            {"If-Modified-Since": "not a date"}, {"If-Match": "x" * 9000}, {"X-Newest": "maybe"}],
}
SWIFT_QUERIES = ["format=xmlx", "format=json&limit=10001", "prefix=%00", "delimiter=%ED%A0%80", "delimiter=ab",
                 "end_marker=%00", "marker=x%00", "path=%00", "reverse=maybe", "multipart-manifest=get",
                 "symlink=get", "temp_url_sig=x&temp_url_expires=abc", "version-id=abc", "versions&marker=%FF",
                 "bulk-delete", "extract-archive=tar.xz", "multipart-manifest=delete"]
# Static large object manifests (PUT ?multipart-manifest=put): a valid one, each leaf then made
# hostile. {segment} is the fuzz's own object, which the manifest names as its one segment.
SLO_SEEDS: list[Any] = [[{"path": "{segment}", "etag": None, "size_bytes": None, "range": "0-0"}]]
BULK_BODIES: list[tuple[str, bytes]] = [
    ("bulk-delete", b"/fuzz-nowhere/x\n%00\n\xed\xa0\x80\n" + b"/" * 3000),
    ("extract-archive=tar", b"not a tar archive" * 100),
    ("extract-archive=tar.gz", b"\x1f\x8b" + b"\x00" * 200),
]


def swift_cases(endpoint: Endpoint, url: str, real: dict[tuple[str, str], str]) -> list[Case]:
    """Swift's own hostile inputs for one of its path shapes."""
    found: list[Case] = []
    method = endpoint.method
    body = b"fuzz" if method in ("PUT", "POST") else None
    for headers in SWIFT_HEADERS["write"] if method in ("PUT", "POST") else SWIFT_HEADERS.get(method, []):
        label = ",".join(headers)[:40] or "no headers"
        found.append(Case(endpoint, f"swift-header {label}", url, body=body, headers=dict(headers)))
    if method in ("GET", "POST", "PUT", "DELETE"):
        found.extend(Case(endpoint, f"swift-query {q[:40]}", url, body=body, query=q) for q in SWIFT_QUERIES)
    if method == "PUT" and "object" in endpoint.params:
        segment = "/{}/{}".format(real.get((endpoint.service, "container"), "fuzz-nowhere"),
                                  real.get((endpoint.service, "object"), "o"))
        for seed in json.loads(json.dumps(SLO_SEEDS).replace("{segment}", segment)):
            for at, doc in leaf_mutations(seed):
                found.append(Case(endpoint, f"swift-slo {at}", url, body=encode(doc),
                                  query="multipart-manifest=put"))
    if method in ("POST", "PUT", "DELETE") and "object" not in endpoint.params:
        for query, raw in BULK_BODIES:
            found.append(Case(endpoint, f"swift-bulk {query}", url, body=raw, query=query,
                              headers={"Content-Type": "text/plain", "Accept": "application/json"}))
    return found


def sample(cases: list[Case], rng: random.Random) -> list[Case]:
    """The short run's cases of one route: one of each kind (path, query, body, schema…), then more at random."""
    kinds: dict[str, list[Case]] = {}
    for case in cases:
        kinds.setdefault(case.label.split(" ")[0], []).append(case)
    chosen = [rng.choice(group) for _kind, group in sorted(kinds.items())]
    rest = [c for c in cases if all(c is not k for k in chosen)]
    return chosen + rng.sample(rest, max(0, min(SAMPLE - len(chosen), len(rest))))
