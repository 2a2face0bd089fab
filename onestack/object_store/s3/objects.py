"""The object operations: Put/Get/Head/DeleteObject and CopyObject, as Swift object requests.

S3 metadata ``x-amz-meta-*`` is Swift's ``x-object-meta-*``; a multipart upload's object is an SLO
whose S3 ETag (``md5-of-part-md5s-N``) is kept in the ``x-object-sysmeta-s3api-etag`` header.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from urllib.parse import unquote

from onestack.object_store import conditions
from onestack.object_store.proxy.request import Headers, SwiftResponse
from onestack.object_store.s3.body import decoded
from onestack.object_store.s3.common import (
    S3Call,
    empty,
    http_time,
    quoted,
    s3_time,
    unquoted,
    xml_response,
)
from onestack.object_store.s3.errors import S3Error

log = logging.getLogger("onestack.object_store.s3")

MAX_KEY_LENGTH = 1024
S3_ETAG = "x-object-sysmeta-s3api-etag"
# Headers S3 keeps with an object that Swift stores as they are.
KEPT = ("content-type", "content-disposition", "content-encoding", "cache-control", "content-language", "expires")
CONDITIONS = conditions.HEADERS
OVERRIDES = {"response-content-type": "content-type", "response-content-language": "content-language",
             "response-expires": "expires", "response-cache-control": "cache-control",
             "response-content-disposition": "content-disposition",
             "response-content-encoding": "content-encoding"}


def check_key(key: str) -> None:
    if len(key.encode("utf-8")) > MAX_KEY_LENGTH:
        raise S3Error("KeyTooLongError", Size=str(len(key.encode("utf-8"))), MaxSizeAllowed=str(MAX_KEY_LENGTH))


def object_headers(call: S3Call) -> dict[str, str]:
    """The Swift headers of a write: what S3 keeps, the metadata, the MD5 as Swift's ETag."""
    src = call.req.headers
    out: dict[str, str] = {}
    for name in KEPT:
        if name in src:
            out[name] = src[name]
    if "content-encoding" in out:
        # aws-chunked is how the body travelled, not how it is stored.
        rest = [e.strip() for e in out["content-encoding"].split(",") if e.strip() and e.strip() != "aws-chunked"]
        if rest:
            out["content-encoding"] = ", ".join(rest)
        else:
            del out["content-encoding"]
    for name, value in src.with_prefix("x-amz-meta-").items():
        out["x-object-meta-" + name[len("x-amz-meta-"):]] = value
    if "content-md5" in src:
        try:
            digest = base64.b64decode(src["content-md5"].encode(), validate=True)
        except (binascii.Error, ValueError):
            raise S3Error("InvalidDigest", ContentMD5=src["content-md5"]) from None
        if len(digest) != 16:
            raise S3Error("InvalidDigest", ContentMD5=src["content-md5"])
        out["etag"] = digest.hex()
    return out


def body_length(call: S3Call) -> dict[str, str]:
    """The object's length for Swift (aws-chunked bodies declare it apart)."""
    src = call.req.headers
    length = src.get("x-amz-decoded-content-length") or src.get("content-length")
    if length is None:
        if "transfer-encoding" in src:
            return {"transfer-encoding": "chunked"}
        raise S3Error("MissingContentLength")
    if not length.isdigit():
        raise S3Error("InvalidArgument", "Invalid Content-Length", ArgumentName="Content-Length")
    return {"content-length": length}


def s3_headers(swift: Headers, query: dict[str, str] | None = None) -> Headers:
    """An object's S3 response headers from its Swift ones."""
    out = Headers()
    for name in (*KEPT, "content-length", "content-range", "last-modified", "accept-ranges"):
        if name in swift:
            out[name] = swift[name]
    etag = swift.get(S3_ETAG) or swift.get("etag")
    if etag:
        out["etag"] = quoted(unquoted(etag))
    for name, value in swift.with_prefix("x-object-meta-").items():
        out["x-amz-meta-" + name[len("x-object-meta-"):]] = value
    out.setdefault("accept-ranges", "bytes")
    for param, header in OVERRIDES.items():
        if query and param in query:
            out[header] = query[param]
    return out


async def put_object(call: S3Call) -> SwiftResponse:
    assert call.bucket is not None and call.key is not None
    check_key(call.key)
    if "x-amz-copy-source" in call.req.headers:
        return await copy_object(call)
    headers = {**object_headers(call), **body_length(call)}
    body = decoded(call.req.body.chunks(), call.payload)
    resp = await call.must(await call.swift("PUT", call.bucket, call.key, headers=headers, body=body), key=True)
    await resp.close()
    return empty(200, {"etag": quoted(unquoted(resp.headers.get("etag", "")))})


def _etag_matches(header: str, etag: str) -> bool:
    return any(tag.strip() == "*" or unquoted(tag) == etag for tag in header.split(","))


async def _multipart_conditions(call: S3Call, headers: dict[str, str]) -> SwiftResponse | None:
    """If-Match / If-None-Match against a multipart object's S3 ETag, which Swift does not know
    (it compares the SLO's): checked here on a HEAD, then left out of the request that follows."""
    if "if-match" not in headers and "if-none-match" not in headers:
        return None
    head = await call.swift("HEAD", call.bucket, call.key)
    await head.close()
    s3_etag = head.headers.get(S3_ETAG)
    if not head.ok or not s3_etag:
        return None  # a plain object (Swift's own checks are right) or an error the real request meets
    if "if-match" in headers and not _etag_matches(headers.pop("if-match"), s3_etag):
        raise S3Error("PreconditionFailed", Condition="If-Match")
    if "if-none-match" in headers and _etag_matches(headers.pop("if-none-match"), s3_etag):
        return empty(304, {k: v for k, v in s3_headers(head.headers).items() if k in ("etag", "last-modified")})
    return None


async def get_object(call: S3Call, head: bool = False) -> SwiftResponse:
    headers = {name: call.req.headers[name] for name in (*CONDITIONS, "range") if name in call.req.headers}
    if "partNumber" in call.query:
        raise S3Error("NotImplemented", "Reading an object by part number is not offered; use a Range.")
    not_modified = await _multipart_conditions(call, headers)
    if not_modified is not None:
        return not_modified
    resp = await call.swift("HEAD" if head else "GET", call.bucket, call.key, headers=headers)
    if resp.status == 304:
        await resp.close()
        return empty(304, {k: v for k, v in s3_headers(resp.headers).items() if k in ("etag", "last-modified")})
    await call.must(resp, key=True)
    out = s3_headers(resp.headers, call.query)
    if head:
        await resp.close()
        return SwiftResponse(resp.status, out, b"")
    return SwiftResponse(resp.status, out, resp.body)


async def delete_key(call: S3Call, key: str) -> None:
    """Delete ``key`` of the call's bucket (an SLO with its segments); gone already is fine, as in S3."""
    assert call.bucket is not None
    head = await call.swift("HEAD", call.bucket, key)
    await head.close()
    if head.status == 404:
        return
    if not head.ok:
        await call.must(head, key=True)
    query = {"multipart-manifest": "delete"} if head.headers.get("x-static-large-object") == "True" or \
        head.headers.get("x-static-large-object", "").lower() == "true" else None
    resp = await call.swift("DELETE", call.bucket, key, query=query,
                            headers={"accept": "application/json"} if query else None)
    if query and resp.ok:
        # slo deletes the segments while its report streams: the report must be read to the end.
        report = json.loads(await resp.read() or b"{}")
        if report.get("Errors") or str(report.get("Response Status", "200")).split()[0] not in ("200", "201"):
            log.warning("deleting the multipart object %s/%s left: %s", call.bucket, key, report)
            raise S3Error("InternalError")
        return
    await resp.close()
    if resp.status != 404:
        await call.must(resp, key=True)


async def delete_object(call: S3Call) -> SwiftResponse:
    assert call.key is not None
    head = await call.swift("HEAD", call.bucket)
    await head.close()
    if head.status == 404:
        raise S3Error("NoSuchBucket", BucketName=call.bucket or "")
    await delete_key(call, call.key)
    return empty(204)


def copy_source(call: S3Call) -> tuple[str, str]:
    raw = call.req.headers["x-amz-copy-source"]
    path = unquote(raw.split("?", 1)[0]).lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                      ArgumentName="x-amz-copy-source", ArgumentValue=raw)
    return bucket, key


async def read_source(call: S3Call, byte_range: str | None = None) -> SwiftResponse:
    """The copy source's GET (its conditions are S3's x-amz-copy-source-if-*)."""
    bucket, key = copy_source(call)
    headers = {name: call.req.headers[f"x-amz-copy-source-{name}"] for name in CONDITIONS
               if f"x-amz-copy-source-{name}" in call.req.headers}
    if byte_range:
        headers["range"] = byte_range
    resp = await call.swift("GET", bucket, key, headers=headers)
    if resp.status == 304:
        await resp.close()
        raise S3Error("PreconditionFailed")
    if resp.status == 404:
        await resp.close()
        probe = await call.swift("HEAD", bucket)
        await probe.close()
        raise S3Error("NoSuchBucket", BucketName=bucket) if probe.status == 404 else S3Error("NoSuchKey", Key=key)
    return await call.must(resp, key=True)


async def copy_object(call: S3Call) -> SwiftResponse:
    assert call.bucket is not None and call.key is not None
    directive = call.req.headers.get("x-amz-metadata-directive", "COPY")
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.", ArgumentName="x-amz-metadata-directive")
    if copy_source(call) == (call.bucket, call.key) and directive == "COPY":
        raise S3Error("InvalidRequest", "This copy request is illegal because it is trying to copy an object to "
                                        "itself without changing the object's metadata, storage class, website "
                                        "redirect location or encryption attributes.")
    source = await read_source(call)
    if directive == "COPY":
        headers = {k: v for k, v in source.headers.items() if k in KEPT or k.startswith("x-object-meta-")}
    else:
        headers = {k: v for k, v in object_headers(call).items() if k != "etag"}
    headers["content-length"] = source.headers.get("content-length", "0")
    resp = await call.must(await call.swift("PUT", call.bucket, call.key, headers=headers, body=source.body),
                           key=True)
    await resp.close()
    return xml_response("CopyObjectResult", {"LastModified": s3_time(time.time()),
                                             "ETag": quoted(unquoted(resp.headers.get("etag", "")))},
                        headers={"last-modified": http_time(time.time())})
