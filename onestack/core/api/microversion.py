"""Microversion negotiation (``OpenStack-API-Version`` and the legacy per-service headers)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request

from onestack.core.api.faults import BadRequest, NotAcceptable

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
