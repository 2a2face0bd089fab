"""RBAC policies: grants of access to one network (``access_as_shared``, ``access_as_external``)
or security group (``access_as_shared``) to one project or to every project (``*``).

The object's owner (or an admin) grants; a grant cannot be withdrawn while the project it names
still uses the object through it (Neutron's 409 ``RbacPolicyInUse``). The networks and security
groups services read these rows for visibility and ``shared``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import (
    DuplicateRbacPolicy,
    InvalidActionForType,
    InvalidInput,
    NetworkNotFound,
    RbacPolicyInUse,
    RbacPolicyNotFound,
    SecurityGroupNotFound,
)
from onestack.network.service import quotas
from onestack.network.service.common import Caller, Listing, ListQuery, new_id, paged

R = models.RbacPolicy
ACTIONS: dict[str, list[str]] = {"network": ["access_as_external", "access_as_shared"],
                                 "security_group": ["access_as_shared"]}


def visible(caller: Caller) -> Any:
    return None if caller.is_admin else R.project_id == caller.project_id


def _visible_stmt(caller: Caller) -> Select[Any]:
    cond = visible(caller)
    return select(R) if cond is None else select(R).where(cond)


def listing() -> Listing:
    return Listing(tag_type=None, id_column=R.id,
                   columns={"id": R.id, "project_id": R.project_id, "tenant_id": R.project_id,
                            "object_type": R.object_type, "object_id": R.object_id, "action": R.action,
                            "target_tenant": R.target_project, "target_project": R.target_project})


def view(row: models.RbacPolicy) -> dict[str, Any]:
    return {"id": row.id, "project_id": row.project_id, "tenant_id": row.project_id,
            "object_type": row.object_type, "object_id": row.object_id, "action": row.action,
            "target_tenant": row.target_project}


def get_row(s: Session, caller: Caller, policy_id: str) -> models.RbacPolicy:
    row: models.RbacPolicy | None = s.scalar(_visible_stmt(caller).where(R.id == policy_id))
    if row is None:
        raise RbacPolicyNotFound(policy_id)
    return row


def list_policies(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    return [view(r) for r in paged(s, _visible_stmt(caller), listing(), q, R)]


def show(s: Session, caller: Caller, policy_id: str) -> dict[str, Any]:
    return view(get_row(s, caller, policy_id))


# --- the object a policy is about ------------------------------------------------------------------------


def _object(s: Session, object_type: str, object_id: str) -> Any:
    """The network or group (whoever owns it): 404 as the object's own NotFound if there is none."""
    if object_type == "network":
        net = s.get(models.Network, object_id)
        if net is None:
            raise NetworkNotFound(object_id)
        return net
    group = s.get(models.SecurityGroup, object_id)
    if group is None:
        raise SecurityGroupNotFound(object_id)
    return group


def _check_owner(caller: Caller, object_type: str, obj: Any) -> None:
    if not caller.is_admin and obj.project_id != caller.project_id:
        kind = "networks" if object_type == "network" else "security groups"
        raise InvalidInput(f"Only admins can manipulate policies on {kind} they do not own")


def _check_unique(s: Session, object_type: str, object_id: str, action: str, target: str,
                  ignore: str | None = None) -> None:
    stmt = select(R.id).where(R.object_type == object_type, R.object_id == object_id, R.action == action,
                              R.target_project == target)
    found = s.scalar(stmt)
    if found is not None and found != ignore:
        raise DuplicateRbacPolicy()


def create(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    object_type, action, target = attrs["object_type"], attrs["action"], attrs["target_tenant"]
    if action not in ACTIONS[object_type]:
        raise InvalidActionForType(action, object_type, ACTIONS[object_type])
    obj = _object(s, object_type, attrs["object_id"])
    _check_owner(caller, object_type, obj)
    _check_unique(s, object_type, obj.id, action, target)
    quotas.check(s, project_id, "rbac_policy")
    row = R(id=new_id(), project_id=project_id, object_type=object_type, object_id=obj.id, action=action,
            target_project=target)
    s.add(row)
    if object_type == "network" and action == "access_as_external" and not obj.router_external:
        obj.router_external = True  # granting its use as an external network makes it one, as in Neutron
    s.flush()
    return view(row)


def update(s: Session, caller: Caller, policy_id: str, target: str) -> dict[str, Any]:
    row = get_row(s, caller, policy_id)
    if target != row.target_project:
        _check_unique(s, row.object_type, row.object_id, row.action, target, ignore=row.id)
        _check_unused(s, row, row.target_project)
        row.target_project = target
    s.flush()
    return view(row)


def delete(s: Session, caller: Caller, policy_id: str) -> None:
    row = get_row(s, caller, policy_id)
    _check_unused(s, row, row.target_project)
    s.delete(row)
    s.flush()


# --- in use: may the grant go? ---------------------------------------------------------------------------


def _others(s: Session, row: models.RbacPolicy) -> list[str]:
    """The projects the object's other grants of the same action still cover."""
    return list(s.scalars(select(R.target_project).where(R.object_type == row.object_type,
                                                         R.object_id == row.object_id, R.action == row.action,
                                                         R.id != row.id)))


def _affected(s: Session, row: models.RbacPolicy, owner: str, target: str) -> Sequence[str] | None:
    """The projects that lose access with the grant (None: every project but the listed ones)."""
    others = _others(s, row)
    if target != "*":
        return [] if "*" in others or target == owner else [target]
    return None


def _check_unused(s: Session, row: models.RbacPolicy, target: str) -> None:
    model: Any = models.Network if row.object_type == "network" else models.SecurityGroup
    obj = s.get(model, row.object_id)
    if obj is None:
        return
    affected = _affected(s, row, obj.project_id, target)
    keep = [obj.project_id, "", *_others(s, row)]
    who: Any  # the project column of what uses the object
    if row.object_type == "network" and row.action == "access_as_shared":
        who = models.Port.project_id
        stmt = select(models.Port.id).where(models.Port.network_id == obj.id)
        details = (f"Unable to reconfigure sharing settings for network {obj.id}. "
                   "Multiple tenants are using it.")
    elif row.object_type == "network":
        rt, p = models.Router, models.Port
        who = rt.project_id
        stmt = select(rt.id).join(p, p.id == rt.gw_port_id).where(p.network_id == obj.id)
        details = f"Network {obj.id} is the external gateway network of routers of another project."
    else:
        p, psg = models.Port, models.PortSecurityGroup
        who = p.project_id
        stmt = select(p.id).join(psg, psg.port_id == p.id).where(psg.security_group_id == obj.id)
        details = f"Security group {obj.id} is in use by ports of another project."
    if affected is None:
        stmt = stmt.where(who.not_in(keep))
    elif affected:
        stmt = stmt.where(who.in_(list(affected)))
    else:
        return
    if s.scalar(stmt.limit(1)) is not None:
        raise RbacPolicyInUse(obj.id, details)
