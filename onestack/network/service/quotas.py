"""Per-project quotas of network resources: limits (defaults unless set), usage counted from the
rows themselves (no usage table to drift), and the check every create makes in its own
transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import OverQuota

# Neutron's defaults (quota_network, quota_subnet, …); -1 is unlimited.
DEFAULTS: dict[str, int] = {
    "network": 100, "subnet": 100, "subnetpool": -1, "port": 500, "router": 10, "floatingip": 50,
    "security_group": 10, "security_group_rule": 100, "rbac_policy": 10,
}

COUNTED: Mapping[str, Any] = {
    "network": models.Network, "subnet": models.Subnet, "subnetpool": models.SubnetPool,
    "port": models.Port, "router": models.Router, "floatingip": models.FloatingIP,
    "security_group": models.SecurityGroup, "security_group_rule": models.SecurityGroupRule,
    "rbac_policy": models.RbacPolicy,
}


def limits(s: Session, project_id: str) -> dict[str, int]:
    found = dict(DEFAULTS)
    q = models.Quota
    for resource, limit in s.execute(select(q.resource, q.limit).where(q.project_id == project_id)):
        found[resource] = limit
    return found


def usage(s: Session, project_id: str, resource: str) -> int:
    model = COUNTED[resource]
    return int(s.scalar(select(func.count()).select_from(model).where(model.project_id == project_id)) or 0)


def check(s: Session, project_id: str, resource: str, adding: int = 1) -> None:
    """409 ``OverQuota`` if ``adding`` more of ``resource`` would pass the project's limit."""
    limit = limits(s, project_id).get(resource, -1)
    if limit < 0:
        return
    if usage(s, project_id, resource) + adding > limit:
        raise OverQuota(resource)
