"""Resize on a one-host cloud, as DevStack runs it (allow_resize_to_same_host is true there).

The server stays on its only host; placement holds both sizes on that host's provider while the
resize waits for confirmation (the old size under the migration's uuid, the new one under the
server's), confirm frees the old, revert gives the old back. A resize that cannot happen leaves
the server as it was with the migration in error and the failure in the instance action — which
is all Nova shows too (``openstack server resize --wait`` sees ACTIVE and says "Complete").
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import act, call, module_cloud
from tests.functional.test_compute_migrations import (
    IMAGE,
    SMALL,
    TINY,
    allocations,
    migrations_of,
    uniq,
    wait_migration,
    wait_status,
)

HOST = "resize-box"  # pinned: the one host's name is the machine's unless configured
ccloud = module_cloud("compute-one-host", {"ONESTACK_COMPUTE__HOSTS": "1", "ONESTACK_COMPUTE__HOST_NAME": HOST})


@pytest.fixture(scope="module")
def providers(cadmin: Any) -> dict[str, str]:
    """Resource provider uuid -> host name: the one host."""
    found = cadmin.session.request("/resource_providers", "GET", endpoint_filter={"service_type": "placement"})
    named = {rp["uuid"]: rp["name"] for rp in found.json()["resource_providers"]}
    assert list(named.values()) == [HOST]
    return named


def boot_with_cli(ccloud: RunningCloud, name: str) -> str:
    made = ccloud.cli("server", "create", "--flavor", "m1.tiny", "--image", IMAGE, "--nic", "none",
                      "--wait", name, cloud="devstack")
    assert made["status"] == "ACTIVE"
    return str(made["id"])


def resize_with_cli(ccloud: RunningCloud, sid: str, flavor: str) -> str:
    """``openstack server resize --wait``: what it printed (it must succeed)."""
    done = ccloud.cli("server", "resize", "--flavor", flavor, "--wait", sid, cloud="devstack", json_out=False)
    return str(done.stdout)


def test_resize_to_the_same_host_then_confirm(ccloud: RunningCloud, cadmin: Any, providers: dict[str, str]) -> None:
    sid = boot_with_cli(ccloud, uniq("one-c"))
    assert allocations(cadmin, providers, sid) == {HOST: TINY}
    assert "Complete" in resize_with_cli(ccloud, sid, "m1.small")
    shown = wait_status(cadmin, sid, "VERIFY_RESIZE")
    assert shown["OS-EXT-SRV-ATTR:host"] == HOST and shown["flavor"]["original_name"] == "m1.small"
    assert shown["OS-EXT-STS:power_state"] == 1
    mig = migrations_of(cadmin, sid)[0]
    assert (mig["migration_type"], mig["status"], mig["source_compute"], mig["dest_compute"]) == (
        "resize", "finished", HOST, HOST)
    # Both sizes on the one provider until confirm, as Nova's same-host resize holds them.
    assert allocations(cadmin, providers, sid) == {HOST: SMALL}
    assert allocations(cadmin, providers, mig["uuid"]) == {HOST: TINY}
    ccloud.cli("server", "resize", "confirm", sid, cloud="devstack", json_out=False)
    shown = wait_status(cadmin, sid, "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == HOST and shown["flavor"]["original_name"] == "m1.small"
    assert wait_migration(cadmin, sid, "confirmed")["uuid"] == mig["uuid"]
    wait_until(lambda: allocations(cadmin, providers, mig["uuid"]) == {}, what="the old size released")
    assert allocations(cadmin, providers, sid) == {HOST: SMALL}
    ccloud.cli("server", "delete", "--wait", sid, cloud="devstack", json_out=False)


def test_resize_to_the_same_host_then_revert(ccloud: RunningCloud, cadmin: Any, providers: dict[str, str]) -> None:
    sid = boot_with_cli(ccloud, uniq("one-r"))
    resize_with_cli(ccloud, sid, "m1.small")
    wait_status(cadmin, sid, "VERIFY_RESIZE")
    mig = migrations_of(cadmin, sid)[0]
    assert allocations(cadmin, providers, mig["uuid"]) == {HOST: TINY}
    ccloud.cli("server", "resize", "revert", sid, cloud="devstack", json_out=False)
    shown = wait_status(cadmin, sid, "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == HOST and shown["flavor"]["original_name"] == "m1.tiny"
    assert shown["OS-EXT-STS:power_state"] == 1  # the old guest is back and running
    assert wait_migration(cadmin, sid, "reverted")["uuid"] == mig["uuid"]
    assert allocations(cadmin, providers, sid) == {HOST: TINY}
    assert allocations(cadmin, providers, mig["uuid"]) == {}
    # Nothing is left behind on the host: the server resizes again and confirms.
    resize_with_cli(ccloud, sid, "m1.small")
    wait_status(cadmin, sid, "VERIFY_RESIZE")
    ccloud.cli("server", "resize", "confirm", sid, cloud="devstack", json_out=False)
    wait_status(cadmin, sid, "ACTIVE")
    assert allocations(cadmin, providers, sid) == {HOST: SMALL}
    ccloud.cli("server", "delete", "--wait", sid, cloud="devstack", json_out=False)


def test_cold_migration_never_picks_its_own_host(ccloud: RunningCloud, cadmin: Any,
                                                   providers: dict[str, str]) -> None:
    """Nova allows the same host to a resize only; a cold migration has nowhere to go here."""
    sid = boot_with_cli(ccloud, uniq("one-m"))
    assert act(cadmin, sid, {"migrate": None}).status_code == 202
    mig = wait_migration(cadmin, sid, "error")
    assert wait_status(cadmin, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == HOST
    assert allocations(cadmin, providers, sid) == {HOST: TINY}
    assert allocations(cadmin, providers, mig["uuid"]) == {}
    ccloud.cli("server", "delete", "--wait", sid, cloud="devstack", json_out=False)


def test_a_failed_resize_shows_as_nova_shows_it(ccloud: RunningCloud, cadmin: Any,
                                                providers: dict[str, str]) -> None:
    """No room for the new size even on the same host: the server is ACTIVE with its old flavor,
    the migration is in error, the resize action's event says why and the claim is unchanged."""
    flavor = cadmin.compute.create_flavor(name=uniq("one-huge"), ram=512, vcpus=1, disk=5000)
    try:
        sid = boot_with_cli(ccloud, uniq("one-f"))
        assert act(cadmin, sid, {"resize": {"flavorRef": flavor.id}}).status_code == 202
        mig = wait_migration(cadmin, sid, "error")
        shown = wait_status(cadmin, sid, "ACTIVE")
        assert shown["flavor"]["original_name"] == "m1.tiny"
        assert allocations(cadmin, providers, sid) == {HOST: TINY}
        assert allocations(cadmin, providers, mig["uuid"]) == {}
        actions = call(cadmin, "GET", f"/servers/{sid}/os-instance-actions", "2.58").json()["instanceActions"]
        resize = next(a for a in actions if a["action"] == "resize")
        detail = call(cadmin, "GET", f"/servers/{sid}/os-instance-actions/{resize['request_id']}", "2.58")
        events = detail.json()["instanceAction"]["events"]
        assert [(e["event"], e["result"]) for e in events] == [("cold_migrate", "Error")], events
        ccloud.cli("server", "delete", "--wait", sid, cloud="devstack", json_out=False)
    finally:
        cadmin.compute.delete_flavor(flavor.id)
