"""Read-only questions the API asks a host's agent about one guest (diagnostics).

Answers are JSON-safe dicts; the failures below are registered with the bus, so the API
catches them by class and maps them to Nova's status codes.
"""

from __future__ import annotations

from onestack.compute.agent.host import HostContext
from onestack.compute.rpcapi import DiagnosticsDict
from onestack.compute.virt.driver import InstanceNotFound, PowerState
from onestack.core.rpc import remote_error

# Nova's lower-case power state names, as its "in power state X" conflicts print them.
POWER_STATE_NAMES = {PowerState.NOSTATE: "pending", PowerState.RUNNING: "running", PowerState.PAUSED: "paused",
                     PowerState.SHUTDOWN: "shutdown", PowerState.CRASHED: "crashed",
                     PowerState.SUSPENDED: "suspended"}


@remote_error
class InstanceInvalidState(Exception):
    """The guest is not in a power state that can answer (Nova: only RUNNING guests can);
    the message is the power state's name."""


@remote_error
class InstanceNotReady(Exception):
    """The hypervisor here does not know the guest (not built yet, or already gone)."""


class GuestInfo:
    """The agent's diagnostics part."""

    def __init__(self, agent: HostContext) -> None:
        self.agent = agent

    async def get_diagnostics(self, uuid: str) -> DiagnosticsDict:
        """The guest's diagnostics in the 2.48 shape (``Diagnostics.as_api_dict``)."""
        driver = self.agent.driver
        try:
            state = await driver.get_power_state(uuid)
            if state != PowerState.RUNNING:
                raise InstanceInvalidState(POWER_STATE_NAMES.get(state, state.name.lower()))
            diagnostics = await driver.get_diagnostics(uuid)
        except InstanceNotFound:
            raise InstanceNotReady(uuid) from None
        return diagnostics.as_api_dict()
