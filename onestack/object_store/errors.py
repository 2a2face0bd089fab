"""Swift's error answers: a status and a short HTML body (``<html><h1>Not Found</h1><p>…</p></html>``),
as swob renders them. Raised anywhere below the proxy's ASGI adapter, which renders them."""

from __future__ import annotations

from http import HTTPStatus

# swob's explanations for the statuses Swift answers with a body.
EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed or otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document you requested.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method is not allowed for this resource.",
    408: "The server has waited too long for the request to be sent by the client.",
    409: "There was a conflict when trying to complete your request.",
    411: "Length Required",
    412: "A precondition for this request was not met.",
    413: "The body of your request was too large for this server.",
    414: "The request URI was too long for this server.",
    416: "The Range requested is not available.",
    422: "The entity was unprocessable.",
    499: "The client disconnected during request.",
    500: "The server has either erred or is incapable of performing the requested operation.",
    501: "The requested method is not implemented by this server.",
    503: "The server is currently unavailable. Please try again at a later time.",
    507: "There was not enough space to save the resource.",
}


def reason(status: int) -> str:
    if status == 499:
        return "Client Disconnect"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def html_body(status: int, detail: str | None = None) -> bytes:
    """swob's body: the given detail as plain text when there is one, else the HTML explanation."""
    if detail is not None:
        return detail.encode()
    explanation = EXPLANATIONS.get(status, "")
    return f"<html><h1>{reason(status)}</h1><p>{explanation}</p></html>".encode()


class SwiftError(Exception):
    """An answer other than success: status, optional plain-text body, extra headers."""

    def __init__(self, status: int, detail: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or reason(status))
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})

    @property
    def body(self) -> bytes:
        return b"" if self.status in (204, 304) else html_body(self.status, self.detail)


def bad_request(detail: str | None = None) -> SwiftError:
    return SwiftError(400, detail)


def unauthorized() -> SwiftError:
    return SwiftError(401, headers={"www-authenticate": "Keystone uri=''"})


def forbidden(detail: str | None = None) -> SwiftError:
    return SwiftError(403, detail)


def not_found(detail: str | None = None) -> SwiftError:
    return SwiftError(404, detail)


def conflict(detail: str | None = None) -> SwiftError:
    return SwiftError(409, detail)


def precondition_failed(detail: str | None = None) -> SwiftError:
    return SwiftError(412, detail)


def too_large(detail: str | None = None) -> SwiftError:
    return SwiftError(413, detail)


def unprocessable(detail: str | None = None) -> SwiftError:
    return SwiftError(422, detail)


def unavailable(detail: str | None = None) -> SwiftError:
    return SwiftError(503, detail)
