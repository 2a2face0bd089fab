"""What compute asks the image service: image records, image data (for the per-host cache), snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onestack.client.session import ServiceSession

PREFIX = "/image"


class ImageClient:
    def __init__(self, session: ServiceSession) -> None:
        self.session = session

    async def get(self, image_id: str, user_token: str | None = None) -> dict[str, Any] | None:
        """The image record as the user (or the service, when no token is given) sees it; None if absent."""
        resp = await self.session.request("GET", f"{PREFIX}/v2/images/{image_id}", user_token=user_token)
        if resp.status_code in (403, 404):
            return None
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]

    async def download(self, image_id: str, dest: Path) -> None:
        """Stream the image's data to ``dest`` (written beside it, then renamed into place)."""
        partial = dest.with_name(dest.name + ".part")
        token = await self.session.token()
        async with self.session.stream("GET", f"{PREFIX}/v2/images/{image_id}/file", token) as resp:
            resp.raise_for_status()
            with partial.open("wb") as fh:
                async for chunk in resp.aiter_bytes(1 << 20):
                    fh.write(chunk)
        partial.replace(dest)

    async def create(self, body: dict[str, Any], user_token: str | None = None) -> dict[str, Any]:
        resp = await self.session.request("POST", f"{PREFIX}/v2/images", json=body, user_token=user_token)
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]

    async def upload(self, image_id: str, path: Path) -> None:
        with path.open("rb") as fh:
            data = fh.read()
        resp = await self.session.request("PUT", f"{PREFIX}/v2/images/{image_id}/file", content=data,
                                          headers={"Content-Type": "application/octet-stream"})
        resp.raise_for_status()

    async def delete(self, image_id: str) -> None:
        await self.session.request("DELETE", f"{PREFIX}/v2/images/{image_id}")
