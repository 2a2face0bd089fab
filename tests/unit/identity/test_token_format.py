"""The token payload: msgpack packing, id compaction, and sealing with the key repository."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import msgpack
import pytest

from onestack.core.ids import new_id
from onestack.identity.keys import InvalidToken, KeyRepository
from onestack.identity.token_format import FORMAT_VERSION, METHODS, TokenPayload, new_audit_id

ISSUED = datetime(2026, 3, 4, 5, 6, 7, 891011)
EXPIRES = ISSUED + timedelta(hours=1)


def payload(**kw: object) -> TokenPayload:
    fields: dict[str, object] = {
        "user_id": new_id(),
        "methods": ["password"],
        "expires_at": EXPIRES,
        "issued_at": ISSUED,
        "audit_ids": [new_audit_id()],
    }
    fields.update(kw)
    return TokenPayload(**fields)  # type: ignore[arg-type]


SCOPES: dict[str, dict[str, object]] = {
    "unscoped": {},
    "project": {"project_id": new_id()},
    "domain": {"domain_id": new_id()},
    "default-domain": {"domain_id": "default"},
    "system": {"system": "all"},
    "trust": {"project_id": new_id(), "trust_id": new_id()},
    "app-cred": {"project_id": new_id(), "app_cred_id": new_id(), "methods": ["application_credential"]},
    "oauth1": {"project_id": new_id(), "access_token_id": new_id(), "methods": ["oauth1"]},
    "rescoped": {"project_id": new_id(), "methods": ["password", "token"],
                 "audit_ids": [new_audit_id(), new_audit_id()]},
}


@pytest.mark.parametrize("kind", sorted(SCOPES))
def test_round_trip_every_scope(kind: str) -> None:
    original = payload(**SCOPES[kind])
    restored = TokenPayload.unpack(original.pack())
    assert restored == original


def test_every_method_round_trips() -> None:
    original = payload(methods=list(METHODS))
    assert TokenPayload.unpack(original.pack()).methods == list(METHODS)


def test_hex_ids_travel_as_16_bytes() -> None:
    user = new_id()
    fields = msgpack.unpackb(payload(user_id=user).pack(), raw=False)
    assert fields[0] == FORMAT_VERSION
    assert fields[1] == bytes.fromhex(user)


@pytest.mark.parametrize("odd_id", [
    "default",  # Keystone's default domain id is not hex
    "x" * 32,  # 32 characters but not hex
    "0123456789ABCDEF0123456789ABCDEF",  # hex, but upper case: must come back unchanged
    "01234567-89ab-cdef-0123-456789abcdef",  # dashed uuid
    "a" * 64,  # e.g. an id from an external identity store
])
def test_ids_that_are_not_compact_hex_round_trip_verbatim(odd_id: str) -> None:
    original = payload(user_id=odd_id, project_id=odd_id, trust_id=odd_id)
    restored = TokenPayload.unpack(original.pack())
    assert (restored.user_id, restored.project_id, restored.trust_id) == (odd_id, odd_id, odd_id)


def test_audit_ids_round_trip_and_look_like_keystones() -> None:
    audit = new_audit_id()
    assert len(audit) == 22 and "=" not in audit
    assert TokenPayload.unpack(payload(audit_ids=[audit]).pack()).audit_ids == [audit]


def test_unknown_format_version_is_rejected() -> None:
    fields = msgpack.unpackb(payload().pack(), raw=False)
    fields[0] = FORMAT_VERSION + 1
    with pytest.raises(ValueError, match="unknown token format"):
        TokenPayload.unpack(msgpack.packb(fields, use_bin_type=True))


def test_truncated_payload_is_rejected() -> None:
    with pytest.raises(ValueError):
        TokenPayload.unpack(msgpack.packb([FORMAT_VERSION, b"x"], use_bin_type=True))


@pytest.fixture
def keys(tmp_path: Path) -> KeyRepository:
    repo = KeyRepository(tmp_path / "fernet-keys", max_active_keys=3)
    repo.ensure()
    return repo


def test_sealed_token_round_trips(keys: KeyRepository) -> None:
    original = payload(project_id=new_id())
    token = keys.encrypt(original.pack())
    assert token.startswith("gAAAAA")  # Fernet version byte, as Keystone's tokens
    assert TokenPayload.unpack(keys.decrypt(token)) == original


def test_typical_token_is_shorter_than_255_characters(keys: KeyRepository) -> None:
    # A rescoped project token carries two audit ids: the largest common case.
    token = keys.encrypt(payload(**SCOPES["rescoped"]).pack())
    assert len(token) < 255, len(token)
    trust_token = keys.encrypt(payload(**SCOPES["trust"]).pack())
    assert len(trust_token) < 255, len(trust_token)


def _flip(token: str, index: int) -> str:
    swapped = "B" if token[index] != "B" else "C"
    return token[:index] + swapped + token[index + 1:]


@pytest.mark.parametrize("where", [10, 40, 80, -10])
def test_tampered_token_is_rejected(keys: KeyRepository, where: int) -> None:
    token = keys.encrypt(payload(project_id=new_id()).pack())
    index = where % len(token)
    with pytest.raises(InvalidToken):
        keys.decrypt(_flip(token, index))


def test_truncated_and_garbage_tokens_are_rejected(keys: KeyRepository) -> None:
    token = keys.encrypt(payload().pack())
    for bad in (token[:-4], token + "AAAA", "", "not-a-token", "gAAAAA\u00e9\u00e9"):
        with pytest.raises(InvalidToken):
            keys.decrypt(bad)


def test_token_from_another_cloud_is_rejected(keys: KeyRepository, tmp_path: Path) -> None:
    other = KeyRepository(tmp_path / "other-keys")
    other.ensure()
    token = other.encrypt(payload().pack())
    with pytest.raises(InvalidToken):
        keys.decrypt(token)


def test_a_token_without_an_access_token_keeps_the_older_layout() -> None:
    """Tokens sealed before OS-OAUTH1 (eleven fields) still open; only an OAuth1 token has a twelfth."""
    plain = msgpack.unpackb(payload(project_id=new_id()).pack(), raw=False)
    assert len(plain) == 11
    oauth = payload(project_id=new_id(), access_token_id=new_id(), methods=["oauth1"])
    assert len(msgpack.unpackb(oauth.pack(), raw=False)) == 12
    assert TokenPayload.unpack(oauth.pack()).access_token_id == oauth.access_token_id
