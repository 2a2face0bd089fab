"""API errors and how each OpenStack service family renders them."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus

from starlette.responses import Response

# Nova and Cinder name the error object after the kind of fault.
_NOVA_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


class ApiError(Exception):
    """An error with an HTTP status; rendered in the calling service's own shape."""

    status = 500

    def __init__(self, message: str = "", *, status: int | None = None, headers: dict[str, str] | None = None):
        if status is not None:
            self.status = status
        self.message = message or HTTPStatus(self.status).description or HTTPStatus(self.status).phrase
        self.headers = headers or {}
        super().__init__(self.message)

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401

    def __init__(self, message: str = "The request you have made requires authentication.", **kw: object):
        super().__init__(message, **kw)  # type: ignore[arg-type]


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class NotAcceptable(ApiError):
    status = 406


class Conflict(ApiError):
    status = 409


class Gone(ApiError):
    status = 410


class PayloadTooLarge(ApiError):
    status = 413

    def __init__(self, message: str = "Request Entity Too Large", **kw: object):
        super().__init__(message, **kw)  # type: ignore[arg-type]


class UnsupportedMediaType(ApiError):
    status = 415


class NotImplementedFault(ApiError):
    status = 501


class ServiceUnavailable(ApiError):
    status = 503


def _json(status: int, body: object, headers: dict[str, str]) -> Response:
    return Response(json.dumps(body), status_code=status, headers=headers, media_type="application/json")


def keystone_error(err: ApiError) -> Response:
    body = {"error": {"code": err.status, "title": err.title, "message": err.message}}
    return _json(err.status, body, err.headers)


def nova_error(err: ApiError) -> Response:
    name = _NOVA_NAMES.get(err.status, "computeFault")
    return _json(err.status, {name: {"code": err.status, "message": err.message}}, err.headers)


def neutron_error(err: ApiError) -> Response:
    # Neutron's own errors are named by their class (NetworkNotFound, OverQuota…); what the
    # shared layer raises (a malformed body, an unknown route) is named as webob's HTTP errors.
    own = type(err).__module__.startswith("onestack.network")
    kind = type(err).__name__ if own else "HTTP" + HTTPStatus(err.status).phrase.replace(" ", "").replace("-", "")
    body = {"NeutronError": {"type": kind, "message": err.message, "detail": ""}}
    return _json(err.status, body, err.headers)


def placement_error(err: ApiError) -> Response:
    # The placement layer stamps ``request_id`` and (from microversion 1.23) ``error_code`` on the error.
    entry: dict[str, object] = {"status": err.status, "title": err.title, "detail": err.message,
                                "request_id": getattr(err, "request_id", "")}
    code = getattr(err, "error_code", None)
    if code:
        entry["code"] = code
    return _json(err.status, {"errors": [entry]}, err.headers)


def plain_error(err: ApiError) -> Response:
    """Glance and Swift answer with a short text/HTML body."""
    text = f"{err.status} {err.title}\n\n{err.message}\n"
    return Response(text, status_code=err.status, headers=err.headers, media_type="text/plain")


ErrorRenderer = Callable[[ApiError], Response]
