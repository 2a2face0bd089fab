"""Errors of routers, their interfaces and routes, floating IPs, port forwardings and auto-allocation."""

from __future__ import annotations

from onestack.network.errors.base import Conflict, InUse, NeutronError, NotFound


class ExternalGatewayForFloatingIPNotFound(NeutronError):
    status = 404


class RouterNotFound(NotFound):
    def __init__(self, router_id: str) -> None:
        super().__init__(f"Router {router_id} could not be found")


class FloatingIPNotFound(NotFound):
    def __init__(self, floatingip_id: str) -> None:
        super().__init__(f"Floating IP {floatingip_id} could not be found")


class PortForwardingNotFound(NotFound):
    def __init__(self, pf_id: str) -> None:
        super().__init__(f"Port Forwarding {pf_id} could not be found.")


class RouterInUse(InUse):
    def __init__(self, router_id: str, reason: str = "still has ports") -> None:
        super().__init__(f"Router {router_id} {reason}")


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
