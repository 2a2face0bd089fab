"""Conductor endpoints for actions that span hosts: resize, cold and live migration, evacuation."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onestack.compute.conductor.manager import ConductorManager


def register(conductor: ConductorManager) -> None:
    """Add this module's endpoints to ``conductor.extra``."""
    return None
