"""The network service's rows of the isolation matrix (test_isolation.py).

Neutron looks a resource up with the caller's context before any policy: another project's
private network, subnet, port, router, floating IP (and its port forwardings), security group
and rule, subnet pool, address scope and RBAC policy do not exist for demo — 404 with the
resource's own NotFound type, also where alt_demo's id is only named in a body (a port on alt's
network, a rule on alt's group, a subnet from alt's pool…). What demo may see (a shared or an
external network, their subnets) it may read and not change: 403 ``PolicyNotAuthorized``. Admin
APIs: other projects' quotas and auto-allocated topologies 403, agents hidden (404 / empty list).
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx

from tests.functional.isolation_support import (
    Actors,
    Probe,
    Seeded,
    ServiceMatrix,
    ok,
    register,
    view,
)

Q = "/networking/v2.0"
# A probe naming alt's id only in its body says which NotFound it expects in this header (the
# server ignores it); a path naming alt's id gets the type of the first hidden resource in it.
EXPECT = "X-Isolation-Expect"
HIDDEN_TYPES = {"networks": ("net net2", "NetworkNotFound"), "subnets": ("subnet", "SubnetNotFound"),
                "ports": ("port", "PortNotFound"), "routers": ("router", "RouterNotFound"),
                "floatingips": ("fip", "FloatingIPNotFound"), "security-groups": ("sg alt_default_sg", "SecurityGroupNotFound"),
                "security-group-rules": ("sg_rule", "SecurityGroupRuleNotFound"),
                "subnetpools": ("pool", "SubnetPoolNotFound"), "address-scopes": ("scope", "AddressScopeNotFound"),
                "rbac-policies": ("rbac", "RbacPolicyNotFound"), "port_forwardings": ("pf", "PortForwardingNotFound"),
                "network-ip-availabilities": ("net", "NetworkNotFound")}


def seed(a: Actors) -> Seeded:
    ids = a.ids()
    tag = uuid.uuid4().hex[:10]
    alt, admin, demo = a.alt_http, a.admin_http, a.demo_http
    cleanup: list[tuple[Any, ...]] = []

    def make(client: httpx.Client, collection: str, member: str, body: dict[str, Any]) -> str:
        made = str(ok(client.post(f"{Q}/{collection}", json={member: body}))[member]["id"])
        cleanup.insert(0, (client, "DELETE", f"{Q}/{collection}/{made}"))
        return made

    ids["tag"], ids["ext_alias"] = f"iso-tag-{tag}", "standard-attr-tag"
    # what only an admin makes: an external network (alt's router gateway and floating IP) and a shared one
    ids["ext"] = make(admin, "networks", "network", {"name": f"iso-ext-{tag}", "router:external": True})
    make(admin, "subnets", "subnet", {"network_id": ids["ext"], "cidr": "203.0.113.0/24", "ip_version": 4})
    ids["shared_net"] = make(admin, "networks", "network", {"name": f"iso-shared-{tag}", "shared": True})
    ids["shared_subnet"] = make(admin, "subnets", "subnet", {"network_id": ids["shared_net"], "cidr": "10.201.0.0/24",
                                                             "ip_version": 4})
    rules = ok(admin.get(f"{Q}/default-security-group-rules"))["default_security_group_rules"]
    ids["default_rule"] = rules[0]["id"] if rules else str(uuid.uuid4())
    agents = ok(admin.get(f"{Q}/agents"))["agents"]
    ids["agent"] = agents[0]["id"] if agents else str(uuid.uuid4())
    # alt_demo's private resources, one of each kind
    ids["scope"] = make(alt, "address-scopes", "address_scope", {"name": f"iso-scope-{tag}", "ip_version": 4})
    ids["pool"] = make(alt, "subnetpools", "subnetpool", {"name": f"iso-pool-{tag}", "prefixes": ["10.210.0.0/16"],
                                                          "default_prefixlen": 24, "address_scope_id": ids["scope"]})
    ids["net"] = make(alt, "networks", "network", {"name": f"iso-net-{tag}"})
    ok(alt.put(f"{Q}/networks/{ids['net']}/tags/{ids['tag']}"))
    ids["subnet"] = make(alt, "subnets", "subnet", {"network_id": ids["net"], "subnetpool_id": ids["pool"],
                                                    "ip_version": 4, "name": f"iso-subnet-{tag}"})
    ids["sg"] = make(alt, "security-groups", "security_group", {"name": f"iso-sg-{tag}"})
    ids["sg_rule"] = str(ok(alt.post(f"{Q}/security-group-rules", json={"security_group_rule": {
        "security_group_id": ids["sg"], "direction": "ingress", "protocol": "tcp", "port_range_min": 22,
        "port_range_max": 22}}))["security_group_rule"]["id"])
    port = ok(alt.post(f"{Q}/ports", json={"port": {"network_id": ids["net"], "name": f"iso-port-{tag}",
                                                    "security_groups": [ids["sg"]]}}))["port"]
    ids["port"] = port["id"]
    ids["router"] = make(alt, "routers", "router", {"name": f"iso-router-{tag}",
                                                    "external_gateway_info": {"network_id": ids["ext"]}})
    ok(alt.put(f"{Q}/routers/{ids['router']}/add_router_interface", json={"subnet_id": ids["subnet"]}))
    # the interface goes before the router and after the floating IP (its port forwarding needs it)
    cleanup.insert(1, (alt, "PUT", f"{Q}/routers/{ids['router']}/remove_router_interface",
                       {"subnet_id": ids["subnet"]}))
    ids["fip"] = make(alt, "floatingips", "floatingip", {"floating_network_id": ids["ext"]})
    ids["pf"] = str(ok(alt.post(f"{Q}/floatingips/{ids['fip']}/port_forwardings", json={"port_forwarding": {
        "protocol": "tcp", "internal_port_id": ids["port"], "internal_ip_address": port["fixed_ips"][0]["ip_address"],
        "internal_port": 22, "external_port": 2222}}))["port_forwarding"]["id"])
    cleanup.insert(0, (alt, "DELETE", f"{Q}/floatingips/{ids['fip']}/port_forwardings/{ids['pf']}"))
    # alt's second network, shared with the admin project only: its RBAC policy and it stay alt's
    ids["net2"] = make(alt, "networks", "network", {"name": f"iso-net2-{tag}"})
    ids["rbac"] = make(alt, "rbac-policies", "rbac_policy", {
        "object_type": "network", "object_id": ids["net2"], "action": "access_as_shared",
        "target_tenant": ids["admin_project"]})
    groups = ok(alt.get(f"{Q}/security-groups", params={"name": "default"}))["security_groups"]
    ids["alt_default_sg"] = groups[0]["id"]
    # demo's own network and router, to point them at alt's subnet, group and pool
    ids["demo_net"] = make(demo, "networks", "network", {"name": f"iso-demo-{tag}"})
    ids["demo_router"] = make(demo, "routers", "router", {"name": f"iso-demo-{tag}"})
    secrets = {ids[k] for k in ("net", "subnet", "port", "router", "fip", "pf", "sg", "sg_rule", "pool", "scope",
                                "net2", "rbac", "alt_default_sg", "tag")}
    secrets |= {f"iso-{kind}-{tag}" for kind in ("net", "subnet", "port", "router", "sg", "pool", "scope", "net2")}

    def snapshot() -> Any:
        reads = [f"networks/{ids['net']}", f"networks/{ids['net2']}", f"subnets/{ids['subnet']}",
                 f"ports/{ids['port']}", f"routers/{ids['router']}", f"floatingips/{ids['fip']}",
                 f"floatingips/{ids['fip']}/port_forwardings/{ids['pf']}", f"security-groups/{ids['sg']}",
                 f"security-group-rules/{ids['sg_rule']}", f"subnetpools/{ids['pool']}",
                 f"address-scopes/{ids['scope']}", f"rbac-policies/{ids['rbac']}", "quotas/" + ids["alt_project"],
                 f"networks/{ids['net']}/tags"]
        shown = [view(alt.get(f"{Q}/{path}")) for path in reads]
        shown += [view(admin.get(f"{Q}/{path}")) for path in (
            f"networks/{ids['shared_net']}", f"subnets/{ids['shared_subnet']}", f"networks/{ids['ext']}",
            f"default-security-group-rules/{ids['default_rule']}")]
        shown.append(view(admin.get(f"{Q}/auto-allocated-topology/{ids['alt_project']}", params={"fields": "dry-run"})))
        return shown

    return Seeded(ids, secrets, snapshot, cleanup)


def neutron_shape(resp: httpx.Response, code: int) -> str:
    """A NeutronError; a 404 for alt's resource names that resource's NotFound type."""
    try:
        body = resp.json()
    except ValueError:
        return f"not JSON: {resp.text[:200]}"
    error = body.get("NeutronError") if isinstance(body, dict) else None
    if not (isinstance(error, dict) and set(body) == {"NeutronError"} and set(error) == {"type", "message", "detail"}
            and isinstance(error["message"], str) and error["type"]):
        return f"not a NeutronError: {resp.text[:200]}"
    want = resp.request.headers.get(EXPECT) if code in (403, 404) else None
    if code == 404 and want is None:
        parts = resp.request.url.path.split("/")
        for collection, value in itertools.pairwise(parts):
            keys = HIDDEN_TYPES.get(collection, ("", ""))[0].split()
            if value in {_SEEDED.get(key) for key in keys}:
                want = HIDDEN_TYPES[collection][1]
                break
    if code == 403 and want is None:
        want = "PolicyNotAuthorized"
    if want and error["type"] != want:
        return f"type {error['type']!r}, expected {want!r}: {resp.text[:200]}"
    return ""


# The ids of the running seed (the error check reads which path segment is alt's).
_SEEDED: dict[str, str] = {}


def _seed(a: Actors) -> Seeded:
    seeded = seed(a)
    _SEEDED.clear()
    _SEEDED.update(seeded.ids)
    return seeded


def _expect(kind: str) -> dict[str, str]:
    return {EXPECT: kind}


V = r"/v2\.0"
TAGGED = {"networks": "net", "subnets": "subnet", "ports": "port", "routers": "router", "floatingips": "fip",
          "security-groups": "sg", "subnetpools": "pool", "address-scopes": "scope"}
P = {"network_id": "net", "subnet_id": "subnet", "port_id": "port", "router_id": "router", "floatingip_id": "fip",
     "pf_id": "pf", "security_group_id": "sg", "rule_id": "sg_rule", "subnetpool_id": "pool",
     "address_scope_id": "scope", "policy_id": "rbac", "project_id": "alt_project", "agent_id": "agent",
     "alias": "ext_alias"}
ROWS: tuple[Probe, ...] = (
    Probe("GET", r"/|/v2\.0/?", None, "version documents: the same for every caller"),
    Probe("GET", V + r"/extensions", 200, sweep=False),
    Probe("GET", V + r"/extensions/\{alias\}", 200, params={"alias": "ext_alias"}, sweep=False),
    # every list: demo's and shared rows only, whatever the filters (the matrix's below)
    Probe("GET", V + r"/(networks|subnets|ports|subnetpools|address-scopes|routers|floatingips|security-groups"
                     r"|security-group-rules|rbac-policies|network-ip-availabilities|floatingip_pools"
                     r"|availability_zones|default-security-group-rules)", 200),
    Probe("GET", V + r"/agents", 200),  # an empty list for who may not see agents
    Probe("GET", V + r"/service-providers", 200, sweep=False),  # the same for every caller
    # alt's private resources: not there for demo, whatever the method
    Probe("GET PUT DELETE", V + r"/networks/\{network_id\}", 404, params=P, body={"network": {"name": "stolen"}}),
    Probe("GET PUT DELETE", V + r"/networks/\{network_id\}", 404, params={"network_id": "net2"},
          body={"network": {"name": "stolen"}}),
    Probe("GET PUT DELETE", V + r"/subnets/\{subnet_id\}", 404, params=P, body={"subnet": {"name": "stolen"}}),
    Probe("GET PUT DELETE", V + r"/ports/\{port_id\}", 404, params=P, body={"port": {"name": "stolen"}}),
    Probe("GET PUT DELETE", V + r"/subnetpools/\{subnetpool_id\}", 404, params=P,
          body={"subnetpool": {"name": "stolen"}}),
    Probe("PUT", V + r"/subnetpools/\{subnetpool_id\}/(add|remove)_prefixes", 404, params=P,
          body={"prefixes": ["10.210.0.0/16"]}),
    Probe("PUT", V + r"/subnetpools/\{subnetpool_id\}/onboard_network_subnets", 404, params=P,
          body=lambda ids: {"network_id": ids["demo_net"]}),
    Probe("GET PUT DELETE", V + r"/address-scopes/\{address_scope_id\}", 404, params=P,
          body={"address_scope": {"name": "stolen"}}),
    Probe("GET", V + r"/network-ip-availabilities/\{network_id\}", 404, params=P),
    Probe("GET PUT DELETE", V + r"/routers/\{router_id\}", 404, params=P, body={"router": {"name": "stolen"}}),
    Probe("PUT", V + r"/routers/\{router_id\}/(add|remove)_router_interface", 404, params=P,
          body=lambda ids: {"subnet_id": ids["subnet"]}),
    Probe("PUT", V + r"/routers/\{router_id\}/(add|remove)_extraroutes", 404, params=P,
          body={"router": {"routes": [{"destination": "10.9.0.0/24", "nexthop": "10.210.0.5"}]}}),
    Probe("GET PUT DELETE", V + r"/floatingips/\{floatingip_id\}", 404, params=P,
          body={"floatingip": {"port_id": None}}),
    Probe("GET POST", V + r"/floatingips/\{floatingip_id\}/port_forwardings", 404, params=P,
          body=lambda ids: {"port_forwarding": {"protocol": "tcp", "internal_port_id": ids["port"],
                                                "internal_port": 80, "external_port": 8080}}),
    Probe("GET PUT DELETE", V + r"/floatingips/\{floatingip_id\}/port_forwardings/\{pf_id\}", 404, params=P,
          body={"port_forwarding": {"external_port": 2223}}),
    Probe("GET PUT DELETE", V + r"/security-groups/\{security_group_id\}", 404, params=P,
          body={"security_group": {"name": "stolen"}}),
    Probe("GET DELETE", V + r"/security-groups/\{security_group_id\}", 404,
          params={"security_group_id": "alt_default_sg"}),
    Probe("GET DELETE", V + r"/security-group-rules/\{rule_id\}", 404, params=P),
    Probe("GET PUT DELETE", V + r"/rbac-policies/\{policy_id\}", 404, params=P,
          body=lambda ids: {"rbac_policy": {"target_tenant": ids["demo_project"]}}),
    *(Probe("GET PUT DELETE", V + rf"/{collection}/\{{resource_id\}}/tags(/\{{tag\}})?", 404,
            params={"resource_id": key}, body={"tags": ["stolen"]}, headers=_expect(HIDDEN_TYPES[collection][1]))
      for collection, key in TAGGED.items()),
    # demo's creates naming alt's resources in the body: the named resource is not found
    Probe("POST", V + r"/subnets", 404, body=lambda ids: {"subnet": {
        "network_id": ids["net"], "cidr": "10.220.0.0/24", "ip_version": 4}}, headers=_expect("NetworkNotFound")),
    Probe("POST", V + r"/subnets", 404, body=lambda ids: {"subnet": {
        "network_id": ids["demo_net"], "subnetpool_id": ids["pool"], "ip_version": 4}},
        headers=_expect("SubnetPoolNotFound")),
    Probe("POST", V + r"/ports", 404, body=lambda ids: {"port": {"network_id": ids["net"]}},
          headers=_expect("NetworkNotFound")),
    Probe("POST", V + r"/ports", 404, body=lambda ids: {"port": {
        "network_id": ids["demo_net"], "security_groups": [ids["sg"]]}}, headers=_expect("SecurityGroupNotFound")),
    Probe("POST", V + r"/subnetpools", 404, body=lambda ids: {"subnetpool": {
        "name": "stolen", "prefixes": ["10.230.0.0/16"], "address_scope_id": ids["scope"]}},
        headers=_expect("AddressScopeNotFound")),
    Probe("POST", V + r"/routers", 404, body=lambda ids: {"router": {
        "name": "stolen", "external_gateway_info": {"network_id": ids["net"]}}}, headers=_expect("NetworkNotFound")),
    Probe("PUT", V + r"/routers/\{router_id\}/add_router_interface", 404, params={"router_id": "demo_router"},
          body=lambda ids: {"subnet_id": ids["subnet"]}, headers=_expect("SubnetNotFound")),
    Probe("PUT", V + r"/routers/\{router_id\}/add_router_interface", 404, params={"router_id": "demo_router"},
          body=lambda ids: {"port_id": ids["port"]}, headers=_expect("PortNotFound")),
    Probe("POST", V + r"/floatingips", 404, body=lambda ids: {"floatingip": {
        "floating_network_id": ids["ext"], "port_id": ids["port"]}}, headers=_expect("PortNotFound")),
    Probe("POST", V + r"/security-groups", None, "creates a group in demo's own project (it names nothing)"),
    Probe("POST", V + r"/security-group-rules", 404, body=lambda ids: {"security_group_rule": {
        "security_group_id": ids["sg"], "direction": "ingress"}}, headers=_expect("SecurityGroupNotFound")),
    # Neutron's RBAC validation reads the network elevated: refused as input, naming nothing of alt's
    Probe("POST", V + r"/rbac-policies", 400, body=lambda ids: {"rbac_policy": {
        "object_type": "network", "object_id": ids["net"], "action": "access_as_shared",
        "target_tenant": ids["demo_project"]}}),
    Probe("POST", V + r"/address-scopes", 403, body={"address_scope": {  # sharing one is an admin's
        "name": "stolen", "ip_version": 4, "shared": True}}),
    Probe("POST", V + r"/networks", 403, body={"network": {"name": "stolen", "router:external": True}}),
    # a shared network (and its subnet), an external network: demo reads them and changes nothing
    Probe("GET", V + r"/networks/\{network_id\}", 200, params={"network_id": "shared_net"}),
    Probe("GET", V + r"/networks/\{network_id\}", 200, params={"network_id": "ext"}),
    Probe("PUT DELETE", V + r"/networks/\{network_id\}", 403, params={"network_id": "shared_net"},
          body={"network": {"name": "stolen"}}),
    Probe("PUT DELETE", V + r"/networks/\{network_id\}", 403, params={"network_id": "ext"},
          body={"network": {"name": "stolen"}}),
    Probe("GET", V + r"/subnets/\{subnet_id\}", 200, params={"subnet_id": "shared_subnet"}),
    Probe("PUT DELETE", V + r"/subnets/\{subnet_id\}", 403, params={"subnet_id": "shared_subnet"},
          body={"subnet": {"name": "stolen"}}),
    Probe("PUT DELETE", V + r"/networks/\{resource_id\}/tags", 403, params={"resource_id": "shared_net"},
          body={"tags": ["stolen"]}),
    # other projects' quotas and topologies; admin-only rules and agents
    Probe("GET", V + r"/quotas", 403, headers=_expect("AdminRequired")),
    Probe("GET", V + r"/quotas/(tenant|project)", 200, sweep=False),
    Probe("GET", V + r"/quotas/\{project_id\}(/default|/details)?", 403, params=P),
    Probe("PUT", V + r"/quotas/\{project_id\}", 403, params=P, body={"quota": {"network": 99}}),
    Probe("PUT", V + r"/quotas/\{project_id\}", 403, params={"project_id": "demo_project"},
          body={"quota": {"network": 99}}),  # even demo's own
    Probe("DELETE", V + r"/quotas/\{project_id\}", 403, params=P),
    Probe("GET DELETE", V + r"/auto-allocated-topology/\{project_id\}", 403, params=P,
          headers=_expect("NotAuthorized")),
    Probe("GET", V + r"/default-security-group-rules/\{rule_id\}", 200, params={"rule_id": "default_rule"}),
    Probe("POST", V + r"/default-security-group-rules", 403, body={"default_security_group_rule": {
        "direction": "ingress", "protocol": "tcp", "port_range_min": 23, "port_range_max": 23}}),
    Probe("DELETE", V + r"/default-security-group-rules/\{rule_id\}", 403, params={"rule_id": "default_rule"}),
    Probe("GET PUT DELETE", V + r"/agents/\{agent_id\}", 404, params=P, body={"agent": {"admin_state_up": False}},
          headers=_expect("AgentNotFound")),
    # the agent scheduler extensions: admin only by policy, a 403 before any id is looked at
    Probe("GET POST", V + r"/agents/\{agent_id\}/dhcp-networks", 403, params=P,
          body={"network_id": "00000000-0000-0000-0000-000000000000"}),
    Probe("GET POST", V + r"/agents/\{agent_id\}/l3-routers", 403, params=P,
          body={"router_id": "00000000-0000-0000-0000-000000000000"}),
    Probe("DELETE", V + r"/agents/\{agent_id\}/(dhcp-networks/\{network_id\}|l3-routers/\{router_id\})", 403,
          params=P),
    Probe("GET", V + r"/(networks/\{network_id\}/dhcp-agents|routers/\{router_id\}/l3-agents)", 403, params=P),
)

MATRIX = register(ServiceMatrix(
    service="network", prefix="/networking", error=neutron_shape, seed=_seed, probes=ROWS,
    filters=("project_id={alt_project}", "tenant_id={alt_project}", "tags={tag}", "tags-any={tag}",
             "network_id={net}", "security_group_id={sg}", "device_id={router}", "router_id={router}",
             "floating_network_id={ext}", "object_id={net2}", "subnetpool_id={pool}", "address_scope_id={scope}",
             "shared=false", "fields=id&fields=name&project_id={alt_project}", "name=iso-",
             "sort_key=project_id&sort_dir=desc")))
