"""Telling compute a port was wired: Neutron's nova notifier (``network-vif-plugged``).

When a port of a server (device_owner ``compute:*``) goes ACTIVE, the server POSTs
``/v2.1/os-server-external-events`` to compute as the service user (contracts.md item 3), so a
booting server waiting for its VIFs goes ACTIVE. Delivery is best effort, as in Neutron: a
failure is logged; compute's own timeout (``compute.vif_plugging_timeout``) covers a lost event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from onestack.network.service.port_status import Changed

log = logging.getLogger("onestack.network.nova_notifier")


class Session(Protocol):
    async def request(self, method: str, path: str, *, service: str, **kwargs: Any) -> Any: ...


def vif_plugged_events(changed: Sequence[Changed]) -> list[dict[str, str]]:
    """The events for ports that went ACTIVE: one per server port (others have no one to tell)."""
    return [{"name": "network-vif-plugged", "server_uuid": c.device_id, "tag": c.port_id, "status": "completed"}
            for c in changed if c.device_owner.startswith("compute:") and c.device_id]


async def send(session: Session | None, events: list[dict[str, str]]) -> None:
    if not events or session is None:
        return
    try:
        resp = await session.request("POST", "/os-server-external-events", service="compute",
                                     json={"events": events})
    except Exception as exc:  # noqa: BLE001 - no compute in this cloud, or it is away: best effort
        log.warning("network-vif-plugged for %d port(s) not delivered: %s", len(events), exc)
        return
    # 404: none of the servers exists any more (deleted meanwhile) — nothing to tell.
    if resp.status_code not in (200, 207, 404):
        log.warning("compute refused network-vif-plugged (%s): %s", resp.status_code, resp.text[:200])
