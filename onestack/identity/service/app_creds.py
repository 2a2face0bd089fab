"""Application credentials and their access rules.

An application credential lets a program authenticate as its owner, on one project, with a
subset of the owner's roles there, without knowing the owner's password. Access rules narrow
it further to a list of (service, path, method) the token may be used for; identical rules
are shared between a user's credentials.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.ids import new_id, utcnow
from onestack.identity.models import (
    NULL_DOMAIN,
    AccessRule,
    AppCredAccessRule,
    ApplicationCredential,
    Role,
)
from onestack.identity.service import assignments, revocations


def access_rules_of(s: Session, app_cred_id: str) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(AccessRule)
        .join(AppCredAccessRule, AppCredAccessRule.access_rule_id == AccessRule.id)
        .where(AppCredAccessRule.application_credential_id == app_cred_id)
    )
    return [{"id": r.id, "service": r.service, "path": r.path, "method": r.method} for r in rows]


def expiry_text(dt: datetime | None) -> str | None:
    """Keystone shows an application credential's expiry as a naive ISO time with microseconds."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") if dt is not None else None


def _roles_doc(s: Session, role_ids: list[str]) -> list[dict[str, Any]]:
    if not role_ids:
        return []
    rows = s.scalars(select(Role).where(Role.id.in_(role_ids)).order_by(Role.name))
    return [
        {"id": r.id, "name": r.name, "domain_id": None if r.domain_id == NULL_DOMAIN else r.domain_id} for r in rows
    ]


def to_dict(s: Session, cred: ApplicationCredential) -> dict[str, Any]:
    return {
        "id": cred.id,
        "name": cred.name,
        "description": cred.description,
        "user_id": cred.user_id,
        "project_id": cred.project_id,
        "roles": _roles_doc(s, list(cred.roles or [])),
        "unrestricted": bool(cred.unrestricted),
        "expires_at": expiry_text(cred.expires_at),
        "access_rules": access_rules_of(s, cred.id),
    }


# --- creating ------------------------------------------------------------------------------


def _resolve_role(s: Session, ref: dict[str, Any]) -> Role:
    if ref.get("id"):
        role = s.get(Role, str(ref["id"]))
        if role is None:
            raise NotFound(f"Could not find role: {ref['id']}.")
        return role
    domain_id = NULL_DOMAIN
    if isinstance(ref.get("domain"), dict) and ref["domain"].get("id"):
        domain_id = str(ref["domain"]["id"])
    role = s.scalar(select(Role).where(Role.name == str(ref["name"]), Role.domain_id == domain_id))
    if role is None:
        raise NotFound(f"Could not find role: {ref['name']}.")
    return role


def _granted_roles(s: Session, user_id: str, project_id: str, refs: list[dict[str, Any]]) -> list[str]:
    """The ids of ``refs``; each must be a role the user holds (effectively) on the project."""
    held = assignments.implied_closure(s, assignments.direct_role_ids(s, user_id, project_id=project_id))
    out: list[str] = []
    for ref in refs:
        role = _resolve_role(s, ref)
        if role.id not in held:
            raise NotFound(
                f"Could not find role assignment with role: {role.id}, user or group: {user_id}, "
                f"project, domain, or system: {project_id}."
            )
        if role.id not in out:
            out.append(role.id)
    return out


def _attach_rules(s: Session, user_id: str, cred_id: str, rules: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for rule in rules:
        # A rule named by an id that exists is that rule, even with service/path/method given (which
        # would otherwise mint a second row with the same id): the caller's own, or not found.
        existing = s.get(AccessRule, str(rule["id"])) if rule.get("id") else None
        if existing is not None or (rule.get("id") and not rule.get("service")):
            if existing is None or existing.user_id != user_id:
                raise NotFound(f"Could not find Access Rule: {rule['id']}.")
            row = existing
        else:
            found = s.scalar(
                select(AccessRule).where(
                    AccessRule.user_id == user_id,
                    AccessRule.service == rule["service"],
                    AccessRule.path == rule["path"],
                    AccessRule.method == rule["method"],
                )
            )
            if found is not None:  # identical rules are reused, others are minted
                row = found
            else:
                row = AccessRule(id=str(rule.get("id") or new_id()), user_id=user_id, service=rule["service"],
                                 path=rule["path"], method=rule["method"])
                s.add(row)
                s.flush()
        if row.id not in seen:
            seen.add(row.id)
            s.add(AppCredAccessRule(application_credential_id=cred_id, access_rule_id=row.id))


def create(
    s: Session, user_id: str, project_id: str, data: dict[str, Any], secret_hash: str, default_role_ids: list[str]
) -> dict[str, Any]:
    """Store a new credential (``data`` already validated); returns its document without the secret."""
    name = data["name"]
    if s.scalar(select(ApplicationCredential.id).where(ApplicationCredential.user_id == user_id,
                                                       ApplicationCredential.name == name)):
        raise Conflict(f"Conflict occurred attempting to store application_credential - "
                       f"Duplicate application credential name {name} for user {user_id}.")
    expires_at: datetime | None = data.get("expires_at")
    if expires_at is not None and expires_at <= utcnow():
        raise BadRequest("The 'expires_at' must not be before now. The server could not comply with the "
                         "request since it is either malformed or otherwise incorrect.")
    if data.get("roles"):
        role_ids = _granted_roles(s, user_id, project_id, data["roles"])
    else:
        role_ids = _granted_roles(s, user_id, project_id, [{"id": r} for r in default_role_ids])
    if not role_ids:
        raise Forbidden(f"User {user_id} has no roles on project {project_id} to delegate.")
    cred = ApplicationCredential(
        id=str(data.get("id") or new_id()), name=name, secret_hash=secret_hash,
        description=data.get("description"), user_id=user_id, project_id=project_id, system=None,
        expires_at=expires_at, unrestricted=bool(data.get("unrestricted", False)), created_at=utcnow(),
        roles=role_ids,
    )
    s.add(cred)
    s.flush()
    _attach_rules(s, user_id, cred.id, data.get("access_rules") or [])
    s.flush()
    return to_dict(s, cred)


# --- reading and deleting -------------------------------------------------------------------


def get_row(s: Session, user_id: str, cred_id: str) -> ApplicationCredential:
    cred = s.get(ApplicationCredential, cred_id)
    if cred is None or cred.user_id != user_id:
        raise NotFound(f"Could not find Application Credential: {cred_id}.")
    return cred


def get(s: Session, user_id: str, cred_id: str) -> dict[str, Any]:
    return to_dict(s, get_row(s, user_id, cred_id))


def list_for_user(s: Session, user_id: str, name: str | None = None) -> list[dict[str, Any]]:
    query = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id)
    if name is not None:
        query = query.where(ApplicationCredential.name == name)
    return [to_dict(s, c) for c in s.scalars(query.order_by(ApplicationCredential.created_at, ApplicationCredential.id))]


def delete(s: Session, user_id: str, cred_id: str, token_lifetime: int) -> None:
    """Delete the credential; tokens issued with it stop working."""
    cred = get_row(s, user_id, cred_id)
    s.execute(sql_delete(AppCredAccessRule).where(AppCredAccessRule.application_credential_id == cred.id))
    s.delete(cred)
    revocations.revoke(s, token_lifetime=token_lifetime, app_cred_id=cred_id)


def delete_for_user(s: Session, user_id: str) -> list[str]:
    """Drop every credential and access rule of a user (the user is being deleted); returns the ids."""
    ids = list(s.scalars(select(ApplicationCredential.id).where(ApplicationCredential.user_id == user_id)))
    if ids:
        s.execute(sql_delete(AppCredAccessRule).where(AppCredAccessRule.application_credential_id.in_(ids)))
        s.execute(sql_delete(ApplicationCredential).where(ApplicationCredential.id.in_(ids)))
    s.execute(sql_delete(AccessRule).where(AccessRule.user_id == user_id))
    return ids


# --- access rules ---------------------------------------------------------------------------


def rule_to_dict(r: AccessRule) -> dict[str, Any]:
    return {"id": r.id, "service": r.service, "path": r.path, "method": r.method}


def list_rules(s: Session, user_id: str, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
    query = select(AccessRule).where(AccessRule.user_id == user_id)
    for key, value in (filters or {}).items():
        query = query.where(getattr(AccessRule, key) == value)
    return [rule_to_dict(r) for r in s.scalars(query.order_by(AccessRule.service, AccessRule.path))]


def get_rule_row(s: Session, user_id: str, rule_id: str) -> AccessRule:
    row = s.get(AccessRule, rule_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"Could not find Access Rule: {rule_id}.")
    return row


def get_rule(s: Session, user_id: str, rule_id: str) -> dict[str, Any]:
    return rule_to_dict(get_rule_row(s, user_id, rule_id))


def delete_rule(s: Session, user_id: str, rule_id: str) -> None:
    row = get_rule_row(s, user_id, rule_id)
    in_use = s.scalar(select(func.count()).select_from(AppCredAccessRule)
                      .where(AppCredAccessRule.access_rule_id == row.id))
    if in_use:
        raise Forbidden(f"Cannot delete access rule {rule_id} because it is in use by an application credential.")
    s.delete(row)
