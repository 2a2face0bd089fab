"""Multiattach volumes end to end: DevStack's ``multiattach`` volume type made at first start,
the hosts' COMPUTE_VOLUME_MULTI_ATTACH trait, Cinder refusing the old body flag, one volume on
two servers through the ``openstack`` CLI at compute 2.60 (and Nova's 400 before it), detaching
one server or deleting it leaving the other attached, boot from a multiattach volume, retype
rules, and two servers racing for a volume that is not multiattach. One cloud of its own (two
fake hosts, the file volume backend).
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call, message, module_cloud
from tests.functional.test_compute_volumes import IMAGE, boot, guest_disks, new_volume, wait_server
from tests.functional.volume_support import cinder, error_of, get_volume, wait_gone, wait_volume

ccloud = module_cloud("compute-multiattach", {"ONESTACK_COMPUTE__HOSTS": "2"})

REMOVED = ("multiattach parameter has been removed. The default behavior is to use multiattach enabled volume "
           "types. Contact your administrator to create a multiattach enabled volume type and use it to create "
           "multiattach volumes.")
OLD_MICROVERSION = "Multiattach volumes are only supported starting with compute API version 2.60."


@pytest.fixture(scope="module")
def vol(ccloud: RunningCloud) -> httpx.Client:
    return cinder(ccloud, "devstack")


@pytest.fixture(scope="module")
def servers(cdemo: Any) -> list[Any]:
    return [boot(cdemo, f"ma-vm-{i}") for i in range(2)]


def attach(conn: Any, sid: str, volume_id: str, mv: str = "2.60") -> Any:
    return call(conn, "POST", f"/servers/{sid}/os-volume_attachments", mv, {"volumeAttachment": {"volumeId": volume_id}})


def volume_ids_on(ccloud: RunningCloud, cadmin: Any, sid: str) -> set[str]:
    return {d["data"]["volume_id"] for d in guest_disks(ccloud, cadmin, sid).values()}


def test_bootstrap_type_and_host_traits(ccloud: RunningCloud, cadmin: Any) -> None:
    shown = ccloud.cli("volume", "type", "show", "multiattach")
    assert shown["is_public"] is True
    assert shown["properties"] == {"multiattach": "<is> True"}
    # Every compute node's provider says it can share a volume (Nova's supports_multiattach).
    def traited() -> Any:
        providers = call(cadmin, "GET", "/resource_providers", service="placement",
                         headers={"OpenStack-API-Version": "placement 1.18"}).json()["resource_providers"]
        with_trait = call(cadmin, "GET", "/resource_providers?required=COMPUTE_VOLUME_MULTI_ATTACH", service="placement",
                          headers={"OpenStack-API-Version": "placement 1.18"}).json()["resource_providers"]
        return len(providers) == 2 and {p["uuid"] for p in with_trait} == {p["uuid"] for p in providers}
    wait_until(traited, timeout=60, what="both hosts' providers with COMPUTE_VOLUME_MULTI_ATTACH")


@pytest.mark.parametrize("mv", ["3.0", "3.50", "3.71"])
def test_create_body_flag_refused(vol: httpx.Client, mv: str) -> None:
    name = f"ma-refused-{mv}"
    for flag in (True, "true"):
        resp = vol.post("volumes", json={"volume": {"size": 1, "name": name, "multiattach": flag}},
                        headers={"OpenStack-API-Version": f"volume {mv}"})
        assert resp.status_code == 400, resp.text
        assert error_of(resp, "badRequest")["message"] == REMOVED
    assert vol.get("volumes", params={"name": name}).json()["volumes"] == []
    # A false flag is no request for sharing: the volume is made, from the type (not multiattach).
    made = vol.post("volumes", json={"volume": {"size": 1, "multiattach": False}},
                    headers={"OpenStack-API-Version": f"volume {mv}"})
    assert made.status_code == 202, made.text
    assert wait_volume(vol, made.json()["volume"]["id"])["multiattach"] is False
    assert vol.delete(f"volumes/{made.json()['volume']['id']}").status_code == 202


def test_one_volume_on_two_servers(ccloud: RunningCloud, cadmin: Any, cdemo: Any, vol: httpx.Client,
                                   servers: list[Any]) -> None:
    made = ccloud.cli("volume", "create", "--type", "multiattach", "--size", "1", "ma-shared", cloud="devstack")
    assert made["multiattach"] is True and made["type"] == "multiattach"
    volume = wait_volume(vol, made["id"])
    one, two = servers
    # Before 2.60 Nova will not attach a multiattach volume at all, even the first time.
    old = attach(cdemo, one.id, volume["id"], "2.59")
    assert old.status_code == 400 and message(old) == OLD_MICROVERSION, old.text
    assert get_volume(vol, volume["id"])["status"] == "available"  # type: ignore[index]
    for server in servers:
        ccloud.cli("--os-compute-api-version", "2.60", "server", "add", "volume", server.id, volume["id"],
                   cloud="devstack", json_out=False)
    shared = wait_volume(vol, volume["id"], "in-use")
    assert sorted(a["server_id"] for a in shared["attachments"]) == sorted([one.id, two.id])
    assert len({a["attachment_id"] for a in shared["attachments"]}) == 2
    # The fake driver holds a connection on each guest.
    for server in servers:
        assert volume["id"] in volume_ids_on(ccloud, cadmin, server.id)
    # Again on the same server: Nova's 400, nothing added.
    again = attach(cdemo, one.id, volume["id"])
    assert again.status_code == 400, again.text
    assert len(get_volume(vol, volume["id"])["attachments"]) == 2  # type: ignore[index]
    # Detaching one server keeps the other's attachment and the volume in-use.
    ccloud.cli("server", "remove", "volume", one.id, volume["id"], cloud="devstack", json_out=False)
    def one_left() -> Any:
        v = get_volume(vol, volume["id"])
        return v if v and len(v["attachments"]) == 1 else None
    left = wait_until(one_left, timeout=60, what="one attachment left")
    assert left["status"] == "in-use" and left["attachments"][0]["server_id"] == two.id
    assert volume["id"] not in volume_ids_on(ccloud, cadmin, one.id)
    assert volume["id"] in volume_ids_on(ccloud, cadmin, two.id)
    # Attach it back to the first, then delete the second server: only its attachment goes.
    assert attach(cdemo, one.id, volume["id"]).status_code == 200
    wait_until(lambda: len(get_volume(vol, volume["id"])["attachments"]) == 2,  # type: ignore[index]
               timeout=60, what="two attachments again")
    third = boot(cdemo, "ma-vm-doomed")
    assert attach(cdemo, third.id, volume["id"]).status_code == 200
    cdemo.compute.delete_server(third.id)
    cdemo.compute.wait_for_delete(third, wait=90)  # ``third`` itself: the delete may be done before a GET
    def two_left() -> Any:
        v = get_volume(vol, volume["id"])
        return v if v and sorted(a["server_id"] for a in v["attachments"]) == sorted([one.id, two.id]) else None
    assert wait_until(two_left, timeout=60, what="the deleted server's attachment gone")["status"] == "in-use"
    for server in servers:
        assert call(cdemo, "DELETE", f"/servers/{server.id}/os-volume_attachments/{volume['id']}").status_code == 202
    assert wait_volume(vol, volume["id"], "available")["attachments"] == []
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202


def test_retype_across_multiattach_only_when_available(cdemo: Any, vol: httpx.Client, servers: list[Any]) -> None:
    volume = new_volume(vol, "ma-retype")
    assert volume["multiattach"] is False
    retype = {"os-retype": {"new_type": "multiattach", "migration_policy": "never"}}
    assert attach(cdemo, servers[0].id, volume["id"]).status_code == 200
    wait_volume(vol, volume["id"], "in-use")
    refused = vol.post(f"volumes/{volume['id']}/action", json=retype)
    assert refused.status_code == 400, refused.text
    assert "retypes affecting multiattach are only allowed on available volumes" in error_of(refused)["message"]
    assert get_volume(vol, volume["id"])["multiattach"] is False  # type: ignore[index]
    assert call(cdemo, "DELETE", f"/servers/{servers[0].id}/os-volume_attachments/{volume['id']}").status_code == 202
    wait_volume(vol, volume["id"], "available")
    assert vol.post(f"volumes/{volume['id']}/action", json=retype).status_code == 202
    retyped = wait_until(lambda: (v := get_volume(vol, volume["id"])) and v["volume_type"] == "multiattach" and v,
                         timeout=60, what="retyped to multiattach")
    assert retyped["multiattach"] is True
    back = vol.post(f"volumes/{volume['id']}/action", json={"os-retype": {"new_type": "__DEFAULT__"}})
    assert back.status_code == 202, back.text
    wait_until(lambda: get_volume(vol, volume["id"])["multiattach"] is False,  # type: ignore[index]
               timeout=60, what="retyped back")
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202


def test_boot_from_multiattach_volume(cdemo: Any, vol: httpx.Client) -> None:
    image = cdemo.image.find_image(IMAGE, ignore_missing=False)
    volume = new_volume(vol, "ma-root", volume_type="multiattach", imageRef=image.id)
    assert volume["multiattach"] is True and volume["bootable"] == "true"
    flavor = cdemo.compute.find_flavor("m1.tiny", ignore_missing=False)
    body = {"server": {"name": "ma-bfv", "flavorRef": flavor.id, "networks": "none", "block_device_mapping_v2": [
        {"source_type": "volume", "destination_type": "volume", "uuid": volume["id"], "boot_index": 0}]}}
    old = call(cdemo, "POST", "/servers", "2.59", body)
    assert old.status_code == 400 and message(old) == OLD_MICROVERSION, old.text
    assert get_volume(vol, volume["id"])["status"] == "available"  # type: ignore[index]
    made = call(cdemo, "POST", "/servers", "2.60", body)
    assert made.status_code == 202, made.text
    sid = made.json()["server"]["id"]
    wait_server(cdemo, sid, "ACTIVE")
    assert [a["server_id"] for a in wait_volume(vol, volume["id"], "in-use")["attachments"]] == [sid]
    cdemo.compute.delete_server(sid)
    assert wait_volume(vol, volume["id"], "available")["attachments"] == []
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202
    wait_gone(vol, volume["id"])


def test_two_servers_race_for_a_volume_that_is_not_multiattach(cdemo: Any, vol: httpx.Client,
                                                               servers: list[Any]) -> None:
    """Both attach at once: exactly one wins, the other gets a 400 and keeps no mapping."""
    volume = new_volume(vol, "ma-race")
    codes: dict[str, int] = {}

    def go(sid: str) -> None:
        codes[sid] = attach(cdemo, sid, volume["id"]).status_code

    threads = [threading.Thread(target=go, args=(s.id,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes.values()) == [200, 400], codes
    [winner] = [sid for sid, code in codes.items() if code == 200]
    [loser] = [sid for sid, code in codes.items() if code == 400]
    in_use = wait_volume(vol, volume["id"], "in-use")
    assert [a["server_id"] for a in in_use["attachments"]] == [winner]
    listed = call(cdemo, "GET", f"/servers/{loser}/os-volume_attachments").json()["volumeAttachments"]
    assert volume["id"] not in [a["volumeId"] for a in listed]
    assert call(cdemo, "DELETE", f"/servers/{winner}/os-volume_attachments/{volume['id']}").status_code == 202
    wait_volume(vol, volume["id"], "available")
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202
