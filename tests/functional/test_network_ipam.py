"""IPAM under concurrency: many port creates at once on a small subnet get distinct addresses and
the losers Neutron's 409s. The cloud runs 8 writer threads so that, on PostgreSQL
(ONESTACK_TEST_DB=postgresql), transactions really race for the same addresses; on SQLite the
writers are serialised by design and the test checks the same outcome."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.compute_support import module_cloud
from tests.functional.network_support import neutron

ccloud = module_cloud("ipam", {"ONESTACK_DATABASE__WRITE_THREADS": "8"})


@pytest.fixture
def net26(cdemo: Any) -> Iterator[Any]:
    network = cdemo.network.create_network(name="ipam-race")
    network.sub = cdemo.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.70.0.0/26")
    yield network
    for port in cdemo.network.ports(network_id=network.id):
        cdemo.network.delete_port(port.id)
    cdemo.network.delete_network(network.id)


def _create_many(cloud: RunningCloud, count: int, body: dict[str, Any]) -> list[Any]:
    http = neutron(cloud)
    try:
        with ThreadPoolExecutor(max_workers=25) as pool:
            return list(pool.map(lambda _: http.post("/v2.0/ports", json={"port": body}), range(count)))
    finally:
        http.close()


def test_hundred_ports_on_a_26(ccloud: RunningCloud, net26: Any) -> None:
    responses = _create_many(ccloud, 100, {"network_id": net26.id})
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 60, 409: 40}, statuses  # 61 usable, .2 the network's DHCP port
    losers = {r.json()["NeutronError"]["type"] for r in responses if r.status_code == 409}
    assert losers == {"IpAddressGenerationFailure"}
    addresses = [r.json()["port"]["fixed_ips"][0]["ip_address"] for r in responses if r.status_code == 201]
    assert len(set(addresses)) == 60
    usable = {str(ip) for ip in ipaddress.ip_network("10.70.0.0/26").hosts()} - {"10.70.0.1", "10.70.0.2"}
    assert set(addresses) == usable
    macs = [r.json()["port"]["mac_address"] for r in responses if r.status_code == 201]
    assert len(set(macs)) == 60
    # What the API listed agrees with what it answered.
    listed = neutron(ccloud).get(f"/v2.0/ports?network_id={net26.id}&device_owner=").json()["ports"]
    assert sorted(p["fixed_ips"][0]["ip_address"] for p in listed) == sorted(addresses)
    # A freed address is handed out again.
    gone = next(r.json()["port"] for r in responses if r.status_code == 201)
    assert neutron(ccloud).delete(f"/v2.0/ports/{gone['id']}").status_code == 204
    again = neutron(ccloud).post("/v2.0/ports", json={"port": {"network_id": net26.id}})
    assert again.status_code == 201
    assert again.json()["port"]["fixed_ips"][0]["ip_address"] == gone["fixed_ips"][0]["ip_address"]


def test_same_address_asked_by_many(ccloud: RunningCloud, net26: Any) -> None:
    responses = _create_many(ccloud, 20, {"network_id": net26.id, "fixed_ips": [{"ip_address": "10.70.0.33"}]})
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 19}, statuses
    assert {r.json()["NeutronError"]["type"] for r in responses if r.status_code == 409} == {
        "IpAddressAlreadyAllocated"}


def test_same_mac_asked_by_many(ccloud: RunningCloud, net26: Any) -> None:
    responses = _create_many(ccloud, 10, {"network_id": net26.id, "mac_address": "fa:16:3e:77:77:77"})
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 9}, statuses
    assert {r.json()["NeutronError"]["type"] for r in responses if r.status_code == 409} == {"MacAddressInUse"}
