"""The string to sign the proxy rebuilds must be the one botocore signed: checked by recomputing the
signature with the secret (identity's code) for requests signed by botocore's own signers."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from onestack.identity.service.ec2tokens import s3_signature
from onestack.object_store.proxy.request import Headers, SwiftRequest
from onestack.object_store.s3.auth import is_s3, signed_by
from onestack.object_store.s3.errors import S3Error

CREDS = Credentials("AKID", "secret-key")
MOUNT = "/object-store"


def _swift_request(aws: AWSRequest) -> SwiftRequest:
    """What the ASGI adapter makes of the request botocore would send."""
    prepared = aws.prepare()
    url = urlsplit(prepared.url)
    headers = Headers({k: v for k, v in prepared.headers.items()})
    headers.setdefault("host", url.netloc)
    path = unquote(url.path)
    assert path.startswith(MOUNT)
    query: dict[str, str] = {}
    for key, value in parse_qsl(url.query, keep_blank_values=True):
        query.setdefault(key, value)
    return SwiftRequest(method=prepared.method, path=path[len(MOUNT):], query=query, headers=headers,
                        script_name=MOUNT)


def _resource(req: SwiftRequest) -> str:
    return req.path[len("/s3"):] or "/"


def _auth_path(url: str) -> str:
    """S3's SigV2 canonical resource, as botocore signs it: /<bucket>/<key>, no endpoint path."""
    return urlsplit(url).path[len(MOUNT + "/s3"):] or "/"


def _signature_of(req: SwiftRequest, aws: AWSRequest) -> str:
    auth = req.headers.get("authorization", "")
    if "X-Amz-Signature" in req.query:
        return req.query["X-Amz-Signature"]
    if "Signature" in req.query:
        return req.query["Signature"]
    return auth.rsplit("Signature=", 1)[1] if "Signature=" in auth else auth.rsplit(":", 1)[1]


URLS = [
    "http://h:1/object-store/s3/",
    "http://h:1/object-store/s3/bucket",
    "http://h:1/object-store/s3/bucket?list-type=2&prefix=a%2Fb&delimiter=%2F&max-keys=3",
    "http://h:1/object-store/s3/bucket/dir/k%C3%A9y%20with%20spaces%2B%3D.txt",
    "http://h:1/object-store/s3/bucket/key?uploadId=abc&partNumber=2",
    "http://h:1/object-store/s3/bucket?uploads",
]


@pytest.mark.parametrize("url", URLS)
def test_sigv4_header_matches_botocore(url: str) -> None:
    aws = AWSRequest(method="PUT", url=url, data=b"", headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
                                                               "X-Amz-Meta-Color": "  blue   sky ",
                                                               "Content-Type": "text/plain"})
    S3SigV4Auth(CREDS, "s3", "RegionOne").add_auth(aws)
    req = _swift_request(aws)
    assert is_s3(req)
    signed = signed_by(req, req.script_name + req.path, _resource(req))
    assert signed.access == "AKID" and signed.payload == req.headers["x-amz-content-sha256"]
    assert s3_signature(signed.string_to_sign, "secret-key") == _signature_of(req, aws)
    assert s3_signature(signed.string_to_sign, "other") != _signature_of(req, aws)


@pytest.mark.parametrize("url", URLS)
def test_sigv4_presigned_matches_botocore(url: str) -> None:
    aws = AWSRequest(method="GET", url=url)
    S3SigV4QueryAuth(CREDS, "s3", "RegionOne", expires=60).add_auth(aws)
    req = _swift_request(aws)
    signed = signed_by(req, req.script_name + req.path, _resource(req))
    assert s3_signature(signed.string_to_sign, "secret-key") == _signature_of(req, aws)
    with pytest.raises(S3Error) as exc:
        signed_by(req, req.script_name + req.path, _resource(req), now=time.time() + 120)
    assert exc.value.code == "AccessDenied" and "expired" in exc.value.message


@pytest.mark.parametrize("url", URLS)
def test_sigv2_header_and_query_match_botocore(url: str) -> None:
    aws = AWSRequest(method="GET", url=url, headers={"X-Amz-Meta-A": "1", "Content-Type": "x/y"})
    aws.auth_path = _auth_path(url)
    HmacV1Auth(CREDS).add_auth(aws)
    req = _swift_request(aws)
    signed = signed_by(req, req.script_name + req.path, _resource(req))
    assert s3_signature(signed.string_to_sign, "secret-key") == _signature_of(req, aws)
    presigned = AWSRequest(method="GET", url=url)
    presigned.auth_path = _auth_path(url)
    HmacV1QueryAuth(CREDS, expires=60).add_auth(presigned)
    preq = _swift_request(presigned)
    psigned = signed_by(preq, preq.script_name + preq.path, _resource(preq))
    assert s3_signature(psigned.string_to_sign, "secret-key") == _signature_of(preq, presigned)


def test_skew_and_malformed() -> None:
    aws = AWSRequest(method="GET", url=URLS[1], headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(CREDS, "s3", "RegionOne").add_auth(aws)
    req = _swift_request(aws)
    with pytest.raises(S3Error) as exc:
        signed_by(req, req.script_name + req.path, _resource(req), now=time.time() + 3600)
    assert exc.value.code == "RequestTimeTooSkewed" and exc.value.status == 403
    req.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=AKID/x"
    with pytest.raises(S3Error):
        signed_by(req, req.script_name + req.path, _resource(req))
    del req.headers["x-amz-content-sha256"]
    req.headers["authorization"] = aws.headers["Authorization"]
    with pytest.raises(S3Error) as exc:
        signed_by(req, req.script_name + req.path, _resource(req))
    assert exc.value.code == "InvalidRequest"
