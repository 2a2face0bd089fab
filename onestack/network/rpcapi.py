"""The network service's messages on the bus, declared once: agents ↔ server.

Two topics (``core/rpc.py``):

- ``network-server`` (``NetworkServerAPI``): what a host's network agent asks the server, the
  only side with the database — its desired state, its heartbeat, and which ports it has wired
  or unwired. Served by ``network/server_rpc.py`` in every process that runs the network API.
- ``network-agent`` (``NetworkAgentAPI``): the server's nudge to the agents, a fanout (every
  agent hears it; none listening, it is dropped). A nudge only brings the next reconcile pass
  forward: a lost one is repaired by the periodic pass, so it carries no state.

The desired state is plain JSON: the shapes below are both what the server sends and what a
driver reports as observed (``agent/driver.py``), so the reconcile pass compares them by
equality. Lists inside them are sorted by the server, so equal state is equal data.
"""

# The declarations have no bodies: core.rpc sends the message instead of running them.
# mypy: disable-error-code="empty-body"

from __future__ import annotations

from typing import NotRequired, TypedDict

from onestack.core.rpc import RpcAPI, call, fanout

# --- the shapes that travel -------------------------------------------------------------------


class FixedIP(TypedDict):
    subnet_id: str
    ip_address: str


class PortSpec(TypedDict):
    """A port bound to the host: a tap on the integration bridge, on its network's segment."""

    id: str
    network_id: str
    mac_address: str
    fixed_ips: list[FixedIP]  # sorted by (subnet_id, ip_address)
    admin_state_up: bool
    device_owner: str
    device_id: str
    mtu: int
    network_type: str  # the segment: flat / vlan / vxlan / local
    physical_network: str | None
    segmentation_id: int | None


class FilterRule(TypedDict):
    """One security group rule as the host enforces it; ``remote_group_id`` resolved to addresses."""

    direction: str  # ingress / egress
    ethertype: str  # IPv4 / IPv6
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None
    remote_ips: list[str]  # the fixed IPs of the remote group's ports (sorted); [] without a group


class FilterSpec(TypedDict):
    """A port's filter: off (no rules, anything goes) without port security, else its rules."""

    port_id: str
    port_security: bool
    stateful: bool
    mac_address: str
    addresses: list[str]  # what may leave the port: its fixed IPs and allowed address pairs (sorted)
    rules: list[FilterRule]  # sorted


class Lease(TypedDict):
    mac_address: str
    ip_address: str
    port_id: str


class DhcpSpec(TypedDict):
    """DHCP for one subnet (enable_dhcp) of a network with ports on the host: its leases."""

    subnet_id: str
    network_id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    dns_nameservers: list[str]  # in the subnet's order
    host_routes: list[dict[str, str]]  # sorted {destination, nexthop}
    leases: list[Lease]  # every port of the network with an address on the subnet, sorted by IP


class RouterInterface(TypedDict):
    port_id: str
    subnet_id: str
    ip_address: str
    cidr: str
    mac_address: str


class RouterGateway(TypedDict):
    port_id: str
    network_id: str
    mac_address: str
    fixed_ips: list[FixedIP]


class FloatingIPSpec(TypedDict):
    id: str
    floating_ip_address: str
    fixed_ip_address: str
    port_id: str


class RouterSpec(TypedDict):
    """A router the host runs (one namespace): interfaces, gateway with SNAT, routes, floating IPs."""

    id: str
    admin_state_up: bool
    interfaces: list[RouterInterface]  # sorted by port id
    gateway: RouterGateway | None
    enable_snat: bool
    routes: list[dict[str, str]]  # sorted {destination, nexthop}
    floating_ips: list[FloatingIPSpec]  # sorted by id


class HostState(TypedDict):
    """What one host should have (``desired_state``), or has (a driver's ``observed()``)."""

    ports: dict[str, PortSpec]  # by port id
    filters: dict[str, FilterSpec]  # by port id
    dhcp: dict[str, DhcpSpec]  # by subnet id
    routers: dict[str, RouterSpec]  # by router id


class AgentReport(TypedDict):
    """One role of a host's agent in a heartbeat: one row of ``/v2.0/agents``."""

    agent_type: str  # Neutron's: "Open vSwitch agent", "DHCP agent", "L3 agent"
    binary: str  # neutron-openvswitch-agent, neutron-dhcp-agent, neutron-l3-agent
    topic: str
    configurations: dict[str, object]
    # The agent's zone (network.availability_zone); an agent that omits it is in "nova".
    availability_zone: NotRequired[str]


# --- the server ----------------------------------------------------------------------------------


class NetworkServerAPI(RpcAPI):
    """What a host's network agent asks the server (``server_rpc.AgentsEndpoint`` answers)."""

    topic = "network-server"
    version = "1.0"

    @call
    async def desired_state(self, host: str) -> HostState:
        """Everything ``host`` should have: its bound ports and their filters, the DHCP of its
        networks' subnets, and the routers bound to its L3 agent (``service/agent_scheduler.py``)."""

    @call
    async def dhcp_ports(self, host: str) -> list[str]:
        """The DHCP agent on ``host`` asks for its networks' DHCP ports (``service/dhcp_ports.py``):
        the agent scheduler's pass runs first (bindings off agents that stopped serving, unplaced
        work placed), then each network bound to the host whose port here is missing or wrong, or
        that the host no longer serves, is synced. Returns the networks synced (none: nothing to do)."""

    @call
    async def report_state(self, host: str, agents: list[AgentReport], start_flag: bool = False) -> None:
        """A heartbeat: upsert one ``network_agents`` row per role (``start_flag``: started_at now)."""

    @call
    async def ports_wired(self, host: str, port_ids: list[str]) -> list[str]:
        """The agent on ``host`` has wired these ports: ACTIVE (compute hears network-vif-plugged
        for its ports). Returns the ids whose status changed."""

    @call
    async def ports_unwired(self, host: str, port_ids: list[str]) -> list[str]:
        """The agent on ``host`` no longer has these ports wired: DOWN (compute hears
        network-vif-unplugged for its ports). Returns the ids changed."""


# --- the agents ------------------------------------------------------------------------------------


class NetworkAgentAPI(RpcAPI):
    """What the server tells the agents; every agent hears it (a fanout)."""

    topic = "network-agent"
    version = "1.0"

    @fanout
    async def resync(self, hosts: list[str] | None = None) -> None:
        """Something on these hosts (all of them when None) changed: reconcile now."""
