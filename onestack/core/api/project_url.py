"""A project id in the URL (``/v3/{project_id}/volumes``), optional as Cinder makes it since 3.67.

Catalogs written for older clients name the project in the endpoint (DevStack's
``/volume/v3/$(project_id)s``); newer ones do not. ``ProjectInUrl`` takes the segment after the
version out of the path before routing, so one route table serves both spellings, and keeps it
in ``scope["state"]["url_project_id"]``: the service compares it with the caller's project
(``url_project``) and answers a mismatch as OpenStack does (400 ``Malformed request url``).
A segment is taken for a project id only when it is not one of the service's own collection
names and looks like an id (hex or uuid with dashes).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from onestack.core.api.routing import get_route_path

_ID = re.compile(r"^[0-9a-fA-F-]{32,36}$")
KEY = "url_project_id"


class ProjectInUrl:
    def __init__(self, app: ASGIApp, version_prefix: str, collections: Collection[str]) -> None:
        self.app = app
        self.prefix = version_prefix.rstrip("/") + "/"  # "/v3/"
        self.collections = set(collections)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            below = get_route_path(scope)
            if below.startswith(self.prefix):
                rest = below[len(self.prefix):]
                segment, sep, tail = rest.partition("/")
                if segment and segment not in self.collections and _ID.match(segment):
                    root = scope.get("root_path", "")
                    path = f"{root}{self.prefix}{tail}" if sep else f"{root}{self.prefix.rstrip('/')}"
                    state = dict(scope.get("state", {}))
                    state[KEY] = segment
                    scope = dict(scope, path=path, raw_path=path.encode("utf-8"), state=state)
        await self.app(scope, receive, send)


def url_project(scope: Scope) -> str | None:
    found = scope.get("state", {}).get(KEY)
    return str(found) if found else None
