"""The block-storage operator resources on a running cloud: os-services (and their switches),
availability zones, pools, capabilities, os-hosts, user messages, extensions, resource filters.

The service and pool rows are what the volume agents' reports leave in the database
(server_rpc's report_state); here they are written as such a report would, with one stale
backend to see a service go down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from onestack.volume import models
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.volume_catalog_support import client, fault, project_of, unique
from tests.functional.volume_support import cinder, create_volume, wait_gone, wait_volume


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@pytest.fixture(scope="module")
def hosts(cloud: RunningCloud) -> dict[str, str]:
    """A live backend with one pool in zone ``nova``, and a stale one in zone ``az-stale``."""
    node = unique("node")
    live, stale = f"{node}@file-1", f"{node}@file-2"
    fresh, old = _now(), _now() - timedelta(hours=1)
    with cloud.engine() as engine, Session(engine) as s, s.begin():
        next_id = (s.scalar(select(func.max(models.VolumeService.id))) or 0) + 1
        rows = [(live, "cinder-volume", "nova", fresh), (stale, "cinder-volume", "az-stale", old),
                (node, "cinder-scheduler", "nova", fresh)]
        for i, (host, binary, zone, at) in enumerate(rows):
            s.add(models.VolumeService(host=host, binary=binary, id=next_id + i, availability_zone=zone,
                                       disabled=False, frozen=False, replication_status="disabled",
                                       agent_host=node, created_at=at, updated_at=at))
        s.add(models.Pool(name=f"{live}#file-1", backend_host=live, agent_host=node, availability_zone="nova",
                          total_capacity_gb=100.0, free_capacity_gb=80.0, allocated_capacity_gb=0.0,
                          provisioned_capacity_gb=0.0, reserved_percentage=0, max_over_subscription_ratio=20.0,
                          thin_provisioning_support=True, thick_provisioning_support=False, updated_at=fresh,
                          capabilities={"volume_backend_name": "file-1", "storage_protocol": "file",
                                        "vendor_name": "onestack", "driver_version": "1.0.0"}))
    return {"node": node, "live": live, "stale": stale}


@pytest.fixture(scope="module")
def adm(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with client(cloud) as c:
        yield c


@pytest.fixture(scope="module")
def mem(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with client(cloud, "devstack") as c:
        yield c


def _services(adm: httpx.Client, **params: str) -> list[dict[str, Any]]:
    r = adm.get("/os-services", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["services"])


def test_list_services(cloud: RunningCloud, adm: httpx.Client, mem: httpx.Client, hosts: dict[str, str]) -> None:
    mine = {s["host"]: s for s in _services(adm, host=hosts["node"])}
    assert set(mine) == {hosts["live"], hosts["stale"], hosts["node"]}
    live = mine[hosts["live"]]
    assert (live["binary"], live["zone"], live["status"], live["state"]) == ("cinder-volume", "nova", "enabled", "up")
    assert live["frozen"] is False and live["replication_status"] == "disabled" and live["cluster"] is None
    assert live["backend_state"] == "up"
    assert mine[hosts["stale"]]["state"] == "down" and mine[hosts["stale"]]["backend_state"] == "down"
    assert "frozen" not in mine[hosts["node"]]
    assert [s["host"] for s in _services(adm, host=hosts["node"], binary="cinder-scheduler")] == [hosts["node"]]
    with client(cloud, version="3.0") as old:
        first = old.get("/os-services", params={"host": hosts["live"]}).json()["services"][0]
        assert "cluster" not in first and "backend_state" not in first
    fault(mem.get("/os-services"), "forbidden", 403)


def test_enable_disable(adm: httpx.Client, mem: httpx.Client, hosts: dict[str, str]) -> None:
    body = {"host": hosts["live"], "binary": "cinder-volume"}
    r = adm.put("/os-services/disable-log-reason", json={**body, "disabled_reason": "maintenance"})
    assert r.status_code == 200, r.text
    assert r.json() == {"disabled": True, "status": "disabled", "host": hosts["live"], "service": "",
                        "binary": "cinder-volume", "disabled_reason": "maintenance"}
    svc = _services(adm, host=hosts["live"])[0]
    assert svc["status"] == "disabled" and svc["disabled_reason"] == "maintenance"
    r = adm.put("/os-services/enable", json=body)
    assert r.json()["disabled"] is False and r.json()["disabled_reason"] is None
    assert _services(adm, host=hosts["live"])[0]["status"] == "enabled"
    r = adm.put("/os-services/disable", json=body)
    assert r.json() == {"disabled": True, "status": "disabled", "host": hosts["live"], "service": "",
                        "binary": "cinder-volume"}
    adm.put("/os-services/enable", json=body).raise_for_status()
    fault(adm.put("/os-services/disable-log-reason", json={**body, "disabled_reason": "x" * 300}), "badRequest", 400)
    fault(adm.put("/os-services/enable", json={"binary": "cinder-volume"}), "badRequest", 400)
    fault(adm.put("/os-services/enable", json={"host": "no-such-host", "binary": "cinder-volume"}),
          "itemNotFound", 404)
    fault(adm.put("/os-services/explode", json=body), "badRequest", 400)
    fault(mem.put("/os-services/disable", json=body), "forbidden", 403)
    assert _services(adm, host=hosts["live"])[0]["status"] == "enabled"


def test_freeze_thaw_failover_logs(adm: httpx.Client, hosts: dict[str, str]) -> None:
    assert adm.put("/os-services/freeze", json={"host": hosts["live"]}).status_code == 200
    assert _services(adm, host=hosts["live"])[0]["frozen"] is True
    assert adm.put("/os-services/thaw", json={"host": hosts["live"]}).status_code == 200
    assert _services(adm, host=hosts["live"])[0]["frozen"] is False
    fault(adm.put("/os-services/freeze", json={"host": "no-such-host"}), "badRequest", 400)
    # The file backends replicate nowhere.
    fault(adm.put("/os-services/failover_host", json={"host": hosts["live"]}), "badRequest", 400)
    assert adm.put("/os-services/set-log", json={"level": "DEBUG", "prefix": "onestack.volume"}).status_code == 202
    levels = adm.put("/os-services/get-log", json={"server": hosts["live"], "prefix": "onestack.volume"}).json()
    entry = levels["log_levels"][0]
    assert entry["host"] == hosts["live"] and entry["levels"]["onestack.volume"] == "DEBUG"
    adm.put("/os-services/set-log", json={"level": "INFO", "prefix": "onestack.volume"}).raise_for_status()
    fault(adm.put("/os-services/set-log", json={"level": "LOUD"}), "badRequest", 400)


def test_availability_zones(mem: httpx.Client, hosts: dict[str, str]) -> None:
    zones = {z["zoneName"]: z["zoneState"]["available"]
             for z in mem.get("/os-availability-zone").json()["availabilityZoneInfo"]}
    assert zones["nova"] is True and zones["az-stale"] is False


@pytest.mark.parametrize("key", ["volume_backend_name", "capabilities:volume_backend_name"])
def test_pools_of_a_volume_type(adm: httpx.Client, hosts: dict[str, str], key: str) -> None:
    """get_pools?volume_type= (3.35) keeps the pools of the type's backend, named by the bare or
    the scoped key."""
    pool = f"{hosts['live']}#file-1"
    for backend, listed in (("file-1", True), ("no-such-backend", False)):
        made = adm.post("/types", json={"volume_type": {"name": unique("pooled"), "extra_specs": {key: backend}}})
        assert made.status_code == 200, made.text
        type_id = made.json()["volume_type"]["id"]
        try:
            r = adm.get("/scheduler-stats/get_pools", params={"volume_type": type_id})
            assert r.status_code == 200, r.text
            names = [p["name"] for p in r.json()["pools"]]
            assert (pool in names) is listed and (listed or names == []), (backend, names)
        finally:
            adm.delete(f"/types/{type_id}")


def test_pools_and_capabilities(adm: httpx.Client, mem: httpx.Client, hosts: dict[str, str]) -> None:
    pool = f"{hosts['live']}#file-1"
    assert {"name": pool} in adm.get("/scheduler-stats/get_pools").json()["pools"]
    detail = adm.get("/scheduler-stats/get_pools", params={"detail": "true", "name": pool}).json()["pools"]
    assert len(detail) == 1
    caps = detail[0]["capabilities"]
    assert caps["total_capacity_gb"] == 100.0 and caps["free_capacity_gb"] == 80.0
    assert caps["volume_backend_name"] == "file-1" and caps["storage_protocol"] == "file"
    fault(adm.get("/scheduler-stats/get_pools", params={"bogus": "1"}), "badRequest", 400)
    fault(mem.get("/scheduler-stats/get_pools"), "forbidden", 403)
    shown = adm.get(f"/capabilities/{hosts['live']}").json()
    assert shown["namespace"] == f"OS::Storage::Capabilities::{hosts['live']}"
    assert shown["volume_backend_name"] == "file-1" and shown["replication_targets"] == []
    fault(adm.get("/capabilities/nowhere@none"), "itemNotFound", 404)
    fault(mem.get(f"/capabilities/{hosts['live']}"), "forbidden", 403)


def test_os_hosts(adm: httpx.Client, mem: httpx.Client, hosts: dict[str, str]) -> None:
    listed = {h["host_name"]: h for h in adm.get("/os-hosts").json()["hosts"]}
    live = listed[hosts["live"]]
    assert live["service"] == "cinder-volume" and live["service-status"] == "available"
    assert live["service-state"] == "enabled" and live["zone"] == "nova"
    assert listed[hosts["stale"]]["service-status"] == "unavailable"
    shown = adm.get(f"/os-hosts/{hosts['live']}").json()["host"]
    assert shown[0]["resource"] == {"host": hosts["live"], "project": "(total)", "volume_count": "0",
                                    "total_volume_gb": "0", "snapshot_count": "0", "total_snapshot_gb": "0"}
    fault(adm.get("/os-hosts/no-such-host"), "itemNotFound", 404)
    fault(mem.get("/os-hosts"), "forbidden", 403)


def _message(cloud: RunningCloud, project: str, **cols: Any) -> str:
    mid = str(uuid.uuid4())
    values = {"id": mid, "project_id": project, "request_id": f"req-{uuid.uuid4()}", "resource_type": "VOLUME",
              "resource_uuid": str(uuid.uuid4()), "event_id": "VOLUME_VOLUME_001_003", "message_level": "ERROR",
              "action_id": "001", "detail_id": "003", "created_at": _now(),
              "expires_at": _now() + timedelta(days=30), **cols}
    with cloud.engine() as engine, engine.begin() as db:
        db.execute(text(f"INSERT INTO volume_messages ({', '.join(values)}) "
                        f"VALUES ({', '.join(':' + k for k in values)})"), values)
    return mid


def test_messages(cloud: RunningCloud, adm: httpx.Client, mem: httpx.Client) -> None:
    demo, alt = project_of(cloud, "devstack"), project_of(cloud, "devstack-alt")
    mine = _message(cloud, demo)
    second = _message(cloud, demo, resource_type="SNAPSHOT", action_id="009", detail_id="013",
                      event_id="VOLUME_SNAPSHOT_009_013")
    theirs = _message(cloud, alt)
    listed = {m["id"] for m in mem.get("/messages").json()["messages"]}
    assert {mine, second} <= listed and theirs not in listed
    shown = mem.get(f"/messages/{mine}").json()["message"]
    assert shown["user_message"] == "schedule allocate volume: Could not find any available weighted backend."
    assert shown["event_id"] == "VOLUME_VOLUME_001_003" and shown["resource_type"] == "VOLUME"
    assert {link["rel"] for link in shown["links"]} == {"self", "bookmark"}
    snaps = {m["id"] for m in mem.get("/messages", params={"resource_type": "SNAPSHOT"}).json()["messages"]}
    assert second in snaps and mine not in snaps
    fault(mem.get("/messages", params={"colour": "red"}), "badRequest", 400)
    page = mem.get("/messages", params={"limit": 1}).json()
    assert len(page["messages"]) == 1 and page["messages_links"][0]["rel"] == "next"
    # Another project's message is not there for a member; an admin sees it.
    assert fault(mem.get(f"/messages/{theirs}"), "itemNotFound", 404) == f"Message {theirs} could not be found."
    fault(mem.delete(f"/messages/{theirs}"), "itemNotFound", 404)
    assert adm.get(f"/messages/{theirs}").status_code == 200
    with client(cloud, "devstack", version="3.2") as old:
        fault(old.get("/messages"), "itemNotFound", 404)
    assert mem.delete(f"/messages/{mine}").status_code == 204
    fault(mem.get(f"/messages/{mine}"), "itemNotFound", 404)


def test_extensions_and_resource_filters(cloud: RunningCloud, mem: httpx.Client) -> None:
    exts = mem.get("/extensions").json()["extensions"]
    aliases = {e["alias"] for e in exts}
    assert {"os-quota-sets", "qos-specs", "os-volume-type-access", "os-services"} <= aliases
    assert all(set(e) == {"name", "alias", "description", "updated", "links"} for e in exts)
    filters = mem.get("/resource_filters").json()["resource_filters"]
    assert {"resource": "volume_type", "filters": ["is_public"]} in filters
    only = mem.get("/resource_filters", params={"resource": "message"}).json()["resource_filters"]
    assert [f["resource"] for f in only] == ["message"]
    with client(cloud, "devstack", version="3.32") as old:
        fault(old.get("/resource_filters"), "itemNotFound", 404)


def test_the_running_agent_reports(cloud: RunningCloud, adm: httpx.Client) -> None:
    """The cloud's own volume agent: its backend is an up cinder-volume service with a pool."""
    def reported() -> list[dict[str, Any]]:
        return [s for s in _services(adm, binary="cinder-volume") if s["state"] == "up" and "@" in s["host"]
                and not s["host"].startswith("node-")]
    found = wait_until(reported, timeout=60, what="the volume agent's report")
    backend = found[0]["host"]
    pools = adm.get("/scheduler-stats/get_pools", params={"detail": "true"}).json()["pools"]
    mine = [p for p in pools if p["name"].startswith(f"{backend}#")]
    assert mine and mine[0]["capabilities"]["total_capacity_gb"] > 0
    assert adm.get(f"/capabilities/{backend}").json()["namespace"] == f"OS::Storage::Capabilities::{backend}"
    assert found[0]["host"].split("@")[0] in {h["host_name"].split("@")[0] for h in adm.get("/os-hosts").json()["hosts"]}


def test_a_real_user_message(cloud: RunningCloud, adm: httpx.Client, mem: httpx.Client) -> None:
    """Tempest's way to get one: a type no backend can serve, a volume that goes to error."""
    bogus = adm.post("/types", json={"volume_type": {"name": unique("bogus"),
                                                     "extra_specs": {"vendor_name": "nobody"}}}).json()["volume_type"]
    with cinder(cloud, "devstack") as demo:
        vol = create_volume(demo, size=1, volume_type=bogus["id"])
        wait_volume(demo, vol["id"], "error")

        def message() -> dict[str, Any] | None:
            return next((m for m in mem.get("/messages").json()["messages"] if m.get("resource_uuid") == vol["id"]),
                        None)

        found = wait_until(message, timeout=30, what="the user message")
        assert found["user_message"] == "schedule allocate volume: Could not find any available weighted backend."
        assert found["resource_type"] == "VOLUME" and found["message_level"] == "ERROR"
        assert mem.delete(f"/messages/{found['id']}").status_code == 204
        demo.delete(f"volumes/{vol['id']}")
        wait_gone(demo, vol["id"])
