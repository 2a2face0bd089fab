"""Security group rules: create (checked and normalised as Neutron does), show, list, delete.

A rule is visible to its own project, to the owner of its group, and to whoever sees the group
through an RBAC grant. Rules are never updated; a duplicate of an existing rule in the same group
is Neutron's 409 ``SecurityGroupRuleExists`` naming the rule it duplicates.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import (
    DuplicateSecurityGroupRuleInPost,
    InvalidCIDR,
    SecurityGroupEthertypeConflictWithProtocol,
    SecurityGroupInvalidIcmpValue,
    SecurityGroupInvalidPortRange,
    SecurityGroupInvalidPortValue,
    SecurityGroupInvalidProtocolForPortRange,
    SecurityGroupMissingIcmpType,
    SecurityGroupNotSingleGroupRules,
    SecurityGroupProtocolRequiredWithPorts,
    SecurityGroupRemoteGroupAndRemoteIpPrefix,
    SecurityGroupRuleExists,
    SecurityGroupRuleInvalidProtocol,
    SecurityGroupRuleNotFound,
    SecurityGroupRuleParameterConflict,
)
from onestack.network.service import quotas
from onestack.network.service.common import (
    Caller,
    Listing,
    ListQuery,
    new_id,
    paged,
    rbac_granted,
    stamp_new,
    standard_view,
)

R = models.SecurityGroupRule
SG = models.SecurityGroup

# IANA numbers of the protocol names Neutron accepts (neutron-lib's IP_PROTOCOL_MAP).
PROTOCOLS: dict[str, int] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2, "ipip": 4,
    "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
    "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136,
    "vrrp": 112,
}
# Protocols whose rules take a port range (tcp, udp, dccp, sctp, udplite).
PORT_PROTOCOLS = {6, 17, 33, 132, 136}
ICMP_PROTOCOLS = {1, 58}
# Protocols that exist only over IPv6: an IPv4 rule for them is a conflict.
IPV6_ONLY = {"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route",
             "41", "43", "44", "58", "59", "60"}


# --- attribute converters (used by the API's attribute map) ------------------------------------------


def convert_protocol(value: Any) -> str | None:
    """A protocol name (lower-cased) or a number 0-255 (kept as text, as Neutron stores it)."""
    if value is None or (isinstance(value, str) and value.lower() == "any"):
        return None
    if isinstance(value, bool):
        raise SecurityGroupRuleInvalidProtocol(value, sorted(PROTOCOLS))
    try:
        number = int(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and value.lower() in PROTOCOLS:
            return value.lower()
        raise SecurityGroupRuleInvalidProtocol(value, sorted(PROTOCOLS)) from None
    if not 0 <= number <= 255:
        raise SecurityGroupRuleInvalidProtocol(value, sorted(PROTOCOLS))
    return str(number)


def convert_port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise SecurityGroupInvalidPortValue(value)
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise SecurityGroupInvalidPortValue(value) from None
    if not 0 <= port <= 65535:
        raise SecurityGroupInvalidPortValue(value)
    return port


def convert_prefix(value: Any) -> str | None:
    """An address or network as Neutron keeps it: host bits kept, the prefix length always shown."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidCIDR(value)
    try:
        return str(ipaddress.ip_interface(value))
    except ValueError:
        raise InvalidCIDR(value) from None


def convert_ethertype(value: Any) -> str:
    if isinstance(value, str):
        for choice in ("IPv4", "IPv6"):
            if value.lower() == choice.lower():
                return choice
    raise ValueError(f"'{value}' is not in ['IPv4', 'IPv6']")


def protocol_number(protocol: str | None) -> int | None:
    if protocol is None:
        return None
    return PROTOCOLS[protocol] if protocol in PROTOCOLS else int(protocol)


def normalized(prefix: str | None) -> str | None:
    return None if prefix is None else str(ipaddress.ip_interface(prefix).network)


# --- checks ------------------------------------------------------------------------------------------


def validate(rule: dict[str, Any]) -> None:
    """Neutron's checks of one rule's fields against each other (400s); may canonicalise ``rule``."""
    if rule.get("remote_ip_prefix") and rule.get("remote_group_id"):
        raise SecurityGroupRemoteGroupAndRemoteIpPrefix()
    ethertype, protocol = rule["ethertype"], rule.get("protocol")
    # Neutron stores IPv6 ICMP under one name whatever the legacy one given.
    if ethertype == "IPv6" and protocol in ("icmp", "icmpv6"):
        rule["protocol"] = protocol = "ipv6-icmp"
    if ethertype == "IPv4" and protocol in IPV6_ONLY:
        raise SecurityGroupEthertypeConflictWithProtocol(ethertype, protocol)
    prefix = rule.get("remote_ip_prefix")
    if prefix and ethertype != f"IPv{ipaddress.ip_interface(prefix).version}":
        raise SecurityGroupRuleParameterConflict(ethertype, prefix)
    _validate_ports(rule.get("port_range_min"), rule.get("port_range_max"), protocol)


def _validate_ports(low: int | None, high: int | None, protocol: str | None) -> None:
    if low is None and high is None:
        return
    if not protocol:
        raise SecurityGroupProtocolRequiredWithPorts()
    number = protocol_number(protocol)
    if number in PORT_PROTOCOLS:
        if low == 0 or high == 0:
            raise SecurityGroupInvalidPortValue(0)
        if low is not None and high is not None and low <= high:
            return
        raise SecurityGroupInvalidPortRange()
    if number in ICMP_PROTOCOLS:
        for value, attr, field in ((low, "port_range_min", "type"), (high, "port_range_max", "code")):
            if value is not None and not 0 <= value <= 255:
                raise SecurityGroupInvalidIcmpValue(field, attr, value)
        if low is None and high is not None:
            raise SecurityGroupMissingIcmpType(high)
        return
    raise SecurityGroupInvalidProtocolForPortRange(protocol)


def rule_key(direction: str, ethertype: str, protocol: str | None, low: int | None, high: int | None,
         prefix: str | None, remote_group: str | None) -> tuple[Any, ...]:
    """What makes two rules of one group the same rule: protocol names and numbers, a prefix and its
    network, and the any-address prefix and none are each one thing."""
    net = normalized(prefix)
    if net in ("0.0.0.0/0", "::/0"):
        net = None
    return (direction, ethertype, protocol_number(protocol), low, high, net, remote_group)


def _rule_key_of(rule: Mapping[str, Any]) -> tuple[Any, ...]:
    return rule_key(rule["direction"], rule["ethertype"], rule.get("protocol"), rule.get("port_range_min"),
                    rule.get("port_range_max"), rule.get("remote_ip_prefix"), rule.get("remote_group_id"))


def _duplicate_of(s: Session, group_id: str, rule: Mapping[str, Any]) -> str | None:
    wanted = _rule_key_of(rule)
    for other in s.scalars(select(R).where(R.security_group_id == group_id)):
        if rule_key(other.direction, other.ethertype, other.protocol, other.port_range_min, other.port_range_max,
                other.remote_ip_prefix, other.remote_group_id) == wanted:
            return other.id
    return None


# --- visibility and views ------------------------------------------------------------------------------


def visible(caller: Caller) -> Any:
    """Rules ``caller`` may see: their own, those of their groups, those of groups shared with them."""
    if caller.is_admin:
        return None
    group = select(SG.id).where(or_(SG.project_id == caller.project_id,
                                    rbac_granted("security_group", SG.id, "access_as_shared", caller.project_id)))
    return or_(R.project_id == caller.project_id, R.security_group_id.in_(group))


def _visible_stmt(caller: Caller) -> Select[Any]:
    cond = visible(caller)
    return select(R) if cond is None else select(R).where(cond)


def listing() -> Listing:
    return Listing(
        tag_type=None, id_column=R.id,
        columns={"id": R.id, "project_id": R.project_id, "tenant_id": R.project_id,
                 "security_group_id": R.security_group_id, "remote_group_id": R.remote_group_id,
                 "direction": R.direction, "ethertype": R.ethertype, "protocol": R.protocol,
                 "port_range_min": R.port_range_min, "port_range_max": R.port_range_max,
                 "remote_ip_prefix": R.remote_ip_prefix, "normalized_cidr": R.normalized_cidr,
                 "description": R.description, "revision_number": R.revision_number,
                 "created_at": R.created_at, "updated_at": R.updated_at},
        conditions={"belongs_to_default_sg": _belongs_condition},
    )


def _belongs_condition(values: list[Any]) -> Any:
    defaults = select(models.DefaultSecurityGroup.security_group_id)
    if all(values):
        return R.security_group_id.in_(defaults)
    if not any(values):
        return R.security_group_id.not_in(defaults)
    return R.id.is_not(None)


def views(s: Session, rows: Sequence[models.SecurityGroupRule]) -> list[dict[str, Any]]:
    groups = {r.security_group_id for r in rows}
    d = models.DefaultSecurityGroup
    defaults = set(s.scalars(select(d.security_group_id).where(d.security_group_id.in_(groups)))) if groups else set()
    return [view(r, r.security_group_id in defaults) for r in rows]


def view(row: models.SecurityGroupRule, in_default: bool) -> dict[str, Any]:
    return {
        "id": row.id, "project_id": row.project_id, "tenant_id": row.project_id,
        "security_group_id": row.security_group_id, "direction": row.direction, "ethertype": row.ethertype,
        "protocol": row.protocol, "port_range_min": row.port_range_min, "port_range_max": row.port_range_max,
        "remote_ip_prefix": row.remote_ip_prefix, "remote_group_id": row.remote_group_id,
        "normalized_cidr": row.normalized_cidr, "belongs_to_default_sg": in_default, **standard_view(row),
    }


def of_groups(s: Session, group_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every rule of each group (whoever made it), for the groups' own views; one query."""
    found: dict[str, list[dict[str, Any]]] = {g: [] for g in group_ids}
    if not group_ids:
        return found
    rows = list(s.scalars(select(R).where(R.security_group_id.in_(list(group_ids))).order_by(R.created_at, R.id)))
    for item in views(s, rows):
        found[item["security_group_id"]].append(item)
    return found


def get_row(s: Session, caller: Caller, rule_id: str) -> models.SecurityGroupRule:
    row: models.SecurityGroupRule | None = s.scalar(_visible_stmt(caller).where(R.id == rule_id))
    if row is None:
        raise SecurityGroupRuleNotFound(rule_id)
    return row


def list_rules(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    return views(s, paged(s, _visible_stmt(caller), listing(), q, R))


def show(s: Session, caller: Caller, rule_id: str) -> dict[str, Any]:
    return views(s, [get_row(s, caller, rule_id)])[0]


def group_owner(s: Session, caller: Caller, group_id: str) -> str:
    """The project owning group ``group_id`` if ``caller`` sees it (404 otherwise): the policy target."""
    from onestack.network.service import security_groups

    return security_groups.get_row(s, caller, group_id).project_id


# --- changes ---------------------------------------------------------------------------------------------


def new_row(project_id: str, group_id: str, rule: Mapping[str, Any]) -> models.SecurityGroupRule:
    prefix = rule.get("remote_ip_prefix")
    row = R(id=new_id(), project_id=project_id, security_group_id=group_id, direction=rule["direction"],
            ethertype=rule.get("ethertype", "IPv4"), protocol=rule.get("protocol"),
            port_range_min=rule.get("port_range_min"), port_range_max=rule.get("port_range_max"),
            remote_ip_prefix=prefix, normalized_cidr=normalized(prefix),
            remote_group_id=rule.get("remote_group_id"), description=rule.get("description") or "")
    stamp_new(row)
    return row


def create(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A rule in a group ``caller`` sees (the API checked the group's owner may be changed by them)."""
    return create_many(s, caller, project_id, [attrs])[0]


def create_many(s: Session, caller: Caller, project_id: str, given: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rules of one group, all or none (Neutron's bulk create: one group, no rule twice)."""
    from onestack.network.service import security_groups

    batch = [dict(attrs) for attrs in given]
    if len({r["security_group_id"] for r in batch}) > 1:
        raise SecurityGroupNotSingleGroupRules()
    group = security_groups.get_row(s, caller, batch[0]["security_group_id"])
    for rule in batch:
        remote = rule.get("remote_group_id")
        if remote is not None:
            security_groups.get_row(s, caller, remote)  # 404 SecurityGroupNotFound unless the caller sees it
        validate(rule)
    keys = [_rule_key_of(r) for r in batch]
    if len(set(keys)) != len(keys):
        raise DuplicateSecurityGroupRuleInPost()
    for rule in batch:
        duplicate = _duplicate_of(s, group.id, rule)
        if duplicate is not None:
            raise SecurityGroupRuleExists(duplicate)
    quotas.check(s, project_id, "security_group_rule", adding=len(batch))
    rows = [new_row(project_id, group.id, rule) for rule in batch]
    s.add_all(rows)
    security_groups.changed(group)
    s.flush()
    return views(s, rows)


def delete(s: Session, caller: Caller, rule_id: str) -> None:
    from onestack.network.service import security_groups

    row = get_row(s, caller, rule_id)
    group = s.get(SG, row.security_group_id)
    s.delete(row)
    if group is not None:
        security_groups.changed(group)
    s.flush()
