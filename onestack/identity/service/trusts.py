"""Trusts (OS-TRUST): a trustor delegates some of its roles on a project to a trustee.

A trust is soft-deleted (``deleted_at``) so the tokens minted through it can be told apart
from tokens of a trust that never existed; expired or used-up trusts read as not found.
A trust may allow redelegation: its trustee, holding a trust-scoped token, can then create
a narrower trust of its own (fewer or equal roles, no later expiry, one hop fewer left).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Forbidden, NotFound
from onestack.core.ids import isotime, new_id, utcnow
from onestack.identity.models import NULL_DOMAIN, Role, Trust, User
from onestack.identity.service import assignments, projects, revocations

MAX_REDELEGATION_COUNT = 3  # Keystone's default for [trust] max_redelegation_count


def _not_found(trust_id: str) -> NotFound:
    return NotFound(f"Could not find trust: {trust_id}.")


def is_live(trust: Trust) -> bool:
    if trust.deleted_at is not None:
        return False
    if trust.expires_at is not None and trust.expires_at <= utcnow():
        return False
    return trust.remaining_uses is None or trust.remaining_uses > 0


def get_live(s: Session, trust_id: str) -> Trust:
    trust = s.get(Trust, trust_id)
    if trust is None or not is_live(trust):
        raise _not_found(trust_id)
    return trust


def role_docs(s: Session, role_ids: list[str]) -> list[dict[str, Any]]:
    if not role_ids:
        return []
    rows = s.scalars(select(Role).where(Role.id.in_(role_ids)).order_by(Role.name))
    return [
        {"id": r.id, "name": r.name, "domain_id": None if r.domain_id == NULL_DOMAIN else r.domain_id} for r in rows
    ]


def to_dict(s: Session, trust: Trust, *, with_roles: bool = True) -> dict[str, Any]:
    extra = trust.extra or {}
    doc: dict[str, Any] = {
        "id": trust.id,
        "trustor_user_id": trust.trustor_user_id,
        "trustee_user_id": trust.trustee_user_id,
        "project_id": trust.project_id,
        "impersonation": bool(trust.impersonation),
        "expires_at": isotime(trust.expires_at),
        "remaining_uses": trust.remaining_uses,
        "allow_redelegation": bool(extra.get("allow_redelegation", False)),
        "redelegation_count": trust.redelegation_count,
        "redelegated_trust_id": trust.redelegated_trust_id,
        "deleted_at": isotime(trust.deleted_at),
    }
    if with_roles:
        doc["roles"] = role_docs(s, list(trust.roles or []))
    return doc


# --- creating --------------------------------------------------------------------------------


def _resolve_roles(s: Session, refs: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for ref in refs:
        if ref.get("id"):
            role = s.get(Role, str(ref["id"]))
        else:
            role = s.scalar(select(Role).where(Role.name == str(ref.get("name")), Role.domain_id == NULL_DOMAIN))
        if role is None:
            raise NotFound(f"Could not find role: {ref.get('id') or ref.get('name')}.")
        if role.id not in out:
            out.append(role.id)
    return out


def _check_parties(s: Session, data: dict[str, Any]) -> None:
    trustee = s.get(User, data["trustee_user_id"])
    if trustee is None:
        raise NotFound(f"Could not find user: {data['trustee_user_id']}.")
    if s.get(User, data["trustor_user_id"]) is None:
        raise NotFound(f"Could not find user: {data['trustor_user_id']}.")
    if data.get("project_id"):
        projects.get_project(s, data["project_id"])


def _redelegation(s: Session, data: dict[str, Any], role_ids: list[str], parent_id: str | None) -> tuple[int | None, bool]:
    """(redelegation_count, allow_redelegation) for the new trust, checking the parent's limits."""
    allow = bool(data.get("allow_redelegation"))
    if parent_id is None:
        count = data.get("redelegation_count")
        if not allow:
            return 0, False
        if count is None:
            count = MAX_REDELEGATION_COUNT
        if count > MAX_REDELEGATION_COUNT:
            raise Forbidden(f"Remaining redelegation depth of {count} out of allowed range of "
                            f"[0..{MAX_REDELEGATION_COUNT}].")
        return count, True
    parent = get_live(s, parent_id)
    if not (parent.extra or {}).get("allow_redelegation") or not parent.redelegation_count:
        raise Forbidden("Requested redelegation is not allowed by the trust used for the token.")
    if data.get("redelegation_count") is not None:
        raise Forbidden("Setting redelegation_count is not allowed when redelegating a trust.")
    if data.get("project_id") != parent.project_id:
        raise Forbidden("A redelegated trust must be on the same project as the trust it comes from.")
    if not set(role_ids) <= set(parent.roles or []):
        raise Forbidden("Some of the requested roles are not in the redelegated trust.")
    if parent.expires_at is not None:
        if data.get("expires_at") is None:
            data["expires_at"] = parent.expires_at
        elif data["expires_at"] > parent.expires_at:
            raise Forbidden("A redelegated trust cannot outlive the trust it comes from.")
    count = parent.redelegation_count - 1
    return count, allow and count > 0


def create(s: Session, data: dict[str, Any], parent_id: str | None = None) -> dict[str, Any]:
    """Store a trust from a validated body (``expires_at`` already a datetime or None)."""
    _check_parties(s, data)
    expires_at: datetime | None = data.get("expires_at")
    if expires_at is not None and expires_at <= utcnow():
        raise BadRequest("The 'expires_at' must not be before now. The server could not comply with the "
                         "request since it is either malformed or otherwise incorrect.")
    role_ids = _resolve_roles(s, data.get("roles") or [])
    project_id = data.get("project_id")
    if project_id and not role_ids:
        raise Forbidden("At least one role should be specified.")
    if role_ids and not project_id:
        raise Forbidden("Roles can only be delegated on a project.")
    if project_id and parent_id is None:  # a redelegation is bounded by its parent's roles instead
        held = assignments.implied_closure(
            s, assignments.direct_role_ids(s, data["trustor_user_id"], project_id=project_id)
        )
        missing = [r for r in role_ids if r not in held]
        if missing:
            raise Forbidden(f"User {data['trustor_user_id']} does not have role {missing[0]} on project {project_id}.")
    count, allow = _redelegation(s, data, role_ids, parent_id)
    trust = Trust(
        id=new_id(), trustor_user_id=data["trustor_user_id"], trustee_user_id=data["trustee_user_id"],
        project_id=project_id, impersonation=bool(data["impersonation"]), expires_at=data.get("expires_at"),
        remaining_uses=data.get("remaining_uses"), redelegated_trust_id=parent_id, redelegation_count=count,
        roles=role_ids, extra={"allow_redelegation": allow},
    )
    s.add(trust)
    s.flush()
    return to_dict(s, trust)


# --- listing, reading, deleting ---------------------------------------------------------------


def list_trusts(s: Session, trustor_id: str | None = None, trustee_id: str | None = None) -> list[dict[str, Any]]:
    query = select(Trust).where(Trust.deleted_at.is_(None))
    if trustor_id is not None:
        query = query.where(Trust.trustor_user_id == trustor_id)
    if trustee_id is not None:
        query = query.where(Trust.trustee_user_id == trustee_id)
    return [to_dict(s, t, with_roles=False) for t in s.scalars(query.order_by(Trust.id)) if is_live(t)]


def get(s: Session, trust_id: str) -> dict[str, Any]:
    return to_dict(s, get_live(s, trust_id))


def parties(s: Session, trust_id: str) -> dict[str, str]:
    """Who gave and who received a trust not yet deleted (expired ones too: they may still be deleted)."""
    row = s.get(Trust, trust_id)
    if row is None or row.deleted_at is not None:
        raise _not_found(trust_id)
    return {"trustor_user_id": row.trustor_user_id, "trustee_user_id": row.trustee_user_id}


def delete_and_revoke(s: Session, trust_id: str, token_lifetime: int) -> None:
    """Delete the trust and its redelegations; their tokens stop working."""
    for gone in delete(s, trust_id):
        revocations.revoke(s, token_lifetime=token_lifetime, trust_id=gone)


def delete(s: Session, trust_id: str) -> list[str]:
    """Soft-delete a trust and every trust redelegated from it; returns the ids deleted."""
    trust = s.get(Trust, trust_id)
    if trust is None or trust.deleted_at is not None:
        raise _not_found(trust_id)
    now = utcnow()
    deleted: list[str] = []
    frontier = [trust]
    while frontier:
        current = frontier.pop()
        current.deleted_at = now
        deleted.append(current.id)
        frontier.extend(s.scalars(select(Trust).where(Trust.redelegated_trust_id == current.id,
                                                      Trust.deleted_at.is_(None))))
    return deleted


def delete_for_user(s: Session, user_id: str) -> list[str]:
    """Soft-delete every trust the user gave or received (the user is being deleted)."""
    rows = s.scalars(select(Trust).where(
        Trust.deleted_at.is_(None), (Trust.trustor_user_id == user_id) | (Trust.trustee_user_id == user_id)
    ))
    ids = [t.id for t in rows]
    deleted: list[str] = []
    for trust_id in ids:
        if trust_id not in deleted:
            deleted.extend(delete(s, trust_id))
    return deleted
