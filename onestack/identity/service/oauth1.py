"""OS-OAUTH1 delegation: consumers, request tokens, access tokens, and the ``oauth1`` auth method.

A consumer (a registered client) asks for a request token on a project, signing with its
secret; a user who holds roles there authorizes it with some of them and gets a verifier;
the consumer trades token + verifier for an access token, and signs ``POST /v3/auth/tokens``
with it to get project-scoped tokens carrying only those roles. Secrets are stored as
Keystone stores them (in the clear): HMAC-SHA1 verification needs them. Deleting an access
token or its consumer deletes the rows a token's validation reads, so its tokens stop working.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Forbidden, NotFound, Unauthorized
from onestack.core.ids import isotime, utcnow
from onestack.identity.models import NULL_DOMAIN, AccessToken, Consumer, RequestToken, Role
from onestack.identity.service import assignments, projects
from onestack.identity.service.oauth1_sign import (
    VERIFIER_CHARS,
    check_access_token_request,
    check_protected_request,
    check_request_token_request,
    oauth_params,
    require,
)

DELEGATED = "Cannot authorize a request token with a token issued via delegation."


def _hex() -> str:
    return uuid.uuid4().hex


def _expiry(seconds: int) -> Any:
    return utcnow() + timedelta(seconds=seconds) if seconds > 0 else None


def _expired(expires_at: Any) -> bool:
    return expires_at is not None and expires_at < utcnow()


# --- consumers --------------------------------------------------------------------------------


def _consumer_doc(row: Consumer) -> dict[str, Any]:
    return {**(row.extra or {}), "id": row.id, "description": row.description}


def _consumer(s: Session, consumer_id: str) -> Consumer:
    row = s.get(Consumer, consumer_id)
    if row is None:
        raise NotFound("Consumer not found")
    return row


def create_consumer(s: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    extra = {k: v for k, v in data.items() if k not in ("id", "description", "secret")}
    row = Consumer(id=_hex(), description=data.get("description"), secret=_hex(), extra=extra)
    s.add(row)
    s.flush()
    return {**_consumer_doc(row), "secret": row.secret}  # the secret is shown on create only


def list_consumers(s: Session) -> list[dict[str, Any]]:
    return [_consumer_doc(r) for r in s.scalars(select(Consumer).order_by(Consumer.id))]


def get_consumer(s: Session, consumer_id: str) -> dict[str, Any]:
    return _consumer_doc(_consumer(s, consumer_id))


def update_consumer(s: Session, consumer_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    if "id" in data and data["id"] != consumer_id:
        raise BadRequest("Cannot change consumer ID.")
    row = _consumer(s, consumer_id)
    if "description" in data:
        row.description = data["description"]
    row.extra = {**(row.extra or {}), **{k: v for k, v in data.items() if k not in ("id", "description")}}
    return _consumer_doc(row)


def delete_consumer(s: Session, consumer_id: str) -> None:
    """The consumer, its request tokens and its access tokens (whose tokens then fail validation)."""
    row = _consumer(s, consumer_id)
    s.execute(delete(RequestToken).where(RequestToken.consumer_id == consumer_id))
    s.execute(delete(AccessToken).where(AccessToken.consumer_id == consumer_id))
    s.delete(row)


# --- request tokens ---------------------------------------------------------------------------


def create_request_token(s: Session, url: str, headers: Mapping[str, str], duration: int) -> dict[str, Any]:
    """Check the consumer's signed request; store a request token on the requested project."""
    params = oauth_params(headers)
    consumer_id = require(params, "oauth_consumer_key")
    project_id = require({"Requested-Project-Id": headers.get("requested-project-id", "")}, "Requested-Project-Id")
    projects.get_project(s, project_id)
    _consumer(s, consumer_id)
    check_request_token_request(s, url, headers)
    row = RequestToken(id=_hex(), request_secret=_hex(), requested_project_id=project_id, consumer_id=consumer_id,
                       expires_at=_expiry(duration))
    s.add(row)
    return {"oauth_token": row.id, "oauth_token_secret": row.request_secret, "oauth_expires_at": isotime(row.expires_at)}


def _request_token(s: Session, token_id: str) -> RequestToken:
    row = s.get(RequestToken, token_id)
    if row is None:
        raise NotFound("Request token not found")
    return row


def _role_ids(s: Session, refs: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for ref in refs:
        if ref.get("id"):
            out.add(str(ref["id"]))
            continue
        role = s.scalar(select(Role).where(Role.name == str(ref["name"]), Role.domain_id == NULL_DOMAIN))
        if role is None:
            raise NotFound(f"Could not find role: {ref['name']}.")
        out.add(role.id)
    return out


def authorize(s: Session, token_id: str, user_id: str, refs: list[dict[str, Any]]) -> str:
    """The user grants the request token some of its roles on the project; returns the verifier."""
    row = _request_token(s, token_id)
    if _expired(row.expires_at):
        raise Unauthorized("Request token is expired")
    wanted = _role_ids(s, refs)
    held = {r.id for r in assignments.effective_roles(s, user_id, project_id=row.requested_project_id)}
    if not wanted <= held:
        raise Unauthorized("authorizing user does not have role required")
    row.authorizing_user_id = user_id
    row.role_ids = sorted(wanted)
    row.verifier = "".join(secrets.choice(VERIFIER_CHARS) for _ in range(8))
    return row.verifier


# --- access tokens ----------------------------------------------------------------------------


def create_access_token(s: Session, url: str, headers: Mapping[str, str], duration: int) -> dict[str, Any]:
    """Trade an authorized request token and its verifier (signed by the consumer) for an access token."""
    params = oauth_params(headers)
    consumer_id = require(params, "oauth_consumer_key")
    token_id = require(params, "oauth_token")
    verifier = require(params, "oauth_verifier")
    req = _request_token(s, token_id)
    if _expired(req.expires_at):
        raise Unauthorized("Request token is expired")
    check_access_token_request(s, url, headers, req, consumer_id, verifier)
    if not req.authorizing_user_id:
        raise Unauthorized("Request Token does not have an authorizing user id.")
    row = AccessToken(id=_hex(), access_secret=_hex(), authorizing_user_id=req.authorizing_user_id,
                      project_id=req.requested_project_id, role_ids=list(req.role_ids or []),
                      consumer_id=req.consumer_id, expires_at=_expiry(duration))
    s.add(row)
    s.delete(req)  # a request token is good for one access token
    return {"oauth_token": row.id, "oauth_token_secret": row.access_secret, "oauth_expires_at": isotime(row.expires_at)}


def _access_doc(row: AccessToken) -> dict[str, Any]:
    return {"id": row.id, "consumer_id": row.consumer_id, "project_id": row.project_id,
            "authorizing_user_id": row.authorizing_user_id, "expires_at": isotime(row.expires_at)}


def list_access_tokens(s: Session, user_id: str) -> list[dict[str, Any]]:
    rows = s.scalars(select(AccessToken).where(AccessToken.authorizing_user_id == user_id).order_by(AccessToken.id))
    return [_access_doc(r) for r in rows]


def _access_token(s: Session, token_id: str) -> AccessToken:
    row = s.get(AccessToken, token_id)
    if row is None:
        raise NotFound("Access token not found")
    return row


def _users_access_token(s: Session, user_id: str, token_id: str) -> AccessToken:
    row = _access_token(s, token_id)
    if row.authorizing_user_id != user_id:
        raise NotFound(f"Could not find access token: {token_id}.")
    return row


def get_access_token(s: Session, user_id: str, token_id: str) -> dict[str, Any]:
    return _access_doc(_users_access_token(s, user_id, token_id))


def delete_access_token(s: Session, user_id: str, token_id: str) -> None:
    row = _access_token(s, token_id)
    if row.authorizing_user_id != user_id:
        raise Unauthorized("User IDs do not match")
    s.delete(row)


def access_token_roles(s: Session, user_id: str, token_id: str) -> list[dict[str, Any]]:
    row = _users_access_token(s, user_id, token_id)
    roles = s.scalars(select(Role).where(Role.id.in_(list(row.role_ids or []))).order_by(Role.name))
    return [{"id": r.id, "name": r.name, "domain_id": None if r.domain_id == NULL_DOMAIN else r.domain_id}
            for r in roles]


def access_token_role(s: Session, user_id: str, token_id: str, role_id: str) -> dict[str, Any]:
    row = _access_token(s, token_id)
    if row.authorizing_user_id != user_id:
        raise Unauthorized("User IDs do not match")
    for role in access_token_roles(s, user_id, token_id):
        if role["id"] == role_id:
            return role
    raise NotFound(f"Could not find role: {role_id}.")


# --- the oauth1 auth method and what its tokens carry -----------------------------------------


def authenticate(s: Session, url: str, headers: Mapping[str, str]) -> tuple[str, str, str]:
    """A request signed with an access token: (user id, project id, access token id)."""
    params = oauth_params(headers)
    token_id = require(params, "oauth_token")
    row = _access_token(s, token_id)
    if _expired(row.expires_at):
        raise Unauthorized("Access token is expired")
    if not check_protected_request(s, url, headers):
        raise Unauthorized("Could not validate the access token")
    return row.authorizing_user_id, row.project_id, row.id


def token_delegation(s: Session, access_token_id: str) -> tuple[dict[str, str], set[str]] | None:
    """The token body's ``OS-OAUTH1`` entry and the roles the access token allows; None once it is gone."""
    row = s.get(AccessToken, access_token_id)
    if row is None:
        return None
    return {"access_token_id": row.id, "consumer_id": row.consumer_id}, set(row.role_ids or [])


def refuse_oauth_scoped(body: Mapping[str, Any], message: str) -> None:
    """A token from an access token may not mint trusts or application credentials (Keystone's 403)."""
    if "OS-OAUTH1" in body.get("token", {}):
        raise Forbidden(message)


def refuse_delegated(body: Mapping[str, Any], message: str = DELEGATED) -> None:
    """Tokens from a trust, an access token or an application credential may not delegate further."""
    doc = body.get("token", {})
    if "OS-TRUST:trust" in doc or "OS-OAUTH1" in doc or "application_credential" in doc:
        raise Forbidden(message)
