"""Errors of ports: in-use MAC/IP addresses, port security, allowed address pairs, bindings."""

from __future__ import annotations

from onestack.network.errors.base import Conflict, InUse, NeutronError, NotFound


class PortNotFound(NotFound):
    def __init__(self, port_id: str) -> None:
        super().__init__(f"Port {port_id} could not be found.")


class PortInUse(InUse):
    def __init__(self, port_id: str, net_id: str, device_id: str) -> None:
        super().__init__(f"Unable to complete operation on port {port_id} for network {net_id}. "
                         f"Port already has an attached device {device_id}.")


class MacAddressInUse(InUse):
    def __init__(self, mac: str, net_id: str) -> None:
        super().__init__(f"Unable to complete operation for network {net_id}. "
                         f"The mac address {mac} is in use.")


class IpAddressInUse(InUse):
    def __init__(self, ip: str, net_id: str) -> None:
        super().__init__(f"Unable to complete operation for network {net_id}. "
                         f"The IP address {ip} is in use.")


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
