"""Multipart uploads as s3api keeps them: in the bucket's ``<bucket>+segments`` container, an upload
is a marker object ``<key>/<upload id>`` (it holds the final object's content type and metadata)
and its parts are ``<key>/<upload id>/<part number>``; completing one writes the key as a Static
Large Object over those parts (the slo middleware below us) and removes the marker."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from typing import Any

from onestack.object_store.proxy.request import SwiftResponse
from onestack.object_store.s3 import xmlutil
from onestack.object_store.s3.body import decoded
from onestack.object_store.s3.common import (
    MAX_KEYS,
    SEGMENTS_SUFFIX,
    S3Call,
    empty,
    quoted,
    s3_time,
    unquoted,
    xml_response,
)
from onestack.object_store.s3.errors import S3Error
from onestack.object_store.s3.objects import (
    S3_ETAG,
    body_length,
    check_key,
    object_headers,
    read_source,
)

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's: every part but the last
MAX_PART_NUMBER = 10000
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_MARKER = re.compile(r"^(?P<key>.+)/(?P<upload>[0-9a-f]{32})$")


def _segments(call: S3Call) -> str:
    assert call.bucket is not None
    return call.bucket + SEGMENTS_SUFFIX


def _upload_id(call: S3Call) -> str:
    upload = call.query.get("uploadId", "")
    if not _UPLOAD_ID.match(upload):
        raise S3Error("NoSuchUpload", UploadId=upload)
    return upload


async def _marker(call: S3Call, upload: str) -> SwiftResponse:
    """The upload's marker (its HEAD); NoSuchUpload when it is gone (aborted, completed, never)."""
    resp = await call.swift("HEAD", _segments(call), f"{call.key}/{upload}")
    await resp.close()
    if resp.status == 404:
        head = await call.swift("HEAD", call.bucket)
        await head.close()
        if head.status == 404:
            raise S3Error("NoSuchBucket", BucketName=call.bucket or "")
        raise S3Error("NoSuchUpload", UploadId=upload)
    return await call.must(resp)


async def _parts(call: S3Call, upload: str) -> dict[int, dict[str, Any]]:
    """The upload's parts by number (every page of the segments listing)."""
    prefix = f"{call.key}/{upload}/"
    found: dict[int, dict[str, Any]] = {}
    for row in await call.listing_all(_segments(call), prefix):
        number = row["name"][len(prefix):]
        if number.isdigit():
            found[int(number)] = row
    return found


async def initiate(call: S3Call) -> SwiftResponse:
    assert call.bucket is not None and call.key is not None
    check_key(call.key)
    await call.must(await call.swift("HEAD", call.bucket))
    seg = await call.swift("PUT", _segments(call))
    await call.must(seg)
    upload = uuid.uuid4().hex
    headers = {k: v for k, v in object_headers(call).items() if k != "etag"}
    headers.setdefault("content-type", "application/octet-stream")
    headers["content-length"] = "0"
    await call.must(await call.swift("PUT", _segments(call), f"{call.key}/{upload}", headers=headers))
    return xml_response("InitiateMultipartUploadResult",
                        {"Bucket": call.bucket, "Key": call.key, "UploadId": upload})


def _part_number(call: S3Call) -> int:
    raw = call.query.get("partNumber", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PART_NUMBER:
        raise S3Error("InvalidArgument", f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, "
                                         "inclusive", ArgumentName="partNumber", ArgumentValue=raw)
    return int(raw)


async def upload_part(call: S3Call) -> SwiftResponse:
    number = _part_number(call)
    upload = _upload_id(call)
    await _marker(call, upload)
    name = f"{call.key}/{upload}/{number}"
    if "x-amz-copy-source" in call.req.headers:
        source = await read_source(call, call.req.headers.get("x-amz-copy-source-range"))
        headers = {"content-length": source.headers.get("content-length", "0")}
        resp = await call.must(await call.swift("PUT", _segments(call), name, headers=headers, body=source.body))
        await resp.close()
        return xml_response("CopyPartResult", {"LastModified": s3_time(time.time()),
                                               "ETag": quoted(unquoted(resp.headers.get("etag", "")))})
    headers = {**{k: v for k, v in object_headers(call).items() if k == "etag"}, **body_length(call)}
    body = decoded(call.req.body.chunks(), call.payload)
    resp = await call.must(await call.swift("PUT", _segments(call), name, headers=headers, body=body))
    await resp.close()
    return empty(200, {"etag": quoted(unquoted(resp.headers.get("etag", "")))})


def _requested_parts(data: bytes) -> list[tuple[int, str]]:
    doc = xmlutil.parse(data)
    if xmlutil.local(doc.tag) != "CompleteMultipartUpload":
        raise S3Error("MalformedXML")
    out: list[tuple[int, str]] = []
    for part in xmlutil.children(doc, "Part"):
        number, etag = xmlutil.text(part, "PartNumber"), xmlutil.text(part, "ETag")
        if number is None or not number.strip().isdigit() or etag is None:
            raise S3Error("MalformedXML")
        out.append((int(number), unquoted(etag)))
    if not out:
        raise S3Error("MalformedXML")
    return out


async def complete(call: S3Call) -> SwiftResponse:
    assert call.bucket is not None and call.key is not None
    upload = _upload_id(call)
    marker = await _marker(call, upload)
    wanted = _requested_parts(await call.req.body.read(xmlutil.MAX_BODY))
    numbers = [n for n, _ in wanted]
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        raise S3Error("InvalidPartOrder", UploadId=upload)
    have = await _parts(call, upload)
    manifest: list[dict[str, Any]] = []
    md5s = b""
    for index, (number, etag) in enumerate(wanted):
        row = have.get(number)
        if row is None or row.get("hash") != etag:
            raise S3Error("InvalidPart", UploadId=upload, PartNumber=str(number), ETag=etag)
        if index < len(wanted) - 1 and int(row.get("bytes", 0)) < MIN_PART_SIZE:
            raise S3Error("EntityTooSmall", ProposedSize=str(row.get("bytes", 0)), MinSizeAllowed=str(MIN_PART_SIZE),
                          PartNumber=str(number), ETag=etag)
        manifest.append({"path": f"/{_segments(call)}/{call.key}/{upload}/{number}", "etag": etag,
                         "size_bytes": int(row.get("bytes", 0))})
        md5s += bytes.fromhex(etag)
    s3_etag = f"{hashlib.md5(md5s).hexdigest()}-{len(wanted)}"
    headers = {k: v for k, v in marker.headers.items()
               if k == "content-type" or k.startswith("x-object-meta-") or k in ("content-disposition",
                                                                                 "content-encoding", "cache-control")}
    headers[S3_ETAG] = s3_etag
    resp = await call.must(await call.swift("PUT", call.bucket, call.key, query={"multipart-manifest": "put"},
                                            headers=headers, body=json.dumps(manifest).encode()), key=True)
    await resp.close()
    # Parts uploaded but not named in the completion are not part of the object: S3 drops them.
    for number in sorted(set(have) - set(numbers)):
        gone = await call.swift("DELETE", _segments(call), f"{call.key}/{upload}/{number}")
        await gone.close()
    gone = await call.swift("DELETE", _segments(call), f"{call.key}/{upload}")
    await gone.close()
    return xml_response("CompleteMultipartUploadResult", {
        "Location": f"{call.req.host_url}{call.req.script_name}/s3/{call.bucket}/{call.key}",
        "Bucket": call.bucket, "Key": call.key, "ETag": quoted(s3_etag)})


async def abort(call: S3Call) -> SwiftResponse:
    upload = _upload_id(call)
    await _marker(call, upload)
    for number in sorted(await _parts(call, upload)):
        gone = await call.swift("DELETE", _segments(call), f"{call.key}/{upload}/{number}")
        await gone.close()
    gone = await call.swift("DELETE", _segments(call), f"{call.key}/{upload}")
    await gone.close()
    return empty(204)


def _limit(call: S3Call, name: str) -> int:
    raw = call.query.get(name, str(MAX_KEYS))
    if not raw.isdigit():
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer range",
                      ArgumentName=name, ArgumentValue=raw)
    return min(int(raw), MAX_KEYS)


async def list_parts(call: S3Call) -> SwiftResponse:
    upload = _upload_id(call)
    await _marker(call, upload)
    limit = _limit(call, "max-parts")
    after = call.query.get("part-number-marker", "0")
    start = int(after) if after.isdigit() else 0
    have = await _parts(call, upload)
    numbers = [n for n in sorted(have) if n > start]
    page = numbers[:limit]
    parts = [{"PartNumber": n, "LastModified": s3_time(have[n].get("last_modified")),
              "ETag": quoted(str(have[n].get("hash", ""))), "Size": have[n].get("bytes", 0)} for n in page]
    doc: dict[str, Any] = {"Bucket": call.bucket, "Key": call.key, "UploadId": upload,
                           "Initiator": call.owner(), "Owner": call.owner(), "StorageClass": "STANDARD",
                           "PartNumberMarker": start, "NextPartNumberMarker": page[-1] if page else start,
                           "MaxParts": limit, "IsTruncated": len(numbers) > limit, "Part": parts}
    return xml_response("ListPartsResult", doc)


async def list_uploads(call: S3Call) -> SwiftResponse:
    assert call.bucket is not None
    await call.must(await call.swift("HEAD", call.bucket))
    limit = _limit(call, "max-uploads")
    prefix = call.query.get("prefix", "")
    key_marker, id_marker = call.query.get("key-marker", ""), call.query.get("upload-id-marker", "")
    seg = await call.swift("HEAD", _segments(call))
    await seg.close()
    rows = await call.listing_all(_segments(call), prefix) if seg.ok else []
    uploads: list[dict[str, Any]] = []
    for row in rows:
        match = _MARKER.match(row.get("name", ""))
        if match is None:
            continue
        key, upload = match["key"], match["upload"]
        if key_marker and (key < key_marker or key == key_marker and (not id_marker or upload <= id_marker)):
            continue
        uploads.append({"Key": key, "UploadId": upload, "Initiator": call.owner(), "Owner": call.owner(),
                        "StorageClass": "STANDARD", "Initiated": s3_time(row.get("last_modified"))})
    truncated = len(uploads) > limit
    uploads = uploads[:limit]
    doc: dict[str, Any] = {"Bucket": call.bucket, "KeyMarker": key_marker, "UploadIdMarker": id_marker}
    if truncated and uploads:
        doc["NextKeyMarker"] = uploads[-1]["Key"]
        doc["NextUploadIdMarker"] = uploads[-1]["UploadId"]
    doc.update({"MaxUploads": limit, "IsTruncated": truncated, "Upload": uploads})
    if prefix:
        doc["Prefix"] = prefix
    return xml_response("ListMultipartUploadsResult", doc)
