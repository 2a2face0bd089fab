"""Errors of security groups, their rules and the default security group rules."""

from __future__ import annotations

from onestack.network.errors.base import InUse, InvalidInput, NeutronError, NotFound


class SecurityGroupNotFound(NotFound):
    def __init__(self, sg_id: str) -> None:
        super().__init__(f"Security group {sg_id} does not exist.")


class SecurityGroupRuleNotFound(NotFound):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Security group rule {rule_id} does not exist.")


class SecurityGroupInUse(InUse):
    def __init__(self, sg_id: str) -> None:
        super().__init__(f"Security Group {sg_id} in use.")


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


class InvalidCIDR(NeutronError):
    status = 400

    def __init__(self, given: object) -> None:
        super().__init__(f"Invalid CIDR {given} given as IP prefix.")


class DefaultSecurityGroupRuleExists(InUse):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Default security group rule already exists. Rule id is {rule_id}.")


class DefaultSecurityGroupRuleNotFound(NotFound):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Default Security Group rule {rule_id} does not exist")
