"""Request/response helpers shared by every service's HTTP layer."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from onestack.core.api.faults import BadRequest, PayloadTooLarge, UnsupportedMediaType
from onestack.core.api.parse import INT64_MAX, INT64_MIN, fits, unstorable

Handler = Callable[[Request], Awaitable[Response]]


class RouteTable:
    """Collects a module's routes with decorators: ``@routes.get("/v3/projects")``."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, methods: list[str], path: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.routes.append(Route(path, fn, methods=methods))
            return fn

        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        # HEAD is answered by every GET route, as Keystone does.
        return self.add(["GET", "HEAD"], path)

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self.add(["POST"], path)

    def put(self, path: str) -> Callable[[Handler], Handler]:
        return self.add(["PUT"], path)

    def patch(self, path: str) -> Callable[[Handler], Handler]:
        return self.add(["PATCH"], path)

    def delete(self, path: str) -> Callable[[Handler], Handler]:
        return self.add(["DELETE"], path)

    def head(self, path: str) -> Callable[[Handler], Handler]:
        return self.add(["HEAD"], path)


def _dumps(body: Any) -> bytes:
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate stored before input was checked: still valid JSON as a \u escape,
        # so a reply never fails on data already stored.
        return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _unstorable_in(document: Any) -> str | None:
    """Why some string (key or value) inside a parsed document cannot be stored, or None."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            reason = unstorable(value)
            if reason is not None:
                return reason
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def _parse_int(literal: str) -> int:
    # No column of any service is wider than a signed 64-bit integer: a larger literal is refused while
    # parsing, before Python builds a huge int or a database driver overflows on it.
    if not fits(literal, INT64_MIN, INT64_MAX):
        raise _OutOfRange(literal)
    return int(literal)


def _parse_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e400 parses as inf, which no reply could carry as JSON
        raise _OutOfRange(literal)
    return value


def _refuse_constant(literal: str) -> Any:
    # NaN and Infinity are Python extensions, not JSON.
    raise _OutOfRange(literal)


class _OutOfRange(ValueError):
    def __init__(self, literal: str) -> None:
        shown = literal if len(literal) <= 40 else f"{literal[:20]}...{literal[-10:]}"
        super().__init__(f"the number {shown} is out of range")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(body), status_code=status, headers=headers, media_type="application/json")


def no_content(headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status_code=204, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """Read the whole body, refusing (413) anything over ``limit`` bytes even when chunked."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request, *, required: bool = True, media_types: Sequence[str] = ()) -> Any:
    """Parse the body as JSON; malformed JSON is a 400 in the caller's error shape.

    ``media_types``: further content types that carry JSON (Glance's JSON-patch types).
    """
    limit: int = getattr(request.app.state, "max_body_size", 114688)
    raw = await read_body(request, limit)
    if not raw.strip():
        if required:
            raise BadRequest("The request body is empty; a JSON document is required.")
        return None
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if (ctype and ctype not in ("application/json", "text/plain", "application/octet-stream", *media_types)
            and not ctype.endswith("+json")):
        raise UnsupportedMediaType(f"Content type {ctype} is not supported; send application/json.")
    return parse_json(raw)


def parse_json(raw: bytes | str) -> Any:
    """A JSON document a client sent; anything that cannot be stored and returned faithfully is a 400."""
    try:
        data = json.loads(raw, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"Malformed request body: {exc}") from None
    except _OutOfRange as exc:
        raise BadRequest(f"Malformed request body: {exc}.") from None
    except (ValueError, RecursionError):
        # Python's own parser limits (deep nesting): still the client's error.
        raise BadRequest("Malformed request body: a number or the nesting is too large.") from None
    reason = _unstorable_in(data)
    if reason is not None:
        raise BadRequest(f"Malformed request body: it contains {reason}.")
    return data
