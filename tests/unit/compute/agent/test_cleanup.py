"""Cleanup that fails part-way: a guest the hypervisor will not destroy does not keep the rest
(ports, placement claim, row) from being freed, and every failure is logged with the server's
uuid. The whole cloud runs in this process (helpers.py); the fake host's failure knobs are
switched on for one server at a time."""

from __future__ import annotations

import logging

import pytest

from onestack.compute.virt.driver import PowerState
from tests.unit.compute.agent.helpers import (
    Cloud,
    allocations,
    boot,
    create,
    fake_host,
    guests,
    in_process_cloud,
    on_loop,
    poll,
    show,
)

cloud = in_process_cloud("cleanup")


def logged(caplog: pytest.LogCaptureFixture, *parts: str) -> bool:
    return any(all(p in r.getMessage() for p in parts) for r in caplog.records)


def test_delete_whose_destroy_fails_still_frees_the_row_and_the_claim(
        cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    client, headers = cloud
    host = fake_host(client)
    uuid = boot(client, headers, "undying")
    assert allocations(client, headers, uuid)  # the claim the delete must release
    host.config.fail_destroy_for.add(uuid)
    try:
        with caplog.at_level(logging.WARNING):
            assert client.delete(f"/compute/v2.1/servers/{uuid}", headers=headers).status_code == 204
            poll(lambda: client.get(f"/compute/v2.1/servers/{uuid}", headers=headers).status_code == 404,
                 what="the server to be deleted")
            # The row goes first, then the claim (conductor.instance_destroyed).
            poll(lambda: allocations(client, headers, uuid) == {}, what="the claim to be released")
        assert logged(caplog, "destroying the guest of", uuid, "failed")
        assert uuid in guests(client)  # the hypervisor still has it...
        assert on_loop(client, host.get_power_state, uuid) == PowerState.RUNNING
    finally:
        host.config.fail_destroy_for.discard(uuid)
    poll(lambda: uuid not in guests(client), what="the orphan pass to destroy it once it can")  # ...not for long


def test_failed_build_whose_destroy_fails_still_releases_and_reschedules(
        cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    client, headers = cloud
    host = fake_host(client)
    host.config.spawn_latency = 2.0  # time to mark the build for failure while it is in flight
    try:
        with caplog.at_level(logging.WARNING):
            uuid = create(client, headers, "doomed-twice")
            poll(lambda: uuid in guests(client), what="the spawn to be in flight")
            host.config.fail_spawn_for.add(uuid)  # read when the spawn ends
            host.config.fail_destroy_for.add(uuid)
            view = poll(lambda: (v := show(client, headers, uuid))["status"] == "ERROR" and v, timeout=30,
                        what="the failed build to end in ERROR")
    finally:
        host.config.spawn_latency = 0.0
        host.config.fail_spawn_for.clear()
        host.config.fail_destroy_for.clear()
    # The destroy failure was logged, and did not stop the claim's release or the reschedule
    # (one host: nowhere else to go, so "No valid host").
    assert logged(caplog, "destroying the guest of", uuid, "failed")
    assert "No valid host" in view["fault"]["message"]
    assert allocations(client, headers, uuid) == {}
    assert uuid not in guests(client)
