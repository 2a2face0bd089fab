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
        super().__init__(f"Router {router_id} could not be found")


class FloatingIPNotFound(NotFound):
    def __init__(self, floatingip_id: str) -> None:
        super().__init__(f"Floating IP {floatingip_id} could not be found")


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


class InvalidDHCPAgent(AgentNotFound):  # neutron_lib's: an AgentNotFound, so a 404
    def __init__(self, agent_id: str) -> None:
        NotFound.__init__(self, f"Agent {agent_id} is not a valid DHCP Agent or has been disabled")


class InvalidL3Agent(AgentNotFound):
    def __init__(self, agent_id: str) -> None:
        NotFound.__init__(self, f"Agent {agent_id} is not a L3 Agent or has been disabled")


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


# --- routers, floating IPs, port forwardings, auto-allocation (h/l3) -----------------------------

class InvalidRoutes(NeutronError):
    status = 400

    def __init__(self, routes: object, reason: str) -> None:
        super().__init__(f"Invalid format for routes: {routes}, {reason}")


class RoutesExhausted(NeutronError):
    status = 400

    def __init__(self, router_id: str, quota: int) -> None:
        super().__init__(f"Unable to complete operation for {router_id}. "
                         f"The number of routes exceeds the maximum {quota}.")


class SubnetMismatchForPort(NeutronError):
    status = 400

    def __init__(self, port_id: str, subnet_id: str) -> None:
        super().__init__(f"Subnet on port {port_id} does not match the requested subnet {subnet_id}.")


class ExternalIpAddressExhausted(NeutronError):
    status = 400

    def __init__(self, net_id: str) -> None:
        super().__init__(f"Unable to find any IP address on external network {net_id}.")


class RouterInterfaceNotFound(NotFound):
    def __init__(self, router_id: str, port_id: str) -> None:
        super().__init__(f"Router {router_id} does not have an interface with id {port_id}")


class RouterInterfaceNotFoundForSubnet(NotFound):
    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router {router_id} has no interface on subnet {subnet_id}")


class RouterInterfaceInUseByFloatingIP(InUse):
    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, "
                         "as it is required by one or more floating IPs.")


class RouterInterfaceInUseByRoute(InUse):
    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, "
                         "as it is required by one or more routes.")


class RouterExternalGatewayInUseByFloatingIp(InUse):
    def __init__(self, router_id: str, net_id: str) -> None:
        super().__init__(f"Gateway cannot be updated for router {router_id}, since a gateway to external "
                         f"network {net_id} is required by one or more floating IPs.")


class FloatingIPPortAlreadyAssociated(InUse):
    def __init__(self, floating_ip_address: str, fip_id: str, port_id: str, fixed_ip: str, net_id: str) -> None:
        super().__init__(f"Cannot associate floating IP {floating_ip_address} ({fip_id}) with port {port_id} "
                         f"using fixed IP {fixed_ip}, as that fixed IP already has a floating IP on external "
                         f"network {net_id}.")


class FipInUseByPortForwarding(InUse):
    def __init__(self, fip_id: str) -> None:
        super().__init__(f"Floating IP {fip_id} in use by Port Forwarding resources.")


class PortHasBindingFloatingIP(InUse):
    def __init__(self, floating_ip_address: str, fip_id: str, port_id: str, fixed_ip: str) -> None:
        super().__init__(f"Cannot create port forwarding to floating IP {floating_ip_address} ({fip_id}) with "
                         f"port {port_id} using fixed IP {fixed_ip}, as that port already has a binding "
                         "floating IP.")


class PortForwardingNotSupportFilterField(NeutronError):
    status = 400

    def __init__(self, field: str) -> None:
        super().__init__(f"Port Forwarding filter {field} is not supported.")


class ExternalNetworkInUse(InUse):
    def __init__(self, net_id: str) -> None:
        super().__init__(f"External network {net_id} cannot be updated to be made non-external, since it has "
                         "existing gateway ports.")


class AutoAllocationFailure(Conflict):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Deployment error: {reason}.")


def external_gateway_not_found(external_network_id: str, subnet_id: str,
                               port_id: str) -> ExternalGatewayForFloatingIPNotFound:
    return ExternalGatewayForFloatingIPNotFound(
        f"External network {external_network_id} is not reachable from subnet {subnet_id}.  "
        f"Therefore, cannot associate Port {port_id} with a Floating IP.")
# --- subnet pools and address scopes (neutron_lib.exceptions, exceptions.address_scope) ----------

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
# --- security groups, rules, RBAC, quotas, tags (h/secgroups) --------------------------------------

class SecurityGroupDefaultAlreadyExists(InUse):
    def __init__(self) -> None:
        super().__init__("Default security group already exists.")


class SecurityGroupCannotUpdateDefault(InUse):
    def __init__(self) -> None:
        super().__init__("Updating default security group not allowed.")


class SecurityGroupCannotRemoveDefault(InUse):
    def __init__(self) -> None:
        super().__init__("Insufficient rights for removing default security group.")


class SecurityGroupRuleExists(InUse):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Security group rule already exists. Rule id is {rule_id}.")


class SecurityGroupRuleInvalidProtocol(InvalidInput):
    def __init__(self, protocol: object, values: list[str]) -> None:
        NeutronError.__init__(self, f"Security group rule protocol {protocol} not supported. Only protocol values "
                              f"{values} and integer representations [0 to 255] are supported.")


class SecurityGroupRemoteGroupAndRemoteIpPrefix(InvalidInput):
    def __init__(self) -> None:
        NeutronError.__init__(self, "Only remote_ip_prefix or remote_group_id may be provided.")


class SecurityGroupProtocolRequiredWithPorts(InvalidInput):
    def __init__(self) -> None:
        NeutronError.__init__(self, "Must also specify protocol if port range is given.")


class SecurityGroupInvalidPortRange(InvalidInput):
    def __init__(self) -> None:
        NeutronError.__init__(self, "For TCP/UDP protocols, port_range_min must be <= port_range_max")


class SecurityGroupInvalidPortValue(InvalidInput):
    def __init__(self, port: object) -> None:
        NeutronError.__init__(self, f"Invalid value for port {port}")


class SecurityGroupInvalidIcmpValue(InvalidInput):
    def __init__(self, field: str, attr: str, value: object) -> None:
        NeutronError.__init__(self, f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255.")


class SecurityGroupMissingIcmpType(InvalidInput):
    def __init__(self, value: object) -> None:
        NeutronError.__init__(self, f"ICMP code (port-range-max) {value} is provided but ICMP type "
                              "(port-range-min) is missing.")


class SecurityGroupInvalidProtocolForPortRange(InvalidInput):
    def __init__(self, protocol: object) -> None:
        NeutronError.__init__(self, f"Invalid protocol {protocol} for port range, only supported for TCP, UDP, "
                              "UDPLITE, SCTP and DCCP.")


class SecurityGroupEthertypeConflictWithProtocol(InvalidInput):
    def __init__(self, ethertype: str, protocol: str) -> None:
        NeutronError.__init__(self, f"Ethertype {ethertype} is not supported for protocol {protocol}.")


class SecurityGroupRuleParameterConflict(InvalidInput):
    def __init__(self, ethertype: str, cidr: str) -> None:
        NeutronError.__init__(self, f"Conflicting value ethertype {ethertype} for CIDR {cidr}")


class SecurityGroupNotSingleGroupRules(InvalidInput):
    def __init__(self) -> None:
        NeutronError.__init__(self, "Only allowed to update rules for one security profile at a time")


class DuplicateSecurityGroupRuleInPost(InUse):
    def __init__(self) -> None:
        super().__init__("Duplicate Security Group Rule in POST.")


class DuplicateRbacPolicy(Conflict):
    def __init__(self) -> None:
        super().__init__("An RBAC policy already exists with those values.")


class RbacPolicyInUse(Conflict):
    def __init__(self, object_id: str, details: str) -> None:
        super().__init__(f"RBAC policy on object {object_id} cannot be removed because other objects depend on "
                         f"it.\nDetails: {details}")


class InvalidActionForType(InvalidInput):
    def __init__(self, action: str, object_type: str, valid: list[str]) -> None:
        NeutronError.__init__(self, f"Invalid action '{action}' for object type '{object_type}'. Valid actions: "
                              f"{valid}")


class InvalidCIDR(NeutronError):
    status = 400

    def __init__(self, given: object) -> None:
        super().__init__(f"Invalid CIDR {given} given as IP prefix.")


class AdminRequired(NeutronError):
    status = 403

    def __init__(self, reason: str) -> None:
        super().__init__(f"User does not have admin privileges: {reason}.")


class InvalidQuotaValue(Conflict):
    def __init__(self, unders: list[str]) -> None:
        super().__init__(f"Change would make usage less than 0 for the following resources: {unders}.")


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


class NotAuthorized(NeutronError):
    status = 403

    def __init__(self) -> None:
        super().__init__("Not authorized.")
class DefaultSecurityGroupRuleExists(InUse):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Default security group rule already exists. Rule id is {rule_id}.")


class DefaultSecurityGroupRuleNotFound(NotFound):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Default Security Group rule {rule_id} does not exist")


class TenantQuotaNotFound(NotFound):
    def __init__(self, project_id: str) -> None:
        super().__init__(f"Quota for tenant {project_id} could not be found.")
