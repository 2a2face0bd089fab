"""Nova's status map and its reverse (the ?status= filter), and hostname sanitising."""

from __future__ import annotations

import pytest

from onestack.compute import states
from onestack.compute.service.builds import sanitize_hostname
from onestack.compute.service.server_list import statuses_to_states


@pytest.mark.parametrize(("vm_state", "task_state", "status"), [
    ("building", "scheduling", "BUILD"), ("active", None, "ACTIVE"), ("active", "rebooting", "REBOOT"),
    ("active", "rebooting_hard", "HARD_REBOOT"), ("active", "resize_prep", "RESIZE"),
    ("active", "migrating", "MIGRATING"), ("active", "rebuilding", "REBUILD"),
    ("active", "powering-off", "ACTIVE"), ("stopped", None, "SHUTOFF"), ("resized", None, "VERIFY_RESIZE"),
    ("resized", "resize_reverting", "REVERT_RESIZE"), ("paused", None, "PAUSED"),
    ("suspended", None, "SUSPENDED"), ("rescued", None, "RESCUE"), ("error", None, "ERROR"),
    ("error", "rebuilding", "REBUILD"), ("shelved_offloaded", None, "SHELVED_OFFLOADED"),
    ("deleted", None, "DELETED"), ("no-such-state", None, "UNKNOWN"),
])
def test_status_of(vm_state: str, task_state: str | None, status: str) -> None:
    assert states.status_of(vm_state, task_state) == status


def test_status_filter_maps_back_to_states() -> None:
    assert statuses_to_states(["SHUTOFF"]) == (["stopped"], None)
    vm, tasks = statuses_to_states(["HARD_REBOOT"])
    assert vm == ["active"] and tasks == ["reboot_pending_hard", "reboot_started_hard", "rebooting_hard"]
    assert statuses_to_states(["bogus"]) == ([], [])


@pytest.mark.parametrize(("name", "hostname"), [
    ("vm1", "vm1"), ("My Server_01", "my-server-01"), ("a..b", "a--b"), ("---", "server"), ("x" * 80, "x" * 63),
])
def test_sanitize_hostname(name: str, hostname: str) -> None:
    assert sanitize_hostname(name) == hostname
