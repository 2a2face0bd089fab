"""Errors of agents, their availability zones, and of scheduling networks and routers onto DHCP and
L3 agents."""

from __future__ import annotations

from onestack.network.errors.base import Conflict, NotFound


class AgentNotFound(NotFound):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"Agent {agent_id} could not be found.")


class AvailabilityZoneNotFound(NotFound):  # neutron_lib's: a NotFound, so a 404
    def __init__(self, zone: str) -> None:
        super().__init__(f"AvailabilityZone {zone} could not be found.")


class InvalidDHCPAgent(AgentNotFound):  # neutron_lib's: an AgentNotFound, so a 404
    def __init__(self, agent_id: str) -> None:
        NotFound.__init__(self, f"Agent {agent_id} is not a valid DHCP Agent or has been disabled")


class InvalidL3Agent(AgentNotFound):
    def __init__(self, agent_id: str) -> None:
        NotFound.__init__(self, f"Agent {agent_id} is not a L3 Agent or has been disabled")


class NetworkHostedByDHCPAgent(Conflict):
    def __init__(self, network_id: str, agent_id: str) -> None:
        super().__init__(f"The network {network_id} has been already hosted by the DHCP Agent {agent_id}.")


class NetworkNotHostedByDhcpAgent(Conflict):
    def __init__(self, network_id: str, agent_id: str) -> None:
        super().__init__(f"The network {network_id} is not hosted by the DHCP agent {agent_id}.")


class RouterHostedByL3Agent(Conflict):
    def __init__(self, router_id: str, agent_id: str) -> None:
        super().__init__(f"The router {router_id} has been already hosted by the L3 Agent {agent_id}.")


class RouterNotHostedByL3Agent(Conflict):
    def __init__(self, router_id: str, agent_id: str) -> None:
        super().__init__(f"The router {router_id} is not hosted by L3 agent {agent_id}.")
