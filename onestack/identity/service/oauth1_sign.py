"""OS-OAUTH1 signature checks: oauthlib's endpoints over our consumer and token tables.

oauthlib verifies the HMAC-SHA1 (or PLAINTEXT) signature and the protocol parameters; what
it asks of the server (secrets, which keys exist) this validator answers from the database,
as Keystone's ``OAuthValidator`` does. Every function here runs inside a database session.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Mapping
from typing import Any

from oauthlib import common, oauth1
from oauthlib.oauth1.rfc5849 import utils
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Unauthorized
from onestack.identity.models import AccessToken, Consumer, RequestToken

# Keystone's verifier alphabet: letters and digits without the easily confused ones.
VERIFIER_CHARS = "".join(c for c in string.ascii_letters + string.digits if c not in "jiIl1oO0")
_HEX = set("abcdef0123456789")


def _token_generator(*_args: Any) -> str:
    return uuid.uuid4().hex


class _Validator(oauth1.RequestValidator):  # type: ignore[misc]
    """Keystone's answers to oauthlib's questions: ids are 32 hex digits, callbacks are ``oob``."""

    def __init__(self, s: Session) -> None:
        super().__init__()
        self.s = s

    @property
    def enforce_ssl(self) -> bool:
        return False

    @property
    def safe_characters(self) -> set[str]:
        return _HEX

    def _check_token(self, token: str) -> bool:
        return set(token) <= _HEX and len(token) == 32

    def check_client_key(self, client_key: str) -> bool:
        return self._check_token(client_key)

    def check_request_token(self, request_token: str) -> bool:
        return self._check_token(request_token)

    def check_access_token(self, access_token: str) -> bool:
        return self._check_token(access_token)

    def check_nonce(self, nonce: str) -> bool:
        return set(nonce) <= _HEX  # Keystone does not bound its length

    def check_verifier(self, verifier: str) -> bool:
        return len(verifier) == 8 and all(c in VERIFIER_CHARS for c in verifier)

    def get_client_secret(self, client_key: str, request: Any) -> str:
        consumer = self.s.get(Consumer, client_key)
        return consumer.secret if consumer is not None else ""

    def get_request_token_secret(self, client_key: str, token: str, request: Any) -> str:
        row = self.s.get(RequestToken, token)
        return row.request_secret if row is not None else ""

    def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
        row = self.s.get(AccessToken, token)
        return row.access_secret if row is not None else ""

    def get_default_realms(self, client_key: str, request: Any) -> list[str]:
        return []

    def get_realms(self, token: str, request: Any) -> list[str]:
        return []

    def get_redirect_uri(self, token: str, request: Any) -> str:
        return "oob"

    def get_rsa_key(self, client_key: str, request: Any) -> str:
        return ""

    def invalidate_request_token(self, client_key: str, request_token: str, request: Any) -> None:
        pass  # the access token's creation deletes the request token

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return self.s.get(Consumer, client_key) is not None

    def validate_request_token(self, client_key: str, token: str, request: Any) -> bool:
        row = self.s.get(RequestToken, token)
        return row is not None and row.consumer_id == client_key

    def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
        return self.s.get(AccessToken, token) is not None

    def validate_timestamp_and_nonce(self, *_args: Any, **_kwargs: Any) -> bool:
        return True  # as Keystone: oauthlib's ten-minute timestamp window is the only replay bound

    def validate_redirect_uri(self, client_key: str, redirect_uri: str, request: Any) -> bool:
        return True

    def validate_requested_realms(self, client_key: str, realms: Any, request: Any) -> bool:
        return True

    def validate_realms(self, *_args: Any, **_kwargs: Any) -> bool:
        return True

    def validate_verifier(self, client_key: str, token: str, verifier: str, request: Any) -> bool:
        row = self.s.get(RequestToken, token)
        return row is not None and row.verifier == verifier

    def verify_request_token(self, token: str, request: Any) -> bool:
        return isinstance(token, str)

    def verify_realms(self, token: str, realms: Any, request: Any) -> bool:
        return True

    def save_access_token(self, token: Any, request: Any) -> None:
        pass

    def save_request_token(self, token: Any, request: Any) -> None:
        pass

    def save_verifier(self, token: Any, verifier: Any, request: Any) -> None:
        pass


def oauth_params(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``oauth_*`` parameters of the ``Authorization: OAuth …`` header."""
    header = headers.get("authorization")
    if not header:
        raise BadRequest("No Authorization headers found, cannot proceed with OAuth related calls.")
    try:
        return dict(utils.parse_authorization_header(header))
    except ValueError:
        raise BadRequest("Malformed Authorization header: not an OAuth header.") from None


def require(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise BadRequest(f"Expecting to find {name} in request. The server could not comply with the request "
                         "since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
    return value


def _check_outcome(body: str | None, on_empty: str) -> None:
    """oauthlib answers an empty body for a bad signature, an ``error=…`` body for a bad request."""
    if not body:
        raise Unauthorized(on_empty)
    params = dict(common.extract_params(body) or [])
    extra = {k: v for k, v in params.items() if not k.startswith("oauth_")}
    if "error" in extra:
        raise BadRequest(f"Validation failed with errors: {extra['error']}, detail message is: "
                         f"{extra.get('error_description', '')}.")
    if extra:
        raise BadRequest("Unknown parameters found, please provide only oauth parameters.")


def check_request_token_request(s: Session, url: str, headers: Mapping[str, str]) -> None:
    endpoint = oauth1.RequestTokenEndpoint(_Validator(s), token_generator=_token_generator)
    _h, body, _status = endpoint.create_request_token_response(url, http_method="POST", body=None,
                                                               headers=dict(headers))
    _check_outcome(body, "Invalid signature")


def check_access_token_request(s: Session, url: str, headers: Mapping[str, str], request_token: RequestToken,
                               consumer_id: str, verifier: str) -> None:
    endpoint = oauth1.AccessTokenEndpoint(_Validator(s), token_generator=_token_generator)
    try:
        _h, body, _status = endpoint.create_access_token_response(url, http_method="POST", body=None,
                                                                  headers=dict(headers))
    except NotImplementedError:
        # oauthlib wanted a dummy client or request token: the key or the token is not known.
        if s.get(Consumer, consumer_id) is None:
            raise Unauthorized("Provided consumer does not exist.") from None
        raise Unauthorized("Provided consumer key does not match stored consumer key.") from None
    if not body and request_token.verifier != verifier:
        raise Unauthorized("Provided verifier does not match stored verifier")
    _check_outcome(body, "Invalid signature")


def check_protected_request(s: Session, url: str, headers: Mapping[str, str]) -> bool:
    endpoint = oauth1.ResourceEndpoint(_Validator(s), token_generator=_token_generator)
    try:
        valid, _request = endpoint.validate_protected_resource_request(url, http_method="POST", body=None,
                                                                        headers=dict(headers), realms=None)
    except NotImplementedError:
        return False  # an unknown consumer or access token
    return bool(valid)
