"""What a token carries, packed with msgpack and sealed with Fernet (AES-128-CBC + HMAC-SHA256).

Tokens are self-contained: validating one needs the keys, not a token table. Ids that are
32 hex digits travel as 16 raw bytes to keep tokens short (~200 characters).
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgpack

FORMAT_VERSION = 1
# New methods go at the end: a token keeps its methods as a bitmask of these positions.
METHODS = ("password", "token", "application_credential", "totp", "mapped", "oauth1", "external", "ec2credential")


def new_audit_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(16)).decode("ascii").rstrip("=")


def _pack_id(value: str | None) -> bytes | str | None:
    if value is not None and len(value) == 32:
        try:
            packed = uuid.UUID(hex=value)
        except ValueError:
            return value
        # Only canonical (lower-case) hex compacts: anything else must come back verbatim.
        if packed.hex == value:
            return packed.bytes
    return value


def _unpack_id(value: bytes | str | None) -> str | None:
    if isinstance(value, bytes):
        return uuid.UUID(bytes=value).hex
    return value


def _pack_audit(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "==")


def _unpack_audit(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode("ascii").rstrip("=")


@dataclass
class TokenPayload:
    user_id: str
    methods: list[str]
    expires_at: datetime  # naive UTC
    issued_at: datetime  # naive UTC
    audit_ids: list[str] = field(default_factory=list)
    project_id: str | None = None
    domain_id: str | None = None
    system: str | None = None
    trust_id: str | None = None
    app_cred_id: str | None = None
    access_token_id: str | None = None  # OS-OAUTH1: the access token the token was issued from

    def pack(self) -> bytes:
        mask = sum(1 << METHODS.index(m) for m in self.methods if m in METHODS)
        packed: bytes = msgpack.packb(
            [
                FORMAT_VERSION,
                _pack_id(self.user_id),
                mask,
                _pack_id(self.project_id),
                _pack_id(self.domain_id),
                self.system,
                self.expires_at.replace(tzinfo=UTC).timestamp(),
                self.issued_at.replace(tzinfo=UTC).timestamp(),
                [_pack_audit(a) for a in self.audit_ids],
                _pack_id(self.trust_id),
                _pack_id(self.app_cred_id),
                # Appended only when set: tokens without it keep the shorter, older layout.
                *([_pack_id(self.access_token_id)] if self.access_token_id else []),
            ],
            use_bin_type=True,
        )
        return packed

    @classmethod
    def unpack(cls, data: bytes) -> TokenPayload:
        fields = msgpack.unpackb(data, raw=False)
        if not isinstance(fields, list) or not fields or fields[0] != FORMAT_VERSION:
            raise ValueError("unknown token format")
        _, user, mask, project, domain, system, expires, issued, audits, trust, app_cred, *rest = fields
        return cls(
            user_id=_unpack_id(user) or "",
            methods=[m for i, m in enumerate(METHODS) if mask & (1 << i)],
            expires_at=datetime.fromtimestamp(expires, UTC).replace(tzinfo=None),
            issued_at=datetime.fromtimestamp(issued, UTC).replace(tzinfo=None),
            audit_ids=[_unpack_audit(a) for a in audits],
            project_id=_unpack_id(project),
            domain_id=_unpack_id(domain),
            system=system,
            trust_id=_unpack_id(trust),
            app_cred_id=_unpack_id(app_cred),
            access_token_id=_unpack_id(rest[0]) if rest else None,
        )
