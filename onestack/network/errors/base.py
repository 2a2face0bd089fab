"""The base of Neutron's errors and the generic ones every resource uses.

``NeutronError``'s subclass name is the ``type`` clients see, rendered as
``{"NeutronError": {"type": <class name>, "message": ..., "detail": ""}}`` by
``core/api/faults.py: neutron_error``. Here: the status-named types (BadRequest, NotFound, Conflict,
InUse...) the resource errors derive from, policy and admin refusals, revision numbers, tags, extensions.
"""

from __future__ import annotations

from onestack.core.api.faults import ApiError


class NeutronError(ApiError):
    """Base: the subclass name is the ``type`` clients see (``NetworkNotFound``, ``OverQuota``…)."""


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


class HTTPForbidden(NeutronError):
    status = 403


class PolicyNotAuthorized(NeutronError):
    status = 403

    def __init__(self, action: str) -> None:
        super().__init__(f"({action}) is disallowed by policy")


class AdminRequired(NeutronError):
    status = 403

    def __init__(self, reason: str) -> None:
        super().__init__(f"User does not have admin privileges: {reason}.")


class NotAuthorized(NeutronError):
    status = 403

    def __init__(self) -> None:
        super().__init__("Not authorized.")


class HTTPNotFound(NeutronError):
    status = 404


class NotFound(NeutronError):
    status = 404


class ExtensionNotFound(NotFound):
    def __init__(self, alias: str) -> None:
        super().__init__(f"Extension with alias {alias} does not exist.")


class TagNotFound(NotFound):
    def __init__(self, tag: str, resource_id: str) -> None:
        super().__init__(f"Tag {tag} could not be found for resource {resource_id}.")


class TagResourceNotFound(NotFound):
    pass


class Conflict(NeutronError):
    status = 409


class InUse(Conflict):
    pass


class RevisionNumberConstraintFailed(NeutronError):
    status = 412

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"Constrained to {expected}, but current revision is {current}")
