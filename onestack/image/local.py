"""Image records answered in-process for compute's boot path.

``POST /servers`` looks the image up as the user on every boot. In one process (``onestack
up``) that lookup skips HTTP: ``LocalImages.get`` validates the same token, applies the same
visibility rules and ``get_image`` policy as ``GET /v2/images/{id}`` and renders the same
document (``service.images.show_image``), in one read. Everything else (data, snapshots, the
/images proxy) goes through the inherited HTTP client, as it would from a compute service
running apart.
"""

from __future__ import annotations

from typing import Any

from onestack.client.image import ImageClient
from onestack.client.session import ServiceSession
from onestack.core.api.faults import NotFound
from onestack.core.auth import TokenValidator
from onestack.image.service import images as svc
from onestack.image.service.images import Viewer
from onestack.image.state import ImageService

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
