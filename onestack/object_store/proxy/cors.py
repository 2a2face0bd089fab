"""Swift's CORS for containers and their objects (the proxy's ``OPTIONS`` and ``cors_validation``).

A container allows origins through its metadata: ``X-Container-Meta-Access-Control-Allow-Origin``
(space-separated origins, or ``*``), ``-Max-Age`` and ``-Expose-Headers``. A preflight ``OPTIONS``
needs no token (browsers send none): 200 with the allowed methods when the origin and method are
allowed, 401 otherwise; without an ``Origin`` it is a plain ``OPTIONS``: 200 and ``Allow``. An
actual request from an allowed origin gets ``Access-Control-Allow-Origin`` and
``-Expose-Headers`` on its answer (strict mode, as /info says: other origins get none).
"""

from __future__ import annotations

from onestack.object_store.proxy.request import Headers, SwiftRequest, SwiftResponse
from onestack.object_store.service.info import ContainerInfo

META = "x-container-meta-access-control-"
# Headers every CORS answer exposes (the simple response headers and Swift's own).
EXPOSED = ("cache-control", "content-language", "content-type", "expires", "last-modified", "pragma",
           "etag", "x-timestamp", "x-trans-id", "x-openstack-request-id")


def _words(value: str | None) -> list[str]:
    return [w.strip() for w in (value or "").split(" ") if w.strip()]


def origin_allowed(info: ContainerInfo | None, origin: str) -> bool:
    allowed = set(_words(info.meta.get(META + "allow-origin") if info else None))
    return "*" in allowed or origin in allowed


def preflight(req: SwiftRequest, info: ContainerInfo | None, allowed: str) -> SwiftResponse:
    """The answer to ``OPTIONS`` (``allowed``: the resource's methods, "GET, HEAD, ...")."""
    headers = Headers({"allow": allowed, "content-length": "0", "content-type": "text/html; charset=UTF-8"})
    origin = req.headers.get("origin")
    if not origin:
        return SwiftResponse(200, headers)
    methods = [m.strip() for m in allowed.split(",")]
    if info is None or not origin_allowed(info, origin) or \
            req.headers.get("access-control-request-method") not in methods:
        return SwiftResponse(401, headers)
    requested = [h.strip() for h in req.headers.get("access-control-request-headers", "").split(",") if h.strip()]
    if requested:
        headers["access-control-allow-headers"] = ", ".join(requested)
        headers["vary"] = "Access-Control-Request-Headers"
    max_age = info.meta.get(META + "max-age")
    if max_age and max_age.isdigit():
        headers["access-control-max-age"] = max_age
    headers["access-control-allow-origin"] = origin
    headers["access-control-allow-methods"] = allowed
    return SwiftResponse(200, headers)


def decorate(req: SwiftRequest, info: ContainerInfo | None, resp: SwiftResponse) -> SwiftResponse:
    """Swift's cors_validation: the CORS headers of an actual request's answer, when its origin is allowed."""
    origin = req.headers.get("origin")
    if not origin or not origin_allowed(info, origin):
        return resp
    if "access-control-expose-headers" not in resp.headers:
        exposed = set(EXPOSED)
        exposed.update(h for h in resp.headers if h.startswith(("x-container-meta-", "x-object-meta-")))
        exposed.update(w.lower() for w in _words(info.meta.get(META + "expose-headers") if info else None))
        resp.headers["access-control-expose-headers"] = ", ".join(sorted(exposed))
    if "access-control-allow-origin" not in resp.headers:
        wildcard = info is not None and (info.meta.get(META + "allow-origin") or "").strip() == "*"
        resp.headers["access-control-allow-origin"] = "*" if wildcard else origin
    return resp
