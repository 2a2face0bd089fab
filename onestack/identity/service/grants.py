"""Grants: one role given to a user or group on a project, a domain or the system.

A grant with ``inherited`` set is an OS-INHERIT grant: it applies to the projects below its
target (every project of a domain, or the subtree of a project), not to the target itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Forbidden, NotFound
from onestack.identity.models import NULL_DOMAIN, Assignment, Group, Membership, Project, Role, User
from onestack.identity.service import assignments as a
from onestack.identity.service import revocations

TYPES = {
    ("user", "project"): a.USER_PROJECT,
    ("group", "project"): a.GROUP_PROJECT,
    ("user", "domain"): a.USER_DOMAIN,
    ("group", "domain"): a.GROUP_DOMAIN,
    ("user", "system"): a.USER_SYSTEM,
    ("group", "system"): a.GROUP_SYSTEM,
}
KIND_OF_TYPE = {t: kinds for kinds, t in TYPES.items()}


@dataclass(frozen=True)
class GrantRef:
    """Who gets the role, where; ``target_id`` is ``SYSTEM_TARGET`` for the system."""

    actor: str  # "user" | "group"
    actor_id: str
    target: str  # "project" | "domain" | "system"
    target_id: str
    inherited: bool = False

    @property
    def type(self) -> str:
        return TYPES[(self.actor, self.target)]

    def key(self, role_id: str) -> dict[str, object]:
        return {
            "type": self.type,
            "actor_id": self.actor_id,
            "target_id": self.target_id,
            "role_id": role_id,
            "inherited": self.inherited,
        }


def check_parties(s: Session, ref: GrantRef) -> None:
    """404 when the user/group or the project/domain does not exist."""
    if ref.actor == "user":
        if s.get(User, ref.actor_id) is None:
            raise NotFound(f"Could not find user: {ref.actor_id}.")
    elif s.get(Group, ref.actor_id) is None:
        raise NotFound(f"Could not find group: {ref.actor_id}.")
    if ref.target == "system":
        return
    target = s.get(Project, ref.target_id)
    if target is None or target.is_domain != (ref.target == "domain"):
        raise NotFound(f"Could not find {ref.target}: {ref.target_id}.")


def _role_for(s: Session, ref: GrantRef, role_id: str) -> Role:
    role = s.get(Role, role_id)
    if role is None:
        raise NotFound(f"Could not find role: {role_id}.")
    return role


def _check_role_fits(s: Session, ref: GrantRef, role: Role) -> None:
    """Domain-specific roles stay in their domain and never reach the system scope."""
    if role.domain_id == NULL_DOMAIN:
        return
    if ref.target == "system":
        raise BadRequest(
            f"Role {role.id} is a domain-specific role; it cannot be used in a system assignment."
        )
    target = s.get(Project, ref.target_id)
    domain_id = ref.target_id if ref.target == "domain" else (target.domain_id if target else None)
    if domain_id != role.domain_id:
        raise Forbidden(f"Project {ref.target_id} must be in the same domain as the role {role.id} being assigned.")


def create_grant(s: Session, ref: GrantRef, role_id: str) -> None:
    """Idempotent, as Keystone: granting an existing grant again succeeds."""
    role = _role_for(s, ref, role_id)
    check_parties(s, ref)
    _check_role_fits(s, ref, role)
    if s.get(Assignment, ref.key(role_id)) is None:
        s.add(Assignment(**ref.key(role_id)))
        s.flush()


def _existing(s: Session, ref: GrantRef, role_id: str) -> Assignment:
    _role_for(s, ref, role_id)
    check_parties(s, ref)
    row = s.get(Assignment, ref.key(role_id))
    if row is None:
        raise NotFound(
            f"Could not find role assignment with role: {role_id}, {ref.actor}: {ref.actor_id}, "
            f"{ref.target}: {ref.target_id}."
        )
    return row


def check_grant(s: Session, ref: GrantRef, role_id: str) -> None:
    _existing(s, ref, role_id)


def delete_grant(s: Session, ref: GrantRef, role_id: str, token_lifetime: int) -> None:
    row = _existing(s, ref, role_id)
    revoke_tokens_for(s, row, token_lifetime)
    s.delete(row)
    s.flush()


def list_grants(s: Session, ref: GrantRef) -> list[Role]:
    check_parties(s, ref)
    rows = s.scalars(
        select(Role)
        .join(Assignment, Assignment.role_id == Role.id)
        .where(
            Assignment.type == ref.type,
            Assignment.actor_id == ref.actor_id,
            Assignment.target_id == ref.target_id,
            Assignment.inherited.is_(ref.inherited),
        )
        .order_by(Role.name)
    )
    return list(rows)


def revoke_tokens_for(s: Session, row: Assignment, token_lifetime: int) -> None:
    """Revoke the tokens a removed assignment backed.

    Tokens are re-checked against the assignments whenever they are validated, so a token that
    loses its last role stops working anyway; the revocation event also ends tokens that keep
    other roles, scoped to the project or domain the grant was on (Keystone invalidates the
    user's tokens for that project). System and inherited grants rely on the re-check alone:
    an event without a scope would end every token the user holds.
    """
    actor, target = KIND_OF_TYPE[row.type]
    if row.inherited or target == "system":
        return
    users = [row.actor_id] if actor == "user" else list(
        s.scalars(select(Membership.user_id).where(Membership.group_id == row.actor_id))
    )
    scope = {"project_id": row.target_id} if target == "project" else {"domain_id": row.target_id}
    for user_id in users:
        revocations.revoke(s, token_lifetime=token_lifetime, user_id=user_id, **scope)
