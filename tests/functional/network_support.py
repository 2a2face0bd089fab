"""What the network tests share: a raw HTTP client on /networking with a project's token, and the
settings of the network agent tests' clouds."""

from __future__ import annotations

from typing import Any

import httpx

from tests.functional.cloud import RunningCloud


def neutron(cloud: RunningCloud, name: str = "devstack") -> httpx.Client:
    """httpx on ``<cloud>/networking`` with ``name``'s token (for status codes and raw bodies)."""
    token = cloud.sdk(name).auth_token
    return httpx.Client(base_url=f"{cloud.base_url}/networking", headers={"X-Auth-Token": token}, timeout=30)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``NeutronError`` object of an error response."""
    body: dict[str, Any] = response.json()["NeutronError"]
    assert set(body) == {"type", "message", "detail"}, body
    return body


# The network agent tests' clouds (test_network_agent.py, test_network_availability_zones.py): agents
# report every second and are dead after DOWN_TIME seconds, reconcile every 2 s, and each network's
# DHCP is served by two agents where two are alive.
DOWN_TIME = 4


def agents_cloud_env(host: str) -> dict[str, str]:
    """The settings of a network agent test's cloud (on a bus of its own: agent_process.bus_cloud)
    whose own compute (and network agent) host is ``host``."""
    return {
        "ONESTACK_NETWORK__REPORT_INTERVAL": "1",
        "ONESTACK_NETWORK__AGENT_DOWN_TIME": str(DOWN_TIME),
        "ONESTACK_NETWORK__RECONCILE_INTERVAL": "2",
        "ONESTACK_NETWORK__DHCP_AGENTS_PER_NETWORK": "2",
        "ONESTACK_COMPUTE__HOST_NAME": host,
    }
