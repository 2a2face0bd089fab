"""Generic volume groups on a running cloud: group types and specs, groups with real volumes
(add, remove, delete with delete-volumes), reset_status, and what members may not do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.volume_catalog_support import client, fault, unique
from tests.functional.volume_support import (
    cinder,
    create_volume,
    get_volume,
    wait_gone,
    wait_volume,
)


@pytest.fixture(scope="module")
def adm(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with client(cloud) as c:
        yield c


@pytest.fixture(scope="module")
def mem(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with client(cloud, "devstack") as c:
        yield c


def _group_type(adm: httpx.Client, **fields: Any) -> dict[str, Any]:
    r = adm.post("/group_types", json={"group_type": {"name": unique("gt"), **fields}})
    assert r.status_code == 202, r.text
    return dict(r.json()["group_type"])


def test_group_types_and_specs(cloud: RunningCloud, adm: httpx.Client, mem: httpx.Client) -> None:
    gt = _group_type(adm, description="consistent", group_specs={"consistent_group_snapshot_enabled": "<is> False"})
    assert gt["group_specs"] == {"consistent_group_snapshot_enabled": "<is> False"} and gt["is_public"] is True
    fault(adm.post("/group_types", json={"group_type": {"name": gt["name"]}}), "conflictingRequest", 409)
    assert adm.get(f"/group_types/{gt['id']}").json()["group_type"]["description"] == "consistent"
    assert gt["id"] in [t["id"] for t in mem.get("/group_types").json()["group_types"]]
    assert "group_specs" not in mem.get(f"/group_types/{gt['id']}").json()["group_type"]
    r = adm.put(f"/group_types/{gt['id']}", json={"group_type": {"description": "changed"}})
    assert r.status_code == 200 and r.json()["group_type"]["description"] == "changed"
    url = f"/group_types/{gt['id']}/group_specs"
    assert adm.post(url, json={"group_specs": {"k": "v"}}).status_code == 202
    assert adm.get(url).json()["group_specs"] == {"consistent_group_snapshot_enabled": "<is> False", "k": "v"}
    assert adm.put(f"{url}/k", json={"k": "w"}).json() == {"k": "w"}
    assert adm.get(f"{url}/k").json() == {"k": "w"}
    assert adm.delete(f"{url}/k").status_code == 202
    assert fault(adm.get(f"{url}/k"), "itemNotFound", 404) == f"Group Type {gt['id']} has no specs with key k."
    fault(mem.post("/group_types", json={"group_type": {"name": unique("m")}}), "forbidden", 403)
    fault(mem.get(url), "forbidden", 403)
    # Tempest's sort and is_public filters (admins choose; "None" is every type).
    private = _group_type(adm, name="b_" + unique("gt"), is_public=False)

    def ids(**p: str) -> list[str]:
        return [t["id"] for t in adm.get("/group_types", params=p).json()["group_types"]]

    assert private["id"] in ids(is_public="None") and gt["id"] in ids(is_public="None")
    assert private["id"] in ids(is_public="false") and gt["id"] not in ids(is_public="false")
    assert private["id"] not in ids(is_public="true") and gt["id"] in ids(is_public="true")
    assert private["id"] not in [t["id"] for t in mem.get("/group_types").json()["group_types"]]
    fault(mem.get(f"/group_types/{private['id']}"), "itemNotFound", 404)
    names = [t["name"] for t in adm.get("/group_types", params={"sort": "name:desc", "is_public": "None"})
             .json()["group_types"]]
    assert names == sorted(names, reverse=True)
    assert adm.delete(f"/group_types/{private['id']}").status_code == 202
    with client(cloud, version="3.10") as old:
        fault(old.get("/group_types"), "itemNotFound", 404)
    assert adm.delete(f"/group_types/{gt['id']}").status_code == 202
    fault(adm.get(f"/group_types/{gt['id']}"), "itemNotFound", 404)


def test_groups_with_volumes(cloud: RunningCloud, adm: httpx.Client) -> None:
    gt = _group_type(adm)
    vtype = adm.post("/types", json={"volume_type": {"name": unique("gvt")}}).json()["volume_type"]
    with cinder(cloud, "devstack") as demo:
        r = demo.post("groups", json={"group": {"name": "g1", "group_type": gt["id"], "volume_types": [vtype["name"]]}})
        assert r.status_code == 202, r.text
        gid = r.json()["group"]["id"]
        group = demo.get(f"groups/{gid}").json()["group"]
        assert group["status"] == "available" and group["volume_types"] == [vtype["id"]]
        assert group["group_type"] == gt["id"] and group["availability_zone"] == "nova"
        assert gid in [g["id"] for g in demo.get("groups").json()["groups"]]
        assert set(demo.get("groups/detail").json()["groups"][0]) >= {"status", "volume_types", "group_type"}
        fault(demo.post("groups", json={"group": {"name": "g2", "group_type": gt["id"]}}), "badRequest", 400)
        fault(demo.post("groups", json={"group": {"group_type": "nope", "volume_types": [vtype["id"]]}}),
              "itemNotFound", 404)
        # A volume created in the group, and one added to it.
        inside = create_volume(demo, size=1, volume_type=vtype["name"], group_id=gid)
        other = create_volume(demo, size=1, volume_type=vtype["name"])
        wrong_type = create_volume(demo, size=1)
        for v in (inside, other, wrong_type):
            wait_volume(demo, v["id"])
        assert demo.put(f"groups/{gid}", json={"group": {"add_volumes": other["id"], "name": "g1b"}}).status_code == 202
        fault(demo.put(f"groups/{gid}", json={"group": {"add_volumes": wrong_type["id"]}}), "badRequest", 400)
        fault(demo.put(f"groups/{gid}", json={"group": {}}), "badRequest", 400)
        shown = demo.get(f"groups/{gid}", params={"list_volume": "True"}).json()["group"]
        assert shown["name"] == "g1b" and set(shown["volumes"]) == {inside["id"], other["id"]}
        assert demo.put(f"groups/{gid}", json={"group": {"remove_volumes": other["id"]}}).status_code == 202
        assert demo.get(f"groups/{gid}", params={"list_volume": "1"}).json()["group"]["volumes"] == [inside["id"]]
        # Cinder's update rules: nothing that changes anything, one volume both ways, a group not available.
        msg = fault(demo.put(f"groups/{gid}", json={"group": {"name": "g1b", "add_volumes": inside["id"]}}),
                    "badRequest", 400)
        assert msg == (f"Invalid Group: Cannot update group {gid} because no valid name, description, add_volumes, "
                       "or remove_volumes were provided.")
        msg = fault(demo.put(f"groups/{gid}", json={"group": {"add_volumes": other["id"],
                                                              "remove_volumes": other["id"]}}), "badRequest", 400)
        assert msg == f"Invalid volume: UUIDs ['{other['id']}'] are in both add and remove volume list."
        with client(cloud) as admin:
            assert admin.post(f"/groups/{gid}/action",
                              json={"reset_status": {"status": "error"}}).status_code == 202
            msg = fault(demo.put(f"groups/{gid}", json={"group": {"name": "g1c"}}), "badRequest", 400)
            assert msg == "Invalid Group: Group status must be available, but current status is: error."
            assert admin.post(f"/groups/{gid}/action",
                              json={"reset_status": {"status": "available"}}).status_code == 202
        # A volume in a group is deleted with it, not on its own.
        fault(demo.delete(f"volumes/{inside['id']}"), "badRequest", 400)
        msg = fault(demo.post(f"groups/{gid}/action", json={"delete": {}}), "badRequest", 400)
        assert "delete-volumes flag is required" in msg
        fault(demo.post(f"groups/{gid}/action", json={"reset_status": {"status": "error"}}), "forbidden", 403)
        with client(cloud) as admin:
            # Tempest's cycle (3.20): each explicit status sticks; an unknown one is refused.
            for status in ("creating", "available", "error"):
                assert admin.post(f"/groups/{gid}/action",
                                  json={"reset_status": {"status": status}}).status_code == 202
                assert demo.get(f"groups/{gid}").json()["group"]["status"] == status
            fault(admin.post(f"/groups/{gid}/action", json={"reset_status": {"status": "bogus"}}), "badRequest", 400)
        assert demo.get(f"groups/{gid}").json()["group"]["status"] == "error"
        # Cinder's delete checks: an attached volume or one with snapshots keeps the group.
        att = f"volumes/{inside['id']}/action"
        assert demo.post(att, json={"os-attach": {"instance_uuid": "9c7d5b4e-0f5c-4d1a-9e0b-2f7f1d2b3c4a",
                                                  "mountpoint": "/dev/vdb"}}).status_code == 202
        msg = fault(demo.post(f"groups/{gid}/action", json={"delete": {"delete-volumes": True}}), "badRequest", 400)
        assert msg == f"Invalid Group: Volume in group {gid} is attached. Need to detach first."
        assert demo.post(att, json={"os-detach": {}}).status_code == 202
        wait_volume(demo, inside["id"])
        snap = demo.post("snapshots", json={"snapshot": {"volume_id": inside["id"]}}).json()["snapshot"]
        wait_until(lambda: demo.get(f"snapshots/{snap['id']}").json()["snapshot"]["status"] == "available",
                   timeout=60, what="snapshot available")
        msg = fault(demo.post(f"groups/{gid}/action", json={"delete": {"delete-volumes": True}}), "badRequest", 400)
        assert msg == "Invalid Group: Volume in group still has dependent snapshots."
        assert demo.delete(f"snapshots/{snap['id']}").status_code == 202
        wait_until(lambda: demo.get(f"snapshots/{snap['id']}").status_code == 404, timeout=60, what="snapshot gone")
        # With delete-volumes, any group status will do (here creating), as Cinder's.
        with client(cloud) as admin:
            assert admin.post(f"/groups/{gid}/action",
                              json={"reset_status": {"status": "creating"}}).status_code == 202
        assert demo.post(f"groups/{gid}/action", json={"delete": {"delete-volumes": True}}).status_code == 202
        fault(demo.get(f"groups/{gid}"), "itemNotFound", 404)
        wait_gone(demo, inside["id"])
        assert get_volume(demo, other["id"]) is not None
        for v in (other, wrong_type):
            demo.delete(f"volumes/{v['id']}")
            wait_gone(demo, v["id"])
    assert adm.delete(f"/group_types/{gt['id']}").status_code == 202


def test_groups_of_another_project(cloud: RunningCloud, adm: httpx.Client) -> None:
    gt = _group_type(adm)
    with cinder(cloud, "devstack") as demo, cinder(cloud, "devstack-alt") as alt:
        gid = demo.post("groups", json={"group": {"group_type": gt["id"], "volume_types": ["__DEFAULT__"]}}
                        ).json()["group"]["id"]
        fault(alt.get(f"groups/{gid}"), "itemNotFound", 404)
        fault(alt.put(f"groups/{gid}", json={"group": {"name": "x"}}), "itemNotFound", 404)
        fault(alt.post(f"groups/{gid}/action", json={"delete": {}}), "itemNotFound", 404)
        assert gid not in [g["id"] for g in alt.get("groups").json()["groups"]]
        # As Cinder, a group snapshot does not look at the group's status (only at its volumes').
        with client(cloud) as admin:
            assert admin.post(f"/groups/{gid}/action", json={"reset_status": {"status": "error"}}).status_code == 202
            r = demo.post("group_snapshots", json={"group_snapshot": {"group_id": gid}})
            assert r.status_code == 202, r.text
            gs_id = r.json()["group_snapshot"]["id"]
            assert demo.get(f"group_snapshots/{gs_id}").json()["group_snapshot"]["status"] == "available"  # empty
            assert demo.delete(f"group_snapshots/{gs_id}").status_code == 202
            fault(demo.get(f"group_snapshots/{gs_id}"), "itemNotFound", 404)
            assert admin.post(f"/groups/{gid}/action",
                              json={"reset_status": {"status": "available"}}).status_code == 202
        # The type is in use by the group.
        assert fault(adm.delete(f"/group_types/{gt['id']}"), "badRequest", 400) == "Target group type is still in use."
        with client(cloud) as admin:
            assert admin.post(f"/groups/{gid}/action",
                              json={"reset_status": {"status": "creating"}}).status_code == 202
        msg = fault(demo.post(f"groups/{gid}/action", json={"delete": {}}), "badRequest", 400)
        assert msg == "Invalid Group: Group status must be available or error, but current status is: creating"
        with client(cloud) as admin:
            assert admin.post(f"/groups/{gid}/action",
                              json={"reset_status": {"status": "available"}}).status_code == 202
        assert demo.post(f"groups/{gid}/action", json={"delete": {"delete-volumes": False}}).status_code == 202
    assert adm.delete(f"/group_types/{gt['id']}").status_code == 202


def test_group_snapshots(cloud: RunningCloud, adm: httpx.Client) -> None:
    gt = _group_type(adm)
    with cinder(cloud, "devstack") as demo, cinder(cloud, "devstack-alt") as alt:
        gid = demo.post("groups", json={"group": {"group_type": gt["id"], "volume_types": ["__DEFAULT__"]}}
                        ).json()["group"]["id"]
        vols = [create_volume(demo, size=1, group_id=gid) for _ in range(2)]
        for v in vols:
            wait_volume(demo, v["id"])
        r = demo.post("group_snapshots", json={"group_snapshot": {"group_id": gid, "name": "gs1"}})
        assert r.status_code == 202, r.text
        gs = r.json()["group_snapshot"]
        assert gs["group_type_id"] == gt["id"] and gs["name"] == "gs1"

        def available() -> dict[str, Any] | None:
            found: dict[str, Any] = demo.get(f"group_snapshots/{gs['id']}").json()["group_snapshot"]
            assert found["status"] != "error", found
            return found if found["status"] == "available" else None

        shown = wait_until(available, timeout=60, what="group snapshot available")
        assert shown["group_id"] == gid
        # reset_status (3.19, admin): an explicit status sticks, even creating with every
        # member snapshot available (the status is stored, not derived from the members).
        fault(demo.post(f"group_snapshots/{gs['id']}/action", json={"reset_status": {"status": "error"}}),
              "forbidden", 403)
        with client(cloud) as admin:
            for status in ("creating", "available", "error", "available"):
                r = admin.post(f"/group_snapshots/{gs['id']}/action", json={"reset_status": {"status": status}})
                assert r.status_code == 202, r.text
                assert demo.get(f"group_snapshots/{gs['id']}").json()["group_snapshot"]["status"] == status
            fault(admin.post(f"/group_snapshots/{gs['id']}/action", json={"reset_status": {"status": "bogus"}}),
                  "badRequest", 400)
        members = demo.get("snapshots/detail", params={"group_snapshot_id": gs["id"]}).json()["snapshots"]
        assert sorted(m["volume_id"] for m in members) == sorted(v["id"] for v in vols)
        assert {m["name"] for m in members} == {"gs1"}  # the member snapshots bear the group snapshot's name
        assert gs["id"] in [x["id"] for x in demo.get("group_snapshots").json()["group_snapshots"]]
        fault(alt.get(f"group_snapshots/{gs['id']}"), "itemNotFound", 404)
        # Its snapshots are the group snapshot's; the group cannot go while it exists.
        fault(demo.delete(f"snapshots/{members[0]['id']}"), "badRequest", 400)
        msg = fault(demo.post(f"groups/{gid}/action", json={"delete": {"delete-volumes": True}}), "badRequest", 400)
        assert msg == "Invalid Group: Group has existing snapshots."
        fault(demo.post("group_snapshots", json={"group_snapshot": {"group_id": "nope"}}), "itemNotFound", 404)
        # Groups made from the group snapshot and from the group: a copy of each volume, in the new group.
        copies = []
        for source in ({"group_snapshot_id": gs["id"]}, {"source_group_id": gid}):
            r = demo.post("groups/action", json={"create-from-src": {"name": unique("copy"), **source}})
            assert r.status_code == 202, r.text
            new_id = r.json()["group"]["id"]
            copies.append(new_id)
            made = demo.get("volumes/detail", params={"group_id": new_id}).json()["volumes"]
            assert len(made) == 2
            for v in made:
                wait_volume(demo, v["id"])
            shown = demo.get(f"groups/{new_id}").json()["group"]
            assert shown["status"] == "available" and shown["group_type"] == gt["id"]
            assert shown.get("group_snapshot_id") == source.get("group_snapshot_id")
            assert shown.get("source_group_id") == source.get("source_group_id")
        fault(demo.post("groups/action", json={"create-from-src": {"name": "x"}}), "badRequest", 400)
        # As Cinder, a group made from the group snapshot does not hold it (one being made would).
        assert demo.delete(f"group_snapshots/{gs['id']}").status_code == 202
        wait_until(lambda: demo.get(f"group_snapshots/{gs['id']}").status_code == 404, timeout=60,
                   what="group snapshot gone")
        assert demo.get(f"groups/{copies[0]}").json()["group"]["group_snapshot_id"] == gs["id"]
        for copy in copies:
            assert demo.post(f"groups/{copy}/action", json={"delete": {"delete-volumes": True}}).status_code == 202
            fault(demo.get(f"groups/{copy}"), "itemNotFound", 404)
        assert demo.get("snapshots", params={"group_snapshot_id": gs["id"]}).json()["snapshots"] == []
        assert demo.post(f"groups/{gid}/action", json={"delete": {"delete-volumes": True}}).status_code == 202
        for v in vols:
            wait_gone(demo, v["id"])
    assert adm.delete(f"/group_types/{gt['id']}").status_code == 202
