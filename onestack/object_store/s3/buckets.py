"""The service and bucket operations: ListBuckets, Create/Head/DeleteBucket, ListObjects (v1, v2),
GetBucketLocation, the bucket ACL (canned private), versioning (never enabled), DeleteObjects."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from typing import Any

from onestack.object_store.proxy.request import Headers, SwiftResponse
from onestack.object_store.s3 import xmlutil
from onestack.object_store.s3.common import (
    MAX_KEYS,
    SEGMENTS_SUFFIX,
    S3Call,
    check_bucket,
    empty,
    key_text,
    quoted,
    s3_time,
    xml_response,
)
from onestack.object_store.s3.errors import S3Error
from onestack.object_store.s3.xmlutil import to_xml

MAX_MULTI_DELETE = 1000


async def list_buckets(call: S3Call) -> SwiftResponse:
    rows = await call.listing_account()
    buckets = [{"Name": r["name"], "CreationDate": s3_time(r.get("last_modified"))} for r in rows
               if "name" in r and not r["name"].endswith(SEGMENTS_SUFFIX)]
    return xml_response("ListAllMyBucketsResult", {"Owner": call.owner(), "Buckets": {"Bucket": buckets}})


async def create_bucket(call: S3Call) -> SwiftResponse:
    assert call.bucket is not None
    check_bucket(call.bucket)
    body = await call.req.body.read(xmlutil.MAX_BODY)
    if body.strip():
        doc = xmlutil.parse(body)
        where = xmlutil.text(doc, "LocationConstraint")
        if where not in (None, "", call.state.region, "us-east-1"):
            raise S3Error("InvalidLocationConstraint", LocationConstraint=where or "")
    if call.req.headers.get("x-amz-acl", "private") != "private":
        raise S3Error("NotImplemented", "Only the canned ACL \"private\" is offered.")
    resp = await call.must(await call.swift("PUT", call.bucket))
    await resp.close()
    if resp.status == 202:  # Swift: the container was there already
        raise S3Error("BucketAlreadyOwnedByYou", BucketName=call.bucket)
    return empty(200, {"location": f"/{call.bucket}"})


async def head_bucket(call: S3Call) -> SwiftResponse:
    resp = await call.must(await call.swift("HEAD", call.bucket))
    await resp.close()
    return empty(200, {"x-amz-bucket-region": call.state.region})


async def delete_bucket(call: S3Call) -> SwiftResponse:
    assert call.bucket is not None
    resp = await call.must(await call.swift("DELETE", call.bucket))
    await resp.close()
    # Aborted and completed uploads leave nothing there; an empty segments container goes too.
    seg = await call.swift("DELETE", call.bucket + SEGMENTS_SUFFIX)
    await seg.close()
    return empty(204)


def _max_keys(call: S3Call, name: str = "max-keys") -> int:
    raw = call.query.get(name, str(MAX_KEYS))
    if not raw.lstrip("-").isdigit() or int(raw) < 0:
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer range",
                      ArgumentName=name, ArgumentValue=raw)
    return min(int(raw), MAX_KEYS)


def _decode_token(token: str) -> str:
    try:
        return base64.b64decode(token.encode(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                      ArgumentName="continuation-token") from None


async def list_objects(call: S3Call) -> SwiftResponse:
    assert call.bucket is not None
    q = call.query
    v2 = q.get("list-type") == "2"
    if "list-type" in q and not v2:
        raise S3Error("InvalidArgument", "Invalid List Type specified", ArgumentName="list-type")
    encoding = q.get("encoding-type")
    if encoding not in (None, "url"):
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type")
    limit = _max_keys(call)
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    if v2:
        marker = _decode_token(q["continuation-token"]) if "continuation-token" in q else q.get("start-after", "")
    else:
        marker = q.get("marker", "")
    query = {"limit": str(limit + 1), "prefix": prefix}
    if delimiter:
        query["delimiter"] = delimiter
    if marker:
        query["marker"] = marker
    rows = await call.listing(call.bucket, query) if limit else []
    if not limit:
        await call.must(await call.swift("HEAD", call.bucket))
    truncated = len(rows) > limit
    rows = rows[:limit]
    await _multipart_etags(call, rows)
    contents: list[dict[str, Any]] = []
    prefixes: list[dict[str, str]] = []
    for row in rows:
        if "subdir" in row:
            prefixes.append({"Prefix": key_text(row["subdir"], encoding)})
            continue
        item: dict[str, Any] = {"Key": key_text(row["name"], encoding),
                                "LastModified": s3_time(row.get("last_modified")),
                                "ETag": quoted(_listing_etag(row)), "Size": row.get("bytes", 0),
                                "StorageClass": "STANDARD"}
        if not v2 or q.get("fetch-owner") == "true":
            item["Owner"] = call.owner()
        contents.append(item)
    doc: dict[str, Any] = {"Name": call.bucket, "Prefix": key_text(prefix, encoding)}
    last = (rows[-1].get("subdir") or rows[-1].get("name", "")) if rows else ""
    if v2:
        if "start-after" in q:
            doc["StartAfter"] = key_text(q["start-after"], encoding)
        if "continuation-token" in q:
            doc["ContinuationToken"] = q["continuation-token"]
        doc["KeyCount"] = len(rows)
        if truncated:
            doc["NextContinuationToken"] = base64.b64encode(last.encode()).decode()
    else:
        doc["Marker"] = key_text(marker, encoding)
        if truncated and delimiter:
            doc["NextMarker"] = key_text(last, encoding)
    doc["MaxKeys"] = limit
    if delimiter:
        doc["Delimiter"] = key_text(delimiter, encoding)
    if encoding:
        doc["EncodingType"] = encoding
    doc["IsTruncated"] = truncated
    doc["Contents"] = contents
    doc["CommonPrefixes"] = prefixes
    return xml_response("ListBucketResult", doc)


def _listing_etag(row: dict[str, Any]) -> str:
    """A multipart object's S3 ETag (``md5-N``, found by _multipart_etags), else the row's hash."""
    return str(row.get("s3_etag") or row.get("hash", ""))


async def _multipart_etags(call: S3Call, rows: list[dict[str, Any]]) -> None:
    """Listing rows of SLOs (``slo_etag``) get the S3 ETag their object keeps: a HEAD each, as the
    listing holds only Swift's. Only multipart objects pay for it."""
    from onestack.object_store.s3.objects import S3_ETAG

    async def one(row: dict[str, Any]) -> None:
        head = await call.swift("HEAD", call.bucket, row["name"])
        await head.close()
        if head.ok and head.headers.get(S3_ETAG):
            row["s3_etag"] = head.headers[S3_ETAG]

    slos = [r for r in rows if "slo_etag" in r and "name" in r]
    for start in range(0, len(slos), 16):
        await asyncio.gather(*(one(r) for r in slos[start:start + 16]))


async def get_location(call: S3Call) -> SwiftResponse:
    resp = await call.must(await call.swift("HEAD", call.bucket))
    await resp.close()
    region = call.state.region
    # S3 answers an empty constraint for its default region, the region's name otherwise.
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{xmlutil.NS}">'
            f"{'' if region == 'us-east-1' else region}</LocationConstraint>").encode()
    return SwiftResponse(200, Headers({"content-type": "application/xml", "content-length": str(len(body))}), body)


def acl_document(call: S3Call) -> SwiftResponse:
    owner = call.owner()
    grant = {"Grantee": {"ID": owner["ID"], "DisplayName": owner["DisplayName"]}, "Permission": "FULL_CONTROL"}
    body = to_xml("AccessControlPolicy", {"Owner": owner, "AccessControlList": {"Grant": grant}}, namespace=True)
    # S3's schema types the grantee (xsi:type); clients read it.
    body = body.replace(
        b"<Grantee>", b'<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">')
    return SwiftResponse(200, Headers({"content-type": "application/xml", "content-length": str(len(body))}), body)


async def get_acl(call: S3Call) -> SwiftResponse:
    resp = await call.must(await call.swift("HEAD", call.bucket, call.key), key=call.key is not None)
    await resp.close()
    return acl_document(call)


async def put_acl(call: S3Call) -> SwiftResponse:
    resp = await call.must(await call.swift("HEAD", call.bucket, call.key), key=call.key is not None)
    await resp.close()
    body = await call.req.body.read(xmlutil.MAX_BODY)
    canned = call.req.headers.get("x-amz-acl", "private" if not body.strip() else "")
    if canned != "private":
        raise S3Error("NotImplemented", "Only the canned ACL \"private\" is offered.")
    return empty(200)


async def get_versioning(call: S3Call) -> SwiftResponse:
    await call.must(await call.swift("HEAD", call.bucket))
    return xml_response("VersioningConfiguration", {})


async def delete_objects(call: S3Call) -> SwiftResponse:
    from onestack.object_store.s3.objects import delete_key

    assert call.bucket is not None
    body = await call.req.body.read(xmlutil.MAX_BODY)
    md5 = call.req.headers.get("content-md5")
    if md5 is not None and md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
        raise S3Error("BadDigest")
    doc = xmlutil.parse(body)
    if xmlutil.local(doc.tag) != "Delete":
        raise S3Error("MalformedXML")
    quiet = (xmlutil.text(doc, "Quiet") or "").lower() == "true"
    objects = xmlutil.children(doc, "Object")
    if not objects or len(objects) > MAX_MULTI_DELETE:
        raise S3Error("MalformedXML")
    await call.must(await call.swift("HEAD", call.bucket))
    deleted: list[dict[str, str]] = []
    errors: list[dict[str, str]] = []
    for item in objects:
        key = xmlutil.text(item, "Key")
        if not key:
            raise S3Error("MalformedXML")
        try:
            await delete_key(call, key)
        except S3Error as err:
            errors.append({"Key": key, "Code": err.code, "Message": err.message})
            continue
        if not quiet:
            deleted.append({"Key": key})
    return xml_response("DeleteResult", {"Deleted": deleted, "Error": errors})
