"""Credentials (``/v3/credentials``) and their EC2 view (``OS-EC2``).

Blobs are encrypted at rest with the credential key repository; ``key_hash`` records which
primary key sealed each one so a rotation can be audited. An ``ec2`` credential's id is the
SHA-256 of its access key, so an EC2 signature's access key finds its secret in one lookup.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, NotFound
from onestack.core.ids import new_id
from onestack.identity.keys import KeyRepository
from onestack.identity.models import Credential
from onestack.identity.service import projects

EC2 = "ec2"


def primary_key_hash(keys: KeyRepository) -> str:
    """A fingerprint of the key that encrypts new blobs (the highest-numbered key file)."""
    primary = max((p for p in keys.path.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    return hashlib.sha256(primary.read_bytes()).hexdigest()


def ec2_id(access: str) -> str:
    return hashlib.sha256(access.encode("utf-8")).hexdigest()


def _blob_of(keys: KeyRepository, row: Credential) -> str:
    try:
        return keys.decrypt(row.encrypted_blob).decode("utf-8")
    except InvalidToken:
        # The key that sealed it was rotated away: the blob is unreadable, not the request wrong.
        raise NotFound(f"Could not decrypt credential: {row.id}.") from None


def to_dict(keys: KeyRepository, row: Credential) -> dict[str, Any]:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "project_id": row.project_id,
        "type": row.type,
        "blob": _blob_of(keys, row),
    }


def ec2_access(blob: str) -> dict[str, Any]:
    """The decoded blob of an ec2 credential; it must be a JSON object with an access key."""
    try:
        doc = json.loads(blob)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("access"), str) or not doc["access"]:
        raise BadRequest("Invalid blob in credential: an ec2 blob is a JSON object with an 'access' key.")
    return doc


def _check_ec2(type_: str, project_id: str | None, blob: str) -> dict[str, Any] | None:
    if type_ != EC2:
        return None
    if not project_id:
        raise BadRequest("Invalid input for field 'project_id': an ec2 credential requires a project_id.")
    return ec2_access(blob)


def create(s: Session, keys: KeyRepository, key_hash: str, data: dict[str, Any]) -> dict[str, Any]:
    blob = data["blob"]
    ec2 = _check_ec2(data["type"], data.get("project_id"), blob)
    cred_id = ec2_id(ec2["access"]) if ec2 is not None else str(data.get("id") or new_id())
    if s.get(Credential, cred_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store credential - Duplicate ID, {cred_id}.")
    row = Credential(
        id=cred_id, user_id=data["user_id"], project_id=data.get("project_id"), type=data["type"],
        encrypted_blob=keys.encrypt(blob.encode("utf-8")), key_hash=key_hash, extra={},
    )
    s.add(row)
    s.flush()
    return to_dict(keys, row)


def get_row(s: Session, cred_id: str) -> Credential:
    row = s.get(Credential, cred_id)
    if row is None:
        raise NotFound(f"Could not find credential: {cred_id}.")
    return row


def get(s: Session, keys: KeyRepository, cred_id: str) -> dict[str, Any]:
    return to_dict(keys, get_row(s, cred_id))


def list_credentials(
    s: Session, keys: KeyRepository, user_id: str | None = None, type_: str | None = None
) -> list[dict[str, Any]]:
    query = select(Credential)
    if user_id is not None:
        query = query.where(Credential.user_id == user_id)
    if type_ is not None:
        query = query.where(Credential.type == type_)
    return [to_dict(keys, r) for r in s.scalars(query.order_by(Credential.id))]


def update(s: Session, keys: KeyRepository, key_hash: str, cred_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    row = get_row(s, cred_id)
    blob = changes["blob"] if "blob" in changes else _blob_of(keys, row)
    type_ = changes.get("type", row.type)
    project_id = changes.get("project_id", row.project_id)
    _check_ec2(type_, project_id, blob)
    row.type = type_
    row.project_id = project_id
    row.user_id = changes.get("user_id", row.user_id)
    if "blob" in changes:
        row.encrypted_blob = keys.encrypt(blob.encode("utf-8"))
        row.key_hash = key_hash
    s.flush()
    return to_dict(keys, row)


def delete(s: Session, cred_id: str) -> None:
    s.delete(get_row(s, cred_id))


def delete_for_user(s: Session, user_id: str) -> None:
    for row in s.scalars(select(Credential).where(Credential.user_id == user_id)):
        s.delete(row)


# --- OS-EC2 ----------------------------------------------------------------------------------


def ec2_doc(keys: KeyRepository, row: Credential) -> dict[str, Any]:
    blob = ec2_access(_blob_of(keys, row))
    return {
        "user_id": row.user_id,
        "tenant_id": row.project_id,
        "access": blob["access"],
        "secret": blob.get("secret"),
        "trust_id": blob.get("trust_id"),
    }


def ec2_create(
    s: Session, keys: KeyRepository, key_hash: str, user_id: str, project_id: str, trust_id: str | None
) -> dict[str, Any]:
    projects.get_project(s, project_id)
    access = secrets.token_hex(16)
    blob = {"access": access, "secret": secrets.token_hex(16), "trust_id": trust_id}
    row = Credential(
        id=ec2_id(access), user_id=user_id, project_id=project_id, type=EC2,
        encrypted_blob=keys.encrypt(json.dumps(blob).encode("utf-8")), key_hash=key_hash, extra={},
    )
    s.add(row)
    s.flush()
    return ec2_doc(keys, row)


def ec2_row(s: Session, user_id: str, access: str) -> Credential:
    row = s.get(Credential, ec2_id(access))
    if row is None or row.type != EC2 or row.user_id != user_id:
        raise NotFound(f"Could not find credential: {access}.")
    return row


def ec2_get(s: Session, keys: KeyRepository, user_id: str, access: str) -> dict[str, Any]:
    return ec2_doc(keys, ec2_row(s, user_id, access))


def ec2_list(s: Session, keys: KeyRepository, user_id: str) -> list[dict[str, Any]]:
    rows = s.scalars(select(Credential).where(Credential.user_id == user_id, Credential.type == EC2)
                     .order_by(Credential.id))
    return [ec2_doc(keys, r) for r in rows]
