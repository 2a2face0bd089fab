"""Restarting `onestack up` leaves servers as they were: the simulated host keeps its guests in the
data dir, so after a restart each server is ACTIVE or SHUTOFF as before with the same guest — not
reaped as an orphan, not booted again — and the hypervisor's usage is unchanged.

A reconcile pass ends with the orphan sweep, so a guest record planted while the cloud is down
(no row owns it) disappearing proves a whole pass ran after the restart; only then are "nothing
changed" assertions meaningful.
"""

from __future__ import annotations

import json
import signal
import uuid as uuidlib
from pathlib import Path
from typing import Any

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import act, boot_bare, call, module_cloud

ENV = {
    "ONESTACK_COMPUTE__RECONCILE_INTERVAL": "0.3",
    "ONESTACK_COMPUTE__REPORT_INTERVAL": "0.5",
    "ONESTACK_COMPUTE__TASK_GRACE": "1",
    # Pinned: the guests' directory is read while the cloud is down (unpinned, it is the machine's name).
    "ONESTACK_COMPUTE__HOST_NAME": "restart-box",
}
ccloud = module_cloud("compute-restart", ENV)
MV = "2.87"  # the last microversion whose hypervisor view has the usage fields


def guests_dir(cloud: RunningCloud) -> Path:
    return cloud.data_dir / "compute" / ENV["ONESTACK_COMPUTE__HOST_NAME"] / "guests"


def server(conn: Any, uuid: str) -> dict[str, Any]:
    found: dict[str, Any] = call(conn, "GET", f"/servers/{uuid}", MV).json()["server"]
    return found


def console(conn: Any, uuid: str) -> str:
    resp = act(conn, uuid, {"os-getConsoleOutput": {}}, MV)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["output"])


def usage(conn: Any) -> dict[str, int]:
    node = call(conn, "GET", "/os-hypervisors/detail", MV).json()["hypervisors"][0]
    return {k: int(node[k]) for k in ("vcpus_used", "memory_mb_used", "local_gb_used", "running_vms")}


def seen(conn: Any, uuid: str) -> tuple[str, int, str | None, str]:
    view = server(conn, uuid)
    return view["status"], view["OS-EXT-STS:power_state"], view["OS-EXT-STS:task_state"], view["OS-SRV-USG:launched_at"]


def plant_orphan(cloud: RunningCloud, like: str) -> Path:
    """A guest record no row owns, made from an existing one (the cloud must be down)."""
    doc = json.loads((guests_dir(cloud) / f"{like}.json").read_text())
    orphan = str(uuidlib.uuid4())
    doc["uuid"] = doc["guest"]["spec"]["uuid"] = orphan
    doc["guest"]["spec"]["name"] = "orphan"
    path = guests_dir(cloud) / f"{orphan}.json"
    path.write_text(json.dumps(doc))
    return path


def restart_and_wait_for_a_pass(cloud: RunningCloud, like: str, sig: int) -> Any:
    """Stop the cloud, plant an orphan, start it again; return once a reconcile pass has run."""
    cloud.stop(sig)
    orphan = plant_orphan(cloud, like)
    cloud.start()
    wait_until(lambda: not orphan.exists(), timeout=30, what="a reconcile pass to reap the planted orphan")
    return cloud.sdk("devstack-admin")


def test_restart_keeps_every_guest_as_it_was(ccloud: RunningCloud) -> None:
    conn = ccloud.sdk("devstack-admin")
    running, stopped = boot_bare(conn, "keeps-running", MV), boot_bare(conn, "keeps-stopped", MV)
    assert act(conn, stopped, {"os-stop": None}, MV).status_code == 202
    wait_until(lambda: seen(conn, stopped)[:3] == ("SHUTOFF", 4, None), timeout=30, what="SHUTOFF")
    wait_until(lambda: usage(conn)["running_vms"] == 2, timeout=15, what="the report of both guests")
    before = {u: seen(conn, u) for u in (running, stopped)}
    consoles = {u: console(conn, u) for u in (running, stopped)}
    used = usage(conn)
    assert "keeps-running login:" in consoles[running]

    # SIGKILL: nothing is written at shutdown, every change was already on disk.
    conn = restart_and_wait_for_a_pass(ccloud, running, signal.SIGKILL)

    assert {u: seen(conn, u) for u in (running, stopped)} == before
    assert before[running][:2] == ("ACTIVE", 1) and before[stopped][:2] == ("SHUTOFF", 4)
    for uuid in (running, stopped):  # the same guests: no boot since (a rebuild or restart would log one)
        assert console(conn, uuid) == consoles[uuid]
    records = {u: json.loads((guests_dir(ccloud) / f"{u}.json").read_text()) for u in (running, stopped)}
    assert records[running]["guest"]["state"] == 1 and records[stopped]["guest"]["state"] == 4
    # The first report after the start counted the planted orphan too; once it is reaped the
    # usage is exactly what it was before the restart.
    wait_until(lambda: usage(conn) == used, timeout=15, what=f"hypervisor usage back to {used}")
    for uuid in (running, stopped):
        assert call(conn, "DELETE", f"/servers/{uuid}", MV).status_code == 204
    wait_until(lambda: usage(conn)["running_vms"] == 0, timeout=15, what="the guests to go with their servers")


def test_guest_lost_while_down_is_recorded_not_rebuilt(ccloud: RunningCloud) -> None:
    conn = ccloud.sdk("devstack-admin")
    lost, kept = boot_bare(conn, "lost", MV), boot_bare(conn, "kept", MV)
    ccloud.stop()
    (guests_dir(ccloud) / f"{lost}.json").unlink()  # undefined by hand while the agent was down
    conn = restart_and_wait_for_a_pass(ccloud, kept, signal.SIGTERM)

    assert seen(conn, lost)[:3] == ("ACTIVE", 0, None)  # Nova: NOSTATE recorded, server left ACTIVE
    assert seen(conn, kept)[:3] == ("ACTIVE", 1, None)
    assert not (guests_dir(ccloud) / f"{lost}.json").exists()  # not rebuilt
    assert ccloud.log_path is not None
    assert f"[instance: {lost}] Instance is unexpectedly not found. Ignore." in ccloud.log_path.read_text()
    for uuid in (lost, kept):  # deleting a server whose guest is gone works as any other
        assert call(conn, "DELETE", f"/servers/{uuid}", MV).status_code == 204
    wait_until(lambda: all(call(conn, "GET", f"/servers/{u}", MV).status_code == 404 for u in (lost, kept)),
               timeout=15, what="both deleted")
