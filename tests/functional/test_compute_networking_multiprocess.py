"""Ports across processes: the API (compute and network), the conductor, and one host's compute
and network agents each in a process of their own, on PostgreSQL and RabbitMQ.

The network agent wires the port and the network server posts network-vif-plugged to compute's
API, which hands it over the bus to the compute agent waiting in its own process.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.cloud import wait_until
from tests.functional.multiprocess import ScaleOutCloud, scale_out_cloud

HOST = "net-node-1"
ENV = {"ONESTACK_COMPUTE__REPORT_INTERVAL": "1", "ONESTACK_NETWORK__BOOTSTRAP_NETWORKS": "false",
       "ONESTACK_COMPUTE__VIF_PLUGGING_TIMEOUT": "60"}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOutCloud]:
    with scale_out_cloud(Path(tmp_path_factory.mktemp("netprocs")), ENV) as running:
        running.start_api(("identity", "image", "placement", "network", "compute-api"))
        running.start_control("ctl-1")
        running.start_agent(HOST)
        running.start_network_agent(HOST)
        yield running


def test_a_server_boots_with_a_port_wired_by_agents_in_other_processes(cloud: ScaleOutCloud) -> None:
    demo, admin = cloud.sdk("devstack"), cloud.sdk("devstack-admin")
    wait_until(lambda: bool(list(admin.compute.hypervisors())), timeout=90, what="the compute host")
    q = httpx.Client(base_url=f"{cloud.base_url}/networking", headers={"X-Auth-Token": demo.auth_token}, timeout=30)
    net = q.post("/v2.0/networks", json={"network": {"name": "mp-net"}}).json()["network"]
    assert q.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"], "cidr": "10.90.0.0/24",
                                                    "ip_version": 4}}).status_code == 201
    image = demo.image.find_image("onestack-tiny-x86_64-disk", ignore_missing=False)
    server = demo.compute.create_server(name=f"mp-{uuid.uuid4().hex[:6]}", image_id=image.id, flavor_id="1",
                                        networks=[{"uuid": net["id"]}])

    def status() -> Any:
        found = demo.compute.get_server(server.id)
        assert found.status != "ERROR", found.fault
        return found if found.status == "ACTIVE" else None

    active = wait_until(status, timeout=90, what="the server ACTIVE")
    [port] = q.get("/v2.0/ports", params={"device_id": server.id}).json()["ports"]
    assert port["status"] == "ACTIVE"
    assert active.addresses == {"mp-net": [{"version": 4, "addr": port["fixed_ips"][0]["ip_address"],
                                            "OS-EXT-IPS:type": "fixed",
                                            "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]}
    demo.compute.delete_server(server.id)
    wait_until(lambda: q.get(f"/v2.0/ports/{port['id']}").status_code == 404, timeout=60, what="the port deleted")
