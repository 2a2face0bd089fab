"""Temp URL signatures as python-swiftclient makes them, expiry forms and digest forms."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from swiftclient.utils import generate_temp_url

from onestack.object_store.middleware import tempurl

PATH = "/v1/AUTH_p/c/o bj"


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_signature_matches_swiftclient(digest: str) -> None:
    url = generate_temp_url(PATH, 1_900_000_000, "secret", "GET", digest=digest)
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    algo, sig = tempurl.digest_and_hex(query["temp_url_sig"])
    assert algo == digest
    assert sig == tempurl.get_hmac("GET", PATH, int(query["temp_url_expires"]), "secret", digest)


def test_prefix_and_ip_range_signatures_match_swiftclient() -> None:
    url = generate_temp_url("/v1/AUTH_p/c/pre", 1_900_000_000, "k", "PUT", absolute=True, prefix=True,
                            ip_range="10.0.0.0/8")
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    assert query["temp_url_sig"] == tempurl.get_hmac("PUT", "prefix:/v1/AUTH_p/c/pre", 1_900_000_000, "k",
                                                     "sha256", "10.0.0.0/8")


def test_base64_signatures() -> None:
    raw = hmac.new(b"k", b"GET\n1\n/v1/a/c/o", hashlib.sha512).digest()
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")):
        assert tempurl.digest_and_hex("sha512:" + encoded) == ("sha512", raw.hex())
    for bad in ("abc", "zz" * 20, "sha1:***", "12" * 21):
        with pytest.raises(ValueError):
            tempurl.digest_and_hex(bad)


def test_expires_forms() -> None:
    now = time.time()
    assert tempurl.normalize_expires(None) is None
    assert tempurl.normalize_expires(str(int(now) + 60)) == int(now) + 60
    assert tempurl.normalize_expires(str(int(now) - 1)) == 0
    assert tempurl.normalize_expires("2100-01-01T00:00:00Z") == 4102444800
    assert tempurl.normalize_expires("2000-01-01T00:00:00Z") == 0
    assert tempurl.normalize_expires("tomorrow") == 0


def test_disposition() -> None:
    assert tempurl.disposition("attachment", "a b\u00e9.txt") == \
        "attachment; filename=\"a b%C3%A9.txt\"; filename*=UTF-8''a%20b%C3%A9.txt"


def test_far_future_expiry_has_no_expires_header() -> None:
    from onestack.object_store.proxy.request import SwiftRequest, SwiftResponse

    resp = SwiftResponse(200)
    tempurl.add_disposition(SwiftRequest("GET", "/v1/a/c/o"), resp, "o", None, False, 10 ** 30)
    assert "expires" not in resp.headers and resp.headers["content-disposition"].startswith("attachment")
