"""Placement: allocation candidates, traits, resource classes, aggregates, reshaper, and racing claims."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.test_placement_api import PROJECT, USER, Placement, error_code


@pytest.fixture(scope="module")
def pl(cloud: RunningCloud, admin: Any) -> Iterator[Placement]:
    yield Placement(cloud, admin.session.get_token())


def custom(prefix: str = "CUSTOM_T") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10].upper()}"


def set_traits(pl: Placement, rp: str, *traits: str) -> None:
    gen = pl.call("GET", f"/resource_providers/{rp}").json()["generation"]
    for trait in traits:
        if trait.startswith("CUSTOM_"):
            assert pl.call("PUT", f"/traits/{trait}").status_code in (201, 204)
    resp = pl.call("PUT", f"/resource_providers/{rp}/traits",
                   json={"traits": list(traits), "resource_provider_generation": gen})
    assert resp.status_code == 200, resp.text


def candidates(pl: Placement, version: str = "latest", **params: Any) -> dict[str, Any]:
    resp = pl.call("GET", "/allocation_candidates", version=version, params=params)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_single_provider_candidates_and_shapes(pl: Placement) -> None:
    marker = custom()
    rp = pl.provider(VCPU=4, MEMORY_MB=2048)
    set_traits(pl, rp, marker)
    full = pl.provider(VCPU=1)
    set_traits(pl, full, marker)
    got = candidates(pl, resources="VCPU:2,MEMORY_MB:1024", required=marker)
    assert got["allocation_requests"] == [{"allocations": {rp: {"resources": {"VCPU": 2, "MEMORY_MB": 1024}}},
                                           "mappings": {"": [rp]}}]
    summary = got["provider_summaries"][rp]
    assert summary["resources"]["VCPU"] == {"capacity": 4, "used": 0}
    assert summary["traits"] == [marker] and summary["root_provider_uuid"] == rp
    old = candidates(pl, "1.10", resources="VCPU:2,MEMORY_MB:1024")
    ours = [r for r in old["allocation_requests"] if r["allocations"][0]["resource_provider"]["uuid"] == rp]
    assert ours and "traits" not in old["provider_summaries"][rp]
    # Before 1.27 summaries list only the requested classes.
    assert set(candidates(pl, "1.26", resources="VCPU:1", required=marker)["provider_summaries"][rp]["resources"]) \
        == {"VCPU"}
    assert candidates(pl, resources="VCPU:3", required=f"{marker},!HW_CPU_X86_AVX2")["allocation_requests"]
    set_traits(pl, rp, marker, "HW_CPU_X86_AVX2")
    assert candidates(pl, resources="VCPU:3", required=f"{marker},!HW_CPU_X86_AVX2")["allocation_requests"] == []
    assert len(candidates(pl, resources="VCPU:1", required=marker, limit=1)["allocation_requests"]) == 1


def test_candidate_errors(pl: Placement) -> None:
    for params in ({}, {"resources": "VCPU"}, {"resources": "VCPU:0"}, {"resources": "CUSTOM_NOPE_X:1"},
                   {"resources": "VCPU:1", "required": "CUSTOM_NO_SUCH_TRAIT"}, {"resources": "VCPU:1", "bogus": 1},
                   {"resources": "VCPU:1", "limit": "-1"}):
        resp = pl.call("GET", "/allocation_candidates", params=params)
        assert resp.status_code == 400, (params, resp.text)
    assert pl.call("GET", "/allocation_candidates", version="1.9", params={"resources": "VCPU:1"}).status_code == 404
    two = {"resources1": "VCPU:1", "resources2": "VCPU:1"}
    assert pl.call("GET", "/allocation_candidates", params=two).status_code == 400  # group_policy required


def test_tree_candidates_with_granular_groups(pl: Placement) -> None:
    marker = custom()
    root = pl.provider(VCPU=8, MEMORY_MB=4096)
    set_traits(pl, root, marker)
    pf1 = pl.provider(parent=root, SRIOV_NET_VF=4)
    pf2 = pl.provider(parent=root, SRIOV_NET_VF=4)
    set_traits(pl, pf2, "HW_NIC_SRIOV")
    params = {"resources": "VCPU:2", "resources1": "SRIOV_NET_VF:1", "resources2": "SRIOV_NET_VF:1",
              "root_required": marker}
    isolated = candidates(pl, group_policy="isolate", **params)["allocation_requests"]
    assert len(isolated) == 2
    for req in isolated:
        assert req["allocations"][root]["resources"] == {"VCPU": 2}
        assert sorted([req["mappings"]["1"][0], req["mappings"]["2"][0]]) == sorted([pf1, pf2])
    shared = candidates(pl, group_policy="none", **params)["allocation_requests"]
    assert len(shared) == 4
    assert any(r["allocations"].get(pf1, {}).get("resources") == {"SRIOV_NET_VF": 2} for r in shared)
    only_pf2 = candidates(pl, resources="VCPU:1", resources1="SRIOV_NET_VF:1", required1="HW_NIC_SRIOV",
                          root_required=marker)
    assert [r["mappings"]["1"] for r in only_pf2["allocation_requests"]] == [[pf2]]
    summaries = only_pf2["provider_summaries"]
    assert {root, pf1, pf2} <= set(summaries)  # whole trees from 1.29
    assert summaries[pf1]["parent_provider_uuid"] == root
    # Resources spread over the tree in the unsuffixed group.
    spread = candidates(pl, resources="VCPU:1,SRIOV_NET_VF:4", root_required=marker)["allocation_requests"]
    assert len(spread) == 2
    assert all(list(r["allocations"][root]["resources"]) == ["VCPU"] for r in spread)
    in_tree = candidates(pl, resources="SRIOV_NET_VF:1", in_tree=pf1)["allocation_requests"]
    assert {next(iter(r["allocations"])) for r in in_tree} == {pf1, pf2}


def test_member_of_filters(pl: Placement) -> None:
    agg = str(uuid.uuid4())
    inside, outside = pl.provider(VCPU=2), pl.provider(VCPU=2)
    assert pl.call("PUT", f"/resource_providers/{inside}/aggregates", version="1.1", json=[agg]).status_code == 200
    listed = pl.call("GET", "/resource_providers", params={"member_of": f"in:{agg}"}).json()["resource_providers"]
    assert [rp["uuid"] for rp in listed] == [inside]
    got = candidates(pl, resources="VCPU:1", member_of=agg)["allocation_requests"]
    assert [next(iter(r["allocations"])) for r in got] == [inside]
    not_in = candidates(pl, resources="VCPU:1", member_of=f"!{agg}")["allocation_requests"]
    assert outside in {next(iter(r["allocations"])) for r in not_in}
    assert inside not in {next(iter(r["allocations"])) for r in not_in}


def test_aggregates_with_generation(pl: Placement) -> None:
    rp = pl.provider()
    path = f"/resource_providers/{rp}/aggregates"
    aggs = sorted(str(uuid.uuid4()) for _ in range(2))
    old = pl.call("PUT", path, version="1.1", json=aggs)
    assert old.status_code == 200 and old.json() == {"aggregates": aggs}
    cur = pl.call("GET", path).json()
    # The unguarded 1.1 form leaves the generation alone, as placement's handler does.
    assert sorted(cur["aggregates"]) == aggs and cur["resource_provider_generation"] == 0
    guarded = pl.call("PUT", path, json={"aggregates": aggs[:1], "resource_provider_generation": 0})
    assert guarded.json() == {"aggregates": aggs[:1], "resource_provider_generation": 1}
    stale = pl.call("PUT", path, json={"aggregates": [], "resource_provider_generation": 0})
    assert stale.status_code == 409 and error_code(stale) == "placement.concurrent_update"
    assert pl.call("PUT", path, json={"aggregates": ["not-a-uuid"], "resource_provider_generation": 1}).status_code \
        == 400
    ok = pl.call("PUT", path, json={"aggregates": [], "resource_provider_generation": 1})
    assert ok.json() == {"aggregates": [], "resource_provider_generation": 2}


def test_traits(pl: Placement) -> None:
    names = pl.call("GET", "/traits").json()["traits"]
    assert {"HW_CPU_X86_AVX2", "COMPUTE_STATUS_DISABLED", "MISC_SHARES_VIA_AGGREGATE"} <= set(names)
    trait = custom()
    assert pl.call("GET", f"/traits/{trait}").status_code == 404
    assert pl.call("PUT", f"/traits/{trait}").status_code == 201
    assert pl.call("PUT", f"/traits/{trait}").status_code == 204
    assert pl.call("GET", f"/traits/{trait}").status_code == 204
    # Prefixes match case-sensitively on every database, as trait names do everywhere else.
    assert pl.call("GET", "/traits", params={"name": f"startswith:{trait}"}).json() == {"traits": [trait]}
    assert pl.call("GET", "/traits", params={"name": f"startswith:{trait.lower()}"}).json() == {"traits": []}
    assert pl.call("PUT", "/traits/NOT_CUSTOM").status_code == 400
    assert pl.call("DELETE", "/traits/HW_CPU_X86_AVX2").status_code == 400
    rp = pl.provider()
    stale = pl.call("PUT", f"/resource_providers/{rp}/traits", json={"traits": [trait],
                                                                      "resource_provider_generation": 3})
    assert stale.status_code == 409 and error_code(stale) == "placement.concurrent_update"
    unknown = pl.call("PUT", f"/resource_providers/{rp}/traits", json={"traits": [custom()],
                                                                        "resource_provider_generation": 0})
    assert unknown.status_code == 400
    set_traits(pl, rp, trait)
    assert pl.call("GET", "/traits", params={"name": f"in:{trait}", "associated": "true"}).json() == \
        {"traits": [trait]}
    assert pl.call("DELETE", f"/traits/{trait}").status_code == 409
    listed = pl.call("GET", "/resource_providers", params={"required": trait}).json()["resource_providers"]
    assert [r["uuid"] for r in listed] == [rp]
    assert pl.call("DELETE", f"/resource_providers/{rp}/traits").status_code == 204
    assert pl.call("GET", f"/resource_providers/{rp}/traits").json()["traits"] == []
    assert pl.call("DELETE", f"/traits/{trait}").status_code == 204


def test_resource_classes(pl: Placement) -> None:
    listed = [rc["name"] for rc in pl.call("GET", "/resource_classes").json()["resource_classes"]]
    assert {"VCPU", "MEMORY_MB", "DISK_GB", "PCI_DEVICE", "SRIOV_NET_VF", "VGPU", "IPV4_ADDRESS"} <= set(listed)
    name = custom("CUSTOM_RC")
    assert pl.call("POST", "/resource_classes", json={"name": "NOT_CUSTOM"}).status_code == 400
    assert pl.call("POST", "/resource_classes", json={"name": name}).status_code == 201
    dup = pl.call("POST", "/resource_classes", json={"name": name})
    assert dup.status_code == 409
    shown = pl.call("GET", f"/resource_classes/{name}").json()
    assert shown["name"] == name and shown["links"][0]["href"].endswith(f"/resource_classes/{name}")
    renamed = name + "_NEW"
    assert pl.call("PUT", f"/resource_classes/{name}", version="1.6", json={"name": renamed}).status_code == 200
    assert pl.call("PUT", f"/resource_classes/{renamed}", version="1.7").status_code == 204
    fresh = custom("CUSTOM_RC")
    assert pl.call("PUT", f"/resource_classes/{fresh}", version="1.7").status_code == 201
    rp = pl.provider(None, **{fresh: 3})  # no parent; the class named at run time
    assert pl.call("DELETE", f"/resource_classes/{fresh}").status_code == 409
    assert pl.call("DELETE", "/resource_classes/VCPU").status_code == 400
    assert pl.call("DELETE", f"/resource_classes/{renamed}").status_code == 204
    assert pl.call("GET", f"/resource_classes/{renamed}").status_code == 404
    assert pl.call("GET", f"/resource_providers/{rp}/inventories").json()["inventories"][fresh]["total"] == 3


def test_reshaper_moves_inventory_and_allocations(pl: Placement) -> None:
    root = pl.provider(VCPU=8, VGPU=4)
    child = pl.provider(parent=root)
    consumer = str(uuid.uuid4())
    assert pl.claim(consumer, root, VCPU=1, VGPU=2).status_code == 204
    gens = {rp: pl.call("GET", f"/resource_providers/{rp}").json()["generation"] for rp in (root, child)}
    body = {
        "inventories": {
            root: {"resource_provider_generation": gens[root], "inventories": {"VCPU": {"total": 8}}},
            child: {"resource_provider_generation": gens[child], "inventories": {"VGPU": {"total": 4}}},
        },
        "allocations": {consumer: {
            "allocations": {root: {"resources": {"VCPU": 1}}, child: {"resources": {"VGPU": 2}}},
            "project_id": PROJECT, "user_id": USER, "consumer_generation": 0, "consumer_type": "INSTANCE"}},
    }
    assert pl.call("POST", "/reshaper", version="1.29", json=body).status_code == 404
    resp = pl.call("POST", "/reshaper", json=body)
    assert resp.status_code == 204, resp.text
    assert pl.call("GET", f"/resource_providers/{child}/usages").json()["usages"] == {"VGPU": 2}
    assert pl.call("GET", f"/resource_providers/{root}/usages").json()["usages"] == {"VCPU": 1}


def test_racing_claims_never_overcommit(cloud: RunningCloud, admin: Any) -> None:
    capacity, clients = 10, 32
    pl = Placement(cloud, admin.session.get_token())
    rp = pl.provider(VCPU=capacity)
    token = admin.session.get_token()
    outcomes: list[int] = []

    def claim(_: int) -> int:
        with httpx.Client(base_url=f"{cloud.base_url}/placement", timeout=60,
                          headers={"X-Auth-Token": token, "OpenStack-API-Version": "placement 1.28"}) as http:
            for _attempt in range(20):  # a lost generation race is retried, as a scheduler would
                resp = http.put(f"/allocations/{uuid.uuid4()}", json={
                    "allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": PROJECT, "user_id": USER,
                    "consumer_generation": None})
                if resp.status_code == 409 and "generation" in resp.json()["errors"][0]["detail"]:
                    continue
                return resp.status_code
            return 409

    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(claim, range(clients)))
    assert outcomes.count(204) == capacity
    assert outcomes.count(409) == clients - capacity
    usage = pl.call("GET", f"/resource_providers/{rp}/usages").json()["usages"]["VCPU"]
    allocs = pl.call("GET", f"/resource_providers/{rp}/allocations").json()["allocations"]
    assert usage == capacity == len(allocs)
