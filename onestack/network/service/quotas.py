"""Per-project quotas of network resources: limits (defaults unless set), usage counted from the
rows themselves (no usage table to drift), and the check every create makes in its own
transaction. Network-owned resources (project_id "", such as router gateway and floating IP
ports) count against no project, as in Neutron.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, func, select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import InvalidQuotaValue, OverQuota, TenantQuotaNotFound

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
        if resource in found:
            found[resource] = limit
    return found


def usage(s: Session, project_id: str, resource: str) -> int:
    model = COUNTED[resource]
    return int(s.scalar(select(func.count()).select_from(model).where(model.project_id == project_id)) or 0)


def _check_statement(resource: str) -> Select[Any]:
    """The project's usage of ``resource`` and its own limit (NULL: the default) in one round trip."""
    # Core (the tables' columns): ``check`` flushes first, as the ORM's autoflush would.
    table, q = cast(Table, COUNTED[resource].__table__), cast(Table, models.Quota.__table__)
    project: Any = bindparam("project")
    used = select(func.count()).select_from(table).where(table.c.project_id == project).scalar_subquery()
    own = select(q.c.limit).where(q.c.project_id == project, q.c.resource == resource).scalar_subquery()
    return select(used, own)


# ``check``'s statement per resource, built once: every create runs it (docs/design.md, statements
# on the hot paths).
_CHECKS: dict[str, Select[Any]] = {}


def check(s: Session, project_id: str, resource: str, adding: int = 1) -> None:
    """409 ``OverQuota`` if ``adding`` more of ``resource`` would pass the project's limit."""
    if not project_id:
        return  # network-owned: no project's quota
    stmt = _CHECKS.get(resource)
    if stmt is None:
        stmt = _CHECKS[resource] = _check_statement(resource)
    s.flush()  # rows of the resource added in this transaction count
    count, own_limit = s.execute(stmt, {"project": project_id}).one()
    limit = DEFAULTS.get(resource, -1) if own_limit is None else own_limit
    if 0 <= limit < int(count or 0) + adding:
        raise OverQuota(resource)


# --- the quotas API ------------------------------------------------------------------------------------


def details(s: Session, project_id: str) -> dict[str, dict[str, int]]:
    """Limit, use and reservations (always 0: creates count rows in their own transaction) per resource."""
    return {resource: {"limit": limit, "used": usage(s, project_id, resource), "reserved": 0}
            for resource, limit in limits(s, project_id).items()}


def all_set(s: Session) -> list[dict[str, Any]]:
    """The limits of every project with a quota of its own (``GET /v2.0/quotas``), by project id."""
    q = models.Quota
    projects = sorted(set(s.scalars(select(q.project_id).where(q.resource.in_(list(DEFAULTS))))))
    return [{**limits(s, p), "project_id": p, "tenant_id": p} for p in projects]


def set_limits(s: Session, project_id: str, values: Mapping[str, int], check_limit: bool = False) -> dict[str, int]:
    """New limits; with ``check_limit`` a limit under the project's usage is 409 ``InvalidQuotaValue``."""
    if check_limit:
        unders = sorted(r for r, limit in values.items() if 0 <= limit < usage(s, project_id, r))
        if unders:
            raise InvalidQuotaValue(unders)
    q = models.Quota
    for resource, limit in values.items():
        row = s.get(q, (project_id, resource))
        if row is None:
            s.add(q(project_id=project_id, resource=resource, limit=limit))
        else:
            row.limit = limit
    s.flush()
    return limits(s, project_id)


def reset(s: Session, project_id: str) -> None:
    """Back to the defaults; 404 ``TenantQuotaNotFound`` if the project had none of its own (as Neutron)."""
    q = models.Quota
    if s.scalar(select(q.resource).where(q.project_id == project_id).limit(1)) is None:
        raise TenantQuotaNotFound(project_id)
    s.execute(delete(q).where(q.project_id == project_id))
