"""The placement HTTP layer's plumbing: microversions, auth + policy, coded errors, links, validation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, TypeVar

import jsonschema
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import ApiError
from onestack.core.api.http import RouteTable, json_body
from onestack.core.api.microversion import MicroversionPolicy, Version
from onestack.core.auth import authenticate
from onestack.placement.service.common import UNDEFINED, bad_request, is_uuid, not_found
from onestack.placement.state import PlacementState

MICROVERSIONS = MicroversionPolicy(service_type="placement", minimum=Version(1, 0), maximum=Version(1, 39))
T = TypeVar("T")


def V(minor: int) -> Version:
    return Version(1, minor)


@dataclass
class Req:
    """One placement request as a handler sees it."""

    request: Request
    version: Version
    state: PlacementState

    def at_least(self, minor: int) -> bool:
        return self.version >= Version(1, minor)

    @property
    def params(self) -> Any:
        return self.request.query_params

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.state.db.read(fn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.state.db.write(fn, *args)

    def href(self, path: str) -> str:
        """Links in bodies are paths under the service's mount point, as placement writes them."""
        return f"{self.request.scope.get('root_path', '')}{path}"

    def location(self, path: str) -> str:
        url = self.request.url
        return f"{url.scheme}://{url.netloc}{self.href(path)}"

    async def body(self, schema: dict[str, Any]) -> Any:
        data = await json_body(self.request)
        validate(data, schema)
        return data

    def check_params(self, allowed: dict[str, int]) -> None:
        """Refuse (400) query parameters unknown at this microversion (``allowed``: name -> min minor)."""
        unknown = sorted(k for k in self.params if k not in allowed or not self.at_least(allowed[k]))
        if unknown:
            raise bad_request("Invalid query string parameters: Additional properties are not allowed "
                              f"({', '.join(repr(k) for k in unknown)} {'was' if len(unknown) == 1 else 'were'} "
                              "unexpected)")


def _check_uuid(value: object) -> bool:
    return not isinstance(value, str) or is_uuid(value)


_FORMATS = jsonschema.FormatChecker()
_FORMATS.checks("uuid")(_check_uuid)


def validate(data: Any, schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(schema, format_checker=_FORMATS)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        raise bad_request(f"JSON does not validate: {error.message}" + (f" (at {where})" if where else ""))


Handler = Callable[[Req], Awaitable[Response]]


def _stamp_error(err: ApiError, request: Request, version: Version | None) -> None:
    err.request_id = request.scope.get("state", {}).get("request_id", "")  # type: ignore[attr-defined]
    if version is None:
        return
    err.headers = {**err.headers, **MICROVERSIONS.response_headers(version)}
    # Error codes are part of the body from 1.23 on.
    err.error_code = (getattr(err, "error_code", None) or UNDEFINED) if version >= V(23) else None  # type: ignore


class PlacementRoutes:
    """``@routes.get(path, rule, since=minor)``: microversion, auth and policy around a handler."""

    def __init__(self) -> None:
        self.table = RouteTable()

    @property
    def routes(self) -> list[Any]:
        return self.table.routes

    def add(self, methods: list[str], path: str, rule: str | None, since: int = 0) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                version: Version | None = None
                try:
                    version = MICROVERSIONS.negotiate(request)
                    state: PlacementState = request.app.state.placement
                    if rule is not None:
                        ctx = await authenticate(request)
                        state.enforcer.enforce(rule, {}, ctx.credentials())
                    if version < V(since):
                        raise not_found("The resource could not be found.")
                    await state.ensure_seeded()
                    response = await fn(Req(request, version, state))
                except ApiError as err:
                    _stamp_error(err, request, version)
                    raise
                response.headers.update(MICROVERSIONS.response_headers(version))
                if request.method in ("GET", "HEAD") and version >= V(15):
                    response.headers["cache-control"] = "no-cache"
                    response.headers["last-modified"] = formatdate(usegmt=True)
                return response

            endpoint.__name__ = fn.__name__
            self.table.add(methods, path)(endpoint)
            return fn

        return register

    def get(self, path: str, rule: str | None, since: int = 0) -> Callable[[Handler], Handler]:
        return self.add(["GET", "HEAD"], path, rule, since)

    def put(self, path: str, rule: str, since: int = 0) -> Callable[[Handler], Handler]:
        return self.add(["PUT"], path, rule, since)

    def post(self, path: str, rule: str, since: int = 0) -> Callable[[Handler], Handler]:
        return self.add(["POST"], path, rule, since)

    def delete(self, path: str, rule: str, since: int = 0) -> Callable[[Handler], Handler]:
        return self.add(["DELETE"], path, rule, since)


UUID_SCHEMA: dict[str, Any] = {"type": "string", "format": "uuid"}
NAME_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^[A-Z0-9_]+$", "maxLength": 255}
CUSTOM_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^CUSTOM_[A-Z0-9_]+$", "maxLength": 255}
