"""Operator compute APIs on three simulated hosts: services, hypervisors, aggregates, zones, usage,
os-hosts and the usage audit log.

Driven through the ``openstack`` CLI as an operator would, and raw HTTP for microversion
details and error answers.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call as compute_call
from tests.functional.compute_support import module_cloud

ENV = {
    "ONESTACK_COMPUTE__HOSTS": "3",
    # Agents report every second so hypervisor usage follows boots quickly.
    "ONESTACK_COMPUTE__REPORT_INTERVAL": "1",
}
HOSTS = ["compute-1", "compute-2", "compute-3"]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


ccloud = module_cloud("compute-operator", ENV)


@pytest.fixture(scope="module")
def image_id(cadmin: Any) -> str:
    return str(cadmin.image.find_image("onestack-tiny-x86_64-disk").id)


def call(conn: Any, method: str, path: str, body: Any = None, mv: str | None = None) -> Any:
    """compute_support.call with the body before the microversion, the order this module's tests use."""
    return compute_call(conn, method, path, mv, body)


def error(resp: Any, status: int) -> str:
    assert resp.status_code == status, resp.text
    (body,) = resp.json().values()
    assert body["code"] == status
    return str(body["message"])


def services(conn: Any, mv: str = "2.53", query: str = "") -> list[dict[str, Any]]:
    resp = call(conn, "GET", f"/os-services{query}", mv=mv)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["services"])


def compute_service(conn: Any, host: str) -> dict[str, Any]:
    (found,) = services(conn, query=f"?host={host}&binary=nova-compute")
    return found


def set_status(conn: Any, host: str, disabled: bool) -> None:
    body = {"status": "disabled" if disabled else "enabled"}
    resp = call(conn, "PUT", f"/os-services/{compute_service(conn, host)['id']}", body, mv="2.53")
    assert resp.status_code == 200, resp.text


def boot(conn: Any, image: str, az: str | None = None, name: str | None = None) -> str:
    server: dict[str, Any] = {"name": name or f"op-{uuid.uuid4().hex[:8]}", "imageRef": image, "flavorRef": "1"}
    if az:
        server["availability_zone"] = az
    resp = call(conn, "POST", "/servers", {"server": server})
    assert resp.status_code == 202, resp.text
    return str(resp.json()["server"]["id"])


def active(admin: Any, server_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        server: dict[str, Any] = call(admin, "GET", f"/servers/{server_id}", mv="2.96").json()["server"]
        assert server["status"] != "ERROR", server.get("fault")
        return server if server["status"] == "ACTIVE" else None

    return dict(wait_until(done, timeout=30, what=f"server {server_id} ACTIVE"))


def delete_servers(conn: Any, admin: Any, ids: list[str]) -> None:
    for server_id in ids:
        call(conn, "DELETE", f"/servers/{server_id}")
    wait_until(lambda: all(call(admin, "GET", f"/servers/{i}").status_code == 404 for i in ids),
               timeout=30, what="servers deleted")


# --- os-services ----------------------------------------------------------------------------

def test_service_list_cli_and_versions(ccloud: RunningCloud, cadmin: Any, cdemo: Any) -> None:
    listed = ccloud.cli("compute", "service", "list")
    by_binary = {(r["Binary"], r["Host"]): r for r in listed}
    for host in HOSTS:
        row = by_binary[("nova-compute", host)]
        assert row["Zone"] == "nova" and row["Status"] == "enabled" and row["State"] == "up"
    # One row each, on the process's host (the machine's name: test_compute_host_name.py).
    (central,) = {h for (b, h) in by_binary if b == "nova-conductor"}
    assert central not in HOSTS
    for binary in ("nova-conductor", "nova-scheduler"):
        row = by_binary[(binary, central)]
        assert row["Zone"] == "internal" and row["State"] == "up"
    old = services(cadmin, mv="2.1")
    assert all(isinstance(s["id"], int) and "forced_down" not in s for s in old)
    assert set(old[0]) == {"id", "binary", "host", "zone", "status", "state", "updated_at", "disabled_reason"}
    assert all(s["forced_down"] is False for s in services(cadmin, mv="2.11"))
    new = services(cadmin)
    assert all(UUID_RE.match(s["id"]) and TIME_RE.match(s["updated_at"]) for s in new)
    # Nova lists services by id; the agents register concurrently, so ids need not follow host names.
    computes = services(cadmin, mv="2.52", query="?binary=nova-compute")
    assert sorted(s["host"] for s in computes) == HOSTS and len(computes) == len(HOSTS)
    assert [s["id"] for s in computes] == sorted(s["id"] for s in computes)
    assert [s["host"] for s in services(cadmin, query="?binary=nova-compute")] == [s["host"] for s in computes]
    assert [s["binary"] for s in services(cadmin, query=f"?host={central}")] == ["nova-conductor", "nova-scheduler"]
    assert services(cadmin, query="?host=nowhere") == []
    # 2.75 refuses unknown query parameters; older versions ignore them.
    assert len(services(cadmin, mv="2.74", query="?bogus=1")) == 5
    error(call(cadmin, "GET", "/os-services?bogus=1", mv="2.75"), 400)
    error(call(cdemo, "GET", "/os-services"), 403)


def test_service_set_cli(ccloud: RunningCloud, cadmin: Any) -> None:
    ccloud.cli("compute", "service", "set", "--disable", "--disable-reason", "maintenance", "compute-3",
               "nova-compute", json_out=False)
    row = compute_service(cadmin, "compute-3")
    assert row["status"] == "disabled" and row["disabled_reason"] == "maintenance" and row["state"] == "up"
    ccloud.cli("compute", "service", "set", "--down", "compute-3", "nova-compute", json_out=False)
    row = compute_service(cadmin, "compute-3")
    assert row["forced_down"] is True and row["state"] == "down"
    hyp = {h["hypervisor_hostname"]: h for h in call(cadmin, "GET", "/os-hypervisors", mv="2.53").json()["hypervisors"]}
    assert hyp["compute-3"]["state"] == "down" and hyp["compute-3"]["status"] == "disabled"
    ccloud.cli("compute", "service", "set", "--up", "--enable", "compute-3", "nova-compute", json_out=False)
    row = compute_service(cadmin, "compute-3")
    assert row["status"] == "enabled" and row["disabled_reason"] is None and row["state"] == "up"
    assert row["forced_down"] is False


def test_service_legacy_actions(cadmin: Any, cdemo: Any) -> None:
    (scheduler,) = services(cadmin, query="?binary=nova-scheduler")
    body = {"host": "compute-2", "binary": "nova-compute"}
    resp = call(cadmin, "PUT", "/os-services/disable-log-reason", {**body, "disabled_reason": "test"})
    assert resp.json() == {"service": {**body, "status": "disabled", "disabled_reason": "test"}}
    assert call(cadmin, "PUT", "/os-services/enable", body).json() == {"service": {**body, "status": "enabled"}}
    assert call(cadmin, "PUT", "/os-services/disable", body).json() == {"service": {**body, "status": "disabled"}}
    assert compute_service(cadmin, "compute-2")["disabled_reason"] is None
    call(cadmin, "PUT", "/os-services/enable", body)
    down = call(cadmin, "PUT", "/os-services/force-down", {**body, "forced_down": True}, mv="2.11")
    assert down.json() == {"service": {**body, "forced_down": True}}
    up = call(cadmin, "PUT", "/os-services/force-down", {**body, "forced_down": "false"}, mv="2.11")
    assert up.json()["service"]["forced_down"] is False
    assert error(call(cadmin, "PUT", "/os-services/disable-log-reason", body), 400) == "Missing disabled reason field"
    assert error(call(cadmin, "PUT", "/os-services/force-down", body, mv="2.11"), 400) == "Missing forced_down field"
    assert error(call(cadmin, "PUT", "/os-services/force-down", body, mv="2.10"), 404) == "Unknown action"
    error(call(cadmin, "PUT", "/os-services/force-down", {**body, "forced_down": True}, mv="2.10"), 400)
    assert error(call(cadmin, "PUT", "/os-services/reboot", body), 404) == "Unknown action"
    assert "Only nova-compute services can be updated" in error(call(
        cadmin, "PUT", "/os-services/disable", {"host": scheduler["host"], "binary": "nova-scheduler"}), 400)
    assert error(call(cadmin, "PUT", "/os-services/disable", {"host": "nowhere", "binary": "nova-compute"}),
                 404) == "Could not find binary nova-compute on host nowhere."
    error(call(cadmin, "PUT", "/os-services/disable", {"host": "compute-2"}), 400)
    error(call(cdemo, "PUT", "/os-services/disable", body), 403)
    assert compute_service(cadmin, "compute-2")["status"] == "enabled"


def test_service_update_v253(cadmin: Any) -> None:
    svc = compute_service(cadmin, "compute-2")
    path = f"/os-services/{svc['id']}"
    resp = call(cadmin, "PUT", path, {"status": "disabled", "disabled_reason": "upgrade"}, mv="2.53")
    shown = resp.json()["service"]
    assert shown["id"] == svc["id"] and shown["status"] == "disabled" and shown["disabled_reason"] == "upgrade"
    assert shown["forced_down"] is False and shown["zone"] == "nova" and shown["host"] == "compute-2"
    assert "Specifying 'disabled_reason' with status 'enabled' is invalid." == error(
        call(cadmin, "PUT", path, {"status": "enabled", "disabled_reason": "x"}, mv="2.53"), 400)
    assert error(call(cadmin, "PUT", path, {}, mv="2.53"), 400).startswith("No updates were requested.")
    error(call(cadmin, "PUT", path, {"status": "sleeping"}, mv="2.53"), 400)
    error(call(cadmin, "PUT", path, {"host": "compute-2"}, mv="2.53"), 400)
    assert error(call(cadmin, "PUT", "/os-services/disable", {}, mv="2.53"), 400) == "Invalid uuid disable"
    missing = str(uuid.uuid4())
    assert error(call(cadmin, "PUT", f"/os-services/{missing}", {"status": "enabled"}, mv="2.53"),
                 404) == f"Service {missing} could not be found."
    scheduler = services(cadmin, query="?binary=nova-scheduler")[0]
    error(call(cadmin, "PUT", f"/os-services/{scheduler['id']}", {"status": "disabled"}, mv="2.53"), 400)
    back = call(cadmin, "PUT", path, {"status": "enabled", "forced_down": False}, mv="2.53").json()["service"]
    assert back["status"] == "enabled" and back["disabled_reason"] is None


def test_disabled_service_gets_no_new_servers(cadmin: Any, cdemo: Any, image_id: str) -> None:
    set_status(cadmin, "compute-1", disabled=True)
    set_status(cadmin, "compute-3", disabled=True)
    try:
        ids = [boot(cdemo, image_id) for _ in range(3)]
        assert {active(cadmin, i)["OS-EXT-SRV-ATTR:host"] for i in ids} == {"compute-2"}
    finally:
        set_status(cadmin, "compute-1", disabled=False)
        set_status(cadmin, "compute-3", disabled=False)
    # compute-2 hosts servers: its service cannot be deleted.
    svc = compute_service(cadmin, "compute-2")
    assert error(call(cadmin, "DELETE", f"/os-services/{svc['id']}", mv="2.53"), 409).startswith(
        "Unable to delete compute service that is hosting instances.")
    delete_servers(cdemo, cadmin, ids)


# --- os-hypervisors -------------------------------------------------------------------------

def test_hypervisors_cli(ccloud: RunningCloud) -> None:
    listed = ccloud.cli("hypervisor", "list")
    assert sorted(h["Hypervisor Hostname"] for h in listed) == HOSTS
    assert all(h["State"] == "up" and h["Hypervisor Type"] == "fake" for h in listed)
    shown = ccloud.cli("hypervisor", "show", "compute-1")
    assert shown["hypervisor_hostname"] == "compute-1" and shown["service_host"] == "compute-1"
    assert shown["state"] == "up" and shown["status"] == "enabled" and shown["load_average"]
    old = ccloud.cli("--os-compute-api-version", "2.87", "hypervisor", "show", "compute-1")
    assert old["vcpus"] == 64 and old["memory_mb"] == 131072 and old["cpu_info"]["arch"] == "x86_64"
    stats = ccloud.cli("hypervisor", "stats", "show")
    assert stats["count"] == 3 and stats["vcpus"] == 192 and stats["local_gb"] == 3 * 2048


def test_hypervisor_versions(cadmin: Any) -> None:
    old = call(cadmin, "GET", "/os-hypervisors/detail", mv="2.27").json()["hypervisors"]
    assert all(isinstance(h["id"], int) and isinstance(h["cpu_info"], str) for h in old)
    first = old[0]
    assert first["service"]["host"] == first["hypervisor_hostname"] and isinstance(first["service"]["id"], int)
    assert first["free_ram_mb"] == first["memory_mb"] - first["memory_mb_used"]
    assert {"current_workload", "running_vms", "disk_available_least", "local_gb_used"} <= set(first)
    mid = call(cadmin, "GET", f"/os-hypervisors/{first['id']}", mv="2.28").json()["hypervisor"]
    assert isinstance(mid["cpu_info"], dict) and mid["vcpus"] == 64
    new = call(cadmin, "GET", "/os-hypervisors/detail", mv="2.88").json()["hypervisors"]
    assert all(UUID_RE.match(h["id"]) and UUID_RE.match(h["service"]["id"]) for h in new)
    assert set(new[0]) == {"id", "hypervisor_hostname", "state", "status", "hypervisor_type", "hypervisor_version",
                           "host_ip", "service", "uptime"}
    assert " up " in new[0]["uptime"]
    uptime = call(cadmin, "GET", f"/os-hypervisors/{first['id']}/uptime", mv="2.1").json()["hypervisor"]
    assert uptime["id"] == first["id"] and "load average" in uptime["uptime"]
    error(call(cadmin, "GET", f"/os-hypervisors/{new[0]['id']}/uptime", mv="2.88"), 404)
    error(call(cadmin, "GET", "/os-hypervisors/statistics", mv="2.88"), 404)
    stats = call(cadmin, "GET", "/os-hypervisors/statistics", mv="2.87").json()["hypervisor_statistics"]
    assert stats["count"] == 3 and stats["memory_mb"] == 3 * 131072


def test_hypervisor_search_servers_and_paging(cadmin: Any, cdemo: Any, image_id: str) -> None:
    server_id = boot(cdemo, image_id, name="hyp-server")
    host = active(cadmin, server_id)["OS-EXT-SRV-ATTR:host"]
    found = call(cadmin, "GET", f"/os-hypervisors/{host}/servers", mv="2.52").json()["hypervisors"]
    assert found[0]["servers"] == [{"name": "hyp-server", "uuid": server_id}]
    searched = call(cadmin, "GET", "/os-hypervisors/compute/search", mv="2.52").json()["hypervisors"]
    assert sorted(h["hypervisor_hostname"] for h in searched) == HOSTS and len(searched) == len(HOSTS)
    assert [h["id"] for h in searched] == sorted(h["id"] for h in searched)  # by id, as Nova lists them
    # Host names match in any case, on every database (Nova's LIKE on MySQL's default collation).
    assert call(cadmin, "GET", "/os-hypervisors/COMPUTE/search", mv="2.52").json()["hypervisors"] == searched
    assert error(call(cadmin, "GET", "/os-hypervisors/nope/search", mv="2.52"),
                 404) == "No hypervisor matching 'nope' could be found."
    error(call(cadmin, "GET", "/os-hypervisors/compute/search", mv="2.53"), 404)
    listed = call(cadmin, "GET", f"/os-hypervisors?hypervisor_hostname_pattern={host}&with_servers=true",
                  mv="2.53").json()["hypervisors"]
    assert listed[0]["servers"][0]["uuid"] == server_id
    empty = [h for h in call(cadmin, "GET", "/os-hypervisors?with_servers=1", mv="2.75").json()["hypervisors"]
             if h["hypervisor_hostname"] != host]
    assert all(h["servers"] == [] for h in empty)
    shown = call(cadmin, "GET", f"/os-hypervisors/{listed[0]['id']}?with_servers=true", mv="2.88").json()["hypervisor"]
    assert shown["servers"] == [{"name": "hyp-server", "uuid": server_id}]
    wait_until(lambda: call(cadmin, "GET", f"/os-hypervisors/{listed[0]['id']}", mv="2.87").json()[
        "hypervisor"]["running_vms"] == 1, timeout=10, what="the node report to count the server")
    page = call(cadmin, "GET", "/os-hypervisors?limit=1", mv="2.53").json()
    assert len(page["hypervisors"]) == 1 and "marker=" in page["hypervisors_links"][0]["href"]
    rest = call(cadmin, "GET", f"/os-hypervisors?marker={page['hypervisors'][0]['id']}", mv="2.53").json()
    assert len(rest["hypervisors"]) == 2
    error(call(cadmin, "GET", f"/os-hypervisors?hypervisor_hostname_pattern={host}&limit=1", mv="2.53"), 400)
    error(call(cadmin, "GET", "/os-hypervisors?with_servers=maybe", mv="2.53"), 400)
    error(call(cadmin, "GET", "/os-hypervisors?marker=not-a-node", mv="2.53"), 400)
    assert error(call(cadmin, "GET", "/os-hypervisors/not-a-uuid", mv="2.53"), 400) == "Invalid uuid not-a-uuid"
    missing = str(uuid.uuid4())
    assert error(call(cadmin, "GET", f"/os-hypervisors/{missing}", mv="2.53"),
                 404) == f"Hypervisor with ID '{missing}' could not be found."
    error(call(cadmin, "GET", "/os-hypervisors/abc", mv="2.52"), 404)
    error(call(cdemo, "GET", "/os-hypervisors"), 403)
    error(call(cdemo, "GET", "/os-hypervisors/statistics"), 403)
    delete_servers(cdemo, cadmin, [server_id])


# --- os-aggregates and availability zones ---------------------------------------------------

def test_aggregates_cli_and_rules(ccloud: RunningCloud, cadmin: Any, cdemo: Any) -> None:
    created = ccloud.cli("aggregate", "create", "--zone", "az-rules", "agg-rules")
    agg_id = created["id"]
    assert created["availability_zone"] == "az-rules" and UUID_RE.match(created["uuid"])
    ccloud.cli("aggregate", "add", "host", "agg-rules", "compute-2")
    ccloud.cli("aggregate", "set", "--property", "ssd=true", "agg-rules", json_out=False)
    shown = call(cadmin, "GET", f"/os-aggregates/{agg_id}", mv="2.41").json()["aggregate"]
    assert shown["hosts"] == ["compute-2"] and shown["metadata"] == {"availability_zone": "az-rules", "ssd": "true"}
    assert shown["deleted"] is False and shown["deleted_at"] is None and TIME_RE.match(shown["created_at"])
    assert "uuid" not in call(cadmin, "GET", f"/os-aggregates/{agg_id}", mv="2.40").json()["aggregate"]
    assert compute_service(cadmin, "compute-2")["zone"] == "az-rules"
    # Placement sees the membership too.
    node = call(cadmin, "GET", "/os-hypervisors?hypervisor_hostname_pattern=compute-2", mv="2.53").json()
    rp = node["hypervisors"][0]["id"]
    aggs = cadmin.session.get(f"/resource_providers/{rp}/aggregates", endpoint_filter={"service_type": "placement"},
                              headers={"OpenStack-API-Version": "placement 1.19"}).json()
    assert aggs["aggregates"] == [shown["uuid"]]

    action = f"/os-aggregates/{agg_id}/action"
    assert error(call(cadmin, "POST", action, {"add_host": {"host": "nowhere"}}),
                 404) == "Compute host nowhere could not be found."
    assert error(call(cadmin, "POST", action, {"add_host": {"host": "compute-2"}}),
                 409) == f"Aggregate {agg_id} already has host compute-2."
    other = call(cadmin, "POST", "/os-aggregates", {"aggregate": {"name": "agg-other", "availability_zone": "az-x"}})
    assert other.status_code == 200 and set(other.json()["aggregate"]) == {
        "availability_zone", "created_at", "deleted", "deleted_at", "id", "name", "updated_at"}
    other_id = other.json()["aggregate"]["id"]
    assert "One or more hosts already in availability zone(s) ['az-rules']" in error(
        call(cadmin, "POST", f"/os-aggregates/{other_id}/action", {"add_host": {"host": "compute-2"}}), 409)
    plain = call(cadmin, "POST", "/os-aggregates", {"aggregate": {"name": "agg-plain"}}).json()["aggregate"]
    call(cadmin, "POST", f"/os-aggregates/{plain['id']}/action", {"add_host": {"host": "compute-2"}})
    assert "already in availability zone(s) ['az-rules']" in error(call(
        cadmin, "POST", f"/os-aggregates/{plain['id']}/action",
        {"set_metadata": {"metadata": {"availability_zone": "az-x"}}}), 400)
    assert "does not support empty named availability zone" in error(
        call(cadmin, "POST", action, {"set_metadata": {"metadata": {"availability_zone": ""}}}), 400)
    assert error(call(cadmin, "PUT", f"/os-aggregates/{other_id}", {"aggregate": {"name": "agg-rules"}}),
                 409) == "Aggregate agg-rules already exists."
    error(call(cadmin, "POST", "/os-aggregates", {"aggregate": {"name": "agg-rules"}}), 409)
    error(call(cadmin, "POST", "/os-aggregates", {"aggregate": {"name": "bad", "availability_zone": "a:b"}}), 400)
    error(call(cadmin, "POST", "/os-aggregates", {"aggregate": {}}), 400)
    error(call(cadmin, "PUT", f"/os-aggregates/{other_id}", {"aggregate": {}}), 400)
    assert "Host aggregate is not empty" in error(call(cadmin, "DELETE", f"/os-aggregates/{agg_id}"), 400)
    assert error(call(cadmin, "GET", "/os-aggregates/9999"), 404) == "Aggregate 9999 could not be found."
    assert error(call(cadmin, "GET", "/os-aggregates/abc"), 400) == "Invalid input received: id must be an integer"
    error(call(cadmin, "POST", action, {"reboot": {}}), 400)
    error(call(cdemo, "GET", "/os-aggregates"), 403)
    error(call(cdemo, "POST", "/os-aggregates", {"aggregate": {"name": "mine"}}), 403)

    renamed = call(cadmin, "PUT", f"/os-aggregates/{other_id}", {"aggregate": {"name": " agg-renamed "}})
    assert renamed.json()["aggregate"]["name"] == "agg-renamed"
    removed = call(cadmin, "POST", action, {"remove_host": {"host": "compute-2"}}).json()["aggregate"]
    assert removed["hosts"] == []
    assert error(call(cadmin, "POST", action, {"remove_host": {"host": "compute-2"}}),
                 404) == f"Cannot remove host compute-2 in aggregate {agg_id}"
    call(cadmin, "POST", f"/os-aggregates/{plain['id']}/action", {"remove_host": {"host": "compute-2"}})
    assert cadmin.session.get(f"/resource_providers/{rp}/aggregates", endpoint_filter={"service_type": "placement"},
                              headers={"OpenStack-API-Version": "placement 1.19"}).json()["aggregates"] == []
    for ident in (agg_id, other_id, plain["id"]):
        deleted = call(cadmin, "DELETE", f"/os-aggregates/{ident}")
        assert deleted.status_code == 200 and not deleted.content
    assert compute_service(cadmin, "compute-2")["zone"] == "nova"


def test_aggregate_image_cache(ccloud: RunningCloud, cadmin: Any, cdemo: Any) -> None:
    """2.81: the aggregate's hosts fetch the image into their cache before any boot needs it."""
    image = cadmin.image.create_image(name=f"cache-{uuid.uuid4().hex[:8]}", data=b"\1" * 8192, disk_format="raw",
                                      container_format="bare", visibility="public", wait=True)
    agg = call(cadmin, "POST", "/os-aggregates", {"aggregate": {"name": "agg-cache"}}).json()["aggregate"]
    path = f"/os-aggregates/{agg['id']}/images"
    cached = {host: ccloud.data_dir / "compute" / host / "images" / image.id for host in HOSTS}
    try:
        for host in ("compute-1", "compute-2"):
            call(cadmin, "POST", f"/os-aggregates/{agg['id']}/action", {"add_host": {"host": host}})
        body = {"cache": [{"id": image.id}]}
        assert error(call(cadmin, "POST", path, body, mv="2.80"), 404) == "The resource could not be found."
        error(call(cdemo, "POST", path, body, mv="2.81"), 403)
        bads: list[dict[str, Any]] = [
            {}, {"cache": []}, {"cache": [{"id": "not-a-uuid"}]}, {"cache": [{"id": image.id, "x": 1}]},
            {"cache": [image.id]}, {"cache": body["cache"], "other": 1}]
        for bad in bads:
            assert "Invalid input for field/attribute" in error(call(cadmin, "POST", path, bad, mv="2.81"), 400), bad
        assert error(call(cadmin, "POST", path, {"cache": body["cache"] * 2}, mv="2.81"),
                     400) == "Duplicate images in request"
        missing = str(uuid.uuid4())
        assert error(call(cadmin, "POST", path, {"cache": [{"id": missing}]}, mv="2.81"),
                     400) == f"Image {missing} could not be found."
        assert error(call(cadmin, "POST", "/os-aggregates/9999/images", body, mv="2.81"),
                     404) == "Aggregate 9999 could not be found."
        assert not any(p.exists() for p in cached.values())  # the refused requests cached nothing

        ccloud.cli("aggregate", "cache", "image", "agg-cache", image.id, json_out=False)
        wait_until(lambda: cached["compute-1"].exists() and cached["compute-2"].exists(), timeout=30,
                   what="image cached on the aggregate's hosts")
        assert cached["compute-1"].read_bytes() == b"\1" * 8192
        assert not cached["compute-3"].exists()  # not in the aggregate
    finally:
        for host in ("compute-1", "compute-2"):
            call(cadmin, "POST", f"/os-aggregates/{agg['id']}/action", {"remove_host": {"host": host}})
        call(cadmin, "DELETE", f"/os-aggregates/{agg['id']}")
        cadmin.image.delete_image(image.id)


def test_boot_into_aggregate_zone(ccloud: RunningCloud, cadmin: Any, cdemo: Any, image_id: str) -> None:
    created = ccloud.cli("aggregate", "create", "--zone", "az1", "agg1")
    ccloud.cli("aggregate", "add", "host", "agg1", "compute-3")
    zones = {z["Zone Name"]: z["Zone Status"] for z in ccloud.cli("availability", "zone", "list", cloud="devstack")}
    assert zones == {"az1": "available", "nova": "available"}
    ids = [boot(cdemo, image_id, az="az1") for _ in range(2)]
    for server_id in ids:
        server = active(cadmin, server_id)
        assert server["OS-EXT-SRV-ATTR:host"] == "compute-3" and server["OS-EXT-AZ:availability_zone"] == "az1"
    cli_view = ccloud.cli("server", "show", ids[0])
    assert cli_view["OS-EXT-SRV-ATTR:host"] == "compute-3"
    error(call(cdemo, "POST", "/servers", {"server": {"name": "x", "imageRef": image_id, "flavorRef": "1",
                                                      "availability_zone": "az-nowhere"}}), 400)
    # The zone of a host with servers cannot change under them.
    action = f"/os-aggregates/{created['id']}/action"
    assert "would change from 'az1' to 'None'" in error(
        call(cadmin, "POST", action, {"remove_host": {"host": "compute-3"}}), 409)
    assert "One or more hosts contain instances in this zone" in error(call(
        cadmin, "POST", action, {"set_metadata": {"metadata": {"availability_zone": "az9"}}}), 400)
    # Disabling the only host of az1 makes the zone unavailable.
    set_status(cadmin, "compute-3", disabled=True)
    try:
        listed = call(cdemo, "GET", "/os-availability-zone").json()["availabilityZoneInfo"]
        assert {"zoneName": "az1", "zoneState": {"available": False}, "hosts": None} in listed
    finally:
        set_status(cadmin, "compute-3", disabled=False)
    delete_servers(cdemo, cadmin, ids)
    ccloud.cli("aggregate", "remove", "host", "agg1", "compute-3")
    ccloud.cli("aggregate", "delete", "agg1", json_out=False)


def test_availability_zone_detail(ccloud: RunningCloud, cadmin: Any, cdemo: Any) -> None:
    listed = call(cdemo, "GET", "/os-availability-zone").json()["availabilityZoneInfo"]
    assert listed == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    detail = {z["zoneName"]: z for z in call(cadmin, "GET", "/os-availability-zone/detail").json()[
        "availabilityZoneInfo"]}
    assert set(detail) == {"nova", "internal"}
    assert sorted(detail["nova"]["hosts"]) == HOSTS
    compute = detail["nova"]["hosts"]["compute-1"]["nova-compute"]
    assert compute["available"] is True and compute["active"] is True and TIME_RE.match(compute["updated_at"])
    (central,) = detail["internal"]["hosts"]  # the conductor's and scheduler's host
    assert set(detail["internal"]["hosts"][central]) == {"nova-conductor", "nova-scheduler"}
    rows = ccloud.cli("availability", "zone", "list", "--long")
    assert {(r["Zone Name"], r["Host Name"], r["Service Name"]) for r in rows} >= {
        ("nova", "compute-2", "nova-compute"), ("internal", central, "nova-scheduler")}
    error(call(cdemo, "GET", "/os-availability-zone/detail"), 403)


# --- usage and limits -----------------------------------------------------------------------

def test_usage_and_limits(ccloud: RunningCloud, cadmin: Any, cdemo: Any, image_id: str) -> None:
    project = cdemo.current_project_id
    ids = [boot(cdemo, image_id, name=f"usage-{i}") for i in range(2)]
    for server_id in ids:
        active(cadmin, server_id)
    absolute = call(cdemo, "GET", "/limits").json()["limits"]["absolute"]
    assert absolute["totalInstancesUsed"] == 2 and absolute["totalCoresUsed"] == 2
    assert absolute["totalRAMUsed"] == 1024
    detail = call(cadmin, "GET", f"/os-quota-sets/{project}/detail").json()["quota_set"]
    assert detail["instances"]["in_use"] == 2 and detail["ram"]["in_use"] == 1024
    delete_servers(cdemo, cadmin, ids[1:])
    assert call(cdemo, "GET", "/limits").json()["limits"]["absolute"]["totalInstancesUsed"] == 1

    start = "2000-01-01T00:00:00"
    usage = call(cdemo, "GET", f"/os-simple-tenant-usage/{project}?start={start}").json()["tenant_usage"]
    assert usage["tenant_id"] == project and usage["total_hours"] > 0
    by_id = {u["instance_id"]: u for u in usage["server_usages"]}
    assert by_id[ids[0]]["state"] == "active" and by_id[ids[0]]["ended_at"] is None
    assert by_id[ids[1]]["state"] == "terminated" and TIME_RE.match(by_id[ids[1]]["ended_at"])
    assert by_id[ids[0]]["flavor"] == "m1.tiny" and by_id[ids[0]]["vcpus"] == 1 and by_id[ids[0]]["memory_mb"] == 512
    assert usage["total_memory_mb_usage"] == pytest.approx(512 * usage["total_hours"])
    brief = call(cadmin, "GET", f"/os-simple-tenant-usage?start={start}").json()["tenant_usages"]
    mine = next(u for u in brief if u["tenant_id"] == project)
    assert "server_usages" not in mine and mine["total_vcpus_usage"] > 0
    detailed = call(cadmin, "GET", f"/os-simple-tenant-usage?start={start}&detailed=1").json()["tenant_usages"]
    listed = {s["instance_id"] for s in next(u for u in detailed if u["tenant_id"] == project)["server_usages"]}
    assert set(ids) <= listed  # with the servers earlier tests booted and deleted
    paged = call(cadmin, "GET", f"/os-simple-tenant-usage?start={start}&detailed=1&limit=1", mv="2.40").json()
    assert "marker=" in paged["tenant_usages_links"][0]["href"]
    marker = paged["tenant_usages"][0]["server_usages"][0]["instance_id"]
    after = call(cadmin, "GET", f"/os-simple-tenant-usage?start={start}&detailed=1&marker={marker}", mv="2.40")
    assert marker not in {s["instance_id"] for u in after.json()["tenant_usages"] for s in u["server_usages"]}
    empty = call(cdemo, "GET", f"/os-simple-tenant-usage/{project}?start=2000-01-01T00:00:00&end=2000-02-01T00:00:00")
    assert empty.json() == {"tenant_usage": {}}

    rows = ccloud.cli("usage", "list", "--start", "2000-01-01")
    # openstacksdk asks for detailed=True, which Nova (only "1" counts) answers without server lists.
    assert any(r["Project"] in (project, "demo") and r["RAM MB-Hours"] > 0 for r in rows)
    shown = ccloud.cli("usage", "show", "--project", "demo", "--start", "2000-01-01")
    assert {s["instance_id"] for s in shown["Servers"]} == listed and shown["CPU Hours"] > 0

    error(call(cdemo, "GET", "/os-simple-tenant-usage"), 403)
    error(call(cdemo, "GET", f"/os-simple-tenant-usage/{cadmin.current_project_id}"), 403)
    assert error(call(cadmin, "GET", "/os-simple-tenant-usage?start=yesterday"),
                 400) == "Invalid datetime string: Datetime is in invalid format"
    assert error(call(cadmin, "GET", "/os-simple-tenant-usage?start=2030-01-01T00:00:00&end=2029-01-01T00:00:00"),
                 400).startswith("Invalid start time.")
    error(call(cadmin, "GET", "/os-simple-tenant-usage?marker=nope", mv="2.40"), 400)
    error(call(cadmin, "GET", "/os-simple-tenant-usage?bogus=1", mv="2.75"), 400)
    # An empty tenant id is no route at all in Nova (404), not the list.
    assert error(call(cadmin, "GET", f"/os-simple-tenant-usage/?start={start}"), 404) == \
        "The resource could not be found."
    delete_servers(cdemo, cadmin, ids[:1])


# --- os-hosts (deprecated, gone at 2.43) and the usage audit log -------------------------------

def test_hosts(ccloud: RunningCloud, cadmin: Any, cdemo: Any, image_id: str) -> None:
    listed = ccloud.cli("host", "list")
    computes = sorted(r["Host Name"] for r in listed if r["Service"] == "compute")
    (scheduler,) = services(cadmin, query="?binary=nova-scheduler")
    assert computes == HOSTS and {"Host Name": scheduler["host"], "Service": "scheduler", "Zone": "internal"} in listed
    in_service_order = [s["host"] for s in services(cadmin, query="?binary=nova-compute")]
    assert sorted(in_service_order) == HOSTS
    assert [h["host_name"] for h in call(cadmin, "GET", "/os-hosts?zone=nova").json()["hosts"]] == in_service_order
    assert call(cadmin, "GET", "/os-hosts?zone=").json()["hosts"] == call(cadmin, "GET", "/os-hosts").json()["hosts"]
    assert call(cadmin, "GET", "/os-hosts?zone=xxx").json() == {"hosts": []}
    # A disabled service's host drops out of the list (Nova lists enabled services only).
    set_status(cadmin, "compute-3", True)
    try:
        assert "compute-3" not in {h["host_name"] for h in call(cadmin, "GET", "/os-hosts").json()["hosts"]}
    finally:
        set_status(cadmin, "compute-3", False)

    server_id = boot(cdemo, image_id, name="hosts-detail")
    host = active(cadmin, server_id)["OS-EXT-SRV-ATTR:host"]
    rows = [r["resource"] for r in call(cadmin, "GET", f"/os-hosts/{host}").json()["host"]]
    assert [r["project"] for r in rows] == ["(total)", "(used_now)", "(used_max)", cdemo.current_project_id]
    assert all(r["host"] == host for r in rows) and rows[0]["cpu"] > 0
    assert (rows[2]["cpu"], rows[2]["memory_mb"], rows[2]["disk_gb"]) == (1, 512, 1)  # one m1.tiny
    assert rows[3] == {**rows[2], "project": cdemo.current_project_id}
    shown = ccloud.cli("host", "show", host)
    assert [r["Project"] for r in shown][:3] == ["(total)", "(used_now)", "(used_max)"]
    delete_servers(cdemo, cadmin, [server_id])

    assert call(cadmin, "PUT", f"/os-hosts/{host}", {"status": "Disable"}).json() == {
        "host": host, "status": "disabled"}
    assert error(call(cadmin, "PUT", f"/os-hosts/{host}", {"status": "enable", "maintenance_mode": "enable"}),
                 501) == "The requested functionality is not supported."
    for body in ({}, {"status": None, "maintenance_mode": None}, {"status": "on"}, {"maintenance_mode": "x"},
                 {"status": "enable", "bogus": 1}):
        error(call(cadmin, "PUT", f"/os-hosts/{host}", body), 400)
    for action in ("reboot", "shutdown", "startup"):
        error(call(cadmin, "GET", f"/os-hosts/{host}/{action}"), 501)
        assert error(call(cadmin, "GET", f"/os-hosts/nope/{action}"), 404) == "Host 'nope' is not mapped to any cell"
        error(call(cdemo, "GET", f"/os-hosts/{host}/{action}"), 403)
    error(call(cadmin, "GET", "/os-hosts/nope"), 404)
    (conductor,) = services(cadmin, query="?binary=nova-conductor")
    error(call(cadmin, "GET", f"/os-hosts/{conductor['host']}"), 404)  # not a compute host
    error(call(cadmin, "PUT", "/os-hosts/nope", {"status": "enable"}), 404)
    error(call(cdemo, "GET", "/os-hosts"), 403)
    error(call(cdemo, "GET", f"/os-hosts/{host}"), 403)
    error(call(cdemo, "PUT", f"/os-hosts/{host}", {"status": "enable"}), 403)
    error(call(cadmin, "GET", "/os-hosts", mv="2.43"), 404)
    error(call(cadmin, "GET", f"/os-hosts/{host}", mv="2.43"), 404)


def test_instance_usage_audit_log(cadmin: Any, cdemo: Any) -> None:
    listed = call(cadmin, "GET", "/os-instance_usage_audit_log").json()["instance_usage_audit_logs"]
    # No usage audit runs (Nova's default): every compute host is "not run" for the last month.
    assert listed["num_hosts"] == listed["num_hosts_not_run"] == 3 and sorted(listed["hosts_not_run"]) == HOSTS
    assert (listed["num_hosts_done"], listed["num_hosts_running"], listed["total_instances"],
            listed["total_errors"], listed["log"]) == (0, 0, 0, 0, {})
    assert listed["overall_status"] == "0 of 3 hosts done. 0 errors."
    assert listed["period_ending"].endswith("-01 00:00:00")
    shown = call(cadmin, "GET", "/os-instance_usage_audit_log/2020-03-15%2010:00:00").json()
    period = shown["instance_usage_audit_log"]
    assert (period["period_beginning"], period["period_ending"]) == ("2020-02-01 00:00:00", "2020-03-01 00:00:00")
    january = call(cadmin, "GET", "/os-instance_usage_audit_log/2021-01-01%2000:00:00.000").json()
    assert january["instance_usage_audit_log"]["period_beginning"] == "2020-11-01 00:00:00"
    assert error(call(cadmin, "GET", "/os-instance_usage_audit_log/invalid_time"),
                 400) == "Invalid timestamp for date invalid_time"
    error(call(cdemo, "GET", "/os-instance_usage_audit_log"), 403)
    error(call(cdemo, "GET", "/os-instance_usage_audit_log/2020-03-15%2010:00:00"), 403)


# --- deleting services (last: it reshapes the cloud) ---------------------------------------

def test_delete_services(cadmin: Any, cdemo: Any) -> None:
    error(call(cdemo, "DELETE", f"/os-services/{uuid.uuid4()}", mv="2.53"), 403)
    assert error(call(cadmin, "DELETE", "/os-services/abc", mv="2.53"), 400) == "Invalid uuid abc"
    assert error(call(cadmin, "DELETE", "/os-services/abc"), 400) == "Invalid input received: id must be an integer"
    assert error(call(cadmin, "DELETE", "/os-services/99999"), 404) == "Service 99999 not found."
    # A compute service without servers can go; its agent registers it again on its next report.
    old = compute_service(cadmin, "compute-1")
    agg = call(cadmin, "POST", "/os-aggregates", {"aggregate": {"name": "agg-gone"}}).json()["aggregate"]
    call(cadmin, "POST", f"/os-aggregates/{agg['id']}/action", {"add_host": {"host": "compute-1"}})
    assert call(cadmin, "DELETE", f"/os-services/{old['id']}", mv="2.53").status_code == 204
    assert call(cadmin, "GET", f"/os-aggregates/{agg['id']}").json()["aggregate"]["hosts"] == []
    again = wait_until(lambda: services(cadmin, query="?host=compute-1"), timeout=15, what="compute-1 re-registered")
    assert again[0]["id"] != old["id"] and again[0]["state"] == "up"
    wait_until(lambda: len(call(cadmin, "GET", "/os-hypervisors", mv="2.53").json()["hypervisors"]) == 3,
               timeout=15, what="compute-1's node reported again")
    # The scheduler registers a new row on its next heartbeat.
    sched = services(cadmin, query="?binary=nova-scheduler")[0]
    assert call(cadmin, "DELETE", f"/os-services/{sched['id']}", mv="2.53").status_code == 204
    back = wait_until(lambda: services(cadmin, query="?binary=nova-scheduler"), timeout=30,
                      what="the scheduler re-registered")
    assert back[0]["id"] != sched["id"] and back[0]["state"] == "up"
    call(cadmin, "DELETE", f"/os-aggregates/{agg['id']}")
