"""The template of the rules new security groups get (``/v2.0/default-security-group-rules``):
each template rule says whether it goes into projects' ``default`` groups, into other new groups,
or both; ``remote_group_id`` "PARENT" becomes the new group itself.

The template starts as Neutron's (all egress for every group; ingress from the group itself for
default groups), written once (``network_initialised`` remembers it), so rules an admin removes
stay removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onestack.core.db import RetryInNewTransaction
from onestack.network import models
from onestack.network.errors import (
    DefaultSecurityGroupRuleExists,
    DefaultSecurityGroupRuleNotFound,
    SecurityGroupNotFound,
)
from onestack.network.service import security_group_rules as rules
from onestack.network.service.common import Listing, ListQuery, new_id, paged

D = models.DefaultSecurityGroupRule
PARENT = "PARENT"
MARKER = "default-security-group-rules"
# Neutron's initial template: (direction, ethertype, remote group, in default groups, in other groups).
INITIAL = (("egress", "IPv4", None, True, True), ("egress", "IPv6", None, True, True),
           ("ingress", "IPv4", PARENT, True, False), ("ingress", "IPv6", PARENT, True, False))


def ensure_template(s: Session) -> None:
    """Write Neutron's initial template unless it was written once already (race-safe, as
    ``ensure_default``: the marker's primary key lets one first use win)."""
    if s.get(models.Initialised, MARKER) is not None:
        return
    sqlite = s.get_bind().dialect.name == "sqlite"
    try:
        with nullcontext() if sqlite else s.begin_nested():
            s.add(models.Initialised(what=MARKER))
            s.flush()
            for direction, ethertype, remote, in_default, in_others in INITIAL:
                s.add(D(id=new_id(), direction=direction, ethertype=ethertype, remote_group_id=remote,
                        description="", used_in_default_sg=in_default, used_in_non_default_sg=in_others))
            s.flush()
    except IntegrityError as exc:
        if s.get(models.Initialised, MARKER) is None:
            if s.get_bind().dialect.name == "mysql":
                # REPEATABLE READ: the winner's marker and rules are invisible to this transaction.
                raise RetryInNewTransaction(exc) from None
            raise


def initialised(s: Session) -> bool:
    return s.get(models.Initialised, MARKER) is not None


def rules_for(s: Session, group_id: str, *, default_group: bool) -> list[dict[str, Any]]:
    """The template's rules for a new group, as rule attributes (``PARENT`` made the group)."""
    ensure_template(s)
    wanted = D.used_in_default_sg if default_group else D.used_in_non_default_sg
    found = []
    for row in s.scalars(select(D).where(wanted.is_(True)).order_by(D.id)):
        if row.remote_group_id not in (None, PARENT) and s.get(models.SecurityGroup, row.remote_group_id) is None:
            continue  # the group it named is gone
        found.append({"direction": row.direction, "ethertype": row.ethertype, "protocol": row.protocol,
                      "port_range_min": row.port_range_min, "port_range_max": row.port_range_max,
                      "remote_ip_prefix": row.remote_ip_prefix, "description": row.description,
                      "remote_group_id": group_id if row.remote_group_id == PARENT else row.remote_group_id})
    return found


# --- the API ---------------------------------------------------------------------------------------------


def listing() -> Listing:
    return Listing(tag_type=None, id_column=D.id,
                   columns={"id": D.id, "direction": D.direction, "ethertype": D.ethertype, "protocol": D.protocol,
                            "port_range_min": D.port_range_min, "port_range_max": D.port_range_max,
                            "remote_ip_prefix": D.remote_ip_prefix, "remote_group_id": D.remote_group_id,
                            "description": D.description, "used_in_default_sg": D.used_in_default_sg,
                            "used_in_non_default_sg": D.used_in_non_default_sg})


def view(row: models.DefaultSecurityGroupRule) -> dict[str, Any]:
    return {"id": row.id, "direction": row.direction, "ethertype": row.ethertype, "protocol": row.protocol,
            "port_range_min": row.port_range_min, "port_range_max": row.port_range_max,
            "remote_ip_prefix": row.remote_ip_prefix, "remote_group_id": row.remote_group_id,
            "description": row.description, "used_in_default_sg": row.used_in_default_sg,
            "used_in_non_default_sg": row.used_in_non_default_sg}


def list_rules(s: Session, q: ListQuery) -> list[dict[str, Any]]:
    return [view(r) for r in paged(s, select(D), listing(), q, D)]


def _get(s: Session, rule_id: str) -> models.DefaultSecurityGroupRule:
    row = s.get(D, rule_id)
    if row is None:
        raise DefaultSecurityGroupRuleNotFound(rule_id)
    return row


def show(s: Session, rule_id: str) -> dict[str, Any]:
    return view(_get(s, rule_id))


def _key(rule: Mapping[str, Any]) -> tuple[Any, ...]:
    return rules.rule_key(rule["direction"], rule["ethertype"], rule.get("protocol"), rule.get("port_range_min"),
                          rule.get("port_range_max"), rule.get("remote_ip_prefix"), rule.get("remote_group_id"))


def create(s: Session, attrs: Mapping[str, Any]) -> dict[str, Any]:
    ensure_template(s)
    rule = dict(attrs)
    remote = rule.get("remote_group_id")
    if remote not in (None, PARENT) and s.get(models.SecurityGroup, remote) is None:
        raise SecurityGroupNotFound(remote)
    rules.validate(rule)
    wanted = _key(rule)
    existing: Sequence[models.DefaultSecurityGroupRule] = list(s.scalars(select(D)))
    for other in existing:
        if _key(view(other)) == wanted:
            raise DefaultSecurityGroupRuleExists(other.id)
    row = D(id=new_id(), direction=rule["direction"], ethertype=rule["ethertype"], protocol=rule.get("protocol"),
            port_range_min=rule.get("port_range_min"), port_range_max=rule.get("port_range_max"),
            remote_ip_prefix=rule.get("remote_ip_prefix"), remote_group_id=rule.get("remote_group_id"),
            description=rule.get("description") or "", used_in_default_sg=rule.get("used_in_default_sg", True),
            used_in_non_default_sg=rule.get("used_in_non_default_sg", True))
    s.add(row)
    s.flush()
    return view(row)


def delete(s: Session, rule_id: str) -> None:
    s.delete(_get(s, rule_id))
    s.flush()
