"""The object-storage service's messages on the bus, declared once.

One topic, ``object-server`` (``ObjectServerAPI``): what object agents tell the side with the
database (the proxy's processes, ``server_rpc.py``) — their devices, the ring they should use,
and the container updates of the objects they wrote or deleted (Swift's object servers send
those to container servers; ours go to the one database). Agents hold no database credentials.

Object data never travels on the bus: the proxy and the replicators reach an agent's devices
through its object server (``obj/client.py``: in-process, or HTTP to the address the ring records).
"""

# The declarations have no bodies: core.rpc sends the message instead of running them.
# mypy: disable-error-code="empty-body"

from __future__ import annotations

from typing import Any, TypedDict

from onestack.core.rpc import RpcAPI, call


class ContainerUpdate(TypedDict):
    """One object's new state for its container's listing (Swift's container update)."""

    account: str
    container: str
    obj: str
    op: str  # "PUT" or "DELETE"
    timestamp: str  # the object's X-Timestamp (internal form)
    size: int
    etag: str
    content_type: str
    delete_at: float | None
    extra: dict[str, Any]  # listing extras: symlink_path, slo, swift_bytes


class DeviceReport(TypedDict):
    device: str
    zone: int
    region: int
    ip: str
    port: int  # the agent's object server; 0 when it serves in-process only
    weight: float


class ObjectServerAPI(RpcAPI):
    topic = "object-server"
    version = "1.0"

    @call
    async def update_container(self, update: ContainerUpdate) -> None:
        """Record the object's state in its container's listing (ignored when older than the row)."""

    @call
    async def report_devices(self, host: str, devices: list[DeviceReport]) -> dict[str, Any]:
        """A heartbeat: the host's devices join (or stay in) the ring; answers the current ring
        (``Ring.to_dict()``), rebuilt first when a device is new."""

    @call
    async def get_ring(self) -> dict[str, Any]:
        """The current ring (``Ring.to_dict()``)."""
