"""Groups and their members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, NotFound
from onestack.core.ids import new_id
from onestack.identity.models import Assignment, Group, Membership, Project
from onestack.identity.service import revocations, users

_KNOWN = {"id", "name", "domain_id", "description", "links"}


def get_group(s: Session, group_id: str) -> Group:
    row = s.get(Group, group_id)
    if row is None:
        raise NotFound(f"Could not find group: {group_id}.")
    return row


def group_to_dict(g: Group) -> dict[str, Any]:
    doc: dict[str, Any] = dict(g.extra or {})
    doc.update(id=g.id, name=g.name, domain_id=g.domain_id, description=g.description or "")
    return doc


def _name_clash(s: Session, domain_id: str, name: str, group_id: str | None = None) -> None:
    stmt = select(Group.id).where(Group.domain_id == domain_id, Group.name == name)
    if group_id:
        stmt = stmt.where(Group.id != group_id)
    if s.scalar(stmt):
        raise Conflict(f"Conflict occurred attempting to store group - Duplicate entry found with name {name} "
                       f"at domain ID {domain_id}.")


def create_group(s: Session, data: dict[str, Any]) -> dict[str, Any]:
    domain = s.get(Project, data["domain_id"])
    if domain is None or not domain.is_domain:
        raise NotFound(f"Could not find domain: {data['domain_id']}.")
    _name_clash(s, domain.id, data["name"])
    group = Group(
        id=new_id(),
        name=data["name"],
        domain_id=domain.id,
        description=data.get("description") or "",
        extra={k: v for k, v in data.items() if k not in _KNOWN},
    )
    s.add(group)
    s.flush()
    return group_to_dict(group)


def update_group(s: Session, group_id: str, data: dict[str, Any]) -> dict[str, Any]:
    group = get_group(s, group_id)
    if "id" in data and data["id"] != group.id:
        raise BadRequest("Update of id is not allowed.")
    if "domain_id" in data and data["domain_id"] != group.domain_id:
        raise BadRequest("Update of domain_id is not allowed.")
    if "name" in data and data["name"] != group.name:
        _name_clash(s, group.domain_id, data["name"], group.id)
        group.name = data["name"]
    if "description" in data:
        group.description = data["description"] or ""
    extra = dict(group.extra or {})
    extra.update({k: v for k, v in data.items() if k not in _KNOWN})
    group.extra = extra
    s.flush()
    return group_to_dict(group)


def member_ids(s: Session, group_id: str) -> list[str]:
    return list(s.scalars(select(Membership.user_id).where(Membership.group_id == group_id)))


def delete_groups(s: Session, ids: list[str]) -> None:
    if not ids:
        return
    s.execute(delete(Assignment).where(Assignment.actor_id.in_(ids)))
    s.execute(delete(Membership).where(Membership.group_id.in_(ids)))
    s.execute(delete(Group).where(Group.id.in_(ids)))


def delete_group(s: Session, group_id: str, token_lifetime: int) -> None:
    """Delete a group; its members lose whatever it granted, so their tokens must be re-issued."""
    get_group(s, group_id)
    members = member_ids(s, group_id)
    delete_groups(s, [group_id])
    for member in members:
        revocations.revoke(s, token_lifetime=token_lifetime, user_id=member)


def list_groups(s: Session, query: dict[str, str], user_id: str | None = None) -> list[dict[str, Any]]:
    stmt = select(Group)
    if user_id is not None:
        stmt = stmt.join(Membership, Membership.group_id == Group.id).where(Membership.user_id == user_id)
    if "domain_id" in query:
        stmt = stmt.where(Group.domain_id == query["domain_id"])
    if "name" in query:
        stmt = stmt.where(Group.name == query["name"])
    return [group_to_dict(g) for g in s.scalars(stmt.order_by(Group.name, Group.id))]


def add_member(s: Session, group_id: str, user_id: str) -> None:
    get_group(s, group_id)
    users.get_user(s, user_id)
    if s.get(Membership, {"user_id": user_id, "group_id": group_id}) is None:
        s.add(Membership(user_id=user_id, group_id=group_id))


def check_member(s: Session, group_id: str, user_id: str) -> None:
    get_group(s, group_id)
    users.get_user(s, user_id)
    if s.get(Membership, {"user_id": user_id, "group_id": group_id}) is None:
        raise NotFound(f"User '{user_id}' not found in group '{group_id}'")


def remove_member(s: Session, group_id: str, user_id: str, token_lifetime: int) -> None:
    """Take the user out of the group; their tokens lose the group's roles, so they are revoked."""
    check_member(s, group_id, user_id)
    s.execute(delete(Membership).where(Membership.group_id == group_id, Membership.user_id == user_id))
    revocations.revoke(s, token_lifetime=token_lifetime, user_id=user_id)


# --- what the groups API asks for, one transaction each --------------------------------------


def policy_target(s: Session, group_id: str, user_id: str | None = None) -> dict[str, Any]:
    """What a group policy rule sees: the group (and the member named), 404 if either is unknown."""
    group = get_group(s, group_id)
    if user_id is not None:
        users.get_user(s, user_id)
    return {"group": {"id": group.id, "domain_id": group.domain_id}}


def show(s: Session, group_id: str) -> dict[str, Any]:
    return group_to_dict(get_group(s, group_id))
