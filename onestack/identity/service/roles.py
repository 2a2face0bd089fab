"""Roles (global and domain-specific), their options, and role inference (implied role) rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.ids import new_id
from onestack.identity.models import NULL_DOMAIN, Assignment, ImpliedRole, Project, Role
from onestack.identity.service import grants

# Keystone's default for ``[assignment] prohibited_implied_role``: nothing may imply admin.
PROHIBITED_IMPLIED = frozenset({"admin"})
_COLUMNS = ("id", "name", "domain_id", "description", "options", "links")


def get_role(s: Session, role_id: str) -> Role:
    row = s.get(Role, role_id)
    if row is None:
        raise NotFound(f"Could not find role: {role_id}.")
    return row


def role_to_dict(r: Role) -> dict[str, Any]:
    doc: dict[str, Any] = {k: v for k, v in (r.extra or {}).items() if k not in _COLUMNS}
    doc.update(
        id=r.id,
        name=r.name,
        domain_id=None if r.domain_id == NULL_DOMAIN else r.domain_id,
        description=r.description,
        options=dict(r.options or {}),
    )
    return doc


def is_domain_role(r: Role) -> bool:
    return r.domain_id != NULL_DOMAIN


def is_immutable(r: Role) -> bool:
    return bool((r.options or {}).get("immutable"))


def list_roles(s: Session, name: str | None = None, domain_id: str | None = None) -> list[Role]:
    """Without a ``domain_id`` filter only global roles are listed, as Keystone does."""
    query = select(Role).where(Role.domain_id == (domain_id or NULL_DOMAIN))
    if name is not None:
        query = query.where(Role.name == name)
    return list(s.scalars(query.order_by(Role.name)))


def _check_domain(s: Session, domain_id: str | None) -> str:
    if domain_id is None:
        return NULL_DOMAIN
    domain = s.get(Project, domain_id)
    if domain is None or not domain.is_domain:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return domain_id


def _check_unique(s: Session, name: str, domain_id: str, role_id: str | None = None) -> None:
    clash = s.scalar(select(Role).where(Role.name == name, Role.domain_id == domain_id))
    if clash is not None and clash.id != role_id:
        raise Conflict(f"Conflict occurred attempting to store role - Duplicate entry found with name {name}.")


def _merge_options(current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """A null option value removes the option."""
    out = dict(current)
    for key, value in given.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _extra(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in _COLUMNS}


def create_role(s: Session, body: dict[str, Any]) -> Role:
    domain_id = _check_domain(s, body.get("domain_id"))
    _check_unique(s, body["name"], domain_id)
    role = Role(
        id=new_id(),
        name=body["name"],
        domain_id=domain_id,
        description=body.get("description"),
        extra=_extra(body),
        options=_merge_options({}, body.get("options") or {}),
    )
    s.add(role)
    s.flush()
    return role


def _only_unsets_immutable(body: dict[str, Any]) -> bool:
    options = body.get("options")
    return set(body) == {"options"} and isinstance(options, dict) and set(options) == {"immutable"} \
        and not options["immutable"]


def update_role(s: Session, role_id: str, body: dict[str, Any]) -> Role:
    role = get_role(s, role_id)
    if is_immutable(role) and not _only_unsets_immutable(body):
        raise Forbidden(f"Role {role_id} is immutable; unset the immutable option before changing it.")
    if "domain_id" in body and (body["domain_id"] or NULL_DOMAIN) != role.domain_id:
        raise BadRequest("Update of `domain_id` is not allowed.")
    if "name" in body:
        _check_unique(s, body["name"], role.domain_id, role.id)
        role.name = body["name"]
    if "description" in body:
        role.description = body["description"]
    if "options" in body:
        role.options = _merge_options(role.options or {}, body["options"] or {})
    extra = _extra(body)
    if extra:
        role.extra = {**(role.extra or {}), **extra}
    s.flush()
    return role


def delete_role(s: Session, role_id: str, token_lifetime: int) -> None:
    """Removes the role's assignments and inference rules; the holders' tokens are revoked."""
    role = get_role(s, role_id)
    if is_immutable(role):
        raise Forbidden(f"Role {role_id} is immutable and cannot be deleted.")
    for row in list(s.scalars(select(Assignment).where(Assignment.role_id == role_id))):
        grants.revoke_tokens_for(s, row, token_lifetime)
        s.delete(row)
    s.execute(
        delete(ImpliedRole).where(or_(ImpliedRole.prior_role_id == role_id, ImpliedRole.implied_role_id == role_id))
    )
    s.delete(role)
    s.flush()


# --- role inference rules ---------------------------------------------------------------


def get_inference(s: Session, prior_id: str, implied_id: str) -> tuple[Role, Role]:
    prior, implied = get_role(s, prior_id), get_role(s, implied_id)
    if s.get(ImpliedRole, {"prior_role_id": prior_id, "implied_role_id": implied_id}) is None:
        raise NotFound(f"{prior_id} does not imply {implied_id}.")
    return prior, implied


def create_inference(s: Session, prior_id: str, implied_id: str) -> tuple[Role, Role]:
    implied, prior = get_role(s, implied_id), get_role(s, prior_id)
    if implied.name in PROHIBITED_IMPLIED and implied.domain_id == NULL_DOMAIN:
        raise Forbidden(f"{implied_id} cannot be an implied role.")
    if prior.domain_id == NULL_DOMAIN and implied.domain_id != NULL_DOMAIN:
        raise Forbidden("A global role cannot imply a domain-specific role.")
    key = {"prior_role_id": prior_id, "implied_role_id": implied_id}
    if s.get(ImpliedRole, key) is not None:
        raise Conflict(f"Conflict occurred attempting to store implied_role - {prior_id} already implies {implied_id}.")
    s.add(ImpliedRole(**key))
    s.flush()
    return prior, implied


def delete_inference(s: Session, prior_id: str, implied_id: str) -> None:
    get_inference(s, prior_id, implied_id)
    s.execute(
        delete(ImpliedRole).where(ImpliedRole.prior_role_id == prior_id, ImpliedRole.implied_role_id == implied_id)
    )


def implied_by(s: Session, prior_id: str) -> tuple[Role, list[Role]]:
    """The role and the roles it implies directly (not transitively)."""
    prior = get_role(s, prior_id)
    rows = s.scalars(
        select(Role)
        .join(ImpliedRole, ImpliedRole.implied_role_id == Role.id)
        .where(ImpliedRole.prior_role_id == prior_id)
        .order_by(Role.name)
    )
    return prior, list(rows)


def all_inferences(s: Session) -> list[tuple[Role, list[Role]]]:
    """Every rule, grouped by prior role."""
    roles = {r.id: r for r in s.scalars(select(Role))}
    grouped: dict[str, list[Role]] = {}
    for rule in s.scalars(select(ImpliedRole)):
        if rule.prior_role_id in roles and rule.implied_role_id in roles:
            grouped.setdefault(rule.prior_role_id, []).append(roles[rule.implied_role_id])
    return [(roles[p], sorted(imp, key=lambda r: r.name)) for p, imp in sorted(grouped.items(), key=lambda kv: roles[kv[0]].name)]
