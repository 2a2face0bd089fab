"""What the network tests share: a raw HTTP client on /networking with a project's token."""

from __future__ import annotations

from typing import Any

import httpx

from tests.functional.cloud import RunningCloud


def neutron(cloud: RunningCloud, name: str = "devstack") -> httpx.Client:
    """httpx on ``<cloud>/networking`` with ``name``'s token (for status codes and raw bodies)."""
    token = cloud.sdk(name).auth_token
    return httpx.Client(base_url=f"{cloud.base_url}/networking", headers={"X-Auth-Token": token}, timeout=30)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``NeutronError`` object of an error response."""
    body: dict[str, Any] = response.json()["NeutronError"]
    assert set(body) == {"type", "message", "detail"}, body
    return body
