"""Stored policy blobs (/v3/policies) and OS-ENDPOINT-POLICY: which blob an endpoint uses.

An endpoint's policy is found by precedence: a policy bound to the endpoint itself, then one
bound to its service in its region (walking up the region's parents), then one bound to its
service alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import NotFound
from onestack.core.ids import new_id
from onestack.identity.models import Endpoint, Policy, PolicyAssociation, Region
from onestack.identity.service.catalog import get_endpoint, get_region, get_service

_COLUMNS = {"id", "type", "blob"}


def policy_to_dict(p: Policy) -> dict[str, Any]:
    doc: dict[str, Any] = dict(p.extra or {})
    doc.update(id=p.id, type=p.type, blob=p.blob)
    return doc


def get_policy(s: Session, policy_id: str) -> Policy:
    row = s.get(Policy, policy_id)
    if row is None:
        raise NotFound(f"Could not find policy: {policy_id}.")
    return row


def list_policies(s: Session, policy_type: str | None = None) -> list[Policy]:
    query = select(Policy).order_by(Policy.id)
    if policy_type is not None:
        query = query.where(Policy.type == policy_type)
    return list(s.scalars(query))


def create_policy(s: Session, data: dict[str, Any]) -> Policy:
    extra = {k: v for k, v in data.items() if k not in _COLUMNS}
    row = Policy(id=new_id(), type=data["type"], blob=data["blob"], extra=extra)
    s.add(row)
    s.flush()
    return row


def update_policy(s: Session, policy_id: str, data: dict[str, Any]) -> Policy:
    row = get_policy(s, policy_id)
    if "type" in data:
        row.type = data["type"]
    if "blob" in data:
        row.blob = data["blob"]
    extra = dict(row.extra or {})
    extra.update({k: v for k, v in data.items() if k not in _COLUMNS})
    row.extra = extra
    s.flush()
    return row


def delete_policy(s: Session, policy_id: str) -> None:
    get_policy(s, policy_id)
    s.execute(delete(PolicyAssociation).where(PolicyAssociation.policy_id == policy_id))
    s.execute(delete(Policy).where(Policy.id == policy_id))


# --- associations ----------------------------------------------------------------------------


def _check_targets(s: Session, policy_id: str, endpoint_id: str | None, service_id: str | None,
                   region_id: str | None) -> None:
    get_policy(s, policy_id)
    if endpoint_id is not None:
        get_endpoint(s, endpoint_id)
    if service_id is not None:
        get_service(s, service_id)
    if region_id is not None:
        get_region(s, region_id)


def _match(endpoint_id: str | None, service_id: str | None, region_id: str | None) -> Any:
    cols = (PolicyAssociation.endpoint_id, PolicyAssociation.service_id, PolicyAssociation.region_id)
    return [c.is_(None) if v is None else c == v for c, v in zip(cols, (endpoint_id, service_id, region_id))]


def associate(s: Session, policy_id: str, endpoint_id: str | None = None, service_id: str | None = None,
              region_id: str | None = None) -> None:
    """Bind the policy; a target has one policy, so an older binding of it is replaced."""
    _check_targets(s, policy_id, endpoint_id, service_id, region_id)
    s.execute(delete(PolicyAssociation).where(*_match(endpoint_id, service_id, region_id)))
    s.add(PolicyAssociation(id=new_id(), policy_id=policy_id, endpoint_id=endpoint_id, service_id=service_id,
                            region_id=region_id))


def check_association(s: Session, policy_id: str, endpoint_id: str | None = None, service_id: str | None = None,
                      region_id: str | None = None) -> PolicyAssociation:
    _check_targets(s, policy_id, endpoint_id, service_id, region_id)
    row = s.scalar(select(PolicyAssociation).where(PolicyAssociation.policy_id == policy_id,
                                                   *_match(endpoint_id, service_id, region_id)))
    if row is None:
        raise NotFound(f"Could not find policy association for policy {policy_id}.")
    return row


def dissociate(s: Session, policy_id: str, endpoint_id: str | None = None, service_id: str | None = None,
               region_id: str | None = None) -> None:
    s.delete(check_association(s, policy_id, endpoint_id, service_id, region_id))


def _region_chain(s: Session, region_id: str | None) -> list[str]:
    chain: list[str] = []
    while region_id is not None and region_id not in chain:
        chain.append(region_id)
        region = s.get(Region, region_id)
        region_id = region.parent_region_id if region else None
    return chain


def endpoints_for_policy(s: Session, policy_id: str) -> list[Endpoint]:
    """Every endpoint whose effective policy is this one."""
    get_policy(s, policy_id)
    endpoints = list(s.scalars(select(Endpoint).order_by(Endpoint.id)))
    return [ep for ep in endpoints if (found := _policy_id_for(s, ep)) is not None and found == policy_id]


def _policy_id_for(s: Session, ep: Endpoint) -> str | None:
    def first(*conds: Any) -> str | None:
        return s.scalar(select(PolicyAssociation.policy_id).where(*conds).limit(1))

    found = first(PolicyAssociation.endpoint_id == ep.id)
    if found:
        return found
    for region_id in _region_chain(s, ep.region_id):
        found = first(PolicyAssociation.endpoint_id.is_(None), PolicyAssociation.service_id == ep.service_id,
                      PolicyAssociation.region_id == region_id)
        if found:
            return found
    return first(PolicyAssociation.endpoint_id.is_(None), PolicyAssociation.service_id == ep.service_id,
                 PolicyAssociation.region_id.is_(None))


def policy_for_endpoint(s: Session, endpoint_id: str) -> Policy:
    ep = get_endpoint(s, endpoint_id)
    policy_id = _policy_id_for(s, ep)
    if policy_id is None:
        raise NotFound(f"No policy is associated with endpoint {endpoint_id}.")
    return get_policy(s, policy_id)
