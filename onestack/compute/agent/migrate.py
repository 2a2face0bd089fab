"""(placeholder: filled in by the servers work)"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onestack.compute.agent.manager import ComputeAgent


def register(agent: ComputeAgent) -> None:
    """Add this module's endpoints to ``agent.extra``."""
    return None
