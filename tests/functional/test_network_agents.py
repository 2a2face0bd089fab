"""The agents API and availability zones over the network agents of the running cloud (those of
the one compute host, started by ``onestack up``), plus one agent row of a host retired long ago (written as
an agent's last heartbeat would have left it) for what a live agent cannot show: not alive,
disabled, deleted."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.network_support import error_of, neutron

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


@pytest.fixture
def retired(cloud: RunningCloud) -> Iterator[str]:
    """An agent row whose heartbeat stopped an hour ago."""
    agent_id = str(uuid.uuid4())
    then = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
    with cloud.engine() as engine, engine.begin() as db:
        db.execute(text(
            "INSERT INTO network_agents (id, agent_type, \"binary\", topic, host, availability_zone, admin_state_up,"
            " configurations, description, created_at, started_at, heartbeat_timestamp) VALUES (:id, 'DHCP agent',"
            " 'neutron-dhcp-agent', 'dhcp_agent', :host, 'nova', true, '{}', NULL, :t, :t, :t)"),
            {"id": agent_id, "host": f"retired-{agent_id[:8]}", "t": then})
    yield agent_id
    with cloud.engine() as engine, engine.begin() as db:
        db.execute(text("DELETE FROM network_agents WHERE id = :id"), {"id": agent_id})


def _agents(http: Any, **params: Any) -> list[dict[str, Any]]:
    r = http.get("/v2.0/agents", params=params)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["agents"]
    return found


def test_live_agents_listed_for_admins(cloud: RunningCloud) -> None:
    http, host = neutron(cloud, "devstack-admin"), cloud.compute_host()
    live = wait_until(lambda: _agents(http, host=host), timeout=30, what=f"{host}'s agents")
    for agent in live:
        assert agent["alive"] is True and agent["admin_state_up"] is True and agent["host"] == host
        assert {"id", "agent_type", "binary", "topic", "availability_zone", "configurations", "description",
                "created_at", "started_at", "heartbeat_timestamp", "resources_synced"} <= set(agent)
        assert isinstance(agent["configurations"], dict)
        assert all(STAMP.match(agent[k]) for k in ("created_at", "started_at", "heartbeat_timestamp"))
        shown = http.get(f"/v2.0/agents/{agent['id']}").json()["agent"]
        assert shown["id"] == agent["id"] and shown["alive"] is True
    kind = live[0]["agent_type"]
    assert {a["id"] for a in _agents(http, agent_type=kind, host=host)} == \
        {a["id"] for a in live if a["agent_type"] == kind}
    assert all(a["alive"] for a in _agents(http, alive="true"))
    assert http.get("/v2.0/agents?bogus=1").status_code == 400
    listed = cloud.cli("network agent list", "--host", host)
    assert {a["ID"] for a in listed} == {a["id"] for a in live}


def test_description_of_a_live_agent(cloud: RunningCloud) -> None:
    http, host = neutron(cloud, "devstack-admin"), cloud.compute_host()
    agent = wait_until(lambda: _agents(http, host=host), timeout=30, what=f"{host}'s agents")[0]
    r = http.put(f"/v2.0/agents/{agent['id']}", json={"agent": {"description": "rack 4"}})
    assert r.status_code == 200 and r.json()["agent"]["description"] == "rack 4"
    assert http.get(f"/v2.0/agents/{agent['id']}").json()["agent"]["description"] == "rack 4"
    http.put(f"/v2.0/agents/{agent['id']}", json={"agent": {"description": None}})


def test_a_retired_agent_is_not_alive_and_may_go(cloud: RunningCloud, retired: str) -> None:
    http = neutron(cloud, "devstack-admin")
    shown = http.get(f"/v2.0/agents/{retired}").json()["agent"]
    assert shown["alive"] is False
    assert retired in [a["id"] for a in _agents(http, alive="false")]
    assert retired not in [a["id"] for a in _agents(http, alive="true")]
    r = http.put(f"/v2.0/agents/{retired}", json={"agent": {"admin_state_up": False}})
    assert r.status_code == 200 and r.json()["agent"]["admin_state_up"] is False
    for body in ({"agent": {"host": "elsewhere"}}, {"agent": {"alive": True}}, {"agent": {"admin_state_up": "x"}},
                 {"agent": {"bogus": 1}}):
        r = http.put(f"/v2.0/agents/{retired}", json=body)
        assert r.status_code == 400, (body, r.text)
    assert http.get(f"/v2.0/agents/{retired}").json()["agent"]["host"] == shown["host"]
    assert http.delete(f"/v2.0/agents/{retired}").status_code == 204
    r = http.get(f"/v2.0/agents/{retired}")
    assert r.status_code == 404 and error_of(r)["type"] == "AgentNotFound"


def test_agents_hidden_from_non_admins(cloud: RunningCloud, retired: str) -> None:
    http = neutron(cloud)
    assert _agents(http) == []
    for method, body in (("GET", None), ("PUT", {"agent": {"description": "x"}}), ("DELETE", None)):
        r = http.request(method, f"/v2.0/agents/{retired}", json=body)
        assert r.status_code == 404 and error_of(r)["type"] == "AgentNotFound", (method, r.text)
    assert neutron(cloud, "devstack-admin").get(f"/v2.0/agents/{retired}").status_code == 200


def test_availability_zones(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    zones = http.get("/v2.0/availability_zones").json()["availability_zones"]
    assert {"name": "nova", "resource": "network", "state": "available"} in zones
    assert {"name": "nova", "resource": "router", "state": "available"} in zones
    routers = http.get("/v2.0/availability_zones?resource=router&fields=name").json()["availability_zones"]
    assert routers == [{"name": "nova"}]
    assert http.get("/v2.0/availability_zones?bogus=1").status_code == 400
    assert {z.name for z in demo.network.availability_zones()} == {"nova"}


def test_extensions_declared(demo: Any) -> None:
    aliases = {e.alias for e in demo.network.extensions()}
    assert {"agent", "availability_zone"} <= aliases
