"""The S3 front door with boto3: EC2 credentials from identity, buckets, objects, listings v1/v2,
copy, multi-delete, multipart, presigned URLs, signature refusals; the same data seen through Swift."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.client import Config
from botocore.exceptions import ClientError

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.object_support import swift

MIB = 1024 * 1024


def _ec2(sdk: Any) -> tuple[str, str]:
    resp = sdk.session.request(f"/v3/users/{sdk.current_user_id}/credentials/OS-EC2", "POST",
                               endpoint_filter={"service_type": "identity"},
                               json={"tenant_id": sdk.current_project_id})
    cred = resp.json()["credential"]
    return cred["access"], cred["secret"]


def _endpoint(cloud: RunningCloud) -> str:
    return f"{cloud.base_url}/object-store/s3"


def _client(cloud: RunningCloud, access: str, secret: str, **config: Any) -> Any:
    return boto3.client("s3", endpoint_url=_endpoint(cloud), aws_access_key_id=access,
                        aws_secret_access_key=secret, region_name="RegionOne",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config))


@pytest.fixture(scope="module")
def creds(cloud: RunningCloud) -> tuple[str, str]:
    return _ec2(cloud.sdk("devstack"))


@pytest.fixture(scope="module")
def s3(cloud: RunningCloud, creds: tuple[str, str]) -> Any:
    return _client(cloud, *creds)


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    resp = exc.value.response
    return resp["ResponseMetadata"]["HTTPStatusCode"], resp["Error"]["Code"]


def test_openstack_cli_credentials_work(cloud: RunningCloud) -> None:
    made = cloud.cli("ec2", "credentials", "create", cloud="devstack")
    client = _client(cloud, made["access"], made["secret"])
    assert "Buckets" in client.list_buckets()


def test_buckets(s3: Any, cloud: RunningCloud) -> None:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "RegionOne"
    acl = s3.get_bucket_acl(Bucket=name)
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name)
    assert _code(exc) == (409, "BucketAlreadyOwnedByYou")
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket="Bad_Name")
    assert _code(exc) == (400, "InvalidBucketName")
    info = httpx.get(f"{cloud.base_url}/info", timeout=30).json()
    assert info["s3api"]["path"] == "/s3" and info["s3api"]["max_upload_part_num"] == 10000
    # The bucket is the Swift container of the credential's project.
    conn, _ = swift(cloud)
    assert name in [c["name"] for c in conn.get_account()[1]]
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert _code(exc)[0] == 404
    with pytest.raises(ClientError) as exc:
        s3.list_objects(Bucket=name)
    assert _code(exc) == (404, "NoSuchBucket")


def test_wrong_secret_and_unknown_key(cloud: RunningCloud, creds: tuple[str, str]) -> None:
    with pytest.raises(ClientError) as exc:
        _client(cloud, creds[0], "not-the-secret").list_buckets()
    assert _code(exc) == (403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError) as exc:
        _client(cloud, "no-such-access-key", "x").list_buckets()
    assert _code(exc) == (403, "InvalidAccessKeyId")
    anonymous = httpx.get(_endpoint(cloud) + "/", timeout=30)
    assert anonymous.status_code == 403 and b"<Code>AccessDenied</Code>" in anonymous.content


def test_objects_and_swift_view(s3: Any, bucket: str, cloud: RunningCloud) -> None:
    data = b"hello s3 " * 1000
    put = s3.put_object(Bucket=bucket, Key="dir/a.txt", Body=data, ContentType="text/plain",
                        Metadata={"color": "blue"})
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/a.txt")
    assert got["Body"].read() == data and got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"color": "blue"} and got["ContentLength"] == len(data)
    head = s3.head_object(Bucket=bucket, Key="dir/a.txt")
    assert head["ETag"] == put["ETag"] and head["ContentLength"] == len(data)
    ranged = s3.get_object(Bucket=bucket, Key="dir/a.txt", Range="bytes=6-10")
    assert ranged["Body"].read() == data[6:11] and ranged["ResponseMetadata"]["HTTPStatusCode"] == 206
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="missing")
    assert _code(exc) == (404, "NoSuchKey")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="dir/a.txt", IfMatch='"0123"')
    assert _code(exc) == (412, "PreconditionFailed")
    # Swift sees the same object with the same metadata.
    conn, _ = swift(cloud)
    headers, body = conn.get_object(bucket, "dir/a.txt")
    assert body == data and headers["x-object-meta-color"] == "blue"
    conn.put_object(bucket, "from-swift", b"swift bytes", headers={"X-Object-Meta-Who": "swift"})
    back = s3.get_object(Bucket=bucket, Key="from-swift")
    assert back["Body"].read() == b"swift bytes" and back["Metadata"] == {"who": "swift"}
    s3.delete_object(Bucket=bucket, Key="dir/a.txt")
    s3.delete_object(Bucket=bucket, Key="dir/a.txt")  # gone already: still 204, as S3
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert _code(exc) == (409, "BucketNotEmpty")


def test_listings_v1_v2(s3: Any, bucket: str) -> None:
    keys = ["a/1", "a/2", "a/b/3", "c", "d/4", "e"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    v1 = s3.list_objects(Bucket=bucket)
    assert [o["Key"] for o in v1["Contents"]] == keys and not v1["IsTruncated"]
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["c", "e"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "d/"] and top["KeyCount"] == 4
    inner = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in inner["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in inner["CommonPrefixes"]] == ["a/b/"]
    # Pages: v2's continuation token and v1's marker.
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=4)
    assert page["IsTruncated"] and [o["Key"] for o in page["Contents"]] == keys[:4]
    rest = s3.list_objects_v2(Bucket=bucket, MaxKeys=4, ContinuationToken=page["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == keys[4:] and not rest["IsTruncated"]
    after = s3.list_objects(Bucket=bucket, Marker="c", MaxKeys=2)
    assert [o["Key"] for o in after["Contents"]] == ["d/4", "e"]
    start = s3.list_objects_v2(Bucket=bucket, StartAfter="d/4")
    assert [o["Key"] for o in start["Contents"]] == ["e"]
    paginated = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={
        "PageSize": 2}) for o in p.get("Contents", [])]
    assert paginated == keys
    # Names that need encoding (boto3 asks for encoding-type=url and decodes), in UTF-8 byte order.
    odd = ["f sp+ace&=?.txt", "f\u00fc/x%41", "f\u4e2d"]
    for key in odd:
        s3.put_object(Bucket=bucket, Key=key, Body=b"odd")
    assert [o["Key"] for o in s3.list_objects(Bucket=bucket, Prefix="f")["Contents"]] == odd
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="f", Delimiter="/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["f\u00fc/"]
    assert s3.get_object(Bucket=bucket, Key=odd[0])["Body"].read() == b"odd"
    keys += odd
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == sorted(keys)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)


def test_copy(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"copy me", Metadata={"k": "v"}, ContentType="text/x-src")
    result = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert result["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copy me").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"copy me" and got["Metadata"] == {"k": "v"} and got["ContentType"] == "text/x-src"
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   Metadata={"new": "1"})
    assert s3.head_object(Bucket=bucket, Key="dst2")["Metadata"] == {"new": "1"}
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert _code(exc) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "nope"})
    assert _code(exc) == (404, "NoSuchKey")


def test_multipart(s3: Any, bucket: str, cloud: RunningCloud) -> None:
    parts_data = [bytes([65 + i]) * (5 * MIB) for i in range(2)] + [b"tail"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big/file", ContentType="application/x-big",
                                        Metadata={"kind": "mpu"})
    uid = upload["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == [("big/file", uid)]
    etags = []
    for number, data in enumerate(parts_data, start=1):
        part = s3.upload_part(Bucket=bucket, Key="big/file", UploadId=uid, PartNumber=number, Body=data)
        assert part["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        etags.append(part["ETag"])
    parts = s3.list_parts(Bucket=bucket, Key="big/file", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 5 * MIB), (2, 5 * MIB), (3, 4)]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="big/file", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})
    assert _code(exc) == (400, "InvalidPartOrder")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big/file", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]})
    joined = b"".join(bytes.fromhex(e.strip('"')) for e in etags)
    expected_etag = f'"{hashlib.md5(joined).hexdigest()}-3"'
    assert done["ETag"] == expected_etag
    got = s3.get_object(Bucket=bucket, Key="big/file")
    body = got["Body"].read()
    assert body == b"".join(parts_data) and got["ETag"] == expected_etag
    assert got["ContentType"] == "application/x-big" and got["Metadata"] == {"kind": "mpu"}
    assert s3.get_object(Bucket=bucket, Key="big/file", Range=f"bytes={5 * MIB - 2}-{5 * MIB + 1}")[
        "Body"].read() == b"AABB"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert [o["ETag"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [expected_etag]
    # Conditional reads compare the S3 ETag (boto3's ranged downloads send If-Match).
    assert s3.get_object(Bucket=bucket, Key="big/file", IfMatch=expected_etag, Range="bytes=0-1")[
        "Body"].read() == b"AA"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="big/file", IfNoneMatch=expected_etag)
    assert _code(exc)[0] == 304
    # Swift reads the same object (an SLO over the parts).
    conn, _ = swift(cloud)
    headers, swift_body = conn.get_object(bucket, "big/file")
    assert swift_body == body and headers["x-static-large-object"].lower() == "true"
    # Deleting it removes the parts too.
    s3.delete_object(Bucket=bucket, Key="big/file")
    assert conn.get_container(bucket + "+segments")[1] == []
    # An aborted upload is gone.
    other = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=other, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=other)
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="k", UploadId=other)
    assert _code(exc) == (404, "NoSuchUpload")


def test_upload_file_transfer_manager(s3: Any, bucket: str, tmp_path: Any) -> None:
    """boto3's managed transfer: multipart above its threshold, whatever payload signing it chooses."""
    from boto3.s3.transfer import TransferConfig

    src = tmp_path / "src.bin"
    src.write_bytes(hashlib.sha256(b"seed").digest() * (11 * MIB // 32))
    s3.upload_file(str(src), bucket, "managed", Config=TransferConfig(multipart_threshold=5 * MIB,
                                                                       multipart_chunksize=5 * MIB))
    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, "managed", str(dst))
    assert dst.read_bytes() == src.read_bytes()


def test_presigned_urls(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="shared", Body=b"presigned data")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared"}, ExpiresIn=300)
    resp = httpx.get(url, timeout=30)
    assert resp.status_code == 200 and resp.content == b"presigned data"
    tampered = httpx.get(url.replace("shared", "sharee"), timeout=30)
    assert tampered.status_code == 403 and b"SignatureDoesNotMatch" in tampered.content
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "uploaded"}, ExpiresIn=300)
    assert httpx.put(put_url, content=b"via url", timeout=30).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="uploaded")["Body"].read() == b"via url"


def test_sigv2(cloud: RunningCloud, creds: tuple[str, str], bucket: str) -> None:
    old = _client(cloud, *creds, signature_version="s3")
    old.put_object(Bucket=bucket, Key="v2", Body=b"signed v2")
    assert old.get_object(Bucket=bucket, Key="v2")["Body"].read() == b"signed v2"
    with pytest.raises(ClientError) as exc:
        _client(cloud, creds[0], "wrong", signature_version="s3").list_buckets()
    assert _code(exc) == (403, "SignatureDoesNotMatch")


def test_other_projects_bucket_is_refused(cloud: RunningCloud, s3: Any, bucket: str) -> None:
    alt = _client(cloud, *_ec2(cloud.sdk("devstack-alt")))
    assert bucket not in [b["Name"] for b in alt.list_buckets()["Buckets"]]
    # The alt project's own namespace: the name is free there (buckets are per project, as Swift containers).
    with pytest.raises(ClientError) as exc:
        alt.list_objects_v2(Bucket=bucket)
    assert _code(exc)[1] == "NoSuchBucket"


def _raw_put(cloud: RunningCloud, creds: tuple[str, str], path: str, body: bytes, headers: dict[str, str],
             signed_body: bytes | None = None) -> httpx.Response:
    """A SigV4 PUT signed by botocore (over ``signed_body`` when given), then sent with ``body``."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class Signer(S3SigV4Auth):  # type: ignore[misc]  # botocore has no type hints: its classes are Any
        def payload(self, request: Any) -> str:
            # A declared payload (STREAMING-…) is signed as declared; botocore would hash the body.
            declared = headers.get("X-Amz-Content-SHA256")
            return declared if declared else str(super().payload(request))

    url = f"{_endpoint(cloud)}/{path}"
    aws = AWSRequest(method="PUT", url=url, data=signed_body if signed_body is not None else body, headers=headers)
    Signer(Credentials(*creds), "s3", "RegionOne").add_auth(aws)
    sent = {k: v for k, v in aws.headers.items()}
    return httpx.put(url, content=body, headers=sent, timeout=30)


def _raw_post(cloud: RunningCloud, creds: tuple[str, str], path: str, body: bytes) -> httpx.Response:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{_endpoint(cloud)}/{path}"
    aws = AWSRequest(method="POST", url=url, data=body)
    S3SigV4Auth(Credentials(*creds), "s3", "RegionOne").add_auth(aws)
    return httpx.post(url, content=body, headers=dict(aws.headers.items()), timeout=30)


def test_payload_checks_and_aws_chunked(cloud: RunningCloud, creds: tuple[str, str], s3: Any, bucket: str) -> None:
    # A body that is not what x-amz-content-sha256 signed is refused and nothing is stored.
    resp = _raw_put(cloud, creds, f"{bucket}/lie", b"the real body", {}, signed_body=b"something else")
    assert resp.status_code == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in resp.content, resp.text
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="lie")
    assert _code(exc)[0] == 404
    # A Content-MD5 that is not the body's: BadDigest, nothing stored; one that is not an MD5: InvalidDigest.
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    resp = _raw_put(cloud, creds, f"{bucket}/md5", b"body", {"Content-MD5": wrong_md5})
    assert resp.status_code == 400 and b"<Code>BadDigest</Code>" in resp.content, resp.text
    resp = _raw_put(cloud, creds, f"{bucket}/md5", b"body", {"Content-MD5": "not-base64!"})
    assert resp.status_code == 400 and b"<Code>InvalidDigest</Code>" in resp.content, resp.text
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="md5")
    assert _code(exc)[0] == 404
    # Malformed documents: MalformedXML, never a 5xx.
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    for path, body in ((f"{bucket}?delete", b"<Delete><Object>"), (f"{bucket}/m?uploadId={upload}", b"junk"),
                       (f"{bucket}/m?uploadId={upload}", b"<CompleteMultipartUpload/>")):
        resp = _raw_post(cloud, creds, path, body)
        assert resp.status_code == 400 and b"<Code>MalformedXML</Code>" in resp.content, (path, resp.text)
    resp = _raw_post(cloud, creds, f"{bucket}/m?uploadId={'0' * 32}", b"<CompleteMultipartUpload/>")
    assert resp.status_code == 404 and b"<Code>NoSuchUpload</Code>" in resp.content
    # aws-chunked (what SDKs send over HTTPS): decoded to the object's bytes.
    parts = [b"x" * 9000, b"y" * 100]
    chunked = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts)
    chunked += b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    resp = _raw_put(cloud, creds, f"{bucket}/chunked", chunked, {
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(sum(map(len, parts))), "X-Amz-Trailer": "x-amz-checksum-crc32"})
    assert resp.status_code == 200, resp.text
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert got["Body"].read() == b"".join(parts) and "ContentEncoding" not in got


def test_aws_cli(cloud: RunningCloud, creds: tuple[str, str], bucket: str, tmp_path: Any) -> None:
    """The aws CLI (high-level ``s3`` commands: multipart above 8 MiB, listings) on the same endpoint."""
    import os
    import shutil
    import subprocess
    import sys

    aws = shutil.which("aws", path=os.path.dirname(sys.executable)) or shutil.which("aws")
    if aws is None:
        pytest.skip("the aws CLI (awscli, test extra) is not installed")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": creds[0], "AWS_SECRET_ACCESS_KEY": creds[1],
           "AWS_DEFAULT_REGION": "RegionOne", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}

    def run(*args: str) -> str:
        done = subprocess.run([aws, "--endpoint-url", _endpoint(cloud), *args], env=env, capture_output=True, check=False,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(9 * MIB))
    run("s3", "cp", str(src), f"s3://{bucket}/cli/big.bin")
    assert "cli/big.bin" in run("s3", "ls", f"s3://{bucket}/", "--recursive")
    back = tmp_path / "back.bin"
    run("s3", "cp", f"s3://{bucket}/cli/big.bin", str(back))
    assert back.read_bytes() == src.read_bytes()
    assert bucket in run("s3", "ls")
    run("s3", "rm", f"s3://{bucket}/cli/big.bin")
    assert "cli/big.bin" not in run("s3api", "list-objects-v2", "--bucket", bucket)


def test_deleted_credential_stops_working_within_the_bound(cloud: RunningCloud) -> None:
    sdk = cloud.sdk("devstack")
    access, secret = _ec2(sdk)
    client = _client(cloud, access, secret)
    client.list_buckets()
    client.list_buckets()  # identity answers this one from what the key proved the first time
    # A key identity has cached is still checked against its signature on every request.
    with pytest.raises(ClientError) as exc:
        _client(cloud, access, "not-the-secret").list_buckets()
    assert _code(exc) == (403, "SignatureDoesNotMatch")
    sdk.session.request(f"/v3/users/{sdk.current_user_id}/credentials/OS-EC2/{access}", "DELETE",
                        endpoint_filter={"service_type": "identity"})

    def refused() -> bool:
        try:
            client.list_buckets()
        except ClientError as err:
            meta, error = err.response["ResponseMetadata"], err.response["Error"]
            return (meta["HTTPStatusCode"], error["Code"]) == (403, "InvalidAccessKeyId")
        return False

    # The bound (docs/design.md): at once where identity runs, about a second in another identity
    # process; the cache's own lifetime (identity.cache_ttl, 300 s) would fail this.
    wait_until(refused, timeout=3.0, what="the deleted credential to be refused")


def test_disabled_user_stops_working_within_the_bound(cloud: RunningCloud) -> None:
    admin = cloud.sdk("devstack-admin")
    project = admin.identity.create_project(name=f"s3-{uuid.uuid4().hex[:8]}", domain_id="default")
    user = admin.identity.create_user(name=f"s3-{uuid.uuid4().hex[:8]}", password="s3cret-pass",
                                      default_project_id=project.id, domain_id="default")
    admin.identity.assign_project_role_to_user(project, user, admin.identity.find_role("member"))
    resp = admin.session.request(f"/v3/users/{user.id}/credentials/OS-EC2", "POST",
                                 endpoint_filter={"service_type": "identity"}, json={"tenant_id": project.id})
    cred = resp.json()["credential"]
    client = _client(cloud, cred["access"], cred["secret"])
    client.list_buckets()
    client.list_buckets()
    admin.identity.update_user(user, is_enabled=False)

    def refused() -> bool:
        try:
            client.list_buckets()
        except ClientError as err:
            return bool(err.response["ResponseMetadata"]["HTTPStatusCode"] == 403)
        return False

    wait_until(refused, timeout=3.0, what="the disabled user's credential to be refused")
