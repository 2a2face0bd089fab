"""(placeholder: filled in by the servers work)"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onestack.compute.conductor.manager import ConductorManager


def register(conductor: ConductorManager) -> None:
    """Add this module's endpoints to ``conductor.extra``."""
    return None
