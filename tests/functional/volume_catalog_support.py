"""What the block-storage catalog tests share: raw HTTP on /volume/v3 with a project's token."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.functional.cloud import RunningCloud

LATEST = "3.71"


def client(cloud: RunningCloud, name: str = "devstack-admin", version: str = LATEST) -> httpx.Client:
    """httpx on ``<cloud>/volume/v3`` as ``name``, at microversion ``version``."""
    token = cloud.sdk(name).auth_token
    return httpx.Client(base_url=f"{cloud.base_url}/volume/v3",
                        headers={"X-Auth-Token": token, "OpenStack-API-Version": f"volume {version}"}, timeout=30)


def project_of(cloud: RunningCloud, name: str) -> str:
    return str(cloud.sdk(name).current_project_id)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def fault(response: httpx.Response, kind: str, code: int) -> str:
    """The message of Cinder's ``{kind: {code, message}}`` error body, after checking its shape."""
    assert response.status_code == code, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert set(body) == {kind}, body
    assert body[kind]["code"] == code, body
    return str(body[kind]["message"])
