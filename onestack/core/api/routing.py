"""A Starlette router that finds candidate routes by the leading path segments.

Starlette tries routes one by one (~1 µs each); identity alone has ~190 routes, so a
request for one of the last paid ~0.2 ms before its handler ran. Here routes whose first
two (or first) segments are literal are indexed by them; a request looks only at its
bucket plus the routes that start with a parameter, in the original declaration order,
so which route wins is exactly what Starlette's own scan would pick.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

_Entry = tuple[int, BaseRoute]


def get_route_path(scope: Scope) -> str:
    """The request path below the mount point (what a sub-app's routes match)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _literal_prefix(route: BaseRoute) -> tuple[str, ...]:
    if not isinstance(route, Route):
        return ()
    parts = route.path.strip("/").split("/")
    prefix: list[str] = []
    for part in parts[:2]:
        if "{" in part:
            break
        prefix.append(part)
    return tuple(prefix)


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes=list(routes))
        self._by_two: dict[tuple[str, ...], list[_Entry]] = {}
        self._by_one: dict[tuple[str, ...], list[_Entry]] = {}
        self._generic: list[_Entry] = []
        for index, route in enumerate(self.routes):
            prefix = _literal_prefix(route)
            if len(prefix) == 2:
                self._by_two.setdefault(prefix, []).append((index, route))
            elif len(prefix) == 1 and len(_segments(route)) > 1:
                self._by_one.setdefault(prefix, []).append((index, route))
            else:
                self._generic.append((index, route))

    def _candidates(self, path: str) -> list[BaseRoute]:
        parts = path.strip("/").split("/")
        lists = [self._generic]
        if parts and parts[0]:
            lists.append(self._by_one.get((parts[0],), []))
            if len(parts) > 1:
                lists.append(self._by_two.get((parts[0], parts[1]), []))
        return [route for _, route in heapq.merge(*lists, key=lambda e: e[0])]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)
        partial: BaseRoute | None = None
        partial_scope: Scope = {}
        for route in self._candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        # Nothing matched: Starlette's own path handles redirects and the 404.
        await super().app(scope, receive, send)


def _segments(route: BaseRoute) -> list[str]:
    return route.path.strip("/").split("/") if isinstance(route, Route) else []
