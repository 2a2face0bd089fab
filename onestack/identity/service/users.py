"""Users, their passwords and the security-compliance rules around them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import bcrypt
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, NotFound
from onestack.core.ids import isotime, new_id, parse_isotime, utcnow
from onestack.identity.models import Membership, Password, Project, User
from onestack.identity.service import projects, revocations

BCRYPT_MAX_BYTES = 72  # bcrypt ignores anything past this; we cut explicitly (bcrypt>=5 refuses longer)


def hash_password(password: str, rounds: int) -> str:
    raw = password.encode("utf-8")[:BCRYPT_MAX_BYTES]
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds)).decode("ascii")


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8")[:BCRYPT_MAX_BYTES], hashed.encode("ascii"))
    except ValueError:
        return False


def get_user(s: Session, user_id: str) -> User:
    row = s.get(User, user_id)
    if row is None:
        raise NotFound(f"Could not find user: {user_id}.")
    return row


def find_user_by_name(s: Session, name: str, domain_id: str) -> User:
    row = s.scalar(select(User).where(User.domain_id == domain_id, User.name == name))
    if row is None:
        raise NotFound(f"Could not find user: {name}.")
    return row


def current_password(s: Session, user_id: str) -> Password | None:
    return s.scalar(select(Password).where(Password.user_id == user_id).order_by(Password.id.desc()).limit(1))


def user_to_dict(u: User, password: Password | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = dict(u.extra or {})
    doc.update(
        id=u.id,
        name=u.name,
        domain_id=u.domain_id,
        enabled=u.enabled,
        password_expires_at=isotime(password.expires_at) if password and password.expires_at else None,
        options=dict(u.options or {}),
    )
    if u.default_project_id:
        doc["default_project_id"] = u.default_project_id
    return doc


# --- user records: listing, create, update, delete ---------------------------------------------

USER_OPTIONS: dict[str, Any] = {
    "ignore_change_password_upon_first_use": {"type": ["boolean", "null"]},
    "ignore_password_expiry": {"type": ["boolean", "null"]},
    "ignore_lockout_failure_attempts": {"type": ["boolean", "null"]},
    "lock_password": {"type": ["boolean", "null"]},
    "ignore_user_inactivity": {"type": ["boolean", "null"]},
    "multi_factor_auth_enabled": {"type": ["boolean", "null"]},
    "multi_factor_auth_rules": {
        "type": ["array", "null"],
        "items": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "uniqueItems": True},
    },
}
_KNOWN = {"id", "name", "domain_id", "enabled", "default_project_id", "password", "options", "links",
          "password_expires_at"}
_TIME_OPS = {"lt", "lte", "gt", "gte", "eq", "neq"}
_NAME_OPS = ("contains", "icontains", "startswith", "istartswith", "endswith", "iendswith")


def user_view(s: Session, u: User) -> dict[str, Any]:
    return user_to_dict(u, current_password(s, u.id))


def merge_options(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A null value removes the option, as Keystone does."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def check_password_rules(sc: Any, password: str) -> None:
    """``security_compliance.password_regex``: 400 with the operator's description."""
    if sc.password_regex and not re.match(sc.password_regex, password):
        detail = sc.password_regex_description or f"It must match {sc.password_regex}."
        raise BadRequest(f"The password does not meet the requirements: {detail}")


def new_password_expiry(sc: Any, options: dict[str, Any], *, by_admin: bool) -> datetime | None:
    """When a password set now expires: at once for admin-set ones when users must change them
    on first use, after ``password_expires_days`` otherwise, never if the user is exempt."""
    now = utcnow()
    if by_admin and sc.change_password_upon_first_use and not options.get("ignore_change_password_upon_first_use"):
        return now
    if sc.password_expires_days and not options.get("ignore_password_expiry"):
        return now + timedelta(days=sc.password_expires_days)
    return None


def _domain_must_exist(s: Session, domain_id: str) -> None:
    row = s.get(Project, domain_id)
    if row is None or not row.is_domain:
        raise NotFound(f"Could not find domain: {domain_id}.")


def _name_clash(s: Session, domain_id: str, name: str, user_id: str | None = None) -> None:
    stmt = select(User.id).where(User.domain_id == domain_id, User.name == name)
    if user_id:
        stmt = stmt.where(User.id != user_id)
    if s.scalar(stmt):
        raise Conflict(f"Conflict occurred attempting to store user - Duplicate entry found with name {name} "
                       f"at domain ID {domain_id}.")


def create_user(s: Session, data: dict[str, Any], hashed: str | None, expires_at: datetime | None) -> dict[str, Any]:
    _domain_must_exist(s, data["domain_id"])
    _name_clash(s, data["domain_id"], data["name"])
    user = User(
        id=new_id(),
        name=data["name"],
        domain_id=data["domain_id"],
        enabled=data.get("enabled", True),
        default_project_id=data.get("default_project_id"),
        created_at=utcnow(),
        extra={k: v for k, v in data.items() if k not in _KNOWN},
        options=merge_options({}, data.get("options") or {}),
    )
    s.add(user)
    s.flush()
    if hashed is not None:
        s.add(Password(user_id=user.id, password_hash=hashed, created_at=utcnow(), expires_at=expires_at,
                       self_service=False))
        s.flush()
    return user_view(s, user)


def update_user(s: Session, user_id: str, data: dict[str, Any], hashed: str | None, expires_at: datetime | None,
                token_lifetime: int) -> dict[str, Any]:
    """Apply a PATCH; disabling the user or resetting the password revokes their tokens."""
    user = get_user(s, user_id)
    if "id" in data and data["id"] != user.id:
        raise BadRequest("Update of id is not allowed.")
    if "domain_id" in data and data["domain_id"] != user.domain_id:
        raise BadRequest("Update of domain_id is not allowed.")
    revoke = False
    if "name" in data and data["name"] != user.name:
        _name_clash(s, user.domain_id, data["name"], user.id)
        user.name = data["name"]
    if "enabled" in data:
        revoke = user.enabled and not data["enabled"]
        user.enabled = data["enabled"]
        if data["enabled"]:
            user.failed_auth_count = 0  # re-enabling also lifts a lockout, as in Keystone
            user.failed_auth_at = None
    if "default_project_id" in data:
        user.default_project_id = data["default_project_id"]
    if "options" in data:
        user.options = merge_options(user.options or {}, data["options"] or {})
    extra = dict(user.extra or {})
    extra.update({k: v for k, v in data.items() if k not in _KNOWN})
    user.extra = extra
    if hashed is not None:
        s.add(Password(user_id=user.id, password_hash=hashed, created_at=utcnow(), expires_at=expires_at,
                       self_service=False))
        user.failed_auth_count = 0
        user.failed_auth_at = None
        revoke = True
    s.flush()
    if revoke:
        revocations.revoke(s, token_lifetime=token_lifetime, user_id=user_id)
    return user_view(s, user)


def delete_users(s: Session, ids: list[str]) -> None:
    """Remove users and what hangs off them: passwords, memberships, grants, credentials."""
    from onestack.identity.models import (
        AccessRule,
        AppCredAccessRule,
        ApplicationCredential,
        Assignment,
        Credential,
        Membership,
    )

    if not ids:
        return
    from onestack.identity.service import trusts

    for user_id in ids:
        trusts.delete_for_user(s, user_id)
    creds = list(s.scalars(select(ApplicationCredential.id).where(ApplicationCredential.user_id.in_(ids))))
    if creds:
        s.execute(delete(AppCredAccessRule).where(AppCredAccessRule.application_credential_id.in_(creds)))
    s.execute(delete(ApplicationCredential).where(ApplicationCredential.user_id.in_(ids)))
    s.execute(delete(AccessRule).where(AccessRule.user_id.in_(ids)))
    s.execute(delete(Credential).where(Credential.user_id.in_(ids)))
    s.execute(delete(Assignment).where(Assignment.actor_id.in_(ids)))
    s.execute(delete(Membership).where(Membership.user_id.in_(ids)))
    s.execute(delete(Password).where(Password.user_id.in_(ids)))
    s.execute(delete(User).where(User.id.in_(ids)))


def delete_user(s: Session, user_id: str, token_lifetime: int) -> None:
    get_user(s, user_id)
    delete_users(s, [user_id])
    revocations.revoke(s, token_lifetime=token_lifetime, user_id=user_id)


# --- what the users API asks for, one transaction each ---------------------------------------


def policy_target(s: Session, user_id: str) -> dict[str, Any]:
    """What a user policy rule sees of the user (404 if there is none)."""
    return {"id": user_id, "domain_id": get_user(s, user_id).domain_id}


def show(s: Session, user_id: str) -> dict[str, Any]:
    return user_view(s, get_user(s, user_id))


def options_after(s: Session, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """The user's options as they will be once ``changes`` apply."""
    return merge_options(get_user(s, user_id).options or {}, changes)


# --- list filters ----------------------------------------------------------------------------


def _compare(op: str, left: datetime | None, right: datetime) -> bool:
    if left is None:
        return op == "neq"
    return {
        "lt": left < right, "lte": left <= right, "gt": left > right,
        "gte": left >= right, "eq": left == right, "neq": left != right,
    }[op]


def _expiry_filter(raw: str) -> tuple[str, datetime]:
    """``password_expires_at={op}:{timestamp}``; the operator defaults to ``eq``."""
    op, _, stamp = raw.partition(":")
    if op not in _TIME_OPS:
        op, stamp = "eq", raw
    try:
        return op, parse_isotime(stamp)
    except ValueError:
        raise BadRequest(f"Invalid input for field 'password_expires_at': {raw!r} is not a valid time") from None


def _name_matches(query: dict[str, str], name: str) -> bool:
    if "name" in query and name != query["name"]:
        return False
    for op in _NAME_OPS:
        want = query.get(f"name__{op}")
        if want is None:
            continue
        fold = op.startswith("i")
        have, needle = (name.lower(), want.lower()) if fold else (name, want)
        kind = op[1:] if fold else op
        test = {"contains": needle in have, "startswith": have.startswith(needle), "endswith": have.endswith(needle)}
        if not test[kind]:
            return False
    return True


def list_users(s: Session, query: dict[str, str], group_id: str | None = None) -> list[dict[str, Any]]:
    stmt = select(User)
    if group_id is not None:
        stmt = stmt.join(Membership, Membership.user_id == User.id).where(Membership.group_id == group_id)
    if "domain_id" in query:
        stmt = stmt.where(User.domain_id == query["domain_id"])
    if "enabled" in query:
        stmt = stmt.where(User.enabled.is_(projects.filter_flag(query["enabled"])))
    expiry = _expiry_filter(query["password_expires_at"]) if "password_expires_at" in query else None
    out = []
    for user in s.scalars(stmt.order_by(User.name, User.id)):
        if not _name_matches(query, user.name):
            continue
        pw = current_password(s, user.id)
        if expiry is not None and not _compare(expiry[0], pw.expires_at if pw else None, expiry[1]):
            continue
        out.append(user_to_dict(user, pw))
    return out


# --- self-service password change ----------------------------------------------------------


@dataclass
class PasswordState:
    user_id: str
    enabled: bool
    options: dict[str, Any]
    failed_auth_count: int
    failed_auth_at: datetime | None
    current_hash: str | None
    current_created_at: datetime | None
    current_self_service: bool
    history: list[str]  # newest first, at most the history length asked for


def password_state(s: Session, user_id: str, history: int) -> PasswordState | None:
    user = s.get(User, user_id)
    if user is None:
        return None
    rows = list(s.scalars(select(Password).where(Password.user_id == user_id).order_by(Password.id.desc())
                          .limit(max(history, 1))))
    cur = rows[0] if rows else None
    domain = s.get(Project, user.domain_id)
    return PasswordState(
        user_id=user.id,
        enabled=user.enabled and domain is not None and domain.enabled,
        options=dict(user.options or {}),
        failed_auth_count=user.failed_auth_count or 0,
        failed_auth_at=user.failed_auth_at,
        current_hash=cur.password_hash if cur else None,
        current_created_at=cur.created_at if cur else None,
        current_self_service=bool(cur.self_service) if cur else False,
        history=[r.password_hash for r in rows[:history]],
    )


def is_locked(sc: Any, state: PasswordState) -> bool:
    if not sc.lockout_failure_attempts or state.options.get("ignore_lockout_failure_attempts"):
        return False
    if state.failed_auth_count < sc.lockout_failure_attempts or state.failed_auth_at is None:
        return False
    return state.failed_auth_at + timedelta(seconds=sc.lockout_duration) > utcnow()


def record_failure(s: Session, user_id: str, window: int) -> None:
    user = s.get(User, user_id, with_for_update=True)  # concurrent failures must each count
    if user is None:
        return
    now = utcnow()
    if user.failed_auth_at is not None and user.failed_auth_at + timedelta(seconds=window) < now:
        user.failed_auth_count = 0  # the lockout window has passed: count afresh
    user.failed_auth_count = (user.failed_auth_count or 0) + 1
    user.failed_auth_at = now


def check_minimum_age(sc: Any, state: PasswordState) -> None:
    """Only a password the user chose may be held to the minimum age; admin resets may be changed."""
    if not sc.minimum_password_age or not state.current_self_service or state.current_created_at is None:
        return
    ready = state.current_created_at + timedelta(days=sc.minimum_password_age)
    now = utcnow()
    if now < ready:
        days_left = max(1, (ready - now).days + (1 if (ready - now).seconds else 0))
        raise BadRequest(f"You cannot change your password yet: a new password must be kept for "
                         f"{sc.minimum_password_age} day(s). Try again in {days_left} day(s) or ask an "
                         "administrator to reset it.")


def store_self_service_password(s: Session, user_id: str, hashed: str, expires_at: datetime | None,
                                token_lifetime: int) -> None:
    """Store a password the user chose; their tokens stop working."""
    user = get_user(s, user_id)
    s.add(Password(user_id=user_id, password_hash=hashed, created_at=utcnow(), expires_at=expires_at,
                   self_service=True))
    user.failed_auth_count = 0
    user.failed_auth_at = None
    revocations.revoke(s, token_lifetime=token_lifetime, user_id=user_id)


def projects_for_user(s: Session, user_id: str, query: dict[str, str]) -> list[dict[str, Any]]:
    """Projects the user holds a role on: directly, through a group, or inherited from above."""
    from onestack.identity.models import Assignment
    from onestack.identity.service import assignments

    get_user(s, user_id)
    actors = [user_id, *assignments.group_ids_of(s, user_id)]
    ids: set[str] = set()
    for row in s.scalars(select(Assignment).where(Assignment.actor_id.in_(actors))):
        if row.type in (assignments.USER_PROJECT, assignments.GROUP_PROJECT):
            if not row.inherited:
                ids.add(row.target_id)
            ids |= {p.id for p in projects.subtree(s, row.target_id)} if row.inherited else set()
        elif row.inherited and row.type in (assignments.USER_DOMAIN, assignments.GROUP_DOMAIN):
            ids |= set(s.scalars(select(Project.id).where(Project.domain_id == row.target_id,
                                                          Project.is_domain.is_(False))))
    stmt = select(Project).where(Project.id.in_(ids), Project.is_domain.is_(False))
    if "domain_id" in query:
        stmt = stmt.where(Project.domain_id == query["domain_id"])
    if "name" in query:
        stmt = stmt.where(Project.name == query["name"])
    if "enabled" in query:
        stmt = stmt.where(Project.enabled.is_(projects.filter_flag(query["enabled"])))
    return [projects.project_view(s, p) for p in s.scalars(stmt.order_by(Project.name, Project.id))]
