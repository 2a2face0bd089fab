"""Image API: image data (upload, download, stage, import, per-store delete).

An image's import tasks are listed by api/tasks.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from onestack.core.api.faults import ApiError, UnsupportedMediaType
from onestack.core.api.http import RouteTable, json_body, no_content
from onestack.core.auth import authenticate
from onestack.core.ids import new_id
from onestack.image.service import data, imports
from onestack.image.service.data import Caller

routes = RouteTable()

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(ApiError):
    status = 416


def _image_service(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.image


async def _caller(request: Request) -> Caller:
    return Caller.of(await authenticate(request))


def _client_gone() -> Response:
    # The client went away mid-body: the image is already back to queued; nobody reads this.
    return Response(b"", status_code=400)


def _check_octet_stream(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype != "application/octet-stream":
        raise UnsupportedMediaType(f"Content type {ctype} is not supported; send application/octet-stream.")


@routes.put("/v2/images/{image_id}/file")
async def upload_file(request: Request) -> Response:
    caller = await _caller(request)
    _check_octet_stream(request)
    try:
        await data.upload(
            _image_service(request), caller, request.path_params["image_id"], request.stream(),
            store_id=request.headers.get("x-image-meta-store"), content_md5=request.headers.get("content-md5"),
        )
    except ClientDisconnect:
        return _client_gone()
    return no_content()


def _parse_range(header: str, size: int) -> tuple[int, int]:
    """A single ``bytes=a-b`` range as (offset, length); 416 when it cannot be served."""
    match = _RANGE.match(header.strip().replace(" ", ""))
    unsatisfiable = RangeNotSatisfiable("Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    if not match or match.group(1) == match.group(2) == "":
        raise unsatisfiable
    first, last = match.group(1), match.group(2)
    if first == "":  # suffix: the last N bytes
        count = min(int(last), size)
        if count == 0:
            raise unsatisfiable
        return size - count, count
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise unsatisfiable
    return start, end - start + 1


@routes.get("/v2/images/{image_id}/file")
async def download_file(request: Request) -> Response:
    caller = await _caller(request)
    svc = _image_service(request)
    found = await svc.db.read(data.open_download, svc, request.path_params["image_id"], caller)
    if found is None:
        return no_content()
    headers = {"Content-Type": "application/octet-stream"}
    if found.checksum:
        headers["Content-MD5"] = found.checksum
    offset, length, status = 0, found.size, 200
    wanted = request.headers.get("range")
    if wanted:
        offset, length = _parse_range(wanted, found.size)
        status = 206
        headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{found.size}"
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(b"", status_code=status, headers=headers)
    body: AsyncIterator[bytes] = found.store.get(found.location, offset, length)
    return StreamingResponse(body, status_code=status, headers=headers)


@routes.put("/v2/images/{image_id}/stage")
async def stage_file(request: Request) -> Response:
    caller = await _caller(request)
    _check_octet_stream(request)
    try:
        await imports.stage(_image_service(request), caller, request.path_params["image_id"], request.stream())
    except ClientDisconnect:
        return _client_gone()
    return no_content()


@routes.post("/v2/images/{image_id}/import")
async def import_image(request: Request) -> Response:
    caller = await _caller(request)
    svc = _image_service(request)
    image_id = request.path_params["image_id"]
    req = imports.parse_request(svc, await json_body(request), request.headers.get("x-image-meta-store"))
    task_id = new_id()
    request_id = getattr(request.state, "request_id", None)
    targets = await svc.db.write(imports.begin_import, svc, image_id, caller, req, task_id, request_id)
    if req.method == "copy-image":
        data.tracked(svc, imports.run_copy(svc, image_id, targets, task_id))
    else:
        disk_format = await svc.db.read(lambda s: data.load_visible(s, image_id, caller)[0].disk_format)
        data.tracked(svc, imports.run_glance_direct(svc, image_id, targets, req.all_stores_must_succeed,
                                                    task_id, disk_format))
    return Response(b"", status_code=202)




@routes.delete("/v2/stores/{store_id}/{image_id}")
async def delete_from_store(request: Request) -> Response:
    caller = await _caller(request)
    svc = _image_service(request)
    store_id, image_id = request.path_params["store_id"], request.path_params["image_id"]
    url = await svc.db.write(data.drop_store_location, svc, image_id, store_id, caller)
    await data._discard(svc.stores[store_id], url)
    return no_content()
