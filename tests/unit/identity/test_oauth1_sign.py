"""OS-OAUTH1 signature checks: requests signed by oauthlib's client, as keystoneauth signs them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from oauthlib import oauth1
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Unauthorized
from onestack.identity import models
from onestack.identity.models import AccessToken, Consumer, RequestToken
from onestack.identity.service import oauth1_sign

URL = "http://127.0.0.1:5000/identity/v3/OS-OAUTH1/"
CONSUMER, SECRET = "a" * 32, "b" * 32
REQUEST, REQUEST_SECRET, VERIFIER = "c" * 32, "d" * 32, "ABCDEFGH"
ACCESS, ACCESS_SECRET = "e" * 32, "f" * 32


@pytest.fixture
def s() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Consumer(id=CONSUMER, secret=SECRET, extra={}))
        session.flush()
        session.add(RequestToken(id=REQUEST, request_secret=REQUEST_SECRET, verifier=VERIFIER,
                                 requested_project_id="p", consumer_id=CONSUMER, authorizing_user_id="u"))
        session.add(AccessToken(id=ACCESS, access_secret=ACCESS_SECRET, authorizing_user_id="u", project_id="p",
                                role_ids=[], consumer_id=CONSUMER))
        session.flush()
        yield session


def _headers(url: str, **client: str) -> dict[str, str]:
    _u, headers, _b = oauth1.Client(signature_method=oauth1.SIGNATURE_HMAC, **client).sign(url, http_method="POST")
    return dict(headers)


def test_request_token_signature(s: Session) -> None:
    url = URL + "request_token"
    oauth1_sign.check_request_token_request(s, url, _headers(url, client_key=CONSUMER, client_secret=SECRET,
                                                             callback_uri="oob"))
    with pytest.raises(Unauthorized, match="Invalid signature"):
        oauth1_sign.check_request_token_request(s, url, _headers(url, client_key=CONSUMER, client_secret="x" * 32,
                                                                 callback_uri="oob"))
    # Signed for another URL: the signature does not cover this one.
    with pytest.raises(Unauthorized):
        oauth1_sign.check_request_token_request(s, url, _headers(URL + "elsewhere", client_key=CONSUMER,
                                                                 client_secret=SECRET, callback_uri="oob"))
    # No callback: a protocol error, reported as Keystone reports oauthlib's.
    with pytest.raises(BadRequest, match="Validation failed with errors: invalid_request"):
        oauth1_sign.check_request_token_request(s, url, _headers(url, client_key=CONSUMER, client_secret=SECRET))


def test_access_token_signature_and_verifier(s: Session) -> None:
    url = URL + "access_token"
    req = s.get(RequestToken, REQUEST)
    assert req is not None

    def check(secret: str = REQUEST_SECRET, verifier: str = VERIFIER, consumer: str = CONSUMER) -> None:
        headers = _headers(url, client_key=consumer, client_secret=SECRET, resource_owner_key=REQUEST,
                           resource_owner_secret=secret, verifier=verifier)
        oauth1_sign.check_access_token_request(s, url, headers, req, consumer, verifier)

    check()
    with pytest.raises(Unauthorized, match="verifier does not match"):
        check(verifier="ABCDEFGK")
    with pytest.raises(Unauthorized, match="Invalid signature"):
        check(secret="x" * 32)
    with pytest.raises(Unauthorized, match="consumer does not exist"):
        check(consumer="9" * 32)
    with pytest.raises(BadRequest, match="Invalid verifier format"):
        check(verifier="too-long-a-verifier")


def test_protected_request(s: Session) -> None:
    url = "http://127.0.0.1:5000/identity/v3/auth/tokens"
    good = {"client_key": CONSUMER, "client_secret": SECRET, "resource_owner_key": ACCESS}
    assert oauth1_sign.check_protected_request(s, url, _headers(url, **good, resource_owner_secret=ACCESS_SECRET))
    assert not oauth1_sign.check_protected_request(s, url, _headers(url, **good, resource_owner_secret="x" * 32))
    unknown = dict(good, resource_owner_key="9" * 32)
    assert not oauth1_sign.check_protected_request(s, url, _headers(url, **unknown, resource_owner_secret=ACCESS_SECRET))


def test_oauth_header_parsing() -> None:
    with pytest.raises(BadRequest, match="No Authorization headers"):
        oauth1_sign.oauth_params({})
    with pytest.raises(BadRequest):
        oauth1_sign.oauth_params({"authorization": "Bearer abc"})
    params = oauth1_sign.oauth_params({"authorization": 'OAuth oauth_consumer_key="k", oauth_token="t"'})
    assert params == {"oauth_consumer_key": "k", "oauth_token": "t"}
    with pytest.raises(BadRequest, match="Expecting to find oauth_verifier"):
        oauth1_sign.require(params, "oauth_verifier")
