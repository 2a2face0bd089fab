"""Tags on network resources through openstacksdk, the CLI and raw HTTP: replace, add, check and
remove; revisions; filters; validation; visibility and who may change them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron


@pytest.fixture
def network(demo: Any) -> Iterator[Any]:
    made = demo.network.create_network(name=f"tag-{uuid.uuid4().hex[:6]}")
    yield made
    demo.network.delete_network(made.id, ignore_missing=True)


def test_replace_add_check_remove(cloud: RunningCloud, network: Any) -> None:
    http = neutron(cloud)
    base = f"/v2.0/networks/{network.id}/tags"
    assert http.get(base).json() == {"tags": []}
    r = http.put(base, json={"tags": ["red", "blue"]})
    assert r.status_code == 200 and sorted(r.json()["tags"]) == ["blue", "red"]
    shown = http.get(f"/v2.0/networks/{network.id}").json()["network"]
    assert shown["tags"] == ["blue", "red"] and shown["revision_number"] == 1
    assert http.put(f"{base}/green").status_code == 201
    assert http.get(f"/v2.0/networks/{network.id}").json()["network"]["revision_number"] == 2
    assert http.put(f"{base}/green").status_code == 201  # already there: no change
    assert http.get(f"/v2.0/networks/{network.id}").json()["network"]["revision_number"] == 2
    assert http.get(f"{base}/green").status_code == 204
    r = http.get(f"{base}/purple")
    assert r.status_code == 404 and error_of(r)["type"] == "TagNotFound"
    assert http.delete(f"{base}/red").status_code == 204
    r = http.delete(f"{base}/red")
    assert r.status_code == 404 and error_of(r)["type"] == "TagNotFound"
    assert sorted(http.get(base).json()["tags"]) == ["blue", "green"]
    assert http.delete(base).status_code == 204
    assert http.get(base).json() == {"tags": []}
    assert http.get(f"/v2.0/networks/{network.id}").json()["network"]["revision_number"] == 4


def test_filters_on_tags(cloud: RunningCloud, demo: Any) -> None:
    made = [demo.network.create_network(name=f"tagf-{i}") for i in range(3)]
    try:
        http = neutron(cloud)
        for net, tags in zip(made, (["a", "b"], ["a"], ["c"]), strict=True):
            http.put(f"/v2.0/networks/{net.id}/tags", json={"tags": tags})
        ids = [n.id for n in made]

        def names(query: str) -> list[str]:
            found = http.get(f"/v2.0/networks?{query}").json()["networks"]
            return sorted(n["name"] for n in found if n["id"] in ids)

        assert names("tags=a,b") == ["tagf-0"]
        assert names("tags-any=b,c") == ["tagf-0", "tagf-2"]
        assert names("not-tags=a") == ["tagf-2"]
        assert names("not-tags-any=b,c") == ["tagf-1"]
        assert sorted(n.name for n in demo.network.networks(tags=["a"]) if n.id in ids) == ["tagf-0", "tagf-1"]
    finally:
        for net in made:
            demo.network.delete_network(net.id)


def test_sdk_and_cli_tags(cloud: RunningCloud, demo: Any, network: Any) -> None:
    demo.network.set_tags(network, ["x", "y"])
    assert sorted(demo.network.get_network(network.id).tags) == ["x", "y"]
    cloud.cli("network set", "--tag", "z", network.id, cloud="devstack", json_out=False)
    assert sorted(demo.network.get_network(network.id).tags) == ["x", "y", "z"]
    cloud.cli("network unset", "--tag", "x", network.id, cloud="devstack", json_out=False)
    assert sorted(demo.network.get_network(network.id).tags) == ["y", "z"]


def test_security_group_tags(cloud: RunningCloud, demo: Any) -> None:
    sg = demo.network.create_security_group(name="tag-sg")
    try:
        http = neutron(cloud)
        assert http.put(f"/v2.0/security-groups/{sg.id}/tags/web").status_code == 201
        shown = http.get(f"/v2.0/security-groups/{sg.id}").json()["security_group"]
        assert shown["tags"] == ["web"]
        assert [g["id"] for g in http.get("/v2.0/security-groups?tags=web").json()["security_groups"]] == [sg.id]
    finally:
        demo.network.delete_security_group(sg.id)


@pytest.mark.parametrize("body", [
    {"tags": ["x" * 256]},
    {"tags": "red"},
    {"tags": [1]},
    {"tags": ["a", "a"]},
    {"tag": ["a"]},
    ["a"],
])
def test_bad_tags_change_nothing(cloud: RunningCloud, network: Any, body: Any) -> None:
    http = neutron(cloud)
    http.put(f"/v2.0/networks/{network.id}/tags", json={"tags": ["keep"]})
    r = http.put(f"/v2.0/networks/{network.id}/tags", json=body)
    assert r.status_code == 400, r.text
    assert error_of(r)["type"] == "InvalidInput"
    assert http.get(f"/v2.0/networks/{network.id}/tags").json() == {"tags": ["keep"]}
    r = http.put(f"/v2.0/networks/{network.id}/tags/{'y' * 256}")
    assert r.status_code == 400


def test_visibility_and_permission(cloud: RunningCloud, admin: Any, network: Any) -> None:
    alt = neutron(cloud, "devstack-alt")
    for method in ("GET", "PUT", "DELETE"):
        r = alt.request(method, f"/v2.0/networks/{network.id}/tags/t")
        assert r.status_code == 404 and error_of(r)["type"] == "NetworkNotFound", (method, r.text)
    r = alt.put(f"/v2.0/networks/{network.id}/tags", json={"tags": ["t"]})
    assert r.status_code == 404
    ghost = str(uuid.uuid4())
    r = neutron(cloud).get(f"/v2.0/security-groups/{ghost}/tags")
    assert r.status_code == 404 and error_of(r)["type"] == "SecurityGroupNotFound"
    shared = admin.network.create_network(name="tag-shared", shared=True)
    try:
        assert alt.get(f"/v2.0/networks/{shared.id}/tags").status_code == 200
        r = alt.put(f"/v2.0/networks/{shared.id}/tags/mine")
        assert r.status_code == 403 and error_of(r)["type"] == "PolicyNotAuthorized"
        assert neutron(cloud, "devstack-admin").put(f"/v2.0/networks/{network.id}/tags/by-admin").status_code == 201
    finally:
        admin.network.delete_network(shared.id)


def test_extension_declared(demo: Any) -> None:
    assert "standard-attr-tag" in {e.alias for e in demo.network.extensions()}


def test_subnet_and_port_tags(cloud: RunningCloud, demo: Any, network: Any) -> None:
    subnet = demo.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.77.0.0/24")
    port = demo.network.create_port(network_id=network.id)
    try:
        http, alt = neutron(cloud), neutron(cloud, "devstack-alt")
        for collection, rid, member in (("subnets", subnet.id, "subnet"), ("ports", port.id, "port")):
            r = http.put(f"/v2.0/{collection}/{rid}/tags", json={"tags": ["t1", "t2"]})
            assert r.status_code == 200, r.text
            shown = http.get(f"/v2.0/{collection}/{rid}").json()[member]
            assert shown["tags"] == ["t1", "t2"] and shown["revision_number"] >= 1
            listed = http.get(f"/v2.0/{collection}?tags=t1,t2").json()[f"{member}s"]
            assert [x["id"] for x in listed] == [rid]
            r = alt.get(f"/v2.0/{collection}/{rid}/tags")
            kind = "SubnetNotFound" if member == "subnet" else "PortNotFound"
            assert r.status_code == 404 and error_of(r)["type"] == kind
    finally:
        demo.network.delete_port(port.id)
        demo.network.delete_subnet(subnet.id)
