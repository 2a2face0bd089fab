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


CONNECTOR = {"host": "compute-1", "ip": "127.0.0.1", "initiator": "iqn.2004-10.org.onestack:compute-1",
             "platform": "x86_64", "os_type": "linux", "multipath": False}


def attach(client: httpx.Client, volume_id: str) -> str:
    """Attach the volume to a made-up server through the attachments API (3.27+); the attachment's id."""
    r = client.post("/attachments", json={"attachment": {"volume_uuid": volume_id, "connector": CONNECTOR,
                                                         "instance_uuid": "5c5e5d5e-0000-4000-8000-000000000001"}})
    assert r.status_code == 200, r.text
    attachment_id: str = r.json()["attachment"]["id"]
    done = client.post(f"/attachments/{attachment_id}/action", json={"os-complete": None})
    assert done.status_code == 204, done.text
    wait_status(client, f"/volumes/{volume_id}", "volume", "in-use")
    return attachment_id


def detach(client: httpx.Client, volume_id: str, attachment_id: str) -> None:
    assert client.delete(f"/attachments/{attachment_id}").status_code == 200
    wait_status(client, f"/volumes/{volume_id}", "volume", "available")
