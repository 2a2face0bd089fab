"""The volume scheduler in a running cloud with two file backends: ``a`` thin and ``b`` thick,
10 GiB each (``volume.capacity_gb``), so Cinder's capacity maths is visible with small volumes.

Volumes land where the type's ``volume_backend_name`` says; a thick backend needs real free
space, a thin one its over-subscription ratio (20 × 10 GiB); what no pool can take goes to
``error`` with Cinder's user message; a disabled backend takes nothing; and (with RabbitMQ, a
second agent process in zone ``az-ghost``) a zone whose only backend died takes nothing either.
Compute hears ``volume-extended`` when an attached volume grows (its ``extend_volume`` action).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.agent_process import AgentProcess, bus_cloud
from tests.functional.cloud import RunningCloud, make_cloud, wait_until
from tests.functional.volume_support import cinder, create_volume, wait_volume

NO_BACKEND = "schedule allocate volume: Could not find any available weighted backend."
ENV = {
    "ONESTACK_VOLUME__BACKENDS": "a:thin,b:thick",
    "ONESTACK_VOLUME__CAPACITY_GB": "10",
    "ONESTACK_VOLUME__HOST": "store",
    "ONESTACK_VOLUME__REPORT_INTERVAL": "1",
    "ONESTACK_NETWORK__BOOTSTRAP_NETWORKS": "false",
}


@pytest.fixture(scope="module")
def vcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = make_cloud(Path(tmp_path_factory.mktemp("volume-scheduling")), ENV)
    running.start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def vadmin(vcloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(vcloud, "devstack-admin") as client:
        wait_backends_up(client, {"store@a", "store@b"})
        yield client


@pytest.fixture(scope="module")
def vdemo(vcloud: RunningCloud, vadmin: httpx.Client) -> Iterator[httpx.Client]:
    with cinder(vcloud, "devstack") as client:
        yield client


def services(client: httpx.Client) -> list[dict[str, Any]]:
    resp = client.get("os-services")
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["services"]
    return found


def wait_backends_up(client: httpx.Client, hosts: set[str], timeout: float = 60) -> None:
    def up() -> bool:
        return hosts <= {s["host"] for s in services(client) if s["binary"] == "cinder-volume" and s["state"] == "up"}
    wait_until(up, timeout=timeout, what=f"volume backends {sorted(hosts)} up")


def host_of(admin: httpx.Client, volume_id: str) -> str:
    resp = admin.get(f"volumes/{volume_id}")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["volume"]["os-vol-host-attr:host"])


def messages_for(client: httpx.Client, volume_id: str) -> list[dict[str, Any]]:
    resp = client.get("messages", params={"resource_uuid": volume_id})
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["messages"]
    return found


def delete(client: httpx.Client, volume_id: str) -> None:
    assert client.delete(f"volumes/{volume_id}").status_code == 202


def test_the_scheduler_and_both_backends_are_services(vadmin: httpx.Client) -> None:
    listed = {(s["binary"], s["host"]): s for s in services(vadmin)}
    assert {("cinder-volume", "store@a"), ("cinder-volume", "store@b")} <= set(listed)
    scheduler = [s for (binary, _), s in listed.items() if binary == "cinder-scheduler"]
    assert len(scheduler) == 1 and scheduler[0]["state"] == "up" and scheduler[0]["zone"] == "nova"


def test_the_types_backend_name_pins_the_pool(vdemo: httpx.Client, vadmin: httpx.Client) -> None:
    on_a = create_volume(vdemo, 1, volume_type="a", name="on-a")
    on_b = create_volume(vdemo, 1, volume_type="b", name="on-b")
    wait_volume(vdemo, on_a["id"])
    wait_volume(vdemo, on_b["id"])
    assert host_of(vadmin, on_a["id"]) == "store@a#a"
    assert host_of(vadmin, on_b["id"]) == "store@b#b"
    # A clone stays on its source's backend whatever the type would prefer.
    clone = create_volume(vdemo, 1, source_volid=on_b["id"], name="clone-of-b")
    wait_volume(vdemo, clone["id"])
    assert host_of(vadmin, clone["id"]) == "store@b#b"
    for v in (clone, on_a, on_b):
        delete(vdemo, v["id"])


def test_thick_needs_real_space_and_nothing_fits_is_an_error_with_a_message(vdemo: httpx.Client) -> None:
    too_big = create_volume(vdemo, 11, volume_type="b", name="too-big-for-thick")
    errored = wait_volume(vdemo, too_big["id"], "error")
    assert errored["status"] == "error"
    [message] = wait_until(lambda: messages_for(vdemo, too_big["id"]) or None, timeout=30,
                           what="the scheduling failure's user message")
    assert message["user_message"] == NO_BACKEND
    assert message["event_id"] == "VOLUME_VOLUME_001_003"
    assert message["resource_type"] == "VOLUME" and message["message_level"] == "ERROR"
    delete(vdemo, too_big["id"])


def test_thin_over_subscribes_up_to_its_ratio(vdemo: httpx.Client, vadmin: httpx.Client) -> None:
    # 20 × 10 GiB may be provisioned on the thin backend: 150 GiB fits (sparse), 60 more do not.
    big = create_volume(vdemo, 150, volume_type="a", name="over-subscribed")
    wait_volume(vdemo, big["id"])
    assert host_of(vadmin, big["id"]) == "store@a#a"
    beyond = create_volume(vdemo, 60, volume_type="a", name="beyond-the-ratio")
    wait_volume(vdemo, beyond["id"], "error")
    assert [m["user_message"] for m in messages_for(vdemo, beyond["id"])] == [NO_BACKEND]
    delete(vdemo, beyond["id"])
    delete(vdemo, big["id"])


def test_a_disabled_backend_takes_nothing(vdemo: httpx.Client, vadmin: httpx.Client) -> None:
    body = {"host": "store@a", "binary": "cinder-volume"}
    assert vadmin.put("os-services/disable", json=body).status_code == 200
    try:
        refused = create_volume(vdemo, 1, volume_type="a", name="on-disabled")
        wait_volume(vdemo, refused["id"], "error")
        # The other backend still takes a volume whose type (__DEFAULT__) names no backend.
        untyped = create_volume(vdemo, 1, name="elsewhere")
        wait_volume(vdemo, untyped["id"])
        assert host_of(vadmin, untyped["id"]) == "store@b#b"
    finally:
        assert vadmin.put("os-services/enable", json=body).status_code == 200
    delete(vdemo, refused["id"])
    delete(vdemo, untyped["id"])


def disk_files(cloud: RunningCloud, backend: str, volume_id: str) -> list[str]:
    directory = cloud.data_dir / "volumes" / "store" / backend
    return sorted(p.name for p in directory.iterdir() if volume_id in p.name) if directory.exists() else []


def retype(client: httpx.Client, volume_id: str, new_type: str, policy: str) -> None:
    resp = client.post(f"volumes/{volume_id}/action",
                       json={"os-retype": {"new_type": new_type, "migration_policy": policy}})
    assert resp.status_code == 202, resp.text


def test_retype_to_another_backend_migrates_on_demand_only(vcloud: RunningCloud, vdemo: httpx.Client,
                                                           vadmin: httpx.Client) -> None:
    volume = create_volume(vdemo, 1, volume_type="a", name="moves")
    wait_volume(vdemo, volume["id"])
    assert disk_files(vcloud, "a", volume["id"]) and not disk_files(vcloud, "b", volume["id"])

    # Policy never: no backend of type b can take it where it is, so nothing changes.
    retype(vdemo, volume["id"], "b", "never")
    stayed = wait_volume(vdemo, volume["id"])
    assert stayed["volume_type"] == "a" and host_of(vadmin, volume["id"]) == "store@a#a"

    retype(vdemo, volume["id"], "b", "on-demand")
    moved = wait_until(lambda: (v := wait_volume(vdemo, volume["id"]))["volume_type"] == "b" and v, timeout=60,
                       what="the volume retyped to b")
    assert moved["status"] == "available"
    shown = vadmin.get(f"volumes/{volume['id']}").json()["volume"]
    assert shown["os-vol-host-attr:host"] == "store@b#b"
    assert shown["migration_status"] == shown["os-vol-mig-status-attr:migstat"] == "success"
    assert disk_files(vcloud, "b", volume["id"])
    wait_until(lambda: not disk_files(vcloud, "a", volume["id"]), timeout=30, what="the old disk removed")
    delete(vdemo, volume["id"])
    wait_until(lambda: not disk_files(vcloud, "b", volume["id"]), timeout=60, what="the moved disk deleted")


# --- a second agent, in a zone of its own (needs RabbitMQ: the agent is another process) ---------


@pytest.fixture(scope="module")
def rcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    # A short down time, to see the ghost go down soon; long enough for a busy machine.
    with bus_cloud(Path(tmp_path_factory.mktemp("volume-zones")),
                   {**ENV, "ONESTACK_VOLUME__SERVICE_DOWN_TIME": "10"}) as running:
        yield running


def test_a_zone_whose_only_backend_died_takes_nothing(rcloud: RunningCloud, tmp_path: Path) -> None:
    data_dir = tmp_path / "ghost"
    data_dir.mkdir()
    ghost = AgentProcess(rcloud, "volume", "ghost", data_dir, env={
        "ONESTACK_VOLUME__STORAGE_AVAILABILITY_ZONE": "az-ghost", "ONESTACK_VOLUME__BACKENDS": "g"})
    with ghost.running(), cinder(rcloud, "devstack-admin") as admin, cinder(rcloud, "devstack") as demo:
        wait_backends_up(admin, {"store@a", "ghost@g"})
        there = create_volume(demo, 1, availability_zone="az-ghost", name="in-az-ghost")
        wait_volume(demo, there["id"])
        assert host_of(admin, there["id"]) == "ghost@g#g"
        here = create_volume(demo, 1, name="in-nova")
        wait_volume(demo, here["id"])
        assert host_of(admin, here["id"]).startswith("store@")

        ghost.stop()
        wait_until(lambda: any(s["host"] == "ghost@g" and s["state"] == "down" for s in services(admin)),
                   timeout=60, what="the ghost backend shown down")
        # The zone is still known (its service is listed), so the API accepts it; no pool is up there.
        lost = create_volume(demo, 1, availability_zone="az-ghost", name="nowhere")
        wait_volume(demo, lost["id"], "error")
        assert [m["user_message"] for m in messages_for(demo, lost["id"])] == [NO_BACKEND]
        delete(demo, lost["id"])
        delete(demo, here["id"])


# --- compute hears of an attached volume's growth ------------------------------------------------

IMAGE = "onestack-tiny-x86_64-disk"


def test_extending_an_attached_volume_tells_compute(vcloud: RunningCloud, vdemo: httpx.Client) -> None:
    conn = vcloud.sdk("devstack")
    image = conn.image.find_image(IMAGE, ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    server = conn.compute.create_server(name="grows", image_id=image.id, flavor_id=flavor.id, networks="none")
    conn.compute.wait_for_server(server, status="ACTIVE", wait=120)
    volume = create_volume(vdemo, 1, name="attached-then-extended")
    wait_volume(vdemo, volume["id"])
    conn.compute.create_volume_attachment(server, volume=volume["id"])
    wait_volume(vdemo, volume["id"], "in-use")

    def actions() -> list[str]:
        resp = conn.compute.get(f"/servers/{server.id}/os-instance-actions")
        assert resp.status_code == 200, resp.text
        return [a["action"] for a in resp.json()["instanceActions"]]

    assert "extend_volume" not in actions()
    resp = vdemo.post(f"volumes/{volume['id']}/action", json={"os-extend": {"new_size": 2}})
    assert resp.status_code == 202, resp.text
    grown = wait_until(lambda: (v := wait_volume(vdemo, volume["id"], "in-use"))["size"] == 2 and v,
                       timeout=60, what="the attached volume at 2 GiB")
    assert grown["status"] == "in-use"
    wait_until(lambda: "extend_volume" in actions(), timeout=30, what="compute's extend_volume action")
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=120)
    wait_volume(vdemo, volume["id"])
    delete(vdemo, volume["id"])
