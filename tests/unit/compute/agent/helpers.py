"""A whole cloud in the test's process — the same app `onestack up` serves — so a test can reach
into its simulated host (drift, failure injection) and run a reconcile pass when it wants one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from onestack.compute.agent import reconcile
from onestack.compute.agent.manager import ComputeAgent
from onestack.compute.virt.fake import FakeDriver
from tests import databases

Cloud = tuple[TestClient, dict[str, str]]


def poll(predicate: Any, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


def in_process_cloud(name: str) -> Any:
    """A module-scoped fixture: reconcile every 0.1 s, repairing tasks idle for 0.5 s."""

    @pytest.fixture(scope="module")
    def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
        data = Path(tmp_path_factory.mktemp(name))
        with databases.in_process_cloud({
                "server.data_dir": str(data), "identity.password_hash_rounds": 4, "compute.reconcile_interval": 0.1,
                "compute.task_grace": 0.5, "log.requests": False, "bootstrap.admin_password": "secret"}) as client:
            body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": "secret"}}},
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
            issued = client.post("/identity/v3/auth/tokens", json=body)
            headers = {"X-Auth-Token": issued.headers["X-Subject-Token"], "OpenStack-API-Version": "compute 2.96"}
            project = issued.json()["token"]["project"]["id"]
            unlimited = {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}  # each test boots its own
            assert client.put(f"/compute/v2.1/os-quota-sets/{project}", headers=headers, json=unlimited).status_code == 200
            yield client, headers

    return cloud


def fake_host(client: TestClient) -> FakeDriver:
    driver = client.cloud.compute_hosts.drivers[agent(client).host]
    assert isinstance(driver, FakeDriver)
    return driver


def agent(client: TestClient) -> ComputeAgent:
    found: ComputeAgent = client.cloud.compute_hosts.agents[0]
    return found


def on_loop(client: TestClient, fn: Any, *args: Any) -> Any:
    """Run ``fn`` on the app's event loop thread (where the fake host lives); coroutines are awaited."""
    assert client.portal is not None
    return client.portal.call(fn, *args)


def reconcile_pass(client: TestClient) -> None:
    """One reconcile pass now (the agent's own loop keeps running beside it; passes are idempotent)."""
    on_loop(client, reconcile.run_pass, agent(client))


def guests(client: TestClient) -> list[str]:
    listed: list[str] = on_loop(client, fake_host(client).list_instances)
    return listed


def show(client: TestClient, headers: dict[str, str], uuid: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/compute/v2.1/servers/{uuid}", headers=headers).json()["server"]
    return found


def create(client: TestClient, headers: dict[str, str], name: str = "drifter") -> str:
    image = client.get("/image/v2/images?name=onestack-tiny-x86_64-disk", headers=headers).json()["images"][0]["id"]
    resp = client.post("/compute/v2.1/servers", headers=headers, json={"server": {
        "name": name, "imageRef": image, "flavorRef": "1", "networks": "none"}})
    assert resp.status_code == 202, resp.text
    return str(resp.json()["server"]["id"])


def boot(client: TestClient, headers: dict[str, str], name: str = "drifter") -> str:
    uuid = create(client, headers, name)
    poll(lambda: show(client, headers, uuid)["status"] == "ACTIVE", what="ACTIVE")
    return uuid


def act(client: TestClient, headers: dict[str, str], uuid: str, action: str, status: str) -> None:
    resp = client.post(f"/compute/v2.1/servers/{uuid}/action", headers=headers, json={action: None})
    assert resp.status_code == 202, resp.text
    poll(lambda: (v := show(client, headers, uuid))["status"] == status and v["OS-EXT-STS:task_state"] is None,
         what=status)


def allocations(client: TestClient, headers: dict[str, str], consumer: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/placement/allocations/{consumer}",
                                       headers={"X-Auth-Token": headers["X-Auth-Token"]}).json()["allocations"]
    return found
