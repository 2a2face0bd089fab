"""Compute with block storage: attaching volumes to servers (os-volume_attachments, the CLI),
boot from volume (the CLI's ``--volume``, BDM v2 through openstacksdk), delete_on_termination,
two servers racing for one volume, and volumes following a server's moves. One cloud of its
own (two fake hosts, the file volume backend); volumes are checked through the block-storage API itself.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call, message, module_cloud
from tests.functional.test_volume_reimage import volume_head
from tests.functional.volume_support import (
    cinder,
    create_volume,
    get_volume,
    wait_gone,
    wait_volume,
)

IMAGE = "onestack-tiny-x86_64-disk"

ccloud = module_cloud("compute-volumes", {"ONESTACK_COMPUTE__HOSTS": "2"})


@pytest.fixture(scope="module")
def vol(ccloud: RunningCloud) -> httpx.Client:
    return cinder(ccloud, "devstack")


def boot(conn: Any, name: str, **kwargs: Any) -> Any:
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    if "block_device_mapping" not in kwargs and "image_id" not in kwargs:
        kwargs["image_id"] = conn.image.find_image(IMAGE, ignore_missing=False).id
    server = conn.compute.create_server(name=name, flavor_id=flavor.id, networks="none", **kwargs)
    return wait_server(conn, server.id, "ACTIVE")


def wait_server(conn: Any, sid: str, status: str) -> Any:
    def reached() -> Any:
        s = conn.compute.get_server(sid)
        assert s.status != "ERROR" or status == "ERROR", (s.status, s.fault)
        return s if s.status == status else None
    return wait_until(reached, timeout=90, what=f"server {sid} {status}")


def volume_status(vol: httpx.Client, volume_id: str) -> str:
    found = get_volume(vol, volume_id)
    assert found is not None, f"volume {volume_id} is gone"
    status: str = found["status"]
    return status


def new_volume(vol: httpx.Client, name: str, size: int = 1, **fields: Any) -> dict[str, Any]:
    made = create_volume(vol, size, name=name, **fields)
    return wait_volume(vol, made["id"])


@pytest.fixture(scope="module")
def server(cdemo: Any) -> Any:
    return boot(cdemo, "cv-vm")


def guest_disks(ccloud: RunningCloud, cadmin: Any, sid: str) -> dict[str, Any]:
    """The disks the fake driver plugged into the guest (its saved record): device -> connection_info."""
    host = cadmin.compute.get_server(sid).compute_host
    doc = json.loads((ccloud.data_dir / "compute" / host / "guests" / f"{sid}.json").read_text())
    return dict(doc["guest"]["volumes"])


def attachments(conn: Any, sid: str, mv: str = "2.89") -> list[dict[str, Any]]:
    resp = call(conn, "GET", f"/servers/{sid}/os-volume_attachments", mv)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["volumeAttachments"])


# --- attach / detach -------------------------------------------------------------------------

def test_attach_detach_raw(ccloud: RunningCloud, cadmin: Any, cdemo: Any, vol: httpx.Client, server: Any) -> None:
    volume = new_volume(vol, "cv-raw")
    resp = call(cdemo, "POST", f"/servers/{server.id}/os-volume_attachments", "2.89",
                {"volumeAttachment": {"volumeId": volume["id"], "tag": "data", "delete_on_termination": False}})
    assert resp.status_code == 200, resp.text
    att = resp.json()["volumeAttachment"]
    assert att["volumeId"] == volume["id"] and att["serverId"] == server.id and att["id"] == volume["id"]
    assert att["device"] == "/dev/vdb" and att["tag"] == "data" and att["delete_on_termination"] is False
    assert "attachment_id" not in att and "bdm_uuid" not in att
    in_use = wait_volume(vol, volume["id"], "in-use")
    assert [a["server_id"] for a in in_use["attachments"]] == [server.id]
    assert in_use["attachments"][0]["device"] == "/dev/vdb"
    plugged = guest_disks(ccloud, cadmin, server.id)["/dev/vdb"]
    assert plugged["driver_volume_type"] == "file" and plugged["data"]["volume_id"] == volume["id"]
    listed = attachments(cdemo, server.id)
    assert [(a["volumeId"], a["device"]) for a in listed] == [(volume["id"], "/dev/vdb")]
    assert listed[0]["attachment_id"] == in_use["attachments"][0]["attachment_id"] and "id" not in listed[0]
    shown = call(cdemo, "GET", f"/servers/{server.id}/os-volume_attachments/{volume['id']}", "2.70")
    assert shown.status_code == 200 and shown.json()["volumeAttachment"]["tag"] == "data"
    detail = call(cdemo, "GET", f"/servers/{server.id}", "2.3").json()["server"]
    assert detail["os-extended-volumes:volumes_attached"] == [{"id": volume["id"], "delete_on_termination": False}]
    # Attaching it again: Nova's 400, nothing changes.
    again = call(cdemo, "POST", f"/servers/{server.id}/os-volume_attachments",
                 body={"volumeAttachment": {"volumeId": volume["id"]}})
    assert again.status_code == 400, again.text
    assert len(attachments(cdemo, server.id)) == 1
    actions = [a["action"] for a in cdemo.compute.server_actions(server.id)]
    assert "attach_volume" in actions
    gone = call(cdemo, "DELETE", f"/servers/{server.id}/os-volume_attachments/{volume['id']}")
    assert gone.status_code == 202, gone.text
    assert wait_volume(vol, volume["id"], "available")["attachments"] == []
    assert attachments(cdemo, server.id) == []
    assert guest_disks(ccloud, cadmin, server.id) == {}
    assert "detach_volume" in [a["action"] for a in cdemo.compute.server_actions(server.id)]
    missing = call(cdemo, "DELETE", f"/servers/{server.id}/os-volume_attachments/{volume['id']}")
    assert missing.status_code == 404 and message(missing) == f"volume_id not found: {volume['id']}"
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202


def test_attach_cli(ccloud: RunningCloud, vol: httpx.Client, server: Any) -> None:
    volume = new_volume(vol, "cv-cli")
    ccloud.cli("server", "add", "volume", server.id, volume["id"], cloud="devstack", json_out=False)
    wait_volume(vol, volume["id"], "in-use")
    shown = ccloud.cli("volume", "show", volume["id"], cloud="devstack")
    assert shown["status"] == "in-use"
    ccloud.cli("server", "remove", "volume", server.id, volume["id"], cloud="devstack", json_out=False)
    wait_volume(vol, volume["id"], "available")
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202


def test_attach_errors(cdemo: Any, calt: Any, vol: httpx.Client, server: Any) -> None:
    base = f"/servers/{server.id}/os-volume_attachments"
    unknown = str(uuid.uuid4())
    missing = call(cdemo, "POST", base, body={"volumeAttachment": {"volumeId": unknown}})
    assert missing.status_code == 404 and message(missing) == f"Volume {unknown} could not be found."
    bad = call(cdemo, "POST", base, body={"volumeAttachment": {"volumeId": "not-a-uuid"}})
    assert bad.status_code == 400
    no_body = call(cdemo, "POST", base, body={"volumeAttachment": {}})
    assert no_body.status_code == 400
    # Another project's volume is not found, and another project's server neither.
    other = cinder_for(calt)
    theirs = create_volume(other, 1, name="cv-alt")
    wait_volume(other, theirs["id"])
    foreign = call(cdemo, "POST", base, body={"volumeAttachment": {"volumeId": theirs["id"]}})
    assert foreign.status_code == 404
    assert call(calt, "GET", base).status_code == 404
    assert other.delete(f"volumes/{theirs['id']}").status_code == 202


def extend_action(conn: Any, sid: str) -> dict[str, Any] | None:
    listed = call(conn, "GET", f"/servers/{sid}/os-instance-actions", "2.84")
    assert listed.status_code == 200, listed.text
    return next((a for a in listed.json()["instanceActions"] if a["action"] == "extend_volume"), None)


def finished_event(conn: Any, sid: str, request_id: str, name: str) -> dict[str, Any] | None:
    shown = call(conn, "GET", f"/servers/{sid}/os-instance-actions/{request_id}", "2.84")
    assert shown.status_code == 200, shown.text
    return next((e for e in shown.json()["instanceAction"]["events"]
                 if e["event"] == name and e["finish_time"]), None)


def test_extend_attached_volume_reaches_the_guest(ccloud: RunningCloud, cadmin: Any, cdemo: Any,
                                                  vol: httpx.Client, server: Any) -> None:
    """Tempest's VolumesExtendAttachedTest: block storage extends an in-use volume (3.42) and tells
    compute (volume-extended); the host resizes the guest's disk and records compute_extend_volume."""
    volume = new_volume(vol, "cv-grow")
    resp = call(cdemo, "POST", f"/servers/{server.id}/os-volume_attachments",
                body={"volumeAttachment": {"volumeId": volume["id"]}})
    assert resp.status_code == 200, resp.text
    device = resp.json()["volumeAttachment"]["device"]
    wait_volume(vol, volume["id"], "in-use")
    grown = vol.post(f"volumes/{volume['id']}/action", json={"os-extend": {"new_size": 2}},
                     headers={"OpenStack-API-Version": "volume 3.42"})
    assert grown.status_code == 202, grown.text
    assert wait_volume(vol, volume["id"], "in-use")["size"] == 2
    action = wait_until(lambda: extend_action(cdemo, server.id), timeout=60, what="extend_volume action")
    event = wait_until(lambda: finished_event(cadmin, server.id, action["request_id"], "compute_extend_volume"),
                       timeout=60, what="compute_extend_volume finished")
    assert event["result"] == "Success", event
    assert guest_disks(ccloud, cadmin, server.id)[device]["size_bytes"] == 2 * 1024**3
    assert call(cdemo, "DELETE", f"/servers/{server.id}/os-volume_attachments/{volume['id']}").status_code == 202
    wait_volume(vol, volume["id"], "available")
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202


def test_volume_extended_event_for_a_detached_volume(cadmin: Any, server: Any) -> None:
    """An event for a volume the server does not have: accepted, and the host's event succeeds
    with nothing to resize (Nova logs it), not an error."""
    resp = call(cadmin, "POST", "/os-server-external-events", "2.51",
                {"events": [{"name": "volume-extended", "server_uuid": server.id, "tag": str(uuid.uuid4())}]})
    assert resp.status_code == 200, resp.text
    request_id = resp.headers["x-openstack-request-id"]
    event = wait_until(lambda: finished_event(cadmin, server.id, request_id, "compute_extend_volume"),
                       timeout=60, what="compute_extend_volume finished")
    assert event["result"] == "Success", event


def test_update_and_swap(cadmin: Any, cdemo: Any, vol: httpx.Client, server: Any) -> None:
    """PUT os-volume_attachments: from 2.85 delete_on_termination changes; a swap (any PUT before
    2.85, a different volumeId after) is only Cinder's callback during a migration, as Tempest's
    TestVolumeSwap expects of Nova: 409 for a volume that is not migrating, nothing changed."""
    one, two = new_volume(vol, "cv-swap-1"), new_volume(vol, "cv-swap-2")
    base = f"/servers/{server.id}/os-volume_attachments"
    assert call(cdemo, "POST", base, body={"volumeAttachment": {"volumeId": one["id"]}}).status_code == 200
    wait_volume(vol, one["id"], "in-use")
    updated = call(cdemo, "PUT", f"{base}/{one['id']}", "2.85",
                   {"volumeAttachment": {"volumeId": one["id"], "delete_on_termination": True}})
    assert updated.status_code == 202, updated.text
    assert attachments(cdemo, server.id)[0]["delete_on_termination"] is True
    immutable = call(cdemo, "PUT", f"{base}/{one['id']}", "2.85",
                     {"volumeAttachment": {"volumeId": one["id"], "tag": "other"}})
    assert immutable.status_code == 400 and message(immutable) == "The tag property is not mutable"
    # A swap needs the swap rule (admin or service), for the same volume too before 2.85.
    assert call(cdemo, "PUT", f"{base}/{one['id']}", body={"volumeAttachment": {"volumeId": two["id"]}}) \
        .status_code == 403
    for mv, target in (("2.1", two["id"]), ("2.1", one["id"]), ("2.85", two["id"])):
        refused = call(cadmin, "PUT", f"{base}/{one['id']}", mv, {"volumeAttachment": {"volumeId": target}})
        assert refused.status_code == 409, (mv, refused.text)
        assert message(refused) == f"volume {one['id']} is not migrating; this API should only be called by Cinder"
    # Migrating, but onto a volume attached elsewhere (the volume view has no attach_status:
    # its attachments say it, as Nova's translation of it does): 400, nothing changed.
    admin_vol = cinder_for(cadmin)
    assert call(cdemo, "POST", base, body={"volumeAttachment": {"volumeId": two["id"]}}).status_code == 200
    wait_volume(vol, two["id"], "in-use")
    for migration in ("migrating", "none"):
        reset = admin_vol.post(f"volumes/{one['id']}/action", json={"os-reset_status": {"migration_status": migration}})
        assert reset.status_code == 202, reset.text
        if migration == "migrating":
            taken = call(cadmin, "PUT", f"{base}/{one['id']}", body={"volumeAttachment": {"volumeId": two["id"]}})
            assert taken.status_code == 400, taken.text
            assert message(taken) == "Invalid volume: New volume must be detached in order to swap."
    admin_vol.close()
    assert call(cdemo, "DELETE", f"{base}/{two['id']}").status_code == 202
    wait_volume(vol, two["id"], "available")
    unknown = str(uuid.uuid4())
    missing = call(cadmin, "PUT", f"{base}/{unknown}", body={"volumeAttachment": {"volumeId": two["id"]}})
    assert missing.status_code == 404 and message(missing) == f"Volume {unknown} could not be found."
    assert [a["volumeId"] for a in attachments(cdemo, server.id)] == [one["id"]]
    assert wait_volume(vol, one["id"], "in-use")["attachments"][0]["server_id"] == server.id
    assert wait_volume(vol, two["id"], "available")["attachments"] == []
    assert call(cdemo, "DELETE", f"{base}/{one['id']}").status_code == 202
    wait_volume(vol, one["id"], "available")
    for volume in (one, two):
        assert vol.delete(f"volumes/{volume['id']}").status_code == 202


def cinder_for(conn: Any) -> httpx.Client:
    endpoint = conn.session.get_endpoint(service_type="block-storage", interface="public")
    root = endpoint.rsplit("/v3", 1)[0] + "/v3"
    return httpx.Client(base_url=root + "/", timeout=60,
                        headers={"X-Auth-Token": conn.auth_token, "OpenStack-API-Version": "volume 3.71"})


def test_two_servers_one_volume(cdemo: Any, vol: httpx.Client, server: Any) -> None:
    """A volume that is not multiattach goes to one server; the other gets Nova's 400."""
    second = boot(cdemo, "cv-vm-2")
    volume = new_volume(vol, "cv-shared")
    first = call(cdemo, "POST", f"/servers/{server.id}/os-volume_attachments",
                 body={"volumeAttachment": {"volumeId": volume["id"]}})
    assert first.status_code == 200, first.text
    loser = call(cdemo, "POST", f"/servers/{second.id}/os-volume_attachments",
                 body={"volumeAttachment": {"volumeId": volume["id"]}})
    assert loser.status_code == 400, loser.text
    assert attachments(cdemo, second.id) == []
    in_use = wait_volume(vol, volume["id"], "in-use")
    assert [a["server_id"] for a in in_use["attachments"]] == [server.id]
    assert call(cdemo, "DELETE", f"/servers/{server.id}/os-volume_attachments/{volume['id']}").status_code == 202
    wait_volume(vol, volume["id"], "available")
    cdemo.compute.delete_server(second.id)
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202


def test_attached_volume_detached_when_server_deleted(cdemo: Any, vol: httpx.Client) -> None:
    doomed = boot(cdemo, "cv-doomed")
    keep = new_volume(vol, "cv-keep")
    drop = new_volume(vol, "cv-drop")
    for volume, dot in ((keep, False), (drop, True)):
        resp = call(cdemo, "POST", f"/servers/{doomed.id}/os-volume_attachments", "2.79",
                    {"volumeAttachment": {"volumeId": volume["id"], "delete_on_termination": dot}})
        assert resp.status_code == 200, resp.text
    detail = call(cdemo, "GET", f"/servers/{doomed.id}", "2.3").json()["server"]
    assert sorted((v["id"], v["delete_on_termination"]) for v in detail["os-extended-volumes:volumes_attached"]) \
        == sorted([(keep["id"], False), (drop["id"], True)])
    cdemo.compute.delete_server(doomed.id)
    wait_volume(vol, keep["id"], "available")
    wait_gone(vol, drop["id"])
    assert vol.delete(f"volumes/{keep['id']}").status_code == 202


# --- boot from volume ------------------------------------------------------------------------

def test_boot_from_volume_bdm_v2(ccloud: RunningCloud, cadmin: Any, cdemo: Any, vol: httpx.Client) -> None:
    image = cdemo.image.find_image(IMAGE, ignore_missing=False)
    bdm = [{"source_type": "image", "destination_type": "volume", "uuid": image.id, "boot_index": 0,
            "volume_size": 1, "delete_on_termination": True}]
    server = boot(cdemo, "cv-bfv", block_device_mapping=bdm)
    detail = call(cdemo, "GET", f"/servers/{server.id}", "2.3").json()["server"]
    assert detail["image"] == ""
    [root] = detail["os-extended-volumes:volumes_attached"]
    assert root["delete_on_termination"] is True
    volume = wait_volume(vol, root["id"], "in-use")
    assert volume["bootable"] == "true" and volume["attachments"][0]["server_id"] == server.id
    assert volume["attachments"][0]["device"] == "/dev/vda"
    assert guest_disks(ccloud, cadmin, server.id)["/dev/vda"]["data"]["volume_id"] == root["id"]
    # The root disk is the volume: placement holds no local disk for it (m1.tiny has 1 GB).
    allocations = call(cadmin, "GET", f"/allocations/{server.id}", service="placement").json()["allocations"]
    [held] = [a["resources"] for a in allocations.values()]
    assert held.get("DISK_GB", 0) == 0 and held["VCPU"] == 1
    # Rebuilt with the image its root volume was made from: the root stays the volume (before 2.93).
    rebuilt = call(cdemo, "POST", f"/servers/{server.id}/action", body={"rebuild": {"imageRef": image.id}})
    assert rebuilt.status_code == 202, rebuilt.text
    wait_server(cdemo, server.id, "ACTIVE")
    assert call(cdemo, "GET", f"/servers/{server.id}").json()["server"]["image"] == ""
    wait_until(lambda: guest_disks(ccloud, cadmin, server.id).get("/dev/vda"), timeout=30, what="root disk kept")
    # The root volume cannot be detached.
    root_detach = call(cdemo, "DELETE", f"/servers/{server.id}/os-volume_attachments/{root['id']}")
    assert root_detach.status_code == 400
    cdemo.compute.delete_server(server.id)
    wait_gone(vol, root["id"], timeout=90)


def test_boot_from_existing_volume_cli(ccloud: RunningCloud, cdemo: Any, vol: httpx.Client) -> None:
    image = cdemo.image.find_image(IMAGE, ignore_missing=False)
    volume = new_volume(vol, "cv-bootable", imageRef=image.id)
    made = ccloud.cli("server", "create", "--flavor", "m1.tiny", "--volume", volume["id"], "--no-network",
                      "cv-bfv-cli", cloud="devstack")
    server = wait_server(cdemo, made["id"], "ACTIVE")
    assert wait_volume(vol, volume["id"], "in-use")["attachments"][0]["server_id"] == server.id
    cdemo.compute.delete_server(server.id)
    # Not delete_on_termination: the volume stays, detached.
    wait_volume(vol, volume["id"], "available", timeout=90)
    assert get_volume(vol, volume["id"]) is not None
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202


def test_boot_from_volume_errors(cdemo: Any) -> None:
    flavor = cdemo.compute.find_flavor("m1.tiny", ignore_missing=False)
    unknown = str(uuid.uuid4())
    body = {"server": {"name": "cv-bad", "flavorRef": flavor.id, "networks": "none", "imageRef": "",
                       "block_device_mapping_v2": [{"source_type": "volume", "destination_type": "volume",
                                                    "uuid": unknown, "boot_index": 0}]}}
    resp = call(cdemo, "POST", "/servers", "2.37", body)
    assert resp.status_code == 400 and unknown in message(resp), resp.text
    blank = {"server": {"name": "cv-bad", "flavorRef": flavor.id, "networks": "none", "imageRef": "",
                        "block_device_mapping_v2": [{"source_type": "blank", "destination_type": "volume",
                                                     "boot_index": 0}]}}
    resp = call(cdemo, "POST", "/servers", "2.37", blank)
    assert resp.status_code == 400, resp.text
    assert not [s for s in cdemo.compute.servers() if s.name == "cv-bad"]


def test_boot_from_non_bootable_volume(cdemo: Any, vol: httpx.Client) -> None:
    """Nova refuses a boot_index 0 volume whose ``bootable`` is false, before anything is made."""
    volume = new_volume(vol, "cv-not-bootable")
    assert volume["bootable"] == "false"
    flavor = cdemo.compute.find_flavor("m1.tiny", ignore_missing=False)
    body = {"server": {"name": "cv-nonboot", "flavorRef": flavor.id, "networks": "none", "imageRef": "",
                       "block_device_mapping_v2": [{"source_type": "volume", "destination_type": "volume",
                                                    "uuid": volume["id"], "boot_index": 0}]}}
    resp = call(cdemo, "POST", "/servers", "2.37", body)
    assert resp.status_code == 400, resp.text
    assert message(resp) == f"Block Device {volume['id']} is not bootable."
    assert not [s for s in cdemo.compute.servers() if s.name == "cv-nonboot"]
    assert volume_status(vol, volume["id"]) == "available"
    # Marked bootable, the same request boots.
    marked = vol.post(f"volumes/{volume['id']}/action", json={"os-set_bootable": {"bootable": True}})
    assert marked.status_code == 200, marked.text
    resp = call(cdemo, "POST", "/servers", "2.37", body)
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    wait_server(cdemo, sid, "ACTIVE")
    cdemo.compute.delete_server(sid)
    wait_volume(vol, volume["id"], "available", timeout=90)
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202


# --- os-assisted-volume-snapshots (admin; Cinder's remotefs drivers) ---------------------------

def test_assisted_volume_snapshots(cadmin: Any, cdemo: Any, vol: httpx.Client, server: Any) -> None:
    volume = new_volume(vol, "cv-assisted")
    snap_id = str(uuid.uuid4())
    create = {"snapshot": {"volume_id": volume["id"],
                           "create_info": {"snapshot_id": snap_id, "type": "qcow2", "new_file": "new_file"}}}
    # Not attached to any server: Nova's 400.
    resp = call(cadmin, "POST", "/os-assisted-volume-snapshots", body=create)
    assert resp.status_code == 400, resp.text
    assert message(resp) == f"No volume Block Device Mapping with id {volume['id']}."
    assert call(cdemo, "POST", f"/servers/{server.id}/os-volume_attachments",
                body={"volumeAttachment": {"volumeId": volume["id"]}}).status_code == 200
    # Admin (or service) only.
    assert call(cdemo, "POST", "/os-assisted-volume-snapshots", body=create).status_code == 403
    resp = call(cadmin, "POST", "/os-assisted-volume-snapshots", body=create)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"snapshot": {"id": None, "volumeId": volume["id"]}}  # Nova: create_info's id
    with_id = json.loads(json.dumps(create))
    with_id["snapshot"]["create_info"]["id"] = snap_id
    assert call(cadmin, "POST", "/os-assisted-volume-snapshots", body=with_id).json() == \
        {"snapshot": {"id": snap_id, "volumeId": volume["id"]}}
    for bad in ({"snapshot": {"volume_id": volume["id"]}},
                {"snapshot": {"volume_id": volume["id"], "create_info": {"snapshot_id": snap_id, "type": "raw",
                                                                          "new_file": "f"}}},
                {"snapshot": {"volume_id": volume["id"], "create_info": {"type": "qcow2", "new_file": "f"}}}):
        assert call(cadmin, "POST", "/os-assisted-volume-snapshots", body=bad).status_code == 400, bad
    info = json.dumps({"volume_id": volume["id"]})
    resp = call(cadmin, "DELETE", f"/os-assisted-volume-snapshots/{snap_id}", params={"delete_info": info})
    assert resp.status_code == 204, resp.text
    assert call(cdemo, "DELETE", f"/os-assisted-volume-snapshots/{snap_id}",
                params={"delete_info": info}).status_code == 403
    assert call(cadmin, "DELETE", f"/os-assisted-volume-snapshots/{snap_id}").status_code == 400
    assert call(cadmin, "DELETE", f"/os-assisted-volume-snapshots/{snap_id}",
                params={"delete_info": "{not json"}).status_code == 400
    unknown = json.dumps({"volume_id": str(uuid.uuid4())})
    assert call(cadmin, "DELETE", f"/os-assisted-volume-snapshots/{snap_id}",
                params={"delete_info": unknown}).status_code == 400
    assert call(cdemo, "DELETE", f"/servers/{server.id}/os-volume_attachments/{volume['id']}").status_code == 202
    wait_volume(vol, volume["id"], "available")
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202


# --- Nova's volume proxies (os-volumes, os-snapshots; up to 2.35) ------------------------------

def test_os_volumes_proxy(cdemo: Any, vol: httpx.Client, server: Any) -> None:
    made = call(cdemo, "POST", "/os-volumes", "2.35",
                {"volume": {"size": 1, "display_name": "cv-proxy", "display_description": "via nova",
                            "metadata": {"k": "v"}}})
    assert made.status_code == 200, made.text
    volume = made.json()["volume"]
    assert volume["displayName"] == "cv-proxy" and volume["displayDescription"] == "via nova"
    assert volume["size"] == 1 and volume["metadata"] == {"k": "v"} and volume["attachments"] == [{}]
    assert set(volume) == {"id", "status", "size", "availabilityZone", "createdAt", "attachments", "displayName",
                           "displayDescription", "volumeType", "snapshotId", "metadata"}
    wait_volume(vol, volume["id"])
    shown = call(cdemo, "GET", f"/os-volumes/{volume['id']}", "2.35").json()["volume"]
    assert shown["status"] == "available" and shown["volumeType"] == "__DEFAULT__" or shown["volumeType"]
    assert any(v["id"] == volume["id"] for v in call(cdemo, "GET", "/os-volumes/detail").json()["volumes"])
    one = call(cdemo, "GET", "/os-volumes?limit=1").json()["volumes"]
    assert len(one) == 1
    # Attached: Nova's attachment summary.
    assert call(cdemo, "POST", f"/servers/{server.id}/os-volume_attachments",
                body={"volumeAttachment": {"volumeId": volume["id"]}}).status_code == 200
    wait_volume(vol, volume["id"], "in-use")
    attached = call(cdemo, "GET", f"/os-volumes/{volume['id']}").json()["volume"]["attachments"]
    assert attached == [{"id": volume["id"], "volumeId": volume["id"], "serverId": server.id, "device": "/dev/vdb"}]
    assert call(cdemo, "DELETE", f"/servers/{server.id}/os-volume_attachments/{volume['id']}").status_code == 202
    wait_volume(vol, volume["id"])
    # Snapshots through the proxy.
    snap = call(cdemo, "POST", "/os-snapshots", "2.35",
                {"snapshot": {"volume_id": volume["id"], "display_name": "cv-snap"}})
    assert snap.status_code == 200, snap.text
    snapshot = snap.json()["snapshot"]
    assert snapshot["volumeId"] == volume["id"] and snapshot["displayName"] == "cv-snap"
    wait_until(lambda: call(cdemo, "GET", f"/os-snapshots/{snapshot['id']}").json()["snapshot"]["status"]
               == "available", timeout=60, what="snapshot available")
    assert any(s["id"] == snapshot["id"] for s in call(cdemo, "GET", "/os-snapshots/detail").json()["snapshots"])
    assert call(cdemo, "DELETE", f"/os-snapshots/{snapshot['id']}").status_code == 202
    wait_until(lambda: call(cdemo, "GET", f"/os-snapshots/{snapshot['id']}").status_code == 404,
               timeout=60, what="snapshot deleted")
    assert call(cdemo, "DELETE", f"/os-volumes/{volume['id']}").status_code == 202
    wait_gone(vol, volume["id"])


def test_os_volumes_proxy_errors(cdemo: Any) -> None:
    unknown = str(uuid.uuid4())
    missing = call(cdemo, "GET", f"/os-volumes/{unknown}")
    assert missing.status_code == 404 and message(missing) == f"Volume {unknown} could not be found."
    assert call(cdemo, "DELETE", f"/os-volumes/{unknown}").status_code == 404
    for size in (0, -1, "abc", None):
        body = {"volume": {"size": size}} if size is not None else {"volume": {"display_name": "x"}}
        assert call(cdemo, "POST", "/os-volumes", body=body).status_code == 400, size
    # No id (Tempest's "without passing volume id"): 404, not the list or a 405.
    assert call(cdemo, "GET", "/os-volumes/").status_code == 404
    assert call(cdemo, "DELETE", "/os-volumes/").status_code == 404
    assert call(cdemo, "GET", "/os-volumes", "2.36").status_code == 404
    assert call(cdemo, "GET", "/os-snapshots", "2.36").status_code == 404


def test_snapshot_of_volume_backed_server_boots_again(cdemo: Any, vol: httpx.Client) -> None:
    """createImage of a volume-backed server: Cinder snapshots and an image naming them, which
    boots a new server from volumes made of the snapshots (Nova's behaviour)."""
    image = cdemo.image.find_image(IMAGE, ignore_missing=False)
    bdm = [{"source_type": "image", "destination_type": "volume", "uuid": image.id, "boot_index": 0,
            "volume_size": 1, "delete_on_termination": True}]
    first = boot(cdemo, "cv-bfv-snap", block_device_mapping=bdm)
    [first_root] = call(cdemo, "GET", f"/servers/{first.id}", "2.3").json()["server"][
        "os-extended-volumes:volumes_attached"]
    made = call(cdemo, "POST", f"/servers/{first.id}/action", "2.45", {"createImage": {"name": "cv-bfv-image"}})
    assert made.status_code == 202, made.text
    image_id = made.json()["image_id"]
    snap_image = wait_until(lambda: (i := cdemo.image.get_image(image_id)).status == "active" and i,
                            timeout=60, what="volume-backed snapshot image active")
    mappings = json.loads(snap_image.properties["block_device_mapping"])
    assert [m["source_type"] for m in mappings] == ["snapshot"] and mappings[0]["boot_index"] == 0
    snapshot_id = mappings[0]["snapshot_id"]
    wait_until(lambda: vol.get(f"snapshots/{snapshot_id}").json()["snapshot"]["status"] == "available",
               timeout=60, what="snapshot available")
    second = boot(cdemo, "cv-from-snap", image_id=image_id)
    [root] = call(cdemo, "GET", f"/servers/{second.id}", "2.3").json()["server"][
        "os-extended-volumes:volumes_attached"]
    assert wait_volume(vol, root["id"], "in-use")["snapshot_id"] == snapshot_id
    for sid in (second.id, first.id):
        cdemo.compute.delete_server(sid)
    wait_gone(vol, root["id"], timeout=90)
    assert vol.delete(f"snapshots/{snapshot_id}").status_code == 202
    cdemo.image.delete_image(image_id)
    # The first server's root volume could not go with it while its snapshot existed (Cinder's
    # 400, logged): it is left available, as Nova leaves it.
    wait_until(lambda: vol.get(f"snapshots/{snapshot_id}").status_code == 404, timeout=60, what="snapshot gone")
    wait_volume(vol, first_root["id"], "available", timeout=90)
    assert vol.delete(f"volumes/{first_root['id']}").status_code == 202


def test_volumes_follow_shelve_offload_unshelve_and_rebuild(ccloud: RunningCloud, cadmin: Any, cdemo: Any,
                                                           vol: httpx.Client) -> None:
    """Offloaded, the server's volume stays reserved for it (no host connection); one attached
    while offloaded is connected when it is unshelved; a rebuild keeps the guest's disks."""
    vm = boot(cdemo, "cv-shelve")
    first = new_volume(vol, "cv-shelve-1")
    assert call(cdemo, "POST", f"/servers/{vm.id}/os-volume_attachments",
                body={"volumeAttachment": {"volumeId": first["id"]}}).status_code == 200
    wait_volume(vol, first["id"], "in-use")
    assert call(cdemo, "POST", f"/servers/{vm.id}/action", body={"shelve": None}).status_code == 202
    wait_server(cdemo, vm.id, "SHELVED_OFFLOADED")  # shelved_offload_time 0: offloaded at once
    # Its one attachment is a reserved one for the server (no host connection). Cinder shows the
    # volume "reserved" then; this block-storage service's attachment delete keeps it "in-use"
    # while any attachment remains (reported to the lead): either way it is not free.
    wait_until(lambda: [(a["instance"], a["status"]) for a in vol.get(
        "attachments/detail", params={"volume_id": first["id"]}).json()["attachments"]] == [(vm.id, "reserved")],
        timeout=30, what="the offloaded server's reserved attachment")
    assert volume_status(vol, first["id"]) in ("reserved", "in-use")
    # Attached while offloaded: as Nova, the connector-less attachment is completed at once (the
    # volume in-use, Tempest's attach_volume waits for that); unshelve connects it.
    second = new_volume(vol, "cv-shelve-2")
    assert call(cdemo, "POST", f"/servers/{vm.id}/os-volume_attachments",
                body={"volumeAttachment": {"volumeId": second["id"]}}).status_code == 200
    # Attached while offloaded: Nova completes the connector-less attachment, so the volume is
    # in-use and lists the server (what Tempest's AttachVolumeShelveTestJSON waits for).
    assert [a["server_id"] for a in wait_volume(vol, second["id"], "in-use")["attachments"]] == [vm.id]
    [att] = vol.get("attachments/detail", params={"volume_id": second["id"]}).json()["attachments"]
    assert (att["instance"], att["status"]) == (vm.id, "attached")
    # A third attached and detached while offloaded: no host involved, the volume is free again.
    third = new_volume(vol, "cv-shelve-3")
    assert call(cdemo, "POST", f"/servers/{vm.id}/os-volume_attachments",
                body={"volumeAttachment": {"volumeId": third["id"]}}).status_code == 200
    assert volume_status(vol, third["id"]) == "in-use"
    assert len(attachments(cdemo, vm.id)) == 3
    detached = call(cdemo, "DELETE", f"/servers/{vm.id}/os-volume_attachments/{third['id']}")
    assert detached.status_code == 202, detached.text
    assert volume_status(vol, third["id"]) == "available"
    assert vol.get("attachments", params={"volume_id": third["id"]}).json()["attachments"] == []
    assert [a["volumeId"] for a in attachments(cdemo, vm.id)] == [first["id"], second["id"]]
    assert vol.delete(f"volumes/{third['id']}").status_code == 202
    assert call(cdemo, "POST", f"/servers/{vm.id}/action", body={"unshelve": None}).status_code == 202
    wait_server(cdemo, vm.id, "ACTIVE")
    for volume in (first, second):
        wait_volume(vol, volume["id"], "in-use")
    assert set(guest_disks(ccloud, cadmin, vm.id)) == {"/dev/vdb", "/dev/vdc"}
    image = cdemo.image.find_image(IMAGE, ignore_missing=False)
    assert call(cdemo, "POST", f"/servers/{vm.id}/action", body={"rebuild": {"imageRef": image.id}}).status_code \
        == 202
    wait_server(cdemo, vm.id, "ACTIVE")
    wait_until(lambda: set(guest_disks(ccloud, cadmin, vm.id)) == {"/dev/vdb", "/dev/vdc"}, timeout=30,
               what="the rebuilt guest keeps its disks")
    cdemo.compute.delete_server(vm.id)
    for volume in (first, second):
        wait_volume(vol, volume["id"], "available", timeout=90)
        assert vol.delete(f"volumes/{volume['id']}").status_code == 202


def test_volume_follows_a_cold_migration(ccloud: RunningCloud, cadmin: Any, cdemo: Any, vol: httpx.Client) -> None:
    vm = boot(cdemo, "cv-migrate")
    volume = new_volume(vol, "cv-migrate")
    assert call(cdemo, "POST", f"/servers/{vm.id}/os-volume_attachments",
                body={"volumeAttachment": {"volumeId": volume["id"]}}).status_code == 200
    wait_volume(vol, volume["id"], "in-use")
    source = cadmin.compute.get_server(vm.id).compute_host
    assert call(cadmin, "POST", f"/servers/{vm.id}/action", body={"migrate": None}).status_code == 202
    wait_server(cadmin, vm.id, "VERIFY_RESIZE")
    assert call(cadmin, "POST", f"/servers/{vm.id}/action", body={"confirmResize": None}).status_code == 204
    wait_server(cadmin, vm.id, "ACTIVE")
    dest = cadmin.compute.get_server(vm.id).compute_host
    assert dest != source
    assert guest_disks(ccloud, cadmin, vm.id)["/dev/vdb"]["data"]["volume_id"] == volume["id"]
    # The attachment was given the destination's connector (an admin sees its host).
    as_admin = wait_volume(cinder(ccloud, "devstack-admin"), volume["id"], "in-use")
    assert [a["host_name"] for a in as_admin["attachments"]] == [dest]
    cdemo.compute.delete_server(vm.id)
    wait_volume(vol, volume["id"], "available", timeout=90)
    assert vol.delete(f"volumes/{volume['id']}").status_code == 202


def test_rebuild_volume_backed_with_another_image(ccloud: RunningCloud, cadmin: Any, cdemo: Any,
                                                  vol: httpx.Client, tmp_path: Path) -> None:
    """2.93: the root volume is reimaged with the new image (Cinder's os-reimage of the volume
    reserved by a new attachment, compute waiting for ``volume-reimaged``); before, 400. A data
    volume keeps its completed attachment as it is: connected once, not again by the rebuild."""
    image = cdemo.image.find_image(IMAGE, ignore_missing=False)
    data = os.urandom(5 * 65536 + 3)
    other = cdemo.image.create_image(name="cv-reimage", disk_format="raw", container_format="bare", data=data)
    bdm = [{"source_type": "image", "destination_type": "volume", "uuid": image.id, "boot_index": 0,
            "volume_size": 1, "delete_on_termination": True}]
    server = boot(cdemo, "cv-rebuild-bfv", block_device_mapping=bdm)
    [root] = call(cdemo, "GET", f"/servers/{server.id}", "2.3").json()["server"]["os-extended-volumes:volumes_attached"]
    data_volume = new_volume(vol, "cv-rebuild-bfv-data")
    try:
        assert call(cdemo, "POST", f"/servers/{server.id}/os-volume_attachments",
                    body={"volumeAttachment": {"volumeId": data_volume["id"]}}).status_code == 200
        [kept] = wait_volume(vol, data_volume["id"], "in-use")["attachments"]
        connected = vol.get(f"attachments/{kept['attachment_id']}").json()["attachment"]
        assert connected["status"] == "attached" and connected["attached_at"], connected
        # attached_at has whole seconds: the rebuild starts in a later second, so a reconnect shows.
        stamp = datetime.fromisoformat(connected["attached_at"]).replace(tzinfo=UTC)
        wait_until(lambda: datetime.now(UTC) >= stamp + timedelta(seconds=1), timeout=5,
                   what="a later second than the attach")
        old = call(cdemo, "POST", f"/servers/{server.id}/action", "2.92", body={"rebuild": {"imageRef": other.id}})
        assert old.status_code == 400
        assert message(old) == (f"Image {other.id} is unacceptable: Unable to rebuild with a different image for a "
                                "volume-backed server.")
        assert wait_volume(vol, root["id"], "in-use")["volume_image_metadata"]["image_id"] == image.id
        rebuilt = call(cdemo, "POST", f"/servers/{server.id}/action", "2.93", body={"rebuild": {"imageRef": other.id}})
        assert rebuilt.status_code == 202, rebuilt.text
        wait_server(cdemo, server.id, "ACTIVE")
        assert call(cdemo, "GET", f"/servers/{server.id}", "2.93").json()["server"]["image"] == ""
        volume = wait_volume(vol, root["id"], "in-use")
        assert volume["volume_image_metadata"]["image_id"] == other.id
        [attachment] = volume["attachments"]
        assert attachment["server_id"] == server.id and attachment["device"] == "/dev/vda"
        assert volume_head(ccloud, root["id"], len(data) + 512, tmp_path) == data + b"\0" * 512
        # The guest has the root disk again, through the new attachment.
        plugged = wait_until(lambda: guest_disks(ccloud, cadmin, server.id).get("/dev/vda"), timeout=30,
                             what="root disk plugged")
        assert plugged["data"]["volume_id"] == root["id"]
        events = call(cdemo, "GET", f"/servers/{server.id}/os-instance-actions", "2.93").json()["instanceActions"]
        assert events[0]["action"] == "rebuild"
        # Not connected again (a new connection would stamp a new attached_at).
        assert vol.get(f"attachments/{kept['attachment_id']}").json()["attachment"] == connected
        assert guest_disks(ccloud, cadmin, server.id)["/dev/vdb"]["data"]["volume_id"] == data_volume["id"]
    finally:
        cdemo.compute.delete_server(server.id)
        cdemo.image.delete_image(other.id, ignore_missing=True)
    wait_gone(vol, root["id"], timeout=90)
    wait_volume(vol, data_volume["id"], "available", timeout=90)
    assert vol.delete(f"volumes/{data_volume['id']}").status_code == 202
