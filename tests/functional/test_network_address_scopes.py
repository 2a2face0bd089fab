"""Address scopes through openstacksdk and raw HTTP: fields, visibility, sharing, errors."""

from __future__ import annotations

from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron


def test_create_show_list_update_delete(demo: Any) -> None:
    scope = demo.network.create_address_scope(name="as-basic", ip_version=4)
    try:
        assert scope.ip_version == 4 and scope.is_shared is False
        assert scope.project_id == demo.current_project_id
        assert demo.network.get_address_scope(scope.id).name == "as-basic"
        assert scope.id in [x.id for x in demo.network.address_scopes(name="as-basic")]
        assert demo.network.update_address_scope(scope, name="as-renamed").name == "as-renamed"
    finally:
        demo.network.delete_address_scope(scope.id)
    with pytest.raises(sdk_exc.NotFoundException):
        demo.network.get_address_scope(scope.id)


def test_view_has_neutron_fields_only(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    r = http.post("/v2.0/address-scopes", json={"address_scope": {"name": "as-raw", "ip_version": 6}})
    assert r.status_code == 201, r.text
    body = r.json()["address_scope"]
    try:
        assert set(body) == {"id", "name", "project_id", "tenant_id", "shared", "ip_version"}
        assert body["ip_version"] == 6 and body["tenant_id"] == body["project_id"]
    finally:
        assert http.delete(f"/v2.0/address-scopes/{body['id']}").status_code == 204


def test_bad_input(cloud: RunningCloud) -> None:
    http = neutron(cloud)
    before = http.get("/v2.0/address-scopes").json()["address_scopes"]
    for body, fragment in (({"address_scope": {"name": "x"}}, "Required attribute 'ip_version' not specified"),
                           ({"address_scope": {"name": "x", "ip_version": 5}}, "'5' is not in [4, 6]"),
                           ({"address_scope": {"name": "x", "ip_version": 4, "shared": True}},
                            "create_address_scope:shared"),
                           ({"address_scope": {"ip_version": 4, "bogus": 1}}, "Unrecognized attribute")):
        r = http.post("/v2.0/address-scopes", json=body)
        assert r.status_code in (400, 403), r.text
        assert fragment in error_of(r)["message"]
    assert http.get("/v2.0/address-scopes").json()["address_scopes"] == before
    r = http.get("/v2.0/address-scopes/5e4a8a64-cc1e-4f3b-9a6b-8a3d1a2f0c11")
    assert r.status_code == 404 and error_of(r)["type"] == "AddressScopeNotFound"


def test_visibility_and_sharing(admin: Any, demo: Any, alt: Any) -> None:
    private = demo.network.create_address_scope(name="as-private", ip_version=4)
    shared = admin.network.create_address_scope(name="as-shared", ip_version=4, shared=True)
    try:
        with pytest.raises(sdk_exc.NotFoundException):
            alt.network.get_address_scope(private.id)
        seen = {x.id for x in alt.network.address_scopes()}
        assert shared.id in seen and private.id not in seen
        assert alt.network.get_address_scope(shared.id).is_shared is True
        with pytest.raises(sdk_exc.ForbiddenException):
            alt.network.update_address_scope(shared.id, name="mine")
        with pytest.raises(sdk_exc.ForbiddenException):
            demo.network.update_address_scope(private.id, shared=True)
        assert admin.network.get_address_scope(private.id).id == private.id
        # A shared scope cannot be unshared.
        with pytest.raises(sdk_exc.BadRequestException, match="can't be unshared"):
            admin.network.update_address_scope(shared.id, shared=False)
        assert {x.id for x in alt.network.address_scopes(shared=True)} >= {shared.id}
    finally:
        demo.network.delete_address_scope(private.id)
        admin.network.delete_address_scope(shared.id)


def test_delete_refused_while_a_pool_uses_it(cloud: RunningCloud, demo: Any) -> None:
    scope = demo.network.create_address_scope(name="as-used", ip_version=4)
    pool = demo.network.create_subnet_pool(name="sp-in-scope", prefixes=["10.200.0.0/16"], address_scope_id=scope.id)
    try:
        r = neutron(cloud).delete(f"/v2.0/address-scopes/{scope.id}")
        assert r.status_code == 409 and error_of(r)["type"] == "AddressScopeInUse"
        assert scope.id in error_of(r)["message"]
    finally:
        demo.network.delete_subnet_pool(pool.id)
    demo.network.delete_address_scope(scope.id)


def test_extension_listed(demo: Any) -> None:
    assert "address-scope" in {e.alias for e in demo.network.extensions()}
