"""Key pairs: parsing and fingerprinting public keys, generating new ones, per-user storage."""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.compute.models import KeyPair
from onestack.compute.service import quotas
from onestack.core.api.faults import BadRequest, Conflict, NotFound

INVALID = "Keypair data is invalid: failed to generate fingerprint"

# What the API renders (detached rows, loaded in full: expire_on_commit is off).
KeyPairRow: TypeAlias = KeyPair


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def ssh_fingerprint(public_key: str) -> str:
    """MD5 of the key blob in colon hex, as ``ssh-keygen -l -E md5`` prints it; 400 if not a valid key."""
    text = public_key.strip()
    parts = text.split()
    if len(parts) < 2:
        raise BadRequest(INVALID)
    try:
        serialization.load_ssh_public_key(" ".join(parts[:2]).encode())
        blob = base64.b64decode(parts[1], validate=True)
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - every parse failure is bad input
        raise BadRequest(INVALID) from None
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(pem: str) -> str:
    """SHA-1 of the certificate's DER form in colon hex."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except (ValueError, TypeError):
        raise BadRequest(INVALID) from None
    return _colon_hex(cert.fingerprint(hashes.SHA1()))


def fingerprint(public_key: str, key_type: str) -> str:
    return x509_fingerprint(public_key) if key_type == "x509" else ssh_fingerprint(public_key)


@dataclass(frozen=True)
class Generated:
    private_key: str
    public_key: str


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def generate(key_type: str, user_id: str) -> Generated:
    """A new RSA key: an OpenSSH public key, or (x509) a self-signed certificate for ``user_id``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type != "x509":
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        return Generated(_private_pem(key), public.decode() + " Generated-by-Nova")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id or "onestack")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650)).sign(key, hashes.SHA256()))
    return Generated(_private_pem(key), cert.public_bytes(serialization.Encoding.PEM).decode())


def get_keypair(s: Session, user_id: str, name: str) -> KeyPair:
    keypair = s.scalar(select(KeyPair).where(KeyPair.user_id == user_id, KeyPair.name == name))
    if keypair is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return keypair


def public_key_for_boot(s: Session, user_id: str, name: str) -> str:
    """The public key a boot or rebuild names; Nova's 400 when the caller has no such key pair."""
    try:
        return get_keypair(s, user_id, name).public_key
    except NotFound:
        raise BadRequest("Invalid key_name provided.") from None


def list_keypairs(s: Session, user_id: str, limit: int | None = None, marker: str | None = None) -> list[KeyPair]:
    query = select(KeyPair).where(KeyPair.user_id == user_id).order_by(KeyPair.name.asc(), KeyPair.id.asc())
    if marker is not None:
        if s.scalar(select(KeyPair.id).where(KeyPair.user_id == user_id, KeyPair.name == marker)) is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        query = query.where(KeyPair.name > marker)
    if limit is not None:
        query = query.limit(limit)
    return list(s.scalars(query))


def create_keypair(s: Session, *, user_id: str, project_id: str, name: str, public_key: str,
                   key_type: str) -> KeyPair:
    """Store a key pair (the public half already validated); 409 on a duplicate name, 403 over quota."""
    used = s.scalar(select(func.count()).select_from(KeyPair).where(KeyPair.user_id == user_id)) or 0
    quotas.check_quota(s, project_id, "key_pairs", 1, used, user_id)
    if s.scalar(select(KeyPair.id).where(KeyPair.user_id == user_id, KeyPair.name == name)) is not None:
        raise Conflict(f"Key pair '{name}' already exists.")
    keypair = KeyPair(name=name, user_id=user_id, public_key=public_key, type=key_type,
                      fingerprint=fingerprint(public_key, key_type))
    s.add(keypair)
    s.flush()
    return keypair


def delete_keypair(s: Session, user_id: str, name: str) -> None:
    s.delete(get_keypair(s, user_id, name))
