"""The attachments API (3.27+) against a running cloud: reserve, connect through the volume agent,
complete (3.44), list/show with filters, delete, and one winner among concurrent reserves."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.test_volume_actions import CREATED, drop_all
from tests.functional.volume_support import cinder, create_volume, error_of, get_volume, wait_volume

CONNECTOR = {"host": "compute-1", "ip": "127.0.0.1", "initiator": "iqn.2004-10.org.onestack:compute-1",
             "platform": "x86_64", "os_type": "linux", "multipath": False, "mountpoint": "/dev/vdb"}


@pytest.fixture(scope="module")
def demo_v(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack") as client:
        yield client


@pytest.fixture(scope="module")
def alt_v(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-alt") as client:
        yield client


@pytest.fixture(scope="module")
def admin_v(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-admin") as client:
        yield client


@pytest.fixture(autouse=True)
def cleanup(admin_v: httpx.Client) -> Iterator[None]:
    yield
    drop_all(admin_v)


def available(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    volume = create_volume(client, 1, **fields)
    CREATED.append(volume["id"])
    return wait_volume(client, volume["id"], "available")


def attach(client: httpx.Client, volume_id: str, **fields: Any) -> httpx.Response:
    return client.post("attachments", json={"attachment": {"volume_uuid": volume_id, **fields}})


def test_reserve_connect_complete_delete(demo_v: httpx.Client, alt_v: httpx.Client) -> None:
    vol = available(demo_v)
    server = str(uuid.uuid4())
    resp = attach(demo_v, vol["id"], instance_uuid=server)
    assert resp.status_code == 200, resp.text
    reserved = resp.json()["attachment"]
    assert (reserved["status"], reserved["instance"], reserved["volume_id"], reserved["connection_info"]) == (
        "reserved", server, vol["id"], {})
    assert get_volume(demo_v, vol["id"])["status"] == "reserved"  # type: ignore[index]
    second = attach(demo_v, vol["id"], instance_uuid=str(uuid.uuid4()))
    assert second.status_code == 400
    assert error_of(second)["message"] == (
        f"Invalid volume: Volume {vol['id']} status must be available or downloading to reserve, but the current "
        "status is reserved.")
    # alt sees neither the volume nor the attachment.
    assert attach(alt_v, vol["id"]).status_code == 404
    assert alt_v.get(f"attachments/{reserved['id']}").status_code == 404

    updated = demo_v.put(f"attachments/{reserved['id']}", json={"attachment": {"connector": CONNECTOR}})
    assert updated.status_code == 200, updated.text
    info = updated.json()["attachment"]["connection_info"]
    assert info["driver_volume_type"] == "file" and Path(info["device_path"]).exists()
    assert info["attachment_id"] == reserved["id"] and info["access_mode"] == "rw"
    assert updated.json()["attachment"]["status"] == "attaching"

    done = demo_v.post(f"attachments/{reserved['id']}/action", json={"os-complete": None})
    assert done.status_code == 204, done.text
    shown = wait_volume(demo_v, vol["id"], "in-use")
    assert [a["attachment_id"] for a in shown["attachments"]] == [reserved["id"]]
    assert shown["attachments"][0]["server_id"] == server and shown["attachments"][0]["device"] == "/dev/vdb"
    detail = demo_v.get(f"attachments/{reserved['id']}").json()["attachment"]
    assert detail["status"] == "attached" and detail["attach_mode"] == "rw" and detail["attached_at"]

    listed = demo_v.get("attachments", params={"volume_id": vol["id"]}).json()["attachments"]
    assert listed == [{"id": reserved["id"], "status": "attached", "instance": server, "volume_id": vol["id"]}]
    by_server = demo_v.get("attachments/detail", params={"instance_id": server}).json()["attachments"]
    assert [a["id"] for a in by_server] == [reserved["id"]] and "connection_info" in by_server[0]
    assert demo_v.get("attachments", params={"status": "reserved", "volume_id": vol["id"]}).json() == {
        "attachments": []}
    assert alt_v.get("attachments", params={"volume_id": vol["id"]}).json() == {"attachments": []}

    gone = demo_v.delete(f"attachments/{reserved['id']}")
    assert gone.status_code == 200 and gone.json() == {"attachments": []}, gone.text
    after = wait_volume(demo_v, vol["id"], "available")
    assert after["attachments"] == []
    assert demo_v.get(f"attachments/{reserved['id']}").status_code == 404


def test_create_with_a_connector_connects_at_once(demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    resp = attach(demo_v, vol["id"], instance_uuid=str(uuid.uuid4()), connector=CONNECTOR, mode="ro")
    assert resp.status_code == 200, resp.text
    body = resp.json()["attachment"]
    assert body["status"] == "attaching" and body["attach_mode"] == "ro"
    assert body["connection_info"]["access_mode"] == "ro"
    assert demo_v.delete(f"attachments/{body['id']}").status_code == 200
    wait_volume(demo_v, vol["id"], "available")


def test_bad_requests(cloud: RunningCloud, demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    assert attach(demo_v, "not-a-uuid").status_code == 400
    assert attach(demo_v, str(uuid.uuid4())).status_code == 404
    assert attach(demo_v, vol["id"], mode="rx").status_code == 400
    assert demo_v.put(f"attachments/{uuid.uuid4()}", json={"attachment": {"connector": CONNECTOR}}).status_code == 404
    with cinder(cloud, "devstack", microversion="3.26") as old:
        assert attach(old, vol["id"]).status_code == 404
    with cinder(cloud, "devstack", microversion="3.43") as before_complete:
        assert before_complete.post(f"attachments/{uuid.uuid4()}/action",
                                    json={"os-complete": None}).status_code == 404
    assert get_volume(demo_v, vol["id"])["status"] == "available"  # type: ignore[index]


def test_concurrent_reserves_of_one_volume_one_wins(demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    url = f"{demo_v.base_url}attachments"
    headers = dict(demo_v.headers)
    codes: list[int] = []
    barrier = threading.Barrier(8)

    def reserve() -> None:
        barrier.wait()
        body = {"attachment": {"volume_uuid": vol["id"], "instance_uuid": str(uuid.uuid4())}}
        codes.append(httpx.post(url, json=body, headers=headers, timeout=60).status_code)

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] + [400] * 7
    assert len(demo_v.get("attachments", params={"volume_id": vol["id"]}).json()["attachments"]) == 1


def test_a_multiattach_volume_takes_several_attachments(demo_v: httpx.Client, admin_v: httpx.Client) -> None:
    name = f"multi-{uuid.uuid4().hex[:6]}"
    made = admin_v.post("types", json={"volume_type": {"name": name, "extra_specs": {"multiattach": "<is> True"}}})
    assert made.status_code == 200, made.text
    vol = available(demo_v, volume_type=name)
    assert vol["multiattach"] is True
    ids = []
    for _ in range(2):
        resp = attach(demo_v, vol["id"], instance_uuid=str(uuid.uuid4()), connector=CONNECTOR)
        assert resp.status_code == 200, resp.text
        ids.append(resp.json()["attachment"]["id"])
        assert demo_v.post(f"attachments/{ids[-1]}/action", json={"os-complete": None}).status_code == 204
    shown = wait_volume(demo_v, vol["id"], "in-use")
    assert sorted(a["attachment_id"] for a in shown["attachments"]) == sorted(ids)
    # The old flow reserves an in-use multiattach volume too.
    assert demo_v.post(f"volumes/{vol['id']}/action", json={"os-reserve": {}}).status_code == 202
    assert demo_v.post(f"volumes/{vol['id']}/action", json={"os-unreserve": {}}).status_code == 202
    first = demo_v.delete(f"attachments/{ids[0]}")
    assert [a["id"] for a in first.json()["attachments"]] == [ids[1]]
    assert get_volume(demo_v, vol["id"])["status"] == "in-use"  # type: ignore[index]
    assert demo_v.delete(f"attachments/{ids[1]}").json() == {"attachments": []}
    wait_volume(demo_v, vol["id"], "available")
