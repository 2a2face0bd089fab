"""Read-only questions the API asks a host's agent about one guest (diagnostics).

Answers are JSON-safe dicts; failures travel back as RemoteError whose ``kind`` is the class
name of the exception raised here, so the API can map them to Nova's status codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from onestack.compute.virt.driver import InstanceNotFound, PowerState

if TYPE_CHECKING:
    from onestack.compute.agent.manager import ComputeAgent

# Nova's lower-case power state names, as its "in power state X" conflicts print them.
POWER_STATE_NAMES = {PowerState.NOSTATE: "pending", PowerState.RUNNING: "running", PowerState.PAUSED: "paused",
                     PowerState.SHUTDOWN: "shutdown", PowerState.CRASHED: "crashed",
                     PowerState.SUSPENDED: "suspended"}


class InstanceInvalidState(Exception):
    """The guest is not in a power state that can answer (Nova: only RUNNING guests can)."""


class InstanceNotReady(Exception):
    """The hypervisor here does not know the guest (not built yet, or already gone)."""


def register(agent: ComputeAgent) -> None:
    """Add this module's endpoints to ``agent.extra``."""

    async def get_diagnostics(uuid: str) -> dict[str, Any]:
        """The guest's diagnostics in the 2.48 shape (``Diagnostics.as_api_dict``)."""
        try:
            state = await agent.driver.get_power_state(uuid)
            if state != PowerState.RUNNING:
                raise InstanceInvalidState(POWER_STATE_NAMES.get(state, state.name.lower()))
            diagnostics = await agent.driver.get_diagnostics(uuid)
        except InstanceNotFound:
            raise InstanceNotReady(uuid) from None
        return diagnostics.as_api_dict()

    agent.extra["get_diagnostics"] = get_diagnostics
