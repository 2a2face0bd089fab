"""Errors of subnet pools and address scopes (neutron_lib.exceptions, exceptions.address_scope)."""

from __future__ import annotations

from onestack.network.errors.base import Conflict, InUse, NeutronError, NotFound


class SubnetPoolNotFound(NotFound):
    def __init__(self, subnetpool_id: str) -> None:
        super().__init__(f"Subnet pool {subnetpool_id} could not be found.")


class AddressScopeNotFound(NotFound):
    def __init__(self, address_scope_id: str) -> None:
        super().__init__(f"Address scope {address_scope_id} could not be found.")


class EmptySubnetPoolPrefixList(NeutronError):
    status = 400

    def __init__(self) -> None:
        super().__init__("Empty subnet pool prefix list.")


class PrefixVersionMismatch(NeutronError):
    status = 400

    def __init__(self) -> None:
        super().__init__("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")


class UnsupportedMinSubnetPoolPrefix(NeutronError):
    status = 400

    def __init__(self, prefix: int, version: int) -> None:
        super().__init__(f"Prefix '{prefix}' not supported in IPv{version} pool.")


class IllegalSubnetPoolPrefixBounds(NeutronError):
    status = 400

    def __init__(self, prefix_type: str, prefixlen: int, base_prefix_type: str, base_prefixlen: int) -> None:
        super().__init__(f"Illegal prefix bounds: {prefix_type}={prefixlen}, "
                         f"{base_prefix_type}={base_prefixlen}.")


class IllegalSubnetPoolPrefixUpdate(NeutronError):
    status = 400

    def __init__(self, msg: str) -> None:
        super().__init__(f"Illegal update to prefixes: {msg}.")


class IllegalSubnetPoolUpdate(NeutronError):
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(f"Illegal subnetpool update : {reason}.")


class IllegalSubnetPoolAssociationToAddressScope(NeutronError):
    status = 400

    def __init__(self, subnetpool_id: str, address_scope_id: str) -> None:
        super().__init__(f"Illegal subnetpool association: subnetpool {subnetpool_id} cannot be "
                         f"associated with address scope {address_scope_id}.")


class IllegalSubnetPoolIpVersionAssociationToAddressScope(NeutronError):
    status = 400

    def __init__(self, subnetpool_id: str, address_scope_id: str, ip_version: int) -> None:
        super().__init__(f"Illegal subnetpool association: subnetpool {subnetpool_id} cannot associate "
                         f"with address scope {address_scope_id} because subnetpool ip_version is not "
                         f"{ip_version}.")


class AddressScopePrefixConflict(Conflict):
    def __init__(self) -> None:
        super().__init__("Failed to associate address scope: subnetpools within an address scope must "
                         "have unique prefixes.")


class MinPrefixSubnetAllocationError(NeutronError):
    status = 400

    def __init__(self, prefixlen: int, min_prefixlen: int) -> None:
        super().__init__(f"Unable to allocate subnet with prefix length {prefixlen}, minimum allowed "
                         f"prefix is {min_prefixlen}.")


class MaxPrefixSubnetAllocationError(NeutronError):
    status = 400

    def __init__(self, prefixlen: int, max_prefixlen: int) -> None:
        super().__init__(f"Unable to allocate subnet with prefix length {prefixlen}, maximum allowed "
                         f"prefix is {max_prefixlen}.")


class SubnetAllocationError(Conflict):
    """Neutron raises it untyped (a 500); no prefix left is the pool's state, not a server fault: 409."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Failed to allocate subnet: {reason}.")


class SubnetPoolQuotaExceeded(Conflict):
    def __init__(self) -> None:
        super().__init__("Per-project subnet pool prefix quota exceeded.")


class SubnetPoolDeleteError(NeutronError):
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(f"Unable to delete subnet pool: {reason}.")


class SubnetPoolInUse(InUse):
    def __init__(self, subnet_pool_id: str, reason: str = "Two or more concurrent subnets allocated") -> None:
        super().__init__(f"Unable to complete operation on subnet pool {subnet_pool_id}. {reason}.")


class NetworkSubnetPoolAffinityError(NeutronError):
    status = 400

    def __init__(self) -> None:
        super().__init__("Subnets hosted on the same network must be allocated from the same subnet pool.")


class NetworkAddressScopeAffinityError(NeutronError):
    status = 400

    def __init__(self) -> None:
        super().__init__("Subnets of the same address family hosted on the same network must all "
                         "participate in the same address scope.")


class AddressScopeInUse(InUse):
    def __init__(self, address_scope_id: str) -> None:
        super().__init__(f"Unable to complete operation on address scope {address_scope_id}. There are one "
                         "or more subnet pools in use on the address scope.")


class AddressScopeUpdateError(NeutronError):
    status = 400

    def __init__(self, address_scope_id: str, reason: str) -> None:
        super().__init__(f"Unable to update address scope {address_scope_id} : {reason}.")
