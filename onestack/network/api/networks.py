"""/v2.0/networks."""

from __future__ import annotations

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
from onestack.network.api.common import (
    project as project_fields,
)
from onestack.network.service import dns, networks

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("external-net", "Neutron external network", "Adds external network attribute to network resource."),
    Extension("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    Extension("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    Extension("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute for a network "
              "resource."),
    Extension("network_availability_zone", "Network Availability Zone", "Availability zone support for network."),
    Extension("availability_zone", "Availability Zone", "The availability zone extension."),
    Extension("port-security", "Port Security", "Provides port security"),
    Extension("l2_adjacency", "L2 Adjacency", "Display L2 Adjacency for Neutron Networks."),
    Extension("filter-validation", "Filter parameters validation", "Provides validation on filter parameters."),
    Extension("standard-attr-description", "standard-attr-description", "Extension to add descriptions to "
              "standard attributes"),
    Extension("standard-attr-revisions", "Resource revision numbers", "This extension will display the revision "
              "number of neutron resources."),
    Extension("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all "
              "Neutron resources that have Neutron standard attributes."),
    Extension("revision-if-match", "If-Match constraints based on revision_number", "Extension indicating that "
              "If-Match based on revision_number is supported."),
    Extension("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
    Extension("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    Extension("project-id", "project_id field enabled", "Extension that indicates that project_id field is "
              "enabled."),
    Extension("empty-string-filtering", "Empty String Filtering Extension", "Allow filtering by attributes with "
              "empty string value"),
]

ADMIN_ATTRS = ("shared", "router:external", "is_default", "provider:network_type", "provider:physical_network",
               "provider:segmentation_id")
PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
DEFAULTS = {"shared": False, "router:external": False, "is_default": False}

ATTRS = [
    *a.common_attrs(),
    a.Attr("admin_state_up", a.boolean, default=True),
    a.Attr("shared", a.boolean, default=False),
    a.Attr("router:external", a.boolean, default=False),
    a.Attr("is_default", a.boolean, default=False),
    a.Attr("mtu", a.integer(68, 9216)),
    a.Attr("port_security_enabled", a.boolean, default=True),
    a.Attr("provider:network_type", a.one_of("flat", "vlan", "vxlan", "geneve", "gre", "local"), allow_put=False),
    a.Attr("provider:physical_network", a.string(64, nullable=True), allow_put=False),
    a.Attr("provider:segmentation_id", a.integer(0, 16777215, nullable=True), allow_put=False),
    a.Attr("availability_zone_hints", a.az_hints, allow_put=False),
    a.Attr("dns_domain", dns.dns_domain),
    a.Attr("qos_policy_id", a.uuid_or_none, allow_post=False, allow_put=False),
    a.Attr("status", a.string(16), allow_post=False, allow_put=False),
    a.Attr("subnets", a.any_, allow_post=False, allow_put=False),
]
PARSERS = {"admin_state_up": BOOL, "shared": BOOL, "router:external": BOOL, "is_default": BOOL, "mtu": INT,
           "port_security_enabled": BOOL, "provider:segmentation_id": INT, "revision_number": INT}


@routes.get("/v2.0/networks")
async def list_networks(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, networks.listing(caller), PARSERS)
    items = await req.read(networks.list_networks, caller, q)
    return list_response(req, "networks", await readable(req, "get_network", items, PROVIDER), q)


@routes.get("/v2.0/networks/{network_id}")
async def show_network(req: Req) -> Response:
    caller = await caller_of(req)
    item = await req.read(networks.show, caller, req.path("network_id"))
    await enforce(req, "get_network", {"project_id": item["project_id"]})
    return member_response(req, "network", (await readable(req, "get_network", [item], PROVIDER))[0])


@routes.post("/v2.0/networks")
async def create_network(req: Req) -> Response:
    """One network (``{"network": …}``) or several in one transaction (``{"networks": […]}``, Neutron's bulk)."""
    body = await req.json()
    bulk = isinstance(body, dict) and "networks" in body and "network" not in body
    prepared = []
    for item in a.bulk_items(body, "networks", "network") if bulk else [body]:
        attrs = a.parse_body(item, "network", ATTRS, creating=True)
        _, project = await owner_of_new(req, attrs)
        target = {"project_id": project}
        await enforce(req, "create_network", target)
        await enforce_attrs(req, "create_network", attrs, ADMIN_ATTRS, target, DEFAULTS)
        prepared.append((project, attrs))
    caller = await caller_of(req)
    made = await req.write(networks.create_many, caller, prepared, req.state.config.network.default_mtu)
    made = await readable(req, "get_network", made, PROVIDER)
    if bulk:
        return json_response({"networks": [project_fields(i, fields_of(req)) for i in made]}, status=201)
    return member_response(req, "network", made[0], 201)


@routes.put("/v2.0/networks/{network_id}")
async def update_network(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "network", ATTRS, creating=False)
    caller = await caller_of(req)
    current = await req.read(networks.show, caller, req.path("network_id"))
    target = {"project_id": current["project_id"]}
    await enforce(req, "update_network", target)
    changed = {k: v for k, v in attrs.items() if current.get(k) != v}
    await enforce_attrs(req, "update_network", changed, ADMIN_ATTRS, target)
    item = await req.write(networks.update, caller, req.path("network_id"), attrs, if_match(req))
    return member_response(req, "network", (await readable(req, "get_network", [item], PROVIDER))[0])


@routes.delete("/v2.0/networks/{network_id}")
async def delete_network(req: Req) -> Response:
    caller = await caller_of(req)
    current = await req.read(networks.show, caller, req.path("network_id"))
    await enforce(req, "delete_network", {"project_id": current["project_id"]})
    await req.write(networks.delete_network, caller, req.path("network_id"), if_match(req))
    return no_content()
