"""Role assignments and what they add up to: the effective roles of a user on a scope.

Effective roles = direct grants + grants to the user's groups + inherited grants from the
project's domain and ancestors, then closed over implied roles. Domain-specific roles
never appear in a token themselves, only the global roles they imply.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.identity.models import NULL_DOMAIN, Assignment, ImpliedRole, Membership, Project, Role

USER_PROJECT, GROUP_PROJECT = "UserProject", "GroupProject"
USER_DOMAIN, GROUP_DOMAIN = "UserDomain", "GroupDomain"
USER_SYSTEM, GROUP_SYSTEM = "UserSystem", "GroupSystem"
SYSTEM_TARGET = "system"


def group_ids_of(s: Session, user_id: str) -> list[str]:
    return list(s.scalars(select(Membership.group_id).where(Membership.user_id == user_id)))


def implied_closure(s: Session, role_ids: set[str]) -> set[str]:
    """``role_ids`` plus every role they imply, transitively."""
    rules: dict[str, list[str]] = {}
    for prior, implied in s.execute(select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)):
        rules.setdefault(prior, []).append(implied)
    out = set(role_ids)
    frontier = list(role_ids)
    while frontier:
        for implied in rules.get(frontier.pop(), ()):
            if implied not in out:
                out.add(implied)
                frontier.append(implied)
    return out


def _grants(s: Session, actor_ids: list[str], target_ids: list[str], types: tuple[str, ...], inherited: bool) -> set[str]:
    if not actor_ids or not target_ids:
        return set()
    rows = s.scalars(
        select(Assignment.role_id).where(
            Assignment.actor_id.in_(actor_ids),
            Assignment.target_id.in_(target_ids),
            Assignment.type.in_(types),
            Assignment.inherited.is_(inherited),
        )
    )
    return set(rows)


def direct_role_ids(
    s: Session, user_id: str, *, project_id: str | None = None, domain_id: str | None = None, system: bool = False
) -> set[str]:
    """Roles granted on the scope, directly, through groups, or inherited — before implication."""
    actors = [user_id, *group_ids_of(s, user_id)]
    if system:
        return _grants(s, actors, [SYSTEM_TARGET], (USER_SYSTEM, GROUP_SYSTEM), False)
    if domain_id is not None:
        return _grants(s, actors, [domain_id], (USER_DOMAIN, GROUP_DOMAIN), False)
    if project_id is None:
        return set()
    roles = _grants(s, actors, [project_id], (USER_PROJECT, GROUP_PROJECT), False)
    project = s.get(Project, project_id)
    if project is None:
        return roles
    roles |= _grants(s, actors, [project.domain_id], (USER_DOMAIN, GROUP_DOMAIN), True)
    parents: list[str] = []
    current = project
    while current.parent_id and current.parent_id != current.domain_id:
        parents.append(current.parent_id)
        parent = s.get(Project, current.parent_id)
        if parent is None:
            break
        current = parent
    roles |= _grants(s, actors, parents, (USER_PROJECT, GROUP_PROJECT), True)
    return roles


def effective_roles(
    s: Session, user_id: str, *, project_id: str | None = None, domain_id: str | None = None, system: bool = False
) -> list[Role]:
    """The roles a token for this scope carries (implied roles expanded, domain roles dropped)."""
    ids = implied_closure(s, direct_role_ids(s, user_id, project_id=project_id, domain_id=domain_id, system=system))
    return roles_for_token(s, ids)


def roles_for_token(s: Session, role_ids: set[str]) -> list[Role]:
    if not role_ids:
        return []
    rows = s.scalars(select(Role).where(Role.id.in_(role_ids), Role.domain_id == NULL_DOMAIN).order_by(Role.name))
    return list(rows)

