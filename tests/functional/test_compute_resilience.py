"""Crashes and slow work: a server is never left in a task state by a dead process.

The simulated host takes 3 s to spawn, so the test can kill ``onestack up`` mid-build; after a
restart the agent's reconcile pass (every 0.3 s, repairing work idle for 1 s) finishes the build.
A volume mapping left on an attachment the block-storage service deleted (a migration's swap cut
short) is mended by the conductor's pass, and detaches even before it is.
"""

from __future__ import annotations

import signal
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from onestack.core.ids import utcnow
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call as compute_call
from tests.functional.compute_support import module_cloud
from tests.functional.volume_support import cinder, create_volume, wait_volume

ENV = {
    "ONESTACK_COMPUTE__FAKE_SPAWN_LATENCY": "3",
    "ONESTACK_COMPUTE__TASK_GRACE": "1",
    "ONESTACK_COMPUTE__RECONCILE_INTERVAL": "0.3",
}


slow_cloud = module_cloud("compute-resilience", ENV)


def call(conn: Any, method: str, path: str, body: Any = None) -> Any:
    return compute_call(conn, method, path, "2.96", body)


def boot(conn: Any, name: str) -> str:
    image = conn.image.find_image("onestack-tiny-x86_64-disk").id
    resp = call(conn, "POST", "/servers", {"server": {"name": name, "imageRef": image, "flavorRef": "1",
                                                      "networks": "none"}})
    assert resp.status_code == 202, resp.text
    return str(resp.json()["server"]["id"])


def server(conn: Any, uuid: str) -> dict[str, Any]:
    found: dict[str, Any] = call(conn, "GET", f"/servers/{uuid}").json()["server"]
    return found


def vcpus_used(conn: Any) -> int:
    providers = conn.session.get("/resource_providers", endpoint_filter={"service_type": "placement"}).json()
    total = 0
    for rp in providers["resource_providers"]:
        usages = conn.session.get(f"/resource_providers/{rp['uuid']}/usages",
                                  endpoint_filter={"service_type": "placement"}).json()["usages"]
        total += int(usages.get("VCPU", 0))
    return total


def test_killed_mid_build_then_restarted_ends_active(slow_cloud: RunningCloud) -> None:
    conn = slow_cloud.sdk("devstack-admin")
    uuid = boot(conn, "survivor")
    wait_until(lambda: server(conn, uuid)["OS-EXT-STS:task_state"] == "spawning", timeout=15,
               what="the build to reach the host")
    slow_cloud.stop(signal.SIGKILL)
    slow_cloud.start()
    conn = slow_cloud.sdk("devstack-admin")
    view = wait_until(lambda: (v := server(conn, uuid))["status"] in ("ACTIVE", "ERROR") and v, timeout=30,
                      what="the interrupted build to finish")
    assert view["status"] == "ACTIVE", view.get("fault")
    assert view["OS-EXT-STS:task_state"] is None
    assert view["OS-EXT-STS:power_state"] == 1
    assert vcpus_used(conn) == 1  # one claim, not two
    call(conn, "DELETE", f"/servers/{uuid}")
    wait_until(lambda: call(conn, "GET", f"/servers/{uuid}").status_code == 404, timeout=15, what="delete")


def test_delete_during_a_slow_spawn_leaves_nothing(slow_cloud: RunningCloud) -> None:
    conn = slow_cloud.sdk("devstack-admin")
    uuid = boot(conn, "short-lived")
    wait_until(lambda: server(conn, uuid)["OS-EXT-STS:task_state"] == "spawning", timeout=15,
               what="the build to reach the host")
    assert call(conn, "DELETE", f"/servers/{uuid}").status_code == 204
    wait_until(lambda: call(conn, "GET", f"/servers/{uuid}").status_code == 404, timeout=15, what="delete")
    wait_until(lambda: vcpus_used(conn) == 0, timeout=10, what="the claim to be released")


def test_killed_before_scheduling_is_redriven(slow_cloud: RunningCloud) -> None:
    """A boot whose conductor died before it scheduled (row 'scheduling', no host, the dead
    attempt's lease) is re-driven by a conductor's periodic pass after the restart, and builds."""
    conn = slow_cloud.sdk("devstack-admin")
    uuid = boot(conn, "orphaned-request")
    slow_cloud.stop(signal.SIGKILL)
    # Where the kill landed is luck (before or after the cast was handled, the spawn takes 3 s and
    # is not kept), so the row is put where a conductor dying before it scheduled leaves it. Only
    # the conductor's re-drive moves such a row: no agent has it on its host.
    with slow_cloud.engine() as engine, engine.begin() as db:
        db.execute(text("UPDATE compute_instances SET vm_state = 'building', task_state = 'scheduling', "
                        "host = NULL, node = NULL, task_lease = 'dead-attempt', updated_at = :stale "
                        "WHERE uuid = :uuid"), {"stale": utcnow() - timedelta(minutes=10), "uuid": uuid})
    assert slow_cloud.log_path is not None
    logged = slow_cloud.log_path.stat().st_size
    slow_cloud.start()
    conn = slow_cloud.sdk("devstack-admin")
    view = wait_until(lambda: (v := server(conn, uuid))["status"] in ("ACTIVE", "ERROR") and v, timeout=30,
                      what="the interrupted request to finish")
    assert view["status"] == "ACTIVE", view.get("fault")
    with open(slow_cloud.log_path, encoding="utf-8", errors="replace") as log:
        log.seek(logged)
        assert f"re-driving the build of {uuid}" in log.read()  # the conductor's pass built it
    assert vcpus_used(conn) == 1  # the re-drive's claim replaced whatever the dead attempt held
    call(conn, "DELETE", f"/servers/{uuid}")
    wait_until(lambda: call(conn, "GET", f"/servers/{uuid}").status_code == 404, timeout=15, what="delete")


# --- a mapping whose attachment is gone (a volume migration's swap cut short) ----------------

def _stale_mapping(cloud: RunningCloud, conn: Any, name: str, *,
                   connected: bool) -> tuple[str, str, str, str, httpx.Client]:
    """An ACTIVE server with a volume attached, then the state a swap cut short leaves: the
    volume's attachment for the server replaced by another (connected to the server's host or
    only reserved), the mapping still naming the deleted one. The server, volume, deleted and
    new attachments, and a block-storage client."""
    uuid = boot(conn, name)
    wait_until(lambda: server(conn, uuid)["status"] == "ACTIVE", timeout=30, what=f"{name} ACTIVE")
    vol = cinder(cloud, "devstack-admin")
    vid = wait_volume(vol, create_volume(vol, 1, name=name)["id"])["id"]
    cloud.cli("server", "add", "volume", uuid, vid, cloud="devstack-admin", json_out=False)
    wait_volume(vol, vid, "in-use")
    old = _mapped(conn, uuid)[vid]
    fields: dict[str, Any] = {"volume_uuid": vid, "instance_uuid": uuid}
    if connected:
        host = server(conn, uuid)["OS-EXT-SRV-ATTR:host"]
        fields["connector"] = {"host": host, "initiator": f"iqn.2004-10.org.onestack:{host}", "mountpoint": "/dev/vdb"}
    resp = vol.post("attachments", json={"attachment": fields})
    assert resp.status_code == 200, resp.text
    # Connected but not completed (the swap cut off between compute's update and its complete), or only reserved.
    assert resp.json()["attachment"]["status"] == ("attaching" if connected else "reserved"), resp.text
    new = str(resp.json()["attachment"]["id"])
    assert vol.delete(f"attachments/{old}").status_code == 200
    return uuid, vid, old, new, vol


def _mapped(conn: Any, uuid: str) -> dict[str, str]:
    resp = compute_call(conn, "GET", f"/servers/{uuid}/os-volume_attachments", "2.89")
    assert resp.status_code == 200, resp.text
    return {m["volumeId"]: m["attachment_id"] for m in resp.json()["volumeAttachments"]}


def _delete(conn: Any, uuid: str) -> None:
    call(conn, "DELETE", f"/servers/{uuid}")
    wait_until(lambda: call(conn, "GET", f"/servers/{uuid}").status_code == 404, timeout=15, what="delete")


def test_a_mapping_on_a_gone_attachment_adopts_the_volumes(slow_cloud: RunningCloud) -> None:
    """The conductor's pass gives the mapping the volume's attachment for its server, completing
    it first (connected but never completed, the volume would stay without it for good); the
    volume then detaches as any does (``available``, no attachment left)."""
    conn = slow_cloud.sdk("devstack-admin")
    uuid, vid, _old, new, vol = _stale_mapping(slow_cloud, conn, "stale-mapping", connected=True)
    try:
        wait_until(lambda: _mapped(conn, uuid) == {vid: new}, timeout=30, what="the mapping to take the attachment")
        # The pass completes before it writes the mapping: no wait needed here.
        assert vol.get(f"attachments/{new}").json()["attachment"]["status"] == "attached"
        shown = wait_volume(vol, vid, "in-use")
        assert [(a["attachment_id"], a["server_id"]) for a in shown["attachments"]] == [(new, uuid)], shown
        slow_cloud.cli("server", "remove", "volume", uuid, vid, cloud="devstack-admin", json_out=False)
        done = wait_volume(vol, vid, "available", timeout=30)
        assert done["attachments"] == [], done
        assert _mapped(conn, uuid) == {}
        _delete(conn, uuid)
    finally:
        vol.close()


def test_a_detach_of_a_gone_attachment_detaches_the_volume(slow_cloud: RunningCloud) -> None:
    """Before any repair (the volume's attachment only reserved, which the pass does not take for
    a hosted server), a detach deletes the volume's attachment for the server (Nova would only
    ignore the 404 and leave the volume in-use)."""
    conn = slow_cloud.sdk("devstack-admin")
    uuid, vid, old, new, vol = _stale_mapping(slow_cloud, conn, "stale-detach", connected=False)
    try:
        assert _mapped(conn, uuid) == {vid: old}
        slow_cloud.cli("server", "remove", "volume", uuid, vid, cloud="devstack-admin", json_out=False)
        done = wait_volume(vol, vid, "available", timeout=30)
        assert done["attachments"] == [], done
        assert vol.get(f"attachments/{new}").status_code == 404
        _delete(conn, uuid)
    finally:
        vol.close()