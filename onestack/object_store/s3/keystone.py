"""Swift's s3token: the access key, string to sign and signature go to identity's ``/v3/s3tokens``,
which answers with a token document for the credential's project (or 401)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import httpx

from onestack.core.auth import AuthContext, context_from_token_body
from onestack.object_store.s3.auth import Signed
from onestack.object_store.s3.errors import S3Error

if TYPE_CHECKING:
    from onestack.client.session import ServiceSession

log = logging.getLogger("onestack.object_store.s3")


class CredentialChecker(Protocol):
    async def __call__(self, signed: Signed) -> AuthContext: ...


class S3TokenChecker:
    """``state.ec2_lookup``: asks identity (in-process when it runs here, else over HTTP)."""

    def __init__(self, session: Callable[[], ServiceSession]) -> None:
        # A callable: the process's session exists only once its services are assembled.
        self._session = session

    async def __call__(self, signed: Signed) -> AuthContext:
        session = self._session()
        body = {"credentials": {"access": signed.access, "signature": signed.signature,
                                "token": base64.urlsafe_b64encode(signed.string_to_sign).decode("ascii")}}
        try:
            resp = await session.http.post(f"{session.identity_url}/v3/s3tokens?nocatalog", json=body)
        except httpx.HTTPError as exc:
            log.warning("identity's s3tokens is unreachable: %s", exc)
            raise S3Error("ServiceUnavailable") from None
        if resp.status_code == 401:
            message = ""
            try:
                message = str(resp.json()["error"]["message"])
            except (ValueError, KeyError, TypeError):
                pass
            if "access key not found" in message:
                raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=signed.access)
            raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=signed.access,
                          StringToSign=signed.string_to_sign.decode("utf-8", "replace"),
                          SignatureProvided=signed.signature)
        if resp.status_code >= 400:
            log.warning("identity's s3tokens answered %s: %s", resp.status_code, resp.text[:200])
            raise S3Error("AccessDenied" if resp.status_code < 500 else "ServiceUnavailable")
        token = resp.headers.get("x-subject-token", "")
        return context_from_token_body(token, resp.json())
