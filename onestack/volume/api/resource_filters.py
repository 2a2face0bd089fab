"""``/resource_filters`` (3.33): which filter keys each list accepts (Cinder's
resource_filters.json defaults; ``?resource=`` narrows to one)."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.volume.api.common import Req, VolumeRoutes

routes = VolumeRoutes()

FILTERS: dict[str, list[str]] = {
    "volume": ["name", "status", "metadata", "bootable", "migration_status", "availability_zone", "group_id",
               "size", "created_at", "updated_at"],
    "backup": ["name", "status", "volume_id"],
    "snapshot": ["name", "status", "volume_id", "metadata", "availability_zone"],
    "group": [],
    "group_snapshot": ["status", "group_id"],
    "attachment": ["volume_id", "status", "instance_id", "attach_status"],
    "message": ["resource_uuid", "resource_type", "event_id", "request_id", "message_level"],
    "pool": ["name", "volume_type"],
    "volume_type": ["is_public"],
}


@routes.get("/v3/resource_filters", since=Version(3, 33))
async def list_filters(req: Req) -> Response:
    await req.caller()
    wanted = req.params.get("resource")
    return json_response({"resource_filters": [{"resource": name, "filters": keys} for name, keys in FILTERS.items()
                                               if wanted is None or name == wanted]})
