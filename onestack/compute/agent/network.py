"""The seam where the network service wires a server's ports in (its issue fills it)."""

from __future__ import annotations

from typing import Any, Protocol

from onestack.compute.virt.driver import NetworkInfo


class NetworkSeam(Protocol):
    async def allocate(self, instance: dict[str, Any]) -> NetworkInfo:
        """Create or bind the server's ports on this host; the driver plugs what this returns."""
        ...

    async def deallocate(self, instance: dict[str, Any]) -> None:
        """Unbind and delete the ports ``allocate`` made. Idempotent."""
        ...


class NoNetwork:
    """No network service yet: servers boot with no ports (``networks: none`` semantics)."""

    async def allocate(self, instance: dict[str, Any]) -> NetworkInfo:
        return []

    async def deallocate(self, instance: dict[str, Any]) -> None:
        return None
