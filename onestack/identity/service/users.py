"""Users, their passwords and the security-compliance rules around them."""

from __future__ import annotations

from typing import Any

import bcrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.api.faults import NotFound
from onestack.core.ids import isotime
from onestack.identity.models import Password, User

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
