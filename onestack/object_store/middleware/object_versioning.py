"""Swift's object_versioning (the new mode): ``X-Versions-Enabled: true`` on a container keeps
every version of its objects in a hidden versions container, and the object itself becomes a
static symlink to its newest version.

- Container PUT/POST ``X-Versions-Enabled`` makes the hidden container and keeps the flag as
  sysmeta (400 on a container using the legacy X-Versions-Location/X-History-Location); DELETE of
  a versioned container needs its versions gone first (409) and removes the hidden container.
- Object PUT: the data goes to ``<hidden>/<R><name><R><inverted timestamp>`` and the object is a
  link to it; the answer carries ``X-Object-Version-Id``. An object written before versioning was
  enabled is first copied in as a version. DELETE writes a delete marker version and removes the
  link. GET/HEAD answer the latest version with its ``X-Object-Version-Id`` (``null`` for an
  unversioned object).
- ``?version-id=<id>``: GET/HEAD/DELETE one version (a delete marker reads 404), PUT (zero bytes)
  makes a version the latest again; POST is refused. COPY (or PUT with X-Copy-From) with it
  copies that version: the copy middleware's source read carries it, its PUT does not.
- ``GET <container>?versions``: every version, newest first per name, with ``version_id`` and
  ``is_latest`` (``marker`` with ``version_marker`` pages through them).

Reserved names: Swift prefixes hidden names with NUL, which PostgreSQL text cannot hold, so
``RESERVED`` is U+0001 here; client requests naming a container that starts with it are refused,
and account listings leave hidden containers out (their bytes count in their container's row).

Here: the container and account requests and the middleware; ``object_versions.py``: the hidden
names of an object's versions and the requests on one object.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware.object_versions import (
    DELETE_MARKER_CONTENT_TYPE,
    RESERVED,
    SYSMETA_VERSIONS_CONT,
    SYSMETA_VERSIONS_ENABLED,
    VersionedObject,
    parse_version_object,
    reserved,
    version_object,
    versions_container,
)
from onestack.object_store.middleware.symlink import (
    BACKEND_ALLOW_RESERVED,
    call,
    json_rows,
    truthy,
    with_rows,
)
from onestack.object_store.proxy.container import get_container_info, get_infos
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
    split_path,
)
from onestack.object_store.state import ObjectStoreState
from onestack.object_store.timestamp import Timestamp

CLIENT_VERSIONS_ENABLED = "x-versions-enabled"
LEGACY_LOCATIONS = ("x-container-sysmeta-versions-location", "x-versions-location", "x-history-location")

# -- containers --------------------------------------------------------------------------------------

async def _enable(state: ObjectStoreState, app: Handler, req: SwiftRequest, version: str, account: str,
                  container: str) -> SwiftResponse:
    """PUT/POST with X-Versions-Enabled: the hidden container exists before the flag is set."""
    req.acl = None  # the account owner's, as the container controller decides; checked before the
    await req.authorize()  # hidden container is made for anyone
    info = await get_container_info(state, req, account, container)
    meta = info.meta if info is not None else {}
    if any(meta.get(k) or req.headers.get(k) for k in LEGACY_LOCATIONS):  # stored, or set alongside
        raise SwiftError(400, "Cannot enable object versioning on a container that is already using the legacy "
                              "versioned writes feature.")
    enabled = truthy(req.headers[CLIENT_VERSIONS_ENABLED])
    req.headers[SYSMETA_VERSIONS_ENABLED] = "True" if enabled else "False"
    hidden_path = ""
    if enabled:
        hidden = versions_container(container)
        hidden_path = f"/{version}/{account}/{hidden}"
        sub = req.pre_authed("PUT", hidden_path, source="OV")
        sub.headers[BACKEND_ALLOW_RESERVED] = "true"
        made = await call(app, sub)
        await made.read()
        if not made.ok and made.status != 409:
            raise SwiftError(500, "Error enabling object versioning")
        req.headers[SYSMETA_VERSIONS_CONT] = quote(hidden)
    try:
        resp = await app(req)
    except SwiftError:
        if hidden_path and info is None:  # no container to version after all: nothing to keep
            await _drop(app, req, hidden_path)
        raise
    _show(resp.headers)
    return resp


async def _drop(app: Handler, req: SwiftRequest, path: str) -> SwiftResponse:
    sub = req.pre_authed("DELETE", path, source="OV")
    sub.headers[BACKEND_ALLOW_RESERVED] = "true"
    resp = await call(app, sub)
    await resp.read()
    return resp


def _show(headers: Headers) -> None:
    if SYSMETA_VERSIONS_ENABLED in headers:
        headers[CLIENT_VERSIONS_ENABLED] = headers[SYSMETA_VERSIONS_ENABLED]


async def _delete_container(state: ObjectStoreState, app: Handler, req: SwiftRequest, version: str,
                            account: str, container: str) -> SwiftResponse:
    info = await get_container_info(state, req, account, container)
    hidden = unquote(info.meta.get(SYSMETA_VERSIONS_CONT, "")) if info is not None else ""
    if not hidden or info is None or info.object_count:
        return await app(req)  # nothing versioned, or the controller's own 409 / 404
    req.acl = None
    await req.authorize()
    hidden_info = await get_container_info(state, req, account, hidden)
    if hidden_info is not None and hidden_info.object_count > 0:
        raise SwiftError(409, "Delete all versions before deleting container.")
    if hidden_info is not None:
        gone = await _drop(app, req, f"/{version}/{account}/{hidden}")
        if not gone.ok and gone.status != 404:
            raise SwiftError(500, "Error deleting versioned container")
    return await app(req)


async def _container(state: ObjectStoreState, app: Handler, req: SwiftRequest, version: str, account: str,
                     container: str) -> SwiftResponse:
    if req.method in ("PUT", "POST") and CLIENT_VERSIONS_ENABLED in req.headers:
        return await _enable(state, app, req, version, account, container)
    if req.method == "DELETE":
        return await _delete_container(state, app, req, version, account, container)
    want_versions = "versions" in req.query
    query = dict(req.query)
    req.query.pop("versions", None)
    resp = await app(req)
    _show(resp.headers)
    hidden = unquote(resp.headers.get(SYSMETA_VERSIONS_CONT, ""))
    if hidden and "x-container-bytes-used" in resp.headers:
        info = await get_container_info(state, req, account, hidden)
        if info is not None:
            resp.headers["x-container-bytes-used"] = str(int(resp.headers["x-container-bytes-used"])
                                                         + info.bytes_used)
    if req.method != "GET" or resp.status != 200 or not (hidden or want_versions):
        return resp  # never versioned: no link can name a hidden container
    location = hidden or versions_container(container)
    rows = json_rows(await resp.read())
    if rows is None:
        return resp
    for item in rows:
        if not all(k in item for k in ("symlink_path", "symlink_etag", "symlink_bytes")):
            continue
        try:
            _, target_account, target_container, target_obj = split_path(unquote(item["symlink_path"]))
        except ValueError:
            continue
        if target_container != location or not target_obj:
            continue
        item["bytes"] = int(item.pop("symlink_bytes"))
        item["version_symlink"] = True
        item["hash"] = item.pop("symlink_etag")
        name, version_id = parse_version_object(target_obj)
        if version_id is not None and not want_versions:
            item["symlink_path"] = quote(f"/v1/{target_account}/{container}/{name}") + f"?version-id={version_id}"
    if want_versions:
        return await _list_versions(state, app, req, resp, query, version, account, location, rows)
    return with_rows(resp, rows)


async def _list_versions(state: ObjectStoreState, app: Handler, req: SwiftRequest, resp: SwiftResponse,
                         query: dict[str, str], version: str, account: str, location: str,
                         primary: list[dict[str, Any]]) -> SwiftResponse:
    """``?versions``: the container's null versions and every version in the hidden container."""
    params = {k: query[k] for k in ("prefix", "marker", "limit", "delimiter", "reverse") if k in query}
    if "marker" in query:
        if "version_marker" not in query:
            params["marker"] = reserved(query["marker"], "") + ":"  # past all of its versions
        elif query["version_marker"] == "null":
            params["marker"] = reserved(query["marker"], "")
        else:
            try:
                params["marker"] = version_object(query["marker"], Timestamp.parse(query["version_marker"]).normal)
            except ValueError:
                raise SwiftError(400, "invalid version_marker param") from None
    elif "version_marker" in query:
        raise SwiftError(400, "version_marker param requires marker")
    if set(query.get("delimiter", "")) & set("0123456789." + RESERVED):
        raise SwiftError(400, "invalid delimiter param")
    if "prefix" in params:
        params["prefix"] = reserved(params["prefix"])
    nulls: list[dict[str, Any]] = []
    subdirs: set[str] = set()
    current: dict[str, dict[str, Any]] = {}
    latest: set[str] = set()
    for item in primary:
        if "name" not in item:
            subdirs.add(item["subdir"])
        elif item.get("version_symlink"):
            current[unquote(item["symlink_path"])] = item
        else:
            nulls.append(dict(item, version_id="null", is_latest=True))
            latest.add(item["name"])
    versions: list[dict[str, Any]] = []
    if await get_container_info(state, req, account, location) is not None:
        sub = req.pre_authed("GET", f"/{version}/{account}/{location}", query=params, source="OV")
        sub.headers[BACKEND_ALLOW_RESERVED] = "true"
        listed = await call(app, sub)
        rows = json_rows(await listed.read()) if listed.ok else []
        for item in rows or []:
            if "name" not in item:
                subdirs.add(item["subdir"][1:] if item["subdir"].startswith(RESERVED) else item["subdir"])
                continue
            name, version_id = parse_version_object(item["name"])
            if version_id is None:
                continue
            path = f"/v1/{account}/{location}/{item['name']}"
            if path in current:
                item["is_latest"] = True
                latest.add(name)
                del current[path]
            elif item.get("content_type") == DELETE_MARKER_CONTENT_TYPE and name not in latest:
                item["is_latest"] = True
                latest.add(name)
            else:
                item["is_latest"] = False
            item["name"], item["version_id"] = name, version_id
            versions.append(item)
    broken: list[dict[str, Any]] = []
    for path, item in current.items():  # links whose version is not in this page (or gone)
        name, version_id = parse_version_object(path.split("/", 4)[-1])
        if version_id is None:
            continue
        broken.append({"name": name, "is_latest": True, "version_id": version_id,
                       "content_type": item["content_type"], "bytes": item["bytes"], "hash": item["hash"],
                       "last_modified": item["last_modified"]})
    limit_text = query.get("limit", "")
    limit = int(limit_text) if limit_text.isdigit() else state.config.container_listing_limit
    reverse = truthy(query.get("reverse"))
    merged = sorted([*nulls, *versions, *({"subdir": s} for s in subdirs), *broken],
                    key=lambda r: (r.get("subdir") or r["name"]).encode("utf-8"), reverse=reverse)
    return with_rows(resp, merged[:limit])


async def _account(app: Handler, req: SwiftRequest, version: str, account: str) -> SwiftResponse:
    """Account listings leave the hidden containers out; their bytes count in their container's row."""
    if req.method != "GET":
        return await app(req)
    skip_past = RESERVED + "\U0010ffff"  # after every hidden name: a page is never eaten by them
    reverse = truthy(req.query.get("reverse"))
    bound = "end_marker" if reverse else "marker"
    if not req.query.get("prefix") and req.query.get(bound, "") < skip_past:
        req.query[bound] = skip_past
    resp = await app(req)
    if resp.status != 200:
        return resp
    rows = json_rows(await resp.read())
    if rows is None:
        return resp
    sub = req.pre_authed("GET", f"/{version}/{account}", query={"prefix": reserved("versions", "")},
                         source="OV")
    hidden = await call(app, sub)
    by_name = {}
    for item in (json_rows(await hidden.read()) or []) if hidden.ok else []:
        if "name" in item:
            by_name[item["name"][len(reserved("versions", "")):]] = item
    for item in rows:
        extra = by_name.get(item.get("name", ""))
        if extra is not None:
            item["bytes"] = int(item.get("bytes", 0)) + int(extra.get("bytes", 0))
    return with_rows(resp, [r for r in rows if not str(r.get("name", r.get("subdir", ""))).startswith(RESERVED)])


def factory(state: ObjectStoreState) -> Middleware | None:
    state.info.register("object_versioning")

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            try:
                version, account, container, obj = split_path(req.path)
            except ValueError:
                return await app(req)
            if not account or version not in ("v1", "v1.0"):
                return await app(req)
            if container is None:
                return await _account(app, req, version, account)
            if container.startswith(RESERVED) and not truthy(req.headers.get(BACKEND_ALLOW_RESERVED)):
                raise SwiftError(412, "Invalid UTF8 or contains NULL")  # hidden names are the proxy's own
            if obj is None:
                return await _container(state, app, req, version, account, container)
            _, info = await get_infos(state, req, account, container)  # the object controller's, too
            if info is None:
                return await app(req)
            return await VersionedObject(state, app, req, version, account, container, obj, info).handle()

        return handle

    return middleware
