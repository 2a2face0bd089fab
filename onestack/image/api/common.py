"""What the image service adds to the shared request layer: Glance's wording, booleans and
policy targets, and the steps most image handlers share (who asks; may they act on this image).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from onestack.core.api.faults import ApiError, BadRequest
from onestack.core.api.pagination import Page
from onestack.core.api.parse import Booleans, parse_int
from onestack.core.api.request import ApiRoutes, Conventions
from onestack.core.api.request import Req as CoreReq
from onestack.core.api.validation import SchemaFailure
from onestack.core.auth import AuthContext
from onestack.image.service import images as svc
from onestack.image.service.images import Viewer
from onestack.image.state import ImageService

Req = CoreReq[ImageService]
ImageRoutes = ApiRoutes[ImageService]

MAX_LIMIT = 1000  # Glance's api_limit_max
DEFAULT_LIMIT = 25  # Glance's limit_param_default

# The spellings Glance's list filters (protected, os_hidden) and X-Openstack-Append take.
GLANCE_BOOLEANS = Booleans(true=frozenset({"true", "1", "yes", "on"}), false=frozenset({"false", "0", "no", "off"}))
_SORT_WORDS = {"sort_key": "sort key", "sort_dir": "sort direction"}


def _schema_error(failure: SchemaFailure) -> ApiError:
    where = "/".join(str(p) for p in failure.path)
    return BadRequest(f"Invalid input{' for ' + where if where else ''}: {failure.message}")


def _bad_value(name: str, value: str, reason: str) -> ApiError:
    if name == "limit":
        try:
            parse_int(value)
        except ValueError:
            return BadRequest(f"limit param must be an integer, got {value!r}.")
        return BadRequest("limit param must be positive.")
    if name in _SORT_WORDS:
        return BadRequest(f"Invalid {_SORT_WORDS[name]}: {value}. It {reason}.")
    return BadRequest(f"Invalid value {value!r} for '{name}': {reason}.")


def _policy_target(ctx: AuthContext, target: Mapping[str, Any] | None) -> dict[str, Any]:
    # Image rules get the target as given; rules on no object check the caller's own project.
    return dict(target) if target is not None else {"project_id": ctx.project_id}


CONVENTIONS = Conventions(schema_error=_schema_error, schema_draft=4, bad_value=_bad_value, booleans=GLANCE_BOOLEANS,
                          policy_target=_policy_target, max_limit=MAX_LIMIT)


async def viewer(req: Req) -> tuple[AuthContext, Viewer]:
    """The authenticated caller (401 otherwise) and how image visibility sees it."""
    ctx = await req.caller()
    return ctx, Viewer(project_id=ctx.project_id, is_admin=await req.allowed("context_is_admin", {}))


async def image_for(req: Req, rule: str) -> tuple[Viewer, dict[str, Any]]:
    """The caller, once the image at ``{image_id}`` is visible to it (404 otherwise) and ``rule``
    allows it (403); and the image's policy target."""
    _, who = await viewer(req)
    target = await req.read(svc.visible_target, req.path("image_id"), who)
    await req.enforce(rule, target)
    return who, target


def listing(req: Req, key: str, items: list[dict[str, Any]], page: Page, *, id_key: str,
            schema: str) -> dict[str, Any]:
    """A Glance collection (tasks, metadefs): ``first``, and ``next`` when the page came back full."""
    body: dict[str, Any] = {key: items, "first": req.path_below_mount, "schema": schema}
    if page.limit and len(items) == page.limit:
        body["next"] = req.next_href(str(items[-1][id_key]), absolute=False, limit=page.limit)
    return body
