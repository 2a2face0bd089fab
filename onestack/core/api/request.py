"""The request object every service's handlers take, and the route table that builds it.

One ``Req`` carries what a handler needs beyond the raw HTTP request: the caller (validated
once), the policy check (one ``enforce`` signature for every service), the negotiated
microversion, the body validated by JSON schema, ``limit``/``marker``/sort parameters and
next links, and the shared parsers. What differs between services — how a schema failure or a
bad query value is worded, which booleans a query string may spell, what a policy target
holds — is the service's ``Conventions``; its state (database, config, clients) rides along
typed as ``Req[S]``. Handlers call their service layer through ``req.read``/``req.write``::

    routes: ApiRoutes[ComputeService] = ApiRoutes()

    @routes.get("/v2.1/flavors/{flavor_id}")
    async def show_flavor(req: Req[ComputeService]) -> Response:
        await req.enforce("os_compute_api:os-flavor-manage:show")
        flavor = await req.read(flavors.get_flavor, req.path("flavor_id"))
        ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode

from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import ApiError, BadRequest, NotFound
from onestack.core.api.headers import location as location_header
from onestack.core.api.headers import quote_segment
from onestack.core.api.http import RouteTable, json_body, read_body
from onestack.core.api.microversion import MicroversionPolicy, Version
from onestack.core.api.pagination import Page
from onestack.core.api.parse import OSLO_BOOLEANS, Booleans, parse_int, parse_timestamp, parse_uuid
from onestack.core.api.validation import SchemaErrors, plain_schema_error, validate
from onestack.core.auth import AuthContext, authenticate
from onestack.core.policy import Enforcer

S = TypeVar("S")
T = TypeVar("T")
_UNREAD = object()


class Database(Protocol):
    async def read(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def write(self, fn: Callable[..., T], *args: Any) -> T: ...


def own_target(ctx: AuthContext, target: Mapping[str, Any] | None) -> dict[str, Any]:
    """Nova's and Cinder's default: the caller's own project and user, overridden by ``target``."""
    return {"project_id": ctx.project_id, "user_id": ctx.user_id, **(target or {})}


def given_target(ctx: AuthContext, target: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(target or {})


def default_credentials(ctx: AuthContext) -> dict[str, Any]:
    return ctx.credentials()


def plain_bad_value(name: str, value: str, reason: str) -> ApiError:
    return BadRequest(f"Invalid value {value!r} for query parameter {name}: {reason}")


class RouteHooks(Protocol):
    """Extra steps a service runs around every routed handler (placement's microversion stamps)."""

    async def before(self, req: Req[Any]) -> None: ...

    def after(self, req: Req[Any], response: Response) -> None: ...

    def failed(self, req: Req[Any], err: ApiError) -> None: ...


@dataclass(frozen=True)
class Conventions:
    """How one service words and shapes what the shared request layer does for it."""

    schema_error: SchemaErrors = plain_schema_error
    schema_draft: int = 7
    bad_value: Callable[[str, str, str], ApiError] = plain_bad_value
    booleans: Booleans = OSLO_BOOLEANS
    policy_target: Callable[[AuthContext, Mapping[str, Any] | None], dict[str, Any]] = own_target
    policy_credentials: Callable[[AuthContext], dict[str, Any]] = default_credentials
    max_limit: int = 1000
    # Negotiated per route when the service has no MicroversionMiddleware in front of it.
    microversion: MicroversionPolicy | None = None
    hooks: RouteHooks | None = None


@dataclass
class ApiService(Generic[S]):
    """What every handler of one service shares: its state, database, policy and conventions."""

    state: S
    db: Database
    enforcer: Enforcer
    conventions: Conventions = field(default_factory=Conventions)


class Req(Generic[S]):
    """One request as a handler sees it."""

    __slots__ = ("_caller", "_json", "api", "request", "version")

    def __init__(self, request: Request, api: ApiService[S], version: Version | None = None) -> None:
        self.request = request
        self.api = api
        self.version = version
        self._caller: AuthContext | None = None
        self._json: Any = _UNREAD

    # --- what was asked -----------------------------------------------------------------------

    @property
    def state(self) -> S:
        return self.api.state

    @property
    def params(self) -> QueryParams:
        return self.request.query_params

    @property
    def headers(self) -> Headers:
        return self.request.headers

    @property
    def method(self) -> str:
        return self.request.method

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    @property
    def request_id(self) -> str:
        return str(self.request.scope.get("state", {}).get("request_id", ""))

    @property
    def global_request_id(self) -> str | None:
        found = self.request.scope.get("state", {}).get("global_request_id")
        return str(found) if found else None

    # --- who asks, and may they ---------------------------------------------------------------

    async def caller(self) -> AuthContext:
        """The validated caller; 401 without a valid token."""
        if self._caller is None:
            self._caller = await authenticate(self.request)
        return self._caller

    def _check(self, ctx: AuthContext, rule: str, target: Mapping[str, Any] | None) -> tuple[dict[str, Any],
                                                                                             dict[str, Any]]:
        conv = self.api.conventions
        return conv.policy_target(ctx, target), conv.policy_credentials(ctx)

    async def enforce(self, rule: str, target: Mapping[str, Any] | None = None) -> AuthContext:
        """401 without a valid token, 403 unless ``rule`` allows the caller on ``target``."""
        ctx = await self.caller()
        full, creds = self._check(ctx, rule, target)
        self.api.enforcer.enforce(rule, full, creds)
        return ctx

    async def allowed(self, rule: str, target: Mapping[str, Any] | None = None) -> bool:
        ctx = await self.caller()
        full, creds = self._check(ctx, rule, target)
        return self.api.enforcer.check(rule, full, creds)

    async def is_admin(self) -> bool:
        return await self.allowed("context_is_admin")

    # --- microversions ------------------------------------------------------------------------

    @property
    def mv(self) -> Version:
        """The negotiated microversion, for services that have them."""
        if self.version is None:
            raise RuntimeError("this service negotiates no microversion")
        return self.version

    def at_least(self, major: int, minor: int) -> bool:
        return self.version is not None and self.version >= Version(major, minor)

    def require_version(self, minimum: Version | None = None, maximum: Version | None = None) -> None:
        """A method that does not exist at the requested version is a 404, as OpenStack answers."""
        if self.version is None:
            return
        if (minimum is not None and self.version < minimum) or (maximum is not None and self.version > maximum):
            raise NotFound("The resource could not be found.")

    # --- the body -----------------------------------------------------------------------------

    async def json(self, *, required: bool = True, media_types: Sequence[str] = ()) -> Any:
        """The body parsed as JSON (size-limited; malformed → the service's 400).

        ``media_types``: content types beyond JSON's own that this body may be sent as. Parsed
        once: a handler may look at the raw document (say, for a policy target) before ``body``
        validates it.
        """
        if self._json is _UNREAD:
            self._json = await json_body(self.request, required=required, media_types=media_types)
        return self._json

    async def body(self, schema: dict[str, Any] | None = None, *, wrapper: str | None = None,
                   required: bool = True) -> Any:
        """The JSON body, checked against ``schema``; with ``wrapper``, the object inside it.

        With a wrapper the schema describes the inner object; a missing or non-object wrapper
        is reported as that field being required.
        """
        data = await self.json(required=required)
        conv = self.api.conventions
        if wrapper is not None:
            envelope = {"type": "object", "properties": {wrapper: {"type": "object"}}, "required": [wrapper]}
            validate(data, envelope, on_error=conv.schema_error, draft=conv.schema_draft)
            data = data[wrapper]
        if schema is not None:
            validate(data, schema, on_error=conv.schema_error, draft=conv.schema_draft, wrapper=wrapper)
        return data

    async def raw(self, limit: int | None = None) -> bytes:
        cap = limit if limit is not None else int(getattr(self.request.app.state, "max_body_size", 114688))
        return await read_body(self.request, cap)

    def validate(self, data: Any, schema: dict[str, Any], *, wrapper: str | None = None) -> None:
        conv = self.api.conventions
        validate(data, schema, on_error=conv.schema_error, draft=conv.schema_draft, wrapper=wrapper)

    # --- query parameters ---------------------------------------------------------------------

    def bad_value(self, name: str, value: str, reason: str) -> ApiError:
        return self.api.conventions.bad_value(name, value, reason)

    def flag(self, name: str, default: bool | None = None) -> bool | None:
        """A boolean query parameter in the service's spellings; ``default`` when absent."""
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            return self.api.conventions.booleans.parse(raw)
        except ValueError as exc:
            raise self.bad_value(name, raw, str(exc)) from None

    def integer(self, name: str, default: int | None = None, *, minimum: int | None = 0,
                maximum: int | None = None) -> int | None:
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            return parse_int(raw, minimum=minimum, maximum=maximum)
        except ValueError as exc:
            raise self.bad_value(name, raw, str(exc)) from None

    def uuid(self, name: str) -> str | None:
        raw = self.params.get(name)
        if raw is None:
            return None
        try:
            return parse_uuid(raw)
        except ValueError as exc:
            raise self.bad_value(name, raw, str(exc)) from None

    def timestamp(self, name: str) -> Any:
        raw = self.params.get(name)
        if raw is None:
            return None
        try:
            return parse_timestamp(raw)
        except ValueError as exc:
            raise self.bad_value(name, raw, str(exc)) from None

    # --- paging -------------------------------------------------------------------------------

    def page(self, max_limit: int | None = None, *, marker: str = "marker", default: int | None = None,
             sort_keys: Sequence[str] = (), sort_key: str | None = None, sort_dir: str = "desc") -> Page:
        """``limit`` (``default`` when absent; capped at the service's maximum) and the marker of the
        page asked for; with ``sort_keys``, one ``sort_key`` among them (``sort_key`` or the first
        by default) and ``sort_dir`` asc or desc (``sort_dir`` by default)."""
        cap = max_limit or self.api.conventions.max_limit
        limit = self.integer("limit", default, minimum=0)
        page = Page(limit=None if limit is None else min(limit, cap), marker=self.params.get(marker) or None)
        if not sort_keys:
            return page
        key = self.params.get("sort_key", sort_key or sort_keys[0])
        if key not in sort_keys:
            raise self.bad_value("sort_key", key, f"must be one of: {', '.join(sort_keys)}")
        direction = self.params.get("sort_dir", sort_dir)
        if direction not in ("asc", "desc"):
            raise self.bad_value("sort_dir", direction, "must be asc or desc")
        return replace(page, sort_key=key, sort_dir=direction)

    def link(self, *, drop: Collection[str] = (), add: Sequence[tuple[str, str]] = (), absolute: bool = True,
             sort_params: bool = False) -> str:
        """This URL with the parameters in ``drop`` removed and ``add`` appended; absolute, or below the mount."""
        params = [(k, v) for k, v in self.params.multi_items() if k not in drop]
        if sort_params:
            params.sort()
        params.extend(add)
        base = str(self.request.url).split("?")[0] if absolute else self.path_below_mount
        return f"{base}?{urlencode(params)}" if params else base

    def next_href(self, marker_value: str, *, marker: str = "marker", absolute: bool = True,
                  sort_params: bool = False, limit: int | None = None) -> str:
        """This URL with the same parameters and ``marker`` moved on; absolute, or below the mount.

        With ``limit``, the link states that page size (Glance's next links always carry one).
        """
        drop = {marker} if limit is None else {marker, "limit"}
        add = [(marker, marker_value)] if limit is None else [("limit", str(limit)), (marker, marker_value)]
        return self.link(drop=drop, add=add, absolute=absolute, sort_params=sort_params)

    def next_links(self, items: Sequence[Mapping[str, Any]], page: Page, *, key: str = "id",
                   sort_params: bool = False) -> list[dict[str, str]]:
        """Nova/Cinder ``<collection>_links``: one ``next`` link when the page came back full."""
        if page.limit is None or not items or len(items) < page.limit:
            return []
        return [{"rel": "next", "href": self.next_href(str(items[-1][key]), sort_params=sort_params)}]

    # --- where am I ---------------------------------------------------------------------------

    @property
    def service_url(self) -> str:
        """``http://host:port/compute``: this service's root as the client reached it."""
        return str(self.request.base_url).rstrip("/") + str(self.request.scope.get("root_path", ""))

    def href(self, path: str) -> str:
        """``path`` below this service's mount, as an absolute path (``/placement/traits``)."""
        return f"{self.request.scope.get('root_path', '')}{path}"

    def url_for(self, path: str, *segments: str) -> str:
        """``path`` below this service's mount, then ``segments`` (user-given names, percent-encoded
        each), as a full URL."""
        return f"{self.service_url}{path}" + "".join(f"/{quote_segment(s)}" for s in segments)

    def location(self, path: str, *segments: str) -> dict[str, str]:
        """The ``Location`` header for ``url_for(path, *segments)``: safe whatever the client named."""
        return location_header(self.url_for(path, *segments))

    @property
    def path_below_mount(self) -> str:
        path: str = self.request.url.path
        root: str = self.request.scope.get("root_path", "")
        return path[len(root):] if root and path.startswith(root) else path

    # --- the service layer --------------------------------------------------------------------

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.api.db.read(fn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.api.db.write(fn, *args)


Handler = Callable[[Req[S]], Awaitable[Response]]


def api_of(request: Request) -> ApiService[Any]:
    api: ApiService[Any] = request.app.state.api
    return api


def negotiated(request: Request) -> Version | None:
    found: Version | None = request.scope.get("state", {}).get("microversion")
    return found


class ApiRoutes(Generic[S]):
    """``@routes.get(path, rule=…, since=…, until=…)``: a handler taking ``Req[S]``.

    ``rule`` is enforced (401/403) before the handler runs; ``since``/``until`` bound the
    microversions at which the route exists (404 outside, after authentication, as placement
    and Nova answer).
    """

    def __init__(self) -> None:
        self.table = RouteTable()

    @property
    def routes(self) -> list[Any]:
        return self.table.routes

    def add(self, methods: list[str], path: str, *, rule: str | None = None, since: Version | None = None,
            until: Version | None = None) -> Callable[[Handler[S]], Handler[S]]:
        def register(fn: Handler[S]) -> Handler[S]:
            async def endpoint(request: Request) -> Response:
                api: ApiService[S] = request.app.state.api
                conv = api.conventions
                req: Req[S] = Req(request, api, negotiated(request))
                try:
                    if conv.microversion is not None and req.version is None:
                        req.version = conv.microversion.negotiate(request)
                    if rule is not None:
                        await req.enforce(rule)
                    if since is not None or until is not None:
                        req.require_version(since, until)
                    if conv.hooks is not None:
                        await conv.hooks.before(req)
                    response = await fn(req)
                except ApiError as err:
                    if conv.hooks is not None:
                        conv.hooks.failed(req, err)
                    raise
                if conv.hooks is not None:
                    conv.hooks.after(req, response)
                return response

            endpoint.__name__ = fn.__name__
            endpoint.__doc__ = fn.__doc__
            self.table.add(methods, path)(endpoint)
            return fn

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler[S]], Handler[S]]:
        return self.add(["GET", "HEAD"], path, **kw)

    def head(self, path: str, **kw: Any) -> Callable[[Handler[S]], Handler[S]]:
        return self.add(["HEAD"], path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler[S]], Handler[S]]:
        return self.add(["POST"], path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler[S]], Handler[S]]:
        return self.add(["PUT"], path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler[S]], Handler[S]]:
        return self.add(["PATCH"], path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler[S]], Handler[S]]:
        return self.add(["DELETE"], path, **kw)
