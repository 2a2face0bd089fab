"""POST /v3/s3tokens and /v3/ec2tokens: signatures made by botocore's own signers, checked by identity."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from botocore.auth import S3SigV4Auth, SigV2Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.functional.cloud import RunningCloud


def _ec2(conn: Any) -> tuple[str, str]:
    user = conn.current_user_id
    resp = conn.session.request(f"/v3/users/{user}/credentials/OS-EC2", "POST",
                                endpoint_filter={"service_type": "identity"},
                                json={"tenant_id": conn.current_project_id})
    cred = resp.json()["credential"]
    return cred["access"], cred["secret"]


def _post(cloud: RunningCloud, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{cloud.identity_url}/v3/{path}", json=body, timeout=30)


def _s3_v4(access: str, secret: str) -> tuple[str, str]:
    """(base64 string to sign, signature) of a boto3-style S3 GET."""
    req = AWSRequest(method="GET", url="http://127.0.0.1:1/object-store/s3/bucket/key?x=1",
                     headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    signer = S3SigV4Auth(Credentials(access, secret), "s3", "RegionOne")
    signer.add_auth(req)
    canonical = signer.canonical_request(req)
    sts = signer.string_to_sign(req, canonical)
    signature = signer.signature(sts, req)
    return base64.urlsafe_b64encode(sts.encode()).decode(), signature


def test_s3tokens_v4_gives_a_project_token(cloud: RunningCloud, demo: Any) -> None:
    access, secret = _ec2(demo)
    token, signature = _s3_v4(access, secret)
    resp = _post(cloud, "s3tokens", {"credentials": {"access": access, "token": token, "signature": signature}})
    assert resp.status_code == 200, resp.text
    doc = resp.json()["token"]
    assert doc["project"]["id"] == demo.current_project_id and doc["user"]["id"] == demo.current_user_id
    assert doc["methods"] == ["ec2credential"] and doc["roles"] and doc["catalog"]
    bare = _post(cloud, "s3tokens?nocatalog", {"credentials": {"access": access, "token": token,
                                                                "signature": signature}})
    assert bare.status_code == 200 and "catalog" not in bare.json()["token"]
    # The token is a real one: identity validates it.
    check = httpx.get(f"{cloud.identity_url}/v3/auth/tokens", timeout=30,
                      headers={"X-Auth-Token": resp.headers["X-Subject-Token"],
                               "X-Subject-Token": resp.headers["X-Subject-Token"]})
    assert check.status_code == 200 and check.json()["token"]["project"]["id"] == demo.current_project_id


def test_s3tokens_v2_and_refusals(cloud: RunningCloud, demo: Any) -> None:
    import hashlib
    import hmac

    access, secret = _ec2(demo)
    sts = b"GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/bucket/key"
    good = base64.b64encode(hmac.new(secret.encode(), sts, hashlib.sha1).digest()).decode()
    token = base64.urlsafe_b64encode(sts).decode()
    ok = _post(cloud, "s3tokens", {"credentials": {"access": access, "token": token, "signature": good}})
    assert ok.status_code == 200, ok.text
    wrong = _post(cloud, "s3tokens", {"credentials": {"access": access, "token": token, "signature": "x" + good}})
    assert wrong.status_code == 401 and "signature mismatch" in wrong.json()["error"]["message"]
    unknown = _post(cloud, "s3tokens", {"credentials": {"access": "nope", "token": token, "signature": good}})
    assert unknown.status_code == 401 and "access key not found" in unknown.json()["error"]["message"]
    assert _post(cloud, "s3tokens", {"nothing": 1}).status_code == 400
    # A v4 string for another service than s3/iam/sts is refused.
    bad_scope = base64.urlsafe_b64encode(b"AWS4-HMAC-SHA256\n20250101T000000Z\n20250101/r/ec2/aws4_request\nab")
    resp = _post(cloud, "s3tokens", {"credentials": {"access": access, "token": bad_scope.decode(),
                                                     "signature": "00"}})
    assert resp.status_code == 401


def test_ec2tokens_v2_and_v4(cloud: RunningCloud, demo: Any) -> None:
    access, secret = _ec2(demo)
    creds = Credentials(access, secret)
    # Version 2: query parameters, botocore's SigV2 (the EC2 query API's).
    req = AWSRequest(method="GET", url="http://ec2.example:8788/", params={"Action": "DescribeInstances"})
    SigV2Auth(creds).add_auth(req)
    params = dict(req.params)
    signature = params.pop("Signature")
    body = {"credentials": {"access": access, "signature": signature, "host": "ec2.example:8788", "verb": "GET",
                            "path": "/", "params": params, "headers": {}, "body_hash": ""}}
    resp = _post(cloud, "ec2tokens", body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["token"]["project"]["id"] == demo.current_project_id
    body["credentials"]["params"]["Action"] = "RunInstances"  # not what was signed
    assert _post(cloud, "ec2tokens", body).status_code == 401
    # Version 4: the Authorization header.
    req4 = AWSRequest(method="GET", url="http://ec2.example:8788/?Action=DescribeRegions",
                      headers={"Host": "ec2.example:8788"})
    SigV4Auth(creds, "ec2", "RegionOne").add_auth(req4)
    headers = dict(req4.headers.items())
    body_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    body4 = {"credentials": {"access": access, "signature": headers["Authorization"].rsplit("Signature=", 1)[1],
                             "host": "ec2.example:8788", "verb": "GET", "path": "/",
                             "params": {"Action": "DescribeRegions"}, "headers": headers, "body_hash": body_hash}}
    resp4 = _post(cloud, "ec2tokens", body4)
    assert resp4.status_code == 200, resp4.text
