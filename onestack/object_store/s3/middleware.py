"""Swift's s3api: the S3 protocol at ``<object-store endpoint>/s3`` (path-style: ``/s3/<bucket>/<key>``).

A request under ``/s3`` must be signed with an EC2 credential (SigV4 or SigV2, header or presigned;
s3/auth.py); identity checks the signature (s3/keystone.py, ``state.ec2_lookup``) and names the
caller, who then acts on ``AUTH_<project>`` through the rest of the pipeline (authtoken sees the
caller set and keystoneauth authorizes as for a token). The S3 operation becomes Swift
sub-requests (buckets.py, objects.py, multipart.py); errors are S3's XML.

Why a ``/s3`` prefix rather than the endpoint's root as Swift's s3api: Swift's own namespace
(``/v1/...``, ``/info``) would otherwise shadow the buckets named ``v1`` and ``info``; under
``/s3`` every bucket name is an S3 bucket. Clients set ``endpoint_url=<base>/object-store/s3``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
)
from onestack.object_store.s3 import buckets, multipart, objects
from onestack.object_store.s3.auth import is_s3, signed_by
from onestack.object_store.s3.common import S3Call
from onestack.object_store.s3.errors import S3Error, from_swift
from onestack.object_store.state import ObjectStoreState

log = logging.getLogger("onestack.object_store.s3")

PREFIX = "/s3"
Op = Callable[[S3Call], Awaitable[SwiftResponse]]
# Subresources S3 has and we do not offer: NotImplemented rather than a wrong answer.
UNSUPPORTED = ("lifecycle", "policy", "cors", "tagging", "website", "logging", "notification", "replication",
               "encryption", "object-lock", "accelerate", "requestPayment", "versions", "retention",
               "legal-hold", "torrent", "restore", "select", "inventory", "analytics", "metrics",
               "ownershipControls", "publicAccessBlock", "intelligent-tiering", "attributes")


def _not_allowed(call: S3Call) -> Awaitable[SwiftResponse]:
    raise S3Error("MethodNotAllowed", Method=call.req.method,
                  ResourceType="OBJECT" if call.key else "BUCKET" if call.bucket else "SERVICE")


async def _head_object(call: S3Call) -> SwiftResponse:
    return await objects.get_object(call, head=True)


def operation(call: S3Call) -> Op:
    """Which S3 operation a request is (by method, path depth and subresource)."""
    method, q = call.req.method, call.query
    unsupported = next((name for name in UNSUPPORTED if name in q), None)
    if unsupported is not None:
        raise S3Error("NotImplemented", f"The {unsupported} subresource is not offered.")
    if call.bucket is None:
        return buckets.list_buckets if method == "GET" else _not_allowed
    if call.key is None:
        table: dict[str, Op] = {"HEAD": buckets.head_bucket, "DELETE": buckets.delete_bucket}
        if method == "GET":
            for name, op in (("acl", buckets.get_acl), ("location", buckets.get_location),
                             ("versioning", buckets.get_versioning), ("uploads", multipart.list_uploads)):
                if name in q:
                    return op
            return buckets.list_objects
        if method == "PUT":
            if "versioning" in q:
                raise S3Error("NotImplemented", "Versioning is not offered.")
            return buckets.put_acl if "acl" in q else buckets.create_bucket
        if method == "POST":
            return buckets.delete_objects if "delete" in q else _not_allowed
        return table.get(method, _not_allowed)
    if method == "GET":
        return multipart.list_parts if "uploadId" in q else buckets.get_acl if "acl" in q else objects.get_object
    if method == "HEAD":
        return _head_object
    if method == "PUT":
        if "uploadId" in q or "partNumber" in q:
            return multipart.upload_part
        return buckets.put_acl if "acl" in q else objects.put_object
    if method == "POST":
        if "uploads" in q:
            return multipart.initiate
        if "uploadId" in q:
            return multipart.complete
        raise S3Error("NotImplemented", "POST Object (browser form upload) is not offered.")
    if method == "DELETE":
        return multipart.abort if "uploadId" in q else objects.delete_object
    return _not_allowed


def _render(err: S3Error, req: SwiftRequest, request_id: str) -> SwiftResponse:
    err.resource = req.script_name + req.path
    err.fields.setdefault("RequestId", request_id)
    body = err.body
    headers = Headers(err.headers)
    headers.update({"content-type": "application/xml", "content-length": str(len(body)),
                    "x-amz-request-id": request_id, "x-amz-id-2": request_id})
    return SwiftResponse(err.status, headers, body)


def factory(state: ObjectStoreState) -> Middleware | None:
    state.info.register("s3api", path=PREFIX, max_bucket_listing=1000, max_parts_listing=1000,
                        max_upload_part_num=multipart.MAX_PART_NUMBER, max_multi_delete_objects=1000,
                        min_segment_size=multipart.MIN_PART_SIZE, allow_multipart_uploads=True, s3_acl=False,
                        location=state.region)

    async def serve(app: Handler, req: SwiftRequest, request_id: str) -> SwiftResponse:
        if not is_s3(req):
            raise S3Error("AccessDenied", "Anonymous access is not offered: sign the request.")
        if state.ec2_lookup is None:
            raise S3Error("ServiceUnavailable", "The S3 front door has no credential checker.")
        signed = signed_by(req, req.script_name + req.path, req.path[len(PREFIX):] or "/")
        caller = await state.ec2_lookup(signed)
        if not caller.project_id:
            raise S3Error("AccessDenied", "The credential is not for a project.")
        req.ctx.auth = caller
        req.ctx.signed_by = signed.access
        rest = req.path[len(PREFIX):].lstrip("/")
        bucket, _, key = rest.partition("/")
        call = S3Call(state, req, app, f"AUTH_{caller.project_id}", bucket or None, key or None,
                      request_id=request_id, payload=signed.payload)
        resp = await operation(call)(call)
        resp.headers["x-amz-request-id"] = request_id
        resp.headers["x-amz-id-2"] = request_id
        return resp

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            if req.path != PREFIX and not req.path.startswith(PREFIX + "/"):
                return await app(req)
            request_id = req.ctx.request_id or uuid.uuid4().hex
            try:
                return await serve(app, req, request_id)
            except S3Error as err:
                return _render(err, req, request_id)
            except SwiftError as err:
                log.info("%s: Swift said %s to an S3 request", request_id, err.status)
                return _render(from_swift(err.status), req, request_id)
            except Exception:
                # A bug: still an S3 answer, so the client shows S3's error rather than failing to parse.
                log.exception("%s: the S3 request failed", request_id)
                return _render(S3Error("InternalError"), req, request_id)

        return handle

    return middleware
