"""The boot flow on several simulated hosts: filters, weighers, groups, over-commit, races, failures.

Hosts are small (4 vCPUs, 4 GiB, 40 GB) so capacity limits are reached with a few servers;
CPU over-commit is 2.0, so each host takes 8 vCPUs of servers.
"""

from __future__ import annotations

import concurrent.futures
import uuid
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call as compute_call
from tests.functional.compute_support import module_cloud

HOSTS = 3
ENV = {
    "ONESTACK_COMPUTE__HOSTS": str(HOSTS),
    "ONESTACK_COMPUTE__FAKE_HOST_VCPUS": "4",
    "ONESTACK_COMPUTE__FAKE_HOST_MEMORY_MB": "4096",
    "ONESTACK_COMPUTE__FAKE_HOST_DISK_GB": "40",
    "ONESTACK_COMPUTE__CPU_ALLOCATION_RATIO": "2.0",
    "ONESTACK_COMPUTE__FAKE_FAIL_SPAWN": "doomed",
}


ccloud = module_cloud("compute-sched", ENV)


@pytest.fixture(scope="module")
def cadmin(ccloud: RunningCloud) -> Any:
    conn = ccloud.sdk("devstack-admin")
    # The tests fill hosts to capacity; the admin project's default quota (20 cores) must not interfere.
    unlimited = {"quota_set": {"cores": -1, "instances": -1, "ram": -1}}
    assert call(conn, "PUT", f"/os-quota-sets/{conn.current_project_id}", unlimited).status_code == 200
    return conn


@pytest.fixture(scope="module")
def image_id(cadmin: Any) -> str:
    return str(cadmin.image.find_image("onestack-tiny-x86_64-disk").id)


@pytest.fixture(scope="module")
def flavors(cadmin: Any) -> dict[str, str]:
    """A 2-vCPU flavor and a 4-vCPU one (as many vCPUs as a host has: two fit with over-commit 2.0)."""
    made = {}
    for name, vcpus, ram in (("sched.2c", 2, 256), ("sched.4c", 4, 256)):
        made[name] = cadmin.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=1).id
    return made


def call(conn: Any, method: str, path: str, body: Any = None, mv: str = "2.96") -> Any:
    """compute_support.call with the body first and microversion 2.96 unless told otherwise."""
    return compute_call(conn, method, path, mv, body)


def boot(conn: Any, image: str, flavor: str, name: str | None = None, hints: dict[str, Any] | None = None,
         az: str | None = None, count: int = 1) -> list[str]:
    body: dict[str, Any] = {"server": {"name": name or f"s-{uuid.uuid4().hex[:8]}", "imageRef": image,
                                       "flavorRef": flavor, "networks": "none", "min_count": count,
                                       "max_count": count, "return_reservation_id": True}}
    if az:
        body["server"]["availability_zone"] = az
    if hints:
        body["os:scheduler_hints"] = hints
    resp = call(conn, "POST", "/servers", body)
    assert resp.status_code == 202, resp.text
    rid = resp.json()["reservation_id"]
    listing = call(conn, "GET", f"/servers/detail?reservation_id={rid}").json()["servers"]
    return [s["id"] for s in sorted(listing, key=lambda s: s["name"])]


def settled(conn: Any, ids: list[str], timeout: float = 30.0) -> list[dict[str, Any]]:
    """Poll until no server is in BUILD; returns their detail views (as admin: host visible)."""
    def done() -> list[dict[str, Any]] | None:
        views = [call(conn, "GET", f"/servers/{i}").json()["server"] for i in ids]
        return None if any(v["status"] == "BUILD" for v in views) else views

    result: list[dict[str, Any]] = wait_until(done, timeout=timeout, what=f"servers {ids} to settle")
    return result


def delete_all(conn: Any, ids: list[str]) -> None:
    for i in ids:
        call(conn, "DELETE", f"/servers/{i}")
    wait_until(lambda: all(call(conn, "GET", f"/servers/{i}").status_code == 404 for i in ids), timeout=30,
               what="servers to be deleted")


def hosts_of(views: list[dict[str, Any]]) -> list[str]:
    return [v["OS-EXT-SRV-ATTR:host"] for v in views]


def group(conn: Any, policy: str, rules: dict[str, Any] | None = None) -> str:
    body: dict[str, Any] = {"server_group": {"name": f"g-{uuid.uuid4().hex[:6]}", "policy": policy}}
    if rules:
        body["server_group"]["rules"] = rules
    resp = call(conn, "POST", "/os-server-groups", body, mv="2.64")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["server_group"]["id"])


def test_hosts_register_and_report_inventory(cadmin: Any) -> None:
    providers = cadmin.session.get("/resource_providers", endpoint_filter={"service_type": "placement"},
                                   headers={"OpenStack-API-Version": "placement 1.39"}).json()["resource_providers"]
    names = sorted(p["name"] for p in providers)
    assert names == [f"compute-{i}" for i in range(1, HOSTS + 1)]
    inv = cadmin.session.get(f"/resource_providers/{providers[0]['uuid']}/inventories",
                             endpoint_filter={"service_type": "placement"}).json()["inventories"]
    assert inv["VCPU"]["total"] == 4 and inv["VCPU"]["allocation_ratio"] == 2.0
    assert inv["MEMORY_MB"]["total"] == 4096


def test_ram_weigher_spreads_servers(cadmin: Any, image_id: str, flavors: dict[str, str]) -> None:
    ids = boot(cadmin, image_id, flavors["sched.2c"], count=HOSTS)
    views = settled(cadmin, ids)
    assert [v["status"] for v in views] == ["ACTIVE"] * HOSTS
    assert sorted(hosts_of(views)) == [f"compute-{i}" for i in range(1, HOSTS + 1)]
    delete_all(cadmin, ids)


def test_affinity_packs_and_anti_affinity_spreads(cadmin: Any, image_id: str, flavors: dict[str, str]) -> None:
    aff = group(cadmin, "affinity")
    ids = boot(cadmin, image_id, flavors["sched.2c"], count=3, hints={"group": aff})
    views = settled(cadmin, ids)
    assert [v["status"] for v in views] == ["ACTIVE"] * 3
    assert len(set(hosts_of(views))) == 1
    anti = group(cadmin, "anti-affinity")
    anti_ids = boot(cadmin, image_id, flavors["sched.2c"], count=HOSTS, hints={"group": anti})
    anti_views = settled(cadmin, anti_ids)
    assert len(set(hosts_of(anti_views))) == HOSTS
    # One more member has nowhere to go.
    extra = boot(cadmin, image_id, flavors["sched.2c"], hints={"group": anti})
    (view,) = settled(cadmin, extra)
    assert view["status"] == "ERROR"
    assert view["fault"]["message"].startswith("No valid host was found.")
    delete_all(cadmin, ids + anti_ids + extra)


def test_max_server_per_host_rule(cadmin: Any, image_id: str, flavors: dict[str, str]) -> None:
    anti = group(cadmin, "anti-affinity", {"max_server_per_host": 2})
    ids = boot(cadmin, image_id, flavors["sched.2c"], count=2 * HOSTS, hints={"group": anti})
    views = settled(cadmin, ids)
    assert all(v["status"] == "ACTIVE" for v in views), [(v["status"], v.get("fault")) for v in views]
    counts = {h: hosts_of(views).count(h) for h in set(hosts_of(views))}
    assert sorted(counts.values()) == [2] * HOSTS
    delete_all(cadmin, ids)


def test_soft_anti_affinity_overflows_instead_of_failing(cadmin: Any, image_id: str, flavors: dict[str, str]) -> None:
    soft = group(cadmin, "soft-anti-affinity")
    ids = boot(cadmin, image_id, flavors["sched.2c"], count=HOSTS + 1, hints={"group": soft})
    views = settled(cadmin, ids)
    assert all(v["status"] == "ACTIVE" for v in views), [(v["status"], v.get("fault")) for v in views]
    assert len(set(hosts_of(views))) == HOSTS
    delete_all(cadmin, ids)


def test_same_host_and_different_host_hints(cadmin: Any, image_id: str, flavors: dict[str, str]) -> None:
    (anchor,) = boot(cadmin, image_id, flavors["sched.2c"])
    (anchor_view,) = settled(cadmin, [anchor])
    same = boot(cadmin, image_id, flavors["sched.2c"], hints={"same_host": [anchor]})
    other = boot(cadmin, image_id, flavors["sched.2c"], hints={"different_host": [anchor]})
    (same_view,) = settled(cadmin, same)
    (other_view,) = settled(cadmin, other)
    assert same_view["OS-EXT-SRV-ATTR:host"] == anchor_view["OS-EXT-SRV-ATTR:host"]
    assert other_view["OS-EXT-SRV-ATTR:host"] != anchor_view["OS-EXT-SRV-ATTR:host"]
    delete_all(cadmin, [anchor, *same, *other])


def test_availability_zone_requests(cadmin: Any, image_id: str, flavors: dict[str, str]) -> None:
    ids = boot(cadmin, image_id, flavors["sched.2c"], az="nova")
    (view,) = settled(cadmin, ids)
    assert view["status"] == "ACTIVE" and view["OS-EXT-AZ:availability_zone"] == "nova"
    forced = boot(cadmin, image_id, flavors["sched.2c"], az="nova:compute-2")
    (forced_view,) = settled(cadmin, forced)
    assert forced_view["OS-EXT-SRV-ATTR:host"] == "compute-2"
    resp = call(cadmin, "POST", "/servers", {"server": {"name": "x", "imageRef": image_id, "networks": "none",
                                                        "flavorRef": flavors["sched.2c"],
                                                        "availability_zone": "no-such-zone"}})
    assert resp.status_code == 400
    delete_all(cadmin, ids + forced)


def test_over_commit_ratio_bounds_capacity(cadmin: Any, image_id: str, flavors: dict[str, str]) -> None:
    # 8 vCPUs of servers per host (4 physical × 2.0): two sched.4c per host, then none.
    ids = boot(cadmin, image_id, flavors["sched.4c"], count=2 * HOSTS)
    views = settled(cadmin, ids)
    assert all(v["status"] == "ACTIVE" for v in views), [(v["status"], v.get("fault")) for v in views]
    assert sorted(hosts_of(views).count(h) for h in set(hosts_of(views))) == [2] * HOSTS
    extra = boot(cadmin, image_id, flavors["sched.4c"])
    (view,) = settled(cadmin, extra)
    assert view["status"] == "ERROR" and "No valid host" in view["fault"]["message"]
    delete_all(cadmin, ids + extra)


def test_concurrent_boots_race_for_the_last_slots(ccloud: RunningCloud, image_id: str,
                                                 flavors: dict[str, str]) -> None:
    # Capacity: two sched.4c per host. Half as many again race for them.
    capacity = 2 * HOSTS
    clients = [ccloud.sdk("devstack-admin") for _ in range(capacity + HOSTS)]

    def one(conn: Any) -> str:
        return boot(conn, image_id, flavors["sched.4c"])[0]

    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        ids = list(pool.map(one, clients))
    views = settled(clients[0], ids, timeout=60)
    active = [v for v in views if v["status"] == "ACTIVE"]
    assert len(active) == capacity, [(v["status"], v.get("fault")) for v in views]
    assert all(v["status"] == "ERROR" for v in views if v not in active)
    usages = clients[0].session.get("/resource_providers", endpoint_filter={"service_type": "placement"},
                                    headers={"OpenStack-API-Version": "placement 1.39"}).json()
    for rp in usages["resource_providers"]:
        used = clients[0].session.get(f"/resource_providers/{rp['uuid']}/usages",
                                      endpoint_filter={"service_type": "placement"}).json()["usages"]
        assert used.get("VCPU", 0) <= 8
    delete_all(clients[0], ids)


def _placement_allocations(conn: Any, consumer: str) -> dict[str, Any]:
    resp = conn.session.get(f"/allocations/{consumer}", endpoint_filter={"service_type": "placement"},
                            headers={"OpenStack-API-Version": "placement 1.39"})
    allocations: dict[str, Any] = resp.json()["allocations"]
    return allocations


def test_spawn_failure_errors_and_releases_claims(cadmin: Any, cdemo: Any, image_id: str,
                                                  flavors: dict[str, str]) -> None:
    before = call(cdemo, "GET", "/limits").json()["limits"]["absolute"]
    ids = boot(cdemo, image_id, "1", name="doomed")
    (view,) = settled(cdemo, ids)
    assert view["status"] == "ERROR"
    assert view["fault"]["code"] == 500
    assert "Exceeded maximum number of retries" in view["fault"]["message"]
    assert _placement_allocations(cadmin, ids[0]) == {}
    after = call(cdemo, "GET", "/limits").json()["limits"]["absolute"]
    assert after["totalCoresUsed"] == before["totalCoresUsed"]
    assert after["totalInstancesUsed"] == before["totalInstancesUsed"] + 1
    actions = call(cdemo, "GET", f"/servers/{ids[0]}/os-instance-actions").json()["instanceActions"]
    assert [a["action"] for a in actions] == ["create"]
    delete_all(cdemo, ids)
    assert call(cdemo, "GET", "/limits").json()["limits"]["absolute"]["totalInstancesUsed"] == \
        before["totalInstancesUsed"]


def test_active_server_holds_placement_allocation(cadmin: Any, image_id: str, flavors: dict[str, str]) -> None:
    ids = boot(cadmin, image_id, flavors["sched.2c"])
    (_view,) = settled(cadmin, ids)
    allocations = _placement_allocations(cadmin, ids[0])
    assert len(allocations) == 1
    (alloc,) = allocations.values()
    assert alloc["resources"] == {"VCPU": 2, "MEMORY_MB": 256, "DISK_GB": 1}
    delete_all(cadmin, ids)
    wait_until(lambda: _placement_allocations(cadmin, ids[0]) == {}, timeout=10, what="allocation released")


def test_quota_exceeded_for_cores(cadmin: Any, cdemo: Any, image_id: str, flavors: dict[str, str]) -> None:
    project = cdemo.current_project_id
    assert call(cadmin, "PUT", f"/os-quota-sets/{project}", {"quota_set": {"cores": 3}}).status_code == 200
    try:
        resp = call(cdemo, "POST", "/servers", {"server": {
            "name": "too-big", "imageRef": image_id, "flavorRef": flavors["sched.4c"], "networks": "none"}})
        assert resp.status_code == 403
        assert resp.json()["forbidden"]["message"].startswith("Quota exceeded for cores")
        listing = call(cdemo, "GET", "/servers?name=too-big").json()["servers"]
        assert listing == []
    finally:
        call(cadmin, "DELETE", f"/os-quota-sets/{project}")
