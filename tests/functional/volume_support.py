"""What the block-storage tests share: a raw HTTP client on /volume/v3 with a project's token and
a microversion, Cinder's error body, and waiting for a volume's status."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, wait_until

LATEST = "3.71"


def cinder(cloud: RunningCloud, name: str = "devstack", microversion: str = LATEST,
           with_project: bool = True) -> httpx.Client:
    """httpx on ``<cloud>/volume/v3[/<project>]`` as ``name`` (a clouds.yaml entry), sending
    ``OpenStack-API-Version: volume <microversion>``; paths are relative (``volumes/detail``)."""
    conn = cloud.sdk(name)
    token = conn.auth_token
    base = f"{cloud.base_url}/volume/v3"
    if with_project:
        base += f"/{conn.current_project_id}"
    return httpx.Client(base_url=base + "/", timeout=60,
                        headers={"X-Auth-Token": token, "OpenStack-API-Version": f"volume {microversion}"})


def cinder_fixture(name: str) -> Callable[..., Any]:
    """A module-scoped fixture of ``cinder(cloud, name)``; assign it to the fixture's name."""
    @pytest.fixture(scope="module")
    def client(cloud: RunningCloud) -> Iterator[httpx.Client]:
        with cinder(cloud, name) as opened:
            yield opened

    return client


def error_of(response: httpx.Response, kind: str | None = None) -> dict[str, Any]:
    """Cinder's ``{"<kind>": {"code", "message"}}``: the inner object (checked to be the only key)."""
    body = response.json()
    assert len(body) == 1, body
    found_kind, inner = next(iter(body.items()))
    if kind is not None:
        assert found_kind == kind, body
    assert inner["code"] == response.status_code, body
    return dict(inner)


def get_volume(client: httpx.Client, volume_id: str) -> dict[str, Any] | None:
    resp = client.get(f"volumes/{volume_id}")
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    volume: dict[str, Any] = resp.json()["volume"]
    return volume


def wait_volume(client: httpx.Client, volume_id: str, status: str | tuple[str, ...] = "available",
                timeout: float = 60.0) -> dict[str, Any]:
    """Poll until the volume is in ``status`` (one of them); an ``error*`` status not asked for
    ends the wait at once, failing with the volume as it is."""
    wanted = (status,) if isinstance(status, str) else status

    def reached() -> dict[str, Any] | None:
        volume = get_volume(client, volume_id)
        assert volume is not None, f"volume {volume_id} is gone while waiting for {wanted}"
        if volume["status"] in wanted or volume["status"].startswith("error"):
            return volume
        return None

    found: dict[str, Any] = wait_until(reached, timeout=timeout, what=f"volume {volume_id} {wanted}")
    assert found["status"] in wanted, found
    return found


def wait_gone(client: httpx.Client, volume_id: str, timeout: float = 60.0) -> None:
    wait_until(lambda: get_volume(client, volume_id) is None, timeout=timeout, what=f"volume {volume_id} deleted")


def create_volume(client: httpx.Client, size: int = 1, **fields: Any) -> dict[str, Any]:
    """POST /volumes (202 required); the answer's volume."""
    resp = client.post("volumes", json={"volume": {"size": size, **fields}})
    assert resp.status_code == 202, resp.text
    volume: dict[str, Any] = resp.json()["volume"]
    return volume
