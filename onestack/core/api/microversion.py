"""Microversion negotiation (``OpenStack-API-Version`` and the legacy per-service headers)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onestack.core.api.faults import ApiError, BadRequest, ErrorRenderer, NotAcceptable
from onestack.core.api.routing import get_route_path

_VERSION_RE = re.compile(r"^([1-9]\d*)\.(0|[1-9]\d*)$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION_RE.match(text.strip())
        if not match:
            raise BadRequest(f"Invalid microversion {text!r}: expected MAJOR.MINOR or 'latest'.")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True)
class MicroversionPolicy:
    service_type: str  # as named in the header: compute, volume, placement
    minimum: Version
    maximum: Version
    legacy_header: str | None = None  # e.g. X-OpenStack-Nova-API-Version

    def negotiate(self, request: Request) -> Version:
        """The version the client asked for; the minimum when it asked for none, 406 when out of range."""
        asked = self._requested(request)
        if asked is None:
            return self.minimum
        if asked.strip().lower() == "latest":
            return self.maximum
        version = Version.parse(asked)
        if not self.minimum <= version <= self.maximum:
            raise NotAcceptable(
                f"Version {version} is not supported by the API. Minimum is {self.minimum} "
                f"and maximum is {self.maximum}."
            )
        return version

    def _requested(self, request: Request) -> str | None:
        for value in request.headers.getlist("openstack-api-version"):
            for item in value.split(","):
                parts = item.strip().split(None, 1)
                if len(parts) == 2 and parts[0].lower() == self.service_type:
                    return parts[1]
        if self.legacy_header:
            legacy = request.headers.get(self.legacy_header)
            if legacy:
                return legacy
        return None

    def response_headers(self, version: Version) -> dict[str, str]:
        headers = {
            "OpenStack-API-Version": f"{self.service_type} {version}",
            "Vary": "OpenStack-API-Version",
        }
        if self.legacy_header:
            headers[self.legacy_header] = str(version)
            headers["Vary"] += f", {self.legacy_header}"
        return headers


def microversion_of(request: Request) -> Version:
    """The version negotiated for this request by ``MicroversionMiddleware``."""
    version: Version = request.scope["state"]["microversion"]
    return version


class MicroversionMiddleware:
    """Negotiates the microversion for every request under ``versioned_prefix`` of one service.

    The version lands in ``scope["state"]["microversion"]``; every response (errors too)
    carries the version headers; a bad or out-of-range request is refused in the service's
    own error shape before any handler runs.
    """

    def __init__(self, app: ASGIApp, policy: MicroversionPolicy, render_error: ErrorRenderer,
                 versioned_prefix: str) -> None:
        self.app = app
        self.policy = policy
        self.render_error = render_error
        self.versioned_prefix = versioned_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not get_route_path(scope).startswith(self.versioned_prefix):
            await self.app(scope, receive, send)
            return
        try:
            version = self.policy.negotiate(Request(scope))
        except ApiError as err:
            await self.render_error(err)(scope, receive, send)
            return
        scope.setdefault("state", {})["microversion"] = version
        extra = [(k.lower().encode(), v.encode()) for k, v in self.policy.response_headers(version).items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
