"""The agent's reconcile pass against drift only the hypervisor sees (guests crash, stop, start
on their own; guests appear that no row owns). The whole cloud runs in this process — the same
app `onestack up` serves — so the test can reach into its simulated host."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from onestack.compute.virt.driver import InstanceSpec
from onestack.compute.virt.fake import FakeDriver
from tests.databases import in_process_cloud


def poll(predicate: Any, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    data = Path(tmp_path_factory.mktemp("reconcile"))
    with in_process_cloud({
            "server.data_dir": str(data), "identity.password_hash_rounds": 4, "compute.reconcile_interval": 0.1,
            "compute.task_grace": 0.5, "log.requests": False, "bootstrap.admin_password": "secret"}) as client:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": "secret"}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        token = client.post("/identity/v3/auth/tokens", json=body).headers["X-Subject-Token"]
        yield client, {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.96"}


def fake_host(client: TestClient) -> FakeDriver:
    driver = client.cloud.compute_runtime.drivers["compute-1"]  # type: ignore[attr-defined]
    assert isinstance(driver, FakeDriver)
    return driver


def on_loop(client: TestClient, fn: Any, *args: Any) -> Any:
    """Run ``fn`` on the app's event loop thread (where the fake host lives)."""
    assert client.portal is not None
    return client.portal.call(lambda: fn(*args))


def show(client: TestClient, headers: dict[str, str], uuid: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/compute/v2.1/servers/{uuid}", headers=headers).json()["server"]
    return found


def boot(client: TestClient, headers: dict[str, str]) -> str:
    image = client.get("/image/v2/images?name=onestack-tiny-x86_64-disk", headers=headers).json()["images"][0]["id"]
    resp = client.post("/compute/v2.1/servers", headers=headers, json={"server": {
        "name": "drifter", "imageRef": image, "flavorRef": "1", "networks": "none"}})
    assert resp.status_code == 202, resp.text
    uuid: str = resp.json()["server"]["id"]
    poll(lambda: show(client, headers, uuid)["status"] == "ACTIVE", what="ACTIVE")
    return uuid


def test_guest_stopping_on_its_own_makes_the_server_shutoff(cloud: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    on_loop(client, fake_host(client).simulate_external_stop, uuid)
    view = poll(lambda: (v := show(client, headers, uuid))["status"] == "SHUTOFF" and v, what="SHUTOFF")
    assert view["OS-EXT-STS:power_state"] == 4
    assert view["OS-EXT-STS:vm_state"] == "stopped"


def test_crashed_guest_is_recorded(cloud: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    on_loop(client, fake_host(client).simulate_crash, uuid)
    view = poll(lambda: (v := show(client, headers, uuid))["status"] == "SHUTOFF" and v, what="SHUTOFF")
    assert view["OS-EXT-STS:power_state"] == 6


def test_stopped_server_whose_guest_starts_is_powered_off_again(cloud: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    host = fake_host(client)
    on_loop(client, host.simulate_external_stop, uuid)
    poll(lambda: show(client, headers, uuid)["status"] == "SHUTOFF", what="SHUTOFF")
    on_loop(client, host.simulate_external_start, uuid)

    async def power() -> int:
        return int(await host.get_power_state(uuid))

    poll(lambda: client.portal.call(power) == 4, what="the guest to be stopped again")  # type: ignore[union-attr]
    assert show(client, headers, uuid)["status"] == "SHUTOFF"


def test_orphan_guest_is_destroyed(cloud: tuple[TestClient, dict[str, str]]) -> None:
    client, _headers = cloud
    host = fake_host(client)
    orphan = InstanceSpec(uuid="0badc0de-0000-4000-8000-000000000001", name="orphan", vcpus=1, memory_mb=64,
                          root_gb=1)
    on_loop(client, host.simulate_foreign_guest, orphan)

    async def listed() -> list[str]:
        return await host.list_instances()

    assert orphan.uuid in client.portal.call(listed)  # type: ignore[union-attr]
    poll(lambda: orphan.uuid not in client.portal.call(listed), what="the orphan to be reaped")  # type: ignore[union-attr]
