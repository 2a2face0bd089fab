"""What compute asks the image service: image records, image data (for the per-host cache), snapshots."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from onestack.client.session import ServiceSession
from onestack.core.files import open_private

SERVICE = "image"


class ImageDataError(Exception):
    """The image's data cannot be had: not visible, not allowed, or none stored (what
    ``GET /v2/images/{id}/file`` answers with a 403, 404 or 204)."""


class ImageClient:
    def __init__(self, session: ServiceSession) -> None:
        self.session = session

    async def get(self, image_id: str, user_token: str | None = None) -> dict[str, Any] | None:
        """The image record as the user (or the service, when no token is given) sees it; None if absent."""
        resp = await self.session.request("GET", f"/v2/images/{image_id}", service=SERVICE, user_token=user_token)
        if resp.status_code in (403, 404):
            return None
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]

    async def download(self, image_id: str, dest: Path) -> None:
        """Stream the image's data to ``dest`` (written beside it, then renamed into place)."""
        partial = dest.with_name(dest.name + ".part")
        token = await self.session.token()
        url = await self.session.url(SERVICE, f"/v2/images/{image_id}/file")
        async with self.session.stream("GET", url, token) as resp:
            resp.raise_for_status()
            with os.fdopen(open_private(partial), "wb") as fh:
                async for chunk in resp.aiter_bytes(1 << 20):
                    fh.write(chunk)
        partial.replace(dest)

    @asynccontextmanager
    async def data_file(self, image_id: str, work_dir: Path) -> AsyncIterator[Path]:
        """A file on this machine holding the image's data, for the block's duration (read it,
        never write it). Here: a streamed download into ``work_dir``, removed afterwards; an
        image service in this process hands its own file (image/local.py), no copy."""
        dest = work_dir / f"image-{image_id}-{uuid.uuid4().hex[:8]}"
        try:
            await self.download(image_id, dest)
            yield dest
        finally:
            dest.unlink(missing_ok=True)
            dest.with_name(dest.name + ".part").unlink(missing_ok=True)

    async def create(self, body: dict[str, Any], user_token: str | None = None) -> dict[str, Any]:
        resp = await self.session.request("POST", "/v2/images", service=SERVICE, json=body, user_token=user_token)
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]

    async def upload(self, image_id: str, path: Path) -> None:
        """Stream ``path`` into the image's data (a piece at a time: volumes and snapshots are big)."""

        async def pieces() -> AsyncIterator[bytes]:
            with path.open("rb") as fh:
                while piece := await asyncio.to_thread(fh.read, 1 << 20):
                    yield piece

        url = await self.session.url(SERVICE, f"/v2/images/{image_id}/file")
        for _attempt in range(2):
            token = await self.session.token()
            resp = await self.session.http.request(
                "PUT", url, content=pieces(), headers={"X-Auth-Token": token, "Content-Type": "application/octet-stream",
                                                       "Content-Length": str(path.stat().st_size)})
            if resp.status_code != 401:
                break
            self.session._token = None  # ours expired: authenticate again (a fresh stream)
        resp.raise_for_status()

    async def list_images(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every image matching the Glance v2 list filters (custom properties filter by value),
        following the ``next`` links; the service sees all projects' images."""
        found: list[dict[str, Any]] = []
        url: str | None = "/v2/images"
        query: dict[str, str] | None = params
        while url is not None:
            resp = await self.session.request("GET", url, params=query, service=SERVICE)
            resp.raise_for_status()
            body = resp.json()
            found.extend(body.get("images", []))
            nxt = body.get("next")
            url, query = (nxt, None) if nxt else (None, None)
        return found

    async def delete(self, image_id: str) -> None:
        await self.session.request("DELETE", f"/v2/images/{image_id}", service=SERVICE)

    # --- as the calling user (compute's /images proxy): answers are passed back, not raised ---

    async def list_as_user(self, params: dict[str, str], user_token: str,
                           limit: int | None = None) -> tuple[int, list[dict[str, Any]], str]:
        """(status, images, error text): what ``user_token`` sees through the Glance v2 list filters,
        following ``next`` links until ``limit`` images (all, when None) are gathered."""
        found: list[dict[str, Any]] = []
        url: str | None = "/v2/images"
        query: dict[str, str] | None = dict(params)
        while url is not None:
            if query is not None and limit is not None:
                query["limit"] = str(max(1, limit - len(found)))
            resp = await self.session.request("GET", url, params=query, user_token=user_token, service=SERVICE)
            if resp.status_code != 200:
                return resp.status_code, [], resp.text
            body = resp.json()
            found.extend(body.get("images", []))
            nxt = body.get("next")
            if limit is not None and len(found) >= limit:
                return 200, found[:limit], ""
            url, query = (nxt, None) if nxt else (None, None)
        return 200, found, ""

    async def patch_as_user(self, image_id: str, ops: list[dict[str, Any]],
                            user_token: str) -> tuple[int, dict[str, Any] | None]:
        """Apply a Glance v2 JSON patch as the user: (status, image document when 200)."""
        resp = await self.session.request(
            "PATCH", f"/v2/images/{image_id}", service=SERVICE, json=ops, user_token=user_token,
            headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
        return resp.status_code, (resp.json() if resp.status_code == 200 else None)

    async def delete_as_user(self, image_id: str, user_token: str) -> int:
        """Delete as the user; the image service's status code (204, 403, 404, 409...)."""
        resp = await self.session.request("DELETE", f"/v2/images/{image_id}", service=SERVICE, user_token=user_token)
        return resp.status_code
