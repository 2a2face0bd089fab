"""Network tables: networks, subnets (pools, routes, name servers), subnet pools, address scopes,
ports (fixed IPs, address pairs, DHCP options, bindings), routers, floating IPs, port
forwardings, security groups and rules, RBAC, tags, quotas, agents, auto-allocated topologies.

Every resource Neutron calls "standard" carries ``description``, ``revision_number``,
``created_at`` and ``updated_at`` in its own row (Neutron keeps them in one shared table; a
column per table needs no join on every read). Tags live in one table keyed by resource type.
Uniqueness that Neutron relies on for correctness under concurrency is a database constraint
here too: an address is allocated once per subnet (``network_ip_allocations`` primary key), a
MAC once per network, one default security group per project.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = 36          # uuids
PROJECT = 255    # project ids (Keystone's are 32 hex, but Neutron allows 255)
NAME = 255
DESCRIPTION = 255
IP = 64          # an address in text, IPv6 included
CIDR = 64


class Base(DeclarativeBase):
    pass


class Standard:
    """Neutron's standard attributes, as columns of each resource's own row."""

    description: Mapped[str] = mapped_column(String(DESCRIPTION), default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Network(Standard, Base):
    __tablename__ = "network_networks"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    name: Mapped[str] = mapped_column(String(NAME), default="", index=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # router:external; who may use it as one is an RBAC question (access_as_external).
    router_external: Mapped[bool] = mapped_column(Boolean, default=False)
    # is_default: the external network auto-allocated topologies hang off.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_network_type: Mapped[str] = mapped_column(String(32), default="vxlan")
    provider_physical_network: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provider_segmentation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    availability_zone_hints: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    dns_domain: Mapped[str] = mapped_column(String(255), default="")
    vlan_transparent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Subnet(Standard, Base):
    __tablename__ = "network_subnets"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(CIDR))
    gateway_ip: Mapped[str | None] = mapped_column(String(IP), nullable=True)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    subnetpool_id: Mapped[str | None] = mapped_column(String(ID), nullable=True, index=True)
    segment_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    dns_publish_fixed_ip: Mapped[bool] = mapped_column(Boolean, default=False)


class AllocationPool(Base):
    __tablename__ = "network_allocation_pools"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("network_subnets.id", ondelete="CASCADE"), index=True)
    first_ip: Mapped[str] = mapped_column(String(IP))
    last_ip: Mapped[str] = mapped_column(String(IP))


class DnsNameServer(Base):
    __tablename__ = "network_dns_nameservers"
    subnet_id: Mapped[str] = mapped_column(ForeignKey("network_subnets.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(IP), primary_key=True)
    order: Mapped[int] = mapped_column(Integer, default=0)


class HostRoute(Base):
    __tablename__ = "network_host_routes"
    subnet_id: Mapped[str] = mapped_column(ForeignKey("network_subnets.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(CIDR), primary_key=True)
    nexthop: Mapped[str] = mapped_column(String(IP), primary_key=True)


class SubnetServiceType(Base):
    __tablename__ = "network_subnet_service_types"
    subnet_id: Mapped[str] = mapped_column(ForeignKey("network_subnets.id", ondelete="CASCADE"), primary_key=True)
    service_type: Mapped[str] = mapped_column(String(255), primary_key=True)


class SubnetPool(Standard, Base):
    __tablename__ = "network_subnetpools"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    name: Mapped[str] = mapped_column(String(NAME), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    default_quota: Mapped[int | None] = mapped_column(Integer, nullable=True)
    address_scope_id: Mapped[str | None] = mapped_column(String(ID), nullable=True, index=True)
    # Bumped on every allocation from the pool: concurrent allocations serialise on it (compare-and-swap).
    hash: Mapped[str] = mapped_column(String(36), default="")


class SubnetPoolPrefix(Base):
    __tablename__ = "network_subnetpool_prefixes"
    subnetpool_id: Mapped[str] = mapped_column(ForeignKey("network_subnetpools.id", ondelete="CASCADE"),
                                               primary_key=True)
    cidr: Mapped[str] = mapped_column(String(CIDR), primary_key=True)


class AddressScope(Standard, Base):
    __tablename__ = "network_address_scopes"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    name: Mapped[str] = mapped_column(String(NAME), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class Port(Standard, Base):
    __tablename__ = "network_ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address", name="uq_network_ports_mac"),
                      Index("ix_network_ports_device", "device_id"))
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME), default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="")
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    dns_name: Mapped[str] = mapped_column(String(255), default="")
    ip_allocation: Mapped[str] = mapped_column(String(16), default="immediate")
    propagate_uplink_status: Mapped[bool] = mapped_column(Boolean, default=False)
    # binding:* — where the port is wired and how; the agent of binding_host_id makes it so.
    binding_host_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_profile: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vif_details: Mapped[str] = mapped_column(Text, default="{}")  # JSON


class IPAllocation(Base):
    """One address of one port on one subnet. The primary key is what makes IPAM race-free:
    two transactions that pick the same free address cannot both commit it."""

    __tablename__ = "network_ip_allocations"
    subnet_id: Mapped[str] = mapped_column(ForeignKey("network_subnets.id"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(IP), primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(String(ID), index=True)


class AllowedAddressPair(Base):
    __tablename__ = "network_allowed_address_pairs"
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(CIDR), primary_key=True)
    mac_address: Mapped[str] = mapped_column(String(32), primary_key=True)


class ExtraDhcpOpt(Base):
    __tablename__ = "network_extra_dhcp_opts"
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    opt_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ip_version: Mapped[int] = mapped_column(Integer, primary_key=True, default=4)
    opt_value: Mapped[str] = mapped_column(String(255))


class PortSecurityGroup(Base):
    __tablename__ = "network_port_security_groups"
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("network_security_groups.id"), primary_key=True,
                                                   index=True)


class Router(Standard, Base):
    __tablename__ = "network_routers"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    name: Mapped[str] = mapped_column(String(NAME), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    gw_port_id: Mapped[str | None] = mapped_column(ForeignKey("network_ports.id"), nullable=True)
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    availability_zone_hints: Mapped[str] = mapped_column(Text, default="[]")  # JSON list


class RouterPort(Base):
    """A port the router owns: an interface (``network:router_interface``) or its gateway."""

    __tablename__ = "network_router_ports"
    router_id: Mapped[str] = mapped_column(ForeignKey("network_routers.id", ondelete="CASCADE"), primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True,
                                         unique=True)
    port_type: Mapped[str] = mapped_column(String(255))


class RouterRoute(Base):
    __tablename__ = "network_router_routes"
    router_id: Mapped[str] = mapped_column(ForeignKey("network_routers.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(CIDR), primary_key=True)
    nexthop: Mapped[str] = mapped_column(String(IP), primary_key=True)


class FloatingIP(Standard, Base):
    __tablename__ = "network_floating_ips"
    __table_args__ = (UniqueConstraint("floating_network_id", "fixed_port_id", "fixed_ip_address",
                                       name="uq_network_floating_ips_fixed"),)
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    floating_ip_address: Mapped[str] = mapped_column(String(IP))
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"), index=True)
    # The port that holds the floating address on the external network (device_owner network:floatingip).
    floating_port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), unique=True)
    fixed_port_id: Mapped[str | None] = mapped_column(ForeignKey("network_ports.id"), nullable=True, index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(IP), nullable=True)
    router_id: Mapped[str | None] = mapped_column(ForeignKey("network_routers.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    dns_name: Mapped[str] = mapped_column(String(255), default="")
    dns_domain: Mapped[str] = mapped_column(String(255), default="")


class PortForwarding(Base):
    __tablename__ = "network_port_forwardings"
    __table_args__ = (UniqueConstraint("floatingip_id", "external_port_start", "protocol",
                                       name="uq_network_port_forwardings_external"),)
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    floatingip_id: Mapped[str] = mapped_column(ForeignKey("network_floating_ips.id", ondelete="CASCADE"), index=True)
    internal_port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), index=True)
    internal_ip_address: Mapped[str] = mapped_column(String(IP))
    internal_port_start: Mapped[int] = mapped_column(Integer)
    internal_port_end: Mapped[int] = mapped_column(Integer)
    external_port_start: Mapped[int] = mapped_column(Integer)
    external_port_end: Mapped[int] = mapped_column(Integer)
    protocol: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(DESCRIPTION), default="")


class SecurityGroup(Standard, Base):
    __tablename__ = "network_security_groups"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    name: Mapped[str] = mapped_column(String(NAME), default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)


class DefaultSecurityGroup(Base):
    """One ``default`` group per project: the primary key settles two first uses racing to create it."""

    __tablename__ = "network_default_security_groups"
    project_id: Mapped[str] = mapped_column(String(PROJECT), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("network_security_groups.id", ondelete="CASCADE"))


class SecurityGroupRule(Standard, Base):
    __tablename__ = "network_security_group_rules"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("network_security_groups.id", ondelete="CASCADE"),
                                                   index=True)
    remote_group_id: Mapped[str | None] = mapped_column(ForeignKey("network_security_groups.id", ondelete="CASCADE"),
                                                        nullable=True, index=True)
    remote_address_group_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    direction: Mapped[str] = mapped_column(String(8))
    ethertype: Mapped[str] = mapped_column(String(8), default="IPv4")
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    port_range_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_range_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(CIDR), nullable=True)
    # remote_ip_prefix with its host bits cleared, as Neutron shows it.
    normalized_cidr: Mapped[str | None] = mapped_column(String(CIDR), nullable=True)


class DefaultSecurityGroupRule(Base):
    """The template of the rules new groups get (``/v2.0/default-security-group-rules``).

    ``remote_group_id`` "PARENT" stands for the new group itself.
    """

    __tablename__ = "network_default_security_group_rules"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))
    ethertype: Mapped[str] = mapped_column(String(8), default="IPv4")
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    port_range_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_range_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(CIDR), nullable=True)
    remote_group_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    description: Mapped[str] = mapped_column(String(DESCRIPTION), default="")
    used_in_default_sg: Mapped[bool] = mapped_column(Boolean, default=True)
    used_in_non_default_sg: Mapped[bool] = mapped_column(Boolean, default=True)


class Initialised(Base):
    """One-time initialisations of the network database (the default rule template's first
    rules): a row says it was done, so what an admin later removed is not made again."""

    __tablename__ = "network_initialised"
    what: Mapped[str] = mapped_column(String(64), primary_key=True)


class RbacPolicy(Base):
    __tablename__ = "network_rbac_policies"
    __table_args__ = (UniqueConstraint("object_type", "object_id", "action", "target_project",
                                       name="uq_network_rbac_policies"),
                      Index("ix_network_rbac_object", "object_type", "object_id"))
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    object_type: Mapped[str] = mapped_column(String(32))     # network, qos_policy, security_group, ...
    object_id: Mapped[str] = mapped_column(String(ID))
    action: Mapped[str] = mapped_column(String(32))          # access_as_shared, access_as_external
    target_project: Mapped[str] = mapped_column(String(PROJECT), index=True)  # a project id or "*"


class Tag(Base):
    __tablename__ = "network_tags"
    resource_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)


class Quota(Base):
    __tablename__ = "network_quotas"
    project_id: Mapped[str] = mapped_column(String(PROJECT), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)


class Agent(Base):
    """A network agent of one host, as ``/v2.0/agents`` lists it; alive while its heartbeat is fresh."""

    __tablename__ = "network_agents"
    __table_args__ = (UniqueConstraint("agent_type", "host", name="uq_network_agents_type_host"),)
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    configurations: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    resources_synced: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    heartbeat_timestamp: Mapped[datetime] = mapped_column(DateTime)


class NetworkDhcpBinding(Base):
    """A DHCP agent serving a network (Neutron's ``networkdhcpagentbindings``): as many rows per
    network as ``network.dhcp_agents_per_network`` asks, placed automatically, and any an admin
    added (service/agent_scheduler.py)."""

    __tablename__ = "network_dhcp_agent_bindings"
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("network_agents.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)


class NetworkDhcpManual(Base):
    """A network an admin removed a DHCP agent from: the automatic top-up to
    ``dhcp_agents_per_network`` leaves it alone (a dead agent's share is still failed over) until
    its next subnet change."""

    __tablename__ = "network_dhcp_manual"
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="CASCADE"), primary_key=True)


class RouterL3Binding(Base):
    """The L3 agent hosting a router (``l3_agent_scheduler``), placed automatically or by an admin;
    ``agent_id`` NULL once an admin removed it (unhosted until an admin adds it again)."""

    __tablename__ = "network_router_l3_bindings"
    router_id: Mapped[str] = mapped_column(ForeignKey("network_routers.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("network_agents.id", ondelete="CASCADE"), nullable=True,
                                                 index=True)


class AutoAllocatedTopology(Base):
    __tablename__ = "network_auto_allocated_topologies"
    project_id: Mapped[str] = mapped_column(String(PROJECT), primary_key=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="CASCADE"))
    router_id: Mapped[str | None] = mapped_column(ForeignKey("network_routers.id", ondelete="SET NULL"),
                                                  nullable=True)
