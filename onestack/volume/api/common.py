"""What block storage adds to the shared request layer: Cinder's wording, microversions
(3.0–3.71), the optional project id in the URL, and Cinder's list parameters (``sort=k:d,…``
or the deprecated ``sort_key``/``sort_dir``, ``limit``, ``marker``, ``offset``, ``with_count``,
``all_tenants``, filters checked against each resource's allowed keys from 3.34)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from onestack.core.api.faults import ApiError, BadRequest
from onestack.core.api.microversion import MicroversionPolicy, Version
from onestack.core.api.parse import OSLO_BOOLEANS, parse_int
from onestack.core.api.project_url import url_project
from onestack.core.api.request import ApiRoutes, Conventions, own_target
from onestack.core.api.request import Req as CoreReq
from onestack.core.api.validation import SchemaFailure
from onestack.volume.errors import InvalidInput
from onestack.volume.service.common import Caller, ListQuery
from onestack.volume.state import VolumeState

Req = CoreReq[VolumeState]
VolumeRoutes = ApiRoutes[VolumeState]

MIN_VERSION = Version(3, 0)
MAX_VERSION = Version(3, 71)
POLICY = MicroversionPolicy("volume", MIN_VERSION, MAX_VERSION, legacy_header=None)
MAX_LIMIT = 1000  # Cinder's osapi_max_limit
INT_MAX = 2147483647

# The names below /v3/ that are not a project id (ProjectInUrl leaves these alone).
COLLECTIONS = (
    "volumes", "snapshots", "backups", "types", "qos-specs", "attachments", "os-volume-transfer",
    "volume-transfers", "os-quota-sets", "os-quota-class-sets", "limits", "os-availability-zone",
    "os-services", "messages", "groups", "group_types", "group_snapshots", "scheduler-stats",
    "capabilities", "os-hosts", "extensions", "default-types", "manageable_volumes",
    "manageable_snapshots", "clusters", "workers", "os-snapshot-manage", "os-volume-manage",
    "resource_filters",
)


def invalid(field: str, value: Any, why: str) -> BadRequest:
    """Cinder's schema-error message for one field (the same words as Nova's)."""
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def _schema_error(failure: SchemaFailure) -> ApiError:
    field = str(failure.path[-1]) if failure.path else failure.wrapper
    return invalid(field, failure.value, failure.message) if field else BadRequest(failure.message)


def _bad_value(name: str, value: str, reason: str) -> ApiError:
    return InvalidInput(f"Invalid value '{value}' for {name}: {reason}")


class _UrlProject:
    """A project id in the URL must be the caller's own (Cinder: 400 ``Malformed request url``)."""

    async def before(self, req: Req) -> None:
        named = url_project(req.request.scope)
        if named is not None:
            ctx = await req.caller()
            if named != ctx.project_id:
                raise BadRequest("Malformed request url")

    def after(self, req: Req, response: Any) -> None:
        return None

    def failed(self, req: Req, err: ApiError) -> None:
        return None


CONVENTIONS = Conventions(schema_error=_schema_error, bad_value=_bad_value, booleans=OSLO_BOOLEANS,
                          policy_target=own_target, max_limit=MAX_LIMIT, hooks=_UrlProject())


async def caller(req: Req) -> Caller:
    ctx = await req.caller()
    return Caller(project_id=ctx.project_id or "", user_id=ctx.user_id or "", is_admin=await req.is_admin())


# --- request values ---------------------------------------------------------------------------


def as_bool(value: Any, field: str) -> bool:
    """Cinder's booleans: JSON true/false or oslo's strings ("True", "yes", "1", ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return OSLO_BOOLEANS.parse(value)
        except ValueError:
            pass
    raise InvalidInput(f"Invalid value for '{field}': {value!r}. Must be a boolean.")


def as_int(value: Any, field: str, minimum: int = 0, maximum: int = INT_MAX) -> int:
    """An integer given as a JSON number or a string of digits, within bounds (Cinder's 400 otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidInput(f"{field} must be an integer.")
    try:
        return parse_int(value, minimum=minimum, maximum=maximum)
    except ValueError as exc:
        raise InvalidInput(f"{field} {exc}") from None


MAX_TEXT = 255  # Cinder's names, descriptions, metadata keys and values


def text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(field, value, f"{value!r} is not of type 'string', 'null'")
    if len(value) > MAX_TEXT:
        raise invalid(field, value, f"{value!r} is too long")
    return value


def metadata_items(value: Any, field: str = "metadata") -> dict[str, str]:
    """Cinder's metadata: string keys of 1..255 characters to strings of at most 255."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(field, value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not key or len(key) > MAX_TEXT:
            raise invalid(field, value, f"{key!r} does not match any of the regexes: '^[\\s\\S]{{1,255}}$'")
        if not isinstance(item, str):
            raise invalid(key, item, f"{item!r} is not of type 'string'")
        if len(item) > MAX_TEXT:
            raise invalid(key, item, f"{item!r} is too long")
    return dict(value)


# --- lists ------------------------------------------------------------------------------------

_PAGING = {"limit", "marker", "offset", "sort", "sort_key", "sort_dir", "with_count", "all_tenants",
           "project_id", "is_public"}


def list_query(req: Req, *, sort_keys: Collection[str], filters: Collection[str],
               like: Collection[str] = (), aliases: Mapping[str, str] | None = None,
               ignore: Collection[str] = ()) -> ListQuery:
    """The list parameters of ``req``. ``filters``: attribute names one may filter by exactly;
    ``like``: those that take ``name~=text`` (3.34); ``aliases``: query names → attribute names
    (``display_name`` → ``name``). From 3.34 an unknown filter key is a 400, as Cinder's
    resource filters make it; before, it is ignored."""
    aliases = aliases or {}
    params = req.params
    sort = _sort(req, sort_keys, aliases)
    limit_raw = params.get("limit")
    limit = None
    if limit_raw is not None:
        try:
            limit = min(parse_int(limit_raw, minimum=0), MAX_LIMIT)
        except ValueError:
            raise InvalidInput("limit param must be an integer") from None
    offset = None
    if (raw := params.get("offset")) is not None:
        try:
            offset = parse_int(raw, minimum=0, maximum=INT_MAX)
        except ValueError:
            raise InvalidInput("offset param must be positive") from None
    all_projects = bool(req.flag("all_tenants", False))
    with_count = bool(req.flag("with_count", False)) if req.at_least(3, 45) else False
    exact: dict[str, Any] = {}
    contains: dict[str, str] = {}
    unknown = []
    for key, value in params.multi_items():
        if key in _PAGING or key in ignore:
            continue
        if key.endswith("~") and req.at_least(3, 34):
            name = aliases.get(key[:-1], key[:-1])
            if name in like:
                contains[name] = value
                continue
        name = aliases.get(key, key)
        if name in filters:
            exact[name] = value
        else:
            unknown.append(key)
    if unknown and req.at_least(3, 34):
        raise InvalidInput(f"Invalid filter keys: {', '.join(unknown)}")
    return ListQuery(filters=exact, like=contains, sort=sort, limit=limit, marker=params.get("marker") or None,
                     offset=offset, all_projects=all_projects, project_id=params.get("project_id") or None,
                     with_count=with_count)


def _sort(req: Req, sort_keys: Collection[str], aliases: Mapping[str, str]) -> list[tuple[str, str]]:
    params = req.params
    sort = params.get("sort")
    if sort is not None and ("sort_key" in params or "sort_dir" in params):
        raise InvalidInput("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used "
                           "with the 'sort' parameter.")
    pairs: list[tuple[str, str]] = []
    if sort is not None:
        for item in sort.split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key.strip(), (direction.strip() or "desc").lower()))
    else:
        keys = [k.strip() for k in params.get("sort_key", "").split(",") if k.strip()]
        dirs = [d.strip().lower() for d in params.get("sort_dir", "").split(",") if d.strip()]
        for i, key in enumerate(keys):
            pairs.append((key, dirs[i] if i < len(dirs) else (dirs[-1] if dirs else "desc")))
        if not keys and dirs:
            pairs.append(("created_at", dirs[0]))
    result: list[tuple[str, str]] = []
    for key, direction in pairs:
        name = aliases.get(key, key)
        if direction not in ("asc", "desc"):
            raise InvalidInput("Unknown sort direction, must be 'desc' or 'asc'")
        if name not in sort_keys and name != "id":
            raise InvalidInput(f"Invalid sort key {key}")
        result.append((name, direction))
    return result or [("created_at", "desc")]


def links(req: Req, collection: str, items: Sequence[Mapping[str, Any]], lq: ListQuery) -> dict[str, Any]:
    """``{<collection>_links: [next]}`` when the page came back full (and only then), as Cinder."""
    if lq.limit is None or not items or len(items) < lq.limit:
        return {}
    href = req.next_href(str(items[-1]["id"]))
    project = url_project(req.request.scope)
    if project:
        # The path was routed without the project id the client named: give it back, so the link
        # is the URL the client asked for with the marker moved on (Tempest compares the paths).
        head = f"{req.service_url}/v3/"
        if href.startswith(head):
            href = f"{head}{project}/{href[len(head):]}"
    return {f"{collection}_links": [{"rel": "next", "href": href}]}


def self_links(req: Req, collection: str, object_id: str) -> list[dict[str, str]]:
    """Cinder's ``links`` of one resource: self (versioned, with the project) and bookmark."""
    ctx_project = url_project(req.request.scope)
    base = req.service_url
    project = f"/{ctx_project}" if ctx_project else ""
    return [{"rel": "self", "href": f"{base}/v3{project}/{collection}/{object_id}"},
            {"rel": "bookmark", "href": f"{base}{project}/{collection}/{object_id}"}]
