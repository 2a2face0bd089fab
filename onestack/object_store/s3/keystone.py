"""Swift's s3token: the access key, string to sign and signature go to identity's ``/v3/s3tokens``,
which answers with a token document for the credential's project (or 401).

When identity runs in this process the same check is a direct call (no HTTP, JSON or ASGI on
every S3 request); identity caches what an access key proved until its next write, either way
(identity/service/ec2tokens.py)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from onestack.core.api.faults import ApiError
from onestack.core.auth import AuthContext, context_from_token_body
from onestack.object_store.s3.auth import Signed
from onestack.object_store.s3.errors import S3Error

if TYPE_CHECKING:
    from onestack.client.session import ServiceSession

log = logging.getLogger("onestack.object_store.s3")


class CredentialChecker(Protocol):
    async def __call__(self, signed: Signed) -> AuthContext: ...


class LocalS3Tokens(Protocol):
    """Identity in this process (identity/app.py ``IdentityHandles``)."""

    async def s3_token(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]: ...


def _refused(status: int, message: str, signed: Signed) -> S3Error:
    """S3's error for identity's refusal of a signature (401) or of the request."""
    if status == 401:
        if "access key not found" in message:
            return S3Error("InvalidAccessKeyId", AWSAccessKeyId=signed.access)
        return S3Error("SignatureDoesNotMatch", AWSAccessKeyId=signed.access,
                       StringToSign=signed.string_to_sign.decode("utf-8", "replace"),
                       SignatureProvided=signed.signature)
    log.warning("identity's s3tokens answered %s: %s", status, message[:200])
    return S3Error("AccessDenied" if status < 500 else "ServiceUnavailable")


class S3TokenChecker:
    """``state.ec2_lookup``: asks identity (in-process when it runs here, else over HTTP)."""

    def __init__(self, session: Callable[[], ServiceSession],
                 local: Callable[[], LocalS3Tokens | None] = lambda: None) -> None:
        # Callables: the process's session and services exist only once they are all assembled.
        self._session = session
        self._local = local

    async def __call__(self, signed: Signed) -> AuthContext:
        body = {"credentials": {"access": signed.access, "signature": signed.signature,
                                "token": base64.urlsafe_b64encode(signed.string_to_sign).decode("ascii")}}
        local = self._local()
        if local is not None:
            try:
                token, doc = await local.s3_token(body)
            except ApiError as err:
                raise _refused(err.status, err.message, signed) from None
            return context_from_token_body(token, {"token": doc})
        session = self._session()
        try:
            resp = await session.http.post(f"{session.identity_url}/v3/s3tokens?nocatalog", json=body)
        except httpx.HTTPError as exc:
            log.warning("identity's s3tokens is unreachable: %s", exc)
            raise S3Error("ServiceUnavailable") from None
        if resp.status_code >= 400:
            message = resp.text
            if resp.status_code == 401:
                try:
                    message = str(resp.json()["error"]["message"])
                except (ValueError, KeyError, TypeError):
                    message = ""
            raise _refused(resp.status_code, message, signed)
        token = resp.headers.get("x-subject-token", "")
        return context_from_token_body(token, resp.json())
