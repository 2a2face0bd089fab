"""First-start setup, as DevStack leaves a Keystone: domain, roles, projects, users, groups, catalog.

The accounts and grants follow DevStack's lib/keystone (create_keystone_accounts), except its
extra reader and system users (demo_reader, alt_demo_reader, system_member, system_reader).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.ids import new_id, utcnow
from onestack.identity.models import (
    Assignment,
    Group,
    ImpliedRole,
    Password,
    Project,
    Role,
    ServiceState,
    User,
)
from onestack.identity.service import assignments, catalog, generation, groups, projects, users

DEFAULT_DOMAIN = "default"
# "anotherrole" is DevStack's example of an arbitrary role (lib/keystone create_keystone_accounts).
ROLES = ("admin", "manager", "member", "reader", "service", "ResellerAdmin", "anotherrole")
# Keystone's default hierarchy since 2023.2: admin → manager → member → reader ("service" stands apart).
IMPLIED = (("admin", "manager"), ("manager", "member"), ("member", "reader"))
# Rules older clouds were bootstrapped with that the hierarchy above replaces (Keystone drops them too).
OBSOLETE_IMPLIED = (("admin", "member"),)
PROJECTS = ("admin", "demo", "alt_demo", "service", "invisible_to_admin")
# DevStack's groups (name, description). It grants them roles but puts nobody in them.
GROUPS = (("admins", "openstack admin group"), ("nonadmins", "non-admin group"))
SERVICE_USER = "onestack"


@dataclass
class BootstrapResult:
    created: bool
    passwords: dict[str, str] = field(default_factory=dict)  # user name -> password, only when created


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def _role(s: Session, name: str) -> Role:
    role = s.scalar(select(Role).where(Role.name == name, Role.domain_id == "<<null>>"))
    if role is None:
        role = Role(id=new_id(), name=name, extra={}, options={})
        s.add(role)
        s.flush()
    return role


def _user(s: Session, name: str, password_hash: Callable[[str], str], project_id: str | None) -> User:
    user = s.scalar(select(User).where(User.domain_id == DEFAULT_DOMAIN, User.name == name))
    if user is None:
        user = User(id=new_id(), name=name, domain_id=DEFAULT_DOMAIN, enabled=True, default_project_id=project_id,
                    created_at=utcnow(), extra={}, options={})
        s.add(user)
        s.flush()
        s.add(Password(user_id=user.id, password_hash=password_hash(name), created_at=utcnow()))
    return user


def _grant(s: Session, kind: str, actor: str, target: str, role: Role) -> None:
    key = {"type": kind, "actor_id": actor, "target_id": target, "role_id": role.id, "inherited": False}
    if s.get(Assignment, key) is None:
        s.add(Assignment(**key))


def _group(s: Session, name: str, description: str) -> str:
    group = s.scalar(select(Group).where(Group.domain_id == DEFAULT_DOMAIN, Group.name == name))
    if group is not None:
        return group.id
    return str(groups.create_group(s, {"name": name, "description": description, "domain_id": DEFAULT_DOMAIN})["id"])


def is_bootstrapped(s: Session) -> bool:
    return s.get(ServiceState, "bootstrap") is not None


def hash_all(passwords: dict[str, str], rounds: int) -> dict[str, str]:
    """bcrypt releases the GIL: hash in parallel so a first start stays quick."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(passwords) or 1) as pool:
        hashed = pool.map(lambda pw: users.hash_password(pw, rounds), passwords.values())
        return dict(zip(passwords, hashed))


def bootstrap(
    s: Session, *, admin_password: str, demo_password: str, service_password: str, rounds: int, region: str,
    hashes: dict[str, str] | None = None,
) -> BootstrapResult:
    """Idempotent: creates what is missing; passwords are only set on users it creates.

    ``hashes`` maps user name to a precomputed bcrypt hash; missing ones are computed here.
    """
    plain = {"admin": admin_password, "demo": demo_password, "alt_demo": demo_password, SERVICE_USER: service_password}

    def hashed(name: str) -> str:
        return (hashes or {}).get(name) or users.hash_password(plain[name], rounds)

    done = s.get(ServiceState, "bootstrap")
    if s.get(Project, DEFAULT_DOMAIN) is None:
        projects.create_domain(s, {"name": "Default", "description": "The default domain"}, domain_id=DEFAULT_DOMAIN)
    roles = {name: _role(s, name) for name in ROLES}
    for prior, implied in IMPLIED:
        key = {"prior_role_id": roles[prior].id, "implied_role_id": roles[implied].id}
        if s.get(ImpliedRole, key) is None:
            s.add(ImpliedRole(**key))
    for prior, implied in OBSOLETE_IMPLIED:
        stale = s.get(ImpliedRole, {"prior_role_id": roles[prior].id, "implied_role_id": roles[implied].id})
        if stale is not None:
            s.delete(stale)
    proj = {}
    for name in PROJECTS:
        existing = s.scalar(select(Project).where(Project.domain_id == DEFAULT_DOMAIN, Project.name == name))
        proj[name] = existing or projects.create_project(
            s, {"name": name, "description": f"Bootstrap project {name}", "domain_id": DEFAULT_DOMAIN}
        )
    admin = _user(s, "admin", hashed, proj["admin"].id)
    demo = _user(s, "demo", hashed, proj["demo"].id)
    alt = _user(s, "alt_demo", hashed, proj["alt_demo"].id)
    svc = _user(s, SERVICE_USER, hashed, proj["service"].id)
    for project in ("admin", "demo", "alt_demo"):
        _grant(s, assignments.USER_PROJECT, admin.id, proj[project].id, roles["admin"])
    _grant(s, assignments.USER_SYSTEM, admin.id, assignments.SYSTEM_TARGET, roles["admin"])
    for user, project in ((demo, "demo"), (alt, "alt_demo")):
        _grant(s, assignments.USER_PROJECT, user.id, proj[project].id, roles["member"])
        _grant(s, assignments.USER_PROJECT, user.id, proj[project].id, roles["anotherrole"])
    # Admin has no role on invisible_to_admin: scripts check that admin does not see it.
    _grant(s, assignments.USER_PROJECT, demo.id, proj["invisible_to_admin"].id, roles["member"])
    group = {name: _group(s, name, description) for name, description in GROUPS}
    for project in ("demo", "alt_demo"):
        for role in ("member", "anotherrole"):
            _grant(s, assignments.GROUP_PROJECT, group["nonadmins"], proj[project].id, roles[role])
    _grant(s, assignments.GROUP_PROJECT, group["admins"], proj["admin"].id, roles["admin"])
    _grant(s, assignments.USER_PROJECT, svc.id, proj["service"].id, roles["service"])
    _grant(s, assignments.USER_PROJECT, svc.id, proj["service"].id, roles["admin"])
    # Services running apart read limits and projects with a system-scoped token (as oslo.limit).
    _grant(s, assignments.USER_SYSTEM, svc.id, assignments.SYSTEM_TARGET, roles["reader"])
    if done is None:
        s.add(ServiceState(key="bootstrap", value={"at": utcnow().isoformat()}))
        return BootstrapResult(
            created=True, passwords={"admin": admin_password, "demo": demo_password, SERVICE_USER: service_password}
        )
    return BootstrapResult(created=False)


def register_endpoints(s: Session, base_url: str, region: str, services: list[tuple[str, str, str]]) -> None:
    """``services`` is (type, name, path prefix) for every API this process serves."""
    for service_type, name, prefix in services:
        catalog.register_service(s, service_type, name, f"{base_url}{prefix}", region)
    generation.bump(s)  # running identity processes render new tokens' catalogs afresh
