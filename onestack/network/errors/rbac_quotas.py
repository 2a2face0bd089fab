"""Errors of RBAC policies (sharing objects between projects) and of quotas."""

from __future__ import annotations

from onestack.network.errors.base import Conflict, InvalidInput, NeutronError, NotFound


class RbacPolicyNotFound(NotFound):
    def __init__(self, rbac_id: str, object_type: str = "network") -> None:
        super().__init__(f"RBAC policy of type {object_type} with ID {rbac_id} not found.")


class OverQuota(Conflict):
    def __init__(self, overs: str) -> None:
        super().__init__(f"Quota exceeded for resources: ['{overs}'].")


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


class InvalidQuotaValue(Conflict):
    def __init__(self, unders: list[str]) -> None:
        super().__init__(f"Change would make usage less than 0 for the following resources: {unders}.")


class TenantQuotaNotFound(NotFound):
    def __init__(self, project_id: str) -> None:
        super().__init__(f"Quota for tenant {project_id} could not be found.")
