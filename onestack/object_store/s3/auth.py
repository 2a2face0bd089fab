"""What an S3 request signed, and with which access key (Swift's s3api ``S3Request`` / ``SigV4Mixin``).

The proxy never holds the secret: it rebuilds the *string to sign* the client signed (SigV4:
``AWS4-HMAC-SHA256`` + date + scope + the canonical request's hash; SigV2: verb, MD5, type, date,
``x-amz-*`` headers and the resource) and identity's ``/v3/s3tokens`` recomputes the signature
with the secret (s3/keystone.py). Four shapes: SigV4 in the ``Authorization`` header or in the
query (presigned URL), SigV2 likewise (``AWS <access>:<signature>``, ``AWSAccessKeyId`` +
``Signature`` + ``Expires``).

The payload: SigV4 signs ``x-amz-content-sha256``; a hex digest is checked against the body as it
streams (s3/body.py), ``UNSIGNED-PAYLOAD`` and the ``STREAMING-*`` aws-chunked forms are decoded
but their chunk signatures are not checked (they need the secret; the seed signature covers the
request's headers and the declared decoded length).
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from dataclasses import dataclass
from email.utils import mktime_tz, parsedate_tz
from urllib.parse import quote

from onestack.object_store.proxy.request import SwiftRequest
from onestack.object_store.s3.errors import S3Error

V4 = "AWS4-HMAC-SHA256"
MAX_SKEW = 15 * 60  # seconds: S3's allowance between the request's date and ours
MAX_PRESIGNED = 7 * 24 * 3600
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
             "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
# SigV2's canonical resource keeps these query parameters (botocore's and AWS's list).
V2_SUBRESOURCES = frozenset((
    "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
    "requestPayment", "restore", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
    "versions", "website", "object-lock", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "response-content-language", "response-content-type", "response-expires",
))
_SPACES = re.compile(r"\s+")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Signed:
    """An S3 request's claim: this access key signed ``string_to_sign`` giving ``signature``."""

    access: str
    signature: str
    string_to_sign: bytes
    payload: str = UNSIGNED  # SigV4's x-amz-content-sha256 (a hex digest, UNSIGNED-PAYLOAD, STREAMING-…)


def is_s3(req: SwiftRequest) -> bool:
    auth = req.headers.get("authorization", "")
    return (auth.startswith((V4, "AWS ")) or "X-Amz-Credential" in req.query or "AWSAccessKeyId" in req.query)


def _uri(path: str) -> str:
    return quote(path, safe="/~")


def _amz_date(value: str) -> float:
    try:
        return float(calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None


def _http_date(value: str) -> float:
    parsed = parsedate_tz(value)
    if parsed is None:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    return float(mktime_tz(parsed))


def _check_skew(when: float, now: float) -> None:
    if abs(now - when) > MAX_SKEW:
        raise S3Error("RequestTimeTooSkewed")


def _v4_fields(header: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in header[len(V4):].split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            fields[key] = value
    if not {"Credential", "SignedHeaders", "Signature"} <= set(fields):
        raise S3Error("AccessDenied", "Authorization header is malformed")  # S3: AuthorizationHeaderMalformed
    return fields


def _canonical_query(query: dict[str, str], skip: str = "") -> str:
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query.items() if k != skip)
    return "&".join(f"{k}={v}" for k, v in pairs)


def _canonical_headers(req: SwiftRequest, signed: list[str]) -> str:
    lines = []
    for name in signed:
        if name not in req.headers:
            raise S3Error("AccessDenied", f"The header {name!r} is signed but not sent")
        lines.append(f"{name}:{_SPACES.sub(' ', req.headers[name].strip())}\n")
    return "".join(lines)


def _v4(req: SwiftRequest, full_path: str, now: float) -> Signed:
    presigned = "X-Amz-Credential" in req.query
    if presigned:
        q = req.query
        if q.get("X-Amz-Algorithm") != V4:
            raise S3Error("InvalidArgument", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        credential, signed_headers = q.get("X-Amz-Credential", ""), q.get("X-Amz-SignedHeaders", "")
        signature, date = q.get("X-Amz-Signature", ""), q.get("X-Amz-Date", "")
        expires = q.get("X-Amz-Expires", "")
        if not expires.isdigit() or not 0 < int(expires) <= MAX_PRESIGNED:
            raise S3Error("InvalidArgument", "X-Amz-Expires must be between 1 and 604800 seconds")
        when = _amz_date(date)
        if now > when + int(expires):
            raise S3Error("AccessDenied", "Request has expired")
        if when - now > MAX_SKEW:
            raise S3Error("AccessDenied", "Request is not valid yet")
        payload = req.headers.get("x-amz-content-sha256", UNSIGNED)
        query = _canonical_query(req.query, skip="X-Amz-Signature")
    else:
        fields = _v4_fields(req.headers["authorization"])
        credential, signed_headers, signature = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
        date = req.headers.get("x-amz-date", "")
        when = _amz_date(date) if date else _http_date(req.headers.get("date", ""))
        if not date:
            date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
        _check_skew(when, now)
        payload = req.headers.get("x-amz-content-sha256", "")
        if not payload:
            raise S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        if payload != UNSIGNED and payload not in STREAMING and not _HEX64.match(payload):
            raise S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                                             "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.")
        query = _canonical_query(req.query)
    access, _, scope = credential.partition("/")
    parts = scope.split("/")
    if not access or len(parts) != 4 or parts[3] != "aws4_request" or parts[2] != "s3" or \
            not date.startswith(parts[0]):
        raise S3Error("AccessDenied", "Invalid credential scope")
    signed = [h.strip().lower() for h in signed_headers.split(";") if h.strip()]
    if "host" not in signed:
        raise S3Error("AccessDenied", "Host must be a signed header")
    canonical = "\n".join((req.method, _uri(full_path), query, _canonical_headers(req, signed),
                           ";".join(signed), payload))
    text = "\n".join((V4, date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()))
    return Signed(access, signature, text.encode("utf-8"), payload)


def _v2(req: SwiftRequest, resource_path: str, now: float) -> Signed:
    if "AWSAccessKeyId" in req.query:
        access, signature = req.query["AWSAccessKeyId"], req.query.get("Signature", "")
        expires = req.query.get("Expires", "")
        if not expires.isdigit():
            raise S3Error("AccessDenied", "Query-string authentication requires the Signature, Expires and "
                                          "AWSAccessKeyId parameters")
        if now > int(expires):
            raise S3Error("AccessDenied", "Request has expired")
        date = expires
    else:
        access, _, signature = req.headers["authorization"][4:].strip().rpartition(":")
        if "x-amz-date" in req.headers:
            _check_skew(_http_date(req.headers["x-amz-date"]), now)
            date = ""
        else:
            date = req.headers.get("date", "")
            _check_skew(_http_date(date), now)
    if not access or not signature:
        raise S3Error("AccessDenied", "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
    amz = sorted((k, _SPACES.sub(" ", v.strip())) for k, v in req.headers.items() if k.startswith("x-amz-"))
    subs = sorted((k, v) for k, v in req.query.items() if k in V2_SUBRESOURCES)
    resource = _uri(resource_path)
    if subs:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in subs)
    text = "\n".join((req.method, req.headers.get("content-md5", ""), req.headers.get("content-type", ""), date,
                      *(f"{k}:{v}" for k, v in amz), resource))
    return Signed(access, signature, text.encode("utf-8"))


def signed_by(req: SwiftRequest, full_path: str, resource_path: str, now: float | None = None) -> Signed:
    """The claim of an S3 request. SigV4 signs ``full_path``, the path the client used (mount prefix
    included); SigV2 signs S3's canonical resource, ``resource_path`` = ``/<bucket>/<key>``."""
    now = time.time() if now is None else now
    auth = req.headers.get("authorization", "")
    if auth.startswith(V4) or "X-Amz-Credential" in req.query:
        return _v4(req, full_path, now)
    return _v2(req, resource_path, now)
