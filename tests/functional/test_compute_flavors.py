"""Compute flavors, extra specs and flavor access through the openstack CLI, openstacksdk and raw HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.cloud import RunningCloud
from tests.functional.compute_support import call, module_cloud

ccloud = module_cloud("compute-flavors", {"ONESTACK_COMPUTE__ENABLED": "true"})


def uniq(prefix: str = "f") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_catalog_has_versioned_compute_url(ccloud: RunningCloud) -> None:
    endpoints = ccloud.cli("endpoint", "list", "--service", "compute")
    assert endpoints and all(e["URL"].endswith("/compute/v2.1") for e in endpoints)


def test_devstack_default_flavors(ccloud: RunningCloud) -> None:
    flavors = {f["ID"]: f for f in ccloud.cli("flavor", "list", cloud="devstack")}
    assert {"1", "2", "3", "4", "5", "c1", "d1", "d2", "d3", "d4"} <= set(flavors)
    assert (flavors["1"]["Name"], flavors["1"]["RAM"], flavors["1"]["Disk"], flavors["1"]["VCPUs"]) == \
        ("m1.tiny", 512, 1, 1)
    assert (flavors["5"]["Name"], flavors["5"]["RAM"], flavors["5"]["VCPUs"]) == ("m1.xlarge", 16384, 8)
    assert flavors["c1"]["Name"] == "cirros256" and flavors["c1"]["RAM"] == 256
    shown = ccloud.cli("flavor", "show", "m1.small")
    assert shown["properties"] == {"hw_rng:allowed": "True"}


def test_cli_flavor_lifecycle(ccloud: RunningCloud) -> None:
    name = uniq()
    created = ccloud.cli("flavor", "create", "--ram", "256", "--disk", "2", "--vcpus", "2", "--swap", "128",
                         "--ephemeral", "3", "--description", "small one", "--property", "hw:cpu_policy=shared", name)
    assert created["ram"] == 256 and created["vcpus"] == 2 and created["swap"] == 128
    assert created["OS-FLV-EXT-DATA:ephemeral"] == 3 and created["description"] == "small one"
    ccloud.cli("flavor", "set", "--property", "hw:numa_nodes=1", "--description", "changed", name, json_out=False)
    shown = ccloud.cli("flavor", "show", name)
    assert shown["properties"] == {"hw:cpu_policy": "shared", "hw:numa_nodes": "1"}
    assert shown["description"] == "changed"
    ccloud.cli("flavor", "unset", "--property", "hw:cpu_policy", name, json_out=False)
    assert ccloud.cli("flavor", "show", name)["properties"] == {"hw:numa_nodes": "1"}
    ccloud.cli("flavor", "delete", name, json_out=False)
    gone = ccloud.cli("flavor", "show", name, check=False)
    assert gone.returncode != 0


def test_create_validation_and_conflicts(cadmin: Any) -> None:
    name = uniq()
    ok = call(cadmin, "POST", "/flavors", body={"flavor": {"name": name, "ram": "1024", "vcpus": 1, "disk": 0,
                                                           "id": 4242}})
    assert ok.status_code == 200, ok.text
    flavor = ok.json()["flavor"]
    assert flavor["id"] == "4242" and flavor["ram"] == 1024 and flavor["swap"] == ""  # 2.1 shows no swap as ""
    before = {f["id"] for f in call(cadmin, "GET", "/flavors?is_public=none").json()["flavors"]}
    dup_name = call(cadmin, "POST", "/flavors", body={"flavor": {"name": name, "ram": 1, "vcpus": 1, "disk": 0}})
    assert dup_name.status_code == 409 and "conflictingRequest" in dup_name.json()
    dup_id = call(cadmin, "POST", "/flavors", body={"flavor": {"name": uniq(), "ram": 1, "vcpus": 1, "disk": 0,
                                                               "id": "4242"}})
    assert dup_id.status_code == 409
    for bad in ({"name": uniq(), "ram": 0, "vcpus": 1, "disk": 0}, {"name": uniq(), "ram": 1, "vcpus": 1},
                {"name": " lead", "ram": 1, "vcpus": 1, "disk": 0}, {"name": uniq(), "ram": 1, "vcpus": 1, "disk": -1},
                {"name": uniq(), "ram": 1, "vcpus": 1, "disk": 0, "id": "bad/id"},
                {"name": uniq(), "ram": 1, "vcpus": 1, "disk": 0, "description": "too early"},
                {"name": uniq(), "ram": 1, "vcpus": 1, "disk": 0, "rxtx_factor": 0}):
        resp = call(cadmin, "POST", "/flavors", body={"flavor": bad})
        assert resp.status_code == 400, (bad, resp.text)
        assert "badRequest" in resp.json()
    after = {f["id"] for f in call(cadmin, "GET", "/flavors?is_public=none").json()["flavors"]}
    assert after == before
    auto = call(cadmin, "POST", "/flavors", body={"flavor": {"name": uniq(), "ram": 1, "vcpus": 1, "disk": 0,
                                                             "id": "auto"}}).json()["flavor"]
    assert len(auto["id"]) == 36
    assert call(cadmin, "DELETE", "/flavors/4242").status_code == 202
    missing = call(cadmin, "DELETE", "/flavors/4242")
    assert missing.status_code == 404 and missing.json()["itemNotFound"]["code"] == 404


def test_non_admin_cannot_manage(cdemo: Any) -> None:
    resp = call(cdemo, "POST", "/flavors", body={"flavor": {"name": uniq(), "ram": 1, "vcpus": 1, "disk": 0}})
    assert resp.status_code == 403 and "forbidden" in resp.json()
    assert call(cdemo, "DELETE", "/flavors/1").status_code == 403
    assert call(cdemo, "POST", "/flavors/1/os-extra_specs", body={"extra_specs": {"a": "b"}}).status_code == 403
    assert call(cdemo, "GET", "/flavors/1").status_code == 200


def test_microversion_fields(cadmin: Any) -> None:
    at_21 = call(cadmin, "GET", "/flavors/1").json()["flavor"]
    assert "description" not in at_21 and "extra_specs" not in at_21 and at_21["swap"] == ""
    assert {link["rel"] for link in at_21["links"]} == {"self", "bookmark"}
    at_255 = call(cadmin, "GET", "/flavors/1", mv="2.55").json()["flavor"]
    assert at_255["description"] is None and "extra_specs" not in at_255
    at_275 = call(cadmin, "GET", "/flavors/1", mv="2.75").json()["flavor"]
    assert at_275["swap"] == 0 and at_275["extra_specs"] == {"hw_rng:allowed": "True"}
    summary = call(cadmin, "GET", "/flavors", mv="2.55").json()["flavors"][0]
    assert set(summary) == {"id", "name", "links", "description"}
    assert call(cadmin, "PUT", "/flavors/1", body={"flavor": {"description": "x"}}).status_code == 404
    name = uniq()
    fid = call(cadmin, "POST", "/flavors", mv="2.55",
               body={"flavor": {"name": name, "ram": 1, "vcpus": 1, "disk": 0, "description": "d"}}).json()["flavor"]["id"]
    updated = call(cadmin, "PUT", f"/flavors/{fid}", mv="2.55", body={"flavor": {"description": "new"}})
    assert updated.status_code == 200 and updated.json()["flavor"]["description"] == "new"
    bad = call(cadmin, "PUT", f"/flavors/{fid}", mv="2.55", body={"flavor": {"name": "x"}})
    assert bad.status_code == 400
    call(cadmin, "DELETE", f"/flavors/{fid}")


def test_filters_sort_and_pagination(cadmin: Any) -> None:
    big = [f["id"] for f in call(cadmin, "GET", "/flavors/detail?minRam=8192").json()["flavors"]]
    assert "4" in big and "5" in big and "1" not in big
    disk = [f["id"] for f in call(cadmin, "GET", "/flavors?minDisk=80").json()["flavors"]]
    assert set(disk) >= {"4", "5"} and "3" not in disk
    assert call(cadmin, "GET", "/flavors?minRam=abc").status_code == 400
    assert call(cadmin, "GET", "/flavors?sort_key=bogus").status_code == 400
    by_ram = [f["ram"] for f in call(cadmin, "GET", "/flavors/detail?sort_key=memory_mb&sort_dir=desc").json()["flavors"]]
    assert by_ram == sorted(by_ram, reverse=True)
    page = call(cadmin, "GET", "/flavors?limit=2").json()
    assert len(page["flavors"]) == 2 and page["flavors_links"][0]["rel"] == "next"
    marker = page["flavors"][-1]["id"]
    nxt = call(cadmin, "GET", f"/flavors?limit=2&marker={marker}").json()["flavors"]
    assert nxt and marker not in [f["id"] for f in nxt]
    assert call(cadmin, "GET", "/flavors?marker=nope").status_code == 400


def test_private_flavor_access(ccloud: RunningCloud, cadmin: Any, cdemo: Any) -> None:
    name = uniq("priv")
    created = ccloud.cli("flavor", "create", "--ram", "64", "--disk", "1", "--vcpus", "1", "--private", name)
    fid = created["id"]
    assert name not in [f["Name"] for f in ccloud.cli("flavor", "list", cloud="devstack")]
    assert call(cdemo, "GET", f"/flavors/{fid}").status_code == 404
    assert name in [f["name"] for f in call(cadmin, "GET", "/flavors?is_public=false").json()["flavors"]]
    assert name not in [f["name"] for f in call(cadmin, "GET", "/flavors").json()["flavors"]]
    ccloud.cli("flavor", "set", "--project", "demo", name, json_out=False)
    assert name in [f["Name"] for f in ccloud.cli("flavor", "list", cloud="devstack")]
    assert call(cdemo, "GET", f"/flavors/{fid}").status_code == 200
    access = call(cadmin, "GET", f"/flavors/{fid}/os-flavor-access").json()["flavor_access"]
    assert len(access) == 1 and access[0]["flavor_id"] == fid
    demo_project = access[0]["tenant_id"]
    dup = call(cadmin, "POST", f"/flavors/{fid}/action", body={"addTenantAccess": {"tenant": demo_project}})
    assert dup.status_code == 409
    unknown = call(cadmin, "POST", f"/flavors/{fid}/action", body={"addTenantAccess": {"tenant": "no-such"}})
    assert unknown.status_code == 400
    assert call(cdemo, "POST", f"/flavors/{fid}/action",
                body={"removeTenantAccess": {"tenant": demo_project}}).status_code == 403
    ccloud.cli("flavor", "unset", "--project", "demo", name, json_out=False)
    assert call(cdemo, "GET", f"/flavors/{fid}").status_code == 404
    missing = call(cadmin, "POST", f"/flavors/{fid}/action", body={"removeTenantAccess": {"tenant": demo_project}})
    assert missing.status_code == 404
    assert call(cadmin, "GET", "/flavors/1/os-flavor-access").status_code == 404  # public flavor
    ccloud.cli("flavor", "delete", name, json_out=False)


def test_extra_specs_api(cadmin: Any, cdemo: Any) -> None:
    fid = call(cadmin, "POST", "/flavors", body={"flavor": {"name": uniq(), "ram": 1, "vcpus": 1,
                                                            "disk": 0}}).json()["flavor"]["id"]
    base = f"/flavors/{fid}/os-extra_specs"
    assert call(cadmin, "POST", base, body={"extra_specs": {"hw:numa_nodes": "1", "k": 2}}).json() == \
        {"extra_specs": {"hw:numa_nodes": "1", "k": "2"}}
    assert call(cdemo, "GET", f"{base}/k").json() == {"k": "2"}
    assert call(cadmin, "PUT", f"{base}/k", body={"k": "3"}).json() == {"k": "3"}
    assert call(cadmin, "PUT", f"{base}/k", body={"other": "3"}).status_code == 400
    assert call(cadmin, "PUT", f"{base}/k", body={"k": "3", "j": "4"}).status_code == 400
    assert call(cadmin, "GET", f"{base}/nope").status_code == 404
    assert call(cadmin, "DELETE", f"{base}/nope").status_code == 404
    # 2.86 validates known namespaces but lets custom ones through.
    assert call(cadmin, "POST", base, mv="2.86", body={"extra_specs": {"hw:cpu_policy": "bogus"}}).status_code == 400
    assert call(cadmin, "POST", base, mv="2.86", body={"extra_specs": {"hw:not_a_key": "1"}}).status_code == 400
    assert call(cadmin, "POST", base, mv="2.86", body={"extra_specs": {"foo:bar": "baz"}}).status_code == 200
    assert call(cadmin, "POST", base, mv="2.85", body={"extra_specs": {"hw:not_a_key": "1"}}).status_code == 200
    specs = call(cadmin, "GET", base).json()["extra_specs"]
    assert specs == {"hw:numa_nodes": "1", "k": "3", "foo:bar": "baz", "hw:not_a_key": "1"}
    assert call(cadmin, "DELETE", f"{base}/k").status_code == 200
    assert "k" not in call(cadmin, "GET", base).json()["extra_specs"]
    assert call(cadmin, "GET", "/flavors/nope/os-extra_specs").status_code == 404
    call(cadmin, "DELETE", f"/flavors/{fid}")


def test_sdk_flavors(cadmin: Any) -> None:
    name = uniq("sdk")
    flavor = cadmin.compute.create_flavor(name=name, ram=128, vcpus=1, disk=1, is_public=True)
    assert cadmin.compute.find_flavor(name).id == flavor.id
    cadmin.compute.create_flavor_extra_specs(flavor, {"hw:mem_page_size": "large"})
    assert cadmin.compute.fetch_flavor_extra_specs(flavor).extra_specs == {"hw:mem_page_size": "large"}
    cadmin.compute.delete_flavor(flavor)
    assert cadmin.compute.find_flavor(name) is None
