"""Server actions that change a server on its host, end to end through openstacksdk and the CLI.

One cloud with two fake hosts. Servers renamed to ``FAIL_NAME`` fail to spawn, which makes a
rebuild end in ERROR and an unshelve stay offloaded, each with a fault.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import act, call, message, module_cloud

FAIL_NAME = "h1-spawn-fails"
IMAGE = "onestack-tiny-x86_64-disk"
ALT_IMAGE = "onestack-tiny-x86_64-disk-alt"


ccloud = module_cloud("compute-actions", {
        "ONESTACK_COMPUTE__HOSTS": "2", "ONESTACK_COMPUTE__RECONCILE_INTERVAL": "0.5",
        "ONESTACK_COMPUTE__FAKE_FAIL_SPAWN": FAIL_NAME})


def server_of(conn: Any, sid: str) -> dict[str, Any]:
    return call(conn, "GET", f"/servers/{sid}", "2.73").json()["server"]  # type: ignore[no-any-return]


def wait_status(conn: Any, sid: str, status: str, timeout: float = 30) -> dict[str, Any]:
    """Poll until the server shows ``status`` with no task in flight."""
    def settled() -> dict[str, Any] | None:
        s = server_of(conn, sid)
        return s if s["status"] == status and s["OS-EXT-STS:task_state"] is None else None

    return wait_until(settled, timeout=timeout, interval=0.1, what=f"{sid} {status}")  # type: ignore[no-any-return]


def boot(conn: Any, name: str) -> str:
    image = conn.image.find_image(IMAGE, ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, networks="none")
    wait_status(conn, server.id, "ACTIVE", timeout=60)
    return str(server.id)


def actions_of(conn: Any, sid: str) -> list[str]:
    return [a["action"] for a in call(conn, "GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]]


@pytest.fixture(scope="module")
def vm(cdemo: Any) -> str:
    return boot(cdemo, "h1-vm")


# --- power: stop, start, reboot ------------------------------------------------------------

def test_stop_start_reboot_cli(ccloud: RunningCloud, cdemo: Any, vm: str) -> None:
    ccloud.cli("server", "stop", vm, cloud="devstack", json_out=False)
    stopped = wait_status(cdemo, vm, "SHUTOFF")
    assert stopped["OS-EXT-STS:vm_state"] == "stopped" and stopped["OS-EXT-STS:power_state"] == 4
    again = ccloud.cli("server", "stop", vm, cloud="devstack", check=False, json_out=False)
    assert again.returncode != 0
    assert f"Cannot 'stop' instance {vm} while it is in vm_state stopped" in again.stderr
    resp = act(cdemo, vm, {"os-stop": None})
    assert resp.status_code == 409
    assert message(resp) == f"Cannot 'stop' instance {vm} while it is in vm_state stopped"
    soft = act(cdemo, vm, {"reboot": {"type": "SOFT"}})
    assert soft.status_code == 409 and "vm_state stopped" in message(soft)
    ccloud.cli("server", "start", vm, cloud="devstack", json_out=False)
    started = wait_status(cdemo, vm, "ACTIVE")
    assert started["OS-EXT-STS:power_state"] == 1
    start_again = act(cdemo, vm, {"os-start": None})
    assert start_again.status_code == 409
    assert message(start_again) == f"Cannot 'start' instance {vm} while it is in vm_state active"
    ccloud.cli("server", "reboot", vm, cloud="devstack", json_out=False)  # the CLI's --wait polls every 5s
    wait_status(cdemo, vm, "ACTIVE")
    ccloud.cli("server", "reboot", "--hard", vm, cloud="devstack", json_out=False)
    assert wait_status(cdemo, vm, "ACTIVE")["OS-EXT-STS:power_state"] == 1
    names = actions_of(cdemo, vm)
    assert {"stop", "start", "reboot"} <= set(names) and names.count("reboot") == 2
    bad = act(cdemo, vm, {"reboot": {"type": "sideways"}})
    assert bad.status_code == 400 and "is not one of" in message(bad)


def test_reboot_status_and_events(cadmin: Any, cdemo: Any, vm: str) -> None:
    assert act(cdemo, vm, {"reboot": {"type": "HARD"}}).status_code == 202
    wait_status(cdemo, vm, "ACTIVE")
    actions = call(cdemo, "GET", f"/servers/{vm}/os-instance-actions").json()["instanceActions"]
    newest = actions[0]
    assert newest["action"] == "reboot"
    detail = call(cadmin, "GET", f"/servers/{vm}/os-instance-actions/{newest['request_id']}", "2.51").json()
    events = {e["event"]: e["result"] for e in detail["instanceAction"]["events"]}
    assert events.get("compute_reboot_instance") == "Success"


# --- pause, suspend ------------------------------------------------------------------------

def test_pause_unpause_suspend_resume(ccloud: RunningCloud, cdemo: Any, vm: str) -> None:
    ccloud.cli("server", "pause", vm, cloud="devstack", json_out=False)
    paused = wait_status(cdemo, vm, "PAUSED")
    assert paused["OS-EXT-STS:vm_state"] == "paused" and paused["OS-EXT-STS:power_state"] == 3
    twice = act(cdemo, vm, {"pause": None})
    assert twice.status_code == 409
    assert message(twice) == f"Cannot 'pause' instance {vm} while it is in vm_state paused"
    assert act(cdemo, vm, {"suspend": None}).status_code == 409
    cdemo.compute.unpause_server(vm)
    wait_status(cdemo, vm, "ACTIVE")
    assert act(cdemo, vm, {"unpause": None}).status_code == 409
    cdemo.compute.suspend_server(vm)
    suspended = wait_status(cdemo, vm, "SUSPENDED")
    assert suspended["OS-EXT-STS:power_state"] == 7
    ccloud.cli("server", "resume", vm, cloud="devstack", json_out=False)
    assert wait_status(cdemo, vm, "ACTIVE")["OS-EXT-STS:power_state"] == 1
    assert act(cdemo, vm, {"resume": None}).status_code == 409
    assert {"pause", "unpause", "suspend", "resume"} <= set(actions_of(cdemo, vm))


# --- lock -----------------------------------------------------------------------------------

def test_lock_unlock(ccloud: RunningCloud, cadmin: Any, cdemo: Any, vm: str) -> None:
    ccloud.cli("--os-compute-api-version", "2.73", "server", "lock", "--reason", "maintenance", vm,
               cloud="devstack", json_out=False)
    shown = server_of(cdemo, vm)
    assert shown["locked"] is True and shown["locked_reason"] == "maintenance"
    refused = act(cdemo, vm, {"os-stop": None})
    assert refused.status_code == 409 and message(refused) == f"Instance {vm} is locked"
    assert act(cdemo, vm, {"reboot": {"type": "HARD"}}).status_code == 409
    assert act(cdemo, vm, {"lock": None}).status_code == 202  # the owner locking again: a no-op
    # Admins act on locked servers.
    assert act(cadmin, vm, {"reboot": {"type": "SOFT"}}).status_code == 202
    wait_status(cdemo, vm, "ACTIVE")
    ccloud.cli("server", "unlock", vm, cloud="devstack", json_out=False)
    assert server_of(cdemo, vm)["locked"] is False and server_of(cdemo, vm)["locked_reason"] is None
    # An admin's lock cannot be lifted by the owner (unlock_override).
    assert act(cadmin, vm, {"lock": {"locked_reason": "by admin"}}, "2.73").status_code == 202
    assert server_of(cdemo, vm)["locked_reason"] == "by admin"
    assert act(cdemo, vm, {"unlock": None}).status_code == 403
    assert act(cadmin, vm, {"unlock": None}).status_code == 202
    assert server_of(cdemo, vm)["locked"] is False
    bad = act(cdemo, vm, {"lock": {"locked_reason": ""}}, "2.73")
    assert bad.status_code == 400
    assert {"lock", "unlock"} <= set(actions_of(cdemo, vm))


def test_other_project_gets_404(calt: Any, vm: str) -> None:
    bodies: list[dict[str, Any]] = [{"os-stop": None}, {"reboot": {"type": "HARD"}}, {"os-getConsoleOutput": {}},
                                    {"createImage": {"name": "x"}}, {"shelve": None}, {"lock": None},
                                    {"createBackup": {"name": "x", "backup_type": "daily", "rotation": 1}}]
    for body in bodies:
        resp = act(calt, vm, body)
        assert resp.status_code == 404, body
        assert message(resp) == f"Instance {vm} could not be found."
    consoles = call(calt, "POST", f"/servers/{vm}/remote-consoles", "2.6",
                    {"remote_console": {"protocol": "vnc", "type": "novnc"}})
    assert consoles.status_code == 404


# --- rescue, console ------------------------------------------------------------------------

def test_rescue_unrescue(ccloud: RunningCloud, cdemo: Any, vm: str) -> None:
    resp = act(cdemo, vm, {"rescue": {"adminPass": "s3cret"}})
    assert resp.status_code == 200 and resp.json() == {"adminPass": "s3cret"}
    rescued = wait_status(cdemo, vm, "RESCUE")
    assert rescued["OS-EXT-STS:vm_state"] == "rescued" and rescued["OS-EXT-STS:power_state"] == 1
    again = act(cdemo, vm, {"rescue": None})
    assert again.status_code == 409 and "vm_state rescued" in message(again)
    ccloud.cli("server", "unrescue", vm, cloud="devstack", json_out=False)
    wait_status(cdemo, vm, "ACTIVE")
    assert act(cdemo, vm, {"unrescue": None}).status_code == 409
    bad = act(cdemo, vm, {"rescue": {"rescue_image_ref": str(uuid.uuid4())}})
    assert bad.status_code == 400 and "is not supported" in message(bad)
    ccloud.cli("server", "rescue", vm, cloud="devstack", json_out=False)
    wait_status(cdemo, vm, "RESCUE")
    assert "rescue mode" in act(cdemo, vm, {"os-getConsoleOutput": {}}).json()["output"]
    assert act(cdemo, vm, {"unrescue": {}}).status_code == 202
    wait_status(cdemo, vm, "ACTIVE")


def test_console_output_and_remote_consoles(ccloud: RunningCloud, cdemo: Any, vm: str) -> None:
    log = ccloud.cli("console", "log", "show", vm, cloud="devstack", json_out=False)
    assert "login:" in log.stdout
    full = act(cdemo, vm, {"os-getConsoleOutput": {"length": None}}).json()["output"]
    assert len(full.split("\n")) > 5
    tail = act(cdemo, vm, {"os-getConsoleOutput": {"length": "3"}}).json()["output"]
    assert len(tail.split("\n")) == 3 and full.endswith(tail)
    assert act(cdemo, vm, {"os-getConsoleOutput": {"length": -2}}).status_code == 400
    remote = call(cdemo, "POST", f"/servers/{vm}/remote-consoles", "2.6",
                  {"remote_console": {"protocol": "vnc", "type": "novnc"}})
    assert remote.status_code == 200
    body = remote.json()["remote_console"]
    assert body["protocol"] == "vnc" and body["type"] == "novnc" and "token%3D" in body["url"]
    spice = call(cdemo, "POST", f"/servers/{vm}/remote-consoles", "2.6",
                 {"remote_console": {"protocol": "spice", "type": "spice-html5"}})
    assert spice.status_code == 400 and message(spice) == "Unavailable console type spice-html5."
    legacy = act(cdemo, vm, {"os-getVNCConsole": {"type": "novnc"}}, "2.5")
    assert legacy.status_code == 200 and legacy.json()["console"]["type"] == "novnc"
    assert act(cdemo, vm, {"os-getVNCConsole": {"type": "novnc"}}, "2.6").status_code == 404
    assert act(cdemo, vm, {"os-getVNCConsole": {"type": "xvpvnc"}}, "2.5").status_code == 400
    cli = ccloud.cli("console", "url", "show", vm, cloud="devstack")
    assert cli["type"] == "novnc" and cli["url"].startswith("http")


# --- snapshots ------------------------------------------------------------------------------

def test_create_image(ccloud: RunningCloud, cdemo: Any, calt: Any, vm: str) -> None:
    name = f"h1-snap-{uuid.uuid4().hex[:6]}"
    created = ccloud.cli("server", "image", "create", "--name", name, "--property", "purpose=test",
                         vm, cloud="devstack")
    image = wait_until(lambda: (i := cdemo.image.get_image(created["id"])).status == "active" and i,
                       timeout=30, what="snapshot active")
    assert image.owner == cdemo.current_project_id
    assert image.visibility == "private" and image.disk_format == "qcow2"
    props = image.properties
    assert image.instance_uuid == vm and props["image_type"] == "snapshot" and props["purpose"] == "test"
    assert "onestack_builtin" not in props  # marks the built-in images only; not inherited
    assert props["base_image_ref"] == cdemo.image.find_image(IMAGE).id
    assert calt.image.find_image(created["id"]) is None
    new = act(cdemo, vm, {"createImage": {"name": name + "-245", "metadata": {"k": "v"}}}, "2.45")
    assert new.status_code == 202 and "Location" not in new.headers
    image_id = new.json()["image_id"]
    wait_until(lambda: cdemo.image.get_image(image_id).status == "active", timeout=30, what="snapshot active")
    old = act(cdemo, vm, {"createImage": {"name": name + "-21"}}, "2.1")
    assert old.status_code == 202 and old.headers["Location"].rsplit("/", 1)[1]
    assert "createImage" in actions_of(cdemo, vm)
    assert act(cdemo, vm, {"createImage": {}}).status_code == 400
    wait_status(cdemo, vm, "ACTIVE")
    for img in (created["id"], image_id, old.headers["Location"].rsplit("/", 1)[1]):
        wait_until(lambda img=img: cdemo.image.get_image(img).status == "active", timeout=30, what="active")
        cdemo.image.delete_image(img)


def backups(conn: Any, sid: str, backup_type: str) -> list[dict[str, Any]]:
    """This server's backups of one type, oldest first (Glance filters on custom properties)."""
    query = f"image_type=backup&backup_type={backup_type}&instance_uuid={sid}&sort_key=created_at&sort_dir=asc"
    resp = conn.session.request(f"/v2/images?{query}", "GET", raise_exc=False, endpoint_filter={"service_type": "image"})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["images"])


def test_create_backup_rotates(ccloud: RunningCloud, cdemo: Any, vm: str) -> None:
    name = f"h6-bk-{uuid.uuid4().hex[:6]}"
    # Before 2.45 the answer is a Location (the compute URL of the image), from 2.45 a body.
    first = act(cdemo, vm, {"createBackup": {"name": name + "-1", "backup_type": "daily", "rotation": 2,
                                             "metadata": {"k": "v"}}}, "2.1")
    assert first.status_code == 202 and not first.content
    assert "/compute/v2.1/images/" in first.headers["Location"]
    first_id = first.headers["Location"].rsplit("/", 1)[1]
    wait_status(cdemo, vm, "ACTIVE")
    image = cdemo.image.get_image(first_id)
    assert image.status == "active" and image.name == name + "-1" and image.visibility == "private"
    props = image.properties
    assert props["image_type"] == "backup" and props["backup_type"] == "daily" and props["k"] == "v"
    assert image.instance_uuid == vm
    second = act(cdemo, vm, {"createBackup": {"name": name + "-2", "backup_type": "daily", "rotation": "2"}}, "2.45")
    assert second.status_code == 202 and "Location" not in second.headers
    second_id = second.json()["image_id"]
    wait_status(cdemo, vm, "ACTIVE")
    assert [i["name"] for i in backups(cdemo, vm, "daily")] == [name + "-1", name + "-2"]
    # A third with rotation 2 removes the oldest once it is uploaded (the CLI waits for the image).
    third = ccloud.cli("server", "backup", "create", "--name", name + "-3", "--type", "daily", "--rotate", "2",
                       "--wait", vm, cloud="devstack")
    wait_status(cdemo, vm, "ACTIVE")
    kept = wait_until(lambda: (found := backups(cdemo, vm, "daily")) and len(found) == 2 and found,
                      timeout=30, what="oldest backup rotated out")
    assert [i["id"] for i in kept] == [second_id, third["id"]]
    assert cdemo.image.find_image(first_id) is None
    # Rotation 0 keeps none: the new backup itself goes after its upload (so no Location either).
    zero = act(cdemo, vm, {"createBackup": {"name": name + "-0", "backup_type": "weekly", "rotation": 0}}, "2.1")
    assert zero.status_code == 202 and "Location" not in zero.headers
    wait_status(cdemo, vm, "ACTIVE")
    wait_until(lambda: backups(cdemo, vm, "weekly") == [], timeout=30, what="rotation 0 backup removed")
    assert len(backups(cdemo, vm, "daily")) == 2  # other types are not touched
    assert actions_of(cdemo, vm).count("createBackup") == 4
    bad: list[tuple[dict[str, Any], str]] = [
        ({"name": "x", "backup_type": "daily"}, "'rotation' is a required property"),
        ({"name": "x", "backup_type": "daily", "rotation": -1}, "-1 is less than the minimum of 0"),
        ({"name": "x", "backup_type": 1, "rotation": 1}, "1 is not of type 'string'"),
        ({"name": "x", "backup_type": "daily", "rotation": 1, "extra": 1}, "Additional properties are not allowed"),
    ]
    for body, text in bad:
        resp = act(cdemo, vm, {"createBackup": body})
        assert resp.status_code == 400 and text in message(resp), (body, resp.text)
    for image_id in (second_id, third["id"]):
        cdemo.image.delete_image(image_id)


# --- rebuild --------------------------------------------------------------------------------

def test_rebuild(ccloud: RunningCloud, cdemo: Any, vm: str) -> None:
    alt_image = cdemo.image.find_image(ALT_IMAGE, ignore_missing=False)
    key = cdemo.compute.create_keypair(name=f"h1-key-{uuid.uuid4().hex[:6]}")
    resp = act(cdemo, vm, {"rebuild": {"imageRef": alt_image.id, "name": "h1-vm-rebuilt",
                                       "metadata": {"role": "db"}, "adminPass": "pw", "key_name": key.name,
                                       "user_data": "aGVsbG8=", "description": "rebuilt"}}, "2.57")
    assert resp.status_code == 202
    server = resp.json()["server"]
    assert server["status"] == "REBUILD" and server["adminPass"] == "pw" and server["user_data"] == "aGVsbG8="
    assert server["image"]["id"] == alt_image.id and server["name"] == "h1-vm-rebuilt"
    done = wait_status(cdemo, vm, "ACTIVE")
    assert done["metadata"] == {"role": "db"} and done["key_name"] == key.name
    assert done["description"] == "rebuilt" and done["image"]["id"] == alt_image.id
    missing = act(cdemo, vm, {"rebuild": {"imageRef": str(uuid.uuid4())}})
    assert missing.status_code == 400 and message(missing) == "Cannot find image for rebuild"
    # A stopped server is rebuilt and stays stopped.
    cdemo.compute.stop_server(vm)
    wait_status(cdemo, vm, "SHUTOFF")
    ccloud.cli("server", "rebuild", "--image", IMAGE, vm, cloud="devstack", json_out=False)
    assert wait_status(cdemo, vm, "SHUTOFF")["image"]["id"] == cdemo.image.find_image(IMAGE).id
    cdemo.compute.start_server(vm)
    wait_status(cdemo, vm, "ACTIVE")
    assert actions_of(cdemo, vm).count("rebuild") == 2
    cdemo.compute.delete_keypair(key)


def test_rebuild_sets_the_disk_config(cdemo: Any, vm: str) -> None:
    assert call(cdemo, "PUT", f"/servers/{vm}", body={"server": {"OS-DCF:diskConfig": "MANUAL"}}).status_code == 200
    image = cdemo.image.find_image(IMAGE, ignore_missing=False).id
    resp = act(cdemo, vm, {"rebuild": {"imageRef": image, "OS-DCF:diskConfig": "AUTO"}})
    assert resp.status_code == 202 and resp.json()["server"]["OS-DCF:diskConfig"] == "AUTO"
    assert wait_status(cdemo, vm, "ACTIVE")["OS-DCF:diskConfig"] == "AUTO"
    # Not given, it is the image's (this image says nothing: MANUAL), as in Nova.
    assert act(cdemo, vm, {"rebuild": {"imageRef": image}}).json()["server"]["OS-DCF:diskConfig"] == "MANUAL"
    wait_status(cdemo, vm, "ACTIVE")
    bad = act(cdemo, vm, {"rebuild": {"imageRef": image, "OS-DCF:diskConfig": "auto"}})
    assert bad.status_code == 400 and server_of(cdemo, vm)["OS-DCF:diskConfig"] == "MANUAL"


def test_rebuild_failure_errors_the_server(cadmin: Any, cdemo: Any) -> None:
    sid = boot(cdemo, "h1-rebuild-fail")
    image = cdemo.image.find_image(IMAGE, ignore_missing=False)
    resp = act(cdemo, sid, {"rebuild": {"imageRef": image.id, "name": FAIL_NAME}})
    assert resp.status_code == 202
    failed = wait_status(cadmin, sid, "ERROR")
    assert "injected failure" in failed["fault"]["message"]
    # Admins recover it: reset to active, then a rebuild under a healthy name works again.
    assert act(cdemo, sid, {"os-resetState": {"state": "active"}}).status_code == 403
    assert act(cadmin, sid, {"os-resetState": {"state": "active"}}).status_code == 202
    assert server_of(cdemo, sid)["status"] == "ACTIVE"
    assert act(cdemo, sid, {"rebuild": {"imageRef": image.id, "name": "h1-healed"}}).status_code == 202
    wait_status(cdemo, sid, "ACTIVE")
    assert "resetState" in actions_of(cdemo, sid)
    cdemo.compute.delete_server(sid)


# --- shelve ---------------------------------------------------------------------------------

def allocations(cadmin: Any, sid: str) -> dict[str, Any]:
    resp = cadmin.session.get(f"/allocations/{sid}", endpoint_filter={"service_type": "placement"},
                              headers={"OpenStack-API-Version": "placement 1.28"})
    return resp.json()["allocations"]  # type: ignore[no-any-return]


def shelved_images(cdemo: Any, sid: str) -> list[Any]:
    return [i for i in cdemo.image.images() if i.instance_uuid == sid and i.name.endswith("-shelved")]


def test_shelve_and_unshelve_cli(ccloud: RunningCloud, cadmin: Any, cdemo: Any) -> None:
    sid = boot(cdemo, "h1-shelf")
    assert allocations(cadmin, sid)
    ccloud.cli("server", "shelve", sid, cloud="devstack", json_out=False)
    offloaded = wait_status(cadmin, sid, "SHELVED_OFFLOADED")
    assert offloaded["OS-EXT-SRV-ATTR:host"] is None and offloaded["OS-EXT-SRV-ATTR:hypervisor_hostname"] is None
    assert allocations(cadmin, sid) == {}
    snaps = shelved_images(cdemo, sid)
    assert len(snaps) == 1 and snaps[0].status == "active" and snaps[0].owner == cdemo.current_project_id
    again = act(cdemo, sid, {"shelve": None})
    assert again.status_code == 409 and "vm_state shelved_offloaded" in message(again)
    assert act(cdemo, sid, {"os-start": None}).status_code == 409
    ccloud.cli("server", "unshelve", sid, cloud="devstack", json_out=False)
    back = wait_status(cadmin, sid, "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] in ("compute-1", "compute-2") and back["OS-EXT-STS:power_state"] == 1
    assert len(allocations(cadmin, sid)) == 1
    wait_until(lambda: not shelved_images(cdemo, sid), timeout=30, what="shelved image removed")
    assert act(cdemo, sid, {"unshelve": None}).status_code == 409
    names = actions_of(cdemo, sid)
    assert names[:2] == ["unshelve", "shelve"]
    ccloud.cli("server", "delete", sid, cloud="devstack", json_out=False)
    wait_until(lambda: call(cdemo, "GET", f"/servers/{sid}").status_code == 404, timeout=30, what="deleted")
    assert allocations(cadmin, sid) == {}


def test_unshelve_to_zone_and_host(cadmin: Any, cdemo: Any) -> None:
    sid = boot(cdemo, "h1-shelf-host")
    not_shelved = act(cadmin, sid, {"shelveOffload": None})
    assert not_shelved.status_code == 409
    assert message(not_shelved) == f"Cannot 'shelveOffload' instance {sid} while it is in vm_state active"
    assert act(cdemo, sid, {"shelve": None}).status_code == 202
    wait_status(cdemo, sid, "SHELVED_OFFLOADED")
    assert act(cdemo, sid, {"shelveOffload": None}).status_code == 403  # admin only
    bogus = act(cdemo, sid, {"unshelve": {"availability_zone": "nowhere"}}, "2.77")
    assert bogus.status_code == 400 and message(bogus) == "The requested availability zone is not available"
    no_host = act(cadmin, sid, {"unshelve": {"host": "compute-9"}}, "2.91")
    assert no_host.status_code == 400 and message(no_host) == "Compute host compute-9 could not be found."
    assert act(cdemo, sid, {"unshelve": {"host": "compute-2"}}, "2.91").status_code == 403
    assert act(cdemo, sid, {"unshelve": {"host": "compute-2"}}, "2.90").status_code == 400
    resp = act(cadmin, sid, {"unshelve": {"availability_zone": "nova", "host": "compute-2"}}, "2.91")
    assert resp.status_code == 202
    landed = wait_status(cadmin, sid, "ACTIVE")
    assert landed["OS-EXT-SRV-ATTR:host"] == "compute-2" and landed["OS-EXT-AZ:availability_zone"] == "nova"
    # The zone the unshelve asked for is pinned from then on (2.96 shows it).
    assert server_of_mv(cdemo, sid, "2.96")["pinned_availability_zone"] == "nova"
    cdemo.compute.delete_server(sid)


def server_of_mv(conn: Any, sid: str, mv: str) -> dict[str, Any]:
    return call(conn, "GET", f"/servers/{sid}", mv).json()["server"]  # type: ignore[no-any-return]


def test_unshelve_failure_stays_offloaded(cadmin: Any, cdemo: Any) -> None:
    sid = boot(cdemo, "h1-shelf-fail")
    assert act(cdemo, sid, {"shelve": None}).status_code == 202
    wait_status(cdemo, sid, "SHELVED_OFFLOADED")
    # Renamed to a name the fake hosts refuse to spawn: the unshelve fails, the server stays put.
    assert call(cdemo, "PUT", f"/servers/{sid}", body={"server": {"name": FAIL_NAME}}).status_code == 200
    assert act(cdemo, sid, {"unshelve": None}).status_code == 202
    wait_until(lambda: actions_failed(cadmin, sid, "compute_unshelve_instance"), timeout=30, what="unshelve error")
    after = wait_status(cadmin, sid, "SHELVED_OFFLOADED")
    assert after["OS-EXT-SRV-ATTR:host"] is None
    # The conductor releases the claim after it commits the row: polled, not read once.
    wait_until(lambda: allocations(cadmin, sid) == {}, timeout=30, what="the failed unshelve's claim released")
    assert len(shelved_images(cdemo, sid)) == 1  # kept: it is all that is left of the server
    assert call(cdemo, "PUT", f"/servers/{sid}", body={"server": {"name": "h1-shelf-ok"}}).status_code == 200
    assert act(cdemo, sid, {"unshelve": None}).status_code == 202
    wait_status(cdemo, sid, "ACTIVE")
    cdemo.compute.delete_server(sid)


def actions_failed(cadmin: Any, sid: str, event: str) -> bool:
    newest = call(cadmin, "GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"][0]
    detail = call(cadmin, "GET", f"/servers/{sid}/os-instance-actions/{newest['request_id']}", "2.51").json()
    return any(e["event"] == event and e["result"] == "Error" for e in detail["instanceAction"]["events"])


# --- password, crash dump, reset state, deferred delete -------------------------------------

def test_change_password_not_supported(cdemo: Any, vm: str) -> None:
    resp = act(cdemo, vm, {"changePassword": {"adminPass": "new-pass"}})
    assert resp.status_code == 501 and message(resp) == "Unable to set password on instance"
    assert server_of(cdemo, vm)["status"] == "ACTIVE"
    assert act(cdemo, vm, {"changePassword": {}}).status_code == 400
    assert "changePassword" in actions_of(cdemo, vm)


def test_trigger_crash_dump(cadmin: Any, cdemo: Any, vm: str) -> None:
    assert act(cdemo, vm, {"trigger_crash_dump": None}, "2.16").status_code == 404
    assert act(cdemo, vm, {"trigger_crash_dump": {}}, "2.17").status_code == 400
    assert act(cdemo, vm, {"trigger_crash_dump": None}, "2.17").status_code == 202
    wait_until(lambda: actions_failed(cadmin, vm, "compute_trigger_crash_dump"), timeout=30, what="dump event")
    assert server_of(cdemo, vm)["status"] == "ACTIVE"


def test_reset_state_restore_force_delete(cadmin: Any, cdemo: Any) -> None:
    sid = boot(cdemo, "h1-reset")
    assert act(cadmin, sid, {"os-resetState": {"state": "error"}}).status_code == 202
    assert server_of(cadmin, sid)["status"] == "ERROR"
    assert act(cadmin, sid, {"os-resetState": {"state": "bogus"}}).status_code == 400
    assert act(cadmin, sid, {"os-resetState": {"state": "active"}}).status_code == 202
    assert server_of(cadmin, sid)["status"] == "ACTIVE"
    restore = act(cdemo, sid, {"restore": None})
    assert restore.status_code == 409
    assert message(restore) == f"Cannot 'restore' instance {sid} while it is in vm_state active"
    assert act(cdemo, sid, {"lock": None}).status_code == 202
    assert act(cdemo, sid, {"forceDelete": None}).status_code == 409
    assert act(cdemo, sid, {"unlock": None}).status_code == 202
    assert act(cdemo, sid, {"forceDelete": None}).status_code == 202
    wait_until(lambda: call(cdemo, "GET", f"/servers/{sid}").status_code == 404, timeout=30, what="deleted")


def test_deleting_a_shelved_server_deletes_its_snapshot(cdemo: Any) -> None:
    sid = boot(cdemo, "h1-shelf-delete")
    assert act(cdemo, sid, {"shelve": None}).status_code == 202
    wait_status(cdemo, sid, "SHELVED_OFFLOADED")
    assert len(shelved_images(cdemo, sid)) == 1
    cdemo.compute.delete_server(sid)
    wait_until(lambda: call(cdemo, "GET", f"/servers/{sid}").status_code == 404, timeout=30, what="delete")
    wait_until(lambda: not shelved_images(cdemo, sid), timeout=30, what="the shelved snapshot to go")
