"""Image API: image data (upload, download, stage, import, per-store delete).

An image's import tasks are listed by api/tasks.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from onestack.core.api.faults import ApiError, UnsupportedMediaType
from onestack.core.api.http import no_content
from onestack.core.ids import new_id
from onestack.image.api.common import ImageRoutes, Req
from onestack.image.service import cache, data, imports
from onestack.image.service.data import Caller

routes = ImageRoutes()

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(ApiError):
    status = 416


async def _caller(req: Req) -> Caller:
    return Caller.of(await req.caller())


def _client_gone() -> Response:
    # The client went away mid-body: the image is already back to queued; nobody reads this.
    return Response(b"", status_code=400)


def _check_octet_stream(req: Req) -> None:
    ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype != "application/octet-stream":
        raise UnsupportedMediaType(f"Content type {ctype} is not supported; send application/octet-stream.")


@routes.put("/v2/images/{image_id}/file")
async def upload_file(req: Req) -> Response:
    caller = await _caller(req)
    _check_octet_stream(req)
    try:
        await data.upload(
            req.state, caller, req.path("image_id"), req.request.stream(),
            store_id=req.headers.get("x-image-meta-store"), content_md5=req.headers.get("content-md5"),
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
async def download_file(req: Req) -> Response:
    caller = await _caller(req)
    found = await req.read(data.open_download, req.state, req.path("image_id"), caller)
    if found is None:
        return no_content()
    headers = {"Content-Type": "application/octet-stream"}
    if found.checksum:
        headers["Content-MD5"] = found.checksum
    offset, length, status = 0, found.size, 200
    wanted = req.headers.get("range")
    if wanted:
        offset, length = _parse_range(wanted, found.size)
        status = 206
        headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{found.size}"
    headers["Content-Length"] = str(length)
    if req.method == "HEAD":
        return Response(b"", status_code=status, headers=headers)
    # From this host's image cache when it holds the image (service/cache.py).
    body: AsyncIterator[bytes] = await cache.stream(req.state, req.path("image_id"), found, offset, length)
    return StreamingResponse(body, status_code=status, headers=headers)


@routes.put("/v2/images/{image_id}/stage")
async def stage_file(req: Req) -> Response:
    caller = await _caller(req)
    _check_octet_stream(req)
    try:
        await imports.stage(req.state, caller, req.path("image_id"), req.request.stream())
    except ClientDisconnect:
        return _client_gone()
    return no_content()


@routes.post("/v2/images/{image_id}/import")
async def import_image(req: Req) -> Response:
    caller = await _caller(req)
    image, image_id = req.state, req.path("image_id")
    wanted = imports.parse_request(image, await req.json(), req.headers.get("x-image-meta-store"))
    await imports.check_uri(image, wanted)
    task_id = new_id()
    targets, disk_format, token, allowance = await req.write(imports.begin_import, image, image_id, caller, wanted,
                                                             task_id, req.request_id or None)
    if wanted.method == "copy-image":
        data.tracked(image, imports.run_copy(image, image_id, targets, task_id, token))
    elif wanted.method == "web-download":
        data.tracked(image, imports.run_web_download(image, image_id, wanted.body["method"]["uri"], targets,
                                                     wanted.all_stores_must_succeed, task_id, disk_format, token,
                                                     allowance))
    else:
        data.tracked(image, imports.run_glance_direct(image, image_id, targets, wanted.all_stores_must_succeed,
                                                      task_id, disk_format, token))
    return Response(b"", status_code=202)


@routes.delete("/v2/stores/{store_id}/{image_id}")
async def delete_from_store(req: Req) -> Response:
    caller = await _caller(req)
    await data.remove_from_store(req.state, req.path("image_id"), req.path("store_id"), caller)
    return no_content()
