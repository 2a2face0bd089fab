"""/v2.0/default-security-group-rules: the template of new security groups' rules (everyone reads
it; admins add and remove rules; rules are never updated)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import no_content
from onestack.network.api import attributes as a
from onestack.network.api.common import (
    BOOL,
    INT,
    Extension,
    NetworkRoutes,
    Req,
    enforce,
    list_query,
    list_response,
    member_response,
)
from onestack.network.service import default_security_group_rules as template
from onestack.network.service import security_group_rules as rules

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("security-groups-default-rules", "Default rules for security groups", "Configure set of security "
              "group rules used as default rules for every new security group"),
]


def _remote_group(value: Any) -> Any:
    return template.PARENT if value == template.PARENT else a.uuid_or_none(value)


ATTRS = [
    a.Attr("id", a.uuid_, allow_post=False, allow_put=False),
    a.Attr("direction", a.one_of("ingress", "egress"), allow_put=False, required=True),
    a.Attr("ethertype", rules.convert_ethertype, allow_put=False, default="IPv4"),
    a.Attr("protocol", rules.convert_protocol, allow_put=False, default=None),
    a.Attr("port_range_min", rules.convert_port, allow_put=False, default=None),
    a.Attr("port_range_max", rules.convert_port, allow_put=False, default=None),
    a.Attr("remote_ip_prefix", rules.convert_prefix, allow_put=False, default=None),
    a.Attr("remote_group_id", _remote_group, allow_put=False, default=None),
    a.Attr("description", a.name_or_none(), allow_put=False, default=""),
    a.Attr("used_in_default_sg", a.boolean, allow_put=False, default=True),
    a.Attr("used_in_non_default_sg", a.boolean, allow_put=False, default=True),
]
PARSERS = {"port_range_min": INT, "port_range_max": INT, "used_in_default_sg": BOOL,
           "used_in_non_default_sg": BOOL}


async def _template_written(req: Req) -> None:
    if not await req.read(template.initialised):
        await req.write(template.ensure_template)


@routes.get("/v2.0/default-security-group-rules")
async def list_template(req: Req) -> Response:
    await enforce(req, "get_default_security_group_rule", {})
    q = list_query(req, template.listing(), PARSERS)
    await _template_written(req)
    return list_response(req, "default_security_group_rules", await req.read(template.list_rules, q), q)


@routes.get("/v2.0/default-security-group-rules/{rule_id}")
async def show_template_rule(req: Req) -> Response:
    await enforce(req, "get_default_security_group_rule", {})
    await _template_written(req)
    return member_response(req, "default_security_group_rule", await req.read(template.show, req.path("rule_id")))


@routes.post("/v2.0/default-security-group-rules")
async def create_template_rule(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "default_security_group_rule", ATTRS, creating=True)
    await enforce(req, "create_default_security_group_rule", {})
    item = await req.write(template.create, attrs)
    return member_response(req, "default_security_group_rule", item, 201)


@routes.delete("/v2.0/default-security-group-rules/{rule_id}")
async def delete_template_rule(req: Req) -> Response:
    await enforce(req, "delete_default_security_group_rule", {})
    await _template_written(req)
    await req.write(template.delete, req.path("rule_id"))
    return no_content()
