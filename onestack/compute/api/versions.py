"""Version discovery: ``GET /compute/``, ``GET /compute/v2.1``, ``GET /compute/v2.1/versions/{id}``
and the legacy ``GET /compute/v2``.

``MAX_VERSION`` is the newest microversion whose behaviour onestack implements for every
resource it serves; raise it only together with the behaviour.

Nova lists two versions: v2.0 (the legacy API without microversions, served at ``/v2``) and
v2.1 (``/v2.1``). onestack serves only the v2.0 *version document* at ``/v2`` and ``/v2/``,
so that every self link in the list can be followed, as clients and Tempest do. The legacy
API itself (the v2.1 resources answered at 2.1 behaviour below ``/v2``) is not served: the
catalog lists only ``/compute/v2.1``, every maintained client negotiates microversions there,
and Nova itself deprecated v2.0 in 2025.2. Any other path below ``/v2/`` answers 404.
All of these documents are readable without a token, as in Nova since Ussuri.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.core.api.faults import NotFound
from onestack.core.api.http import json_response
from onestack.core.api.microversion import MicroversionPolicy, Version

routes = ComputeRoutes()

MIN_VERSION = Version(2, 1)
MAX_VERSION = Version(2, 104)
POLICY = MicroversionPolicy("compute", MIN_VERSION, MAX_VERSION, legacy_header="X-OpenStack-Nova-API-Version")
UPDATED = "2013-07-23T11:33:21Z"
DOCS_LINK = {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}

# (id, path below the mount, status, version, min_version, updated, media type); oldest first, as Nova sorts.
_VERSIONS: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("v2.0", "v2", "SUPPORTED", "", "", "2011-01-21T11:33:21Z", "application/vnd.openstack.compute+json;version=2"),
    ("v2.1", "v2.1", "CURRENT", str(MAX_VERSION), str(MIN_VERSION), UPDATED,
     "application/vnd.openstack.compute+json;version=2.1"),
)


def _summary(req: Req, entry: tuple[str, str, str, str, str, str, str]) -> dict[str, Any]:
    """One version as the list shows it: no media types, only the self link."""
    version_id, path, status, version, min_version, updated, _ = entry
    return {
        "id": version_id,
        "status": status,
        "version": version,
        "min_version": min_version,
        "updated": updated,
        "links": [{"rel": "self", "href": f"{req.service_url}/{path}/"}],
    }


def _document(req: Req, version_id: str) -> dict[str, Any]:
    """One version's own document: the summary plus the docs link and its media type."""
    entry = next(e for e in _VERSIONS if e[0] == version_id)
    doc = _summary(req, entry)
    doc["links"].append(dict(DOCS_LINK))
    doc["media-types"] = [{"base": "application/json", "type": entry[6]}]
    return {"version": doc}


@routes.get("/")
async def list_versions(req: Req) -> Response:
    return json_response({"versions": [_summary(req, e) for e in _VERSIONS]})


@routes.get("/v2.1")
async def show_v21(req: Req) -> Response:
    return json_response(_document(req, "v2.1"))


@routes.get("/v2.1/")
async def show_v21_slash(req: Req) -> Response:
    return json_response(_document(req, "v2.1"))


@routes.get("/v2.1/versions/{version_id}")
async def show_version(req: Req) -> Response:
    """Nova's ``VersionsController.show``: either version's document by id, else 404."""
    version_id = req.path("version_id")
    if version_id not in {e[0] for e in _VERSIONS}:
        raise NotFound("The resource could not be found.")
    return json_response(_document(req, version_id))


@routes.get("/v2")
async def show_v20(req: Req) -> Response:
    return json_response(_document(req, "v2.0"))


@routes.get("/v2/")
async def show_v20_slash(req: Req) -> Response:
    return json_response(_document(req, "v2.0"))
