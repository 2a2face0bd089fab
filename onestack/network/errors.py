"""Neutron's errors: each class is one ``NeutronError`` type, rendered as
``{"NeutronError": {"type": <class name>, "message": ..., "detail": ""}}``.

Service and API code raise these; ``core/api/faults.py: neutron_error`` renders them.
"""

from __future__ import annotations

from onestack.core.api.faults import ApiError


class NeutronError(ApiError):
    """Base: the subclass name is the ``type`` clients see (``NetworkNotFound``, ``OverQuota``…)."""


# --- 400 ----------------------------------------------------------------------------------------

class BadRequest(NeutronError):
    status = 400

    def __init__(self, resource: str, msg: str) -> None:
        super().__init__(f"Bad {resource} request: {msg}.")


class HTTPBadRequest(NeutronError):
    """Attribute validation failures ("Invalid input for name. Reason: ...")."""

    status = 400


def invalid_input(attr: str, reason: str) -> HTTPBadRequest:
    return HTTPBadRequest(f"Invalid input for {attr}. Reason: {reason}.")


class InvalidInput(NeutronError):
    status = 400

    def __init__(self, error_message: str) -> None:
        super().__init__(f"Invalid input for operation: {error_message}.")


class InvalidAllocationPool(NeutronError):
    status = 400


class IpAddressGenerationFailureNoMatchingSubnet(NeutronError):
    status = 409  # a Conflict in Neutron (a kind of IpAddressGenerationFailure)


class InvalidIpForNetwork(NeutronError):
    status = 400


class InvalidIpForSubnet(NeutronError):
    status = 400


class ExternalGatewayForFloatingIPNotFound(NeutronError):
    status = 404


class InvalidSharedSetting(NeutronError):
    status = 409


# --- 403 ----------------------------------------------------------------------------------------

class HTTPForbidden(NeutronError):
    status = 403


class PolicyNotAuthorized(NeutronError):
    status = 403

    def __init__(self, action: str) -> None:
        super().__init__(f"({action}) is disallowed by policy")


# --- 404 ----------------------------------------------------------------------------------------

class HTTPNotFound(NeutronError):
    status = 404


class NotFound(NeutronError):
    status = 404


class NetworkNotFound(NotFound):
    def __init__(self, net_id: str) -> None:
        super().__init__(f"Network {net_id} could not be found.")


class SubnetNotFound(NotFound):
    def __init__(self, subnet_id: str) -> None:
        super().__init__(f"Subnet {subnet_id} could not be found.")


class PortNotFound(NotFound):
    def __init__(self, port_id: str) -> None:
        super().__init__(f"Port {port_id} could not be found.")


class SubnetPoolNotFound(NotFound):
    def __init__(self, subnetpool_id: str) -> None:
        super().__init__(f"Subnet pool {subnetpool_id} could not be found.")


class AddressScopeNotFound(NotFound):
    def __init__(self, address_scope_id: str) -> None:
        super().__init__(f"Address scope {address_scope_id} could not be found.")


class RouterNotFound(NotFound):
    def __init__(self, router_id: str) -> None:
        super().__init__(f"Router {router_id} could not be found.")


class FloatingIPNotFound(NotFound):
    def __init__(self, floatingip_id: str) -> None:
        super().__init__(f"Floating IP {floatingip_id} could not be found.")


class SecurityGroupNotFound(NotFound):
    def __init__(self, sg_id: str) -> None:
        super().__init__(f"Security group {sg_id} does not exist.")


class SecurityGroupRuleNotFound(NotFound):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Security group rule {rule_id} does not exist.")


class RbacPolicyNotFound(NotFound):
    def __init__(self, rbac_id: str, object_type: str = "network") -> None:
        super().__init__(f"RBAC policy of type {object_type} with ID {rbac_id} not found.")


class AgentNotFound(NotFound):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"Agent {agent_id} could not be found.")


class TagNotFound(NotFound):
    def __init__(self, tag: str, resource_id: str) -> None:
        super().__init__(f"Tag {tag} could not be found for resource {resource_id}.")


class PortForwardingNotFound(NotFound):
    def __init__(self, pf_id: str) -> None:
        super().__init__(f"Port Forwarding {pf_id} could not be found.")


class ExtensionNotFound(NotFound):
    def __init__(self, alias: str) -> None:
        super().__init__(f"Extension with alias {alias} does not exist.")


# --- 409 ----------------------------------------------------------------------------------------

class Conflict(NeutronError):
    status = 409


class InUse(Conflict):
    pass


class NetworkInUse(InUse):
    def __init__(self, net_id: str) -> None:
        super().__init__(f"Unable to complete operation on network {net_id}. "
                         "There are one or more ports still in use on the network.")


class SubnetInUse(InUse):
    def __init__(self, subnet_id: str, reason: str = "One or more ports have an IP allocation from this subnet") -> None:
        super().__init__(f"Unable to complete operation on subnet {subnet_id}: {reason}.")


class PortInUse(InUse):
    def __init__(self, port_id: str, net_id: str, device_id: str) -> None:
        super().__init__(f"Unable to complete operation on port {port_id} for network {net_id}. "
                         f"Port already has an attached device {device_id}.")


class RouterInUse(InUse):
    def __init__(self, router_id: str, reason: str = "still has ports") -> None:
        super().__init__(f"Router {router_id} {reason}")


class SecurityGroupInUse(InUse):
    def __init__(self, sg_id: str) -> None:
        super().__init__(f"Security Group {sg_id} in use.")


class MacAddressInUse(InUse):
    def __init__(self, mac: str, net_id: str) -> None:
        super().__init__(f"Unable to complete operation for network {net_id}. "
                         f"The mac address {mac} is in use.")


class IpAddressInUse(InUse):
    def __init__(self, ip: str, net_id: str) -> None:
        super().__init__(f"Unable to complete operation for network {net_id}. "
                         f"The IP address {ip} is in use.")


class IpAddressAlreadyAllocated(Conflict):
    def __init__(self, ip: str, subnet_id: str) -> None:
        super().__init__(f"IP address {ip} already allocated in subnet {subnet_id}")


class IpAddressGenerationFailure(Conflict):
    def __init__(self, net_id: str) -> None:
        super().__init__(f"No more IP addresses available on network {net_id}.")


class OverQuota(Conflict):
    def __init__(self, overs: str) -> None:
        super().__init__(f"Quota exceeded for resources: ['{overs}'].")


class RevisionNumberConstraintFailed(NeutronError):
    status = 412

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"Constrained to {expected}, but current revision is {current}")


class TagResourceNotFound(NotFound):
    pass


# --- subnets, IPAM and ports (h/ports) ------------------------------------------------------------

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


class PortSecurityAndIPRequiredForSecurityGroups(NeutronError):
    status = 400

    def __init__(self) -> None:
        super().__init__("Port security must be enabled and port must have an IP address in order to use "
                         "security groups.")


class PortSecurityPortHasSecurityGroup(InUse):
    def __init__(self) -> None:
        super().__init__("Port has security group associated. Cannot disable port security or IP address "
                         "until security group is removed")


class AddressPairAndPortSecurityRequired(Conflict):
    def __init__(self) -> None:
        super().__init__("Port Security must be enabled in order to have allowed address pairs on a port.")


class AllowedAddressPairsMissingIP(NeutronError):
    status = 400

    def __init__(self) -> None:
        super().__init__("AllowedAddressPair must contain ip_address")


class DuplicateAddressPairInRequest(NeutronError):
    status = 400

    def __init__(self, mac_address: str | None, ip_address: str) -> None:
        super().__init__(f"Request contains duplicate address pair: mac_address {mac_address} "
                         f"ip_address {ip_address}.")


class AllowedAddressPairExhausted(NeutronError):
    status = 400

    def __init__(self, quota: int) -> None:
        super().__init__(f"The number of allowed address pair exceeds the maximum {quota}.")


class ServicePortInUse(InUse):
    def __init__(self, port_id: str, reason: str) -> None:
        super().__init__(f"Port {port_id} cannot be deleted directly via the port API: {reason}.")


class PortBound(InUse):
    def __init__(self, port_id: str, vif_type: str, old_mac: str, new_mac: str) -> None:
        super().__init__(f"Unable to complete operation on port {port_id}, port is already bound, "
                         f"port type: {vif_type}, old_mac {old_mac}, new_mac {new_mac}.")
