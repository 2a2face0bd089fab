"""Server actions on the host: power, pause, suspend, rescue, snapshot, resize, migrations, consoles.

Each is a small coroutine registered as an agent endpoint by ``register``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onestack.compute.agent.manager import ComputeAgent


def register(agent: ComputeAgent) -> None:
    """Add this module's endpoints to the agent."""
    return None
