"""The network quotas API through openstacksdk, the CLI and raw HTTP: limits, defaults, details,
updates and resets by admins only, and creates refused over a limit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron

DEFAULTS = {"network": 100, "subnet": 100, "subnetpool": -1, "port": 500, "router": 10, "floatingip": 50,
            "security_group": 10, "security_group_rule": 100, "rbac_policy": 10}


@pytest.fixture
def project(admin: Any) -> Iterator[str]:
    made = admin.identity.create_project(name=f"q-{uuid.uuid4().hex[:8]}", domain_id="default")
    yield made.id
    admin.network.delete_quota(made.id)
    admin.identity.delete_project(made.id)


def test_defaults_and_own_project(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    own = demo.current_project_id
    assert http.get(f"/v2.0/quotas/{own}").json() == {"quota": DEFAULTS}
    assert http.get(f"/v2.0/quotas/{own}/default").json() == {"quota": DEFAULTS}
    assert http.get("/v2.0/quotas/tenant").json() == {"tenant": {"tenant_id": own}}
    assert http.get("/v2.0/quotas/project").json() == {"project": {"project_id": own}}
    assert demo.network.get_quota(own).networks == 100


def test_non_admins_see_only_their_own(cloud: RunningCloud, alt: Any) -> None:
    http = neutron(cloud)
    r = http.get("/v2.0/quotas")
    assert r.status_code == 403 and error_of(r)["type"] == "AdminRequired"
    for url in (f"/v2.0/quotas/{alt.current_project_id}", f"/v2.0/quotas/{alt.current_project_id}/details"):
        assert http.get(url).status_code == 403
    r = http.put(f"/v2.0/quotas/{alt.current_project_id}", json={"quota": {"network": 1000}})
    assert r.status_code == 403 and error_of(r)["type"] == "PolicyNotAuthorized"
    assert http.delete(f"/v2.0/quotas/{alt.current_project_id}").status_code == 403


def test_update_list_details_and_reset(cloud: RunningCloud, admin: Any, project: str) -> None:
    http = neutron(cloud, "devstack-admin")
    r = http.put(f"/v2.0/quotas/{project}", json={"quota": {"network": 3, "port": -1}})
    assert r.status_code == 200
    assert r.json()["quota"] == {**DEFAULTS, "network": 3, "port": -1}
    listed = {q["project_id"]: q for q in http.get("/v2.0/quotas").json()["quotas"]}
    assert listed[project]["network"] == 3 and listed[project]["tenant_id"] == project
    net = admin.network.create_network(name="q-net", project_id=project)
    try:
        details = http.get(f"/v2.0/quotas/{project}/details").json()["quota"]
        assert details["network"] == {"limit": 3, "used": 1, "reserved": 0}
        assert details["port"] == {"limit": -1, "used": 0, "reserved": 0}
        assert set(details) == set(DEFAULTS)
        sdk_details = admin.network.get_quota(project, details=True)
        assert sdk_details.networks == {"limit": 3, "used": 1, "reserved": 0}
        # quota-check-limit: a limit under what is in use is refused when asked to check.
        r = http.put(f"/v2.0/quotas/{project}", json={"quota": {"network": 0, "check_limit": True}})
        assert r.status_code == 409 and error_of(r)["type"] == "InvalidQuotaValue"
        assert http.get(f"/v2.0/quotas/{project}").json()["quota"]["network"] == 3
    finally:
        admin.network.delete_network(net.id)
    assert http.delete(f"/v2.0/quotas/{project}").status_code == 204
    assert http.get(f"/v2.0/quotas/{project}").json() == {"quota": DEFAULTS}
    r = http.delete(f"/v2.0/quotas/{project}")
    assert r.status_code == 404 and error_of(r)["type"] == "TenantQuotaNotFound"
    assert project not in [q["project_id"] for q in http.get("/v2.0/quotas").json()["quotas"]]


def test_cli_sets_and_shows(cloud: RunningCloud, project: str) -> None:
    cloud.cli("quota set", "--networks", "4", "--secgroup-rules", "50", project, json_out=False)
    shown = neutron(cloud, "devstack-admin").get(f"/v2.0/quotas/{project}").json()["quota"]
    assert shown["network"] == 4 and shown["security_group_rule"] == 50


@pytest.mark.parametrize(("body", "fragment"), [
    ({"quota": {"network": -2}}, "network"),
    ({"quota": {"network": "many"}}, "network"),
    ({"quota": {"bogus": 1}}, "Unrecognized attribute"),
    ({"quotas": {"network": 1}}, "Unable to find 'quota'"),
])
def test_bad_updates_change_nothing(cloud: RunningCloud, project: str, body: dict[str, Any], fragment: str) -> None:
    http = neutron(cloud, "devstack-admin")
    r = http.put(f"/v2.0/quotas/{project}", json=body)
    assert r.status_code == 400, r.text
    assert fragment in error_of(r)["message"]
    assert http.get(f"/v2.0/quotas/{project}").json() == {"quota": DEFAULTS}


def test_create_over_the_limit_is_refused(cloud: RunningCloud, project: str) -> None:
    http = neutron(cloud, "devstack-admin")
    http.put(f"/v2.0/quotas/{project}", json={"quota": {"network": 1}})
    first = http.post("/v2.0/networks", json={"network": {"name": "q1", "project_id": project}})
    assert first.status_code == 201
    try:
        r = http.post("/v2.0/networks", json={"network": {"name": "q2", "project_id": project}})
        assert r.status_code == 409 and error_of(r)["type"] == "OverQuota"
        assert "network" in error_of(r)["message"]
        # Unlimited again: the second goes through.
        http.put(f"/v2.0/quotas/{project}", json={"quota": {"network": -1}})
        second = http.post("/v2.0/networks", json={"network": {"name": "q2", "project_id": project}})
        assert second.status_code == 201
        http.delete(f"/v2.0/networks/{second.json()['network']['id']}")
    finally:
        http.delete(f"/v2.0/networks/{first.json()['network']['id']}")


def test_extensions_declared(demo: Any) -> None:
    aliases = {e.alias for e in demo.network.extensions()}
    assert {"quotas", "quota_details", "quota-check-limit"} <= aliases
