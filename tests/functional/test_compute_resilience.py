"""Crashes and slow work: a server is never left in a task state by a dead process.

The simulated host takes 3 s to spawn, so the test can kill ``onestack up`` mid-build; after a
restart the agent's reconcile pass (every 0.3 s, repairing work idle for 1 s) finishes the build.
"""

from __future__ import annotations

import signal
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from onestack.core.ids import utcnow
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call as compute_call
from tests.functional.compute_support import module_cloud

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
