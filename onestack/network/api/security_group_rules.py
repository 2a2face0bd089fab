"""/v2.0/security-group-rules: create, show, list, delete (rules are never updated)."""

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
    fields_of,
    list_query,
    list_response,
    member_response,
    owner_of_new,
)
from onestack.network.api.common import project as project_fields
from onestack.network.errors import HTTPBadRequest, SecurityGroupNotSingleGroupRules
from onestack.network.service import security_group_rules as rules
from onestack.network.service.common import Caller

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("security-groups-normalized-cidr", "Normalized CIDR field for security group rules",
              "Add new field with normalized remote_ip_prefix cidr in SG rule"),
    Extension("security-groups-rules-belongs-to-default-sg", "Security group rules belongs to default security "
              "group", "Flag to determine if the security group rule belongs to the default security group"),
]

ATTRS = [
    a.Attr("id", a.uuid_, allow_post=False, allow_put=False),
    # Group ids are looked up, not checked for form: any unknown one is Neutron's 404 SecurityGroupNotFound.
    a.Attr("security_group_id", a.string(255), allow_put=False, required=True),
    a.Attr("direction", a.one_of("ingress", "egress"), allow_put=False, required=True),
    a.Attr("ethertype", rules.convert_ethertype, allow_put=False, default="IPv4"),
    a.Attr("protocol", rules.convert_protocol, allow_put=False, default=None),
    a.Attr("port_range_min", rules.convert_port, allow_put=False, default=None),
    a.Attr("port_range_max", rules.convert_port, allow_put=False, default=None),
    a.Attr("remote_ip_prefix", rules.convert_prefix, allow_put=False, default=None),
    a.Attr("remote_group_id", a.string(255, nullable=True), allow_put=False, default=None),
    a.Attr("description", a.name_or_none(), default=""),
    a.Attr("project_id", a.project_id, allow_put=False),
    a.Attr("tenant_id", a.project_id, allow_put=False),
    a.Attr("normalized_cidr", a.any_, allow_post=False, allow_put=False),
    a.Attr("belongs_to_default_sg", a.any_, allow_post=False, allow_put=False),
]
PARSERS = {"port_range_min": INT, "port_range_max": INT, "belongs_to_default_sg": BOOL, "revision_number": INT}


def _target(item: dict[str, Any], group_owner: str) -> dict[str, Any]:
    return {"project_id": item["project_id"], "security_group:project_id": group_owner}


@routes.get("/v2.0/security-group-rules")
async def list_rules(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, rules.listing(), PARSERS)
    return list_response(req, "security_group_rules", await req.read(rules.list_rules, caller, q), q)


@routes.get("/v2.0/security-group-rules/{rule_id}")
async def show_rule(req: Req) -> Response:
    caller = await caller_of(req)
    item = await req.read(rules.show, caller, req.path("rule_id"))
    return member_response(req, "security_group_rule", item)


@routes.post("/v2.0/security-group-rules")
async def create_rule(req: Req) -> Response:
    body = await req.json()
    bulk = isinstance(body, dict) and "security_group_rules" in body and "security_group_rule" not in body
    if bulk and (not isinstance(body["security_group_rules"], list) or not body["security_group_rules"]):
        raise HTTPBadRequest("Resources required")
    given = body["security_group_rules"] if bulk else [body]
    items = [a.parse_body(item if not bulk else {"security_group_rule": item}, "security_group_rule", ATTRS,
                          creating=True) for item in given]
    caller = await caller_of(req)
    projects = set()
    for attrs in items:
        _, project = await owner_of_new(req, attrs)
        projects.add(project)
        owner = await req.read(rules.group_owner, caller, attrs["security_group_id"])
        await enforce(req, "create_security_group_rule", {"project_id": project, "security_group:project_id": owner})
    if len(projects) > 1:
        raise SecurityGroupNotSingleGroupRules()
    made = await req.write(rules.create_many, caller, projects.pop(), items)
    if bulk:
        return json_response({"security_group_rules": [project_fields(i, fields_of(req)) for i in made]}, status=201)
    return member_response(req, "security_group_rule", made[0], 201)


@routes.delete("/v2.0/security-group-rules/{rule_id}")
async def delete_rule(req: Req) -> Response:
    caller = await caller_of(req)
    current = await req.read(rules.show, caller, req.path("rule_id"))
    owner = await req.read(rules.group_owner, Caller(project_id=None, is_admin=True), current["security_group_id"])
    await enforce(req, "delete_security_group_rule", _target(current, owner))
    await req.write(rules.delete, caller, req.path("rule_id"))
    return no_content()
