"""The agent's reconcile pass against drift only the hypervisor sees (guests crash, stop, start,
pause or vanish on their own; guests appear that no row owns), answered as Nova's
``_sync_instance_power_state`` does. The whole cloud runs in this process (helpers.py)."""

from __future__ import annotations

import logging

import pytest

from onestack.compute.virt.driver import InstanceSpec, PowerState
from tests.unit.compute.agent.helpers import (
    Cloud,
    act,
    boot,
    fake_host,
    guests,
    in_process_cloud,
    on_loop,
    poll,
    reconcile_pass,
    show,
)

cloud = in_process_cloud("reconcile")


def power(client: object, uuid: str) -> PowerState:
    found: PowerState = on_loop(client, fake_host(client).get_power_state, uuid)  # type: ignore[arg-type]
    return found


def test_guest_stopping_on_its_own_makes_the_server_shutoff(cloud: Cloud) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    on_loop(client, fake_host(client).simulate_external_stop, uuid)
    view = poll(lambda: (v := show(client, headers, uuid))["status"] == "SHUTOFF" and v, what="SHUTOFF")
    assert view["OS-EXT-STS:power_state"] == 4
    assert view["OS-EXT-STS:vm_state"] == "stopped"


def test_crashed_guest_is_recorded(cloud: Cloud) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    on_loop(client, fake_host(client).simulate_crash, uuid)
    view = poll(lambda: (v := show(client, headers, uuid))["status"] == "SHUTOFF" and v, what="SHUTOFF")
    assert view["OS-EXT-STS:power_state"] == 6


@pytest.mark.parametrize("drift", ["simulate_external_start", "pause"])
def test_stopped_server_whose_guest_wakes_is_powered_off_again(cloud: Cloud, drift: str) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    host = fake_host(client)
    act(client, headers, uuid, "os-stop", "SHUTOFF")
    on_loop(client, host.simulate_external_start, uuid)
    if drift == "pause":
        on_loop(client, host.pause, uuid)  # someone paused it behind our back (virsh suspend)
    poll(lambda: power(client, uuid) == PowerState.SHUTDOWN, what="the guest to be stopped again")
    assert show(client, headers, uuid)["status"] == "SHUTOFF"


def test_vanished_guest_under_an_active_server_is_recorded_not_rebuilt(
        cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    on_loop(client, fake_host(client).simulate_vanish, uuid)
    with caplog.at_level(logging.WARNING, logger="onestack.compute.reconcile"):
        view = poll(lambda: (v := show(client, headers, uuid))["OS-EXT-STS:power_state"] == 0 and v,
                    what="power state NOSTATE")
    assert view["status"] == "ACTIVE" and view["OS-EXT-STS:vm_state"] == "active"
    assert any(uuid in r.getMessage() and "Instance is unexpectedly not found. Ignore." in r.getMessage()
               for r in caplog.records)
    reconcile_pass(client)  # a pass after the one that noticed: still nothing rebuilt or deleted
    assert uuid not in guests(client)
    view = show(client, headers, uuid)
    assert (view["status"], view["OS-EXT-STS:power_state"], view["OS-EXT-STS:task_state"]) == ("ACTIVE", 0, None)


@pytest.mark.parametrize(("action", "status"), [("os-stop", "SHUTOFF"), ("pause", "PAUSED"),
                                                ("suspend", "SUSPENDED")])
def test_vanished_guest_under_a_quiet_server_only_changes_its_power_state(
        cloud: Cloud, action: str, status: str) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    act(client, headers, uuid, action, status)
    on_loop(client, fake_host(client).simulate_vanish, uuid)
    poll(lambda: show(client, headers, uuid)["OS-EXT-STS:power_state"] == 0, what="power state NOSTATE")
    reconcile_pass(client)
    view = show(client, headers, uuid)
    assert (view["status"], view["OS-EXT-STS:task_state"]) == (status, None)
    assert uuid not in guests(client)


def test_suspended_guest_under_an_active_server_is_stopped(cloud: Cloud) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    on_loop(client, fake_host(client).suspend, uuid)  # behind the agent's back (virsh managedsave)
    view = poll(lambda: (v := show(client, headers, uuid))["status"] == "SHUTOFF" and v, what="SHUTOFF")
    assert view["OS-EXT-STS:power_state"] == 4
    assert power(client, uuid) == PowerState.SHUTDOWN  # its saved memory is gone, as after a stop


def test_paused_server_whose_guest_shut_down_is_stopped(cloud: Cloud) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    act(client, headers, uuid, "pause", "PAUSED")
    on_loop(client, fake_host(client).simulate_crash, uuid)
    view = poll(lambda: (v := show(client, headers, uuid))["status"] == "SHUTOFF" and v, what="SHUTOFF")
    assert view["OS-EXT-STS:power_state"] == 4  # force-stopped, as Nova's stop of a paused server


def test_guest_paused_under_an_active_server_is_left_alone(cloud: Cloud) -> None:
    client, headers = cloud
    uuid = boot(client, headers)
    on_loop(client, fake_host(client).pause, uuid)
    poll(lambda: show(client, headers, uuid)["OS-EXT-STS:power_state"] == 3, what="power state PAUSED")
    reconcile_pass(client)
    assert show(client, headers, uuid)["status"] == "ACTIVE"
    assert power(client, uuid) == PowerState.PAUSED


def test_orphan_guests_are_destroyed_one_failure_does_not_keep_the_others(
        cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    client, _headers = cloud
    host = fake_host(client)
    stuck, orphan = (InstanceSpec(uuid=f"0badc0de-0000-4000-8000-00000000000{i}", name=name, vcpus=1, memory_mb=64,
                                  root_gb=1) for i, name in ((1, "stuck-orphan"), (2, "orphan")))
    host.config.fail_destroy_for.add(stuck.name)
    try:
        with caplog.at_level(logging.WARNING, logger="onestack.compute.reconcile"):
            for spec in (stuck, orphan):
                on_loop(client, host.simulate_foreign_guest, spec)
            poll(lambda: orphan.uuid not in guests(client), what="the orphan to be reaped")
            poll(lambda: any(stuck.uuid in r.getMessage() and "injected failure destroying" in r.getMessage()
                             for r in caplog.records), what="the failed destroy to be logged")
        assert stuck.uuid in guests(client)
        assert not [r for r in caplog.records if "periodic reconcile failed" in r.getMessage()]  # the pass went on
    finally:
        host.config.fail_destroy_for.discard(stuck.name)
    poll(lambda: stuck.uuid not in guests(client), what="the stuck orphan to be reaped once destroy works")
