"""Nova's security group proxies: ``/os-security-groups`` and ``/os-security-group-rules`` (to 2.35),
and Nova's view of groups and rules (server_security_groups.py shows a server's with it).

Groups and rules are the network service's, read and written as the calling user. Nova's view
of a group shows only its ingress rules, each as ``ip_protocol``/``from_port``/``to_port`` with
either ``ip_range`` (a CIDR) or ``group`` (the remote group's name and project); a rule whose
remote group the user cannot see is left out. Rules are created the way Nova builds them
(ingress; tcp/udp 1-65535 or icmp -1 when only a remote group is given; Nova's own 400s for bad
ports, protocols and CIDRs; a duplicate of an existing rule refused before Neutron is asked).
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from typing import Any

from starlette.responses import Response

from onestack.client.network import NetworkError
from onestack.compute.api.common import MAX_LIMIT, ComputeRoutes, Req, is_uuid_like
from onestack.compute.api.network_proxy import MAX_PROXY, UserNetwork, chunks, network, translate
from onestack.core.api.faults import BadRequest, Forbidden, NotFound
from onestack.core.api.http import json_response

routes = ComputeRoutes()

_RULE = "os_compute_api:os-security-groups:"
_TEXT = {"type": "string", "minLength": 0, "maxLength": 255}
GROUP_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["security_group"],
    "properties": {"security_group": {"type": "object", "required": ["name", "description"],
                                      "properties": {"name": _TEXT, "description": _TEXT}}}}
RULE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["security_group_rule"],
    "properties": {"security_group_rule": {
        "type": "object", "required": ["parent_group_id"],
        "properties": {"group_id": {"type": ["string", "null"], "format": "uuid"},
                       "parent_group_id": {"type": "string", "format": "uuid"}}}}}
Group = dict[str, Any]  # {"name", "tenant_id"} of a rule's remote group; None: the user cannot see it


# --- Nova's view of Neutron's groups and rules ------------------------------------------------

def nova_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A Neutron rule in Nova's internal shape (security_group_api's conversion)."""
    protocol = rule.get("protocol")
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if protocol and low is None and high is None:
        low, high = (1, 65535) if str(protocol).upper() in ("TCP", "UDP") else (-1, -1)
    return {"id": rule["id"], "parent_group_id": rule["security_group_id"], "protocol": protocol,
            "from_port": low, "to_port": high, "group_id": rule.get("remote_group_id"),
            "cidr": rule.get("remote_ip_prefix") or "0.0.0.0/0"}


def ingress_rules(group: dict[str, Any]) -> list[dict[str, Any]]:
    return [nova_rule(r) for r in group.get("security_group_rules") or () if r.get("direction") == "ingress"]


def rule_view(rule: dict[str, Any], remote: Group | None = None) -> dict[str, Any]:
    view = {"id": rule["id"], "parent_group_id": rule["parent_group_id"], "ip_protocol": rule["protocol"],
            "from_port": rule["from_port"], "to_port": rule["to_port"], "group": {}, "ip_range": {}}
    if rule["group_id"]:
        view["group"] = remote or {}
    else:
        view["ip_range"] = {"cidr": rule["cidr"]}
    return view


def group_view(group: dict[str, Any], remotes: dict[str, Group | None]) -> dict[str, Any]:
    rules = [rule_view(r, remotes.get(r["group_id"])) for r in ingress_rules(group)
             if not r["group_id"] or remotes.get(r["group_id"]) is not None]
    return {"id": group["id"], "description": group.get("description"), "name": group.get("name"),
            "tenant_id": group.get("tenant_id", group.get("project_id")), "rules": rules}


async def remote_groups(net: UserNetwork, groups: list[dict[str, Any]]) -> dict[str, Group | None]:
    """The name and project of every remote group the rules of ``groups`` name (None: not visible)."""
    known: dict[str, Group | None] = {g["id"]: {"name": g.get("name"), "tenant_id": g.get("tenant_id")}
                                      for g in groups}
    wanted = sorted({r["group_id"] for g in groups for r in ingress_rules(g) if r["group_id"]} - set(known))
    for ids in chunks(wanted):
        for g in await net.list("security-groups", id=ids, fields=["id", "name", "tenant_id"]):
            known[g["id"]] = {"name": g.get("name"), "tenant_id": g.get("tenant_id")}
    for gid in wanted:
        known.setdefault(gid, None)
    return known


async def views(net: UserNetwork, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    remotes = await remote_groups(net, groups)
    shown = [group_view(g, remotes) for g in groups]
    return sorted(shown, key=lambda g: (g["tenant_id"] or "", g["name"] or ""))


async def get_group(net: UserNetwork, group_id: str) -> dict[str, Any]:
    try:
        return await net.show("security-groups", "security_group", group_id)
    except NetworkError as err:
        raise (NotFound(err.message) if err.status == 404 else translate(err)) from None


def _uuid(value: str) -> str:
    if not is_uuid_like(value):
        raise BadRequest("Security group id should be uuid")
    return value


async def _caller(req: Req, action: str) -> UserNetwork:
    req.require_version(maximum=MAX_PROXY)
    ctx = await req.enforce(_RULE + action)
    return network(req, ctx)


# --- /os-security-groups --------------------------------------------------------------------

def _offset_limit(req: Req) -> tuple[int, int]:
    values = {}
    for name in ("limit", "offset"):
        raw = req.params.getlist(name)
        if raw:
            if not raw[-1].isdigit():
                raise req.bad_value(name, raw[-1], f"'{raw[-1]}' does not match '^[0-9]*$'")
            values[name] = int(raw[-1])
    return values.get("offset", 0), min(MAX_LIMIT, values.get("limit") or MAX_LIMIT)


@routes.get("/v2.1/os-security-groups")
async def list_groups(req: Req) -> Response:
    net = await _caller(req, "get")
    offset, limit = _offset_limit(req)
    params: dict[str, Any] = {}
    if not (await req.is_admin() and "all_tenants" in req.params):
        params["tenant_id"] = (await req.caller()).project_id
    try:
        groups = await net.list("security-groups", **params)
        groups = groups[offset:offset + limit]
        return json_response({"security_groups": await views(net, groups)})
    except NetworkError as err:
        raise translate(err) from None


@routes.post("/v2.1/os-security-groups")
async def create_group(req: Req) -> Response:
    net = await _caller(req, "create")
    body = (await req.body(GROUP_SCHEMA))["security_group"]
    try:
        made = await net.create("security-groups", "security_group",
                                {"name": body["name"], "description": body["description"]})
        return json_response({"security_group": (await views(net, [made]))[0]})
    except NetworkError as err:
        if err.status == 400:
            raise BadRequest(err.message) from None
        if err.status == 409:  # Neutron's over-quota
            raise Forbidden(err.message) from None
        raise translate(err) from None


@routes.get("/v2.1/os-security-groups/{group_id}")
async def show_group(req: Req) -> Response:
    net = await _caller(req, "show")
    group = await get_group(net, _uuid(req.path("group_id")))
    try:
        return json_response({"security_group": (await views(net, [group]))[0]})
    except NetworkError as err:
        raise translate(err) from None


@routes.put("/v2.1/os-security-groups/{group_id}")
async def update_group(req: Req) -> Response:
    net = await _caller(req, "update")
    group = await get_group(net, _uuid(req.path("group_id")))
    body = (await req.body(GROUP_SCHEMA))["security_group"]
    try:
        changed = await net.update("security-groups", "security_group", group["id"],
                                   {"name": body["name"], "description": body["description"]})
        return json_response({"security_group": (await views(net, [changed]))[0]})
    except NetworkError as err:
        raise (BadRequest(err.message) if err.status in (400, 409) else translate(err)) from None


@routes.delete("/v2.1/os-security-groups/")
async def delete_blank_group(req: Req) -> Response:
    await req.caller()  # a blank id names no group (Nova's router: 404), not the collection (405)
    raise NotFound("The resource could not be found.")


@routes.delete("/v2.1/os-security-groups/{group_id}")
async def delete_group(req: Req) -> Response:
    net = await _caller(req, "delete")
    group = await get_group(net, _uuid(req.path("group_id")))
    try:
        await net.delete("security-groups", group["id"])
    except NetworkError as err:
        if err.status == 409:  # in use, or the default group: Nova's Invalid
            raise BadRequest(err.message) from None
        raise (NotFound(err.message) if err.status == 404 else translate(err)) from None
    return Response(status_code=202)


# --- /os-security-group-rules ---------------------------------------------------------------

def parse_cidr(cidr: Any) -> str:
    if not cidr:
        return "0.0.0.0/0"
    text = urllib.parse.unquote(str(cidr))
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise BadRequest(f"{cidr} is not a valid IP network.") from None
    if "/" not in text:
        raise BadRequest(f"{cidr} is not a valid IP network.")
    return text


def new_rule(protocol: Any, from_port: Any, to_port: Any, group_id: str | None, cidr: str | None) -> dict[str, Any] | None:
    """Nova's _new_ingress_rule: the rule's values, or None when a CIDR rule lacks protocol/ports."""
    values: dict[str, Any] = {}
    upper = str(protocol).upper() if protocol else ""
    if group_id:
        values["group_id"] = group_id
        if from_port is None and to_port is None:
            if upper == "ICMP":
                from_port, to_port = -1, -1
            elif upper in ("TCP", "UDP"):
                from_port, to_port = 1, 65535
    elif cidr:
        values["cidr"] = cidr
    if not (protocol and from_port is not None and to_port is not None):
        return None if cidr and not group_id else values
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        why = ("Type and Code must be integers for ICMP protocol type" if upper == "ICMP"
               else "To and From ports must be integers")
        raise BadRequest(f"Invalid input received: {why}") from None
    if upper not in ("TCP", "UDP", "ICMP"):
        raise BadRequest(f"Invalid IP protocol {protocol}.")
    bad = ""
    if upper in ("TCP", "UDP") and low > high:
        bad = "Former value cannot be greater than the later"
    elif upper in ("TCP", "UDP") and (low < 1 or high > 65535):
        bad = f"Valid {upper} ports should be between 1-65535"
    elif upper == "ICMP" and not (-1 <= low <= 255 and -1 <= high <= 255):
        bad = "For ICMP, the type:code must be valid"
    if bad:
        raise BadRequest(f"Invalid port range {low}:{high}. {bad}")
    values.update(protocol=str(protocol), from_port=low, to_port=high)
    return values


def neutron_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """Nova's rule as Neutron's: ingress; IPv4 unless the CIDR is IPv6; -1 ports left open."""
    cidr = rule.get("cidr")
    version = ipaddress.ip_network(cidr, strict=False).version if cidr else 4
    attrs: dict[str, Any] = {"direction": "ingress", "protocol": rule.get("protocol"),
                             "ethertype": "IPv6" if version == 6 else "IPv4", "remote_ip_prefix": cidr,
                             "security_group_id": rule["parent_group_id"], "remote_group_id": rule.get("group_id")}
    if "from_port" in rule and rule["from_port"] != -1:
        attrs["port_range_min"] = rule["from_port"]
    if "to_port" in rule and rule["to_port"] != -1:
        attrs["port_range_max"] = rule["to_port"]
    return attrs


@routes.post("/v2.1/os-security-group-rules")
async def create_rule(req: Req) -> Response:
    net = await _caller(req, "rule:create")
    asked = (await req.body(RULE_SCHEMA))["security_group_rule"]
    group_id = asked.get("group_id")
    parent = await get_group(net, asked["parent_group_id"])
    source = await get_group(net, group_id) if group_id is not None else {}
    cidr = None if group_id is not None else parse_cidr(asked.get("cidr"))
    rule = new_rule(asked.get("ip_protocol"), asked.get("from_port"), asked.get("to_port"), group_id, cidr)
    if rule is None:
        raise BadRequest("Not enough parameters to build a valid rule.")
    rule["parent_group_id"] = parent["id"]
    if "cidr" in rule:
        net_part, _, prefix = rule["cidr"].partition("/")
        if net_part not in ("0.0.0.0", "::") and prefix == "0":
            raise BadRequest(f"Bad prefix for network in cidr {rule['cidr']}")
    keys = ("group_id", "cidr", "from_port", "to_port", "protocol")
    if any(all(old.get(k) == rule.get(k) for k in keys) for old in ingress_rules(parent)):
        raise BadRequest(f"This rule already exists in group {rule['parent_group_id']}")
    try:
        made = await net.create("security-group-rules", "security_group_rule", neutron_rule(rule))
    except NetworkError as err:
        if err.status == 404:
            raise NotFound(err.message) from None
        if err.status == 409:  # Nova's SecurityGroupLimitExceeded (quota, or a rule Neutron already has)
            raise Forbidden(err.message) from None
        raise translate(err) from None
    remote = {"name": source.get("name"), "tenant_id": source.get("tenant_id")} if group_id else None
    return json_response({"security_group_rule": rule_view(nova_rule(made), remote)})


@routes.delete("/v2.1/os-security-group-rules/{rule_id}")
async def delete_rule(req: Req) -> Response:
    net = await _caller(req, "rule:delete")
    rule_id = _uuid(req.path("rule_id"))
    try:
        rule = await net.show("security-group-rules", "security_group_rule", rule_id)
        await get_group(net, rule["security_group_id"])
        await net.delete("security-group-rules", rule["id"])
    except NetworkError as err:
        raise (NotFound(err.message) if err.status == 404 else translate(err)) from None
    return Response(status_code=202)
