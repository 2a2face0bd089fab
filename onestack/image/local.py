"""Image records and image data answered in-process (``onestack up``).

``POST /servers`` looks the image up as the user on every boot. In one process that lookup
skips HTTP: ``LocalImages.get`` validates the same token, applies the same visibility rules
and ``get_image`` policy as ``GET /v2/images/{id}`` and renders the same document
(``service.images.show_image``), in one read.

Image data skips HTTP too: the in-process HTTP transport buffers a whole response in memory
(a 1 GiB image is 1 GiB of RAM and several copies), so ``download`` and ``data_file`` ask the
image service's own ``open_download`` — the visibility rules, the deactivated-image rule and
the ``download_image`` policy of ``GET /v2/images/{id}/file``, as the service user — and read
the store directly. ``data_file`` hands a filesystem store's file itself (hard-linked into the
caller's work directory, so deleting the image meanwhile takes nothing from under a reader),
which ``qemu-img convert`` reads with no copy at all. Snapshots, uploads and the /images proxy
go through the inherited HTTP client, as they would from a service running apart.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from onestack.client.image import ImageClient, ImageDataError
from onestack.client.session import ServiceSession
from onestack.core.api.faults import ApiError, NotFound, Unauthorized
from onestack.core.auth import TokenValidator
from onestack.core.files import open_private
from onestack.image.service import cache as image_cache
from onestack.image.service import data
from onestack.image.service import images as svc
from onestack.image.service.images import Viewer
from onestack.image.state import ImageService
from onestack.image.stores import StoreError

SERVICE = Viewer(project_id=None, is_admin=True)  # the onestack service user is admin in its project


class LocalImages(ImageClient):
    def __init__(self, session: ServiceSession, image: ImageService, validator: TokenValidator) -> None:
        super().__init__(session)
        self.image = image
        self.validator = validator

    async def get(self, image_id: str, user_token: str | None = None) -> dict[str, Any] | None:
        enforcer = self.image.enforcer
        credentials: dict[str, Any] | None = None
        viewer = SERVICE
        if user_token is not None:
            ctx = await self.validator.validate(user_token)
            credentials = ctx.credentials()
            viewer = Viewer(project_id=ctx.project_id, is_admin=enforcer.check("context_is_admin", {}, credentials))
        try:
            target, doc = await self.image.db.read(svc.show_image, image_id, viewer)
        except NotFound:
            return None
        if credentials is not None and not enforcer.check("get_image", target, credentials):
            return None
        return doc

    # --- data ------------------------------------------------------------------------------------

    async def _service_caller(self) -> data.Caller:
        """The service user as the download route would see it (its token validated here)."""
        for _attempt in range(2):
            try:
                return data.Caller.of(await self.validator.validate(await self.session.token()))
            except Unauthorized:
                self.session._token = None  # ours expired: authenticate again
        raise ImageDataError("the image service refused the service user's token")

    async def _open(self, image_id: str) -> data.Download:
        caller = await self._service_caller()
        try:
            found = await self.image.db.read(data.open_download, self.image, image_id, caller)
        except ApiError as exc:  # 404 (not visible), 403 (deactivated, policy)
            raise ImageDataError(f"image {image_id}: {exc}") from exc
        if found is None:
            raise ImageDataError(f"image {image_id} has no data")
        return found

    async def download(self, image_id: str, dest: Path) -> None:
        """A private copy streamed from the store (written beside ``dest``, then renamed)."""
        found = await self._open(image_id)
        partial = dest.with_name(dest.name + ".part")
        try:
            with os.fdopen(open_private(partial), "wb") as fh:
                # Through this host's image cache, as a download over HTTP would be (service/cache.py).
                async for chunk in await image_cache.stream(self.image, image_id, found, 0, found.size):
                    await asyncio.to_thread(fh.write, chunk)
        except StoreError as exc:
            partial.unlink(missing_ok=True)
            raise ImageDataError(f"image {image_id}: {exc}") from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(dest)

    @asynccontextmanager
    async def data_file(self, image_id: str, work_dir: Path) -> AsyncIterator[Path]:
        found = await self._open(image_id)
        path_of = getattr(found.store, "path_of", None)
        if path_of is None:  # a store with no local files: a streamed copy
            async with super().data_file(image_id, work_dir) as copy:
                yield copy
            return
        try:
            source: Path = path_of(found.location)
        except StoreError as exc:
            raise ImageDataError(f"image {image_id}: {exc}") from exc
        link = work_dir / f"image-{image_id}-{uuid.uuid4().hex[:8]}"
        try:
            os.link(source, link)
            linked = True
        except FileNotFoundError as exc:
            raise ImageDataError(f"image {image_id}: its data is gone") from exc
        except OSError:  # another filesystem, or links refused: read the store's file in place
            linked = False
        try:
            yield link if linked else source
        finally:
            if linked:
                link.unlink(missing_ok=True)
