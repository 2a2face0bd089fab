"""Neutron's agent scheduler extensions through openstacksdk: the DHCP agent serving a network and
the L3 agent hosting a router, read and changed by an admin, and what the agents then wire."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.functional.cloud import RunningCloud, wait_until

DHCP = "network:dhcp"


def _refused(resp: Any, status: int, error: str, words: str) -> None:
    """openstacksdk's scheduler calls do not raise: check Neutron's error on the raw response."""
    assert resp.status_code == status, resp.text
    fault = resp.json()["NeutronError"]
    assert fault["type"] == error and words in fault["message"], fault


def _agent(admin: Any, kind: str) -> Any:
    (first, *_) = sorted((a for a in admin.network.agents(agent_type=kind) if a.is_alive), key=lambda a: a.host)
    return first


def test_the_extensions_are_listed(admin: Any) -> None:
    aliases = {e.alias for e in admin.network.extensions()}
    assert {"dhcp_agent_scheduler", "l3_agent_scheduler"} <= aliases


def test_agent_type_filter_ignores_case(admin: Any) -> None:
    # Tempest's DHCP scheduler tests ask for "DHCP Agent"; Neutron on MySQL matches it.
    found = admin.network.get("/agents?agent_type=DHCP%20Agent").json()["agents"]
    assert found and {a["agent_type"] for a in found} == {"DHCP agent"}


def test_dhcp_networks_of_an_agent_add_and_remove(admin: Any, demo: Any, cloud: RunningCloud) -> None:
    agent = _agent(admin, "DHCP agent")
    net = demo.network.create_network(name=f"sched-{uuid.uuid4().hex[:6]}")
    demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.84.0.0/28")
    # Placed automatically with its DHCP subnet, both ways round.
    assert [a.id for a in admin.network.network_hosting_dhcp_agents(net)] == [agent.id]
    assert net.id in {n.id for n in admin.network.dhcp_agent_hosting_networks(agent)}
    _refused(admin.network.post(f"/agents/{agent.id}/dhcp-networks", json={"network_id": net.id}), 409,
             "NetworkHostedByDHCPAgent", "has been already hosted by the DHCP Agent")

    # Removed: unhosted, its DHCP port kept, reserved and unbound (its address kept for the next agent).
    (port,) = admin.network.ports(network_id=net.id, device_owner=DHCP)
    admin.network.remove_dhcp_agent_from_network(agent, net)
    assert list(admin.network.network_hosting_dhcp_agents(net)) == []
    assert net.id not in {n.id for n in admin.network.dhcp_agent_hosting_networks(agent)}
    kept = admin.network.get_port(port.id)
    assert (kept.device_id, kept.binding_host_id) == ("reserved_dhcp_port", "")
    assert kept.fixed_ips == port.fixed_ips
    _refused(admin.network.delete(f"/agents/{agent.id}/dhcp-networks/{net.id}"), 409,
             "NetworkNotHostedByDhcpAgent", "is not hosted by the DHCP agent")

    # Added back: the agent binds the same port again and wires it.
    admin.network.add_dhcp_agent_to_network(agent, net)
    assert [a.id for a in admin.network.network_hosting_dhcp_agents(net)] == [agent.id]

    def rebound() -> bool:
        p = admin.network.get_port(port.id)
        return bool(p.binding_host_id == agent.host and p.device_id.startswith("dhcp") and p.status == "ACTIVE")

    wait_until(rebound, timeout=30, what="the DHCP port bound and wired again")

    # Unhosted again, a subnet change places the network automatically, as Neutron reschedules it.
    admin.network.remove_dhcp_agent_from_network(agent, net)
    assert list(admin.network.network_hosting_dhcp_agents(net)) == []
    demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.84.1.0/28")
    assert [a.id for a in admin.network.network_hosting_dhcp_agents(net)] == [agent.id]
    assert admin.network.get_port(port.id).binding_host_id == agent.host

    # A network without subnets is placed only by an admin (Tempest's add/remove case).
    bare = demo.network.create_network(name=f"sched-bare-{uuid.uuid4().hex[:6]}")
    assert list(admin.network.network_hosting_dhcp_agents(bare)) == []
    admin.network.add_dhcp_agent_to_network(agent, bare)
    assert bare.id in {n.id for n in admin.network.dhcp_agent_hosting_networks(agent)}
    admin.network.remove_dhcp_agent_from_network(agent, bare)
    assert bare.id not in {n.id for n in admin.network.dhcp_agent_hosting_networks(agent)}
    demo.network.delete_network(bare)
    demo.network.delete_network(net)


def test_dhcp_scheduler_errors(admin: Any, demo: Any) -> None:
    agent = _agent(admin, "DHCP agent")
    l3 = _agent(admin, "L3 agent")
    net = demo.network.create_network(name=f"sched-err-{uuid.uuid4().hex[:6]}")
    missing = str(uuid.uuid4())
    _refused(admin.network.post(f"/agents/{l3.id}/dhcp-networks", json={"network_id": net.id}), 404,
             "InvalidDHCPAgent", "is not a valid DHCP Agent")
    _refused(admin.network.post(f"/agents/{agent.id}/dhcp-networks", json={"network_id": missing}), 404,
             "NetworkNotFound", f"Network {missing} could not be found")
    _refused(admin.network.get(f"/agents/{missing}/dhcp-networks"), 404, "AgentNotFound", missing)
    _refused(admin.network.post(f"/agents/{agent.id}/dhcp-networks", json={}), 400, "HTTPBadRequest", "network_id")
    _refused(admin.network.post(f"/agents/{agent.id}/dhcp-networks", json={"network_id": "not-a-uuid"}), 400,
             "HTTPBadRequest", "is not a valid UUID")
    # Admin only, by policy: a 403 for anyone else, and nothing changed.
    calls: list[Callable[[], Any]] = [
        lambda: demo.network.get(f"/agents/{agent.id}/dhcp-networks"),
        lambda: demo.network.post(f"/agents/{agent.id}/dhcp-networks", json={"network_id": net.id}),
        lambda: demo.network.get(f"/networks/{net.id}/dhcp-agents"),
        lambda: demo.network.get(f"/agents/{agent.id}/l3-routers")]
    for call in calls:
        assert call().status_code == 403
    assert list(admin.network.network_hosting_dhcp_agents(net)) == []
    demo.network.delete_network(net)


def test_l3_routers_of_an_agent_add_and_remove(admin: Any, demo: Any) -> None:
    agent = _agent(admin, "L3 agent")
    router = demo.network.create_router(name=f"sched-{uuid.uuid4().hex[:6]}")
    assert [a.id for a in admin.network.routers_hosting_l3_agents(router)] == [agent.id]
    assert router.id in {r.id for r in admin.network.agent_hosted_routers(agent)}
    admin.network.add_router_to_agent(agent, router)  # already there: nothing to do, as Neutron

    admin.network.remove_router_from_agent(agent, router)
    assert list(admin.network.routers_hosting_l3_agents(router)) == []
    assert router.id not in {r.id for r in admin.network.agent_hosted_routers(agent)}
    _refused(admin.network.delete(f"/agents/{agent.id}/l3-routers/{router.id}"), 409,
             "RouterNotHostedByL3Agent", "is not hosted by L3 agent")
    dhcp = _agent(admin, "DHCP agent")
    _refused(admin.network.post(f"/agents/{dhcp.id}/l3-routers", json={"router_id": router.id}), 404,
             "InvalidL3Agent", "is not a L3 Agent")

    admin.network.add_router_to_agent(agent, router)
    assert [a.id for a in admin.network.routers_hosting_l3_agents(router)] == [agent.id]
    assert list(admin.network.routers_hosting_l3_agents(str(uuid.uuid4()))) == []
    demo.network.delete_router(router)
