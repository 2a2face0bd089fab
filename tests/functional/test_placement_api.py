"""Placement over raw HTTP: microversions, providers, inventories, allocations, errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud


class Placement:
    def __init__(self, cloud: RunningCloud, token: str | None) -> None:
        headers = {"X-Auth-Token": token} if token else {}
        self.http = httpx.Client(base_url=f"{cloud.base_url}/placement", headers=headers, timeout=60)

    def call(self, method: str, path: str, version: str | None = "latest", **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if version:
            headers["OpenStack-API-Version"] = f"placement {version}"
        return self.http.request(method, path, headers=headers, **kw)

    def provider(self, parent: str | None = None, **inventories: int) -> str:
        body: dict[str, Any] = {"name": f"rp-{uuid.uuid4().hex[:10]}"}
        if parent:
            body["parent_provider_uuid"] = parent
        resp = self.call("POST", "/resource_providers", json=body)
        assert resp.status_code == 200, resp.text
        rp = str(resp.json()["uuid"])
        if inventories:
            inv = {rc: {"total": total} for rc, total in inventories.items()}
            resp = self.call("PUT", f"/resource_providers/{rp}/inventories",
                             json={"resource_provider_generation": 0, "inventories": inv})
            assert resp.status_code == 200, resp.text
        return rp

    def claim(self, consumer: str, rp: str, version: str = "1.28", **resources: int) -> httpx.Response:
        body: dict[str, Any] = {"allocations": {rp: {"resources": resources}}, "project_id": PROJECT,
                                "user_id": USER}
        if version >= "1.28":
            body["consumer_generation"] = None
        return self.call("PUT", f"/allocations/{consumer}", version=version, json=body)


PROJECT = uuid.uuid4().hex
USER = uuid.uuid4().hex


def error_code(resp: httpx.Response) -> str | None:
    code: str | None = resp.json()["errors"][0].get("code")
    return code


@pytest.fixture(scope="module")
def pl(cloud: RunningCloud, admin: Any) -> Iterator[Placement]:
    yield Placement(cloud, admin.session.get_token())


def test_version_document_needs_no_token(cloud: RunningCloud) -> None:
    anon = Placement(cloud, None)
    resp = anon.call("GET", "/", version=None)
    assert resp.status_code == 200
    (doc,) = resp.json()["versions"]
    assert doc["id"] == "v1.0" and doc["min_version"] == "1.0" and doc["max_version"] == "1.39"
    assert doc["status"] == "CURRENT"
    assert anon.call("GET", "/resource_providers").status_code == 401


def test_microversion_negotiation(pl: Placement) -> None:
    resp = pl.call("GET", "/resource_providers", version="latest")
    assert resp.headers["openstack-api-version"] == "placement 1.39"
    assert "OpenStack-API-Version" in resp.headers["vary"]
    assert pl.call("GET", "/resource_providers", version=None).headers["openstack-api-version"] == "placement 1.0"
    assert pl.call("GET", "/resource_providers", version="1.40").status_code == 406
    assert pl.call("GET", "/resource_providers", version="one").status_code == 400
    # Resource classes appeared in 1.2.
    assert pl.call("GET", "/resource_classes", version="1.1").status_code == 404
    assert pl.call("GET", "/resource_classes", version="1.2").status_code == 200


def test_non_admin_is_forbidden(cloud: RunningCloud, demo: Any) -> None:
    resp = Placement(cloud, demo.session.get_token()).call("GET", "/resource_providers")
    assert resp.status_code == 403
    assert resp.json()["errors"][0]["request_id"].startswith("req-")


def test_provider_create_shapes_and_duplicates(pl: Placement) -> None:
    name = f"rp-{uuid.uuid4().hex[:8]}"
    old = pl.call("POST", "/resource_providers", version="1.0", json={"name": name})
    assert old.status_code == 201 and old.content == b""
    assert old.headers["location"].startswith("http")
    shown = pl.call("GET", old.headers["location"].split("/placement", 1)[1], version="1.14").json()
    assert shown["name"] == name and shown["root_provider_uuid"] == shown["uuid"]
    assert shown["parent_provider_uuid"] is None
    dup = pl.call("POST", "/resource_providers", version="1.23", json={"name": name})
    assert dup.status_code == 409 and error_code(dup) == "placement.duplicate_name"
    assert error_code(pl.call("POST", "/resource_providers", version="1.22", json={"name": name})) is None
    bad = pl.call("POST", "/resource_providers", json={"name": "x", "bogus": 1})
    assert bad.status_code == 400 and error_code(bad) == "placement.undefined_code"


def test_provider_tree_update_and_delete(pl: Placement) -> None:
    root = pl.provider()
    child = pl.provider(parent=root)
    body = pl.call("GET", f"/resource_providers/{child}").json()
    assert body["parent_provider_uuid"] == root and body["root_provider_uuid"] == root
    in_tree = pl.call("GET", "/resource_providers", params={"in_tree": child}).json()["resource_providers"]
    assert {rp["uuid"] for rp in in_tree} == {root, child}
    resp = pl.call("DELETE", f"/resource_providers/{root}")
    assert resp.status_code == 409
    assert error_code(resp) == "placement.resource_provider.cannot_delete_parent"
    other = pl.provider()
    # Re-parenting is refused before 1.37 and allowed from it.
    moved = pl.call("PUT", f"/resource_providers/{child}", version="1.36",
                    json={"name": "x" + uuid.uuid4().hex[:8], "parent_provider_uuid": other})
    assert moved.status_code == 400
    moved = pl.call("PUT", f"/resource_providers/{child}", version="1.37",
                    json={"name": "x" + uuid.uuid4().hex[:8], "parent_provider_uuid": other})
    assert moved.status_code == 200 and moved.json()["root_provider_uuid"] == other
    loop = pl.call("PUT", f"/resource_providers/{other}", version="1.37",
                   json={"name": "y" + uuid.uuid4().hex[:8], "parent_provider_uuid": child})
    assert loop.status_code == 400
    assert pl.call("DELETE", f"/resource_providers/{child}").status_code == 204
    assert pl.call("DELETE", f"/resource_providers/{root}").status_code == 204
    assert pl.call("GET", f"/resource_providers/{root}").status_code == 404


def test_inventory_generations_and_validation(pl: Placement) -> None:
    rp = pl.provider()
    path = f"/resource_providers/{rp}/inventories"
    stale = pl.call("PUT", path, json={"resource_provider_generation": 5, "inventories": {"VCPU": {"total": 4}}})
    assert stale.status_code == 409 and error_code(stale) == "placement.concurrent_update"
    bad = pl.call("PUT", path, json={"resource_provider_generation": 0,
                                     "inventories": {"VCPU": {"total": 4, "reserved": 5}}})
    assert bad.status_code == 400
    assert pl.call("PUT", path, json={"resource_provider_generation": 0,
                                      "inventories": {"VCPU": {"total": 0}}}).status_code == 400
    assert pl.call("PUT", path, json={"resource_provider_generation": 0,
                                      "inventories": {"CUSTOM_NOPE": {"total": 1}}}).status_code == 400
    ok = pl.call("PUT", path, json={"resource_provider_generation": 0, "inventories": {
        "VCPU": {"total": 4, "allocation_ratio": 4.0, "max_unit": 4}, "DISK_GB": {"total": 100, "step_size": 10}}})
    assert ok.status_code == 200 and ok.json()["resource_provider_generation"] == 1
    one = pl.call("PUT", f"{path}/MEMORY_MB", json={"resource_provider_generation": 1, "total": 2048})
    assert one.status_code == 200 and one.json()["resource_provider_generation"] == 2
    shown = pl.call("GET", f"{path}/VCPU").json()
    assert shown["allocation_ratio"] == 4.0 and shown["min_unit"] == 1 and shown["resource_provider_generation"] == 2
    assert pl.call("DELETE", f"{path}/MEMORY_MB").status_code == 204
    assert pl.call("DELETE", f"{path}/MEMORY_MB").status_code == 404
    assert set(pl.call("GET", path).json()["inventories"]) == {"VCPU", "DISK_GB"}


def test_allocation_capacity_and_constraints(pl: Placement) -> None:
    rp = pl.provider()
    pl.call("PUT", f"/resource_providers/{rp}/inventories", json={"resource_provider_generation": 0, "inventories": {
        "VCPU": {"total": 4, "reserved": 1, "allocation_ratio": 2.0, "max_unit": 4},
        "DISK_GB": {"total": 100, "step_size": 10}}})
    assert pl.claim(str(uuid.uuid4()), rp, VCPU=4).status_code == 204  # capacity (4-1)*2 = 6
    over = pl.claim(str(uuid.uuid4()), rp, VCPU=3)
    assert over.status_code == 409 and "capacity" in over.json()["errors"][0]["detail"]
    assert pl.claim(str(uuid.uuid4()), rp, VCPU=2).status_code == 204
    assert pl.claim(str(uuid.uuid4()), rp, VCPU=5).status_code in (400, 409)  # above max_unit
    assert pl.claim(str(uuid.uuid4()), rp, DISK_GB=15).status_code == 400  # not a step_size multiple
    assert pl.claim(str(uuid.uuid4()), rp, MEMORY_MB=1).status_code == 409  # no such inventory
    assert pl.claim(str(uuid.uuid4()), str(uuid.uuid4()), VCPU=1).status_code == 400  # no such provider
    usages = pl.call("GET", f"/resource_providers/{rp}/usages").json()["usages"]
    assert usages == {"VCPU": 6, "DISK_GB": 0}
    inuse = pl.call("DELETE", f"/resource_providers/{rp}/inventories/VCPU")
    assert inuse.status_code == 409 and error_code(inuse) == "placement.inventory.inuse"
    gone = pl.call("DELETE", f"/resource_providers/{rp}")
    assert gone.status_code == 409 and error_code(gone) == "placement.resource_provider.inuse"


def test_allocation_body_shapes_per_version(pl: Placement) -> None:
    rp = pl.provider(VCPU=8)
    consumer = str(uuid.uuid4())
    listed = pl.call("PUT", f"/allocations/{consumer}", version="1.0", json={
        "allocations": [{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}]})
    assert listed.status_code == 204
    missing = pl.call("PUT", f"/allocations/{consumer}", version="1.8", json={
        "allocations": [{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}]})
    assert missing.status_code == 400  # project_id and user_id are required from 1.8
    assert pl.call("PUT", f"/allocations/{consumer}", version="1.12", json={
        "allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": PROJECT, "user_id": USER}).status_code == 204
    old = pl.call("GET", f"/allocations/{consumer}", version="1.11").json()
    assert old == {"allocations": {rp: {"generation": old["allocations"][rp]["generation"],
                                        "resources": {"VCPU": 2}}}}
    new = pl.call("GET", f"/allocations/{consumer}", version="1.38").json()
    assert new["project_id"] == PROJECT and new["user_id"] == USER and new["consumer_type"] == "unknown"
    generation = new["consumer_generation"]
    body = {"allocations": {rp: {"resources": {"VCPU": 3}}}, "project_id": PROJECT, "user_id": USER,
            "consumer_generation": generation + 7}
    stale = pl.call("PUT", f"/allocations/{consumer}", version="1.28", json=body)
    assert stale.status_code == 409 and error_code(stale) == "placement.concurrent_update"
    body["consumer_generation"] = generation
    assert pl.call("PUT", f"/allocations/{consumer}", version="1.28", json=body).status_code == 204
    by_rp = pl.call("GET", f"/resource_providers/{rp}/allocations").json()
    assert by_rp["allocations"][consumer] == {"resources": {"VCPU": 3}}
    assert pl.call("DELETE", f"/allocations/{consumer}").status_code == 204
    assert pl.call("DELETE", f"/allocations/{consumer}").status_code == 404
    assert pl.call("GET", f"/allocations/{consumer}").json() == {"allocations": {}}


def test_post_allocations_is_all_or_nothing(pl: Placement) -> None:
    rp = pl.provider(VCPU=4)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    def entry(n: int) -> dict[str, Any]:
        return {"allocations": {rp: {"resources": {"VCPU": n}}}, "project_id": PROJECT, "user_id": USER,
                "consumer_generation": None}

    too_much = pl.call("POST", "/allocations", version="1.28", json={first: entry(2), second: entry(3)})
    assert too_much.status_code == 409
    assert pl.call("GET", f"/resource_providers/{rp}/usages").json()["usages"]["VCPU"] == 0
    assert pl.call("POST", "/allocations", version="1.12", json={first: entry(1)}).status_code == 404
    assert pl.call("POST", "/allocations", version="1.28", json={first: entry(2), second: entry(2)}).status_code == 204
    assert pl.call("GET", f"/resource_providers/{rp}/usages").json()["usages"]["VCPU"] == 4


def test_usages_by_project_and_consumer_type(pl: Placement) -> None:
    project = uuid.uuid4().hex
    rp = pl.provider(VCPU=16, MEMORY_MB=4096)
    for ctype, vcpu in (("INSTANCE", 2), ("INSTANCE", 1), ("MIGRATION", 4)):
        resp = pl.call("PUT", f"/allocations/{uuid.uuid4()}", version="1.38", json={
            "allocations": {rp: {"resources": {"VCPU": vcpu, "MEMORY_MB": 256}}}, "project_id": project,
            "user_id": USER, "consumer_generation": None, "consumer_type": ctype})
        assert resp.status_code == 204, resp.text
    flat = pl.call("GET", "/usages", version="1.9", params={"project_id": project}).json()
    assert flat == {"usages": {"VCPU": 7, "MEMORY_MB": 768}}
    typed = pl.call("GET", "/usages", version="1.38", params={"project_id": project}).json()["usages"]
    assert typed["INSTANCE"] == {"VCPU": 3, "MEMORY_MB": 512, "consumer_count": 2}
    assert typed["MIGRATION"]["consumer_count"] == 1
    every = pl.call("GET", "/usages", params={"project_id": project, "consumer_type": "all"}).json()
    assert every["usages"]["all"]["consumer_count"] == 3
    assert pl.call("GET", "/usages", version="1.9", params={"project_id": project,
                                                            "consumer_type": "INSTANCE"}).status_code == 400
    assert pl.call("GET", "/usages", version="1.8", params={"project_id": project}).status_code == 404
