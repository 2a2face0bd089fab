"""Knobs only the fake driver has: spawn latency, failure injection, power-state drift."""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib
from pathlib import Path

import pytest

from onestack.compute.virt.driver import (
    ComputeDriver,
    InstanceSpec,
    InsufficientResources,
    InterfaceAttachable,
    LiveMigratable,
    MigrationError,
    Pausable,
    PowerState,
    RemoteConsoles,
    Rescuable,
    Resizable,
    Snapshottable,
    SpawnFailed,
    Suspendable,
)
from onestack.compute.virt.fake import FakeDriver, FakeHostConfig
from tests.unit.compute.virt.helpers import fake, run, spec


def test_fake_has_every_ability() -> None:
    d = FakeDriver()
    for proto in (ComputeDriver, Pausable, Suspendable, Snapshottable, Resizable, Rescuable,
                  LiveMigratable, RemoteConsoles, InterfaceAttachable):
        assert isinstance(d, proto), proto.__name__
    assert not isinstance(object(), ComputeDriver)


def test_attached_interfaces_are_recorded_and_survive_a_restart(tmp_path: Path) -> None:
    d, s = fake(tmp_path), spec()
    boot_vif = {"id": "p1", "mac_address": "fa:16:3e:00:00:01"}
    hot = {"id": "p2", "mac_address": "fa:16:3e:00:00:02"}

    async def scenario() -> None:
        await d.spawn(s, None, [boot_vif])
        await d.attach_interface(s.uuid, hot)
        assert d.interfaces(s.uuid) == ["p1", "p2"]
        assert "interface fa:16:3e:00:00:02 attached" in await d.get_console_output(s.uuid)
        assert fake(tmp_path).interfaces(s.uuid) == ["p1", "p2"]  # kept in the host's records
        await d.detach_interface(s.uuid, boot_vif)
        assert d.interfaces(s.uuid) == ["p2"]
    run(scenario())


def test_spawn_latency_is_spent_and_guest_shows_as_building(tmp_path: Path) -> None:
    d, s = fake(tmp_path, spawn_latency=0.3), spec()

    async def scenario() -> float:
        start = time.monotonic()
        task = asyncio.create_task(d.spawn(s, None))
        while s.uuid not in await d.list_instances():
            await asyncio.sleep(0.005)
        assert await d.get_power_state(s.uuid) == PowerState.NOSTATE
        assert (await d.host_info()).memory_mb_used == s.memory_mb  # claimed while building
        assert await d.get_console_output(s.uuid) == ""  # nothing booted yet
        assert (await d.get_diagnostics(s.uuid)).as_api_dict()["state"] == "pending"
        await task
        assert await d.get_power_state(s.uuid) == PowerState.RUNNING
        return time.monotonic() - start

    assert run(scenario()) >= 0.29


@pytest.mark.parametrize("by", ["name", "uuid"])
@pytest.mark.parametrize("stage", ["before_allocating", "after_allocating"])
def test_fail_spawn_for_name_or_uuid(tmp_path: Path, by: str, stage: str) -> None:
    s = spec(name="doomed")
    d = fake(tmp_path, fail_spawn_for={s.name if by == "name" else s.uuid}, fail_at=stage, spawn_latency=0.05)
    seen: list[int] = []

    async def watch() -> None:  # record what the host claimed while the spawn was in flight
        while True:
            seen.append((await d.host_info()).memory_mb_used)
            await asyncio.sleep(0.005)

    async def scenario() -> None:
        watcher = asyncio.create_task(watch())
        with pytest.raises(SpawnFailed, match=stage.replace("_", " ")):
            await d.spawn(s, None)
        watcher.cancel()
        assert await d.list_instances() == []
        assert (await d.host_info()).memory_mb_used == 0
        await d.spawn(spec(name="fine"), None)  # other guests are unaffected

    run(scenario())
    assert (max(seen, default=0) == s.memory_mb) == (stage == "after_allocating")


def test_fail_spawn_probability_is_seeded(tmp_path: Path) -> None:
    def outcomes(seed: int) -> list[bool]:
        d = fake(tmp_path, fail_spawn_probability=0.5, seed=seed)

        async def scenario() -> list[bool]:
            results = []
            for _ in range(20):
                s = spec(memory_mb=64)
                try:
                    await d.spawn(s, None)
                    await d.destroy(s.uuid)
                    results.append(True)
                except SpawnFailed:
                    results.append(False)
            return results
        return run(scenario())

    first = outcomes(7)
    assert first == outcomes(7)
    assert True in first and False in first
    assert first != outcomes(8)


def test_knobs_can_change_on_a_live_driver(tmp_path: Path) -> None:
    d = fake(tmp_path)

    async def scenario() -> None:
        d.config.fail_spawn_probability = 1.0
        with pytest.raises(SpawnFailed):
            await d.spawn(spec(), None)
        d.config.fail_spawn_probability = 0.0
        await d.spawn(spec(), None)
    run(scenario())


def test_capacity_error_names_the_short_resource(tmp_path: Path) -> None:
    d = fake(tmp_path)
    with pytest.raises(InsufficientResources, match="memory_mb"):
        run(d.spawn(spec(memory_mb=4097), None))


def test_crash_and_external_stop_drift_until_someone_acts(tmp_path: Path) -> None:
    d, a, b = fake(tmp_path), spec(name="crashy"), spec()

    async def scenario() -> None:
        await d.spawn(a, None)
        await d.spawn(b, None)
        d.simulate_crash(a.uuid)
        d.simulate_external_stop(b.uuid)
        assert await d.get_power_state(a.uuid) == PowerState.CRASHED
        assert await d.get_power_state(b.uuid) == PowerState.SHUTDOWN
        assert "Kernel panic" in await d.get_console_output(a.uuid)
        await d.reboot(a.uuid, hard=True)
        await d.power_on(b.uuid)
        assert await d.get_power_state(a.uuid) == PowerState.RUNNING
        assert await d.get_power_state(b.uuid) == PowerState.RUNNING
        d.simulate_external_stop(b.uuid)
        d.simulate_external_start(b.uuid)
        assert await d.get_power_state(b.uuid) == PowerState.RUNNING
    run(scenario())


def test_vanished_and_foreign_guests(tmp_path: Path) -> None:
    d, mine, foreign = fake(tmp_path), spec(), spec(name="not-ours")

    async def scenario() -> None:
        await d.spawn(mine, None)
        d.simulate_vanish(mine.uuid)
        d.simulate_foreign_guest(foreign)
        assert await d.list_instances() == [foreign.uuid]
        assert (await d.host_info()).memory_mb_used == foreign.memory_mb
        assert await d.get_power_state(foreign.uuid) == PowerState.RUNNING
    run(scenario())


def test_guest_ignoring_acpi_is_forced_off_after_the_timeout(tmp_path: Path) -> None:
    s = spec(name="stubborn")
    d = fake(tmp_path, ignore_acpi_for={"stubborn"})

    async def scenario() -> float:
        await d.spawn(s, None)
        start = time.monotonic()
        await d.power_off(s.uuid, timeout=0.2)
        took = time.monotonic() - start
        assert await d.get_power_state(s.uuid) == PowerState.SHUTDOWN
        assert "ignored ACPI" in await d.get_console_output(s.uuid)
        await d.power_on(s.uuid)
        await d.reboot(s.uuid, hard=False)  # soft reboot falls back to a reset
        assert "soft reboot failed" in await d.get_console_output(s.uuid)
        return took

    assert run(scenario()) >= 0.19


def test_console_is_bounded_and_mentions_user_data(tmp_path: Path) -> None:
    d = fake(tmp_path)
    s = InstanceSpec(uuid=str(uuidlib.uuid4()), name="büro-vm", vcpus=1, memory_mb=64, root_gb=1,
                     user_data="IyFjbG91ZC1jb25maWc=", key_data="ssh-ed25519 AAAA")

    async def scenario() -> str:
        await d.spawn(s, None)
        for _ in range(400):
            await d.reboot(s.uuid, hard=True)
        return await d.get_console_output(s.uuid)

    out = run(scenario())
    assert "user-data present" in out and "ssh key injected" in out and "büro-vm login:" in out
    assert 64 * 1024 <= len(out.encode()) < 1024 * 1024
    assert run(d.snapshot(s.uuid)).stat().st_size > 0  # non-ASCII names are fine in snapshots


def test_live_migration_needs_a_shared_fabric_and_honours_injection(tmp_path: Path) -> None:
    a = fake(tmp_path / "a")
    b = FakeDriver(FakeHostConfig(hostname="other"), state_dir=tmp_path / "b")  # its own fabric
    c = FakeDriver(FakeHostConfig(hostname="peer"), state_dir=tmp_path / "c", fabric=a.fabric)
    s = spec(name="mover")

    async def scenario() -> None:
        await a.spawn(s, None)
        data = await b.check_can_live_migrate(s, block_migration=True)
        await b.pre_live_migration(s, data)
        with pytest.raises(MigrationError, match="not reachable"):
            await a.live_migration(s.uuid, data)
        a.config.fail_live_migration_for.add("mover")
        data = await c.check_can_live_migrate(s, block_migration=True)
        await c.pre_live_migration(s, data)
        with pytest.raises(MigrationError, match="injected"):
            await a.live_migration(s.uuid, data)
        assert await a.get_power_state(s.uuid) == PowerState.RUNNING
        a.config.fail_live_migration_for.clear()
        await a.pause(s.uuid)
        await a.live_migration(s.uuid, data)
        assert await c.get_power_state(s.uuid) == PowerState.PAUSED  # same power state on arrival
        assert "live-migrated" in await c.get_console_output(s.uuid)
    run(scenario())


def test_two_hosts_cannot_share_a_name_on_one_fabric() -> None:
    a = FakeDriver(FakeHostConfig(hostname="twin"))
    with pytest.raises(ValueError):
        FakeDriver(FakeHostConfig(hostname="twin"), fabric=a.fabric)
