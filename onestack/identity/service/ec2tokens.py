"""EC2 and S3 signatures checked against a stored EC2 credential, and the token they earn.

Keystone's ``/v3/ec2tokens`` and ``/v3/s3tokens``: a front door that received a request signed
with an access key (the EC2 API, Swift's s3api) sends what was signed and the signature; identity
recomputes the signature with the credential's secret (the secret never travels) and, when they
match, issues a token scoped to the credential's project (or its trust) with the method
``ec2credential``.

s3tokens gets the string to sign itself (base64): SigV2 (HMAC-SHA1, base64) or SigV4 (the
``AWS4-HMAC-SHA256`` string, HMAC-SHA256 with the key derived from the scope). ec2tokens gets the
request's parts (verb, host, path, params, headers, body hash) and builds the string itself:
signature version 2 (query parameters) or 4 (``Authorization`` header or ``X-Amz-*`` parameters).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from cryptography.fernet import InvalidToken
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Unauthorized
from onestack.core.ids import parse_isotime, utcnow
from onestack.identity.models import Credential, Project, User
from onestack.identity.service import credentials, tokens
from onestack.identity.state import Identity

S3_SERVICES = (b"s3", b"iam", b"sts")


def _hmac(key: bytes, msg: bytes, digest: Any = hashlib.sha256) -> bytes:
    return hmac.new(key, msg, digest).digest()


def v4_signing_key(secret: str, date: bytes, region: bytes, service: bytes) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, b"aws4_request")


def s3_signature(string_to_sign: bytes, secret: str) -> str:
    """What the client must have sent for ``string_to_sign`` (SigV2 base64, SigV4 hex)."""
    if not string_to_sign.startswith(b"AWS4"):
        return base64.b64encode(_hmac(secret.encode(), string_to_sign, hashlib.sha1)).decode()
    parts = string_to_sign.split(b"\n")
    if len(parts) != 4 or parts[0] != b"AWS4-HMAC-SHA256":
        raise Unauthorized("Invalid EC2 signature.")
    scope = parts[2].split(b"/")
    if len(scope) != 4 or scope[3] != b"aws4_request" or scope[2] not in S3_SERVICES:
        raise Unauthorized("Invalid EC2 signature.")
    key = v4_signing_key(secret, scope[0], scope[1], scope[2])
    return hmac.new(key, string_to_sign, hashlib.sha256).hexdigest()


def _quote(value: str) -> str:
    return quote(value, safe="-_.~")


def _ec2_v2(creds: dict[str, Any], secret: str) -> str:
    params = {str(k): str(v) for k, v in (creds.get("params") or {}).items() if k != "Signature"}
    digest = hashlib.sha256 if params.get("SignatureMethod") == "HmacSHA256" else hashlib.sha1
    query = "&".join(f"{quote(k, safe='')}={quote(params[k], safe='-_~')}" for k in sorted(params))
    text = f"{str(creds.get('verb', '')).upper()}\n{creds.get('host', '')}\n{creds.get('path', '')}\n{query}"
    return base64.b64encode(_hmac(secret.encode(), text.encode(), digest)).decode()


def _auth_fields(header: str) -> dict[str, str]:
    """``AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=h1;h2, Signature=s`` → its fields."""
    body = header.split(" ", 1)[1] if " " in header else ""
    found = {}
    for item in body.split(","):
        key, _, value = item.strip().partition("=")
        found[key] = value
    return found


def _ec2_v4(creds: dict[str, Any], secret: str) -> str:
    params = {str(k): str(v) for k, v in (creds.get("params") or {}).items()}
    headers = {str(k).lower().strip(): str(v).strip() for k, v in (creds.get("headers") or {}).items()}
    if "X-Amz-Algorithm" in params:
        credential, signed, date = params.get("X-Amz-Credential", ""), params.get("X-Amz-SignedHeaders", ""), \
            params.get("X-Amz-Date", "")
    else:
        fields = _auth_fields(headers.get("authorization", ""))
        credential, signed, date = fields.get("Credential", ""), fields.get("SignedHeaders", ""), \
            headers.get("x-amz-date", "")
    scope = credential.split("/")
    if len(scope) != 5 or not date.startswith(scope[1]):
        raise Unauthorized("Invalid EC2 signature.")
    verb = str(creds.get("verb", "")).upper()
    query = "" if verb == "POST" else "&".join(
        f"{_quote(k)}={_quote(params[k])}" for k in sorted(params) if k != "X-Amz-Signature")
    canonical_headers = "".join(f"{h}:{headers[h]}\n" for h in signed.split(";") if h in headers)
    request = "\n".join((verb, str(creds.get("path", "")), query, canonical_headers, signed,
                         str(creds.get("body_hash", ""))))
    text = "\n".join(("AWS4-HMAC-SHA256", date, "/".join(scope[1:]),
                      hashlib.sha256(request.encode()).hexdigest()))
    key = v4_signing_key(secret, scope[1].encode(), scope[2].encode(), scope[3].encode())
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def ec2_signature(creds: dict[str, Any], secret: str) -> str:
    """The signature of an EC2 request described by ``creds`` (keystoneclient's Ec2Signer)."""
    params = creds.get("params") or {}
    headers = {str(k).lower(): str(v) for k, v in (creds.get("headers") or {}).items()}
    if not isinstance(params, dict):
        raise BadRequest("Invalid input for field 'credentials.params': expected an object")
    if "X-Amz-Algorithm" in params or headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
        return _ec2_v4(creds, secret)
    if str(params.get("SignatureVersion")) == "2":
        return _ec2_v2(creds, secret)
    raise Unauthorized("Invalid EC2 signature.")  # versions 0 and 1 are insecure: not offered


def _credentials_of(body: Any) -> dict[str, Any]:
    doc = body.get("credentials", body.get("ec2Credentials")) if isinstance(body, dict) else None
    if not isinstance(doc, dict):
        raise BadRequest("Invalid input for field 'credentials': 'credentials' is a required property")
    if not isinstance(doc.get("access"), str) or not doc["access"]:
        raise Unauthorized("EC2 signature not supplied.")
    if not isinstance(doc.get("signature"), str) or not doc["signature"]:
        raise Unauthorized("EC2 signature not supplied.")
    return doc


def _lookup(s: Session, ident: Identity, access: str) -> dict[str, Any]:
    row = s.get(Credential, credentials.ec2_id(access))
    if row is None or row.type != credentials.EC2:
        raise Unauthorized("EC2 access key not found.")
    try:
        blob = json.loads(ident.credential_keys.decrypt(row.encrypted_blob).decode("utf-8"))
    except (InvalidToken, ValueError):
        raise Unauthorized("EC2 access key not found.") from None  # sealed by a rotated-away key
    user = s.get(User, row.user_id)
    project = s.get(Project, row.project_id) if row.project_id else None
    if user is None or project is None or not project.enabled:
        raise Unauthorized("EC2 access key not found.")
    return {"user_id": row.user_id, "project_id": row.project_id, "secret": str(blob.get("secret") or ""),
            "trust_id": blob.get("trust_id")}


@dataclass(frozen=True)
class Proven:
    """What an access key proved once (``Identity.ec2_cache``): its secret, and the token it earned.

    Lives until any identity write (here, or another process's within a second: ``Identity.fresh``)
    or ``identity.cache_ttl``; a deleted credential, a disabled user or project, a revoked token
    or a role change is a write. The secret stays in identity, which holds it anyway."""

    secret: str
    token: str
    doc: dict[str, Any]
    expires_at: datetime  # the token's
    keys: tuple[int, int]  # the token and credential key generations it was made under


def _key_generations(ident: Identity) -> tuple[int, int]:
    ident.token_keys.fernet()  # notices rotated or pruned keys on disk (a stat)
    ident.credential_keys.fernet()
    return ident.token_keys.generation, ident.credential_keys.generation


def _cached(ident: Identity, key: str, keys: tuple[int, int]) -> Proven | None:
    hit: Proven | None = ident.ec2_cache.get(key)
    # A token handed out must stay usable a while: never one within a cache lifetime of its end.
    margin = timedelta(seconds=max(60.0, ident.config.identity.cache_ttl))
    if hit is None or hit.keys != keys or hit.expires_at - utcnow() < margin:
        return None
    return hit


def _expected(kind: str, creds: dict[str, Any], secret: str) -> str:
    if kind == "ec2":
        return ec2_signature(creds, secret)
    token = creds.get("token")
    try:
        string_to_sign = base64.urlsafe_b64decode(str(token or "").encode())
    except (binascii.Error, ValueError):
        raise Unauthorized("Invalid EC2 signature.") from None
    if not token:
        raise Unauthorized("EC2 signature not supplied.")
    return s3_signature(string_to_sign, secret)


async def authenticate(ident: Identity, body: Any, kind: str, *,
                       include_catalog: bool = True) -> tuple[str, dict[str, Any]]:
    """Check the signature in ``body`` (``kind`` "s3" or "ec2"); returns (token, document).

    The signature is recomputed on every call; what it is checked against (the secret, and the
    token it earns) comes from ``Identity.ec2_cache`` while no identity write has happened."""
    creds = _credentials_of(body)
    await ident.fresh()  # another identity process's writes drop our caches too
    keys = _key_generations(ident)
    cache_key = f"{int(include_catalog)}:{creds['access']}"
    hit = _cached(ident, cache_key, keys)
    revision = ident.revision  # read before the reads: a write committed meanwhile is not cached
    found = None if hit else await ident.db.read(_lookup, ident, creds["access"])
    secret = hit.secret if hit else str(found["secret"]) if found else ""
    expected = _expected(kind, creds, secret)
    if not secret or not hmac.compare_digest(expected.encode(), creds["signature"].encode()):
        raise Unauthorized("Credential signature mismatch")
    if hit:
        return hit.token, hit.doc
    assert found is not None
    who = tokens.Authenticated(user_id=found["user_id"], methods=["ec2credential"])
    scope = {"OS-TRUST:trust": {"id": found["trust_id"]}} if found["trust_id"] else \
        {"project": {"id": found["project_id"]}}

    def usable(s: Session) -> None:
        user = s.get(User, found["user_id"])
        if user is None:
            raise Unauthorized()
        tokens._check_user_usable(s, user)

    await ident.db.read(usable)
    token, doc = await tokens.issue_for(ident, who, scope, include_catalog=include_catalog)
    # Trust-scoped issues are writes (a trust's remaining uses): always through the database.
    if not found["trust_id"] and revision == ident.revision:
        ident.ec2_cache.put(cache_key, Proven(secret, token, doc, parse_isotime(doc["expires_at"]), keys))
    return token, doc
