"""Swift's tempurl: a URL signed with an account's or container's secret key grants one method on
one object (or on every object under a prefix) until it expires — no token needed.

Query: ``temp_url_sig`` (hex HMAC-SHA1/256/512, or ``<digest>:<base64>``), ``temp_url_expires``
(Unix seconds or ISO 8601 ``2030-01-01T00:00:00Z``), optional ``temp_url_prefix``,
``temp_url_ip_range``, ``filename`` and ``inline``. The signed text is
``[ip=<range>\\n]<METHOD>\\n<expires>\\n<path>`` where path is ``/v1/<account>/<container>/<object>``
or ``prefix:/v1/<account>/<container>/<prefix>`` (each also with the ``/object-store`` mount
prefix in front, as clients sign the URL's path); the keys are ``X-Account-Meta-Temp-URL-Key(-2)``
(the URL may reach the whole account) and ``X-Container-Meta-Temp-URL-Key(-2)`` (only that
container). A HEAD passes with a signature for HEAD, GET, POST or PUT. Anything wrong — a bad
signature, an expired one, no key — is 401 "Temp URL invalid".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from calendar import timegm
from email.utils import formatdate
from ipaddress import ip_address, ip_network
from posixpath import basename
from urllib.parse import quote

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import (
    Authorizer,
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
)
from onestack.object_store.state import ObjectStoreState

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
DIGESTS = ("sha1", "sha256", "sha512")
HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
ISO8601 = "%Y-%m-%dT%H:%M:%SZ"
INCOMING_REMOVE = ("x-timestamp", "x-open-expired")
DISALLOWED_INCOMING = ("x-object-manifest", "x-symlink-target")
OUTGOING_REMOVE_PREFIX = "x-object-meta-"
OUTGOING_ALLOW_PREFIX = "x-object-meta-public-"
ACCOUNT_SCOPE, CONTAINER_SCOPE = "account", "container"
KEY_NAMES = ("temp-url-key", "temp-url-key-2")


def get_hmac(method: str, path: str, expires: int | str, key: str | bytes, digest: str = "sha256",
             ip_range: str | None = None) -> str:
    """The hex signature of a temp URL (what ``swift tempurl`` computes)."""
    message = f"{method}\n{expires}\n{path}"
    if ip_range:
        message = f"ip={ip_range}\n{message}"
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.new(raw_key, message.encode(), getattr(hashlib, digest)).hexdigest()


def digest_and_hex(sig: str) -> tuple[str, str]:
    """(algorithm, hex digest) of ``<hex>`` or ``<algorithm>:<base64>``; ValueError when neither."""
    if ":" in sig:
        algo, value = sig.split(":", 1)
        if ("-" in value or "_" in value) and not ("+" in value or "/" in value):
            value = value.replace("-", "+").replace("_", "/")  # URL-safe base64 too
        try:
            raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("bad base64") from exc
        return algo, raw.hex()
    bytes.fromhex(sig)  # ValueError when not hex
    found = HEX_LENGTHS.get(len(sig))
    if found is None:
        raise ValueError("Bad digest length")
    return found, sig.lower()


def normalize_expires(value: str | None, now: float | None = None) -> int | None:
    """The expiry as Unix seconds; 0 when unreadable or passed; None when absent."""
    if value is None:
        return None
    try:
        expires = int(value)
    except ValueError:
        try:
            expires = timegm(time.strptime(value, ISO8601))
        except ValueError:
            expires = 0
    return 0 if expires < (time.time() if now is None else now) else expires


def disposition(kind: str, filename: str) -> str:
    return f"{kind}; filename=\"{quote(filename, safe=' /')}\"; filename*=UTF-8''{quote(filename)}"


def invalid(req: SwiftRequest) -> SwiftError:
    detail = None if req.method == "HEAD" else "401 Unauthorized: Temp URL invalid\n"
    return SwiftError(401, detail, headers={"www-authenticate": 'Swift realm="unknown"'})


def keys_of(meta: dict[str, str], prefix: str) -> list[str]:
    return [meta[f"{prefix}{name}"] for name in KEY_NAMES if meta.get(f"{prefix}{name}")]


def factory(state: ObjectStoreState) -> Middleware | None:
    methods = tuple(getattr(state.config, "tempurl_methods", " ".join(METHODS)).split())
    digests = tuple(getattr(state.config, "tempurl_digests", " ".join(DIGESTS)).split())
    state.info.register("tempurl", methods=list(methods), allowed_digests=sorted(digests),
                        incoming_remove_headers=list(INCOMING_REMOVE), incoming_allow_headers=[],
                        outgoing_remove_headers=[OUTGOING_REMOVE_PREFIX + "*"],
                        outgoing_allow_headers=[OUTGOING_ALLOW_PREFIX + "*"])

    async def scoped_keys(account: str, container: str) -> list[tuple[str, str]]:
        try:
            if container:  # the object requests' infos: one read for both, or the info cache
                acct, cont = await state.containers.object_infos(account, container)
            else:
                acct, cont = await state.containers.account_info(account), None
        except NotImplementedError:
            return []
        return ([(k, ACCOUNT_SCOPE) for k in keys_of(acct.meta if acct else {}, "x-account-meta-")]
                + [(k, CONTAINER_SCOPE) for k in keys_of(cont.meta if cont else {}, "x-container-meta-")])

    def same_place(account: str, container: str | None) -> Authorizer:
        """What the signed URL may reach: the account, or only its container."""
        async def check(req: SwiftRequest) -> None:
            try:
                _version, acct, cont, _obj = req.parts
            except ValueError:
                raise SwiftError(401) from None
            if acct != account or (container is not None and cont != container):
                raise SwiftError(401)
        return check

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            if req.method == "OPTIONS" or req.ctx.source or req.ctx.pre_authed:
                return await app(req)
            sig = req.query.get("temp_url_sig")
            raw_expires = req.query.get("temp_url_expires")
            expires = normalize_expires(raw_expires)
            if sig is None and expires is None:
                return await app(req)
            if not sig or not expires:
                raise invalid(req)
            try:
                algo, sig_hex = digest_and_hex(sig)
            except ValueError:
                raise invalid(req) from None
            if algo not in digests:
                raise invalid(req)
            prefix = req.query.get("temp_url_prefix")
            ip_range = req.query.get("temp_url_ip_range")
            if req.method not in methods:
                raise invalid(req)
            try:
                version, account, container, obj = req.parts
            except ValueError:
                raise invalid(req) from None
            container_root = req.method in ("GET", "HEAD") and prefix == ""
            if version != "v1" or not account or not container or \
                    (not container_root and not (obj or "").strip("/")):
                raise invalid(req)
            obj = obj or ""
            if ip_range:
                try:
                    if ip_address(req.ctx.remote_addr) not in ip_network(ip_range):
                        raise invalid(req)
                except ValueError:
                    raise invalid(req) from None
            keys = await scoped_keys(account, container)
            if not keys:
                raise invalid(req)
            if prefix is not None and not obj.startswith(prefix):
                raise invalid(req)
            tail = f"/v1/{account}/{container}/{obj if prefix is None else prefix}"
            # Clients sign the path of the URL they were given, which here starts with the
            # service's mount prefix; Swift's own form (from /v1) is taken too.
            paths = [tail] + ([req.script_name + tail] if req.script_name else [])
            if prefix is not None:
                paths = ["prefix:" + p for p in paths]
            signed_methods = ("HEAD", "GET", "POST", "PUT") if req.method == "HEAD" else (req.method,)
            scope = next((scope for method in signed_methods for path in paths for key, scope in keys
                          if hmac.compare_digest(sig_hex, get_hmac(method, path, expires, key, algo, ip_range))),
                         None)
            if scope is None:
                raise invalid(req)
            if req.method not in ("GET", "HEAD"):
                for name in DISALLOWED_INCOMING:
                    if name in req.headers:
                        raise SwiftError(400, f"The header {name.title()!r} is not allowed in this tempurl")
            for name in INCOMING_REMOVE:
                req.headers.pop(name, None)
            # Temp URL requests carry no identity: whatever token came along is not used.
            req.ctx.auth = None
            req.ctx.authorize = same_place(account, container if scope == CONTAINER_SCOPE else None)
            req.ctx.signed_by = account
            filename = req.query.get("filename")
            inline = "inline" in req.query
            kept = {k: v for k, v in req.query.items()
                    if k in ("temp_url_sig", "temp_url_expires", "temp_url_prefix", "filename", "inline")}
            req.query = kept
            resp = await app(req)
            for name in list(resp.headers):
                if name.startswith(OUTGOING_REMOVE_PREFIX) and not name.startswith(OUTGOING_ALLOW_PREFIX):
                    del resp.headers[name]
            if req.method in ("GET", "HEAD") and resp.ok:
                if obj == "" and resp.headers.get("x-backend-content-generator") != "staticweb":
                    await resp.close()
                    raise invalid(req)  # a container's root only for static web's index
                add_disposition(req, resp, obj, filename, inline, expires)
            return resp

        return handle

    return middleware


def add_disposition(req: SwiftRequest, resp: SwiftResponse, obj: str, filename: str | None, inline: bool,
                    expires: int) -> None:
    """Content-Disposition as Swift sets it (attachment by default) and the URL's expiry."""
    headers: Headers = resp.headers
    if headers.get("x-backend-content-generator") == "staticweb":
        inline = True
    existing = headers.pop("content-disposition", None)
    if inline:
        value = disposition("inline", filename) if filename else "inline"
    elif filename:
        value = disposition("attachment", filename)
    elif existing:
        value = existing
    else:
        value = disposition("attachment", basename(req.path.rstrip("/")))
    headers["content-disposition"] = value.replace("\n", "%0A")
    try:
        headers["expires"] = formatdate(expires, usegmt=True)
    except (OverflowError, OSError, ValueError):
        pass  # an expiry past what a date can say: no Expires header rather than a failure
