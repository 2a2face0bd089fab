"""The contract every NetworkDriver passes (onestack/network/agent/driver.py docstrings).

One suite, parametrised over every driver. A driver's factory builds a host and says how to make
it fail halfway and how to build the driver again for the same host (the agent restarted);
tests that need a hook a driver lacks are skipped for it. Optional abilities (``Inspectable``)
are tested only for drivers that have them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from onestack.network.agent.driver import Inspectable, NetworkDriver, NetworkDriverError
from onestack.network.agent.fake import FakeNetworkDriver
from onestack.network.rpcapi import DhcpSpec, FilterSpec, PortSpec, RouterSpec

T = TypeVar("T")


@dataclass
class Subject:
    driver: NetworkDriver
    fail_next: Callable[[str], None] | None  # the next call of this method fails after its first step
    reopen: Callable[[], NetworkDriver] | None  # a new driver for the same host


def _fake(tmp_path: Path) -> Subject:
    path = tmp_path / "host" / "datapath.json"
    driver = FakeNetworkDriver(path)
    return Subject(driver, driver.fail_next, lambda: FakeNetworkDriver(path))


FACTORIES: dict[str, Callable[[Path], Subject]] = {"fake": _fake}


@pytest.fixture(params=sorted(FACTORIES))
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    return FACTORIES[request.param](tmp_path)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def port(network: str = "net-1", ip: str = "10.0.0.5", **kw: Any) -> PortSpec:
    pid = str(uuid.uuid4())
    spec: PortSpec = {"id": pid, "network_id": network, "mac_address": f"fa:16:3e:{pid[:2]}:{pid[2:4]}:{pid[4:6]}",
                      "fixed_ips": [{"subnet_id": "sub-1", "ip_address": ip}], "admin_state_up": True,
                      "device_owner": "compute:nova", "device_id": str(uuid.uuid4()), "mtu": 1450,
                      "network_type": "vxlan", "physical_network": None, "segmentation_id": 1001}
    spec.update(kw)  # type: ignore[typeddict-item]
    return spec


def port_filter(port_id: str, *ports: int) -> FilterSpec:
    return {"port_id": port_id, "port_security": True, "stateful": True, "mac_address": "fa:16:3e:00:00:01",
            "addresses": ["10.0.0.5"],
            "rules": [{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": p,
                       "port_range_max": p, "remote_ip_prefix": "0.0.0.0/0", "remote_group_id": None,
                       "remote_ips": []} for p in ports]}


def dhcp(subnet: str = "sub-1", network: str = "net-1", *ips: str) -> DhcpSpec:
    return {"subnet_id": subnet, "network_id": network, "cidr": "10.0.0.0/24", "ip_version": 4,
            "gateway_ip": "10.0.0.1", "dns_nameservers": ["8.8.8.8"], "host_routes": [],
            "leases": [{"mac_address": f"fa:16:3e:00:00:{i:02x}", "ip_address": ip, "port_id": f"p{i}"}
                       for i, ip in enumerate(ips)]}


def router(rid: str | None = None, *fips: str, snat: bool = True) -> RouterSpec:
    return {"id": rid or str(uuid.uuid4()), "admin_state_up": True,
            "interfaces": [{"port_id": "ri-1", "subnet_id": "sub-1", "ip_address": "10.0.0.1",
                            "cidr": "10.0.0.0/24", "mac_address": "fa:16:3e:00:01:01"}],
            "gateway": {"port_id": "gw-1", "network_id": "public", "mac_address": "fa:16:3e:00:01:02",
                        "fixed_ips": [{"subnet_id": "pub-sub", "ip_address": "172.24.4.10"}]},
            "enable_snat": snat, "routes": [],
            "floating_ips": [{"id": f"fip-{i}", "floating_ip_address": f, "fixed_ip_address": "10.0.0.5",
                              "port_id": "p1"} for i, f in enumerate(fips)]}


# --- observed ---------------------------------------------------------------------------------

def test_a_new_host_observes_nothing(subject: Subject) -> None:
    assert run(subject.driver.observed()) == {"ports": {}, "filters": {}, "dhcp": {}, "routers": {}}


# --- ports ---------------------------------------------------------------------------------------

def test_plug_shows_the_port_exactly_and_repeating_changes_nothing(subject: Subject) -> None:
    d, p = subject.driver, port()

    async def scenario() -> None:
        await d.plug_port(p)
        first = await d.observed()
        assert first["ports"] == {p["id"]: p}
        await d.plug_port(p)
        assert await d.observed() == first

    run(scenario())


def test_plug_with_a_new_spec_rewires_the_port(subject: Subject) -> None:
    d, p = subject.driver, port()
    changed = {**p, "fixed_ips": [{"subnet_id": "sub-1", "ip_address": "10.0.0.9"}], "mtu": 1400}

    async def scenario() -> None:
        await d.plug_port(p)
        await d.plug_port(changed)  # type: ignore[arg-type]
        assert (await d.observed())["ports"] == {p["id"]: changed}

    run(scenario())


def test_unplug_removes_the_port_and_its_filter_and_is_idempotent(subject: Subject) -> None:
    d, p, other = subject.driver, port(), port(ip="10.0.0.6")

    async def scenario() -> None:
        for x in (p, other):
            await d.apply_port_filter(port_filter(x["id"], 22))
            await d.plug_port(x)
        await d.unplug_port(p["id"])
        seen = await d.observed()
        assert set(seen["ports"]) == {other["id"]} and set(seen["filters"]) == {other["id"]}
        await d.unplug_port(p["id"])
        await d.unplug_port(str(uuid.uuid4()))
        assert await d.observed() == seen

    run(scenario())


def test_ports_of_many_networks_plug_concurrently(subject: Subject) -> None:
    d = subject.driver
    ports = [port(network=f"net-{i % 3}", ip=f"10.0.0.{10 + i}") for i in range(12)]

    async def scenario() -> None:
        await asyncio.gather(*(d.plug_port(p) for p in ports))
        assert (await d.observed())["ports"] == {p["id"]: p for p in ports}

    run(scenario())


def test_a_plug_failing_halfway_is_not_a_plugged_port_and_the_next_plug_finishes_it(subject: Subject) -> None:
    if subject.fail_next is None:
        pytest.skip("no failure hook")
    d, p = subject.driver, port()

    async def scenario() -> None:
        subject.fail_next("plug_port")  # type: ignore[misc]
        with pytest.raises(NetworkDriverError):
            await d.plug_port(p)
        assert p["id"] not in (await d.observed())["ports"]
        await d.plug_port(p)
        assert (await d.observed())["ports"] == {p["id"]: p}

    run(scenario())


def test_an_unplug_failing_halfway_leaves_no_plugged_port(subject: Subject) -> None:
    if subject.fail_next is None:
        pytest.skip("no failure hook")
    d, p = subject.driver, port()

    async def scenario() -> None:
        await d.plug_port(p)
        subject.fail_next("unplug_port")  # type: ignore[misc]
        with pytest.raises(NetworkDriverError):
            await d.unplug_port(p["id"])
        assert p["id"] not in (await d.observed())["ports"]
        await d.unplug_port(p["id"])
        await d.plug_port(p)  # a tap left behind does not stop it coming back
        assert (await d.observed())["ports"] == {p["id"]: p}

    run(scenario())


# --- filters --------------------------------------------------------------------------------------

def test_filters_are_replaced_whole_and_removed(subject: Subject) -> None:
    d, pid = subject.driver, str(uuid.uuid4())

    async def scenario() -> None:
        await d.apply_port_filter(port_filter(pid, 22, 80))
        assert (await d.observed())["filters"] == {pid: port_filter(pid, 22, 80)}
        await d.apply_port_filter(port_filter(pid, 443))
        assert (await d.observed())["filters"] == {pid: port_filter(pid, 443)}
        off: FilterSpec = {**port_filter(pid), "port_security": False}
        await d.apply_port_filter(off)
        assert (await d.observed())["filters"] == {pid: off}
        await d.remove_port_filter(pid)
        await d.remove_port_filter(pid)
        assert (await d.observed())["filters"] == {}

    run(scenario())


# --- DHCP -------------------------------------------------------------------------------------------

def test_dhcp_serves_exactly_the_spec_leases(subject: Subject) -> None:
    d = subject.driver

    async def scenario() -> None:
        await d.ensure_dhcp(dhcp("sub-1", "net-1", "10.0.0.5"))
        await d.ensure_dhcp(dhcp("sub-2", "net-1", "10.0.1.5"))
        await d.ensure_dhcp(dhcp("sub-1", "net-1", "10.0.0.5", "10.0.0.6"))
        seen = (await d.observed())["dhcp"]
        assert seen == {"sub-1": dhcp("sub-1", "net-1", "10.0.0.5", "10.0.0.6"),
                        "sub-2": dhcp("sub-2", "net-1", "10.0.1.5")}
        await d.remove_dhcp("sub-1")
        await d.remove_dhcp("sub-1")
        assert set((await d.observed())["dhcp"]) == {"sub-2"}
        await d.remove_dhcp("sub-2")
        assert (await d.observed())["dhcp"] == {}

    run(scenario())


def test_dhcp_failing_halfway_is_not_served_as_asked(subject: Subject) -> None:
    if subject.fail_next is None:
        pytest.skip("no failure hook")
    d = subject.driver

    async def scenario() -> None:
        await d.ensure_dhcp(dhcp("sub-1", "net-1", "10.0.0.5"))
        subject.fail_next("ensure_dhcp")  # type: ignore[misc]
        wanted = dhcp("sub-1", "net-1", "10.0.0.5", "10.0.0.7")
        with pytest.raises(NetworkDriverError):
            await d.ensure_dhcp(wanted)
        assert (await d.observed())["dhcp"].get("sub-1") != wanted
        await d.ensure_dhcp(wanted)
        assert (await d.observed())["dhcp"] == {"sub-1": wanted}

    run(scenario())


# --- routers ------------------------------------------------------------------------------------------

def test_routers_are_wired_rewired_and_removed(subject: Subject) -> None:
    d = subject.driver
    r = router(None, "172.24.4.20")

    async def scenario() -> None:
        await d.ensure_router(r)
        assert (await d.observed())["routers"] == {r["id"]: r}
        changed = router(r["id"], "172.24.4.20", "172.24.4.21", snat=False)
        await d.ensure_router(changed)
        assert (await d.observed())["routers"] == {r["id"]: changed}
        await d.remove_router(r["id"])
        await d.remove_router(r["id"])
        assert (await d.observed())["routers"] == {}

    run(scenario())


def test_a_router_failing_halfway_is_not_a_router(subject: Subject) -> None:
    if subject.fail_next is None:
        pytest.skip("no failure hook")
    d, r = subject.driver, router()

    async def scenario() -> None:
        subject.fail_next("ensure_router")  # type: ignore[misc]
        with pytest.raises(NetworkDriverError):
            await d.ensure_router(r)
        assert (await d.observed())["routers"] == {}
        await d.ensure_router(r)
        assert (await d.observed())["routers"] == {r["id"]: r}

    run(scenario())


# --- the host outlives the agent --------------------------------------------------------------------------

def test_a_driver_built_again_for_the_host_observes_everything(subject: Subject) -> None:
    if subject.reopen is None:
        pytest.skip("no reopen hook")
    d, p, r = subject.driver, port(), router()

    async def scenario() -> None:
        await d.plug_port(p)
        await d.apply_port_filter(port_filter(p["id"], 22))
        await d.ensure_dhcp(dhcp("sub-1", "net-1", "10.0.0.5"))
        await d.ensure_router(r)
        before = await d.observed()
        assert await subject.reopen().observed() == before  # type: ignore[misc]

    run(scenario())


# --- optional: Inspectable ----------------------------------------------------------------------------------

def test_inspectable_drift_removes_what_it_names(subject: Subject) -> None:
    d = subject.driver
    if not isinstance(d, Inspectable):
        pytest.skip("not inspectable")
    p, r = port(), router()

    async def scenario() -> None:
        await d.plug_port(p)
        await d.apply_port_filter(port_filter(p["id"], 22))
        await d.ensure_dhcp(dhcp("sub-1", "net-1", "10.0.0.5"))
        await d.ensure_router(r)
        assert isinstance(d, Inspectable)
        for kind, key in (("tap", p["id"]), ("filter", p["id"]), ("dhcp", "sub-1"), ("router", r["id"])):
            d.drift(kind, key)
        assert await d.observed() == {"ports": {}, "filters": {}, "dhcp": {}, "routers": {}}
        assert isinstance(d.model(), dict)

    run(scenario())
