"""RBAC policies through openstacksdk, the CLI and raw HTTP: sharing networks and security groups
with one project or all, external access, who may grant, duplicates, and grants still in use."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron


@pytest.fixture
def network(demo: Any) -> Iterator[Any]:
    made = demo.network.create_network(name=f"rbac-{uuid.uuid4().hex[:6]}")
    yield made
    for policy in demo.network.rbac_policies(object_id=made.id):
        demo.network.delete_rbac_policy(policy.id, ignore_missing=True)
    demo.network.delete_network(made.id, ignore_missing=True)


def _policy(http: Any, object_id: str, target: str, action: str = "access_as_shared",
            object_type: str = "network", **extra: Any) -> Any:
    return http.post("/v2.0/rbac-policies", json={"rbac_policy": {
        "object_type": object_type, "object_id": object_id, "action": action, "target_tenant": target, **extra}})


def test_share_a_network_with_one_project(cloud: RunningCloud, demo: Any, alt: Any, network: Any) -> None:
    with pytest.raises(sdk_exc.NotFoundException):
        alt.network.get_network(network.id)
    policy = demo.network.create_rbac_policy(object_type="network", object_id=network.id,
                                             action="access_as_shared", target_project_id=alt.current_project_id)
    assert (policy.object_type, policy.action, policy.project_id) == ("network", "access_as_shared",
                                                                      demo.current_project_id)
    seen = alt.network.get_network(network.id)
    assert seen.is_shared is True
    assert network.id in [n.id for n in alt.network.networks(shared=True)]
    # The grant is its maker's to see, not its target's.
    assert neutron(cloud, "devstack-alt").get(f"/v2.0/rbac-policies/{policy.id}").status_code == 404
    assert policy.id in [p.id for p in demo.network.rbac_policies(object_id=network.id)]
    assert policy.id in [p.id for p in demo.network.rbac_policies(target_project_id=alt.current_project_id)]
    r = _policy(neutron(cloud), network.id, alt.current_project_id)
    assert r.status_code == 409 and error_of(r)["type"] == "DuplicateRbacPolicy"
    demo.network.delete_rbac_policy(policy.id)
    with pytest.raises(sdk_exc.NotFoundException):
        alt.network.get_network(network.id)
    r = neutron(cloud).get(f"/v2.0/rbac-policies/{policy.id}")
    assert r.status_code == 404 and error_of(r)["type"] == "RbacPolicyNotFound"


def test_sharing_with_everyone_is_for_admins(cloud: RunningCloud, alt: Any, network: Any) -> None:
    r = _policy(neutron(cloud), network.id, "*")
    assert r.status_code == 403 and error_of(r)["type"] == "PolicyNotAuthorized"
    r = _policy(neutron(cloud, "devstack-admin"), network.id, "*")
    assert r.status_code == 201, r.text
    assert alt.network.get_network(network.id).is_shared is True
    # Changing a grant to everyone is an admin's too.
    one = _policy(neutron(cloud), network.id, alt.current_project_id).json()["rbac_policy"]
    r = neutron(cloud).put(f"/v2.0/rbac-policies/{one['id']}", json={"rbac_policy": {"target_tenant": "*"}})
    assert r.status_code == 403


def test_update_target(cloud: RunningCloud, demo: Any, alt: Any, admin: Any, network: Any) -> None:
    http = neutron(cloud)
    made = _policy(http, network.id, alt.current_project_id).json()["rbac_policy"]
    r = http.put(f"/v2.0/rbac-policies/{made['id']}", json={"rbac_policy": {"target_tenant": "somebody-else"}})
    assert r.status_code == 200 and r.json()["rbac_policy"]["target_tenant"] == "somebody-else"
    with pytest.raises(sdk_exc.NotFoundException):
        alt.network.get_network(network.id)
    r = http.put(f"/v2.0/rbac-policies/{made['id']}", json={"rbac_policy": {"object_id": network.id}})
    assert r.status_code == 400


def test_only_the_owner_or_an_admin_grants(cloud: RunningCloud, alt: Any, network: Any) -> None:
    r = _policy(neutron(cloud, "devstack-alt"), network.id, alt.current_project_id)
    assert r.status_code == 400 and error_of(r)["type"] == "InvalidInput"
    r = _policy(neutron(cloud, "devstack-admin"), network.id, alt.current_project_id)
    assert r.status_code == 201
    assert alt.network.get_network(network.id).is_shared is True


@pytest.mark.parametrize(("attrs", "status", "kind"), [
    ({"object_type": "security_group", "action": "access_as_external"}, 400, "InvalidActionForType"),
    ({"object_type": "qos_policy"}, 400, "HTTPBadRequest"),
    ({"action": "access_as_owner"}, 400, "HTTPBadRequest"),
    ({"object_id": "not-a-uuid"}, 400, "HTTPBadRequest"),
    ({"object_id": "8d3b2a47-52c6-4f3c-9f0f-2bd3c0c4a1aa"}, 404, "NetworkNotFound"),
    ({"bogus": 1}, 400, "HTTPBadRequest"),
])
def test_bad_policies_change_nothing(cloud: RunningCloud, network: Any, attrs: dict[str, Any], status: int,
                                     kind: str) -> None:
    http = neutron(cloud)
    before = http.get("/v2.0/rbac-policies").json()["rbac_policies"]
    body = {"object_type": "network", "object_id": network.id, "action": "access_as_shared",
            "target_tenant": "someone", **attrs}
    r = http.post("/v2.0/rbac-policies", json={"rbac_policy": body})
    assert r.status_code == status, r.text
    assert error_of(r)["type"] == kind
    assert http.get("/v2.0/rbac-policies").json()["rbac_policies"] == before
    r = http.post("/v2.0/rbac-policies", json={"rbac_policy": {"object_type": "network"}})
    assert r.status_code == 400 and "Required attribute" in error_of(r)["message"]


def test_grant_in_use_by_ports_stays(cloud: RunningCloud, alt: Any, network: Any) -> None:
    http, alt_http = neutron(cloud), neutron(cloud, "devstack-alt")
    made = _policy(http, network.id, alt.current_project_id).json()["rbac_policy"]
    port = alt_http.post("/v2.0/ports", json={"port": {"network_id": network.id}})
    assert port.status_code == 201, port.text
    try:
        r = http.delete(f"/v2.0/rbac-policies/{made['id']}")
        assert r.status_code == 409 and error_of(r)["type"] == "RbacPolicyInUse"
        assert network.id in error_of(r)["message"]
        r = http.put(f"/v2.0/rbac-policies/{made['id']}", json={"rbac_policy": {"target_tenant": "x"}})
        assert r.status_code == 409
        # With everyone also granted, the one grant may go.
        everyone = _policy(neutron(cloud, "devstack-admin"), network.id, "*").json()["rbac_policy"]
        assert http.delete(f"/v2.0/rbac-policies/{made['id']}").status_code == 204
        r = neutron(cloud, "devstack-admin").delete(f"/v2.0/rbac-policies/{everyone['id']}")
        assert r.status_code == 409 and error_of(r)["type"] == "RbacPolicyInUse"
    finally:
        assert alt_http.delete(f"/v2.0/ports/{port.json()['port']['id']}").status_code == 204


def test_share_a_security_group_in_use(cloud: RunningCloud, demo: Any, alt: Any) -> None:
    http, alt_http = neutron(cloud), neutron(cloud, "devstack-alt")
    sg = demo.network.create_security_group(name="rbac-sg")
    net = alt.network.create_network(name="rbac-alt-net")
    try:
        made = _policy(http, sg.id, alt.current_project_id, object_type="security_group").json()["rbac_policy"]
        port = alt_http.post("/v2.0/ports", json={"port": {"network_id": net.id, "security_groups": [sg.id]}})
        assert port.status_code == 201, port.text
        r = http.delete(f"/v2.0/rbac-policies/{made['id']}")
        assert r.status_code == 409 and error_of(r)["type"] == "RbacPolicyInUse"
        assert alt_http.delete(f"/v2.0/ports/{port.json()['port']['id']}").status_code == 204
        assert http.delete(f"/v2.0/rbac-policies/{made['id']}").status_code == 204
    finally:
        alt.network.delete_network(net.id)
        demo.network.delete_security_group(sg.id)


def test_external_access(cloud: RunningCloud, admin: Any, alt: Any) -> None:
    net = admin.network.create_network(name="rbac-ext")
    try:
        r = _policy(neutron(cloud, "devstack-admin"), net.id, alt.current_project_id, action="access_as_external")
        assert r.status_code == 201, r.text
        seen = alt.network.get_network(net.id)
        assert seen.is_router_external is True and seen.is_shared is False
    finally:
        admin.network.delete_network(net.id)
    # The network's policies went with it.
    assert [p for p in admin.network.rbac_policies(object_id=net.id)] == []


def test_cli_and_quota(cloud: RunningCloud, admin: Any, network: Any) -> None:
    made = cloud.cli("network rbac create", "--type", "network", "--action", "access_as_shared",
                     "--target-project", "cli-target", network.id, cloud="devstack")
    assert made["target_project_id"] == "cli-target" and made["object_id"] == network.id
    listed = cloud.cli("network rbac list", cloud="devstack")
    assert made["id"] in [p["ID"] for p in listed]
    project = network.project_id
    http = neutron(cloud, "devstack-admin")
    used = http.get(f"/v2.0/quotas/{project}/details").json()["quota"]["rbac_policy"]["used"]
    http.put(f"/v2.0/quotas/{project}", json={"quota": {"rbac_policy": used}})
    try:
        r = _policy(neutron(cloud), network.id, "one-more")
        assert r.status_code == 409 and error_of(r)["type"] == "OverQuota"
    finally:
        http.put(f"/v2.0/quotas/{project}", json={"quota": {"rbac_policy": 10}})
        http.delete(f"/v2.0/quotas/{project}")


def test_extensions_declared(demo: Any) -> None:
    assert "rbac-policies" in {e.alias for e in demo.network.extensions()}
