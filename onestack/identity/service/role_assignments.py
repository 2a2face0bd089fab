"""``/v3/role_assignments``: the grants as stored, or the effective assignments they add up to.

Effective mode expands group grants into one entry per member, OS-INHERIT grants into one
entry per project they reach, and every role into the roles it implies; domain-specific roles
are dropped (they never reach a token). Each entry remembers the grant it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, NotFound
from onestack.identity.models import (
    NULL_DOMAIN,
    Assignment,
    Group,
    ImpliedRole,
    Membership,
    Project,
    Role,
    User,
)
from onestack.identity.service import assignments as a
from onestack.identity.service.grants import KIND_OF_TYPE

USER_TYPES = (a.USER_PROJECT, a.USER_DOMAIN, a.USER_SYSTEM)
GROUP_TYPES = (a.GROUP_PROJECT, a.GROUP_DOMAIN, a.GROUP_SYSTEM)
PROJECT_TYPES = (a.USER_PROJECT, a.GROUP_PROJECT)
DOMAIN_TYPES = (a.USER_DOMAIN, a.GROUP_DOMAIN)
SYSTEM_TYPES = (a.USER_SYSTEM, a.GROUP_SYSTEM)

Source = tuple[str, str, str, str, bool]  # type, actor_id, target_id, role_id, inherited


@dataclass
class Filters:
    user_id: str | None = None
    group_id: str | None = None
    role_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited: bool | None = None
    effective: bool = False
    include_subtree: bool = False

    def check(self) -> None:
        """Reject combinations Keystone refuses (they could only ever give an empty list)."""
        if self.user_id and self.group_id:
            raise BadRequest("Specify a user or group, not both")
        if self.project_id and self.domain_id:
            raise BadRequest("Specify a domain or project, not both")
        if self.system and (self.project_id or self.domain_id):
            raise BadRequest("Specify system or a domain or project, not more than one")
        if self.include_subtree and not self.project_id:
            raise BadRequest("scope.project.id must be specified if include_subtree is also specified")
        if self.effective and self.group_id:
            raise BadRequest("Combining effective and group filter will always result in an empty list.")
        if self.effective and self.inherited and self.domain_id:
            raise BadRequest(
                "Combining effective, domain and inherited filters will always result in an empty list."
            )


@dataclass(frozen=True)
class Entry:
    role_id: str
    actor: str  # "user" | "group"
    actor_id: str
    target: str  # "project" | "domain" | "system"
    target_id: str
    inherited: bool
    source: Source
    via_group: str | None = None
    prior_role_id: str | None = None


@dataclass
class Tree:
    """The non-domain projects: who is whose parent, and which domain each is in."""

    parent: dict[str, str | None] = field(default_factory=dict)
    domain: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, s: Session) -> Tree:
        tree = cls()
        for pid, parent, domain in s.execute(
            select(Project.id, Project.parent_id, Project.domain_id).where(Project.is_domain.is_(False))
        ):
            tree.parent[pid], tree.domain[pid] = parent, domain
        return tree

    def subtree(self, project_id: str) -> list[str]:
        """Every project below ``project_id`` (not itself)."""
        children: dict[str, list[str]] = {}
        for pid, parent in self.parent.items():
            if parent is not None:
                children.setdefault(parent, []).append(pid)
        out: list[str] = []
        frontier = list(children.get(project_id, ()))
        while frontier:
            pid = frontier.pop()
            out.append(pid)
            frontier.extend(children.get(pid, ()))
        return out

    def in_domain(self, domain_id: str) -> list[str]:
        return [pid for pid, did in self.domain.items() if did == domain_id]


def _entry(row: Assignment) -> Entry:
    actor, target = KIND_OF_TYPE[row.type]
    source: Source = (row.type, row.actor_id, row.target_id, row.role_id, row.inherited)
    return Entry(row.role_id, actor, row.actor_id, target, row.target_id, row.inherited, source)


def list_assignments(s: Session, f: Filters) -> list[Entry]:
    f.check()
    scope_projects: set[str] | None = None
    if f.project_id:
        scope_projects = {f.project_id}
        if f.include_subtree:
            project = s.get(Project, f.project_id)
            if project is None or project.is_domain:
                raise NotFound(f"Could not find project: {f.project_id}.")
            scope_projects.update(Tree.load(s).subtree(f.project_id))
    if f.effective:
        return _effective(s, f, scope_projects)
    return _direct(s, f, scope_projects)


def _direct(s: Session, f: Filters, scope_projects: set[str] | None) -> list[Entry]:
    query = select(Assignment)
    if f.user_id:
        query = query.where(Assignment.actor_id == f.user_id, Assignment.type.in_(USER_TYPES))
    if f.group_id:
        query = query.where(Assignment.actor_id == f.group_id, Assignment.type.in_(GROUP_TYPES))
    if f.role_id:
        query = query.where(Assignment.role_id == f.role_id)
    if scope_projects is not None:
        query = query.where(Assignment.target_id.in_(scope_projects), Assignment.type.in_(PROJECT_TYPES))
    if f.domain_id:
        query = query.where(Assignment.target_id == f.domain_id, Assignment.type.in_(DOMAIN_TYPES))
    if f.system:
        query = query.where(Assignment.type.in_(SYSTEM_TYPES))
    if f.inherited is not None:
        query = query.where(Assignment.inherited.is_(f.inherited))
    rows = s.scalars(query.order_by(Assignment.type, Assignment.actor_id, Assignment.target_id, Assignment.role_id))
    return [_entry(row) for row in rows]


def _effective(s: Session, f: Filters, scope_projects: set[str] | None) -> list[Entry]:
    query = select(Assignment)
    if f.user_id:
        query = query.where(Assignment.actor_id.in_([f.user_id, *a.group_ids_of(s, f.user_id)]))
    if f.system:
        query = query.where(Assignment.type.in_(SYSTEM_TYPES))
    elif f.domain_id:
        query = query.where(Assignment.type.in_(DOMAIN_TYPES), Assignment.inherited.is_(False))
    elif scope_projects is not None:
        query = query.where(Assignment.type.in_(PROJECT_TYPES + DOMAIN_TYPES))
    rows = list(s.scalars(query.order_by(Assignment.type, Assignment.actor_id, Assignment.target_id)))
    members = _members(s, [r.actor_id for r in rows if KIND_OF_TYPE[r.type][0] == "group"])
    tree = Tree.load(s) if any(r.inherited for r in rows) else Tree()
    expanded = [e for row in rows for e in _expand(row, members, tree)]
    rules = _rules(s)
    role_domains = {rid: did for rid, did in s.execute(select(Role.id, Role.domain_id))}
    out: dict[Entry, None] = {}
    for base in expanded:
        for entry in _with_implied(base, rules):
            if role_domains.get(entry.role_id, NULL_DOMAIN) != NULL_DOMAIN:
                continue
            if _matches(entry, f, scope_projects):
                out[entry] = None
    return list(out)


def _members(s: Session, group_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if group_ids:
        for gid, uid in s.execute(
            select(Membership.group_id, Membership.user_id).where(Membership.group_id.in_(set(group_ids)))
        ):
            out.setdefault(gid, []).append(uid)
    return out


def _expand(row: Assignment, members: dict[str, list[str]], tree: Tree) -> list[Entry]:
    """One grant as the concrete (user, scope) pairs it gives a role on."""
    base = _entry(row)
    users: list[tuple[str, str | None]]
    if base.actor == "group":
        users = [(uid, row.actor_id) for uid in sorted(members.get(row.actor_id, ()))]
    else:
        users = [(row.actor_id, None)]
    if not row.inherited:
        targets = [(base.target, row.target_id)]
    elif base.target == "domain":
        targets = [("project", pid) for pid in sorted(tree.in_domain(row.target_id))]
    else:
        targets = [("project", pid) for pid in sorted(tree.subtree(row.target_id))]
    return [
        Entry(row.role_id, "user", uid, target, tid, False, base.source, via_group=gid)
        for uid, gid in users
        for target, tid in targets
    ]


def _rules(s: Session) -> dict[str, list[str]]:
    rules: dict[str, list[str]] = {}
    for prior, implied in s.execute(select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)):
        rules.setdefault(prior, []).append(implied)
    return rules


def _with_implied(entry: Entry, rules: dict[str, list[str]]) -> list[Entry]:
    """The entry plus one entry per role it implies, each naming the role that implied it."""
    out = [entry]
    seen = {entry.role_id}
    frontier = [entry.role_id]
    while frontier:
        prior = frontier.pop(0)
        for implied in rules.get(prior, ()):
            if implied in seen:
                continue
            seen.add(implied)
            frontier.append(implied)
            out.append(
                Entry(implied, entry.actor, entry.actor_id, entry.target, entry.target_id, False, entry.source,
                      via_group=entry.via_group, prior_role_id=prior)
            )
    return out


def _matches(e: Entry, f: Filters, scope_projects: set[str] | None) -> bool:
    if f.user_id and e.actor_id != f.user_id:
        return False
    if f.role_id and e.role_id != f.role_id:
        return False
    if scope_projects is not None and (e.target != "project" or e.target_id not in scope_projects):
        return False
    if f.domain_id and (e.target != "domain" or e.target_id != f.domain_id):
        return False
    return not (f.system and e.target != "system")


# --- names, for include_names ------------------------------------------------------------


@dataclass
class Names:
    roles: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (name, domain_id or None)
    users: dict[str, tuple[str, str]] = field(default_factory=dict)
    groups: dict[str, tuple[str, str]] = field(default_factory=dict)
    projects: dict[str, tuple[str, str]] = field(default_factory=dict)  # domains too

    def domain_ref(self, domain_id: str) -> dict[str, Any]:
        ref: dict[str, Any] = {"id": domain_id}
        if domain_id in self.projects:
            ref["name"] = self.projects[domain_id][0]
        return ref


def load_names(s: Session, entries: list[Entry]) -> Names:
    names = Names()
    role_ids = {e.role_id for e in entries}
    user_ids = {e.actor_id for e in entries if e.actor == "user"}
    group_ids = {e.actor_id for e in entries if e.actor == "group"}
    targets = {e.target_id for e in entries if e.target != "system"}
    if role_ids:
        names.roles = {i: (n, None if d == NULL_DOMAIN else d)
                       for i, n, d in s.execute(select(Role.id, Role.name, Role.domain_id).where(Role.id.in_(role_ids)))}
    if user_ids:
        names.users = {i: (n, d) for i, n, d in s.execute(select(User.id, User.name, User.domain_id).where(User.id.in_(user_ids)))}
    if group_ids:
        names.groups = {i: (n, d) for i, n, d in s.execute(select(Group.id, Group.name, Group.domain_id).where(Group.id.in_(group_ids)))}
    domain_ids = {d for _, d in [*names.users.values(), *names.groups.values()]}
    domain_ids |= {d for _, d in names.roles.values() if d is not None}
    wanted = targets | domain_ids
    if wanted:
        rows = list(s.execute(select(Project.id, Project.name, Project.domain_id).where(Project.id.in_(wanted))))
        names.projects = {i: (n, d) for i, n, d in rows}
        extra = {d for _, _, d in rows} - set(names.projects)
        if extra:
            names.projects.update(
                {i: (n, d) for i, n, d in s.execute(select(Project.id, Project.name, Project.domain_id).where(Project.id.in_(extra)))}
            )
    return names


def list_with_names(s: Session, f: Filters, include_names: bool) -> tuple[list[Entry], Names | None]:
    """The entries ``f`` selects and, when asked, the names of everything they mention."""
    entries = list_assignments(s, f)
    return entries, (load_names(s, entries) if include_names else None)
