"""Security groups and their rules. Every project has one ``default`` group, made on first use
(the first port, or the first listing of groups) with Neutron's default rules."""

from __future__ import annotations

from contextlib import nullcontext

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.service.common import new_id, stamp_new

# Neutron's default group: all egress, and ingress only from members of the group itself.
DEFAULT_RULES = (("egress", "IPv4", False), ("egress", "IPv6", False),
                 ("ingress", "IPv4", True), ("ingress", "IPv6", True))


def ensure_default(s: Session, project_id: str) -> str:
    """The id of ``project_id``'s default group, made now if it has none.

    Two first uses racing both try to insert the project's ``network_default_security_groups``
    row; its primary key lets one win, and the loser reads the winner's group.
    """
    d = models.DefaultSecurityGroup
    found = s.scalar(select(d.security_group_id).where(d.project_id == project_id))
    if found is not None:
        return str(found)
    group_id = new_id()
    # SQLite has one writer, so no race to lose, and pysqlite's SAVEPOINT handling is unreliable.
    sqlite = s.get_bind().dialect.name == "sqlite"
    try:
        with nullcontext() if sqlite else s.begin_nested():
            group = models.SecurityGroup(id=group_id, project_id=project_id, name="default",
                                         description="Default security group", stateful=True)
            stamp_new(group)
            s.add(group)
            s.flush()
            s.add(d(project_id=project_id, security_group_id=group_id))
            for direction, ethertype, from_self in DEFAULT_RULES:
                rule = models.SecurityGroupRule(
                    id=new_id(), project_id=project_id, security_group_id=group_id, direction=direction,
                    ethertype=ethertype, remote_group_id=group_id if from_self else None)
                stamp_new(rule)
                s.add(rule)
            s.flush()
    except IntegrityError:
        found = s.scalar(select(d.security_group_id).where(d.project_id == project_id))
        if found is None:
            raise
        return str(found)
    return group_id
