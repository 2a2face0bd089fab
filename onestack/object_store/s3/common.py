"""What the S3 controllers share: the Swift sub-request, S3's response shapes, names and dates."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import Handler, Headers, SwiftRequest, SwiftResponse
from onestack.object_store.s3.errors import S3Error, from_swift
from onestack.object_store.s3.xmlutil import to_xml
from onestack.object_store.state import ObjectStoreState

SEGMENTS_SUFFIX = "+segments"  # s3api's container for multipart upload parts
MAX_KEYS = 1000
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def check_bucket(name: str) -> None:
    """S3's DNS-compatible bucket names (3-63 of a-z 0-9 . -, no IP address, no ``..``)."""
    if not _BUCKET.match(name) or ".." in name or ".-" in name or "-." in name or _IP.match(name):
        raise S3Error("InvalidBucketName", BucketName=name)


def s3_time(value: str | float | None) -> str:
    """``2024-05-01T10:00:00.000Z`` from a Swift listing's ``last_modified`` or a Unix time."""
    if value is None or value == "":
        return "1970-01-01T00:00:00.000Z"
    if isinstance(value, float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    # Swift's "2024-05-01T10:00:00.123456" (maybe without the fraction) → milliseconds and Z.
    text = str(value).rstrip("Z")
    whole, _, fraction = text.partition(".")
    return f"{whole[:19]}.{(fraction + '000')[:3]}Z"


def http_time(value: float) -> str:
    return format_datetime(datetime.fromtimestamp(value, UTC), usegmt=True)


def quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def unquoted(etag: str) -> str:
    return etag.strip().strip('"')


def xml_response(root: str, doc: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
                 ) -> SwiftResponse:
    body = to_xml(root, doc, namespace=True)
    out = Headers(headers or {})
    out["content-type"] = "application/xml"
    out["content-length"] = str(len(body))
    return SwiftResponse(status, out, body)


def empty(status: int = 200, headers: dict[str, str] | None = None) -> SwiftResponse:
    out = Headers(headers or {})
    out["content-length"] = "0"
    return SwiftResponse(status, out, b"")


@dataclass
class S3Call:
    """One S3 request, resolved: who (``account``), what (``bucket``, ``key``), and the Swift below."""

    state: ObjectStoreState
    req: SwiftRequest
    app: Handler
    account: str
    bucket: str | None
    key: str | None
    request_id: str = ""
    payload: str = ""  # SigV4's x-amz-content-sha256: how the body is to be read (s3/body.py)

    def __post_init__(self) -> None:
        self.request_id = self.request_id or uuid.uuid4().hex[:16].upper()

    @property
    def query(self) -> dict[str, str]:
        return self.req.query

    def path(self, container: str | None = None, obj: str | None = None) -> str:
        out = f"/v1/{self.account}"
        if container is not None:
            out += f"/{container}"
            if obj is not None:
                out += f"/{obj}"
        return out

    async def swift(self, method: str, container: str | None = None, obj: str | None = None, *,
                    query: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                    body: Any = b"") -> SwiftResponse:
        """A Swift sub-request as the S3 caller; Swift's errors come back as responses, not raised."""
        headers = dict(headers or {})
        if isinstance(body, bytes) and method in ("PUT", "POST"):
            headers.setdefault("content-length", str(len(body)))
        sub = self.req.sub(method, self.path(container, obj), headers=headers, body=body, query=query,
                           source="S3")
        try:
            return await self.app(sub)
        except S3Error:
            raise
        except SwiftError as err:
            return SwiftResponse(err.status, Headers(err.headers), err.body)

    async def must(self, resp: SwiftResponse, *, key: bool = False) -> SwiftResponse:
        """``resp`` when it succeeded; else the S3 error for it (404 of a key: NoSuchKey or NoSuchBucket)."""
        if resp.ok:
            return resp
        await resp.close()
        if resp.status == 404 and key and self.bucket is not None:
            head = await self.swift("HEAD", self.bucket)
            await head.close()
            if head.status == 404:
                raise S3Error("NoSuchBucket", BucketName=self.bucket)
            raise S3Error("NoSuchKey", Key=self.key or "")
        err = from_swift(resp.status, key=key)
        if err.code == "NoSuchBucket" and self.bucket:
            err.fields["BucketName"] = self.bucket
        raise err

    async def listing(self, container: str, query: dict[str, str]) -> list[dict[str, Any]]:
        resp = await self.must(await self.swift("GET", container, query={**query, "format": "json"}))
        data = await resp.read()
        if resp.status == 204 or not data.strip():
            return []
        found: list[dict[str, Any]] = json.loads(data)
        return found

    async def listing_all(self, container: str, prefix: str) -> list[dict[str, Any]]:
        """Every row of ``container`` under ``prefix``, page by page."""
        rows: list[dict[str, Any]] = []
        marker = ""
        while True:
            query = {"prefix": prefix, "limit": str(MAX_KEYS)}
            if marker:
                query["marker"] = marker
            page = await self.listing(container, query)
            rows += page
            if len(page) < MAX_KEYS:
                return rows
            marker = page[-1]["name"]

    async def listing_account(self) -> list[dict[str, Any]]:
        resp = await self.must(await self.swift("GET", query={"format": "json", "limit": str(10000)}))
        data = await resp.read()
        if resp.status == 204 or not data.strip():
            return []
        found: list[dict[str, Any]] = json.loads(data)
        return found

    def owner(self) -> dict[str, str]:
        auth = self.req.ctx.auth
        project = auth.project_id if auth is not None and auth.project_id else self.account
        name = auth.project_name if auth is not None and auth.project_name else project
        return {"ID": project, "DisplayName": name or project}


def key_text(name: str, encoding: str | None) -> str:
    """A key in a listing, url-encoded when the client asked (``encoding-type=url``)."""
    return quote(name, safe="/") if encoding == "url" else name
