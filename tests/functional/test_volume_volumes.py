"""Volumes through openstacksdk, the CLI and raw HTTP: create → available, the view's fields by
microversion and role, list filters/sorting/paging/counts, update, delete (cascade, force),
summary, Cinder's 4xx for bad input, and another project's volume being a 404 everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud
from tests.functional.volume_support import cinder, create_volume, error_of, wait_gone, wait_volume

# Tempest's volume schema (tempest/lib/api_schema/response/volume/volumes.py) at 3.0: the keys
# of a create answer, what a project reader/member sees besides on GET (Cinder's tenant
# attribute policy is project reader), and what only an admin sees (host, migration).
MEMBER_KEYS = {"id", "status", "size", "availability_zone", "created_at", "updated_at", "attachments", "name",
               "description", "volume_type", "snapshot_id", "source_volid", "metadata", "links", "user_id",
               "bootable", "encrypted", "replication_status", "consistencygroup_id", "multiattach"}
READER_EXTRA = {"os-vol-tenant-attr:tenant_id"}
ADMIN_EXTRA = {"migration_status", "os-vol-host-attr:host", "os-vol-mig-status-attr:migstat",
               "os-vol-mig-status-attr:name_id"}


@pytest.fixture(scope="module")
def http(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack") as client:
        yield client


@pytest.fixture(scope="module")
def admin_http(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-admin") as client:
        yield client


@pytest.fixture(scope="module")
def alt_http(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-alt") as client:
        yield client


def _delete(client: httpx.Client, volume_id: str) -> None:
    wait_volume(client, volume_id, ("available", "error"))
    r = client.delete(f"volumes/{volume_id}")
    assert r.status_code in (202, 404), r.text
    wait_gone(client, volume_id)


def test_sdk_create_becomes_available_and_deletes(demo: Any) -> None:
    vol = demo.block_storage.create_volume(size=1, name="vv-sdk", description="d", metadata={"k": "v"})
    try:
        assert vol.status == "creating" and vol.size == 1
        vol = demo.block_storage.wait_for_status(vol, "available", failures=["error"], wait=60)
        assert vol.name == "vv-sdk" and vol.description == "d" and vol.metadata == {"k": "v"}
        assert vol.volume_type == "__DEFAULT__" and vol.is_bootable is False
        assert vol.availability_zone == "nova" and vol.attachments == []
        assert vol.id in [v.id for v in demo.block_storage.volumes(name="vv-sdk")]
    finally:
        demo.block_storage.delete_volume(vol.id)
    demo.block_storage.wait_for_delete(vol, wait=60)
    with pytest.raises(sdk_exc.NotFoundException):
        demo.block_storage.get_volume(vol.id)


def test_cli_create_list_show_delete(cloud: RunningCloud) -> None:
    made = cloud.cli("volume", "create", "--size", "1", "vv-cli", cloud="devstack")
    try:
        assert made["size"] == 1 and made["name"] == "vv-cli"
        with cinder(cloud, "devstack") as client:
            wait_volume(client, made["id"])
        listed = cloud.cli("volume", "list", cloud="devstack")
        assert made["id"] in [v["ID"] for v in listed]
        shown = cloud.cli("volume", "show", made["id"], cloud="devstack")
        assert shown["status"] == "available" and shown["bootable"] in ("false", False)
    finally:
        cloud.cli("volume", "delete", made["id"], cloud="devstack", json_out=False)
    with cinder(cloud, "devstack") as client:
        wait_gone(client, made["id"])


def test_view_fields_at_3_0_match_tempest_schema(cloud: RunningCloud, http: httpx.Client) -> None:
    with cinder(cloud, "devstack", microversion="3.0") as old:
        vol = create_volume(old, name="vv-view")
    try:
        assert set(vol) == MEMBER_KEYS  # the create answer has no extension attributes
        assert vol["bootable"] == "false" and vol["encrypted"] is False and vol["multiattach"] is False
        assert vol["consistencygroup_id"] is None and vol["replication_status"] == "disabled"
        assert vol["links"][0]["rel"] == "self" and vol["links"][0]["href"].endswith(f"/volumes/{vol['id']}")
        with cinder(cloud, "devstack", microversion="3.0") as old:
            shown = old.get(f"volumes/{vol['id']}").json()["volume"]
            assert set(shown) == MEMBER_KEYS | READER_EXTRA
            assert shown["os-vol-tenant-attr:tenant_id"] == cloud.sdk("devstack").current_project_id
            listed = old.get("volumes/detail", params={"name": "vv-view"}).json()["volumes"]
            assert [set(v) for v in listed] == [MEMBER_KEYS | READER_EXTRA]
        with cinder(cloud, "devstack-admin", microversion="3.0") as old_admin:
            as_admin = old_admin.get(f"volumes/{vol['id']}").json()["volume"]
            assert set(as_admin) == MEMBER_KEYS | READER_EXTRA | ADMIN_EXTRA
            assert as_admin["os-vol-tenant-attr:tenant_id"] == cloud.sdk("devstack").current_project_id
    finally:
        _delete(http, vol["id"])


def test_microversioned_fields(cloud: RunningCloud, http: httpx.Client, admin_http: httpx.Client) -> None:
    vol = create_volume(http, name="vv-mv")
    try:
        latest = wait_volume(http, vol["id"])
        assert latest["group_id"] is None and latest["service_uuid"] is None and latest["shared_targets"] is False
        assert latest["consumes_quota"] is True and latest["encryption_key_id"] is None
        assert latest["volume_type_id"]
        assert "provider_id" not in latest and "cluster_name" not in latest  # admin only
        as_admin = admin_http.get(f"volumes/{vol['id']}").json()["volume"]
        assert "provider_id" in as_admin and "cluster_name" in as_admin
        assert as_admin["os-vol-host-attr:host"].count("@") == 1 and "#" in as_admin["os-vol-host-attr:host"]
        with cinder(cloud, "devstack", microversion="3.12") as v312:
            before_3_13 = v312.get(f"volumes/{vol['id']}").json()["volume"]
            assert "group_id" not in before_3_13 and "volume_type_id" not in before_3_13
    finally:
        _delete(http, vol["id"])


def test_list_filters_sorting_paging_and_count(http: httpx.Client) -> None:
    made = [create_volume(http, size=size, name=f"vv-list-{i}", metadata={"grp": "vv-list", "n": str(i)})
            for i, size in enumerate((1, 2, 1))]
    ids = [v["id"] for v in made]
    try:
        for v in made:
            wait_volume(http, v["id"])
        r = http.get("volumes/detail", params={"metadata": "{'grp': 'vv-list'}", "sort": "size:asc,name:desc"})
        assert r.status_code == 200, r.text
        names = [v["name"] for v in r.json()["volumes"]]
        assert names == ["vv-list-2", "vv-list-0", "vv-list-1"]
        assert [v["id"] for v in http.get("volumes", params={"name": "vv-list-1"}).json()["volumes"]] == [ids[1]]
        assert len(http.get("volumes", params={"name~": "vv-list-"}).json()["volumes"]) == 3
        assert [v["id"] for v in http.get("volumes/detail", params={"size": "2", "name~": "vv-list"})
                .json()["volumes"]] == [ids[1]]
        assert http.get("volumes", params={"status": "no-such-status"}).json()["volumes"] == []
        assert http.get("volumes", params={"bootable": "false", "name": "vv-list-0"}).json()["volumes"]
        # Pages by marker with next links, and with_count (3.45).
        first = http.get("volumes", params={"name~": "vv-list-", "limit": 2, "sort": "name:asc",
                                            "with_count": "true"}).json()
        assert [v["name"] for v in first["volumes"]] == ["vv-list-0", "vv-list-1"] and first["count"] == 3
        next_href = first["volumes_links"][0]["href"]
        assert "marker=" in next_href and next_href.startswith(str(http.base_url).rstrip("/") + "/volumes?")
        second = http.get("volumes", params={"name~": "vv-list-", "limit": 2, "sort": "name:asc",
                                             "marker": first["volumes"][-1]["id"]}).json()
        assert [v["name"] for v in second["volumes"]] == ["vv-list-2"] and "volumes_links" not in second
        offset = http.get("volumes", params={"name~": "vv-list-", "sort": "name:asc", "offset": 1}).json()
        assert [v["name"] for v in offset["volumes"]] == ["vv-list-1", "vv-list-2"]
        # Bad list parameters are Cinder's 400s.
        for params, fragment in (({"sort": "bogus:asc"}, "Invalid sort key"),
                                 ({"sort": "name:sideways"}, "Unknown sort direction"),
                                 ({"limit": "x"}, "limit param must be an integer"),
                                 ({"frobnicate": "1"}, "Invalid filter keys"),
                                 ({"marker": "8a1b7c7e-0000-4000-8000-000000000000"}, "could not be found")):
            r = http.get("volumes", params=params)
            assert r.status_code in (400, 404), (params, r.text)
            assert fragment in error_of(r)["message"], r.text
    finally:
        for vid in ids:
            _delete(http, vid)


def test_created_at_filter_3_60(http: httpx.Client) -> None:
    vol = create_volume(http, name="vv-time")
    try:
        created = vol["created_at"][:19]
        found = http.get("volumes", params={"created_at": f"gte:{created}", "name": "vv-time"}).json()["volumes"]
        assert [v["id"] for v in found] == [vol["id"]]
        assert http.get("volumes", params={"created_at": f"lt:{created}", "name": "vv-time"}).json()["volumes"] == []
    finally:
        _delete(http, vol["id"])


def test_created_at_orders_volumes_made_within_one_second(http: httpx.Client) -> None:
    """Volumes made back to back (within one second) list in creation order by created_at, and a
    marker walks them in that order (Tempest's sort/marker tests): the stamp keeps microseconds."""
    made = [create_volume(http, name=f"vv-order-{i}")["id"] for i in range(4)]
    try:
        listed = http.get("volumes/detail", params={"name~": "vv-order-", "sort": "created_at:asc"}).json()["volumes"]
        stamps = [v["created_at"] for v in listed]
        assert [v["id"] for v in listed] == made and stamps == sorted(set(stamps)), stamps
        newest_first = http.get("volumes", params={"name~": "vv-order-", "sort": "created_at:desc"}).json()
        assert [v["id"] for v in newest_first["volumes"]] == made[::-1]
        walked: list[str] = []
        marker: str | None = None
        for _ in made:
            params: dict[str, Any] = {"name~": "vv-order-", "sort_key": "created_at", "sort_dir": "desc", "limit": 1}
            page = http.get("volumes", params={**params, **({"marker": marker} if marker else {})}).json()["volumes"]
            walked += [v["id"] for v in page]
            marker = page[-1]["id"]
        assert walked == made[::-1]
    finally:
        for vid in made:
            _delete(http, vid)


def test_type_availability_zones_checked_at_create(http: httpx.Client, admin_http: httpx.Client) -> None:
    """A type's ``RESKEY:availability_zones`` restricts where its volumes go, checked by the API
    as Cinder's create flow does (400, nothing made)."""
    made = admin_http.post("types", json={"volume_type": {
        "name": "vv-zoned", "extra_specs": {"RESKEY:availability_zones": "az-nowhere"}}})
    assert made.status_code == 200, made.text
    type_id = made.json()["volume_type"]["id"]
    try:
        r = http.post("volumes", json={"volume": {"size": 1, "volume_type": "vv-zoned", "name": "vv-zoned"}})
        assert error_of(r, "badRequest")["message"] == (
            "Volume type is only supported in these availability zones: ['az-nowhere']")
        r = admin_http.post(f"types/{type_id}/extra_specs",
                            json={"extra_specs": {"RESKEY:availability_zones": "az-nowhere, nova"}})
        assert r.status_code == 200, r.text
        r = http.post("volumes", json={"volume": {"size": 1, "volume_type": "vv-zoned", "name": "vv-zoned",
                                                  "availability_zone": "az-nowhere"}})
        assert error_of(r, "badRequest")["message"] == "Availability zone 'az-nowhere' is invalid."
        assert http.get("volumes", params={"name": "vv-zoned"}).json()["volumes"] == []
        vol = create_volume(http, volume_type="vv-zoned", name="vv-zoned")
        assert vol["availability_zone"] == "nova"
        _delete(http, vol["id"])
    finally:
        admin_http.delete(f"types/{type_id}")


def test_update_name_description_metadata_and_aliases(http: httpx.Client) -> None:
    vol = create_volume(http, name="vv-upd", metadata={"a": "1"})
    try:
        r = http.put(f"volumes/{vol['id']}", json={"volume": {"name": "vv-upd2", "description": "x",
                                                               "metadata": {"b": "2"}}})
        assert r.status_code == 200, r.text
        body = r.json()["volume"]
        assert body["name"] == "vv-upd2" and body["description"] == "x" and body["metadata"] == {"b": "2"}
        r = http.put(f"volumes/{vol['id']}", json={"volume": {"display_name": "vv-upd3",
                                                               "display_description": "y"}})
        assert r.json()["volume"]["name"] == "vv-upd3" and r.json()["volume"]["description"] == "y"
        for body, fragment in (({"volume": {"size": 5}}, "size"),
                               ({"volume": {"name": "n" * 256}}, "name"),
                               ({"volume": {"metadata": {"k": 1}}}, "is not of type 'string'")):
            r = http.put(f"volumes/{vol['id']}", json=body)
            assert r.status_code == 400, r.text
            assert fragment in error_of(r, "badRequest")["message"], r.text
        shown = http.get(f"volumes/{vol['id']}").json()["volume"]
        assert shown["name"] == "vv-upd3" and shown["metadata"] == {"b": "2"}
    finally:
        _delete(http, vol["id"])


def test_create_bad_input_is_cinders_400(http: httpx.Client) -> None:
    before = http.get("volumes").json()["volumes"]
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"volume": {"size": 0}}, 400, "size"),
        ({"volume": {"size": -1}}, 400, "size"),
        ({"volume": {"size": "abc"}}, 400, "size"),
        ({"volume": {"size": 1.5}}, 400, "size"),
        ({"volume": {}}, 400, "Volume size 'None' must be an integer and greater than 0"),
        ({"volume": {"size": 1, "name": "n" * 256}}, 400, "name"),
        ({"volume": {"size": 1, "metadata": {"k": 5}}}, 400, "is not of type 'string'"),
        ({"volume": {"size": 1, "availability_zone": "nowhere"}}, 400, "Availability zone 'nowhere' is invalid."),
        ({"volume": {"size": 1, "volume_type": "no-such-type"}}, 404,
         "Volume type with name no-such-type could not be found."),
        ({"volume": {"size": 1, "snapshot_id": "8a1b7c7e-0000-4000-8000-000000000001"}}, 404,
         "Snapshot 8a1b7c7e-0000-4000-8000-000000000001 could not be found."),
        ({"volume": {"size": 1, "source_volid": "8a1b7c7e-0000-4000-8000-000000000002"}}, 404,
         "Volume 8a1b7c7e-0000-4000-8000-000000000002 could not be found."),
        ({"volum": {"size": 1}}, 400, "volume"),
        ({"volume": {"snapshot_id": "8a1b7c7e-0000-4000-8000-000000000001",
                     "source_volid": "8a1b7c7e-0000-4000-8000-000000000002"}}, 400,
         "May specify only one of backup, imageRef, snapshot, source volume"),
        ({"volume": {"size": 1, "imageRef": "8a1b7c7e-0000-4000-8000-000000000003",
                     "source_volid": "8a1b7c7e-0000-4000-8000-000000000002"}}, 400,
         "May specify only one of backup, imageRef, snapshot, source volume"),
    ]
    for body, status, fragment in cases:
        r = http.post("volumes", json=body)
        assert r.status_code == status, (body, r.text)
        assert fragment in error_of(r)["message"], (body, r.text)
    assert http.get("volumes").json()["volumes"] == before


def test_delete_state_checks_cascade_and_force(cloud: RunningCloud, http: httpx.Client,
                                               admin_http: httpx.Client) -> None:
    vol = create_volume(http, name="vv-del")
    wait_volume(http, vol["id"])
    # Not deletable in a state Cinder refuses (admin sets one through the volumes table's own API
    # only via actions, which are another helper's; an unknown query flag is refused instead).
    r = http.delete(f"volumes/{vol['id']}", params={"cascade": "maybe"})
    assert r.status_code == 400, r.text
    # force (3.23) is an admin's.
    r = http.delete(f"volumes/{vol['id']}", params={"force": "true"})
    assert r.status_code == 403, r.text
    assert http.get(f"volumes/{vol['id']}").json()["volume"]["status"] == "available"
    r = admin_http.delete(f"volumes/{vol['id']}", params={"force": "true", "cascade": "true"})
    assert r.status_code == 202, r.text
    wait_gone(http, vol["id"])
    r = http.delete(f"volumes/{vol['id']}")
    assert r.status_code == 404
    assert error_of(r, "itemNotFound")["message"] == f"Volume {vol['id']} could not be found."


def test_delete_while_creating_is_refused(http: httpx.Client) -> None:
    vol = create_volume(http, name="vv-creating")
    r = http.delete(f"volumes/{vol['id']}")
    # Either still creating (Cinder's 400) or already available (202): never a 5xx.
    if r.status_code == 400:
        assert "status must be available or error" in error_of(r)["message"]
        _delete(http, vol["id"])
    else:
        assert r.status_code == 202, r.text
        wait_gone(http, vol["id"])


def test_summary(cloud: RunningCloud, http: httpx.Client) -> None:
    made = [create_volume(http, size=s, name="vv-sum", metadata={"sumkey": f"v{s}"}) for s in (1, 2)]
    try:
        with cinder(cloud, "devstack", microversion="3.11") as old:
            assert old.get("volumes/summary").status_code == 404
        with cinder(cloud, "devstack", microversion="3.12") as v312:
            body = v312.get("volumes/summary").json()["volume-summary"]
            assert set(body) == {"total_size", "total_count"}
        body = http.get("volumes/summary").json()["volume-summary"]
        listed = http.get("volumes/detail").json()["volumes"]
        assert body["total_count"] == len(listed) and body["total_size"] == sum(v["size"] for v in listed)
        assert body["metadata"]["sumkey"] == ["v1", "v2"]
    finally:
        for v in made:
            _delete(http, v["id"])


def test_another_projects_volume_is_404_everywhere(http: httpx.Client, alt_http: httpx.Client,
                                                   admin_http: httpx.Client) -> None:
    vol = create_volume(http, name="vv-mine", metadata={"k": "v"})
    vid = vol["id"]
    try:
        for method, path, body in (("GET", f"volumes/{vid}", None),
                                   ("PUT", f"volumes/{vid}", {"volume": {"name": "stolen"}}),
                                   ("DELETE", f"volumes/{vid}", None),
                                   ("GET", f"volumes/{vid}/metadata", None),
                                   ("POST", f"volumes/{vid}/metadata", {"metadata": {"x": "y"}}),
                                   ("PUT", f"volumes/{vid}/metadata", {"metadata": {"x": "y"}}),
                                   ("GET", f"volumes/{vid}/metadata/k", None),
                                   ("PUT", f"volumes/{vid}/metadata/k", {"meta": {"k": "w"}}),
                                   ("DELETE", f"volumes/{vid}/metadata/k", None)):
            r = alt_http.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.text)
        assert vid not in [v["id"] for v in alt_http.get("volumes/detail").json()["volumes"]]
        assert vid not in [v["id"] for v in alt_http.get("volumes", params={"all_tenants": "1"}).json()["volumes"]]
        # A clone of it is refused as not found too.
        r = alt_http.post("volumes", json={"volume": {"source_volid": vid}})
        assert r.status_code == 404, r.text
        shown = http.get(f"volumes/{vid}").json()["volume"]
        assert shown["name"] == "vv-mine" and shown["metadata"] == {"k": "v"}
        # The admin sees it with all_tenants, and directly.
        assert vid in [v["id"] for v in admin_http.get("volumes", params={"all_tenants": "1"}).json()["volumes"]]
        assert vid not in [v["id"] for v in admin_http.get("volumes").json()["volumes"]]
        assert admin_http.get(f"volumes/{vid}").status_code == 200
        as_admin = admin_http.get(f"volumes/{vid}").json()["volume"]
        owner = as_admin["os-vol-tenant-attr:tenant_id"]
        narrowed = admin_http.get("volumes/detail", params={"all_tenants": "1", "project_id": owner}).json()
        assert vid in [v["id"] for v in narrowed["volumes"]]
        assert {v["os-vol-tenant-attr:tenant_id"] for v in narrowed["volumes"]} == {owner}
    finally:
        _delete(http, vid)


def test_project_in_url_must_be_callers(cloud: RunningCloud, alt: Any) -> None:
    with cinder(cloud, "devstack") as client:
        r = client.get(f"{cloud.base_url}/volume/v3/{alt.current_project_id}/volumes")
        assert r.status_code == 400 and error_of(r)["message"] == "Malformed request url"
    with cinder(cloud, "devstack", with_project=False) as bare:
        assert bare.get("volumes").status_code == 200


def test_empty_volume_id_is_404_not_a_redirect(http: httpx.Client) -> None:
    for method in ("GET", "PUT", "DELETE"):
        r = http.request(method, "volumes/", json={"volume": {"name": "x"}} if method == "PUT" else None)
        assert r.status_code == 404, (method, r.status_code, r.text)
        assert error_of(r, "itemNotFound")["message"] == "The resource could not be found."
