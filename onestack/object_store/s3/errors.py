"""S3's error answers: ``<Error><Code>NoSuchKey</Code><Message>…</Message>…</Error>`` with S3's status.

``S3Error`` is a ``SwiftError`` so that whatever lets a ``SwiftError`` through (a body iterator
failing mid-PUT, the ASGI adapter) carries it unchanged; the s3api middleware renders it as XML.
"""

from __future__ import annotations

from onestack.object_store.errors import SwiftError
from onestack.object_store.s3.xmlutil import to_xml

# Code → (status, AWS's message).
CODES: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied."),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "BucketAlreadyExists": (409, ("The requested bucket name is not available. The bucket namespace is shared by "
                                 "all users of the system. Please select a different name and try again.")),
    "BucketAlreadyOwnedByYou": (409, ("Your previous request to create the named bucket succeeded and you "
                                     "already own it.")),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty"),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed object size."),
    "IncompleteBody": (400, "You did not provide the number of bytes specified by the Content-Length HTTP header."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The AWS Access Key Id you provided does not exist in our records."),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidDigest": (400, "The Content-MD5 you specified is not valid."),
    "InvalidLocationConstraint": (400, "The specified location constraint is not valid."),
    "InvalidPart": (400, ("One or more of the specified parts could not be found. The part might not have been "
                         "uploaded, or the specified entity tag might not have matched the part's entity tag.")),
    "InvalidPartOrder": (400, ("The list of parts was not in ascending order. The parts list must be specified "
                              "in order by part number.")),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request"),
    "KeyTooLongError": (400, "Your key is too long."),
    "MalformedXML": (400, ("The XML you provided was not well-formed or did not validate against our published "
                          "schema.")),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingSecurityHeader": (400, "Your request was missing a required header."),
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchUpload": (404, ("The specified multipart upload does not exist. The upload ID might be invalid, or the "
                          "multipart upload might have been aborted or completed.")),
    "NotImplemented": (501, "A header you provided implies functionality that is not implemented."),
    "PreconditionFailed": (412, "At least one of the preconditions you specified did not hold."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the current time is too large."),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": (403, ("The request signature we calculated does not match the signature you "
                                   "provided. Check your key and signing method.")),
    "XAmzContentSHA256Mismatch": (400, ("The provided 'x-amz-content-sha256' header does not match what was "
                                       "computed.")),
}


class S3Error(SwiftError):
    def __init__(self, code: str, message: str | None = None, **fields: str) -> None:
        status, default = CODES[code]
        super().__init__(status, message or default)
        self.code = code
        self.message = message or default
        self.fields = fields
        self.resource = ""

    @property
    def body(self) -> bytes:
        doc: dict[str, object] = {"Code": self.code, "Message": self.message}
        if self.resource:
            doc["Resource"] = self.resource
        doc.update(self.fields)
        return to_xml("Error", doc)


def from_swift(status: int, *, key: bool = False) -> S3Error:
    """The S3 error for a Swift status of a sub-request (``key``: the request named an object)."""
    if status == 404:
        return S3Error("NoSuchKey" if key else "NoSuchBucket")
    if status in (401, 403):
        return S3Error("AccessDenied")
    if status == 409:
        return S3Error("BucketNotEmpty")
    if status == 412:
        return S3Error("PreconditionFailed")
    if status == 413:
        return S3Error("EntityTooLarge")
    if status == 416:
        return S3Error("InvalidRange")
    if status == 422:
        return S3Error("BadDigest")
    if status == 411:
        return S3Error("MissingContentLength")
    if status == 400:
        return S3Error("InvalidArgument")
    if status == 499:
        return S3Error("IncompleteBody")
    if status == 503:
        return S3Error("ServiceUnavailable")
    if status == 501:
        return S3Error("NotImplemented")
    return S3Error("InternalError")
