"""Errors of networks, subnets and IP allocation (IPAM): allocation pools, gateways, fixed IPs."""

from __future__ import annotations

from onestack.network.errors.base import Conflict, InUse, NeutronError, NotFound


class InvalidAllocationPool(NeutronError):
    status = 400


class IpAddressGenerationFailureNoMatchingSubnet(NeutronError):
    status = 409  # a Conflict in Neutron (a kind of IpAddressGenerationFailure)


class InvalidIpForNetwork(NeutronError):
    status = 400


class InvalidIpForSubnet(NeutronError):
    status = 400


class InvalidSharedSetting(NeutronError):
    status = 409


class NetworkNotFound(NotFound):
    def __init__(self, net_id: str) -> None:
        super().__init__(f"Network {net_id} could not be found.")


class SubnetNotFound(NotFound):
    def __init__(self, subnet_id: str) -> None:
        super().__init__(f"Subnet {subnet_id} could not be found.")


class NetworkInUse(InUse):
    def __init__(self, net_id: str) -> None:
        super().__init__(f"Unable to complete operation on network {net_id}. "
                         "There are one or more ports still in use on the network.")


class SubnetInUse(InUse):
    def __init__(self, subnet_id: str, reason: str = "One or more ports have an IP allocation from this subnet") -> None:
        super().__init__(f"Unable to complete operation on subnet {subnet_id}: {reason}.")


class IpAddressAlreadyAllocated(Conflict):
    def __init__(self, ip: str, subnet_id: str) -> None:
        super().__init__(f"IP address {ip} already allocated in subnet {subnet_id}")


class IpAddressGenerationFailure(Conflict):
    def __init__(self, net_id: str) -> None:
        super().__init__(f"No more IP addresses available on network {net_id}.")


class OutOfBoundsAllocationPool(NeutronError):
    status = 400

    def __init__(self, pool: str, subnet_cidr: str) -> None:
        super().__init__(f"The allocation pool {pool} spans beyond the subnet cidr {subnet_cidr}.")


class OverlappingAllocationPools(Conflict):
    def __init__(self, pool_1: str, pool_2: str, subnet_cidr: str) -> None:
        super().__init__(f"Found overlapping allocation pools: {pool_1} {pool_2} for subnet {subnet_cidr}.")


class GatewayConflictWithAllocationPools(InUse):
    def __init__(self, pool: str, ip_address: str) -> None:
        super().__init__(f"Gateway ip {ip_address} conflicts with allocation pool {pool}.")


class GatewayIpInUse(InUse):
    def __init__(self, ip_address: str, port_id: str) -> None:
        super().__init__(f"Current gateway ip {ip_address} already in use by port {port_id}. Unable to update.")


class NetworkMTUSubnetConflict(Conflict):
    def __init__(self, net_id: str, mtu: int) -> None:
        super().__init__(f"MTU of {net_id} is not valid, subnet requires a minimum of {mtu}")


class DNSNameServersExhausted(NeutronError):
    status = 400

    def __init__(self, subnet_id: str, quota: int) -> None:
        super().__init__(f"Unable to complete operation for {subnet_id}. "
                         f"The number of DNS nameservers exceeds the limit {quota}.")


class HostRoutesExhausted(NeutronError):
    status = 400

    def __init__(self, subnet_id: str, quota: int) -> None:
        super().__init__(f"Unable to complete operation for {subnet_id}. "
                         f"The number of host routes exceeds the limit {quota}.")


class InvalidSubnetServiceType(NeutronError):
    status = 400

    def __init__(self, service_type: str) -> None:
        super().__init__(f"Subnet service type {service_type} does not correspond to a valid device owner.")


class AllocationOnAutoAddressSubnet(NeutronError):
    status = 400

    def __init__(self, ip: str, subnet_id: str) -> None:
        super().__init__(f"IPv6 address {ip} cannot be directly assigned to a port on subnet {subnet_id} "
                         "as the subnet is configured for automatic addresses")
