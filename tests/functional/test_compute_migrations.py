"""Moving servers between hosts, end to end: resize (confirm/revert), cold and live migration,
evacuation, the server-migrations API and os-migrations — with placement checked after each step.

One cloud with three fake hosts. The evacuation test forces a host down and leaves it so (as in
Nova, a host with "done" evacuations is only brought back by restarting its compute service),
so it runs last.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import act, call, message, module_cloud

IMAGE = "onestack-tiny-x86_64-disk"
HOSTS = {"compute-1", "compute-2", "compute-3"}
# In-flight live migrations (listing, abort, force-complete) need the fake driver to take a while.
# A live migration stays in progress this long (unless forced or aborted): long enough for the
# openstack CLI, slow to start on a loaded machine, to find it still running.
ENV = {"ONESTACK_COMPUTE__HOSTS": "3", "ONESTACK_COMPUTE__RECONCILE_INTERVAL": "1",
       "ONESTACK_COMPUTE__FAKE_LIVE_MIGRATION_LATENCY": "8"}


ccloud = module_cloud("compute-moves", ENV)


@pytest.fixture(scope="module")
def providers(cadmin: Any) -> dict[str, str]:
    """Resource provider uuid -> host name."""
    found = cadmin.session.request("/resource_providers", "GET", endpoint_filter={"service_type": "placement"})
    return {rp["uuid"]: rp["name"] for rp in found.json()["resource_providers"]}


# --- helpers ---------------------------------------------------------------------------------

def server_of(cadmin: Any, sid: str) -> dict[str, Any]:
    return call(cadmin, "GET", f"/servers/{sid}", "2.47").json()["server"]  # type: ignore[no-any-return]


def wait_status(cadmin: Any, sid: str, status: str, timeout: float = 30) -> dict[str, Any]:
    """Poll (as admin, so the host shows) until the server is ``status`` with no task in flight."""
    def settled() -> dict[str, Any] | None:
        s = server_of(cadmin, sid)
        return s if s["status"] == status and s["OS-EXT-STS:task_state"] is None else None

    return wait_until(settled, timeout=timeout, interval=0.1, what=f"{sid} {status}")  # type: ignore[no-any-return]


def boot(conn: Any, cadmin: Any, name: str, flavor: str = "m1.tiny") -> tuple[str, str]:
    """A new ACTIVE server: (id, host)."""
    image = conn.image.find_image(IMAGE, ignore_missing=False)
    fl = conn.compute.find_flavor(flavor, ignore_missing=False)
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=fl.id, networks="none")
    shown = wait_status(cadmin, server.id, "ACTIVE", timeout=60)
    return str(server.id), str(shown["OS-EXT-SRV-ATTR:host"])


def allocations(cadmin: Any, providers: dict[str, str], consumer: str) -> dict[str, dict[str, int]]:
    """Host name -> resources the consumer holds there."""
    resp = cadmin.session.request(f"/allocations/{consumer}", "GET", endpoint_filter={"service_type": "placement"},
                                  headers={"OpenStack-API-Version": "placement 1.28"})
    return {providers[rp]: a["resources"] for rp, a in resp.json()["allocations"].items()}


def migrations_of(cadmin: Any, sid: str) -> list[dict[str, Any]]:
    """The server's migrations, newest first (2.80: with uuid, type, user and project)."""
    resp = call(cadmin, "GET", f"/os-migrations?instance_uuid={sid}", "2.80")
    assert resp.status_code == 200, resp.text
    return resp.json()["migrations"]  # type: ignore[no-any-return]


def wait_migration(cadmin: Any, sid: str, status: str, timeout: float = 30) -> dict[str, Any]:
    def latest() -> dict[str, Any] | None:
        found = migrations_of(cadmin, sid)
        return found[0] if found and found[0]["status"] == status else None

    return wait_until(latest, timeout=timeout, interval=0.1, what=f"migration of {sid} {status}")  # type: ignore[no-any-return]


TINY = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
SMALL = {"VCPU": 1, "MEMORY_MB": 2048, "DISK_GB": 20}


def flavor_id(conn: Any, name: str) -> str:
    return str(conn.compute.find_flavor(name, ignore_missing=False).id)


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


# --- resize ----------------------------------------------------------------------------------

def test_resize_confirm_with_cli(ccloud: RunningCloud, cadmin: Any, cdemo: Any, providers: dict[str, str]) -> None:
    sid, source = boot(cdemo, cadmin, uniq("rs"))
    assert allocations(cadmin, providers, sid) == {source: TINY}
    ccloud.cli("server", "resize", "--flavor", "m1.small", sid, cloud="devstack", json_out=False)
    shown = wait_status(cadmin, sid, "VERIFY_RESIZE")
    dest = shown["OS-EXT-SRV-ATTR:host"]
    assert dest in HOSTS - {source}  # Nova's allow_resize_to_same_host is False by default
    assert shown["flavor"]["original_name"] == "m1.small" and shown["flavor"]["ram"] == 2048
    mig = migrations_of(cadmin, sid)[0]
    assert (mig["migration_type"], mig["status"], mig["source_compute"], mig["dest_compute"]) == (
        "resize", "finished", source, dest)
    assert mig["old_instance_type_id"] != mig["new_instance_type_id"]
    assert mig["user_id"] == cdemo.current_user_id and mig["project_id"] == cdemo.current_project_id
    # Nova keeps the old size on the migration's uuid and the new one on the server's until confirm.
    assert allocations(cadmin, providers, sid) == {dest: SMALL}
    assert allocations(cadmin, providers, mig["uuid"]) == {source: TINY}
    # Resizing again, reverting or confirming twice are refused while it waits / after it is done.
    assert act(cdemo, sid, {"resize": {"flavorRef": flavor_id(cdemo, "m1.medium")}}).status_code == 409
    ccloud.cli("server", "resize", "confirm", sid, cloud="devstack", json_out=False)
    shown = wait_status(cadmin, sid, "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == dest and shown["flavor"]["original_name"] == "m1.small"
    assert wait_migration(cadmin, sid, "confirmed")["uuid"] == mig["uuid"]
    assert allocations(cadmin, providers, sid) == {dest: SMALL}
    wait_until(lambda: allocations(cadmin, providers, mig["uuid"]) == {}, what="migration allocation released")
    again = act(cdemo, sid, {"confirmResize": None})
    assert again.status_code == 409 and "vm_state active" in message(again)
    assert act(cdemo, sid, {"revertResize": None}).status_code == 409


def test_resize_and_migrate_set_the_disk_config(cadmin: Any, cdemo: Any) -> None:
    sid, _ = boot(cdemo, cadmin, uniq("dc"))
    resp = act(cdemo, sid, {"resize": {"flavorRef": flavor_id(cdemo, "m1.small"), "OS-DCF:diskConfig": "AUTO"}})
    assert resp.status_code == 202, resp.text
    assert wait_status(cadmin, sid, "VERIFY_RESIZE")["OS-DCF:diskConfig"] == "AUTO"
    assert act(cdemo, sid, {"confirmResize": None}).status_code == 204
    assert wait_status(cadmin, sid, "ACTIVE")["OS-DCF:diskConfig"] == "AUTO"
    # Nova's resize sets ``auto_disk_config or False``: a cold migration (a resize without a
    # flavor) leaves the server MANUAL.
    assert act(cadmin, sid, {"migrate": None}).status_code == 202
    assert wait_status(cadmin, sid, "VERIFY_RESIZE")["OS-DCF:diskConfig"] == "MANUAL"
    assert act(cadmin, sid, {"confirmResize": None}).status_code == 204
    wait_status(cadmin, sid, "ACTIVE")
    cdemo.compute.delete_server(sid)


def test_delete_while_verifying_a_resize_releases_both_claims(cadmin: Any, cdemo: Any,
                                                                providers: dict[str, str]) -> None:
    sid, source = boot(cdemo, cadmin, uniq("rd"))
    assert act(cdemo, sid, {"resize": {"flavorRef": flavor_id(cdemo, "m1.small")}}).status_code == 202
    wait_status(cadmin, sid, "VERIFY_RESIZE")
    mig = migrations_of(cadmin, sid)[0]
    assert allocations(cadmin, providers, mig["uuid"]) == {source: TINY}
    cdemo.compute.delete_server(sid)
    wait_until(lambda: call(cdemo, "GET", f"/servers/{sid}").status_code == 404, timeout=30, what="delete")
    # Nova confirms first: the migration ends confirmed and neither consumer holds anything.
    wait_until(lambda: allocations(cadmin, providers, sid) == {} and
               allocations(cadmin, providers, mig["uuid"]) == {}, timeout=30, what="claims released")
    found = call(cadmin, "GET", f"/os-migrations?instance_uuid={sid}", "2.59").json()["migrations"]
    assert [m["status"] for m in found] == ["confirmed"]


def test_resize_revert(ccloud: RunningCloud, cadmin: Any, cdemo: Any, providers: dict[str, str]) -> None:
    sid, source = boot(cdemo, cadmin, uniq("rv"))
    small = cdemo.compute.find_flavor("m1.small", ignore_missing=False)
    cdemo.compute.resize_server(sid, small.id)
    dest = wait_status(cadmin, sid, "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"]
    mig = migrations_of(cadmin, sid)[0]
    ccloud.cli("server", "resize", "revert", sid, cloud="devstack", json_out=False)
    shown = wait_status(cadmin, sid, "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == source != dest
    assert shown["flavor"]["original_name"] == "m1.tiny" and shown["OS-EXT-STS:power_state"] == 1
    assert wait_migration(cadmin, sid, "reverted")["uuid"] == mig["uuid"]
    assert allocations(cadmin, providers, sid) == {source: TINY}
    assert allocations(cadmin, providers, mig["uuid"]) == {}
    # The server works normally afterwards: it can be resized again.
    cdemo.compute.resize_server(sid, small.id)
    host = wait_status(cadmin, sid, "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"]
    cdemo.compute.confirm_server_resize(sid)
    wait_status(cadmin, sid, "ACTIVE")
    # Shrinking the root disk fails on the source host: the server stays as it was (Nova's rollback).
    assert act(cdemo, sid, {"resize": {"flavorRef": flavor_id(cdemo, "m1.tiny")}}).status_code == 202
    failed = wait_migration(cadmin, sid, "error")
    shown = wait_status(cadmin, sid, "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == host and shown["flavor"]["original_name"] == "m1.small"
    assert shown["OS-EXT-STS:power_state"] == 1
    assert allocations(cadmin, providers, sid) == {host: SMALL}
    assert allocations(cadmin, providers, failed["uuid"]) == {}
    actions = call(cdemo, "GET", f"/servers/{sid}/os-instance-actions")
    assert actions.status_code == 200, actions.text
    names = [a["action"] for a in actions.json()["instanceActions"]]
    assert names.count("resize") == 3 and "revertResize" in names and "confirmResize" in names
    cdemo.compute.delete_server(sid)


def test_resize_stopped_server_stays_stopped(cadmin: Any, cdemo: Any, providers: dict[str, str]) -> None:
    sid, source = boot(cdemo, cadmin, uniq("st"))
    stop = act(cdemo, sid, {"os-stop": None})
    assert stop.status_code == 202, stop.text
    wait_status(cadmin, sid, "SHUTOFF")
    assert act(cdemo, sid, {"resize": {"flavorRef": flavor_id(cdemo, "m1.small")}}).status_code == 202
    shown = wait_status(cadmin, sid, "VERIFY_RESIZE")
    assert shown["OS-EXT-STS:power_state"] == 4  # not started on the destination
    # Nova applies no schema to confirmResize: Tempest sends an empty object.
    assert act(cdemo, sid, {"confirmResize": {}}).status_code == 204
    shown = wait_status(cadmin, sid, "SHUTOFF")
    assert shown["OS-EXT-SRV-ATTR:host"] != source
    assert allocations(cadmin, providers, sid) == {shown["OS-EXT-SRV-ATTR:host"]: SMALL}
    cdemo.compute.delete_server(sid)


def test_resize_refusals(cadmin: Any, cdemo: Any) -> None:
    sid, _host = boot(cdemo, cadmin, uniq("bad"))
    tiny, small, medium = (flavor_id(cdemo, n) for n in ("m1.tiny", "m1.small", "m1.medium"))
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"resize": {"flavorRef": tiny}}, 400, "When resizing, instances must change flavor!"),
        ({"resize": {"flavorRef": "no-such-flavor"}}, 400, "Flavor no-such-flavor could not be found."),
        ({"resize": {}}, 400, "'flavorRef' is a required property"),
        ({"resize": {"flavorRef": small, "bogus": 1}}, 400, "Additional properties are not allowed"),
        ({"confirmResize": None}, 409, f"Cannot 'confirmResize' instance {sid} while it is in vm_state active"),
        ({"revertResize": None}, 409, f"Cannot 'revertResize' instance {sid} while it is in vm_state active"),
        # No schema on these two: any argument reaches the state check.
        ({"confirmResize": {}}, 409, f"Cannot 'confirmResize' instance {sid} while it is in vm_state active"),
        ({"revertResize": {"x": 1}}, 409, f"Cannot 'revertResize' instance {sid} while it is in vm_state active"),
    ]
    for body, status, text in cases:
        resp = act(cdemo, sid, body)
        assert resp.status_code == status and text in message(resp), (body, resp.text)
    # Admin-only moves.
    admin_only: list[dict[str, Any]] = [{"migrate": None}, {"evacuate": {}},
                                        {"os-migrateLive": {"host": None, "block_migration": "auto"}}]
    for body in admin_only:
        resp = act(cdemo, sid, body, "2.30")
        assert resp.status_code == 403, (body, resp.text)
    # Growing past the cores quota is refused before anything moves.
    project = cdemo.current_project_id
    used = call(cdemo, "GET", "/limits").json()["limits"]["absolute"]["totalCoresUsed"]
    assert call(cadmin, "PUT", f"/os-quota-sets/{project}", body={"quota_set": {"cores": used}}).ok
    try:
        over = act(cdemo, sid, {"resize": {"flavorRef": medium}})
        assert over.status_code == 403 and "Quota exceeded for cores" in message(over), over.text
    finally:
        call(cadmin, "DELETE", f"/os-quota-sets/{project}")
    assert server_of(cadmin, sid)["status"] == "ACTIVE"
    assert migrations_of(cadmin, sid) == []
    cdemo.compute.delete_server(sid)


def test_resize_without_room_stays_put(cadmin: Any, cdemo: Any, providers: dict[str, str]) -> None:
    """No host has the disk: the request is accepted, then the server is back as it was, with
    the migration in error and its allocation unchanged (Nova casts resize to the conductor)."""
    name = uniq("huge")
    flavor = cadmin.compute.create_flavor(name=name, ram=512, vcpus=1, disk=5000)
    try:
        sid, source = boot(cdemo, cadmin, uniq("nv"))
        assert act(cdemo, sid, {"resize": {"flavorRef": flavor.id}}).status_code == 202
        mig = wait_migration(cadmin, sid, "error")
        shown = wait_status(cadmin, sid, "ACTIVE")
        assert shown["OS-EXT-SRV-ATTR:host"] == source and shown["flavor"]["original_name"] == "m1.tiny"
        assert allocations(cadmin, providers, sid) == {source: TINY}
        assert allocations(cadmin, providers, mig["uuid"]) == {}
        cdemo.compute.delete_server(sid)
    finally:
        cadmin.compute.delete_flavor(flavor.id)


# --- cold migration --------------------------------------------------------------------------

def test_cold_migrate_with_cli(ccloud: RunningCloud, cadmin: Any, cdemo: Any, providers: dict[str, str]) -> None:
    sid, source = boot(cdemo, cadmin, uniq("cm"))
    ccloud.cli("server", "migrate", sid, json_out=False)
    shown = wait_status(cadmin, sid, "VERIFY_RESIZE")
    dest = shown["OS-EXT-SRV-ATTR:host"]
    assert dest != source and shown["flavor"]["original_name"] == "m1.tiny"
    mig = migrations_of(cadmin, sid)[0]
    assert (mig["migration_type"], mig["status"]) == ("migration", "finished")
    assert mig["old_instance_type_id"] == mig["new_instance_type_id"]
    assert allocations(cadmin, providers, sid) == {dest: TINY}
    assert allocations(cadmin, providers, mig["uuid"]) == {source: TINY}
    ccloud.cli("server", "migration", "confirm", sid, json_out=False)
    wait_status(cadmin, sid, "ACTIVE")
    wait_until(lambda: allocations(cadmin, providers, mig["uuid"]) == {}, what="source allocation released")
    assert allocations(cadmin, providers, sid) == {dest: TINY}

    # 2.56: to a named host (which still has to pass the scheduler).
    target = min(HOSTS - {dest})
    ccloud.cli("--os-compute-api-version", "2.56", "server", "migrate", "--host", target, sid, json_out=False)
    assert wait_status(cadmin, sid, "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"] == target
    assert act(cadmin, sid, {"revertResize": None}).status_code == 202
    assert wait_status(cadmin, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == dest
    assert allocations(cadmin, providers, sid) == {dest: TINY}

    same = act(cadmin, sid, {"migrate": {"host": dest}}, "2.56")
    assert same.status_code == 400 and message(same) == "Cannot migrate to the host where the server exists."
    nowhere = act(cadmin, sid, {"migrate": {"host": "no-such-host"}}, "2.56")
    assert nowhere.status_code == 400 and message(nowhere) == "Compute host no-such-host could not be found."
    assert act(cadmin, sid, {"migrate": {"host": "compute-1", "x": 1}}, "2.56").status_code == 400
    cdemo.compute.delete_server(sid)


# --- live migration --------------------------------------------------------------------------

def test_live_migrate_with_cli(ccloud: RunningCloud, cadmin: Any, cdemo: Any, providers: dict[str, str]) -> None:
    sid, source = boot(cdemo, cadmin, uniq("lm"))
    ccloud.cli("server", "migrate", "--live-migration", sid, json_out=False)
    mig = wait_migration(cadmin, sid, "completed")
    shown = wait_status(cadmin, sid, "ACTIVE")
    dest = shown["OS-EXT-SRV-ATTR:host"]
    assert dest != source and shown["OS-EXT-STS:power_state"] == 1
    assert (mig["migration_type"], mig["source_compute"], mig["dest_compute"]) == ("live-migration", source, dest)
    assert allocations(cadmin, providers, sid) == {dest: TINY}
    assert allocations(cadmin, providers, mig["uuid"]) == {}

    # --host goes through the scheduler at 2.30 (force false) and lands exactly there.
    target = min(HOSTS - {dest})
    ccloud.cli("server", "migrate", "--live-migration", "--host", target, sid, json_out=False)
    wait_until(lambda: server_of(cadmin, sid)["OS-EXT-SRV-ATTR:host"] == target, what="live-migrated to target")
    wait_status(cadmin, sid, "ACTIVE")
    assert allocations(cadmin, providers, sid) == {target: TINY}

    # Before 2.34 the conductor's checks answer the request itself.
    same = act(cadmin, sid, {"os-migrateLive": {"host": target, "block_migration": "auto"}}, "2.30")
    assert same.status_code == 400 and f"to current host ({target})" in message(same)
    assert wait_status(cadmin, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == target
    # From 2.34 they run after the 202: the migration ends in error, the server stays.
    assert act(cadmin, sid, {"os-migrateLive": {"host": target, "block_migration": "auto"}}, "2.34").status_code == 202
    failed = wait_migration(cadmin, sid, "error")
    assert failed["migration_type"] == "live-migration"
    assert wait_status(cadmin, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == target
    assert allocations(cadmin, providers, sid) == {target: TINY}
    assert allocations(cadmin, providers, failed["uuid"]) == {}

    # Forced (2.30 force=true) to a host, skipping the filters.
    forced = min(HOSTS - {target})
    body = {"os-migrateLive": {"host": forced, "block_migration": False, "force": True}}
    assert act(cadmin, sid, body, "2.30").status_code == 202
    wait_migration(cadmin, sid, "completed")
    assert wait_status(cadmin, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == forced
    cdemo.compute.delete_server(sid)


def test_live_migrate_refusals(cadmin: Any, cdemo: Any) -> None:
    sid, _host = boot(cdemo, cadmin, uniq("lr"))
    cases = [
        ("2.1", {"host": None, "block_migration": False}, "'disk_over_commit' is a required property"),
        ("2.1", {"host": None, "block_migration": "auto", "disk_over_commit": False}, "is not a valid boolean"),
        ("2.25", {"host": None, "block_migration": False, "disk_over_commit": False}, "Additional properties"),
        ("2.25", {"block_migration": "auto"}, "'host' is a required property"),
        ("2.30", {"host": None, "block_migration": "auto", "force": True},
         "Can't force to a non-provided destination"),
        ("2.68", {"host": None, "block_migration": "auto", "force": False}, "Additional properties"),
        ("2.68", {"host": "no-such-host", "block_migration": "auto"}, "Compute host no-such-host could not be found."),
    ]
    for mv, body, text in cases:
        resp = act(cadmin, sid, {"os-migrateLive": body}, mv)
        assert resp.status_code == 400 and text in message(resp), (mv, body, resp.text)
    assert migrations_of(cadmin, sid) == []
    cdemo.compute.delete_server(sid)


def test_server_migrations_api(cadmin: Any, cdemo: Any) -> None:
    sid, _host = boot(cdemo, cadmin, uniq("sm"))
    assert call(cadmin, "GET", f"/servers/{sid}/migrations", "2.22").status_code == 404
    assert call(cadmin, "GET", f"/servers/{sid}/migrations", "2.23").json() == {"migrations": []}
    assert call(cdemo, "GET", f"/servers/{sid}/migrations", "2.23").status_code == 403
    assert act(cadmin, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}}, "2.80").status_code == 202
    live = wait_migration(cadmin, sid, "completed")
    wait_status(cadmin, sid, "ACTIVE")
    gone = call(cadmin, "GET", f"/servers/{sid}/migrations/{live['id']}", "2.23")
    assert gone.status_code == 404 and message(gone) == (
        f"Live migration {live['id']} for server {sid} is not in progress.")
    assert call(cadmin, "GET", f"/servers/{sid}/migrations", "2.80").json() == {"migrations": []}
    # Force-complete and abort want a live migration in progress.
    done = call(cadmin, "POST", f"/servers/{sid}/migrations/{live['id']}/action", "2.22", {"force_complete": None})
    assert done.status_code == 409 and "task_state None" in message(done)
    assert call(cadmin, "DELETE", f"/servers/{sid}/migrations/{live['id']}", "2.24").status_code == 409
    assert call(cadmin, "DELETE", f"/servers/{sid}/migrations/{live['id']}", "2.23").status_code == 404
    assert call(cadmin, "POST", f"/servers/{sid}/migrations/{live['id']}/action", "2.21",
                {"force_complete": None}).status_code == 404
    assert call(cadmin, "POST", f"/servers/{sid}/migrations/{live['id']}/action", "2.22",
                {"force_complete": {}}).status_code == 400
    # A cold migration is not a live one.
    assert act(cadmin, sid, {"migrate": None}).status_code == 202
    cold = wait_migration(cadmin, sid, "finished")
    notlive = call(cadmin, "GET", f"/servers/{sid}/migrations/{cold['id']}", "2.23")
    assert notlive.status_code == 404 and message(notlive) == f"Migration {cold['id']} for server {sid} is not live-migration."
    missing = call(cadmin, "GET", f"/servers/{sid}/migrations/999999", "2.23")
    assert missing.status_code == 404
    assert act(cadmin, sid, {"confirmResize": None}).status_code == 204
    wait_status(cadmin, sid, "ACTIVE")
    cdemo.compute.delete_server(sid)


def test_live_migration_in_progress(ccloud: RunningCloud, cadmin: Any, cdemo: Any, providers: dict[str, str]) -> None:
    sid, source = boot(cdemo, cadmin, uniq("ip"))
    live = {"os-migrateLive": {"host": None, "block_migration": "auto"}}

    def running() -> dict[str, Any]:
        found: list[dict[str, Any]] = wait_until(
            lambda: [m for m in call(cadmin, "GET", f"/servers/{sid}/migrations", "2.80").json()["migrations"]
                     if m["status"] == "running"], what="running live migration")
        return found[0]

    # Listed while it runs, then aborted: the server stays where it was.
    assert act(cadmin, sid, live, "2.80").status_code == 202
    mig = running()
    assert server_of(cadmin, sid)["status"] == "MIGRATING"
    assert mig["server_uuid"] == sid and mig["source_compute"] == source and mig["uuid"]
    shown = call(cadmin, "GET", f"/servers/{sid}/migrations/{mig['id']}", "2.80").json()["migration"]
    assert shown["id"] == mig["id"] and shown["user_id"] == cadmin.current_user_id
    listed = call(cadmin, "GET", f"/os-migrations?instance_uuid={sid}", "2.23").json()["migrations"][0]
    assert listed["links"][0]["href"].endswith(f"/servers/{sid}/migrations/{mig['id']}")
    assert act(cadmin, sid, {"migrate": None}).status_code == 409  # busy moving
    assert call(cadmin, "DELETE", f"/servers/{sid}/migrations/{mig['id']}", "2.24").status_code == 202
    wait_migration(cadmin, sid, "cancelled")
    assert wait_status(cadmin, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == source
    assert allocations(cadmin, providers, sid) == {source: TINY}
    assert allocations(cadmin, providers, mig["uuid"]) == {}

    # Forced to complete with the CLI: it lands.
    assert act(cadmin, sid, live, "2.80").status_code == 202
    mig = running()
    ccloud.cli("server", "migration", "force", "complete", sid, str(mig["id"]), json_out=False)
    wait_migration(cadmin, sid, "completed")
    dest = wait_status(cadmin, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    assert dest != source and allocations(cadmin, providers, sid) == {dest: TINY}

    # Aborted with the CLI.
    assert act(cadmin, sid, live, "2.80").status_code == 202
    mig = running()
    ccloud.cli("server", "migration", "abort", sid, str(mig["id"]), json_out=False)
    wait_migration(cadmin, sid, "cancelled")
    assert wait_status(cadmin, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == dest
    cdemo.compute.delete_server(sid)


# --- os-migrations ---------------------------------------------------------------------------

def test_os_migrations_listing(ccloud: RunningCloud, cadmin: Any, cdemo: Any) -> None:
    sid, source = boot(cdemo, cadmin, uniq("ls"))
    assert act(cadmin, sid, {"migrate": None}).status_code == 202
    wait_status(cadmin, sid, "VERIFY_RESIZE")
    assert act(cadmin, sid, {"confirmResize": None}).status_code == 204
    wait_migration(cadmin, sid, "confirmed")
    assert act(cadmin, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}}, "2.80").status_code == 202
    wait_migration(cadmin, sid, "completed")
    wait_status(cadmin, sid, "ACTIVE")

    old = call(cadmin, "GET", f"/os-migrations?instance_uuid={sid}").json()["migrations"]
    assert [m["status"] for m in old] == ["confirmed", "completed"]  # by id, no type before 2.23
    assert "migration_type" not in old[0] and "uuid" not in old[0] and "links" not in old[0]
    assert set(old[0]) >= {"id", "instance_uuid", "source_compute", "dest_compute", "dest_host", "source_node",
                           "dest_node", "old_instance_type_id", "new_instance_type_id", "created_at", "updated_at"}
    typed = call(cadmin, "GET", f"/os-migrations?instance_uuid={sid}&migration_type=live-migration",
                 "2.23").json()["migrations"]
    assert [m["migration_type"] for m in typed] == ["live-migration"] and "uuid" not in typed[0]
    newest = call(cadmin, "GET", f"/os-migrations?instance_uuid={sid}", "2.59").json()["migrations"]
    assert [m["migration_type"] for m in newest] == ["live-migration", "migration"]  # newest first
    page = call(cadmin, "GET", f"/os-migrations?instance_uuid={sid}&limit=1", "2.59").json()
    assert len(page["migrations"]) == 1 and page["migrations_links"][0]["rel"] == "next"
    rest = call(cadmin, "GET", f"/os-migrations?instance_uuid={sid}&limit=1&marker={page['migrations'][0]['uuid']}",
                "2.59").json()["migrations"]
    assert [m["uuid"] for m in rest] == [newest[1]["uuid"]]
    bad = call(cadmin, "GET", f"/os-migrations?marker={uuid.uuid4()}", "2.59")
    assert bad.status_code == 400 and "could not be found" in message(bad)
    assert call(cadmin, "GET", "/os-migrations?user_id=x", "2.59").status_code == 400
    mine = call(cadmin, "GET", f"/os-migrations?user_id={cadmin.current_user_id}&instance_uuid={sid}",
                "2.80").json()["migrations"]
    assert len(mine) == 2 and all(m["project_id"] == cadmin.current_project_id for m in mine)
    assert call(cadmin, "GET", f"/os-migrations?user_id={cdemo.current_user_id}&instance_uuid={sid}",
                "2.80").json()["migrations"] == []
    by_host = call(cadmin, "GET", f"/os-migrations?host={source}&status=confirmed", "2.59").json()["migrations"]
    assert sid in {m["instance_uuid"] for m in by_host}
    assert all(m["status"] == "confirmed" for m in by_host)
    assert call(cdemo, "GET", "/os-migrations").status_code == 403
    listed = ccloud.cli("server", "migration", "list", "--server", sid, "--type", "cold-migration")
    assert [m["Type"] for m in listed] == ["migration"] and listed[0]["Status"] == "confirmed"
    cdemo.compute.delete_server(sid)


# --- evacuation (last: it leaves a host forced down) -----------------------------------------

def boot_on(cadmin: Any, host: str, name: str) -> str:
    """An admin's server pinned to ``host`` (Nova's ``nova:<host>`` zone syntax)."""
    image = cadmin.image.find_image(IMAGE, ignore_missing=False)
    flavor = cadmin.compute.find_flavor("m1.tiny", ignore_missing=False)
    server = cadmin.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, networks="none",
                                          availability_zone=f"nova:{host}")
    assert wait_status(cadmin, server.id, "ACTIVE", timeout=60)["OS-EXT-SRV-ATTR:host"] == host
    return str(server.id)


def test_evacuate(ccloud: RunningCloud, cadmin: Any, providers: dict[str, str]) -> None:
    source = "compute-3"
    sid, second = boot_on(cadmin, source, uniq("ev")), boot_on(cadmin, source, uniq("ev2"))
    up = act(cadmin, sid, {"evacuate": {}}, "2.29")
    assert up.status_code == 400 and message(up) == f"Compute service of {source} is still in use."
    services = call(cadmin, "GET", f"/os-services?host={source}&binary=nova-compute", "2.53")
    assert services.status_code == 200 and len(services.json()["services"]) == 1, services.text
    service_id = services.json()["services"][0]["id"]
    down = call(cadmin, "PUT", f"/os-services/{service_id}", "2.53", {"forced_down": True})
    assert down.status_code == 200, down.text
    other = "compute-1"
    same = act(cadmin, sid, {"evacuate": {"host": source}}, "2.29")
    assert same.status_code == 400 and message(same) == "The target host can't be the same one."
    unknown = act(cadmin, sid, {"evacuate": {"host": "no-such-host"}}, "2.29")
    assert unknown.status_code == 404 and message(unknown) == "Compute host no-such-host not found."
    forced = act(cadmin, sid, {"evacuate": {"force": True}}, "2.29")
    assert forced.status_code == 400 and message(forced) == "Can't force to a non-provided destination"
    assert act(cadmin, sid, {"evacuate": {"force": True, "host": other}}, "2.68").status_code == 400
    assert act(cadmin, sid, {"evacuate": {"onSharedStorage": False}}, "2.14").status_code == 400
    # Live and cold moves need the source host up.
    assert act(cadmin, sid, {"migrate": None}).status_code == 409
    # Before 2.14 the answer carries the new admin password.
    old = act(cadmin, sid, {"evacuate": {"host": other, "onSharedStorage": False}}, "2.1")
    assert old.status_code == 200 and old.json()["adminPass"]
    mig = wait_migration(cadmin, sid, "done")
    shown = wait_status(cadmin, sid, "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == other == mig["dest_compute"] and mig["migration_type"] == "evacuation"
    assert mig["source_compute"] == source
    assert allocations(cadmin, providers, sid) == {other: TINY}
    assert allocations(cadmin, providers, mig["uuid"]) == {}
    again = act(cadmin, sid, {"evacuate": {}}, "2.29")  # its new host is up
    assert again.status_code == 400 and "is still in use" in message(again)

    # The CLI at the latest microversion (2.95+): an evacuated server ends stopped.
    ccloud.cli("server", "evacuate", second)
    shown = wait_status(cadmin, second, "SHUTOFF")
    assert shown["OS-EXT-SRV-ATTR:host"] in HOSTS - {source}
    assert allocations(cadmin, providers, second) == {shown["OS-EXT-SRV-ATTR:host"]: TINY}
    assert wait_migration(cadmin, second, "done")["source_compute"] == source
    for server in (sid, second):
        cadmin.compute.delete_server(server)
