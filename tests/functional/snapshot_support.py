"""What the snapshot, backup and transfer tests share: a raw client on /volume/v3 with a project's
token and a microversion, Cinder's error bodies, and waiting for a status."""

from __future__ import annotations

from typing import Any

import httpx

from tests.functional.cloud import RunningCloud, wait_until

MV = "3.71"
MISSING = "00000000-0000-4000-8000-000000000000"


def cinder(cloud: RunningCloud, name: str = "devstack", mv: str = MV) -> httpx.Client:
    """httpx on ``/volume/v3`` with ``name``'s token and a microversion."""
    token = cloud.sdk(name).auth_token
    return httpx.Client(base_url=f"{cloud.base_url}/volume/v3",
                        headers={"X-Auth-Token": token, "OpenStack-API-Version": f"volume {mv}"}, timeout=60)


def error(response: httpx.Response, kind: str) -> str:
    body = response.json()
    assert set(body) == {kind}, body
    message: str = body[kind]["message"]
    return message


def wait_status(client: httpx.Client, path: str, key: str, status: str, timeout: float = 60) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        found: dict[str, Any] = client.get(path).json()[key]
        if found["status"] == status:
            return found
        assert not (found["status"].startswith("error") and not status.startswith("error")), found
        return None

    result: dict[str, Any] = wait_until(reached, timeout=timeout, what=f"{path} {status}")
    return result


def wait_gone(client: httpx.Client, path: str, timeout: float = 60) -> None:
    wait_until(lambda: client.get(path).status_code == 404, timeout=timeout, what=f"{path} gone")


def make_volume(client: httpx.Client, size: int = 1, **extra: Any) -> dict[str, Any]:
    r = client.post("/volumes", json={"volume": {"size": size, **extra}})
    assert r.status_code == 202, r.text
    return wait_status(client, f"/volumes/{r.json()['volume']['id']}", "volume", "available")


def make_snapshot(client: httpx.Client, volume_id: str, **extra: Any) -> dict[str, Any]:
    r = client.post("/snapshots", json={"snapshot": {"volume_id": volume_id, **extra}})
    assert r.status_code == 202, r.text
    return wait_status(client, f"/snapshots/{r.json()['snapshot']['id']}", "snapshot", "available")
