"""What the network service adds to the shared request layer: Neutron's wording, its list
parameters (filters on every attribute, ``fields``, several ``sort_key``s, ``page_reverse``,
``*_links``), ``If-Match`` revisions, the owner of a new resource, and the extension registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import ApiError
from onestack.core.api.http import json_response
from onestack.core.api.request import ApiRoutes, Conventions, given_target
from onestack.core.api.request import Req as CoreReq
from onestack.core.api.validation import SchemaFailure
from onestack.core.auth import AuthContext
from onestack.network.errors import HTTPBadRequest
from onestack.network.service.common import Caller, Listing, ListQuery
from onestack.network.state import NetworkState

Req = CoreReq[NetworkState]
NetworkRoutes = ApiRoutes[NetworkState]


def _schema_error(failure: SchemaFailure) -> ApiError:
    where = "/".join(str(p) for p in failure.path)
    return HTTPBadRequest(f"Invalid input for {where or 'request'}. Reason: {failure.message}.")


def _bad_value(name: str, value: str, reason: str) -> ApiError:
    return HTTPBadRequest(f"Invalid input for {name}. Reason: {reason}.")


CONVENTIONS = Conventions(schema_error=_schema_error, bad_value=_bad_value, policy_target=given_target)


@dataclass(frozen=True)
class Extension:
    """One entry of ``/v2.0/extensions``: listed because the module that declares it is mounted."""

    alias: str
    name: str
    description: str
    updated: str = "2026-12-01T10:00:00-00:00"

    def view(self) -> dict[str, Any]:
        return {"alias": self.alias, "name": self.name, "description": self.description,
                "updated": self.updated, "links": []}


# --- who owns a new resource ------------------------------------------------------------------------


async def owner_of_new(req: Req, attrs: Mapping[str, Any]) -> tuple[AuthContext, str]:
    """The project a created resource belongs to: the caller's, unless an admin names another
    (``project_id`` or ``tenant_id``; both given must agree)."""
    ctx = await req.caller()
    given = {attrs[k] for k in ("project_id", "tenant_id") if attrs.get(k) is not None}
    if len(given) > 1:
        raise HTTPBadRequest("'project_id' and 'tenant_id' do not match")
    project = given.pop() if given else ctx.project_id
    if project != ctx.project_id and not await req.is_admin():
        raise HTTPBadRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project "
                             "in request requires admin privileges")
    if not project:
        raise HTTPBadRequest("Running without keystone AuthN requires that tenant_id is specified")
    return ctx, str(project)


def if_match(req: Req) -> int | None:
    """``If-Match: revision_number=N`` (Neutron's compare-and-swap on PUT and DELETE)."""
    raw = req.headers.get("if-match")
    if not raw:
        return None
    for part in raw.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip() == "revision_number":
            try:
                return int(value.strip())
            except ValueError:
                raise HTTPBadRequest(f"Invalid If-Match header value: {raw}") from None
    return None


# --- GET on a collection ---------------------------------------------------------------------------

MAX_PAGE = 2**31 - 1
_PAGING = {"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"}
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
Parser = Callable[[str], Any]


def _bool_param(raw: str) -> bool:
    low = raw.lower()
    if low in ("true", "1", "t", "yes", "y", "on"):
        return True
    if low in ("false", "0", "f", "no", "n", "off"):
        return False
    raise ValueError(f"'{raw}' cannot be converted to boolean")


def _int_param(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"'{raw}' is not an integer") from None
    if not -2**31 <= value < 2**31:  # every integer column is 32-bit; PostgreSQL refuses a bigger operand
        raise ValueError(f"'{raw}' is out of range")
    return value


BOOL: Parser = _bool_param
INT: Parser = _int_param


def _none_or(parse: Parser) -> Parser:
    return lambda raw: None if raw in ("", "None") else parse(raw)


def list_query(req: Req, listing: Listing, parsers: Mapping[str, Parser] | None = None,
               extra: Sequence[str] = ()) -> ListQuery:
    """The filters, tag filters, sort and page a GET on a collection asks for.

    Every attribute in ``listing.columns`` or ``listing.conditions`` may be a filter (several
    values: any of them); ``parsers`` convert the text of typed ones (booleans, integers).
    ``extra``: further parameters the handler reads itself. Anything else is Neutron's 400
    ("[x] is invalid attribute for filtering"), as with its filter validation on.
    """
    parsers = parsers or {}
    filterable = set(listing.columns) | set(listing.conditions)
    filters: dict[str, list[Any]] = {}
    tags: dict[str, list[str]] = {}
    for key in dict.fromkeys(req.params.keys()):
        values = req.params.getlist(key)
        if key in _PAGING or key in extra:
            continue
        if key in TAG_FILTERS:
            tags[key] = [t for v in values for t in v.split(",") if t]
            continue
        if key not in filterable:
            raise HTTPBadRequest(f"[{key}] is invalid attribute for filtering")
        parse = parsers.get(key)
        try:
            filters[key] = [_none_or(parse)(v) if parse else v for v in values]
        except ValueError as exc:
            raise HTTPBadRequest(f"Invalid input for {key}. Reason: {exc}.") from None
    keys, dirs = req.params.getlist("sort_key"), req.params.getlist("sort_dir")
    if len(keys) != len(dirs) and dirs:
        raise HTTPBadRequest("The number of sort_keys and sort_dirs must be same")
    for key in keys:
        if key not in listing.columns:
            raise HTTPBadRequest(f"{key} is an invalid attribute for sort_keys")
    for d in dirs:
        if d not in ("asc", "desc"):
            raise HTTPBadRequest(f"{d} is an invalid value for sort_dirs, valid values are: asc, desc")
    sorts = [(k, (dirs[i] if dirs else "asc") == "asc") for i, k in enumerate(keys)]
    limit = None
    raw_limit = req.params.get("limit")
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise HTTPBadRequest(f"Invalid input for limit. Reason: '{raw_limit}' is not an integer.") from None
        if limit < 0:
            raise HTTPBadRequest(f"Limit must be an integer 0 or greater and not '{raw_limit}'")
        # limit=0 means no limit, as in Neutron; a limit past any page size is no limit either
        # (and must not reach the database as a number it cannot hold).
        limit = limit if 0 < limit <= MAX_PAGE else None
    try:
        reverse = _bool_param(req.params.get("page_reverse", "false"))
    except ValueError as exc:
        raise HTTPBadRequest(f"Invalid input for page_reverse. Reason: {exc}.") from None
    return ListQuery(filters=filters, tags=tags, sorts=sorts, limit=limit,
                     marker=req.params.get("marker") or None, page_reverse=reverse)


def fields_of(req: Req) -> list[str]:
    return [f for v in req.params.getlist("fields") for f in v.split(",") if f]


def project(item: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``fields=``: only the named attributes (unknown names are ignored, as Neutron does)."""
    if not fields:
        return dict(item)
    return {k: item[k] for k in fields if k in item}


def links(req: Req, collection: str, items: Sequence[Mapping[str, Any]], q: ListQuery) -> dict[str, Any]:
    """``<collection>_links``: ``next`` when a limited page came back full, ``previous`` when a
    marker was given; empty (absent) without a limit."""
    if q.limit is None:
        return {}
    out: list[dict[str, str]] = []
    drop = {"marker", "page_reverse"}
    if items and len(items) >= q.limit:
        edge = items[0] if q.page_reverse else items[-1]
        rev = [("page_reverse", "True")] if q.page_reverse else []
        out.append({"rel": "next", "href": req.link(drop=drop, add=[("marker", str(edge["id"])), *rev])})
    if q.marker and items:
        edge = items[-1] if q.page_reverse else items[0]
        rev = [] if q.page_reverse else [("page_reverse", "True")]
        out.append({"rel": "previous", "href": req.link(drop=drop, add=[("marker", str(edge["id"])), *rev])})
    return {f"{collection}_links": out} if out else {}


def list_response(req: Req, collection: str, items: Sequence[Mapping[str, Any]], q: ListQuery) -> Response:
    fields = fields_of(req)
    body: dict[str, Any] = {collection: [project(i, fields) for i in items]}
    body.update(links(req, collection, items, q))
    return json_response(body)


def member_response(req: Req, member: str, item: Mapping[str, Any], status: int = 200) -> Response:
    return json_response({member: project(item, fields_of(req))}, status=status)


# --- attribute-level policy -------------------------------------------------------------------------


async def caller_of(req: Req) -> Caller:
    """The service layer's view of the caller (its project, and whether it is an admin)."""
    ctx = await req.caller()
    return Caller(project_id=ctx.project_id, is_admin=await req.is_admin())


async def enforce_attrs(req: Req, action: str, attrs: Mapping[str, Any], guarded: Sequence[str],
                        target: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> None:
    """``action:attr`` for each guarded attribute set to something other than its default
    (Neutron checks only attributes explicitly set); 403 ``PolicyNotAuthorized`` if refused."""
    from onestack.network.errors import PolicyNotAuthorized

    defaults = defaults or {}
    for attr in guarded:
        explicit = attr in attrs and (attr not in defaults or attrs[attr] != defaults[attr])
        if explicit and not await req.allowed(f"{action}:{attr}", target):
            raise PolicyNotAuthorized(f"{action}:{attr}")


async def enforce(req: Req, action: str, target: Mapping[str, Any]) -> None:
    from onestack.network.errors import PolicyNotAuthorized

    if not await req.allowed(action, target):
        raise PolicyNotAuthorized(action)


async def readable(req: Req, action: str, items: list[dict[str, Any]], guarded: Sequence[str]) -> list[dict[str, Any]]:
    """Drop the guarded attributes ``action:attr`` does not let the caller read (``provider:*``,
    ``binding:*`` for non-admins): Neutron leaves them out of the view rather than refusing."""
    hidden = [a for a in guarded if not await req.allowed(f"{action}:{a}", {})]
    if hidden:
        for item in items:
            for a in hidden:
                item.pop(a, None)
    return items
